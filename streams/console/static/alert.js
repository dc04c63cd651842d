// One alert: explanation, evidence, the user's recent searches, triage and its
// audit trail. Reloaded whenever the live stream reports a change to this alert.
'use strict';

(() => {
  const {el, text, clear, byId} = FRT;
  const root = byId('alert-page');
  const alertId = root.dataset.alertId;
  let busy = false;

  function renderHead(alert) {
    const sev = byId('a-severity');
    sev.className = 'badge sev-' + (FRT.SEVERITIES.includes(alert.severity) ? alert.severity : 'unknown');
    text(sev, alert.severity);
    text(byId('a-detector'), FRT.detectorLabel(alert.detector));
    const status = byId('a-status');
    const badge = FRT.statusBadge(alert.triage);
    status.className = badge.className;
    text(status, badge.textContent);
    text(byId('a-summary'), alert.summary);
    text(byId('a-agency'), alert.agency);
    clear(byId('a-user')).appendChild(el('a', {href: FRT.userHref(alert.agency, alert.user), id: 'a-user-link'}, alert.user));
    text(byId('a-first'), FRT.fmtTime(alert.first_seen));
    text(byId('a-last'), FRT.fmtTime(alert.last_seen) + '  (' + FRT.ago(alert.last_seen) + ')');
    text(byId('a-count'), alert.event_count);
    text(byId('a-assignee'), (alert.triage && alert.triage.assignee) || '—');
    text(byId('a-id'), alert.alert_id);
    text(byId('crumb-id'), alert.alert_id);
    document.title = FRT.detectorLabel(alert.detector) + ' · ' + alert.agency + '/' + alert.user + ' · FRTWatch SOC';
  }

  function explanation(alert) {
    const d = alert.details || {};
    const parts = [];
    if (typeof d.score === 'number' && typeof d.threshold === 'number') {
      parts.push('Model score ' + FRT.valueText(d.score) + ' against a threshold of ' + FRT.valueText(d.threshold) + '.');
    }
    if (Array.isArray(d.reasons) && d.reasons.length) {
      parts.push('Reasons: ' + d.reasons.map(FRT.valueText).join('; ') + '.');
    }
    parts.push(alert.event_count + ' event(s) between ' + FRT.fmtTime(alert.first_seen) + ' and ' + FRT.fmtTime(alert.last_seen) + ' UTC.');
    if (alert.exception_id) {
      parts.push('Silenced: exception ' + alert.exception_id + ' covers this evidence, so no webhook was sent and the feed hides it by default.');
    }
    return parts.join(' ');
  }

  function renderDetails(alert) {
    text(byId('a-explain'), explanation(alert));
    const body = clear(byId('a-details').tBodies[0]);
    const details = alert.details || {};
    const keys = Object.keys(details);
    if (!keys.length) body.appendChild(el('tr', null, el('td', {colspan: '2', class: 'muted'}, 'No details.')));
    for (const key of keys) {
      const value = details[key];
      let cell;
      if (Array.isArray(value) && value.length > 1) {
        cell = el('ul', {class: 'plain'}, value.map((v) => el('li', null, FRT.valueText(v))));
      } else {
        cell = FRT.valueText(value);
      }
      body.appendChild(el('tr', null, el('th', {scope: 'row'}, key.replace(/_/g, ' ')), el('td', {class: 'kv-value'}, cell)));
    }
  }

  function renderEvidence(alert, activity) {
    const seen = new Set(activity.map((a) => a.event_id));
    const list = clear(byId('a-evidence'));
    for (const id of alert.event_ids) {
      list.appendChild(el('li', {class: seen.has(id) ? 'known' : ''}, id));
    }
    const note = alert.event_ids.length < alert.event_count
      ? alert.event_ids.length + ' of ' + alert.event_count + ' event ids kept with the alert'
      : alert.event_ids.length + ' event id(s)';
    text(byId('a-evidence-note'), note);
  }

  function renderActivity(activity) {
    const body = clear(byId('a-activity').tBodies[0]);
    byId('a-activity-empty').hidden = activity.length > 0;
    for (const a of activity) {
      body.appendChild(el('tr', {class: a.evidence ? 'evidence-row' : ''},
        el('td', {class: 'mono nowrap'}, FRT.fmtTime(a.ts)),
        el('td', {class: 'mono'}, a.event_id),
        el('td', {class: 'cell-endpoint', title: a.endpoint}, a.endpoint),
        el('td', null, a.on_behalf_of),
        el('td', null, a.case_number === null ? '—' : a.case_number),
        el('td', null, a.purpose === null ? '' : a.purpose),
        el('td', {class: 'num'}, a.result_count === null ? '' : String(a.result_count)),
        el('td', null, a.source === null ? '' : a.source),
      ));
    }
  }

  const ACTION_LABEL = {
    acknowledge: 'acknowledged',
    assign: 'assigned',
    resolve_true_positive: 'resolved as true positive',
    resolve_false_positive: 'resolved as false positive',
    reopen: 'reopened',
    comment: 'added a note',
  };

  function renderHistory(history) {
    const list = clear(byId('a-history'));
    byId('a-history-empty').hidden = history.length > 0;
    for (const h of history.slice().reverse()) {
      let what = ACTION_LABEL[h.action] || h.action;
      if (h.action === 'assign') what += h.assignee ? ' to ' + h.assignee : ' to nobody';
      list.appendChild(el('li', {class: 'act-' + String(h.action).replace(/[^a-z_]/g, '')},
        el('div', {class: 'history-line'}, el('strong', null, h.actor), ' ', what),
        el('div', {class: 'history-when mono'}, FRT.fmtTime(h.at) + ' UTC'),
        h.note ? el('blockquote', {class: 'history-note'}, h.note) : null,
      ));
    }
  }

  function renderTriage(triage) {
    const status = triage ? triage.status : 'open';
    byId('t-ack').disabled = status !== 'open';
    byId('t-tp').disabled = status === 'resolved';
    byId('t-fp').disabled = status === 'resolved';
    byId('t-reopen').disabled = status !== 'resolved';
    const select = byId('t-assignee');
    if (document.activeElement !== select) select.value = (triage && triage.assignee) || '';
  }

  async function load() {
    try {
      const data = await FRT.getJSON('/api/alerts/' + encodeURIComponent(alertId));
      byId('alert-missing').hidden = true;
      byId('alert-head').hidden = false;
      byId('alert-body').hidden = false;
      renderHead(data.alert);
      renderDetails(data.alert);
      renderEvidence(data.alert, data.activity);
      renderActivity(data.activity);
      renderHistory(data.history);
      renderTriage(data.alert.triage);
    } catch (error) {
      if (error.status === 404) {
        byId('alert-missing').hidden = false;
        text(byId('crumb-id'), alertId);
      }
    }
  }

  async function act(event) {
    const button = event.target.closest('button[data-action]');
    if (!button || busy) return;
    const action = button.dataset.action;
    const note = byId('t-note').value;
    const body = {action, note};
    if (action === 'assign') body.assignee = byId('t-assignee').value;
    const msg = byId('t-msg');
    busy = true;
    msg.className = 'form-msg';
    text(msg, 'Saving…');
    try {
      await FRT.postJSON('/api/alerts/' + encodeURIComponent(alertId) + '/triage', body);
      byId('t-note').value = '';
      msg.className = 'form-msg ok';
      text(msg, 'Saved.');
      if (action === 'resolve_false_positive' && !byId('exception-panel').hidden) {
        byId('x-offer').hidden = false;  // offer an exception for what was expected
        byId('x-reason').focus();
      }
      await load();
    } catch (error) {
      msg.className = 'form-msg err';
      text(msg, error.message);
    } finally {
      busy = false;
    }
  }

  async function makeException(event) {
    event.preventDefault();
    const msg = byId('x-msg');
    const body = {
      scope: byId('x-scope').value,
      subject: byId('x-subject').value,
      until: byId('x-until').value,
      reason: byId('x-reason').value,
    };
    msg.className = 'form-msg';
    text(msg, 'Saving…');
    try {
      const data = await FRT.postJSON('/api/alerts/' + encodeURIComponent(alertId) + '/exception', body);
      msg.className = 'form-msg ok';
      text(msg, 'Exception ' + data.exception.id + ' created: in force until ' + FRT.fmtTime(data.exception.until) + ' UTC.');
      byId('x-reason').value = '';
    } catch (error) {
      msg.className = 'form-msg err';
      text(msg, error.message);
    }
  }

  async function loadUsers() {
    try {
      const meta = await FRT.getJSON('/api/meta');
      const select = byId('t-assignee');
      for (const u of meta.users) {
        select.appendChild(el('option', {value: u.username}, u.name === u.username ? u.username : u.name + ' (' + u.username + ')'));
      }
    } catch (error) { /* assigning needs the list; the rest works without */ }
  }

  document.addEventListener('DOMContentLoaded', async () => {
    text(byId('crumb-id'), alertId);
    byId('triage-form').addEventListener('click', act);
    byId('triage-form').addEventListener('submit', (e) => e.preventDefault());
    byId('exception-form').addEventListener('submit', makeException);
    await loadUsers();
    await load();
    FRT.liveStream('/api/stream?alert_id=' + encodeURIComponent(alertId), {
      alert: () => { if (!busy) load(); },
      reset: load,
      open: load,
    });
  });
})();
