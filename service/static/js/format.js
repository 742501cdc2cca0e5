/* ringscope page: Formatting: times, durations, verdict badges, links, score bars, relation and action colours. */

import { enc, h } from './dom.js';

export const RELATION_GROUPS = [
  { key: 'device', label: 'shared device', color: '#d62728', test: (r) => r === 'device' },
  { key: 'ip', label: 'shared IP / identifier at the same time', color: '#ff7f0e', test: (r) => r === 'ip' || r.startsWith('ip_') || r === 'id_time' },
  { key: 'coaction', label: 'co-action (same targets, same time)', color: '#7b3fb8', test: (r) => /^co(action|[_-])/.test(r) },
  { key: 'interaction', label: 'interaction (follow, reply, ...)', color: '#1f77b4', test: (r) => r === 'interaction' || r.startsWith('interaction') },
  { key: 'other', label: 'other identifiers (email domain, phone, ...)', color: '#2ca02c', test: () => true },
];
export const ACTION_COLORS = {
  like: '#d62728', follow: '#1f77b4', share: '#ff7f0e', comment: '#2ca02c', reply: '#17becf',
  post: '#7b3fb8', login: '#8c8c8c', signup: '#222222', message: '#e377c2', view: '#bcbd22',
};
export const PALETTE = ['#8c564b', '#e377c2', '#bcbd22', '#17becf', '#393b79', '#637939', '#843c39', '#7b4173'];


// ---------------------------------------------------------------- formatting

export const fmtScore = (x) => (x === null || x === undefined || Number.isNaN(x) ? '—' : Number(x).toFixed(3));
export const fmtPct = (x) => (x === null || x === undefined ? '—' : `${Math.round(100 * x)}%`);

export function fmtTime(value) {
  if (value === null || value === undefined || value === '') return '—';
  const d = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function fmtDate(value) {
  const t = fmtTime(value);
  return t === '—' ? t : t.slice(0, 10);
}

/** "2026-01-08 → 01-30" (the year once when both ends share it). */
export function dateRange(a, b) {
  const x = fmtDate(a);
  const y = fmtDate(b);
  if (x === y) return x;
  return x.slice(0, 4) === y.slice(0, 4) && x !== '—' ? `${x} → ${y.slice(5)}` : `${x} → ${y}`;
}

export function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}

/** "verdict (was suspicious)": the previous verdict only where it differs. */
export function wasText(change, r) {
  return r.previous_verdict && r.previous_verdict !== r.verdict ? `${change} (was ${r.previous_verdict})` : change;
}

export function badge(verdict) {
  const v = verdict || 'unknown';
  return h('span', { class: `badge v-${v}`, dataset: { verdict: v } }, v);
}

export function accountLink(id) {
  return h('a', { href: `#/account/${enc(id)}`, class: 'mono' }, id);
}

export function clusterLink(id) {
  return h('a', { href: `#/cluster/${enc(id)}`, class: 'mono' }, id);
}

/** An identifier or target, linked to its search. */
export function entityLink(id) {
  return h('a', { href: `#/entity/${enc(id)}`, class: 'mono' }, id);
}

export function scoreBar(score) {
  const w = score === null || score === undefined ? 0 : Math.max(0, Math.min(1, score));
  return h('span', { class: 'scorecell' },
    h('span', { class: 'bar' }, h('span', { class: 'fill', style: `width:${(100 * w).toFixed(1)}%` })),
    h('span', { class: 'num' }, fmtScore(score)));
}

export function relationGroup(relation) {
  const r = String(relation || '').toLowerCase();
  return RELATION_GROUPS.find((g) => g.test(r));
}

export function actionColor(action, index) {
  return ACTION_COLORS[action] || PALETTE[index % PALETTE.length];
}
