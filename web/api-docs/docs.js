// docs.js — renders /api/openapi.json as a readable reference (issue 15).
// Our own small page instead of a vendored renderer: the site's CSP allows
// no inline script or style, and every text from the document goes through
// textContent, never innerHTML.
const el = (tag, props = {}, ...kids) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') n.textContent = v;
    else n.setAttribute(k, v);
  }
  for (const k of kids) if (k) n.append(k);
  return n;
};

const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

function refName(ref) {
  return ref.split('/').pop();
}

/** Follows a local $ref ("#/components/...") in the document. */
function resolve(doc, node) {
  let n = node;
  for (let i = 0; n && n.$ref && i < 10; i++) {
    n = n.$ref.slice(2).split('/').reduce((o, k) => (o ? o[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), doc);
  }
  return n || {};
}

function typeOf(doc, s) {
  if (!s) return 'any';
  if (s.$ref) return refName(s.$ref);
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const alts = s.anyOf || s.oneOf;
  if (alts) return alts.map((a) => typeOf(doc, a)).join(' | ');
  if (s.allOf) return s.allOf.map((a) => typeOf(doc, a)).join(' & ');
  const t = Array.isArray(s.type) ? s.type.join(' | ') : s.type || 'any';
  if (t === 'array') return `array of ${typeOf(doc, s.items)}`;
  return s.format ? `${t} (${s.format})` : t;
}

/** A schema as a nested list of its properties (named schemas are links, not expanded twice). */
function schemaList(doc, schema, depth = 0) {
  const s = schema && schema.$ref ? resolve(doc, schema) : schema || {};
  const props = s.properties || (s.items && resolve(doc, s.items).properties);
  if (!props || depth > 3) return null;
  const required = new Set(s.required || []);
  const ul = el('ul', { class: 'schema' });
  for (const [name, p] of Object.entries(props)) {
    const li = el('li', {}, el('code', { text: name }), ` ${typeOf(doc, p)}${required.has(name) ? ', required' : ''}`);
    if (p.description) li.append(el('span', { class: 'muted', text: ` — ${p.description}` }));
    if (!p.$ref) {
      const inner = schemaList(doc, p, depth + 1);
      if (inner) li.append(inner);
    }
    ul.append(li);
  }
  return ul;
}

function contentBlock(doc, content) {
  const frag = document.createDocumentFragment();
  for (const [type, media] of Object.entries(content || {})) {
    frag.append(el('p', {}, el('code', { text: type }), ` ${typeOf(doc, media.schema)}`));
    const list = schemaList(doc, media.schema);
    if (list) frag.append(list);
  }
  return frag;
}

function parameters(doc, op) {
  const params = (op.parameters || []).map((p) => resolve(doc, p));
  if (!params.length) return null;
  const body = el('tbody');
  for (const p of params) {
    body.append(el('tr', {},
      el('td', {}, el('code', { text: p.name })), el('td', { text: p.in }),
      el('td', { text: typeOf(doc, p.schema) + (p.required ? ', required' : '') }),
      el('td', { text: p.description || '' })));
  }
  return el('table', {}, el('caption', { class: 'muted', text: 'Parameters' }),
    el('thead', {}, el('tr', {}, el('th', { text: 'name' }), el('th', { text: 'in' }), el('th', { text: 'type' }), el('th', { text: 'meaning' }))),
    body);
}

function responses(doc, op) {
  const body = el('tbody');
  for (const [status, r] of Object.entries(op.responses || {})) {
    const res = resolve(doc, r);
    const name = r.$ref ? ` (${refName(r.$ref)})` : '';
    const types = Object.keys(res.content || {}).join(', ');
    body.append(el('tr', {}, el('td', {}, el('strong', { text: status })), el('td', { text: `${res.description || ''}${name}` }),
      el('td', {}, el('code', { text: types }))));
  }
  return el('table', {}, el('caption', { class: 'muted', text: 'Responses' }),
    el('thead', {}, el('tr', {}, el('th', { text: 'status' }), el('th', { text: 'meaning' }), el('th', { text: 'body' }))), body);
}

function operation(doc, path, method, op) {
  const id = op.operationId || `${method}-${path}`;
  const box = el('section', { class: 'op', id, 'aria-labelledby': `${id}-h` },
    el('h3', { id: `${id}-h` }, el('span', { class: 'method', text: method.toUpperCase() }), el('code', { text: path })));
  if (op.summary) box.append(el('p', { text: op.summary }));
  if (op.description) box.append(el('p', { class: 'intro muted', text: op.description }));
  const auth = op.security && op.security.length ? op.security.map((s) => Object.keys(s).join('+')).join(' or ') : 'public';
  box.append(el('p', { class: 'muted', text: `Authentication: ${auth}` }));
  const params = parameters(doc, op);
  if (params) box.append(params);
  if (op.requestBody) {
    const rb = resolve(doc, op.requestBody);
    box.append(el('p', {}, el('strong', { text: 'Request body' })), contentBlock(doc, rb.content));
  }
  box.append(responses(doc, op));
  return box;
}

function render(doc) {
  document.getElementById('title').textContent = `${doc.info.title} ${doc.info.version} (OpenAPI ${doc.openapi})`;
  document.getElementById('intro').append(el('p', { class: 'intro', text: doc.info.description || '' }));
  const toc = el('ul');
  const ops = document.getElementById('operations');
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) {
      if (!item[m]) continue;
      const op = item[m];
      const id = op.operationId || `${m}-${path}`;
      toc.append(el('li', {}, el('a', { href: `#${id}` }, el('span', { class: 'method', text: m.toUpperCase() }), path)));
      ops.append(operation(doc, path, m, op));
    }
  }
  document.getElementById('toc').append(el('h2', { text: 'Endpoints' }), toc);
  const shared = document.getElementById('responses');
  for (const [name, r] of Object.entries(doc.components.responses || {})) {
    shared.append(el('section', { class: 'op', id: `response-${name}` }, el('h3', { text: name }), el('p', { text: r.description || '' })));
  }
  shared.append(el('h3', { text: 'Problem' }), schemaList(doc, doc.components.schemas.Problem));
  document.getElementById('responses-section').hidden = false;
}

async function main() {
  const status = document.getElementById('status');
  try {
    const res = await fetch('/api/openapi.json', { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`GET /api/openapi.json answered ${res.status}`);
    render(await res.json());
    status.textContent = '';
    status.hidden = true;
  } catch (err) {
    status.textContent = `The API description could not be loaded: ${err.message}`;
  }
}

main();
