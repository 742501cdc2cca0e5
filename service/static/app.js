/* ringscope investigator page: a small hash-routed client of the /v1 JSON API.
 *
 * Routes: #/ (verdict list, filters in the hash: #/?verdict=ring&min_size=5&limit=50),
 *         #/cluster/ID, #/account/ID.
 * Every string from the API goes into the DOM as text (never as HTML): account ids and targets
 * come from event logs.
 */
'use strict';

(() => {
  const KEY_STORE = 'ringscope.apiKey';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const LIST_LIMIT = 50;
  const MEMBER_LOOKUPS = 200; // members whose current verdict is looked up one by one
  const LOOKUP_CONCURRENCY = 4;

  // Relation groups of the graph: colour, legend label, which relation names belong.
  const RELATION_GROUPS = [
    { key: 'device', label: 'shared device', color: '#d62728', test: (r) => r === 'device' },
    { key: 'ip', label: 'shared IP / identifier at the same time', color: '#ff7f0e', test: (r) => r === 'ip' || r.startsWith('ip_') || r === 'id_time' },
    { key: 'coaction', label: 'co-action (same targets, same time)', color: '#7b3fb8', test: (r) => /^co(action|[_-])/.test(r) },
    { key: 'interaction', label: 'interaction (follow, reply, ...)', color: '#1f77b4', test: (r) => r === 'interaction' || r.startsWith('interaction') },
    { key: 'other', label: 'other identifiers (email domain, phone, ...)', color: '#2ca02c', test: () => true },
  ];
  const ACTION_COLORS = {
    like: '#d62728', follow: '#1f77b4', share: '#ff7f0e', comment: '#2ca02c', reply: '#17becf',
    post: '#7b3fb8', login: '#8c8c8c', signup: '#222222', message: '#e377c2', view: '#bcbd22',
  };
  const PALETTE = ['#8c564b', '#e377c2', '#bcbd22', '#17becf', '#393b79', '#637939', '#843c39', '#7b4173'];

  // ---------------------------------------------------------------- DOM helpers

  /** h('div', {class: 'x', onclick: f}, 'text', node, [more]) — text children become text nodes. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    appendAll(el, children);
    return el;
  }

  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    appendAll(el, children);
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }

  function appendAll(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  const $ = (sel, root = document) => root.querySelector(sel);
  const enc = encodeURIComponent;

  // ---------------------------------------------------------------- formatting

  const fmtScore = (x) => (x === null || x === undefined || Number.isNaN(x) ? '—' : Number(x).toFixed(3));
  const fmtPct = (x) => (x === null || x === undefined ? '—' : `${Math.round(100 * x)}%`);

  function fmtTime(value) {
    if (value === null || value === undefined || value === '') return '—';
    const d = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  }

  function fmtDate(value) {
    const t = fmtTime(value);
    return t === '—' ? t : t.slice(0, 10);
  }

  /** "2026-01-08 → 01-30" (the year once when both ends share it). */
  function dateRange(a, b) {
    const x = fmtDate(a);
    const y = fmtDate(b);
    if (x === y) return x;
    return x.slice(0, 4) === y.slice(0, 4) && x !== '—' ? `${x} → ${y.slice(5)}` : `${x} → ${y}`;
  }

  function fmtDuration(seconds) {
    const s = Math.max(0, Math.round(Number(seconds) || 0));
    if (s < 120) return `${s} s`;
    if (s < 7200) return `${Math.round(s / 60)} min`;
    if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
    return `${(s / 86400).toFixed(1)} days`;
  }

  /** "verdict (was suspicious)": the previous verdict only where it differs. */
  function wasText(change, r) {
    return r.previous_verdict && r.previous_verdict !== r.verdict ? `${change} (was ${r.previous_verdict})` : change;
  }

  function badge(verdict) {
    const v = verdict || 'unknown';
    return h('span', { class: `badge v-${v}`, dataset: { verdict: v } }, v);
  }

  function accountLink(id) {
    return h('a', { href: `#/account/${enc(id)}`, class: 'mono' }, id);
  }

  function clusterLink(id) {
    return h('a', { href: `#/cluster/${enc(id)}`, class: 'mono' }, id);
  }

  function scoreBar(score) {
    const w = score === null || score === undefined ? 0 : Math.max(0, Math.min(1, score));
    return h('span', { class: 'scorecell' },
      h('span', { class: 'bar' }, h('span', { class: 'fill', style: `width:${(100 * w).toFixed(1)}%` })),
      h('span', { class: 'num' }, fmtScore(score)));
  }

  function relationGroup(relation) {
    const r = String(relation || '').toLowerCase();
    return RELATION_GROUPS.find((g) => g.test(r));
  }

  function actionColor(action, index) {
    return ACTION_COLORS[action] || PALETTE[index % PALETTE.length];
  }

  // ---------------------------------------------------------------- the API key

  function getKey() {
    try { return localStorage.getItem(KEY_STORE) || ''; } catch { return ''; }
  }

  function setKey(key) {
    try {
      if (key) localStorage.setItem(KEY_STORE, key);
      else localStorage.removeItem(KEY_STORE);
    } catch { /* storage disabled: the key lives for this page only */ memoryKey = key; }
    showKeyState();
  }
  let memoryKey = '';
  const currentKey = () => getKey() || memoryKey;

  function showKeyState() {
    const key = currentKey();
    $('#key-label').textContent = key ? `API key …${key.slice(-4)}` : 'no API key';
    $('#key-forget').hidden = !key;
  }

  function askForKey(reason) {
    const panel = $('#key-panel');
    panel.hidden = false;
    const why = $('#key-reason');
    why.hidden = !reason;
    why.textContent = reason || '';
    $('#key-input').value = '';
    $('#key-input').focus();
  }

  function takeKeyFromUrl() {
    const params = new URLSearchParams(location.search);
    if (!params.has('key')) return;
    setKey(params.get('key').trim());
    params.delete('key');
    const rest = params.toString();
    // Drop the key from the address bar and the history.
    history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
  }

  // ---------------------------------------------------------------- the API

  class ApiError extends Error {
    constructor(status, detail, path) {
      super(detail);
      this.status = status;
      this.path = path;
    }
  }

  function detailText(body) {
    if (!body || body.detail === undefined) return '';
    const d = body.detail;
    if (typeof d === 'string') return d;
    if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).slice(1).join('.')}: ${e.msg}`).join('; ');
    return JSON.stringify(d);
  }

  async function api(path) {
    const key = currentKey();
    if (!key) throw new ApiError(401, 'no API key yet', path);
    let resp;
    try {
      resp = await fetch(path, { headers: { 'X-API-Key': key, Accept: 'application/json' } });
    } catch {
      throw new ApiError(0, 'cannot reach the ringscope service', path);
    }
    let body = null;
    try { body = await resp.json(); } catch { /* not JSON */ }
    if (!resp.ok) throw new ApiError(resp.status, detailText(body) || resp.statusText, path);
    return body;
  }

  /** A visible error box; 401 also opens the key panel. */
  function errorBox(err, what) {
    const status = err instanceof ApiError ? err.status : -1;
    let title;
    let text = err && err.message ? err.message : String(err);
    const extra = [];
    if (status === 401) {
      title = 'API key needed';
      text = currentKey() ? `The service refused the API key (${text}). Paste a valid key.` : 'Paste an API key to start.';
      askForKey(currentKey() ? `The service refused this key: ${err.message}` : '');
    } else if (status === 403) {
      title = 'Not allowed';
      text = `${text}. Cluster details, members and graphs need an investigator key.`;
      extra.push(h('button', { type: 'button', class: 'link', onclick: () => askForKey('') }, 'use another key'));
    } else if (status === 404) {
      title = `${what || 'Item'} not found`;
    } else if (status === 0) {
      title = 'Service unreachable';
    } else if (status === 503) {
      title = 'Verdict store unavailable';
    } else if (status === 422) {
      title = 'Bad request';
    } else {
      title = status > 0 ? `Error ${status}` : 'Error';
    }
    return h('div', { class: `errorbox ${status === 404 ? 'not-found' : ''}`, role: 'alert', dataset: { status: String(status) } },
      h('strong', {}, title), ' ', h('span', {}, text), ' ', extra);
  }

  /** Runs fn(item) over items with at most `limit` in flight. */
  async function pool(items, limit, fn) {
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  }

  // ---------------------------------------------------------------- sortable tables

  /**
   * columns: [{key, label, value(row) -> sortable, render(row) -> node|string, numeric, cls}]
   * Returns {el, setRows(rows), addRows(rows), refresh(), rowFor(key), select(key)}.
   */
  function sortableTable(columns, { rowKey, onRowClick, caption, id, emptyText } = {}) {
    let rows = [];
    let sort = null; // {key, dir}
    let selectedKey = null;
    const thead = h('thead');
    const tbody = h('tbody');
    const table = h('table', { class: `grid ${onRowClick ? 'clickable' : ''}`, id }, caption ? h('caption', {}, caption) : null, thead, tbody);
    const headRow = h('tr');
    for (const col of columns) {
      const th = h('th', { scope: 'col', class: col.numeric ? 'num' : '', dataset: { key: col.key }, tabindex: '0', title: 'click to sort' },
        col.label, h('span', { class: 'sort-ind' }));
      const act = () => {
        sort = sort && sort.key === col.key
          ? { key: col.key, dir: -sort.dir }
          : { key: col.key, dir: col.numeric ? -1 : 1 };
        render();
      };
      th.addEventListener('click', act);
      th.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); act(); } });
      headRow.append(th);
    }
    thead.append(headRow);

    function sorted() {
      if (!sort) return rows;
      const col = columns.find((c) => c.key === sort.key);
      const val = col.value || ((r) => r[col.key]);
      return rows
        .map((r, i) => [r, i])
        .sort(([a, i], [b, j]) => {
          const x = val(a);
          const y = val(b);
          const nx = x === null || x === undefined;
          const ny = y === null || y === undefined;
          if (nx || ny) return nx === ny ? i - j : nx ? 1 : -1; // blanks last
          const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
          return c ? c * sort.dir : i - j;
        })
        .map(([r]) => r);
    }

    function render() {
      for (const th of headRow.children) {
        const on = sort && th.dataset.key === sort.key;
        th.setAttribute('aria-sort', on ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none');
        th.querySelector('.sort-ind').textContent = on ? (sort.dir > 0 ? ' ▲' : ' ▼') : '';
      }
      const body = sorted().map((r) => {
        const key = rowKey ? rowKey(r) : '';
        const tr = h('tr', { dataset: { key }, class: key && key === selectedKey ? 'selected' : null },
          columns.map((c) => h('td', { class: `${c.numeric ? 'num' : ''} ${c.cls || ''}`, dataset: { col: c.key } },
            c.render ? c.render(r) : r[c.key] ?? '—')));
        if (onRowClick) {
          tr.tabIndex = 0;
          tr.addEventListener('click', (e) => { if (!e.target.closest('a')) onRowClick(r); });
          tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') onRowClick(r); });
        }
        return tr;
      });
      if (!body.length && emptyText) body.push(h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, emptyText)));
      tbody.replaceChildren(...body);
    }

    render();
    return {
      el: h('div', { class: 'table-wrap' }, table),
      setRows(r) { rows = r.slice(); render(); },
      addRows(r) { rows = rows.concat(r); render(); },
      refresh: render,
      rowFor(key) { return [...tbody.children].find((tr) => tr.dataset.key === key); },
      select(key) {
        selectedKey = key;
        for (const tr of tbody.children) tr.classList.toggle('selected', key !== null && tr.dataset.key === key);
      },
    };
  }

  // ---------------------------------------------------------------- the router

  const view = $('#view');
  let seq = 0; // each navigation's number: late answers of older ones are dropped
  let current = null; // the cluster on screen: {clusterId, members: Set, select(id|null)}

  function parseHash() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const q = raw.indexOf('?');
    const path = q >= 0 ? raw.slice(0, q) : raw;
    const params = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
    let parts;
    try { parts = path.split('/').filter(Boolean).map(decodeURIComponent); } catch { parts = ['?']; }
    return { parts, params };
  }

  function setView(name, state) {
    view.dataset.view = name;
    view.dataset.state = state;
  }

  async function route() {
    const mine = ++seq;
    const { parts, params } = parseHash();
    if (!currentKey()) {
      dropGraph();
      current = null;
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
      } else {
        dropGraph();
        current = null;
        setView('unknown', 'error');
        view.replaceChildren(errorBox(new ApiError(404, `no page ${location.hash}`), 'Page'));
      }
    } catch (err) {
      if (mine !== seq) return;
      if (!(err instanceof ApiError)) console.error(err);
      dropGraph();
      current = null;
      setView(view.dataset.view || 'unknown', 'error');
      view.replaceChildren(errorBox(err));
    }
  }

  const stale = (mine) => mine !== seq;

  let liveCy = null; // the graph on screen: destroyed when the view changes, or it keeps eating CPU

  function dropGraph() {
    if (liveCy) {
      liveCy.destroy();
      liveCy = null;
      window.__cy = undefined;
    }
  }

  function loading(name, text) {
    dropGraph();
    delete view.dataset.members;
    setView(name, 'loading');
    view.replaceChildren(h('p', { class: 'loading' }, text));
  }

  // ---------------------------------------------------------------- the verdict list

  async function showList(params, mine) {
    current = null;
    const verdict = params.has('verdict') ? params.get('verdict') : 'ring';
    const minSize = params.get('min_size') || '';
    const limit = Math.max(1, Math.min(1000, parseInt(params.get('limit'), 10) || LIST_LIMIT));
    const query = new URLSearchParams();
    if (verdict) query.set('verdict', verdict);
    if (minSize) query.set('min_size', minSize);
    query.set('limit', String(limit));

    loading('list', 'Loading verdicts…');
    const page = await api(`/v1/clusters?${query}`);
    if (stale(mine)) return;

    const verdictSelect = h('select', { name: 'verdict', id: 'filter-verdict' },
      [['ring', 'ring'], ['suspicious', 'suspicious'], ['benign', 'benign'], ['', 'any verdict']].map(([v, label]) =>
        h('option', { value: v, selected: v === verdict }, label)));
    const sizeInput = h('input', { type: 'number', min: '1', name: 'min_size', id: 'filter-min-size', value: minSize, placeholder: 'any' });
    const filters = h('form', { class: 'filters', id: 'list-filters' },
      h('label', {}, 'Verdict ', verdictSelect),
      h('label', {}, 'Min size ', sizeInput),
      h('button', { type: 'submit' }, 'Apply'));
    filters.addEventListener('submit', (e) => {
      e.preventDefault();
      const p = new URLSearchParams();
      p.set('verdict', verdictSelect.value);
      if (sizeInput.value) p.set('min_size', sizeInput.value);
      if (params.get('limit')) p.set('limit', params.get('limit'));
      const target = `#/?${p}`;
      if (location.hash === target) route(); else location.hash = target;
    });

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

    const title = verdict ? `${verdict[0].toUpperCase()}${verdict.slice(1)} verdicts` : 'All verdicts';
    view.replaceChildren(h('section', { class: 'panel' },
      h('div', { class: 'panel-head' }, h('h1', {}, title), count),
      h('p', { class: 'muted small' },
        'Clusters in the order of their latest change (oldest first, as the API pages them); click a header to sort what is loaded, a row to open the cluster.'),
      filters, table.el, h('div', { class: 'more-row' }, more)));
    setView('list', 'ready');
  }

  // ---------------------------------------------------------------- account view

  async function showAccount(id, mine) {
    if (current && current.members.has(id)) {
      // A member of the cluster on screen: select it in place (no reload, no re-layout).
      current.select(id);
      const acc = await api(`/v1/accounts/${enc(id)}`).catch((err) => err);
      if (stale(mine)) return;
      current.showAccount(acc, id);
      return;
    }
    current = null;
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

  function accountCard(acc, closeable) {
    const card = h('section', { class: 'panel account-card', id: 'account-card', dataset: { account: acc.account_id } },
      h('div', { class: 'panel-head' },
        h('h2', {}, 'Account ', h('span', { class: 'mono' }, acc.account_id)),
        closeable ? h('a', { href: closeable, class: 'small' }, 'close') : null),
      h('dl', { class: 'facts' },
        fact('Verdict', badge(acc.verdict)),
        fact('Score', scoreBar(acc.score)),
        fact('Cluster', acc.cluster_id ? clusterLink(acc.cluster_id) : 'none'),
        fact('Run', String(acc.run_id))));
    return card;
  }

  function fact(label, value) {
    return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value));
  }

  // ---------------------------------------------------------------- cluster view

  async function showCluster(id, account, mine) {
    if (!account && current && current.clusterId === id) {
      current.select(null);
      current.showAccount(null);
      return;
    }
    current = null;
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

  function renderCluster(c, graphResult, account) {
    const ev = c.evidence || {};
    const accountSlot = h('div', { id: 'account-slot' });
    const graphHost = h('div', { class: 'graph', id: 'graph' });
    const graphInfo = h('div', { class: 'graph-info small', id: 'graph-info' });
    const legend = h('ul', { class: 'legend', id: 'graph-legend' });
    const timelineHost = h('div', { class: 'timeline', id: 'timeline' });
    const memberIds = new Set(c.members.map((m) => m.account_id));
    const lookups = new Map(); // account id -> Account or ApiError

    const header = h('section', { class: 'panel cluster-head' },
      h('div', { class: 'panel-head' },
        h('h1', {}, 'Cluster ', h('span', { class: 'mono', id: 'cluster-id' }, c.cluster_id), ' ', badge(c.verdict),
          c.status !== 'active' ? h('span', { class: `status s-${c.status}` }, c.status) : null)),
      ev.verdict_reason ? h('p', { class: 'muted' }, `Why: ${ev.verdict_reason}`) : null,
      h('dl', { class: 'facts' },
        fact('Score', scoreBar(c.score)),
        fact('Size', h('span', { id: 'cluster-size' }, String(c.size))),
        fact('Model', h('span', { class: 'mono' }, c.model_version)),
        fact('Detected', fmtTime(c.detected_at)),
        fact('First seen', `run ${c.first_seen_run}, ${fmtTime(c.first_seen_at)}`),
        fact('Last change', `${wasText(c.change, c)} in run ${c.updated_run}`)));

    // Members.
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

    function verdictOf(accountId) {
      if (c.status === 'active') return c.verdict;
      const a = lookups.get(accountId);
      return a && !(a instanceof Error) ? a.verdict : null;
    }

    // History.
    const history = sortableTable([
      { key: 'run_id', label: 'Run', numeric: true },
      { key: 'at', label: 'When', value: (r) => Date.parse(r.at), render: (r) => fmtTime(r.at) },
      { key: 'change', label: 'Change' },
      { key: 'verdict', label: 'Verdict', render: (r) => h('span', {}, badge(r.verdict), r.previous_verdict && r.previous_verdict !== r.verdict ? h('span', { class: 'muted small' }, ` was ${r.previous_verdict}`) : null) },
      { key: 'score', label: 'Score', numeric: true, render: (r) => fmtScore(r.score) },
      { key: 'size', label: 'Size', numeric: true },
    ], { id: 'history', emptyText: 'No history.' });
    history.setRows(c.history || []);

    view.replaceChildren(
      accountSlot,
      header,
      h('div', { class: 'cols' },
        h('section', { class: 'panel graph-panel' },
          h('div', { class: 'panel-head' }, h('h2', {}, 'Graph'),
            h('span', { class: 'tools' },
              h('button', { type: 'button', class: 'link', id: 'graph-fit', onclick: () => cy && cy.fit(undefined, 30) }, 'fit'),
              h('button', { type: 'button', class: 'link', id: 'graph-relayout', onclick: () => cy && layout(cy) }, 're-layout'))),
          graphHost, legend, graphInfo),
        h('section', { class: 'panel evidence', id: 'evidence' }, h('h2', {}, 'Evidence'), evidenceParts(ev, c.size))),
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Timeline of the cluster\'s actions')), timelineHost),
      h('div', { class: 'cols' },
        h('section', { class: 'panel' },
          h('div', { class: 'panel-head' }, h('h2', {}, `Members (${c.members.length})`),
            h('span', { class: 'muted small' }, 'click a header to sort, a row to see the account')),
          members.el),
        h('section', { class: 'panel' }, h('h2', {}, 'Verdict history'), history.el)));

    // Graph.
    let cy = null;
    if (graphResult.status === 'rejected') {
      graphHost.replaceWith(errorBox(graphResult.reason, 'Graph'));
    } else {
      cy = drawGraph(graphHost, legend, graphInfo, graphResult.value, (nodeId) => {
        location.hash = `#/account/${enc(nodeId)}`;
      });
    }

    // Timeline.
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
      accountSlot.replaceChildren(acc instanceof Error ? errorBox(acc, `Account ${id}`) : accountCard(acc, back));
    };

    // In-place selections start new navigations (seq), so "still on screen" is this token, not seq.
    const token = {};
    const alive = () => current !== null && current.token === token;
    current = { clusterId: c.cluster_id, members: memberIds, select, showAccount: showAccountCard, token };
    if (account) {
      showAccountCard(account);
      select(account.account_id);
    }
    setView('cluster', 'ready');

    // A member's verdict is its current cluster's. For an active cluster that is this one; the
    // members of a dissolved one are looked up one by one (their verdict and cluster now).
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

  // ---------------------------------------------------------------- evidence in words

  function evidenceParts(ev, size) {
    const parts = [];
    const shown = new Set(['summary', 'verdict_reason', 'shared_entities', 'campaigns', 'creation', 'structure',
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

  function exclusivity(r) {
    if (typeof r.exclusivity === 'number') return r.exclusivity;
    const m = r.members ?? r.accounts;
    return r.users_total ? m / r.users_total : null;
  }

  // ---------------------------------------------------------------- the graph (cytoscape)

  function layout(cy) {
    const n = cy.nodes().length;
    const pairs = new Set(cy.edges().map((e) => [e.data('source'), e.data('target')].sort().join('\u0000')));
    const density = n > 1 ? (2 * pairs.size) / (n * (n - 1)) : 0;
    if (n >= 4 && n <= 80 && density >= 0.4) {
      // Near-cliques (typical of rings) show nothing in a force layout: put them on a circle.
      cy.layout({ name: 'circle', animate: false, fit: true, padding: 30, sort: (a, b) => b.data('score') - a.data('score') }).run();
    } else {
      cy.layout({
        name: 'cose', animate: false, randomize: true, fit: true, padding: 30,
        nodeRepulsion: () => 12000, idealEdgeLength: () => 70, edgeElasticity: () => 60, nodeOverlap: 20,
        numIter: n > 300 ? 400 : 1000,
      }).run();
    }
    // Small clusters: don't blow the nodes up to fill the box.
    if (cy.zoom() > 1.3) {
      cy.zoom(1.3);
      cy.center();
    }
  }

  function drawGraph(host, legend, info, graph, onSelect) {
    const ids = new Set(graph.nodes.map((n) => n.id));
    const edges = graph.edges.filter((e) => ids.has(e.source) && ids.has(e.target) && e.source !== e.target);
    const counts = new Map();
    for (const e of edges) {
      const g = relationGroup(e.relation).key;
      counts.set(g, (counts.get(g) || 0) + 1);
    }
    info.textContent = `${graph.nodes.length} accounts, ${edges.length} links. Drag to move, scroll to zoom, click an account to see it. Node colour: account score (blue low, red high).`;

    const hidden = new Set();
    legend.replaceChildren(...RELATION_GROUPS.map((g) => {
      const n = counts.get(g.key) || 0;
      const li = h('li', { class: n ? '' : 'none', dataset: { group: g.key }, title: n ? 'click to hide or show' : '' },
        h('span', { class: 'swatch', style: `background:${g.color}` }), `${g.label} `, h('span', { class: 'muted' }, `(${n})`));
      if (n) {
        li.addEventListener('click', () => {
          if (!cy) return;
          if (hidden.has(g.key)) hidden.delete(g.key); else hidden.add(g.key);
          li.classList.toggle('off', hidden.has(g.key));
          cy.edges(`[group = "${g.key}"]`).toggleClass('hidden', hidden.has(g.key));
        });
      }
      return li;
    }));

    if (typeof window.cytoscape !== 'function') {
      host.replaceChildren(h('div', { class: 'errorbox', role: 'alert' },
        h('strong', {}, 'Graph library missing.'), ' The page was served without service/static/vendor/cytoscape.min.js: run web/build.sh.'));
      return null;
    }
    const elements = [
      ...graph.nodes.map((n) => ({
        data: { id: n.id, label: n.id.length > 14 ? `${n.id.slice(0, 12)}…` : n.id, score: n.score ?? 0 },
      })),
      ...edges.map((e, i) => {
        const g = relationGroup(e.relation);
        return {
          data: {
            id: `e${i}`, source: e.source, target: e.target, relation: e.relation, group: g.key, color: g.color,
            weight: e.weight ?? 0.3, dashed: ['ip_time', 'id_time'].includes(String(e.relation).toLowerCase()) ? 'dashed' : 'solid',
          },
        };
      }),
    ];
    // Dense clusters (rings are often near-cliques) get straight, thin, faint edges.
    const dense = edges.length > 120;
    const many = graph.nodes.length > 60; // smaller nodes; labels only when zoomed in
    const edgeOpacity = Math.max(0.18, Math.min(0.7, 60 / Math.max(1, edges.length)));
    const cy = window.cytoscape({
      container: host,
      elements,
      minZoom: 0.1,
      maxZoom: 5,
      style: [
        {
          selector: 'node',
          style: {
            'background-color': 'mapData(score, 0, 1, #6baed6, #cb181d)',
            width: many ? 'mapData(score, 0, 1, 7, 13)' : 'mapData(score, 0, 1, 14, 26)',
            height: many ? 'mapData(score, 0, 1, 7, 13)' : 'mapData(score, 0, 1, 14, 26)',
            label: 'data(label)',
            'font-size': many ? 5 : 8,
            'min-zoomed-font-size': many ? 7 : 0,
            'text-background-color': '#fbfcfd',
            'text-background-opacity': 0.7,
            'text-background-padding': 1,
            color: '#333',
            'text-valign': 'bottom',
            'text-margin-y': 2,
            'border-width': 1,
            'border-color': '#fff',
          },
        },
        { selector: 'node.selected', style: { 'border-width': 4, 'border-color': '#111', 'z-index': 10 } },
        { selector: 'node.selected, node:active', style: { 'font-weight': 'bold', 'font-size': 10, 'min-zoomed-font-size': 0 } },
        {
          selector: 'edge',
          style: {
            'line-color': 'data(color)',
            width: dense ? 'mapData(weight, 0, 1, 0.6, 2.5)' : 'mapData(weight, 0, 1, 1, 5)',
            opacity: edgeOpacity,
            'curve-style': dense ? 'haystack' : 'bezier',
            'haystack-radius': 0.6,
            'line-style': 'data(dashed)',
          },
        },
        { selector: 'edge.hidden', style: { display: 'none' } },
      ],
    });
    layout(cy);
    cy.on('tap', 'node', (evt) => onSelect(evt.target.id()));
    cy.on('mouseover', 'node', (evt) => { host.title = `${evt.target.id()} · score ${fmtScore(evt.target.data('score'))}`; });
    cy.on('mouseover', 'edge', (evt) => { host.title = `${evt.target.data('relation')} · weight ${fmtScore(evt.target.data('weight'))}`; });
    dropGraph();
    liveCy = cy;
    window.__cy = cy; // for tests and the console
    return cy;
  }

  // ---------------------------------------------------------------- the timeline (SVG scatter)

  const TIME_STEPS = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400];

  function drawTimeline(host, tl, memberOrder) {
    const n = tl && Array.isArray(tl.timestamp) ? tl.timestamp.length : 0;
    if (!n) {
      host.append(h('p', { class: 'muted' }, 'No timeline for this cluster (timelines are kept for flagged clusters only).'));
      return null;
    }
    const events = [];
    for (let i = 0; i < n; i++) {
      const t = Number(tl.timestamp[i]);
      if (!Number.isFinite(t)) continue;
      events.push({
        account: String(tl.account_id[i]), t, action: String(tl.action ? tl.action[i] : ''),
        targetType: tl.target_type ? String(tl.target_type[i]) : '', target: tl.target ? String(tl.target[i]) : '',
      });
    }
    // Rows: accounts in order of their first action in the timeline.
    const first = new Map();
    for (const e of events) if (!first.has(e.account) || e.t < first.get(e.account)) first.set(e.account, e.t);
    const rank = new Map(memberOrder.map((id, i) => [id, i]));
    const rows = [...first.keys()].sort((a, b) => first.get(a) - first.get(b) || (rank.get(a) ?? 1e9) - (rank.get(b) ?? 1e9));
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
      const width = Math.max(640, Math.floor(chart.clientWidth || host.clientWidth || 900));
      const left = 118;
      const right = 14;
      const top = 8;
      const bottom = 34;
      const rowH = Math.max(6, Math.min(18, Math.floor(360 / Math.max(1, rows.length))));
      const height = top + rows.length * rowH + bottom;
      const plotW = width - left - right;
      const [d0, d1] = domain;
      const x = (t) => left + ((t - d0) / (d1 - d0)) * plotW;
      const y = (i) => top + i * rowH + rowH / 2;
      const root = svg('svg', {
        width, height, viewBox: `0 0 ${width} ${height}`, class: 'tl-svg', role: 'img',
        'aria-label': 'timeline: one row per member, one dot per action',
      });

      // Row bands and labels.
      rows.forEach((id, i) => {
        root.append(svg('rect', {
          x: left, y: top + i * rowH, width: plotW, height: rowH,
          class: `tl-row ${i % 2 ? 'odd' : ''} ${id === highlighted ? 'hl' : ''}`, dataset: { account: id },
        }));
        if (rowH >= 9 || i % Math.ceil(9 / rowH) === 0) {
          const label = svg('text', { x: left - 6, y: y(i) + 3, class: `tl-label ${id === highlighted ? 'hl' : ''}`, 'text-anchor': 'end' },
            id.length > 16 ? `${id.slice(0, 15)}…` : id);
          label.addEventListener('click', () => { location.hash = `#/account/${enc(id)}`; });
          root.append(label);
        }
      });

      // Time axis.
      const span = d1 - d0;
      const step = TIME_STEPS.find((s) => span / s <= 8) || Math.ceil(span / 8 / 86400) * 86400;
      const axisY = top + rows.length * rowH;
      root.append(svg('line', { x1: left, x2: left + plotW, y1: axisY, y2: axisY, class: 'tl-axis' }));
      for (let t = Math.ceil(d0 / step) * step; t <= d1; t += step) {
        const xt = x(t);
        root.append(svg('line', { x1: xt, x2: xt, y1: top, y2: axisY, class: 'tl-grid' }));
        const iso = new Date(t * 1000).toISOString();
        const text = step >= 86400 ? iso.slice(5, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
        root.append(svg('text', { x: xt, y: axisY + 14, class: 'tl-tick', 'text-anchor': 'middle' }, text));
      }
      root.append(svg('text', { x: left + plotW, y: axisY + 29, class: 'tl-tick', 'text-anchor': 'end' }, 'time (UTC) →'));

      // Events.
      let drawn = 0;
      for (const e of events) {
        if (e.t < d0 || e.t > d1 || hiddenActions.has(e.action)) continue;
        drawn++;
        root.append(svg('circle', {
          cx: x(e.t).toFixed(1), cy: y(rowOf.get(e.account)).toFixed(1), r: Math.max(2, Math.min(4, rowH / 3)),
          fill: colorOf.get(e.action), class: 'ev', dataset: { account: e.account, action: e.action },
        }, svg('title', {}, `${e.account} ${e.action} ${e.targetType} ${e.target} at ${fmtTime(e.t)}`)));
      }

      // Drag across the chart to zoom into a time window.
      const brush = svg('rect', { class: 'tl-brush', x: 0, y: top, width: 0, height: rows.length * rowH, visibility: 'hidden' });
      root.append(brush);
      const toX = (evt) => {
        const box = root.getBoundingClientRect();
        return Math.max(left, Math.min(left + plotW, ((evt.clientX - box.left) * width) / box.width));
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
        const inv = (px) => d0 + ((px - left) / plotW) * (d1 - d0);
        const [n0, n1] = [inv(a), inv(b)];
        if (n1 - n0 >= 10) { domain = [n0, n1]; render(); }
      };
      root.addEventListener('mouseup', finish);
      root.addEventListener('mouseleave', finish);

      chart.replaceChildren(root);
      reset.hidden = domain[0] === full[0] && domain[1] === full[1];
      caption.textContent = `${drawn} of ${events.length} actions by ${rows.length} accounts, ${fmtTime(d0)} → ${fmtTime(d1)}. ` +
        'One row per account, one dot per action: actions in lockstep line up as vertical stripes. Drag across the chart to zoom in.';
    }

    render();
    return {
      highlight(id) { highlighted = id; render(); },
    };
  }

  // ---------------------------------------------------------------- start

  function onSearch(e) {
    e.preventDefault();
    const q = $('#search-input').value.trim();
    if (!q) return;
    let kind = $('#search-kind').value;
    if (kind === 'auto') kind = /^c-\d+$/i.test(q) ? 'cluster' : 'account';
    const target = `#/${kind}/${enc(q)}`;
    if (location.hash === target) route(); else location.hash = target;
  }

  function start() {
    takeKeyFromUrl();
    showKeyState();
    $('#search-form').addEventListener('submit', onSearch);
    $('#key-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const key = $('#key-input').value.trim();
      if (!key) return;
      setKey(key);
      $('#key-panel').hidden = true;
      current = null;
      route();
    });
    $('#key-change').addEventListener('click', () => askForKey(''));
    $('#key-forget').addEventListener('click', () => {
      setKey('');
      current = null;
      route();
      askForKey('');
    });
    window.addEventListener('hashchange', route);
    if (!currentKey()) askForKey('');
    route();
  }

  start();
})();
