// One user: every alert across detectors, their recent searches on a timeline with the
// alert evidence marked, their certificate status and risk. Reloaded when the live
// stream reports a change to one of their alerts.
'use strict';

(() => {
  const {el, text, clear, byId} = FRT;
  const params = new URLSearchParams(location.search);
  const agency = params.get('agency') || '';
  const user = params.get('user') || '';
  const SVG = 'http://www.w3.org/2000/svg';

  function svg(tag, attrs, label) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (label !== undefined) node.textContent = String(label);
    return node;
  }

  const CERT_LABEL = {
    valid: 'Valid', expired: 'Expired', revoked: 'Revoked', none_on_file: 'None on file',
    not_yet_valid: 'Not yet valid', unknown: 'Unknown',
  };

  function renderHead(data) {
    text(byId('u-agency'), data.agency);
    text(byId('u-user'), data.user);
    text(byId('crumb-user'), data.agency + ' / ' + data.user);
    text(byId('u-risk'), FRT.valueText(data.risk));
    text(byId('u-alert-count'), data.alerts.length);
    text(byId('u-detectors'), Object.entries(data.detectors).map(([d, n]) => FRT.detectorLabel(d) + ' ' + n).join(', ') || '—');
    text(byId('u-reference'), data.risk_reference ? FRT.fmtTime(data.risk_reference) : '—');
    const cert = data.certificate || {};
    const state = Object.prototype.hasOwnProperty.call(CERT_LABEL, cert.state) ? cert.state : 'unknown';
    const badge = clear(byId('u-cert'));
    badge.appendChild(el('span', {class: 'badge cert-' + state, id: 'u-cert-state'}, CERT_LABEL[state]));
    let note = cert.words ? String(cert.words) : '';
    if (cert.as_of) note += ' (at ' + FRT.fmtTime(cert.as_of) + ' UTC, the user\u2019s newest event)';
    if (cert.alert) note += '. Latest uncertified-user alert: ' + FRT.valueText(cert.alert.reason) + ', ' + FRT.fmtTime(cert.alert.last_seen) + ' UTC.';
    text(byId('u-cert-note'), note);
    document.title = data.agency + '/' + data.user + ' · FRTWatch SOC';
  }

  function renderAlerts(alerts) {
    const body = clear(byId('u-alerts').tBodies[0]);
    for (const a of alerts) {
      body.appendChild(el('tr', {class: 'sev-row-' + a.severity, dataset: {alertId: a.alert_id}},
        el('td', null, FRT.severityBadge(a.severity)),
        el('td', null, el('span', {class: 'tag'}, FRT.detectorLabel(a.detector))),
        el('td', {class: 'mono nowrap'}, FRT.fmtTime(a.first_seen)),
        el('td', {class: 'mono nowrap'}, FRT.fmtTime(a.last_seen)),
        el('td', {class: 'num'}, String(a.event_count)),
        el('td', null, FRT.statusBadge(a.triage)),
        el('td', {class: 'num'}, FRT.valueText(a.risk)),
        el('td', {class: 'cell-summary'}, el('a', {href: FRT.alertHref(a.alert_id), class: 'summary-link'}, a.summary)),
      ));
    }
  }

  function renderStrip(timeline) {
    const box = clear(byId('u-strip'));
    if (!timeline.length) return;
    const times = timeline.map((t) => new Date(t.ts).getTime()).filter((t) => !Number.isNaN(t));
    if (!times.length) return;
    const lo = Math.min(...times), hi = Math.max(...times);
    const W = Math.max(320, box.clientWidth || 640), H = 44, pad = 12;
    const chart = svg('svg', {width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'svg-chart', role: 'img'});
    chart.appendChild(svg('title', {}, 'Searches over time; evidence in red'));
    chart.appendChild(svg('line', {x1: pad, x2: W - pad, y1: H / 2, y2: H / 2, class: 'strip-axis'}));
    for (const t of timeline) {
      const at = new Date(t.ts).getTime();
      if (Number.isNaN(at)) continue;
      const x = hi === lo ? W / 2 : pad + ((W - 2 * pad) * (at - lo)) / (hi - lo);
      const dot = svg('circle', {cx: x, cy: H / 2, r: t.evidence ? 6 : 4, class: t.evidence ? 'strip-dot strip-evidence' : 'strip-dot'});
      dot.appendChild(svg('title', {}, FRT.fmtTime(t.ts) + ' ' + t.event_id + (t.evidence ? ' (evidence)' : '')));
      chart.appendChild(dot);
    }
    chart.appendChild(svg('text', {x: pad, y: H - 2, class: 'strip-label'}, FRT.fmtTime(timeline[0].ts)));
    chart.appendChild(svg('text', {x: W - pad, y: H - 2, 'text-anchor': 'end', class: 'strip-label'}, FRT.fmtTime(timeline[timeline.length - 1].ts)));
    box.appendChild(chart);
  }

  function renderTimeline(timeline) {
    const body = clear(byId('u-timeline').tBodies[0]);
    byId('u-timeline-empty').hidden = timeline.length > 0;
    for (const t of timeline) {
      const cited = t.alert_ids.map((id, i) => [i ? ', ' : null, el('a', {href: FRT.alertHref(id), class: 'mono'}, id.slice(0, 8))]);
      body.appendChild(el('tr', {class: t.evidence ? 'evidence-row' : ''},
        el('td', {class: 'mono nowrap'}, FRT.fmtTime(t.ts)),
        el('td', {class: 'mono'}, t.event_id),
        el('td', {class: 'cell-endpoint', title: t.endpoint}, t.endpoint),
        el('td', null, t.on_behalf_of),
        el('td', null, t.case_number === null ? '—' : t.case_number),
        el('td', null, t.purpose === null ? '' : t.purpose),
        el('td', null, cited),
      ));
    }
    renderStrip(timeline);
  }

  async function load() {
    try {
      const data = await FRT.getJSON('/api/user?' + new URLSearchParams({agency, user}).toString());
      byId('user-missing').hidden = true;
      byId('user-head').hidden = false;
      byId('user-body').hidden = false;
      renderHead(data);
      renderAlerts(data.alerts);
      renderTimeline(data.timeline);
    } catch (error) {
      if (error.status === 404 || error.status === 400) {
        byId('user-missing').hidden = false;
        text(byId('crumb-user'), agency + ' / ' + user);
      }
    }
  }

  document.addEventListener('DOMContentLoaded', async () => {
    text(byId('crumb-user'), agency + ' / ' + user);
    await load();
    let pending = null;
    FRT.liveStream('/api/stream?' + new URLSearchParams({agency, user}).toString(), {
      alert: (message) => {
        const a = message.alert;
        if (!a || a.agency !== agency || a.user !== user) return;
        if (!pending) pending = setTimeout(() => { pending = null; load(); }, 300);
      },
      reset: load,
      open: load,
    });
  });
})();
