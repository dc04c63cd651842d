// Analytics: searches and alerts over time per agency, top users by alerts.
// Redrawn every 15 seconds and whenever the live stream reports an alert.
'use strict';

(() => {
  const {text, byId} = FRT;
  let range = new URLSearchParams(location.search).get('range') || '24h';
  let pending = null;

  let last = null;

  function paint(data) {
    const colorOf = Charts.palette(Object.keys(data.searches), Object.keys(data.alerts));
    Charts.stackedColumns(byId('chart-searches'), data.bins, data.searches, {title: 'Searches per agency', emptyText: 'No searches seen in this range.', colorOf});
    Charts.stackedColumns(byId('chart-alerts'), data.bins, data.alerts, {title: 'Alerts per agency', emptyText: 'No alerts in this range.', colorOf});
    Charts.barChart(byId('chart-users'), data.top_users.map((u) => ({
      label: u.agency + ' / ' + u.user, value: u.risk, severity: u.worst_severity,
      tip: 'risk ' + u.risk + ', ' + u.alerts + ' alert(s) in range, worst ' + u.worst_severity,
    })), {title: 'Top users by risk', emptyText: 'No alerts in this range.'});
  }

  async function draw() {
    try {
      const data = await FRT.getJSON('/api/stats?range=' + encodeURIComponent(range));
      last = data;
      text(byId('range-note'), 'Event time, ' + FRT.fmtTime(data.start) + ' to ' + FRT.fmtTime(data.end) + ' UTC, ' + Math.round(data.step_seconds / 60) + '-minute bins');
      text(byId('s-searches'), data.totals.searches);
      text(byId('s-alerts'), data.totals.alerts);
      text(byId('s-held'), data.totals.alerts_held);
      paint(data);
    } catch (error) {
      text(byId('range-note'), error.message);
    }
  }

  function markRange() {
    document.querySelectorAll('[data-range]').forEach((b) => b.classList.toggle('active', b.dataset.range === range));
  }

  document.addEventListener('DOMContentLoaded', () => {
    document.querySelectorAll('[data-range]').forEach((button) => button.addEventListener('click', () => {
      range = button.dataset.range;
      history.replaceState(null, '', '/analytics?range=' + encodeURIComponent(range));
      markRange();
      draw();
    }));
    markRange();
    draw();
    setInterval(draw, 15000);
    let resizing = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => { if (last) paint(last); }, 150);
    });
    FRT.liveStream('/api/stream', {
      alert: () => { if (!pending) pending = setTimeout(() => { pending = null; draw(); }, 1000); },
    });
  });
})();
