// The dashboard: sign-in, hash navigation (#overview, #kv, ...) and the
// overview, KV, document and vector pages. The stream and metrics pages are
// in stream.js and metrics.js. Every figure comes from a /v1 route.
import { api, ApiError, clearToken, el, formatBytes, formatDuration, getToken, preview, setToken } from './api.js';
import { startMetrics, stopMetrics } from './metrics.js';
import { initStream } from './stream.js';

const $ = (id) => document.getElementById(id);
const PAGES = ['overview', 'kv', 'docs', 'vectors', 'stream', 'metrics'];
const PAGE_SIZE = 50;

// ---- Sign-in and navigation ----

async function signIn(event) {
  event.preventDefault();
  const token = $('token').value.trim();
  setToken(token);
  try {
    await api('GET', '/v1/admin/stats');  // any valid key may read it
  } catch (e) {
    clearToken();
    $('login-error').textContent = e instanceof ApiError && e.status === 401 ? 'That key was refused.' : String(e.message);
    return;
  }
  $('token').value = '';
  $('login-error').textContent = '';
  showApp();
}

function signOut() {
  clearToken();
  stopMetrics();
  location.hash = '';
  location.reload();
}

function showApp() {
  $('login').hidden = true;
  $('nav').hidden = false;
  $('logout').hidden = false;
  route();
}

// Shows the page named by the hash and loads its data.
function route() {
  const page = PAGES.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'overview';
  for (const p of PAGES) $('page-' + p).hidden = p !== page;
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.getAttribute('href') === '#' + page);
  }
  if (page === 'metrics') startMetrics(); else stopMetrics();
  const loaders = { overview: loadOverview, kv: () => loadKv(false), docs: loadDocCollections, vectors: loadVectors };
  if (loaders[page]) loaders[page]().catch(showError);
}

function showError(e) {
  if (e instanceof ApiError && e.status === 401) return signOut();
  const main = document.querySelector('.page:not([hidden])');
  if (main) main.append(el('p', { class: 'error', role: 'alert' }, String(e.message)));
}

// ---- Overview ----

function card(label, value, id) {
  return el('div', { class: 'card stat', 'data-stat': id }, el('div', { class: 'label' }, label),
            el('div', { class: 'value' }, value));
}

async function loadOverview() {
  const s = await api('GET', '/v1/admin/stats');
  $('overview-cards').replaceChildren(
      card('Version', s.version, 'version'),
      card('Uptime', formatDuration(s.uptime_secs), 'uptime'),
      card('Last offset', s.log.last_offset, 'last_offset'),
      card('WAL size', `${formatBytes(s.log.wal_bytes)} in ${s.log.wal_segments} segment(s)`, 'wal'),
      card('Checkpoint offset', s.log.checkpoint_offset, 'checkpoint'),
      card('KV keys', s.kv.keys + (s.kv.keys_truncated ? '+' : ''), 'kv_keys'),
      card('Documents', `${s.doc.documents} in ${s.doc.collections} collection(s)`, 'documents'),
      card('Vectors', `${s.vector.points} in ${s.vector.collections} collection(s)`, 'vectors'),
      card('SQL', s.sql_enabled ? 'enabled' : 'disabled', 'sql'));
  $('overview-vectors').replaceChildren(s.vector.list.length
      ? vectorTable(s.vector.list)
      : el('p', { class: 'muted' }, 'No vector collections.'));
}

// ---- KV browser ----

let kvAfter = '';
let kvSeq = 0;  // answers to an older listing (a slow first load) are dropped

function ttlCell(expiresAtMs) {
  if (expiresAtMs === null || expiresAtMs === undefined) return el('td', { class: 'ttl' }, '—');
  const left = (expiresAtMs - Date.now()) / 1000;
  return el('td', { class: 'ttl', title: new Date(expiresAtMs).toISOString() },
            left > 0 ? 'expires in ' + formatDuration(left) : 'expired');
}

async function loadKv(more) {
  const prefix = $('kv-prefix').value;
  if (!more) kvAfter = '';
  const q = new URLSearchParams({ prefix, limit: String(PAGE_SIZE) });
  if (kvAfter) q.set('after', kvAfter);
  const seq = ++kvSeq;
  const items = await api('GET', '/v1/state?' + q);
  if (seq !== kvSeq) return;
  const rows = items.map((it) => el('tr', { 'data-key': it.key },
      el('td', { class: 'key' }, it.key), el('td', { class: 'json' }, preview(it.value)),
      el('td', { class: 'num revision' }, it.revision), ttlCell(it.expires_at_ms)));
  const body = $('kv-table').tBodies[0];
  if (more) body.append(...rows); else body.replaceChildren(...rows);
  if (items.length) kvAfter = items[items.length - 1].key;
  $('kv-more').hidden = items.length < PAGE_SIZE;
  $('kv-status').textContent = `${body.rows.length} key(s)` + (prefix ? ` with prefix "${prefix}"` : '');
}

// ---- Documents ----

let docCollection = '';
let docCursor = '';

async function loadDocCollections() {
  const { collections } = await api('GET', '/v1/doc');
  $('doc-collections').tBodies[0].replaceChildren(...collections.map((c) => el('tr', { 'data-collection': c.collection },
      el('td', {}, el('button', { type: 'button', class: 'link', onclick: () => openDocs(c.collection) }, c.collection)),
      el('td', { class: 'num' }, c.count))));
  if (!collections.length) {
    $('doc-collections').tBodies[0].replaceChildren(el('tr', {}, el('td', { colspan: 2, class: 'muted' }, 'No documents.')));
  }
}

async function openDocs(collection, more = false) {
  if (!more) { docCollection = collection; docCursor = ''; }
  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (docCursor) q.set('cursor', docCursor);
  const page = await api('GET', `/v1/doc/${encodeURIComponent(docCollection)}?` + q);
  const rows = page.documents.map((d) => el('tr', { 'data-id': d.id },
      el('td', { class: 'key' }, d.id), el('td', { class: 'num' }, d.revision),
      el('td', { class: 'json' }, preview(d.doc, 200))));
  const body = $('doc-table').tBodies[0];
  if (more) body.append(...rows); else body.replaceChildren(...rows);
  docCursor = page.next_cursor || '';
  $('doc-more').hidden = !docCursor;
  $('doc-title').textContent = `Collection "${docCollection}"`;
  $('doc-title').hidden = false;
  $('doc-table').hidden = false;
}

// ---- Vectors ----

function vectorTable(list) {
  return el('table', { class: 'data' },
      el('thead', {}, el('tr', {}, ['Collection', 'Dim', 'Metric', 'Points', 'Deleted', 'On disk', 'Memory (est.)']
          .map((h) => el('th', {}, h)))),
      el('tbody', {}, list.map(vectorRow)));
}

function vectorRow(c) {
  return el('tr', { 'data-collection': c.collection }, el('td', {}, c.collection), el('td', { class: 'num' }, c.dim),
      el('td', {}, c.metric), el('td', { class: 'num' }, c.count), el('td', { class: 'num' }, c.deleted),
      el('td', { class: 'num' }, formatBytes(c.file_bytes)), el('td', { class: 'num' }, formatBytes(c.memory_bytes_estimate)));
}

async function loadVectors() {
  const s = await api('GET', '/v1/admin/stats');
  $('vector-collections').tBodies[0].replaceChildren(...s.vector.list.map(vectorRow));
  const select = $('vector-collection');
  const chosen = select.value;
  select.replaceChildren(...s.vector.list.map((c) => el('option', { value: c.collection }, c.collection)));
  if (chosen) select.value = chosen;
}

// The point's own vector is the query; the point itself is left out of the
// neighbours (it is its own nearest hit).
async function searchNeighbours(event) {
  event.preventDefault();
  const collection = $('vector-collection').value;
  const id = $('vector-id').value.trim();
  const k = Math.max(1, Math.min(255, Number($('vector-k').value) || 5));
  const status = $('vector-status');
  const base = `/v1/vector/${encodeURIComponent(collection)}`;
  try {
    const point = await api('GET', `${base}/get?` + new URLSearchParams({ id }));
    const { hits } = await api('POST', `${base}/search`, { vector: point.vector, k: k + 1, include_meta: true });
    const neighbours = hits.filter((h) => h.id !== id).slice(0, k);
    $('vector-hits').tBodies[0].replaceChildren(...neighbours.map((h, i) => el('tr', { 'data-id': h.id },
        el('td', { class: 'num' }, i + 1), el('td', { class: 'key' }, h.id),
        el('td', { class: 'num' }, Number(h.score).toFixed(4)), el('td', { class: 'json' }, preview(h.meta)))));
    $('vector-hits').hidden = false;
    status.textContent = `${neighbours.length} neighbour(s) of "${id}" in ${collection}`;
  } catch (e) {
    $('vector-hits').hidden = true;
    status.textContent = e instanceof ApiError && e.status === 404 ? `No point "${id}" in ${collection}.` : e.message;
  }
}

// ---- Start ----

function init() {
  $('login-form').addEventListener('submit', signIn);
  $('logout').addEventListener('click', signOut);
  $('kv-form').addEventListener('submit', (e) => { e.preventDefault(); loadKv(false).catch(showError); });
  $('kv-more').addEventListener('click', () => loadKv(true).catch(showError));
  $('doc-more').addEventListener('click', () => openDocs(docCollection, true).catch(showError));
  $('vector-form').addEventListener('submit', searchNeighbours);
  initStream();
  window.addEventListener('hashchange', () => { if (getToken()) route(); });
  if (getToken()) showApp(); else $('token').focus();
}

init();
