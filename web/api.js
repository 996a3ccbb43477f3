// Shared by the dashboard and the docs page: the token, calls to /v1, and a
// small DOM builder. Values from the server only ever reach the page as
// text nodes (never innerHTML), so stored data cannot inject markup.

const TOKEN_KEY = 'kissvdb.token';

export function getToken() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
export function setToken(token) { sessionStorage.setItem(TOKEN_KEY, token); }
export function clearToken() { sessionStorage.removeItem(TOKEN_KEY); }

// An error answer of the API: {error, message} and the HTTP status.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

// Calls the API with the stored token. Resolves to parsed JSON (or text
// when the answer is not JSON); rejects with ApiError on a non-2xx status.
export async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + getToken() };
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const type = res.headers.get('Content-Type') || '';
  const payload = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const err = typeof payload === 'object' && payload ? payload : {};
    throw new ApiError(res.status, err.error || 'error', err.message || String(payload).slice(0, 200));
  }
  return payload;
}

// el('td', {class: 'num'}, 'text', childNode, ...): children are strings
// (text nodes) or nodes; null/undefined are skipped.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function formatBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(1)) + ' ' + units[i];
}

export function formatDuration(secs) {
  secs = Math.max(0, Math.round(secs));
  const d = Math.floor(secs / 86400), h = Math.floor(secs / 3600) % 24;
  const m = Math.floor(secs / 60) % 60, s = secs % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

// A JSON value shortened for a table cell.
export function preview(value, max = 120) {
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value);
  return text === undefined ? '' : text.length > max ? text.slice(0, max - 1) + '…' : text;
}
