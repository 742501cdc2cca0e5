/* ringscope page: The router (#/, #/cluster/ID, #/account/ID) and the verdict list, account and cluster views. */

import { state } from './state.js';
import { ApiError, api, currentKey, errorBox, pool } from './api.js';
import { $, enc, h } from './dom.js';
import { accountLink, badge, clusterLink, dateRange, entityLink, fmtDuration, fmtPct, fmtScore, fmtTime, relationGroup, scoreBar, wasText } from './format.js';
import { drawGraph, expandNeighbours, layout } from './graph.js';
import { sortableTable } from './table.js';
import { drawTimeline } from './timeline.js';

export const LIST_LIMIT = 50;
export const MEMBER_LOOKUPS = 200; // members whose current verdict is looked up one by one
export const LOOKUP_CONCURRENCY = 4;

// Relation groups of the graph: colour, legend label, which relation names belong.

// ---------------------------------------------------------------- the router

export const view = $('#view');

export function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const params = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  let parts;
  try { parts = path.split('/').filter(Boolean).map(decodeURIComponent); } catch { parts = ['?']; }
  return { parts, params };
}

export function setView(name, state) {
  view.dataset.view = name;
  view.dataset.state = state;
}

export async function route() {
  const mine = ++state.seq;
  const { parts, params } = parseHash();
  if (!currentKey()) {
    dropGraph();
    state.current = null;
    setView('key', 'error');
    view.replaceChildren(errorBox(new ApiError(401, 'no API key yet')));
    return;
  }
  $('#key-panel').hidden = true;
  try {
    if (parts.length === 0 || (parts[0] === 'clusters' && parts.length === 1)) {
      await showList(params, mine);
    } else if (parts[0] === 'cluster' && parts.length === 2) {
      await showCluster(parts[1], null, mine);
    } else if (parts[0] === 'account' && parts.length === 2) {
      await showAccount(parts[1], mine);
    } else if (parts[0] === 'entity' && parts.length === 2) {
      await showEntity(parts[1], mine);
    } else {
      dropGraph();
      state.current = null;
      setView('unknown', 'error');
      view.replaceChildren(errorBox(new ApiError(404, `no page ${location.hash}`), 'Page'));
    }
  } catch (err) {
    if (mine !== state.seq) return;
    if (!(err instanceof ApiError)) console.error(err);
    dropGraph();
    state.current = null;
    setView(view.dataset.view || 'unknown', 'error');
    view.replaceChildren(errorBox(err));
  }
}

export const stale = (mine) => mine !== state.seq;


export function dropGraph() {
  if (state.liveCy) {
    state.liveCy.destroy();
    state.liveCy = null;
    window.__cy = undefined;
  }
}

export function loading(name, text) {
  dropGraph();
  delete view.dataset.members;
  setView(name, 'loading');
  view.replaceChildren(h('p', { class: 'loading' }, text));
}

// ---------------------------------------------------------------- the verdict list

/** The list's filters (verdict, minimum size); applying them changes the hash. */
function listFilters(verdict, minSize, params) {
  const select = (name, id, options, current) => h('select', { name, id },
    options.map(([v, label]) => h('option', { value: v, selected: v === current }, label)));
  const verdictSelect = select('verdict', 'filter-verdict',
    [['ring', 'ring'], ['suspicious', 'suspicious'], ['benign', 'benign'], ['', 'any verdict']], verdict);
  const decisionSelect = select('decision', 'filter-decision',
    [['', 'any'], ['undecided', 'undecided'], ['confirmed', 'confirmed'], ['rejected', 'rejected']], params.get('decision') || '');
  const orderSelect = select('order', 'filter-order',
    [['newest', 'newest change first'], ['feed', 'oldest change first']], params.get('order') || 'newest');
  const sizeInput = h('input', { type: 'number', min: '1', name: 'min_size', id: 'filter-min-size', value: minSize, placeholder: 'any' });
  const datasetInput = h('input', { type: 'text', name: 'dataset', id: 'filter-dataset', value: params.get('dataset') || '', placeholder: 'any', size: 12 });
  const filters = h('form', { class: 'filters', id: 'list-filters' },
    h('label', {}, 'Verdict ', verdictSelect),
    h('label', {}, 'Decision ', decisionSelect),
    h('label', {}, 'Min size ', sizeInput),
    h('label', {}, 'Dataset ', datasetInput),
    h('label', {}, 'Order ', orderSelect),
    h('button', { type: 'submit' }, 'Apply'));
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    p.set('verdict', verdictSelect.value);
    if (decisionSelect.value) p.set('decision', decisionSelect.value);
    if (sizeInput.value) p.set('min_size', sizeInput.value);
    if (datasetInput.value.trim()) p.set('dataset', datasetInput.value.trim());
    if (orderSelect.value !== 'newest') p.set('order', orderSelect.value);
    if (params.get('limit')) p.set('limit', params.get('limit'));
    const target = `#/?${p}`;
    if (location.hash === target) route(); else location.hash = target;
  });
  return filters;
}

export async function showList(params, mine) {
  state.current = null;
  // 'any' (or an empty value) lists every verdict.
  const asked = params.has('verdict') ? params.get('verdict') : 'ring';
  const verdict = asked === 'any' ? '' : asked;
  const minSize = params.get('min_size') || '';
  const limit = Math.max(1, Math.min(1000, parseInt(params.get('limit'), 10) || LIST_LIMIT));
  const query = new URLSearchParams();
  if (verdict) query.set('verdict', verdict);
  if (minSize) query.set('min_size', minSize);
  query.set('limit', String(limit));
  // Newest change first unless asked otherwise; dataset and decision narrow the list.
  query.set('order', params.get('order') === 'feed' ? 'feed' : 'newest');
  for (const name of ['decision', 'dataset']) if (params.get(name)) query.set(name, params.get(name));

  loading('list', 'Loading verdicts…');
  const page = await api(`/v1/clusters?${query}`);
  if (stale(mine)) return;

  const filters = listFilters(verdict, minSize, params);

  const table = sortableTable([
    { key: 'cluster_id', label: 'Cluster', render: (r) => clusterLink(r.cluster_id) },
    { key: 'verdict', label: 'Verdict', render: (r) => badge(r.verdict) },
    { key: 'score', label: 'Score', numeric: true, render: (r) => scoreBar(r.score) },
    { key: 'size', label: 'Size', numeric: true },
    { key: 'status', label: 'Status', render: (r) => h('span', { class: `status s-${r.status}` }, r.status) },
    { key: 'change', label: 'Last change', render: (r) => wasText(r.change, r) },
    { key: 'updated_at', label: 'Updated', value: (r) => Date.parse(r.updated_at), render: (r) => fmtTime(r.updated_at) },
    { key: 'model_version', label: 'Model', cls: 'mono small' },
  ], {
    id: 'cluster-list',
    rowKey: (r) => r.cluster_id,
    onRowClick: (r) => { location.hash = `#/cluster/${enc(r.cluster_id)}`; },
    emptyText: 'No clusters match these filters.',
  });
  table.setRows(page.items);

  const count = h('span', { class: 'muted', id: 'list-count' });
  const more = h('button', { type: 'button', id: 'load-more' }, 'Load more');
  let cursor = page.next_cursor;
  let shown = page.items.length;
  const updateCount = () => {
    count.textContent = `${shown} shown${cursor ? ', more available' : ''}`;
    more.hidden = !cursor;
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    more.textContent = 'Loading…';
    try {
      const q = new URLSearchParams(query);
      q.set('cursor', cursor);
      const next = await api(`/v1/clusters?${q}`);
      if (stale(mine)) return;
      table.addRows(next.items);
      shown += next.items.length;
      cursor = next.next_cursor;
      updateCount();
    } catch (err) {
      more.after(errorBox(err));
    } finally {
      more.disabled = false;
      more.textContent = 'Load more';
    }
  });
  updateCount();

  const quality = h('p', { class: 'small', id: 'list-quality' });
  api('/v1/quality').then((rows) => {
    if (stale(mine) || !rows.length) return;
    const sum = (k) => rows.reduce((a, r) => a + r[k], 0);
    const rings = sum('rings_confirmed') + sum('rings_rejected');
    quality.textContent = `Investigators: ${sum('confirmed')} confirmed, ${sum('rejected')} rejected, ` +
      `${sum('waiting')} rings waiting` + (rings ? `; ring precision among decided ${(sum('rings_confirmed') / rings).toFixed(2)}` : '') + '.';
  }).catch(() => { /* enforcement keys may not read it */ });

  const title = verdict ? `${verdict[0].toUpperCase()}${verdict.slice(1)} verdicts` : 'All verdicts';
  view.replaceChildren(h('section', { class: 'panel' },
    h('div', { class: 'panel-head' }, h('h1', {}, title), count),
    quality,
    h('p', { class: 'muted small' },
      'Clusters by their latest change (newest first unless Order says otherwise); click a header to sort what is loaded, a row to open the cluster.'),
    filters, table.el, h('div', { class: 'more-row' }, more)));
  setView('list', 'ready');
}

// ---------------------------------------------------------------- account view

export async function showAccount(id, mine) {
  if (state.current && state.current.members.has(id)) {
    // A member of the cluster on screen: select it in place (no reload, no re-layout).
    state.current.select(id);
    const acc = await api(`/v1/accounts/${enc(id)}`).catch((err) => err);
    if (stale(mine)) return;
    state.current.showAccount(acc, id);
    return;
  }
  state.current = null;
  loading('account', `Loading account ${id}…`);
  let acc;
  try {
    acc = await api(`/v1/accounts/${enc(id)}`);
  } catch (err) {
    if (stale(mine)) return;
    if (err instanceof ApiError && err.status === 404) {
      setView('account', 'error');
      view.replaceChildren(errorBox(err, 'Account'),
        h('p', {}, 'Is it a cluster id? ', h('a', { href: `#/cluster/${enc(id)}` }, `Open cluster ${id}`)));
      return;
    }
    throw err;
  }
  if (stale(mine)) return;
  if (!acc.cluster_id) {
    setView('account', 'ready');
    view.replaceChildren(accountCard(acc), h('p', { class: 'muted' }, 'This account is in no cluster in the latest run.'));
    return;
  }
  await showCluster(acc.cluster_id, acc, mine);
}

const list = (items) => h('ul', { class: 'plain small' }, items);

export function accountCard(acc, closeable, ev) {
  const card = h('section', { class: 'panel account-card', id: 'account-card', dataset: { account: acc.account_id } },
    h('div', { class: 'panel-head' },
      h('h2', {}, 'Account ', h('span', { class: 'mono' }, acc.account_id)),
      closeable ? h('a', { href: closeable, class: 'small' }, 'close') : null),
    h('dl', { class: 'facts' },
      fact('Verdict', badge(acc.verdict)),
      fact('Score', scoreBar(acc.score)),
      fact('Cluster', acc.cluster_id ? clusterLink(acc.cluster_id) : 'none'),
      fact('Dataset', acc.dataset || 'default'),
      fact('Run', String(acc.run_id))),
    ev ? accountEvidence(acc.account_id, ev) : null,
    acc.cluster_id ? accountProfile(acc.account_id, acc.dataset) : null);
  return card;
}

/** The account's profile (investigators: creation time, identifiers, latest events, strongest
 * links), loaded after the card is on screen; members of flagged clusters only. */
function accountProfile(id, dataset) {
  const slot = h('div', { class: 'account-profile', id: 'account-profile' }, h('p', { class: 'muted small' }, 'Loading profile…'));
  const q = dataset ? `?dataset=${enc(dataset)}` : '';
  // The card grows when the profile arrives and moves the graph down: cytoscape caches where its
  // container is, so it must be told (or clicks land on the wrong node).
  const moved = () => { if (state.liveCy) state.liveCy.resize(); };
  api(`/v1/profiles/${enc(id)}${q}`).finally(() => setTimeout(moved, 0)).then((found) => {
    const p = found.profile;
    if (!p) {
      slot.replaceChildren(h('p', { class: 'muted small' }, 'No profile: profiles are kept for members of ring and suspicious clusters.'));
      return;
    }
    const expand = h('button', { type: 'button', class: 'small', id: 'expand-neighbours' }, 'Draw these links in the graph');
    expand.addEventListener('click', () => {
      const cur = state.current;
      const n = cur && cur.expand ? cur.expand(id, p.neighbours) : 0;
      expand.textContent = n ? `${n} links drawn (hollow: accounts outside the cluster)` : 'All these links are drawn already';
      expand.disabled = true;
    });
    slot.replaceChildren(
      h('dl', { class: 'facts' },
        fact('Created', fmtTime(p.created_at)),
        fact('Active', dateRange(p.first_seen, p.last_seen)),
        fact('Events', p.events.toLocaleString()),
        fact('Targets', p.targets.toLocaleString())),
      p.identifiers.length ? h('div', {}, h('h3', {}, 'Identifiers (least shared first)'), list(p.identifiers.map((x) =>
        h('li', {}, `${x.type} `, entityLink(x.id), ` · ${x.uses} uses · ${x.users_total.toLocaleString()} ${x.users_total === 1 ? 'user' : 'users'} in all`)))) : null,
      p.recent.length ? h('div', {}, h('h3', {}, 'Latest events'), list(p.recent.map((e) =>
        h('li', {}, `${fmtTime(e.ts)} ${e.action} ${e.entity_type} `, entityLink(e.entity_id))))) : null,
      p.neighbours.length ? h('div', { id: 'account-neighbours' }, h('h3', {}, 'Strongest links'), list(p.neighbours.map((n) =>
        h('li', {}, accountLink(n.account_id), ` · ${n.relations.join(', ')} · weight ${fmtScore(n.weight)}`))),
      state.current && state.current.expand ? expand : null) : null);
  }).catch((err) => {
    if (err instanceof ApiError && err.status === 403) {
      slot.replaceChildren(h('p', { class: 'muted small' }, 'Identifiers and links need an investigator key.'));
    } else {
      slot.replaceChildren(errorBox(err, 'Profile'));
    }
  });
  return slot;
}

/** What the cluster's evidence says about one member: the identifiers it shares, the campaigns it
 * took part in, and its latest actions in the timeline. */
function accountEvidence(id, ev) {
  const shares = (ev.shared_entities || []).filter((e) => (e.member_ids || []).includes(id));
  const campaigns = (ev.campaigns || []).filter((c) => (c.member_ids || []).includes(id));
  const tl = ev.timeline || {};
  const mine = [];
  (tl.account_id || []).forEach((a, i) => { if (a === id) mine.push(i); });
  const recent = mine.slice(-8).reverse();
  return h('div', { class: 'account-evidence', id: 'account-evidence' },
    shares.length ? h('div', {}, h('h3', {}, 'Shares'), list(shares.map((e) =>
      h('li', {}, `${e.type} `, entityLink(e.id), ` (${e.users_total} users in all)`)))) : null,
    campaigns.length ? h('div', {}, h('h3', {}, 'Took part in'), list(campaigns.map((c) =>
      h('li', {}, `${c.action} ${c.target_type} `, entityLink(c.target), ` · ${fmtTime(c.start)}`)))) : null,
    recent.length ? h('div', {}, h('h3', {}, `Latest actions (${mine.length} in the timeline)`), list(recent.map((i) =>
      h('li', {}, `${fmtTime(tl.timestamp[i])} ${tl.action[i]} ${tl.target_type[i]} `, entityLink(tl.target[i]))))) : null,
    !shares.length && !campaigns.length && !recent.length
      ? h('p', { class: 'muted small' }, 'The evidence lists no identifier, campaign or action of this account.') : null);
}

export function fact(label, value) {
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value));
}

// ---------------------------------------------------------------- cluster view

export async function showCluster(id, account, mine) {
  if (!account && state.current && state.current.clusterId === id) {
    state.current.select(null);
    state.current.showAccount(null);
    return;
  }
  state.current = null;
  loading('cluster', `Loading cluster ${id}…`);
  const [cluster, graph] = await Promise.allSettled([
    api(`/v1/clusters/${enc(id)}`),
    api(`/v1/clusters/${enc(id)}/graph`),
  ]);
  if (stale(mine)) return;
  if (cluster.status === 'rejected') {
    setView('cluster', 'error');
    const parts = [];
    if (account) parts.push(accountCard(account));
    parts.push(errorBox(cluster.reason, 'Cluster'));
    view.replaceChildren(...parts);
    return;
  }
  renderCluster(cluster.value, graph, account);
}

function clusterHeader(c, ev) {
  return h('section', { class: 'panel cluster-head' },
    h('div', { class: 'panel-head' },
      h('h1', {}, 'Cluster ', h('span', { class: 'mono', id: 'cluster-id' }, c.cluster_id), ' ', badge(c.verdict),
        c.status !== 'active' ? h('span', { class: `status s-${c.status}` }, c.status) : null)),
    ev.verdict_reason ? h('p', { class: 'muted' }, `Why: ${ev.verdict_reason}`) : null,
    h('dl', { class: 'facts' },
      fact('Score', scoreBar(c.score)),
      fact('Size', h('span', { id: 'cluster-size' }, String(c.size))),
      fact('Model', h('span', { class: 'mono' }, c.model_version)),
      fact('Dataset', h('span', { class: 'mono', id: 'cluster-dataset' }, c.dataset || 'default')),
      fact('Detected', fmtTime(c.detected_at)),
      fact('First seen', `run ${c.first_seen_run}, ${fmtTime(c.first_seen_at)}`),
      fact('Last change', `${wasText(c.change, c)} in run ${c.updated_run}`),
      fact('Decision', decisionState(c.decision))),
    decisionForm(c));
}

/** The members table; for a dissolved cluster, where each member is now (``lookups``). */
function membersTable(c, lookups) {
  const verdictOf = (accountId) => {
    if (c.status === 'active') return c.verdict;
    const a = lookups.get(accountId);
    return a && !(a instanceof Error) ? a.verdict : null;
  };
  const members = sortableTable([
    { key: 'rank', label: '#', numeric: true },
    { key: 'account_id', label: 'Account', render: (r) => accountLink(r.account_id) },
    { key: 'score', label: 'Score', numeric: true, render: (r) => scoreBar(r.score) },
    {
      key: 'verdict', label: 'Verdict',
      value: (r) => verdictOf(r.account_id),
      render: (r) => {
        const v = verdictOf(r.account_id);
        return v ? badge(v) : h('span', { class: 'muted' }, lookups.has(r.account_id) ? '?' : '…');
      },
    },
    {
      key: 'now', label: 'Cluster now',
      value: (r) => { const a = lookups.get(r.account_id); return a && !(a instanceof Error) ? a.cluster_id || '' : null; },
      render: (r) => {
        const a = lookups.get(r.account_id);
        if (!a) return '';
        if (a instanceof Error) return h('span', { class: 'muted', title: a.message }, a.status === 404 ? 'gone' : 'error');
        if (a.cluster_id === c.cluster_id) return h('span', { class: 'muted' }, 'this');
        return a.cluster_id ? clusterLink(a.cluster_id) : h('span', { class: 'muted' }, 'none');
      },
    },
  ].filter((col) => col.key !== 'now' || c.status !== 'active'), { // where members are now: dissolved only
    id: 'members',
    rowKey: (r) => r.account_id,
    onRowClick: (r) => { location.hash = `#/account/${enc(r.account_id)}`; },
  });
  members.setRows(c.members.map((m, i) => ({ ...m, rank: i + 1 })));
  return members;
}

/** Words for a lifecycle step (service/store/lifecycle.py), with links to the related clusters. */
const LIFECYCLE_WORDS = {
  grew: 'grew', shrank: 'shrank', changed: 'members changed', unchanged: 'same members',
  born: 'appeared', returned: 'came back', dissolved: 'dissolved',
};

function lifecycleCell(r) {
  if (!r.lifecycle) return h('span', { class: 'muted' }, '—');
  const links = (ids) => ids.flatMap((id, i) => (i ? [', ', clusterLink(id)] : [clusterLink(id)]));
  const related = r.related || [];
  let words;
  if (r.lifecycle === 'merged') words = r.size_before == null ? ['merged from ', ...links(related)] : ['merged into ', ...links(related)];
  else if (r.lifecycle === 'split') words = r.size_before == null ? ['split from ', ...links(related)] : ['split into ', ...links(related)];
  // A kept cluster's related ones were merged into it or split off it (grew: mostly merged).
  else words = [LIFECYCLE_WORDS[r.lifecycle] || r.lifecycle, ...(related.length ? ['; merged or split: ', ...links(related)] : [])];
  return h('span', {}, ...words);
}

function historyTable(c) {
  const history = sortableTable([
    { key: 'run_id', label: 'Run', numeric: true },
    { key: 'at', label: 'When', value: (r) => Date.parse(r.at), render: (r) => fmtTime(r.at) },
    { key: 'change', label: 'Change' },
    { key: 'lifecycle', label: 'What happened', value: (r) => r.lifecycle || '', render: lifecycleCell },
    { key: 'verdict', label: 'Verdict', render: (r) => h('span', {}, badge(r.verdict), r.previous_verdict && r.previous_verdict !== r.verdict ? h('span', { class: 'muted small' }, ` was ${r.previous_verdict}`) : null) },
    { key: 'score', label: 'Score', numeric: true, render: (r) => fmtScore(r.score) },
    { key: 'size', label: 'Size', numeric: true, render: (r) => (r.size_before != null && r.size_before !== r.size ? `${r.size_before} → ${r.size}` : String(r.size)) },
  ], { id: 'history', emptyText: 'No history.' });
  history.setRows(c.history || []);
  return history;
}

/** A member's verdict is its current cluster's. For an active cluster that is this one; the members
 * of a dissolved one are looked up one by one (their verdict and cluster now). */
function lookUpMembers(c, lookups, members, alive) {
  const ids = c.status === 'active' ? [] : c.members.slice(0, MEMBER_LOOKUPS).map((m) => m.account_id);
  view.dataset.members = 'loading';
  pool(ids, LOOKUP_CONCURRENCY, async (aid) => {
    if (!alive()) return;
    try { lookups.set(aid, await api(`/v1/accounts/${enc(aid)}`)); } catch (err) { lookups.set(aid, err); }
  }).then(() => {
    if (!alive()) return;
    members.refresh();
    view.dataset.members = 'ready';
  });
  // Show progress while the lookups run.
  const tick = setInterval(() => {
    if (!alive() || view.dataset.members === 'ready') { clearInterval(tick); return; }
    members.refresh();
  }, 400);
}

export function renderCluster(c, graphResult, account) {
  const ev = c.evidence || {};
  const accountSlot = h('div', { id: 'account-slot' });
  const graphHost = h('div', { class: 'graph', id: 'graph' });
  const graphInfo = h('div', { class: 'graph-info small', id: 'graph-info' });
  const legend = h('ul', { class: 'legend', id: 'graph-legend' });
  const timelineHost = h('div', { class: 'timeline', id: 'timeline' });
  const memberIds = new Set(c.members.map((m) => m.account_id));
  const lookups = new Map(); // account id -> Account or ApiError
  const members = membersTable(c, lookups);
  let cy = null;

  view.replaceChildren(
    accountSlot,
    clusterHeader(c, ev),
    h('div', { class: 'cols' },
      h('section', { class: 'panel graph-panel' },
        h('div', { class: 'panel-head' }, h('h2', {}, 'Graph'),
          h('span', { class: 'tools' },
            h('button', { type: 'button', class: 'link', id: 'graph-fit', onclick: () => cy && cy.fit(undefined, 30) }, 'fit'),
            h('button', { type: 'button', class: 'link', id: 'graph-relayout', onclick: () => cy && layout(cy) }, 're-layout'),
            h('button', { type: 'button', class: 'link', id: 'export-csv', onclick: () => download(`${c.cluster_id}-members.csv`, 'text/csv', membersCsv(c)) }, 'members CSV'),
            graphResult.status === 'fulfilled'
              ? h('button', { type: 'button', class: 'link', id: 'export-gexf', onclick: () => download(`${c.cluster_id}.gexf`, 'application/xml', gexf(c, graphResult.value)) }, 'GEXF')
              : null)),
        graphHost, legend, graphInfo),
      h('section', { class: 'panel evidence', id: 'evidence' }, h('h2', {}, 'Evidence'), evidenceParts(ev, c.size))),
    h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Timeline of the cluster\'s actions')), timelineHost),
    h('div', { class: 'cols' },
      h('section', { class: 'panel' },
        h('div', { class: 'panel-head' }, h('h2', {}, `Members (${c.members.length})`),
          h('span', { class: 'muted small' }, 'click a header to sort, a row to see the account')),
        members.el),
      h('section', { class: 'panel' }, h('h2', {}, 'Verdict history'), historyTable(c).el)));

  if (graphResult.status === 'rejected') {
    graphHost.replaceWith(errorBox(graphResult.reason, 'Graph'));
  } else {
    cy = drawGraph(graphHost, legend, graphInfo, graphResult.value, (nodeId) => {
      location.hash = `#/account/${enc(nodeId)}`;
    }, ev.drawing, ev);
  }
  const timeline = drawTimeline(timelineHost, ev.timeline, c.members.map((m) => m.account_id));

  const select = (accountId) => {
    members.select(accountId);
    if (cy) {
      cy.nodes().removeClass('selected');
      if (accountId) {
        const node = cy.getElementById(accountId);
        if (node && node.length) node.addClass('selected');
      }
    }
    if (timeline) timeline.highlight(accountId);
  };
  const showAccountCard = (acc, id) => {
    if (!acc) { accountSlot.replaceChildren(); return; }
    const back = `#/cluster/${enc(c.cluster_id)}`;
    accountSlot.replaceChildren(acc instanceof Error ? errorBox(acc, `Account ${id}`) : accountCard(acc, back, ev));
  };

  // In-place selections start new navigations (seq), so "still on screen" is this token, not seq.
  const token = {};
  const alive = () => state.current !== null && state.current.token === token;
  const expand = (accountId, neighbours) => (cy ? expandNeighbours(cy, accountId, neighbours) : 0);
  state.current = { clusterId: c.cluster_id, members: memberIds, select, showAccount: showAccountCard, expand, token };
  if (account) {
    showAccountCard(account);
    select(account.account_id);
  }
  setView('cluster', 'ready');
  lookUpMembers(c, lookups, members, alive);
}

// ---------------------------------------------------------------- evidence in words

export function evidenceParts(ev, size) {
  const parts = [];
  const shown = new Set(['summary', 'verdict_reason', 'against', 'shared_entities', 'campaigns', 'creation', 'structure',
    'synchronised_targets', 'timeline', 'strongest_edges']);
  if (Array.isArray(ev.summary) && ev.summary.length) {
    parts.push(h('ul', { class: 'summary', id: 'evidence-summary' }, ev.summary.map((line) => h('li', {}, line))));
  } else {
    parts.push(h('p', { class: 'muted' }, 'No evidence summary for this cluster.'));
  }

  const ents = Array.isArray(ev.shared_entities) ? ev.shared_entities : [];
  if (ents.length) {
    parts.push(h('h3', {}, 'Shared devices, IPs and other identifiers'));
    const t = sortableTable([
      { key: 'type', label: 'Type' },
      { key: 'id', label: 'Identifier', render: (r) => h('span', { class: `mono ${String(r.id).length <= 24 ? 'nowrap' : 'wrap'}` }, r.id) },
      { key: 'members', label: 'Members', numeric: true, value: (r) => r.members ?? r.accounts, render: (r) => `${r.members ?? r.accounts ?? '—'} of ${size}` },
      { key: 'users_total', label: 'Users in all', numeric: true, render: (r) => r.users_total ?? '—' },
      {
        key: 'exclusivity', label: 'Exclusive', numeric: true,
        value: (r) => exclusivity(r),
        render: (r) => {
          const x = exclusivity(r);
          const m = r.members ?? r.accounts;
          const title = r.users_total !== undefined ? `${m} of the ${r.users_total} accounts that ever used it are members` : '';
          return h('span', { class: 'scorecell', title },
            h('span', { class: 'bar' }, h('span', { class: 'fill excl', style: `width:${(100 * (x || 0)).toFixed(1)}%` })),
            h('span', { class: 'num' }, x === null ? '—' : fmtPct(x)));
        },
      },
      {
        key: 'first_seen', label: 'Seen', value: (r) => r.first_seen, cls: 'small nowrap',
        render: (r) => r.first_seen
          ? h('span', { title: `${fmtTime(r.first_seen)} → ${fmtTime(r.last_seen)}` }, dateRange(r.first_seen, r.last_seen))
          : '—',
      },
    ], { id: 'shared-entities' });
    t.setRows(ents);
    parts.push(t.el);
  }

  const camps = Array.isArray(ev.campaigns) ? ev.campaigns : [];
  if (camps.length) {
    const total = ev.synchronised_targets || camps.length;
    parts.push(h('h3', {}, `Synchronised campaigns (${total} target${total === 1 ? '' : 's'}${total > camps.length ? `, top ${camps.length}` : ''})`));
    const t = sortableTable([
      { key: 'action', label: 'Action' },
      { key: 'target', label: 'Target', render: (r) => h('span', {}, h('span', { class: 'muted' }, `${r.target_type || ''} `), h('span', { class: 'mono' }, r.target)) },
      { key: 'members', label: 'Members', numeric: true },
      { key: 'start', label: 'Window', value: (r) => r.start, render: (r) => `${fmtTime(r.start)} · ${fmtDuration(r.window_seconds ?? (Date.parse(r.end) - Date.parse(r.start)) / 1000)}` },
    ], { id: 'campaigns' });
    t.setRows(camps);
    parts.push(t.el);
  }

  const cr = ev.creation;
  if (cr && typeof cr === 'object') {
    parts.push(h('h3', {}, 'Account creation'),
      h('p', { id: 'creation' },
        `Members were created between ${fmtTime(cr.first)} and ${fmtTime(cr.last)}`,
        cr.span_hours !== undefined ? ` (a span of ${fmtDuration(cr.span_hours * 3600)})` : '',
        cr.median ? `; median ${fmtTime(cr.median)}.` : '.'));
  }

  const st = ev.structure;
  if (st && typeof st === 'object') {
    parts.push(h('h3', {}, 'Structure'));
    const share = st.relation_weight_share || {};
    const keys = Object.keys(share).filter((k) => share[k] > 0);
    if (keys.length) {
      const tot = keys.reduce((a, k) => a + share[k], 0) || 1;
      parts.push(h('div', { class: 'sharebar', title: 'share of the internal link weight by relation' },
        keys.map((k) => h('span', { style: `width:${(100 * share[k] / tot).toFixed(2)}%;background:${relationGroup(k).color}`, title: `${k}: ${fmtPct(share[k])}` }))),
      h('p', { class: 'small muted' }, keys.map((k) => `${k} ${fmtPct(share[k])}`).join(' · ')));
    }
    parts.push(h('p', { class: 'small' },
      `Internal link density ${fmtScore(st.internal_density)}; conductance ${fmtScore(st.conductance)} (lower = more closed off).`));
  }

  const rest = Object.fromEntries(Object.entries(ev).filter(([k]) => !shown.has(k)));
  if (Object.keys(rest).length) {
    parts.push(h('details', {}, h('summary', {}, 'Other evidence'), h('pre', { class: 'small' }, JSON.stringify(rest, null, 2))));
  }
  return parts;
}

export function exclusivity(r) {
  if (typeof r.exclusivity === 'number') return r.exclusivity;
  const m = r.members ?? r.accounts;
  return r.users_total ? m / r.users_total : null;
}


// ---------------------------------------------------------------- decisions

function decisionState(d) {
  const state = (d && d.state) || 'undecided';
  return h('span', { id: 'decision-state', class: `decision d-${state}` },
    state, d && d.needs_review ? h('span', { class: 'status s-review' }, ' needs review: a later run disagrees') : null);
}

/** Confirm or reject the cluster with a reason (investigator keys; others get the API's 403). */
function decisionForm(c) {
  const reason = h('input', { id: 'decision-reason', type: 'text', maxlength: 200, placeholder: 'reason (required)' });
  const note = h('input', { id: 'decision-note', type: 'text', maxlength: 4000, placeholder: 'note (optional)' });
  const status = h('span', { id: 'decision-status', class: 'small muted' });
  const memberOnly = h('input', { id: 'decision-member-only', type: 'checkbox' });
  const send = async (decision) => {
    const text = reason.value.trim();
    if (!text) { status.textContent = 'Give a reason first.'; reason.focus(); return; }
    const card = document.getElementById('account-card');
    const selected = card ? card.dataset.account : null;
    if (memberOnly.checked && !selected) { status.textContent = 'Select a member first (a row or a node).'; return; }
    status.textContent = 'Saving…';
    const body = { decision, reason: text, note: note.value.trim() || null };
    if (memberOnly.checked) body.members = [selected];
    try {
      await api(`/v1/clusters/${enc(c.cluster_id)}/decisions`, body);
      const fresh = await api(`/v1/clusters/${enc(c.cluster_id)}`);
      $('#decision-state').replaceWith(decisionState(fresh.decision));
      const whom = body.members ? ` for ${body.members[0]}` : '';
      status.textContent = `Recorded: ${decision}${whom} (${fresh.decisions.length} decision${fresh.decisions.length === 1 ? '' : 's'} in all).`;
      reason.value = '';
      note.value = '';
    } catch (err) {
      status.textContent = `Not recorded: ${err.message}`;
    }
  };
  return h('form', { class: 'decide', id: 'decision-form', onsubmit: (e) => e.preventDefault() },
    reason, note,
    h('button', { type: 'button', id: 'decide-confirm', onclick: () => send('confirm') }, 'Confirm ring'),
    h('button', { type: 'button', id: 'decide-reject', class: 'secondary', onclick: () => send('reject') }, 'Reject'),
    h('label', { class: 'small', title: 'decide for the account shown in the card above, not the whole cluster' },
      memberOnly, ' only the selected member'),
    status);
}


// ---------------------------------------------------------------- search by identifier or target

/** The clusters whose evidence names an identifier (IP, device, phone) or a synchronised target. */
export async function showEntity(id, mine) {
  dropGraph();
  state.current = null;
  loading('entity', `Looking up ${id}…`);
  const found = await api(`/v1/entities/${enc(id)}`);
  if (stale(mine)) return;
  const table = sortableTable([
    { key: 'cluster_id', label: 'Cluster', value: (r) => r.cluster.cluster_id, render: (r) => clusterLink(r.cluster.cluster_id) },
    { key: 'verdict', label: 'Verdict', value: (r) => r.cluster.verdict, render: (r) => badge(r.cluster.verdict) },
    { key: 'kind', label: 'As', render: (r) => (r.kind === 'shared' ? `shared ${r.entity_type}` : `synchronised target (${r.entity_type})`) },
    { key: 'members', label: 'Members on it', numeric: true, render: (r) => `${r.members} of ${r.cluster.size}` },
    {
      key: 'member_ids', label: 'Accounts', value: (r) => (r.member_ids || []).length,
      render: (r) => {
        const ids = r.member_ids || [];
        if (!ids.length) return h('span', { class: 'muted small' }, 'not listed (benign cluster)');
        const shown = ids.slice(0, 12).flatMap((a, i) => (i ? [' ', accountLink(a)] : [accountLink(a)]));
        return h('span', { class: 'small' }, ...shown, ids.length > 12 ? ` +${ids.length - 12} more` : '');
      },
    },
    { key: 'users_total', label: 'Users in all', numeric: true, render: (r) => (r.users_total ?? '') },
    { key: 'status', label: 'Status', value: (r) => r.cluster.status, render: (r) => h('span', { class: `status s-${r.cluster.status}` }, r.cluster.status) },
    { key: 'dataset', label: 'Dataset', value: (r) => r.cluster.dataset, render: (r) => r.cluster.dataset, cls: 'mono small' },
  ], {
    id: 'entity-clusters',
    rowKey: (r) => r.cluster.cluster_id,
    onRowClick: (r) => { location.hash = `#/cluster/${enc(r.cluster.cluster_id)}`; },
  });
  table.setRows(found.clusters);
  view.replaceChildren(h('section', { class: 'panel' },
    h('div', { class: 'panel-head' }, h('h1', {}, 'Identifier ', h('span', { class: 'mono', id: 'entity-id' }, id))),
    h('p', { class: 'muted small' }, 'Clusters whose evidence names it: as an identifier their members share, or as a target they acted on in sync.'),
    table.el));
  setView('entity', 'ready');
}


// ---------------------------------------------------------------- exports

/** Saves ``text`` as a file named ``name`` (no server round trip: the page has the data). */
function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const csvCell = (v) => {
  const text = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** The cluster's members as CSV: cluster_id, verdict, account_id, score, decision. */
export function membersCsv(c) {
  const rows = [['cluster_id', 'verdict', 'account_id', 'score', 'decision']];
  for (const m of c.members) rows.push([c.cluster_id, c.verdict, m.account_id, m.score, m.decision ?? '']);
  return rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

const xml = (v) => String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The cluster's graph as GEXF 1.3 (Gephi): accounts with their score, links with relation and weight. */
export function gexf(c, graph) {
  const nodes = graph.nodes.map((n) =>
    `      <node id="${xml(n.id)}" label="${xml(n.id)}"><attvalues><attvalue for="score" value="${n.score ?? 0}"/></attvalues></node>`);
  const edges = graph.edges.map((e, i) =>
    `      <edge id="e${i}" source="${xml(e.source)}" target="${xml(e.target)}" weight="${e.weight ?? 1}" label="${xml(e.relation)}"/>`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<gexf xmlns="http://gexf.net/1.3" version="1.3">',
    `  <meta><creator>ringscope</creator><description>cluster ${xml(c.cluster_id)} (${xml(c.verdict)})</description></meta>`,
    '  <graph defaultedgetype="undirected">',
    '    <attributes class="node"><attribute id="score" title="score" type="double"/></attributes>',
    '    <nodes>', ...nodes, '    </nodes>',
    '    <edges>', ...edges, '    </edges>',
    '  </graph>',
    '</gexf>',
    '',
  ].join('\n');
}
