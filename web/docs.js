// The API reference page: renders /openapi.json (docs/openapi.yaml,
// converted at build time) as a route index and one section per operation,
// with parameters, request and response schemas and examples.
import { el } from './api.js';

const METHODS = ['get', 'put', 'post', 'patch', 'delete'];
let spec = null;

// Follows "#/components/..." references.
function resolve(node) {
  const seen = new Set();
  while (node && node.$ref && !seen.has(node.$ref)) {
    seen.add(node.$ref);
    node = node.$ref.slice(2).split('/').reduce((cur, part) => (cur ? cur[part] : undefined), spec);
  }
  return node || {};
}

function refName(node) {
  return node && node.$ref ? node.$ref.split('/').pop() : null;
}

function anchor(method, path) {
  return 'op-' + method + path.replace(/[^a-zA-Z0-9]+/g, '-').replace(/-+$/, '');
}

// A schema as an indented, readable outline ("field: type, required").
function schemaText(schema, indent = '', depth = 0) {
  const name = refName(schema);
  schema = resolve(schema);
  if (depth > 6) return indent + (name || 'object') + ' …\n';
  let type = schema.type || (schema.properties ? 'object' : schema.items ? 'array' : 'any');
  if (schema.enum) type += ' (' + schema.enum.join(' | ') + ')';
  if (schema.nullable) type += ', nullable';
  for (const k of ['minimum', 'maximum', 'maxLength', 'minItems', 'default']) {
    if (schema[k] !== undefined) type += `, ${k} ${JSON.stringify(schema[k])}`;
  }
  let out = (name ? `${name}: ` : '') + type + (schema.description ? '  // ' + schema.description.trim() : '') + '\n';
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    for (const sub of schema[key] || []) out += indent + `  ${key} ` + schemaText(sub, indent + '  ', depth + 1);
  }
  const required = new Set(schema.required || []);
  for (const [prop, sub] of Object.entries(schema.properties || {})) {
    out += indent + `  ${prop}${required.has(prop) ? '' : '?'}: ` + schemaText(sub, indent + '  ', depth + 1);
  }
  if (schema.items) out += indent + '  items: ' + schemaText(schema.items, indent + '  ', depth + 1);
  return out;
}

function exampleOf(media) {
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const examples = Object.values(media.examples || {});
  return examples.length ? resolve(examples[0]).value : undefined;
}

function contentBlock(content) {
  return Object.entries(content || {}).map(([type, media]) => {
    const example = exampleOf(media);
    return el('div', { class: 'content' },
        el('div', { class: 'ctype' }, type),
        media.schema ? el('pre', { class: 'schema' }, schemaText(media.schema).trimEnd()) : null,
        example !== undefined ? el('div', {}, el('div', { class: 'label' }, 'Example'),
            el('pre', { class: 'example' }, typeof example === 'string' ? example : JSON.stringify(example, null, 2))) : null);
  });
}

function parametersTable(params) {
  if (!params.length) return null;
  return el('table', { class: 'data params' },
      el('thead', {}, el('tr', {}, ['Name', 'In', 'Required', 'Type', 'Description', 'Example'].map((h) => el('th', {}, h)))),
      el('tbody', {}, params.map((p) => {
        const example = p.example ?? (p.schema || {}).example;
        return el('tr', {}, el('td', { class: 'key' }, p.name), el('td', {}, p.in), el('td', {}, p.required ? 'yes' : ''),
            el('td', {}, schemaText(p.schema || {}).split('\n')[0]), el('td', {}, p.description || ''),
            el('td', { class: 'json' }, example === undefined ? '' : JSON.stringify(example)));
      })));
}

function operationSection(path, method, op, item) {
  const params = [...(item.parameters || []), ...(op.parameters || [])].map(resolve);
  const body = op.requestBody ? resolve(op.requestBody) : null;
  const isPublic = Array.isArray(op.security) && op.security.length === 0;
  return el('section', { class: 'operation', id: anchor(method, path), 'data-method': method, 'data-path': path },
      el('h2', {}, el('span', { class: 'method ' + method }, method.toUpperCase()), ' ', el('code', {}, path),
          isPublic ? el('span', { class: 'badge' }, 'public') : null),
      op.summary ? el('p', { class: 'summary' }, op.summary) : null,
      op.description ? el('p', { class: 'description' }, op.description) : null,
      params.length ? el('h3', {}, 'Parameters') : null, parametersTable(params),
      body ? el('h3', {}, 'Request body' + (body.required ? ' (required)' : '')) : null,
      body ? contentBlock(body.content) : null,
      el('h3', {}, 'Responses'),
      Object.entries(op.responses || {}).map(([status, r]) => {
        r = resolve(r);
        return el('div', { class: 'response' }, el('div', { class: 'status s' + status[0] }, status, ' ', r.description || ''),
            contentBlock(r.content));
      }));
}

function render() {
  const ops = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) if (item[method]) ops.push([path, method, item[method], item]);
  }
  document.title = `${spec.info.title} API ${spec.info.version}`;
  document.getElementById('route-list').replaceChildren(...ops.map(([path, method, op]) =>
      el('li', { 'data-route': `${method.toUpperCase()} ${path}` },
          el('a', { href: '#' + anchor(method, path), title: op.summary || '' },
              el('span', { class: 'method ' + method }, method.toUpperCase()), ' ', path))));
  const schemas = Object.entries((spec.components || {}).schemas || {});
  document.getElementById('spec').replaceChildren(...[
      el('h1', {}, `${spec.info.title} API `, el('small', {}, spec.info.version)),
      el('pre', { class: 'intro' }, (spec.info.description || '').trim()),
      el('p', {}, `${ops.length} operations.`),
      ops.map(([path, method, op, item]) => operationSection(path, method, op, item)),
      el('h2', { id: 'schemas' }, 'Schemas'),
      schemas.map(([name, s]) => el('section', { class: 'schema-def', id: 'schema-' + name },
          el('h3', {}, name), el('pre', { class: 'schema' }, schemaText(s).trimEnd())))].flat());
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

function filterRoutes() {
  const q = document.getElementById('filter').value.toLowerCase();
  for (const li of document.querySelectorAll('#route-list li')) {
    li.hidden = q !== '' && !li.dataset.route.toLowerCase().includes(q);
  }
}

async function init() {
  document.getElementById('filter').addEventListener('input', filterRoutes);
  try {
    const res = await fetch('/openapi.json');
    if (!res.ok) throw new Error(`GET /openapi.json answered ${res.status}`);
    spec = await res.json();
    render();
  } catch (e) {
    document.getElementById('spec').replaceChildren(el('p', { class: 'error' }, 'Cannot load the specification: ' + e.message));
  }
}

init();
