// The metrics page: polls /v1/metrics (Prometheus text) every 2 s and draws
// small SVG charts. Rates are the difference of two counter samples. The
// event rate comes from the log's last offset (/v1/admin/stats), which
// counts every committed event whatever wrote it.
import { api } from './api.js';

const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const INTERVAL_MS = 2000;
const KEEP = 60;  // samples per series: two minutes

let timer = null;
let samples = [];  // [{t, metrics: [{name, labels, value}], lastOffset}]

// "name{a="b"} 1.5" -> {name, labels: {a: "b"}, value}. Comments skipped.
export function parsePrometheus(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

function sum(metrics, name, filter = () => true) {
  return metrics.filter((m) => m.name === name && filter(m.labels)).reduce((a, m) => a + m.value, 0);
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

// A line chart of one or more series ([{label, points: [number]}]).
function lineChart(target, series) {
  const W = 320, H = 140, PAD = 28;
  const max = Math.max(1, ...series.flatMap((s) => s.points));
  const nodes = [svg('line', { x1: PAD, y1: H - PAD, x2: W - 4, y2: H - PAD, class: 'axis' }),
    svg('text', { x: 2, y: 12, class: 'tick' }, formatNumber(max)), svg('text', { x: 2, y: H - PAD, class: 'tick' }, '0')];
  series.forEach((s, i) => {
    if (s.points.length < 1) return;
    const step = (W - PAD - 4) / Math.max(1, s.points.length - 1);
    const pts = s.points.map((v, j) => `${(PAD + j * step).toFixed(1)},${(H - PAD - (v / max) * (H - PAD - 14)).toFixed(1)}`);
    nodes.push(svg('polyline', { points: pts.join(' '), class: 'series s' + i }));
    nodes.push(svg('text', { x: PAD + i * 150, y: H - 6, class: 'legend s' + i },
        `${s.label}: ${formatNumber(s.points[s.points.length - 1])}`));
  });
  target.setAttribute('viewBox', `0 0 ${W} ${H}`);
  target.setAttribute('data-points', String(series[0].points.length));
  target.setAttribute('data-max', String(Math.max(0, ...series[0].points)));
  target.replaceChildren(...nodes);
}

// Horizontal bars ([{label, value}]).
function barChart(target, bars) {
  const W = 320, ROW = 18, LABEL = 130;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const H = Math.max(ROW, bars.length * ROW) + 4;
  target.setAttribute('viewBox', `0 0 ${W} ${H}`);
  target.setAttribute('data-bars', String(bars.length));
  target.replaceChildren(...bars.flatMap((b, i) => [
    svg('text', { x: 0, y: i * ROW + 13, class: 'tick' }, b.label.slice(0, 22)),
    svg('rect', { x: LABEL, y: i * ROW + 3, height: ROW - 6, width: Math.max(1, ((W - LABEL - 40) * b.value) / max), class: 'bar' }),
    svg('text', { x: W - 36, y: i * ROW + 13, class: 'tick' }, formatNumber(b.value)),
  ]));
}

function formatNumber(v) {
  if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (Math.abs(v) >= 1e3) return (v / 1e3).toFixed(1) + 'k';
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

// Per-second rates between consecutive samples of a total.
function rates(totals) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = (samples[i].t - samples[i - 1].t) / 1000;
    out.push(dt > 0 ? Math.max(0, totals[i] - totals[i - 1]) / dt : 0);
  }
  return out;
}

function draw() {
  const events = samples.map((s) => s.lastOffset);
  const requests = samples.map((s) => sum(s.metrics, 'http_requests_total'));
  lineChart($('chart-events'), [{ label: 'events/s', points: rates(events) }]);
  lineChart($('chart-requests'), [{ label: 'requests/s', points: rates(requests) }]);
  lineChart($('chart-connections'), [
    { label: 'connections', points: samples.map((s) => sum(s.metrics, 'http_connections_open')) },
    { label: 'stream clients', points: samples.map((s) => sum(s.metrics, 'sse_clients')) },
  ]);
  const last = samples[samples.length - 1].metrics;
  const byRoute = new Map();
  for (const m of last) {
    if (m.name === 'http_requests_total') byRoute.set(m.labels.route, (byRoute.get(m.labels.route) || 0) + m.value);
  }
  barChart($('chart-routes'), [...byRoute].map(([label, value]) => ({ label, value }))
      .sort((a, b) => b.value - a.value).slice(0, 10));
}

async function poll() {
  try {
    const [text, stats] = await Promise.all([api('GET', '/v1/metrics'), api('GET', '/v1/admin/stats')]);
    samples.push({ t: Date.now(), metrics: parsePrometheus(text), lastOffset: stats.log.last_offset });
    if (samples.length > KEEP) samples.shift();
    $('metrics-raw').textContent = text;
    draw();
  } catch (e) {
    $('metrics-raw').textContent = 'metrics unavailable: ' + e.message;
  }
}

export function startMetrics() {
  if (timer) return;
  poll();
  timer = setInterval(poll, INTERVAL_MS);
}

export function stopMetrics() {
  clearInterval(timer);
  timer = null;
}
