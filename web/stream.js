// The live change stream page: an EventSource on /v1/stream from "now",
// with the server-side filters (types, key_prefix, collection).
//
// An EventSource cannot send headers, so the token goes in ?api_key= (the
// server accepts it there). Frames are named by event type, and an
// EventSource only delivers names it listens for: we listen for every
// built-in type plus the ones typed into the Types filter.
import { el, getToken, preview } from './api.js';

const $ = (id) => document.getElementById(id);
const BUILTIN_TYPES = ['state_updated', 'state_deleted', 'doc_updated', 'doc_deleted', 'doc_collection_dropped',
  'vector_collection_created', 'vector_collection_dropped', 'vector_added', 'vector_upserted',
  'vector_updated', 'vector_deleted', 'sql'];
const MAX_ROWS = 200;

let source = null;

function setStatus(text) { $('stream-status').textContent = text; }

function addRow(event) {
  const row = el('tr', { 'data-offset': event.offset, 'data-type': event.type },
      el('td', { class: 'num' }, event.offset), el('td', {}, new Date(event.ts_ms).toLocaleTimeString()),
      el('td', {}, event.type), el('td', { class: 'json' }, preview(event.data, 200)));
  const body = $('stream-table').tBodies[0];
  body.prepend(row);
  while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
}

function start(e) {
  e.preventDefault();
  stop();
  const types = $('stream-types').value.split(',').map((t) => t.trim()).filter(Boolean);
  const q = new URLSearchParams({ since: 'now', api_key: getToken() });
  if (types.length) q.set('types', types.join(','));
  if ($('stream-prefix').value) q.set('key_prefix', $('stream-prefix').value);
  if ($('stream-collection').value) q.set('collection', $('stream-collection').value);

  source = new EventSource('/v1/stream?' + q);
  const onEvent = (m) => {
    try { addRow(JSON.parse(m.data)); } catch { /* not an event record */ }
  };
  for (const type of new Set([...BUILTIN_TYPES, ...types, 'message'])) source.addEventListener(type, onEvent);
  // Last frames: the server closes after them; say why and stop retrying.
  for (const name of ['gap', 'compacted']) {
    source.addEventListener(name, (m) => {
      if (name === 'gap') return setStatus('Fell behind; reconnecting from ' + JSON.parse(m.data).resume_since + '.');
      stop();
      setStatus('Stream ended: ' + name + ' ' + m.data);
    });
  }
  source.addEventListener('open', () => setStatus('Connected' + (types.length ? ` (types ${types.join(', ')})` : '') + '.'));
  source.addEventListener('error', (m) => {
    if (m.data) { stop(); setStatus('Stream error: ' + m.data); return; }  // a server "error" frame
    if (source && source.readyState === EventSource.CONNECTING) setStatus('Reconnecting…');
    else if (source) { stop(); setStatus('Disconnected (check the key and the filters).'); }
  });
  $('stream-stop').disabled = false;
  setStatus('Connecting…');
}

function stop() {
  if (source) source.close();
  source = null;
  $('stream-stop').disabled = true;
  setStatus('Not connected.');
}

export function initStream() {
  $('stream-form').addEventListener('submit', start);
  $('stream-stop').addEventListener('click', stop);
}
