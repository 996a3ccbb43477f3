#!/usr/bin/env node
// The generated TypeScript client, end to end, against a real server:
//
//  1. lints docs/openapi.yaml with @redocly/cli (errors fail the test);
//  2. generates types with openapi-typescript and type-checks usage.ts (every
//     area of the API, through openapi-fetch) with tsc --strict;
//  3. starts the real kissvdb on 127.0.0.1 (a free port, a temp data dir,
//     --log-level debug), runs the compiled usage.js against it;
//  4. validates every response it recorded against the spec: the status is
//     documented, the content type matches, the body validates (ajv), and
//     no object carries a field its schema does not list unless the schema
//     says additionalProperties: true (the server's shapes are fixed);
//  5. checks that no token (the bootstrap key, the created key sent as
//     ?api_key=) appears in the server's log output.
//
//   node tests/client/client_test.mjs --binary build/kissvdb --source-dir . --work-dir build/client-test
//
// Exit 0 when every check passed, 1 on a failure, 77 (ctest: skipped) when
// tests/client/node_modules is missing, loudly, unless CI is set.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TOKEN = 'client-test-bootstrap-key';
const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const sourceDir = path.resolve(args['source-dir'] || path.join(HERE, '../..'));
const workDir = path.resolve(args['work-dir'] || 'client-test');
const specPath = path.join(sourceDir, 'docs/openapi.yaml');
const bin = (name) => path.join(HERE, 'node_modules/.bin', name);

if (!existsSync(bin('tsc')) || !existsSync(bin('openapi-typescript')) || !existsSync(bin('redocly'))) {
  const why = 'tests/client/node_modules is missing (scripts/setup.sh runs npm ci there)';
  if (process.env.CI) {
    console.error(`client test: FAILED: ${why}`);
    process.exit(1);
  }
  console.error(`${'*'.repeat(72)}\nclient test SKIPPED: ${why}\n${'*'.repeat(72)}`);
  process.exit(77);
}
const { default: Ajv } = await import(path.join(HERE, 'node_modules/ajv/dist/ajv.js'));
const YAML = await import(path.join(HERE, 'node_modules/yaml/dist/index.js'));

const failures = [];
function check(name, ok, detail = '') {
  if (ok) console.log(`ok - ${name}`);
  else {
    failures.push(name);
    console.log(`FAIL - ${name}${detail ? ': ' + detail : ''}`);
  }
}

function run(what, cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', ...options });
  const out = `${r.stdout || ''}${r.stderr || ''}`;
  check(what, r.status === 0, `exit ${r.status}\n${out.slice(-4000)}`);
  return r.status === 0;
}

// ---- 1. Lint, 2. generate and type-check ----

rmSync(workDir, { recursive: true, force: true });
mkdirSync(workDir, { recursive: true });
run('redocly lint docs/openapi.yaml (no errors)', bin('redocly'), ['lint', specPath, '--format=stylish']);
// A default is what the server assumes when a field is absent, so it does
// not make the field required: the spec's `required` lists say what is.
const generated = run('openapi-typescript generates the types', bin('openapi-typescript'),
  [specPath, '--default-non-nullable=false', '-o', path.join(workDir, 'api.d.ts')]);
copyFileSync(path.join(HERE, 'usage.ts'), path.join(workDir, 'usage.ts'));
symlinkSync(path.join(HERE, 'node_modules'), path.join(workDir, 'node_modules'));
writeFileSync(path.join(workDir, 'package.json'), '{"type": "module", "private": true}\n');
writeFileSync(path.join(workDir, 'tsconfig.json'), JSON.stringify({
  compilerOptions: {
    strict: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext',
    types: ['node'], noEmitOnError: true, outDir: '.',
  },
  files: ['usage.ts'],
}, null, 2));
const typed = generated && run('tsc --strict type-checks usage.ts', bin('tsc'), ['-p', workDir]);
if (!typed) finish();

// ---- 3. The server, and usage.js against it ----

async function startServer(binary) {
  const dir = mkdtempSync(path.join(tmpdir(), 'kissvdb-client-'));
  const portFile = path.join(dir, 'port');
  const proc = spawn(binary, ['--bind', '127.0.0.1', '--port', '0', '--port-file', portFile,
    '--data-dir', path.join(dir, 'data'), '--api-key', TOKEN, '--log-level', 'debug'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const deadline = Date.now() + 20000;
  while (!(existsSync(portFile) && readFileSync(portFile, 'utf8').trim())) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error('server did not start:\n' + log);
    await sleep(50);
  }
  return {
    base: `http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`,
    log: () => log,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((resolve) => (proc.exitCode !== null ? resolve() : proc.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const server = await startServer(path.resolve(args.binary));
const recordFile = path.join(workDir, 'responses.json');
let recorded = [];
let methodNotAllowed = null;
try {
  const r = spawnSync(process.execPath, [path.join(workDir, 'usage.js')], {
    encoding: 'utf8', timeout: 60000,
    env: { ...process.env, KISSVDB_URL: server.base, KISSVDB_TOKEN: TOKEN, KISSVDB_RECORD: recordFile },
  });
  process.stdout.write(r.stdout || '');
  check('usage.js runs against the server', r.status === 0, `exit ${r.status}\n${r.stderr}`);
  if (existsSync(recordFile)) recorded = JSON.parse(readFileSync(recordFile, 'utf8'));
  // A method a path lacks: 405 with Allow (components/responses/MethodNotAllowed).
  const r405 = await fetch(`${server.base}/v1/health`, { method: 'DELETE', headers: { 'X-API-Key': TOKEN } });
  methodNotAllowed = { status: r405.status, allow: r405.headers.get('allow'), body: await r405.text() };
} finally {
  await server.stop();
}

// ---- 4. Every response against the spec ----

const spec = YAML.parse(readFileSync(specPath, 'utf8'), { merge: true });
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema(spec, 'spec');
const pointer = (parts) => parts.map((p) => encodeURIComponent(String(p).replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

function resolve(node) {
  while (node && node.$ref) node = node.$ref.slice(2).split('/').reduce((n, k) => n[k.replace(/~1/g, '/')], spec);
  return node;
}

// Fields an object has that its schema does not list (allOf merged).
function undeclared(value, schema, at, out) {
  schema = resolve(schema);
  if (!schema || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((v, i) => undeclared(v, schema.items, `${at}[${i}]`, out));
    return out;
  }
  const parts = [schema, ...(schema.allOf || []).map(resolve)];
  if (parts.some((s) => s.additionalProperties === true || typeof s.additionalProperties === 'object')) return out;
  if (!parts.some((s) => s.properties)) return out;  // any JSON value
  for (const [k, v] of Object.entries(value)) {
    const sub = parts.map((s) => s.properties && s.properties[k]).find(Boolean);
    if (!sub) out.push(`${at}.${k}`);
    else undeclared(v, sub, `${at}.${k}`, out);
  }
  return out;
}

const seen = new Set();
for (const r of recorded) {
  const method = r.method.toLowerCase();
  const name = `${r.method} ${r.path} -> ${r.status}`;
  const op = spec.paths[r.path] && spec.paths[r.path][method];
  if (!op) { check(name, false, 'not an operation of the spec'); continue; }
  seen.add(`${method} ${r.path}`);
  const status = String(r.status);
  const byStatus = op.responses[status] !== undefined;
  let resp = byStatus ? op.responses[status] : op.responses.default;
  if (!resp || (!byStatus && r.status < 300)) { check(name, false, `status ${status} is not documented`); continue; }
  let ptr = ['paths', r.path, method, 'responses', byStatus ? status : 'default'];
  if (resp.$ref) { ptr = resp.$ref.slice(2).split('/').map((p) => p.replace(/~1/g, '/')); resp = resolve(resp); }
  const content = resp.content || {};
  if (method === 'head' || !Object.keys(content).length) {
    check(name, r.body === '', `documented without a body, got ${r.body.slice(0, 200)}`);
    continue;
  }
  const media = r.contentType.split(';')[0].trim();
  if (!content[media]) { check(name, false, `content type ${media}, documented ${Object.keys(content)}`); continue; }
  if (media !== 'application/json') { check(name, r.body.length > 0, 'empty body'); continue; }
  const value = JSON.parse(r.body);
  const validate = ajv.getSchema(`spec#/${pointer([...ptr, 'content', media, 'schema'])}`);
  const ok = validate(value);
  const extra = undeclared(value, content[media].schema, '$', []);
  check(name, ok && extra.length === 0,
    `${ok ? '' : ajv.errorsText(validate.errors)} ${extra.length ? 'undocumented fields: ' + extra.join(', ') : ''}`);
}
if (methodNotAllowed) {
  const validate = ajv.getSchema(`spec#/${pointer(['components', 'responses', 'MethodNotAllowed', 'content', 'application/json', 'schema'])}`);
  const body = JSON.parse(methodNotAllowed.body);
  check('DELETE /v1/health -> 405 method_not_allowed with Allow: GET',
    methodNotAllowed.status === 405 && methodNotAllowed.allow === 'GET' && validate(body) && body.error === 'method_not_allowed',
    JSON.stringify(methodNotAllowed));
}
// Every /v1 operation ran, except the ones a JSON client cannot read.
const unreadable = new Set(['get /v1/stream', 'get /v1/events', 'get /v1/admin/backups/{name}']);
for (const [p, item] of Object.entries(spec.paths)) {
  for (const m of ['get', 'put', 'post', 'delete', 'patch']) {
    if (item[m] && p.startsWith('/v1/') && !unreadable.has(`${m} ${p}`)) {
      check(`usage.ts calls ${m.toUpperCase()} ${p}`, seen.has(`${m} ${p}`));
    }
  }
}

// ---- 5. No token in the log ----

const log = server.log();
const created = recorded.filter((r) => r.path === '/v1/auth/keys' && r.method === 'POST' && r.status === 200)
  .map((r) => JSON.parse(r.body).key);
check('the server logged requests (debug access log)', log.includes('/v1/state'), log.slice(-500));
for (const token of [TOKEN, ...created]) {
  check(`token ${token.slice(0, 8)}... (sent as header and ?api_key=) never appears in the log`,
    !log.includes(token) && !log.includes(token.slice(0, 16)));
}
finish();

function finish() {
  console.log(failures.length ? `client test: ${failures.length} failure(s)` : 'client test: all checks passed');
  process.exit(failures.length ? 1 : 0);
}
