/* ringscope page: Sortable tables. */

import { h } from './dom.js';

// ---------------------------------------------------------------- sortable tables

/**
 * columns: [{key, label, value(row) -> sortable, render(row) -> node|string, numeric, cls}]
 * Returns {el, setRows(rows), addRows(rows), refresh(), rowFor(key), select(key)}.
 */
export function sortableTable(columns, { rowKey, onRowClick, caption, id, emptyText } = {}) {
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
