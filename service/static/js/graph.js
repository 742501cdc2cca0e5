/* ringscope page: The cluster graph drawn with cytoscape (vendor/cytoscape.min.js, a global). */

import { state } from './state.js';
import { h } from './dom.js';
import { RELATION_GROUPS, fmtScore, relationGroup } from './format.js';
import { dropGraph } from './views.js';

// ---------------------------------------------------------------- the graph (cytoscape)

export function layout(cy) {
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

/** The legend: one entry per relation group with its edge count; a click hides or shows the group. */
function drawLegend(legend, counts, getCy) {
  const hidden = new Set();
  legend.replaceChildren(...RELATION_GROUPS.map((g) => {
    const n = counts.get(g.key) || 0;
    const li = h('li', { class: n ? '' : 'none', dataset: { group: g.key }, title: n ? 'click to hide or show' : '' },
      h('span', { class: 'swatch', style: `background:${g.color}` }), `${g.label} `, h('span', { class: 'muted' }, `(${n})`));
    if (n) {
      li.addEventListener('click', () => {
        const cy = getCy();
        if (!cy) return;
        if (hidden.has(g.key)) hidden.delete(g.key); else hidden.add(g.key);
        li.classList.toggle('off', hidden.has(g.key));
        cy.edges(`[group = "${g.key}"]`).toggleClass('hidden', hidden.has(g.key));
      });
    }
    return li;
  }));
}

/** cytoscape elements: accounts (label, score) and edges (relation group, colour, weight, dashes). */
function graphElements(graph, edges) {
  return [
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
}

/** The evidence's shared identifiers and synchronised targets as their own nodes, linked to the
 * members on them (only those the evidence lists, with their member ids: the strongest ones). */
function entityElements(ev, memberIds) {
  const elements = [];
  const seen = new Set();
  let shared = 0;
  let targets = 0;
  const add = (kind, type, id, label, members) => {
    const key = `entity:${kind}:${type}:${id}`;
    if (seen.has(key)) return;
    seen.add(key);
    const linked = (members || []).filter((m) => memberIds.has(m));
    if (!linked.length) return;
    if (kind === 'shared') shared++; else targets++;
    elements.push({ data: { id: key, label, kind, entity: true, raw: id } });
    linked.forEach((m, i) => elements.push({ data: { id: `${key}:${i}`, source: m, target: key, entityLink: kind } }));
  };
  for (const e of (ev && ev.shared_entities) || []) {
    add('shared', e.type, e.id, `${e.type} ${e.id} (${e.users_total} users)`, e.member_ids);
  }
  for (const c of (ev && ev.campaigns) || []) {
    add('target', c.target_type, c.target, `${c.target_type} ${c.target}`, c.member_ids);
  }
  return { elements, nodes: shared + targets, shared, targets };
}

/** The graph's style. Dense clusters (rings are often near-cliques) get straight, thin, faint edges;
 * big ones smaller nodes with labels only when zoomed in. */
function graphStyle(nEdges, nNodes) {
  const dense = nEdges > 120;
  const many = nNodes > 60;
  const edgeOpacity = Math.max(0.18, Math.min(0.7, 60 / Math.max(1, nEdges)));
  return [
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
    {
      selector: 'node[?entity]',
      style: {
        'background-color': '#ffffff', 'border-width': 2, 'border-color': '#444',
        width: 16, height: 16, label: 'data(label)', 'font-size': 7, color: '#222', 'text-valign': 'top', 'text-margin-y': -3,
      },
    },
    { selector: 'node[kind = "shared"]', style: { shape: 'diamond', 'border-color': '#d62728' } },
    { selector: 'node[kind = "target"]', style: { shape: 'round-rectangle', 'border-color': '#7b3fb8' } },
    { selector: 'node[?outside]', style: { 'background-color': '#ffffff', 'border-width': 2, 'border-color': '#555', 'border-style': 'dashed' } },
    { selector: 'edge[?neighbour]', style: { opacity: 0.9, 'curve-style': 'bezier' } },
    { selector: 'edge[entityLink]', style: { 'line-color': '#999', width: 0.7, opacity: 0.5, 'line-style': 'dotted', 'curve-style': 'haystack' } },
  ];
}

/** Adds an account's strongest links to the drawing: neighbours outside it as hollow nodes placed
 * around the account, one edge per link coloured by its first relation. Returns how many links
 * were added (0 when they are all drawn already). */
export function expandNeighbours(cy, accountId, neighbours) {
  const centre = cy.getElementById(accountId);
  if (!centre || !centre.length) return 0;
  const { x, y } = centre.position();
  const fresh = neighbours.filter((n) => !cy.getElementById(n.account_id).length);
  const added = [];
  fresh.forEach((n, i) => {
    const angle = (2 * Math.PI * i) / Math.max(1, fresh.length);
    added.push({
      group: 'nodes',
      data: { id: n.account_id, label: n.account_id.length > 14 ? `${n.account_id.slice(0, 12)}…` : n.account_id, score: 0, outside: true },
      position: { x: x + 90 * Math.cos(angle), y: y + 90 * Math.sin(angle) },
    });
  });
  let links = 0;
  for (const n of neighbours) {
    const key = `nb:${[accountId, n.account_id].sort().join('\u0000')}`;
    if (cy.getElementById(key).length) continue;
    const g = relationGroup(String((n.relations || [])[0] || 'other'));
    added.push({
      group: 'edges',
      data: {
        id: key, source: accountId, target: n.account_id, relation: (n.relations || []).join(' + '), group: g.key,
        color: g.color, weight: Math.min(1, n.weight ?? 0.3), dashed: 'solid', neighbour: true,
      },
    });
    links++;
  }
  if (added.length) cy.add(added);
  return links;
}

export function drawGraph(host, legend, info, graph, onSelect, drawing, ev) {
  const ids = new Set(graph.nodes.map((n) => n.id));
  const edges = graph.edges.filter((e) => ids.has(e.source) && ids.has(e.target) && e.source !== e.target);
  const counts = new Map();
  for (const e of edges) {
    const g = relationGroup(e.relation).key;
    counts.set(g, (counts.get(g) || 0) + 1);
  }
  const cut = drawing && drawing.cut && drawing.edges_total > edges.length
    ? ` Showing ${edges.length.toLocaleString()} of ${drawing.edges_total.toLocaleString()} links: ${drawing.cut}.` : '';
  info.textContent = `${graph.nodes.length} accounts, ${edges.length} links.${cut} Drag to move, scroll to zoom, click an account to see it. Node colour: account score (blue low, red high).`;
  let cy = null;
  drawLegend(legend, counts, () => cy);
  if (typeof window.cytoscape !== 'function') {
    host.replaceChildren(h('div', { class: 'errorbox', role: 'alert' },
      h('strong', {}, 'Graph library missing.'), ' The page was served without service/static/vendor/cytoscape.min.js: run web/build.sh.'));
    return null;
  }
  const evidenceNodes = entityElements(ev, ids);
  if (evidenceNodes.nodes) {
    info.textContent += ` Diamonds are identifiers the members share (${evidenceNodes.shared}), squares targets they acted on in sync (${evidenceNodes.targets}), each linked to the members on it.`;
  }
  cy = window.cytoscape({
    container: host,
    elements: [...graphElements(graph, edges), ...evidenceNodes.elements],
    minZoom: 0.1,
    maxZoom: 5,
    style: graphStyle(edges.length, graph.nodes.length),
  });
  layout(cy);
  cy.on('tap', 'node', (evt) => {
    if (evt.target.data('entity')) location.hash = `#/entity/${encodeURIComponent(evt.target.data('raw'))}`;
    else onSelect(evt.target.id());
  });
  cy.on('mouseover', 'node', (evt) => { host.title = `${evt.target.id()} · score ${fmtScore(evt.target.data('score'))}`; });
  cy.on('mouseover', 'edge', (evt) => { host.title = `${evt.target.data('relation')} · weight ${fmtScore(evt.target.data('weight'))}`; });
  dropGraph();
  state.liveCy = cy;
  window.__cy = cy; // for tests and the console
  return cy;
}
