#!/usr/bin/env node
// Browser test of the dashboard (/) and the API docs page (/docs): the real
// kissvdb binary on 127.0.0.1 with a temp data dir, seeded over HTTP, and
// Debian's chromium driven headless by playwright-core. Each page is clicked
// through and what it shows is asserted; screenshots go to --artifacts.
//
//   node tests/browser/dashboard_test.mjs --binary build/kissvdb \
//        [--artifacts build/browser-artifacts] [--chromium /usr/bin/chromium]
//
// Exit 0 when every check passed, 1 on a failure, 77 (ctest: skipped) when
// chromium or playwright-core is missing, loudly, unless CI is set: in CI a
// missing browser is a failure.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const TOKEN = 'browser-test-key';
const args = parseArgs(process.argv.slice(2));
const artifacts = path.resolve(args.artifacts || 'browser-artifacts');
const chromiumPath = args.chromium || '/usr/bin/chromium';

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}

function skipOrFail(why) {
  if (process.env.CI) {
    console.error(`browser test: FAILED: ${why} (CI is set, so this is not skipped; run scripts/setup.sh)`);
    process.exit(1);
  }
  console.error('*'.repeat(72));
  console.error(`browser test SKIPPED: ${why}`);
  console.error('run scripts/setup.sh to install chromium and tests/browser/node_modules');
  console.error('*'.repeat(72));
  process.exit(77);
}

// ---- Checks ----

let passed = 0;
const failures = [];

function check(name, ok, detail = '') {
  if (ok) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failures.push(name);
    console.log(`FAIL - ${name}${detail ? ': ' + detail : ''}`);
  }
}

// ---- The server ----

async function startServer(binary) {
  const dir = mkdtempSync(path.join(tmpdir(), 'kissvdb-browser-'));
  const portFile = path.join(dir, 'port');
  const proc = spawn(binary, ['--bind', '127.0.0.1', '--port', '0', '--port-file', portFile,
    '--data-dir', path.join(dir, 'data'), '--api-key', TOKEN], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const deadline = Date.now() + 20000;
  while (!(existsSync(portFile) && readFileSync(portFile, 'utf8').trim())) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error('server did not start:\n' + log);
    await sleep(50);
  }
  const base = `http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`;
  return {
    base,
    log: () => log,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((resolve) => (proc.exitCode !== null ? resolve() : proc.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function call(base, method, urlPath, body) {
  const res = await fetch(base + urlPath, {
    method,
    headers: { Authorization: 'Bearer ' + TOKEN, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${urlPath}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// KV keys (one with a TTL, one written twice), two documents, ten points on
// a line (so the neighbours of p0 are p1, p2, p3 in that order) and a user
// event.
async function seed(base) {
  await call(base, 'PUT', '/v1/state/user:1', { value: { name: 'ada' } });
  await call(base, 'PUT', '/v1/state/user:1', { value: { name: 'ada', admin: true }, ttl_ms: 3600000 });
  await call(base, 'PUT', '/v1/state/user:2', { value: 'bob' });
  await call(base, 'PUT', '/v1/state/other:x', { value: 1 });
  await call(base, 'PUT', '/v1/doc/books/b1', { title: 'Dune', year: 1965 });
  await call(base, 'PUT', '/v1/doc/books/b2', { title: 'Solaris', year: 1961 });
  await call(base, 'POST', '/v1/vector/points', { dim: 3, metric: 'l2' });
  const items = Array.from({ length: 10 }, (_, i) => ({ id: 'p' + i, vector: [i, 0, 0], meta: { i } }));
  await call(base, 'POST', '/v1/vector/points/upsert_batch', { items, atomic: true });
  await call(base, 'POST', '/v1/events', { type: 'deploy', data: { version: '1.0' } });
}

// ---- The pages ----

async function testDashboard(page, server) {
  const errors = [];
  // Answers of 401/404 that the test provokes are logged as "Failed to load
  // resource"; anything else (a CSP refusal, a script error) is a failure.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));

  const res = await page.goto(server.base + '/');
  check('/ is HTML', (res.headers()['content-type'] || '').startsWith('text/html'));
  const csp = res.headers()['content-security-policy'] || '';
  check('/ has a restrictive CSP', csp.includes("default-src 'none'") && csp.includes("script-src 'self'"), csp);
  check('/ has Cache-Control no-cache', res.headers()['cache-control'] === 'no-cache');
  await page.locator('#login').waitFor();
  await page.screenshot({ path: path.join(artifacts, '01-login.png') });

  // A wrong key is refused and not kept.
  await page.fill('#token', 'not-the-key');
  await page.click('#login-form button[type=submit]');
  await page.locator('#login-error').filter({ hasText: 'refused' }).waitFor();
  check('a wrong key is refused', await page.locator('#page-overview').isHidden());
  check('a wrong key is not stored', (await page.evaluate(() => sessionStorage.getItem('kissvdb.token'))) === null);

  // Overview.
  await page.fill('#token', TOKEN);
  await page.click('#login-form button[type=submit]');
  await page.locator('[data-stat=kv_keys] .value').waitFor();
  check('the key is kept in sessionStorage', (await page.evaluate(() => sessionStorage.getItem('kissvdb.token'))) === TOKEN);
  const stat = (id) => page.locator(`[data-stat=${id}] .value`).innerText();
  const health = await (await fetch(server.base + '/v1/health')).json();
  check('overview: version', (await stat('version')) === health.version, await stat('version'));
  const stats = await call(server.base, 'GET', '/v1/admin/stats');
  check('overview: last offset', Number(await stat('last_offset')) === stats.log.last_offset && stats.log.last_offset >= 9,
        await stat('last_offset'));
  check('overview: WAL size', /\d+(\.\d)? (B|KiB|MiB) in \d+ segment/.test(await stat('wal')), await stat('wal'));
  check('overview: uptime', /^\d+[smhd]/.test(await stat('uptime')), await stat('uptime'));
  check('overview: KV keys', (await stat('kv_keys')) === '3', await stat('kv_keys'));
  check('overview: documents', (await stat('documents')) === '2 in 1 collection(s)', await stat('documents'));
  check('overview: vectors', (await stat('vectors')) === '10 in 1 collection(s)', await stat('vectors'));
  await page.screenshot({ path: path.join(artifacts, '02-overview.png'), fullPage: true });

  // KV browser by prefix.
  await page.click('#nav a[href="#kv"]');
  await page.fill('#kv-prefix', 'user:');
  await page.click('#kv-form button[type=submit]');
  await page.locator('#kv-status').filter({ hasText: 'with prefix' }).waitFor();
  const kvRows = page.locator('#kv-table tbody tr');
  check('KV: the prefix selects 2 keys', (await kvRows.count()) === 2, String(await kvRows.count()));
  const user1 = page.locator('#kv-table tr[data-key="user:1"]');
  check('KV: revision shown', (await user1.locator('.revision').innerText()) === '2');
  check('KV: TTL shown', /^expires in (59m|1h)/.test(await user1.locator('.ttl').innerText()),
        await user1.locator('.ttl').innerText());
  check('KV: value shown', (await user1.locator('.json').innerText()).includes('"ada"'));
  check('KV: no TTL is a dash', (await page.locator('#kv-table tr[data-key="user:2"] .ttl').innerText()) === '—');
  check('KV: other prefixes left out', (await page.locator('#kv-table tr[data-key="other:x"]').count()) === 0);
  await page.screenshot({ path: path.join(artifacts, '03-kv.png'), fullPage: true });

  // Document collections.
  await page.click('#nav a[href="#docs"]');
  const books = page.locator('#doc-collections tr[data-collection=books]');
  await books.waitFor();
  check('docs: collection count', (await books.locator('td').nth(1).innerText()) === '2');
  await books.locator('button').click();
  await page.locator('#doc-table tr[data-id=b2]').waitFor();
  check('docs: documents listed', (await page.locator('#doc-table tbody tr').count()) === 2);
  check('docs: document body shown', (await page.locator('#doc-table tr[data-id=b1] .json').innerText()).includes('Dune'));
  await page.screenshot({ path: path.join(artifacts, '04-docs.png'), fullPage: true });

  // Vector collections and search by point id.
  await page.click('#nav a[href="#vectors"]');
  const points = page.locator('#vector-collections tr[data-collection=points]');
  await points.waitFor();
  const cells = await points.locator('td').allInnerTexts();
  check('vectors: dim, metric, count', cells[1] === '3' && cells[2] === 'l2' && cells[3] === '10', cells.join('|'));
  check('vectors: memory estimate', /\d (B|KiB|MiB)$/.test(cells[6]), cells[6]);
  await page.selectOption('#vector-collection', 'points');
  await page.fill('#vector-id', 'p0');
  await page.fill('#vector-k', '3');
  await page.click('#vector-form button[type=submit]');
  await page.locator('#vector-hits tbody tr').first().waitFor();
  const hitIds = await page.locator('#vector-hits tbody tr td.key').allInnerTexts();
  check('vectors: neighbours of p0 are p1, p2, p3', hitIds.join(',') === 'p1,p2,p3', hitIds.join(','));
  await page.screenshot({ path: path.join(artifacts, '05-vectors.png'), fullPage: true });
  await page.fill('#vector-id', 'nope');
  await page.click('#vector-form button[type=submit]');
  await page.locator('#vector-status').filter({ hasText: 'No point "nope"' }).waitFor();
  check('vectors: an unknown id is reported', await page.locator('#vector-hits').isHidden());

  // Live change stream with filters: only what is written after opening it,
  // and only what matches.
  await page.click('#nav a[href="#stream"]');
  await page.fill('#stream-types', 'state_updated');
  await page.fill('#stream-prefix', 'live:');
  await page.click('#stream-start');
  await page.locator('#stream-status').filter({ hasText: 'Connected' }).waitFor();
  await call(server.base, 'PUT', '/v1/state/other:skip', { value: 'filtered out by prefix' });
  await call(server.base, 'DELETE', '/v1/state/user:2');  // filtered out by type and prefix
  await call(server.base, 'PUT', '/v1/state/live:1', { value: 'hello' });
  const liveRow = page.locator('#stream-table tbody tr[data-type=state_updated]');
  await liveRow.first().waitFor({ timeout: 10000 });
  await sleep(300);  // let anything that should not arrive arrive
  const streamed = await page.locator('#stream-table tbody tr').allInnerTexts();
  check('stream: the event written after opening is shown', streamed.length >= 1 && streamed[0].includes('live:1'),
        streamed.join(' / '));
  check('stream: filtered events are not shown', streamed.length === 1, streamed.join(' / '));
  await page.screenshot({ path: path.join(artifacts, '06-stream.png'), fullPage: true });
  await page.click('#stream-stop');

  // Metrics charts: a few samples, with writes in between.
  await page.click('#nav a[href="#metrics"]');
  for (let i = 0; i < 3; i++) {
    await call(server.base, 'PUT', `/v1/state/load:${i}`, { value: i });
    await sleep(700);
  }
  await page.waitForFunction(() => Number(document.getElementById('chart-events').dataset.points) >= 2, null,
                             { timeout: 15000 });
  check('metrics: events chart drawn', (await page.locator('#chart-events polyline').count()) === 1);
  const eventRate = Number(await page.locator('#chart-events').getAttribute('data-max'));
  check('metrics: the writes show as events/s', eventRate > 0, String(eventRate));
  check('metrics: connections chart has 2 series', (await page.locator('#chart-connections polyline').count()) === 2);
  const bars = Number(await page.locator('#chart-routes').getAttribute('data-bars'));
  check('metrics: requests-by-route bars', bars >= 3, String(bars));
  const routeLabels = await page.locator('#chart-routes text').allTextContents();
  check('metrics: state.put is a route bar', routeLabels.includes('state.put'), routeLabels.join(','));
  await page.screenshot({ path: path.join(artifacts, '07-metrics.png'), fullPage: true });

  // The key survives a reload (same tab) and is gone after "Forget token".
  await page.goto(server.base + '/#kv');
  await page.locator('#page-kv').waitFor();
  check('a reload keeps the session', await page.locator('#login').isHidden());
  await page.click('#logout');
  await page.locator('#login').waitFor();
  check('forget token signs out', (await page.evaluate(() => sessionStorage.getItem('kissvdb.token'))) === null);

  check('dashboard: no console errors (CSP, scripts)', errors.length === 0, errors.join(' | '));
}

async function testDocs(page, server) {
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));

  const spec = await (await fetch(server.base + '/openapi.json')).json();
  let operations = 0;
  for (const item of Object.values(spec.paths)) {
    operations += ['get', 'put', 'post', 'patch', 'delete'].filter((m) => item[m]).length;
  }
  const res = await page.goto(server.base + '/docs');
  check('/docs is public HTML', res.status() === 200 && res.headers()['content-type'].startsWith('text/html'));
  await page.locator('#route-list li').first().waitFor();
  const listed = await page.locator('#route-list li').count();
  check('/docs lists every operation', listed === operations && operations > 30, `${listed} of ${operations}`);
  const routes = await page.locator('#route-list li').evaluateAll((lis) => lis.map((li) => li.dataset.route));
  for (const r of ['GET /v1/state/{key}', 'POST /v1/vector/{collection}/search', 'GET /v1/stream', 'GET /v1/admin/stats', 'GET /']) {
    check(`/docs lists ${r}`, routes.includes(r));
  }
  const put = page.locator('section.operation[data-method=put][data-path="/v1/state/{key}"]');
  check('/docs: an operation has its summary', (await put.locator('.summary').innerText()).length > 0);
  check('/docs: parameters table', (await put.locator('table.params tbody tr').count()) >= 1);
  check('/docs: request schema and example', (await put.locator('pre.schema').count()) >= 1 &&
        (await put.locator('pre.example').count()) >= 1);
  check('/docs: responses', (await put.locator('.response').count()) >= 2);
  await page.screenshot({ path: path.join(artifacts, '08-docs.png') });
  await page.click('#route-list li[data-route="PUT /v1/state/{key}"] a');
  check('/docs: the index links to the operation', page.url().endsWith('#op-put-v1-state-key') && await put.isVisible());
  await page.screenshot({ path: path.join(artifacts, '09-docs-operation.png') });
  await page.fill('#filter', 'vector/{collection}/search');
  const visible = await page.locator('#route-list li:visible').count();
  check('/docs: the filter narrows the list', visible === 2, String(visible));
  check('/docs: no console errors', errors.length === 0, errors.join(' | '));

  const yaml = await fetch(server.base + '/openapi.yaml');
  const text = await yaml.text();
  check('/openapi.yaml is public YAML', yaml.status === 200 && yaml.headers.get('content-type') === 'application/yaml' &&
        text.startsWith('openapi: 3'));
  const again = await fetch(server.base + '/openapi.yaml', { headers: { 'If-None-Match': yaml.headers.get('etag') } });
  check('/openapi.yaml revalidates with 304', again.status === 304);
  const missing = await fetch(server.base + '/assets/nope.js');
  check('an unknown asset is 404', missing.status === 404);
}

// ---- Main ----

async function main() {
  if (!args.binary) {
    console.error('usage: dashboard_test.mjs --binary PATH [--artifacts DIR] [--chromium PATH]');
    process.exit(2);
  }
  if (!existsSync(chromiumPath)) skipOrFail(`${chromiumPath} is not installed (Debian package chromium)`);
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    skipOrFail(`playwright-core is not installed in tests/browser/node_modules (${e.message.split('\n')[0]})`);
  }
  mkdirSync(artifacts, { recursive: true });

  const server = await startServer(path.resolve(args.binary));
  let browser;
  try {
    await seed(server.base);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(15000);
    await testDashboard(await context.newPage(), server);
    await testDocs(await context.newPage(), server);
  } catch (e) {
    failures.push('exception');
    console.log('FAIL - ' + (e.stack || e));
    console.log('server log:\n' + server.log().slice(-4000));
  } finally {
    if (browser) await browser.close();
    await server.stop();
  }
  console.log(`screenshots in ${artifacts}`);
  console.log(`${passed} passed, ${failures.length} failed`);
  process.exit(failures.length ? 1 : 0);
}

main();
