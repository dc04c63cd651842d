// Small SVG charts drawn by hand (no library): stacked columns over time and a
// horizontal bar chart. Charts are drawn at the container's pixel width so text
// keeps its size. Labels come from data, so they are set with textContent.
'use strict';

const Charts = (() => {
  const NS = 'http://www.w3.org/2000/svg';
  const PALETTE_SIZE = 8; // colours live in the stylesheet: .series-0 … .series-7

  function svg(tag, attrs, label) {
    const node = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (label !== undefined) node.textContent = String(label);
    return node;
  }

  function niceMax(value) {
    if (value <= 4) return 4;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 4, 5, 10]) if (step * power >= value) return step * power;
    return 10 * power;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function empty(container, message) {
    clear(container);
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = message;
    container.appendChild(p);
  }

  function widthOf(container) { return Math.max(320, Math.floor(container.clientWidth || 640)); }

  function timeLabel(iso, withDate) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    const text = d.toISOString();
    return withDate ? text.slice(5, 10) + ' ' + text.slice(11, 16) : text.slice(11, 16);
  }

  function legend(names, totals, colorOf) {
    const list = document.createElement('ul');
    list.className = 'legend';
    names.forEach((name, n) => {
      const item = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = 'swatch series-bg-' + colorOf(name, n);
      const label = document.createElement('span');
      label.textContent = name + ' (' + totals[n] + ')';
      item.append(swatch, label);
      list.appendChild(item);
    });
    return list;
  }

  // bins: ISO bin starts; series: {name: [count per bin]}; one column per bin, stacked by series.
  function stackedColumns(container, bins, series, options) {
    const names = Object.keys(series);
    const opts = options || {};
    if (!names.length) { empty(container, opts.emptyText || 'No data in this range.'); return; }
    const colorOf = opts.colorOf || ((name, n) => n % PALETTE_SIZE);
    clear(container);
    const W = widthOf(container), H = 240, L = 40, R = 16, T = 10, B = 26;
    const totalsPerBin = bins.map((_, i) => names.reduce((sum, n) => sum + (series[n][i] || 0), 0));
    const max = niceMax(Math.max(1, ...totalsPerBin));
    const plotW = W - L - R, plotH = H - T - B;
    const colW = plotW / bins.length;
    const y = (v) => T + plotH * (1 - v / max);
    const chart = svg('svg', {width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'svg-chart', role: 'img'});
    chart.appendChild(svg('title', {}, opts.title || 'chart'));
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      chart.appendChild(svg('line', {x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid-line'}));
      chart.appendChild(svg('text', {x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis-label'}, Math.round(v * 10) / 10));
    }
    const spanDays = bins.length > 1 && (new Date(bins[bins.length - 1]) - new Date(bins[0])) > 20 * 3600 * 1000;
    const ticks = Math.max(2, Math.min(7, Math.floor(plotW / 90)));
    for (let k = 0; k < ticks; k++) {
      const i = Math.round((k * (bins.length - 1)) / (ticks - 1));
      const anchor = k === 0 ? 'start' : (k === ticks - 1 ? 'end' : 'middle');
      const x = k === ticks - 1 ? L + plotW : L + i * colW;
      chart.appendChild(svg('text', {x, y: H - 7, 'text-anchor': anchor, class: 'axis-label'}, timeLabel(bins[i], spanDays)));
    }
    const gap = colW > 6 ? 1.5 : 0.5;
    bins.forEach((bin, i) => {
      let base = 0;
      names.forEach((name, n) => {
        const value = series[name][i] || 0;
        if (!value) return;
        const top = y(base + value), bottom = y(base);
        const rect = svg('rect', {
          x: (L + i * colW + gap / 2).toFixed(2), y: top.toFixed(2),
          width: Math.max(0.5, colW - gap).toFixed(2), height: Math.max(0.5, bottom - top).toFixed(2),
          class: 'series-' + colorOf(name, n),
        });
        rect.appendChild(svg('title', {}, name + ' · ' + timeLabel(bin, true) + ' UTC: ' + value));
        chart.appendChild(rect);
        base += value;
      });
    });
    chart.appendChild(svg('line', {x1: L, x2: W - R, y1: y(0), y2: y(0), class: 'axis-line'}));
    container.appendChild(chart);
    container.appendChild(legend(names, names.map((n) => series[n].reduce((a, b) => a + b, 0)), colorOf));
  }

  // rows: [{label, value, severity}]
  function barChart(container, rows, options) {
    const opts = options || {};
    if (!rows.length) { empty(container, opts.emptyText || 'No data in this range.'); return; }
    clear(container);
    const W = widthOf(container), rowH = 28, L = Math.min(300, Math.floor(W * 0.3)), R = 56, T = 4;
    const H = T * 2 + rows.length * rowH;
    const max = Math.max(1, ...rows.map((r) => r.value));
    const chart = svg('svg', {width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'svg-chart', role: 'img'});
    chart.appendChild(svg('title', {}, opts.title || 'chart'));
    const maxChars = Math.floor((L - 12) / 7);
    rows.forEach((row, i) => {
      const top = T + i * rowH;
      const width = Math.max(2, ((W - L - R) * row.value) / max);
      const label = row.label.length > maxChars ? row.label.slice(0, maxChars - 1) + '…' : row.label;
      chart.appendChild(svg('text', {x: L - 10, y: top + 18, 'text-anchor': 'end', class: 'bar-label'}, label));
      chart.appendChild(svg('rect', {x: L, y: top + 5, width: W - L - R, height: rowH - 10, rx: 3, class: 'bar-track'}));
      const bar = svg('rect', {x: L, y: top + 5, width, height: rowH - 10, rx: 3, class: 'bar sev-fill-' + row.severity});
      bar.appendChild(svg('title', {}, row.label + ': ' + (row.tip || row.value + ' alert(s), worst ' + row.severity)));
      chart.appendChild(bar);
      chart.appendChild(svg('text', {x: L + width + 8, y: top + 18, class: 'bar-value'}, row.value));
    });
    container.appendChild(chart);
  }

  // One colour per name across several charts: the order of first appearance in `lists`.
  function palette(...lists) {
    const index = new Map();
    for (const list of lists) for (const name of list) if (!index.has(name)) index.set(name, index.size % PALETTE_SIZE);
    return (name, n) => (index.has(name) ? index.get(name) : n % PALETTE_SIZE);
  }

  return {stackedColumns, barChart, palette};
})();
