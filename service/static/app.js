/* ringscope investigator page: a small hash-routed client of the /v1 JSON API.
 *
 * Routes: #/ (verdict list, filters in the hash: #/?verdict=ring&min_size=5&limit=50),
 *         #/cluster/ID, #/account/ID.
 * Every string from the API goes into the DOM as text (never as HTML): account ids and targets
 * come from event logs.
 */

import { state } from './js/state.js';
import { askForKey, currentKey, setKey, showKeyState, takeKeyFromUrl } from './js/api.js';
import { $, enc } from './js/dom.js';
import { route } from './js/views.js';

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
    state.current = null;
    route();
  });
  $('#key-change').addEventListener('click', () => askForKey(''));
  $('#key-forget').addEventListener('click', () => {
    setKey('');
    state.current = null;
    route();
    askForKey('');
  });
  window.addEventListener('hashchange', route);
  if (!currentKey()) askForKey('');
  route();
}

start();
