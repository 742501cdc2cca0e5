/* ringscope page: The API key (kept in localStorage) and calls to the /v1 JSON API, with errors shown in one box. */

import { $, h } from './dom.js';

export const KEY_STORE = 'ringscope.apiKey';

// ---------------------------------------------------------------- the API key

export function getKey() {
  try { return localStorage.getItem(KEY_STORE) || ''; } catch { return ''; }
}

export function setKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORE, key);
    else localStorage.removeItem(KEY_STORE);
  } catch { /* storage disabled: the key lives for this page only */ memoryKey = key; }
  showKeyState();
}
let memoryKey = '';
export const currentKey = () => getKey() || memoryKey;

export function showKeyState() {
  const key = currentKey();
  $('#key-label').textContent = key ? `API key …${key.slice(-4)}` : 'no API key';
  $('#key-forget').hidden = !key;
}

export function askForKey(reason) {
  const panel = $('#key-panel');
  panel.hidden = false;
  const why = $('#key-reason');
  why.hidden = !reason;
  why.textContent = reason || '';
  $('#key-input').value = '';
  $('#key-input').focus();
}

export function takeKeyFromUrl() {
  const params = new URLSearchParams(location.search);
  if (!params.has('key')) return;
  setKey(params.get('key').trim());
  params.delete('key');
  const rest = params.toString();
  // Drop the key from the address bar and the history.
  history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
}

// ---------------------------------------------------------------- the API

export class ApiError extends Error {
  constructor(status, detail, path) {
    super(detail);
    this.status = status;
    this.path = path;
  }
}

export function detailText(body) {
  if (!body || body.detail === undefined) return '';
  const d = body.detail;
  if (typeof d === 'string') return d;
  if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).slice(1).join('.')}: ${e.msg}`).join('; ');
  return JSON.stringify(d);
}

export async function api(path, payload) {
  const key = currentKey();
  if (!key) throw new ApiError(401, 'no API key yet', path);
  const headers = { 'X-API-Key': key, Accept: 'application/json' };
  const init = payload === undefined ? { headers }
    : { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(payload) };
  let resp;
  try {
    resp = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'cannot reach the ringscope service', path);
  }
  let body = null;
  try { body = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok) throw new ApiError(resp.status, detailText(body) || resp.statusText, path);
  return body;
}

/** A visible error box; 401 also opens the key panel. */
export function errorBox(err, what) {
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
export async function pool(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
