// FRTWatch console: shared helpers. Every string that comes from an event or an
// alert is written with textContent (through el()/text()); nothing here parses
// markup, so a value such as <img src=x onerror=...> stays plain text.
'use strict';

const FRT = (() => {
  const SEVERITIES = ['critical', 'high', 'medium', 'low'];

  // el('td', {class: 'x'}, 'text', childNode, ...): attributes from our own code only.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (name === 'class') node.className = value;
        else if (name === 'dataset') Object.assign(node.dataset, value);
        else node.setAttribute(name, value === true ? '' : String(value));
      }
    }
    for (const child of children) append(node, child);
    return node;
  }

  function append(node, child) {
    if (child === null || child === undefined) return;
    if (Array.isArray(child)) { child.forEach((c) => append(node, c)); return; }
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  function text(node, value) {
    node.textContent = value === null || value === undefined ? '' : String(value);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function byId(id) { return document.getElementById(id); }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : '';
  }

  // A data request made right after a click or key press is the person's; it keeps
  // the session alive. Background refreshes (timers, live updates) do not.
  let lastInput = 0;
  for (const type of ['click', 'keydown', 'submit', 'change']) {
    document.addEventListener(type, () => { lastInput = Date.now(); }, true);
  }

  async function request(url, options) {
    options = Object.assign({}, options || {});
    if (Date.now() - lastInput < 3000) options.headers = Object.assign({'X-Frtwatch-Action': '1'}, options.headers || {});
    const response = await fetch(url, Object.assign({credentials: 'same-origin'}, options || {}));
    if (response.status === 401) {
      window.location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
      throw new Error('signed out');
    }
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      const message = body && typeof body.error === 'string' ? body.error : 'request failed (' + response.status + ')';
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function getJSON(url) { return request(url, {method: 'GET', headers: {Accept: 'application/json'}}); }

  function postJSON(url, data) {
    return request(url, {
      method: 'POST',
      headers: {'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrfToken()},
      body: JSON.stringify(data),
    });
  }

  // "2026-03-01T09:00:00Z" -> "2026-03-01 09:00:00"; anything unexpected is shown as given.
  function fmtTime(iso) {
    if (typeof iso !== 'string') return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '').replace(/Z$/, '');
  }

  function ago(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    const s = Math.round((Date.now() - d.getTime()) / 1000);
    if (s < 0) return 'in the future';
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return Math.floor(s / 86400) + ' d ago';
  }

  function severityBadge(severity) {
    const known = SEVERITIES.includes(severity) ? severity : 'unknown';
    return el('span', {class: 'badge sev-' + known}, severity);
  }

  const STATUS_LABEL = {open: 'Open', acknowledged: 'Acknowledged', resolved: 'Resolved'};
  const RESOLUTION_LABEL = {true_positive: 'true positive', false_positive: 'false positive'};

  function statusText(triage) {
    if (!triage) return 'Open';
    const label = STATUS_LABEL[triage.status] || String(triage.status);
    if (triage.status === 'resolved' && triage.resolution) {
      return label + ' · ' + (RESOLUTION_LABEL[triage.resolution] || String(triage.resolution));
    }
    return label;
  }

  function statusBadge(triage) {
    const status = triage && STATUS_LABEL[triage.status] ? triage.status : 'open';
    const extra = triage && triage.resolution ? ' res-' + triage.resolution.replace(/[^a-z_]/g, '') : '';
    return el('span', {class: 'badge badge-status st-' + status + extra}, statusText(triage));
  }

  function detectorLabel(name) {
    return String(name).replace(/_/g, ' ');
  }

  // A detail value as text: strings as they are, everything else as compact JSON.
  function valueText(value) {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && !Number.isInteger(value)) return String(Math.round(value * 10000) / 10000);
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(', ');
    return JSON.stringify(value);
  }

  function setLive(state, label) {
    const node = byId('live-status');
    if (!node) return;
    node.className = 'live live-' + state;
    text(node, label);
  }

  // This page's own id on its live streams: a stream it opens (a new filter) replaces
  // the one it had, at once, so quick filter changes never hit the per-session limit.
  const TAB = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
  const RETRY_MS = 2000;

  // The streams this page has open. The tab that signs out closes them before its
  // form is sent, so the server's signed_out notice cannot start a second navigation
  // racing the form's own redirect; other tabs of the session still get the notice.
  const streams = new Set();
  document.addEventListener('submit', (event) => {
    if (event.target instanceof HTMLFormElement && event.target.classList.contains('logout')) {
      streams.forEach((stream) => stream.close());
      streams.clear();
    }
  });

  // A server-sent event stream that reports its state in the header badge. The browser
  // retries a dropped connection by itself, but gives up on a refused one (a status
  // other than 200): then the stream is opened again after a pause. close() ends it.
  function liveStream(url, handlers) {
    const full = url + (url.includes('?') ? '&' : '?') + 'tab=' + TAB;
    let source = null;
    let retry = null;
    let closed = false;
    const stream = {
      close() {
        closed = true;
        clearTimeout(retry);
        if (source) source.close();
        streams.delete(stream);
      },
    };
    function open() {
      source = new EventSource(full);
      source.addEventListener('open', () => { setLive('on', 'live'); if (handlers.open) handlers.open(); });
      source.addEventListener('error', () => {
        setLive('off', 'reconnecting');
        if (source.readyState === EventSource.CLOSED && !closed) {
          retry = setTimeout(() => { if (!closed) open(); }, RETRY_MS);
        }
      });
      source.addEventListener('alert', (event) => {
        let message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        if (handlers.alert) handlers.alert(message);
      });
      source.addEventListener('reset', () => { if (handlers.reset) handlers.reset(); });
      source.addEventListener('expired', () => {
        stream.close();
        window.location.assign('/login?error=expired');
      });
      source.addEventListener('signed_out', () => {
        stream.close();
        window.location.assign('/login?error=signed_out');
      });
    }
    streams.add(stream);
    open();
    return stream;
  }

  function alertHref(alertId) { return '/alerts/' + encodeURIComponent(alertId); }

  function userHref(agency, user) { return '/user?' + new URLSearchParams({agency, user}).toString(); }

  return {
    SEVERITIES, el, text, clear, byId, getJSON, postJSON, fmtTime, ago, severityBadge,
    statusBadge, statusText, detectorLabel, valueText, setLive, liveStream, alertHref, userHref,
  };
})();
