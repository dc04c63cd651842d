// The live alert feed: a filtered list plus a server-sent event stream with the
// same filter. Rows are keyed by alert_id; the version with the highest change
// counter (seq) wins, so a late list response never rolls back a live update.
'use strict';

(() => {
  const {el, text, clear, byId} = FRT;
  const FIELDS = ['severity', 'detector', 'agency', 'user', 'status', 'silenced', 'since', 'until', 'order'];
  const MAX_ROWS = 500;
  const alerts = new Map();
  const fresh = new Map(); // alert_id -> time it arrived live (for the highlight)
  let source = null;
  let generation = 0;

  function currentFilter() {
    const params = new URLSearchParams();
    for (const name of FIELDS) {
      const input = byId('f-' + name);
      const value = input ? input.value.trim() : '';
      if (value) params.set(name, value);
    }
    return params;
  }

  function loadFilterFromUrl() {
    const params = new URLSearchParams(location.search);
    for (const name of FIELDS) {
      const input = byId('f-' + name);
      if (input && params.has(name)) input.value = params.get(name);
    }
  }

  function keep(view) {
    const current = alerts.get(view.alert_id);
    if (!current || view.seq >= current.seq) {
      // Live updates carry no risk figure: keep the last one the list gave.
      if (typeof view.user_risk !== 'number' && current) view.user_risk = current.user_risk;
      alerts.set(view.alert_id, view);
    }
  }

  function byRisk() { return byId('f-order').value === 'risk'; }

  function sorted() {
    return Array.from(alerts.values()).sort((a, b) => {
      if (byRisk() && (a.user_risk || 0) !== (b.user_risk || 0)) return (b.user_risk || 0) - (a.user_risk || 0);
      if (a.last_seen !== b.last_seen) return a.last_seen < b.last_seen ? 1 : -1;
      return FRT.SEVERITIES.indexOf(a.severity) - FRT.SEVERITIES.indexOf(b.severity);
    });
  }

  function row(view) {
    const tr = el('tr', {class: 'row-link sev-row-' + view.severity, dataset: {alertId: view.alert_id}, tabindex: '0'});
    if (fresh.has(view.alert_id)) {
      // Rows are redrawn on every change; keep the highlight running from its arrival.
      tr.classList.add('flash');
      tr.style.animationDelay = -(Date.now() - fresh.get(view.alert_id)) + 'ms';
    }
    const link = el('a', {href: FRT.alertHref(view.alert_id), class: 'summary-link'}, view.summary);
    const triage = view.triage || {};
    tr.append(
      el('td', null, FRT.severityBadge(view.severity)),
      el('td', {class: 'mono nowrap', title: FRT.ago(view.last_seen)}, FRT.fmtTime(view.last_seen)),
      el('td', null, el('span', {class: 'tag'}, FRT.detectorLabel(view.detector)),
        view.exception_id ? el('span', {class: 'tag tag-silenced', title: 'Covered by exception ' + view.exception_id}, 'silenced') : null),
      el('td', {class: 'cell-agency'}, view.agency),
      el('td', {class: 'cell-user'}, el('a', {href: FRT.userHref(view.agency, view.user), class: 'user-link'}, view.user)),
      el('td', {class: 'cell-risk'}, typeof view.user_risk === 'number' ? FRT.valueText(view.user_risk) : ''),
      el('td', {class: 'cell-summary'}, link),
      el('td', {class: 'num'}, String(view.event_count)),
      el('td', null, FRT.statusBadge(triage)),
      el('td', {class: 'cell-assignee'}, triage.assignee || ''),
    );
    return tr;
  }

  function render() {
    const list = sorted();
    const body = clear(byId('alert-rows'));
    list.slice(0, MAX_ROWS).forEach((view) => body.appendChild(row(view)));
    byId('alert-empty').hidden = list.length > 0;
    const counts = {critical: 0, high: 0, medium: 0, low: 0};
    let unresolved = 0;
    for (const view of list) {
      const open = !view.triage || view.triage.status !== 'resolved';
      if (open) unresolved += 1;
      if (open && view.severity in counts) counts[view.severity] += 1;
    }
    for (const [severity, count] of Object.entries(counts)) text(byId('k-' + severity), count);
    text(byId('k-open'), unresolved);
    text(byId('k-total'), list.length);
  }

  async function reload() {
    const mine = ++generation;
    try {
      const data = await FRT.getJSON('/api/alerts?' + currentFilter().toString());
      if (mine !== generation) return;
      for (const view of data.alerts) keep(view);
      const order = byRisk() ? 'Riskiest users first, then newest evidence.' : 'Newest evidence first.';
      text(byId('feed-note'), data.total > data.alerts.length
        ? 'Showing the first ' + data.alerts.length + ' of ' + data.total + ' matching alerts. ' + order
        : order + ' New alerts appear as they are raised.');
      render();
    } catch (error) {
      text(byId('feed-note'), error.message);
    }
  }

  // A live change moves risk figures (its user's, and the reference of everyone's), which
  // live messages do not carry: the list is fetched again shortly after, at most once a second.
  let refresh = null;
  function refreshSoon() {
    if (!refresh) refresh = setTimeout(() => { refresh = null; reload(); }, 1000);
  }

  function connect() {
    if (source) source.close();
    alerts.clear();
    render();
    source = FRT.liveStream('/api/stream?' + currentFilter().toString(), {
      open: reload,
      reset: () => { alerts.clear(); reload(); },
      alert: (message) => {
        const view = message.alert;
        if (!view || typeof view.alert_id !== 'string') return;
        if (message.matches) {
          if (!alerts.has(view.alert_id)) fresh.set(view.alert_id, Date.now());
          keep(view);
        } else {
          alerts.delete(view.alert_id);
        }
        render();
        if (message.matches) refreshSoon();
      },
    });
  }

  async function loadChoices() {
    try {
      const meta = await FRT.getJSON('/api/meta');
      const detector = byId('f-detector');
      const chosen = new URLSearchParams(location.search).get('detector') || detector.value;
      for (const name of meta.detectors) detector.appendChild(el('option', {value: name}, FRT.detectorLabel(name)));
      detector.value = chosen;
      const agencies = clear(byId('agency-list'));
      for (const name of meta.agencies) agencies.appendChild(el('option', {value: name}));
      const behavior = meta.behavior || {};
      byId('behavior-detail').textContent = behavior.detail || '';
      byId('behavior-warmup').hidden = behavior.state !== 'warmup';
    } catch (error) { /* the feed works without the choices */ }
  }

  function onSubmit(event) {
    event.preventDefault();
    const params = currentFilter();
    const query = params.toString();
    history.replaceState(null, '', query ? '/?' + query : '/');
    connect();
  }

  function onReset() {
    for (const name of FIELDS) byId('f-' + name).value = '';
    history.replaceState(null, '', '/');
    connect();
  }

  function openRow(event) {
    if (event.target.closest('a')) return;
    const tr = event.target.closest('tr[data-alert-id]');
    if (!tr) return;
    if (event.type === 'keydown' && event.key !== 'Enter') return;
    window.location.assign(FRT.alertHref(tr.dataset.alertId));
  }

  document.addEventListener('DOMContentLoaded', async () => {
    loadFilterFromUrl();
    byId('filters').addEventListener('submit', onSubmit);
    byId('f-reset').addEventListener('click', onReset);
    byId('alert-rows').addEventListener('click', openRow);
    byId('alert-rows').addEventListener('keydown', openRow);
    await loadChoices();
    connect();
    // Drop the "new" highlight after a few seconds.
    setInterval(() => {
      const now = Date.now();
      let changed = false;
      for (const [id, at] of fresh) if (now - at > 5000) { fresh.delete(id); changed = true; }
      if (changed) document.querySelectorAll('tr.flash').forEach((tr) => {
        if (!fresh.has(tr.dataset.alertId)) tr.classList.remove('flash');
      });
    }, 1000);
  });
})();
