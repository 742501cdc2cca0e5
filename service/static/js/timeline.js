/* ringscope page: The timeline of a cluster's synchronised actions (an SVG scatter). */

import { enc, h, svg } from './dom.js';
import { actionColor, fmtTime } from './format.js';

// ---------------------------------------------------------------- the timeline (SVG scatter)

export const TIME_STEPS = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400];

/** The timeline's events, one per action, from the evidence's column arrays. */
function timelineEvents(tl) {
  const events = [];
  for (let i = 0; i < tl.timestamp.length; i++) {
    const t = Number(tl.timestamp[i]);
    if (!Number.isFinite(t)) continue;
    events.push({
      account: String(tl.account_id[i]), t, action: String(tl.action ? tl.action[i] : ''),
      targetType: tl.target_type ? String(tl.target_type[i]) : '', target: tl.target ? String(tl.target[i]) : '',
    });
  }
  return events;
}

/** Rows: accounts in order of their first action in the timeline (ties: the members' order). */
function timelineRows(events, memberOrder) {
  const first = new Map();
  for (const e of events) if (!first.has(e.account) || e.t < first.get(e.account)) first.set(e.account, e.t);
  const rank = new Map(memberOrder.map((id, i) => [id, i]));
  return [...first.keys()].sort((a, b) => first.get(a) - first.get(b) || (rank.get(a) ?? 1e9) - (rank.get(b) ?? 1e9));
}

/** Row bands and account labels (a label opens the account). */
function drawRows(root, g, rows, highlighted) {
  rows.forEach((id, i) => {
    root.append(svg('rect', {
      x: g.left, y: g.top + i * g.rowH, width: g.plotW, height: g.rowH,
      class: `tl-row ${i % 2 ? 'odd' : ''} ${id === highlighted ? 'hl' : ''}`, dataset: { account: id },
    }));
    if (g.rowH >= 9 || i % Math.ceil(9 / g.rowH) === 0) {
      const label = svg('text', { x: g.left - 6, y: g.y(i) + 3, class: `tl-label ${id === highlighted ? 'hl' : ''}`, 'text-anchor': 'end' },
        id.length > 16 ? `${id.slice(0, 15)}…` : id);
      label.addEventListener('click', () => { location.hash = `#/account/${enc(id)}`; });
      root.append(label);
    }
  });
}

/** The time axis with grid lines at a step that gives about eight ticks. */
function drawAxis(root, g, rows) {
  const [d0, d1] = g.domain;
  const span = d1 - d0;
  const step = TIME_STEPS.find((st) => span / st <= 8) || Math.ceil(span / 8 / 86400) * 86400;
  const axisY = g.top + rows.length * g.rowH;
  root.append(svg('line', { x1: g.left, x2: g.left + g.plotW, y1: axisY, y2: axisY, class: 'tl-axis' }));
  for (let t = Math.ceil(d0 / step) * step; t <= d1; t += step) {
    const xt = g.x(t);
    root.append(svg('line', { x1: xt, x2: xt, y1: g.top, y2: axisY, class: 'tl-grid' }));
    const iso = new Date(t * 1000).toISOString();
    const text = step >= 86400 ? iso.slice(5, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
    root.append(svg('text', { x: xt, y: axisY + 14, class: 'tl-tick', 'text-anchor': 'middle' }, text));
  }
  root.append(svg('text', { x: g.left + g.plotW, y: axisY + 29, class: 'tl-tick', 'text-anchor': 'end' }, 'time (UTC) →'));
}

/** One dot per visible action; returns how many were drawn. */
function drawEvents(root, g, events, rowOf, colorOf, hiddenActions) {
  const [d0, d1] = g.domain;
  let drawn = 0;
  for (const e of events) {
    if (e.t < d0 || e.t > d1 || hiddenActions.has(e.action)) continue;
    drawn++;
    root.append(svg('circle', {
      cx: g.x(e.t).toFixed(1), cy: g.y(rowOf.get(e.account)).toFixed(1), r: Math.max(2, Math.min(4, g.rowH / 3)),
      fill: colorOf.get(e.action), class: 'ev', dataset: { account: e.account, action: e.action },
    }, svg('title', {}, `${e.account} ${e.action} ${e.targetType} ${e.target} at ${fmtTime(e.t)}`)));
  }
  return drawn;
}

/** Drag across the chart to zoom into a time window: ``onZoom([t0, t1])``. */
function attachBrush(root, g, rows, onZoom) {
  const brush = svg('rect', { class: 'tl-brush', x: 0, y: g.top, width: 0, height: rows.length * g.rowH, visibility: 'hidden' });
  root.append(brush);
  const toX = (evt) => {
    const box = root.getBoundingClientRect();
    return Math.max(g.left, Math.min(g.left + g.plotW, ((evt.clientX - box.left) * g.width) / box.width));
  };
  let x0 = null;
  root.addEventListener('mousedown', (evt) => {
    x0 = toX(evt);
    brush.setAttribute('visibility', 'visible');
    brush.setAttribute('x', x0);
    brush.setAttribute('width', 0);
    evt.preventDefault();
  });
  root.addEventListener('mousemove', (evt) => {
    if (x0 === null) return;
    const x1 = toX(evt);
    brush.setAttribute('x', Math.min(x0, x1));
    brush.setAttribute('width', Math.abs(x1 - x0));
  });
  const finish = (evt) => {
    if (x0 === null) return;
    const x1 = toX(evt);
    const a = Math.min(x0, x1);
    const b = Math.max(x0, x1);
    x0 = null;
    brush.setAttribute('visibility', 'hidden');
    if (b - a < 5) return;
    const [d0, d1] = g.domain;
    const inv = (px) => d0 + ((px - g.left) / g.plotW) * (d1 - d0);
    const [n0, n1] = [inv(a), inv(b)];
    if (n1 - n0 >= 10) onZoom([n0, n1]);
  };
  root.addEventListener('mouseup', finish);
  root.addEventListener('mouseleave', finish);
}

/** The chart's geometry for a width, a row count and a time domain. */
function geometry(width, nRows, domain) {
  const g = { width, left: 118, right: 14, top: 8, bottom: 34, domain };
  g.rowH = Math.max(6, Math.min(18, Math.floor(360 / Math.max(1, nRows))));
  g.height = g.top + nRows * g.rowH + g.bottom;
  g.plotW = width - g.left - g.right;
  g.x = (t) => g.left + ((t - domain[0]) / (domain[1] - domain[0])) * g.plotW;
  g.y = (i) => g.top + i * g.rowH + g.rowH / 2;
  return g;
}

export function drawTimeline(host, tl, memberOrder) {
  const n = tl && Array.isArray(tl.timestamp) ? tl.timestamp.length : 0;
  if (!n) {
    host.append(h('p', { class: 'muted' }, 'No timeline for this cluster (timelines are kept for flagged clusters only).'));
    return null;
  }
  const events = timelineEvents(tl);
  const rows = timelineRows(events, memberOrder);
  const rowOf = new Map(rows.map((id, i) => [id, i]));
  const actionCounts = new Map();
  for (const e of events) actionCounts.set(e.action, (actionCounts.get(e.action) || 0) + 1);
  const actions = [...actionCounts.keys()].sort((a, b) => actionCounts.get(b) - actionCounts.get(a));
  const colorOf = new Map(actions.map((a, i) => [a, actionColor(a, i)]));
  const hiddenActions = new Set();

  const tMin = Math.min(...events.map((e) => e.t));
  const tMax = Math.max(...events.map((e) => e.t));
  const full = tMin === tMax ? [tMin - 60, tMax + 60] : [tMin, tMax];
  let domain = full.slice();
  let highlighted = null;

  const caption = h('p', { class: 'small muted', id: 'timeline-caption' });
  const reset = h('button', { type: 'button', class: 'link', id: 'timeline-reset', hidden: true }, 'reset zoom');
  const chart = h('div', { class: 'tl-chart' });
  const legendEl = h('ul', { class: 'legend', id: 'timeline-legend' }, actions.map((a) => {
    const li = h('li', { dataset: { action: a }, title: 'click to hide or show' },
      h('span', { class: 'swatch round', style: `background:${colorOf.get(a)}` }), `${a} `, h('span', { class: 'muted' }, `(${actionCounts.get(a)})`));
    li.addEventListener('click', () => {
      if (hiddenActions.has(a)) hiddenActions.delete(a); else hiddenActions.add(a);
      li.classList.toggle('off', hiddenActions.has(a));
      render();
    });
    return li;
  }));
  reset.addEventListener('click', () => { domain = full.slice(); render(); });
  host.append(caption, chart, h('div', { class: 'tl-foot' }, legendEl, reset));

  function render() {
    const g = geometry(Math.max(640, Math.floor(chart.clientWidth || host.clientWidth || 900)), rows.length, domain);
    const root = svg('svg', {
      width: g.width, height: g.height, viewBox: `0 0 ${g.width} ${g.height}`, class: 'tl-svg', role: 'img',
      'aria-label': 'timeline: one row per member, one dot per action',
    });
    drawRows(root, g, rows, highlighted);
    drawAxis(root, g, rows);
    const drawn = drawEvents(root, g, events, rowOf, colorOf, hiddenActions);
    attachBrush(root, g, rows, (zoomed) => { domain = zoomed; render(); });
    chart.replaceChildren(root);
    reset.hidden = domain[0] === full[0] && domain[1] === full[1];
    caption.textContent = `${drawn} of ${events.length} actions by ${rows.length} accounts, ${fmtTime(domain[0])} → ${fmtTime(domain[1])}. ` +
      'One row per account, one dot per action: actions in lockstep line up as vertical stripes. Drag across the chart to zoom in.';
  }

  render();
  return {
    highlight(id) { highlighted = id; render(); },
  };
}
