// validate-responses.mjs — checks every response the tests received against
// the OpenAPI document (issue 15).
//   node lib/validate-responses.mjs schemas/openapi.yaml build/responses.ndjson
// The log has one JSON object per line, {source, method, path, status,
// content_type, body} — written by the C tests' HTTP client
// (tests/support/http.c) and the browser tests (lib/responses.js) when
// PUNYAKA_RESPONSE_LOG is set. Each response is matched to its operation by
// path template and method; it fails when its status is not documented for
// that operation, when its Content-Type is not one the status documents, or
// when its body does not match that media type's schema (ajv, JSON Schema
// 2020-12 as OpenAPI 3.1 uses). Only the document's scope is checked:
// paths under /api/ and /healthz, /readyz (not web/'s pages, not a metrics
// port a test points the client at). Three answers outside any operation are part
// of the contract (the document's info.description says so): any other path
// under /api/ answers 404 `not_found`, a known path asked with another
// method 405 `method_not_allowed`, both as problem+json, and a CORS
// preflight (OPTIONS with Access-Control-Request-Method) 204 with no body.
// Exits 0 when every response conforms, 1 listing each kind of mismatch once
// (with how often and one example), 2 on a usage or input error.
import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [specFile, logFile] = process.argv.slice(2);
if (!specFile || !logFile) {
  console.error('usage: node validate-responses.mjs OPENAPI LOG.ndjson');
  process.exit(2);
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'options', 'head'];

/** Path templates as regular expressions, the most literal first
 * (/api/orders/checkout/ before /api/orders/{id}/). */
function compilePaths(paths) {
  const out = Object.keys(paths).map((template) => {
    const parts = template.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&'));
    return { template, params: parts.length - 1, re: new RegExp(`^${parts.join('[^/]+')}$`) };
  });
  return out.sort((a, b) => a.params - b.params);
}

function mediaType(contentType) {
  return (contentType || '').split(';')[0].trim().toLowerCase();
}

function isJson(type) {
  return type === 'application/json' || type.endsWith('+json');
}

function main() {
  return SwaggerParser.dereference(specFile).then((api) => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const validators = new Map();
    const validatorFor = (key, schema) => {
      if (!validators.has(key)) validators.set(key, ajv.compile(schema));
      return validators.get(key);
    };
    const problemSchema = api.components.schemas.Problem;
    const templates = compilePaths(api.paths);
    const failures = new Map();
    const covered = new Set();
    const fail = (key, r, why) => {
      const f = failures.get(key) || { count: 0, why, example: r };
      f.count++;
      failures.set(key, f);
    };

    const checkBody = (key, r, content) => {
      const type = mediaType(r.content_type);
      const empty = r.body === '' || r.body === undefined;
      if (!content) {
        if (!empty) fail(`${key} body`, r, `a ${type || 'untyped'} body, but the document declares none for this status`);
        return;
      }
      if (r.method === 'HEAD' || (empty && r.status === 304)) return;
      const media = content[type];
      if (!media) {
        fail(`${key} type ${type}`, r, `Content-Type ${type || '(none)'} is not documented (documented: ${Object.keys(content).join(', ')})`);
        return;
      }
      if (!isJson(type) || !media.schema) return;
      if (r.body === null) {
        fail(`${key} text`, r, 'the body is not UTF-8 text');
        return;
      }
      let doc;
      try {
        doc = JSON.parse(r.body);
      } catch {
        fail(`${key} json`, r, `the body is not JSON although it is ${type}`);
        return;
      }
      const validate = validatorFor(`${key} ${type}`, media.schema);
      if (!validate(doc)) {
        const errs = validate.errors.slice(0, 4).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && e.params.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`);
        fail(`${key} schema ${errs.join('; ')}`, r, `the body does not match the schema: ${errs.join('; ')}`);
      }
    };

    const checkOutsideOperations = (r, pathname, known) => {
      const code = known ? 405 : 404;
      const key = `${r.method} ${pathname} ${r.status}`;
      if (r.status !== code) {
        fail(known ? `${r.method} ${known} ${r.status}` : key, r,
          known ? `${r.method} is not an operation of ${known}: expected 405, got ${r.status}`
                : `no operation has this path: expected 404, got ${r.status}`);
        return;
      }
      const schema = { allOf: [problemSchema], properties: { status: { const: code }, code: { const: known ? 'method_not_allowed' : 'not_found' } } };
      checkBody(known ? `${r.method} ${known} ${code}` : `unknown path ${code}`, r,
        { 'application/problem+json': { schema } });
    };

    let total = 0;   // responses in the document's scope
    for (const [i, line] of readFileSync(logFile, 'utf8').split('\n').entries()) {
      if (!line.trim()) continue;
      let r;
      try {
        r = JSON.parse(line);
      } catch {
        console.error(`${logFile}:${i + 1}: not JSON`);
        process.exit(2);
      }
      const pathname = r.path.split('?')[0].split('#')[0];
      const method = r.method.toLowerCase();
      // The document's scope: /api/ and the probes. Pages of web/ and a
      // worker's metrics port (tests that point the client there) are not the API.
      if (!pathname.startsWith('/api/') && pathname !== '/healthz' && pathname !== '/readyz') continue;
      total++;
      if (method === 'options' && r.status === 204 && !r.body) continue;   // a CORS preflight
      const match = templates.find((t) => t.re.test(pathname));
      if (!match) {
        checkOutsideOperations(r, pathname, null);
        continue;
      }
      const item = api.paths[match.template];
      const op = item[method] || (method === 'head' ? item.get : undefined);
      if (!op) {
        checkOutsideOperations(r, pathname, match.template);
        continue;
      }
      const key = `${r.method} ${match.template} ${r.status}`;
      covered.add(op);
      const resp = op.responses[String(r.status)] || op.responses[`${String(r.status)[0]}XX`] || op.responses.default;
      if (!resp) {
        fail(key, r, `status ${r.status} is not documented for this operation (documented: ${Object.keys(op.responses).join(', ')})`);
        continue;
      }
      checkBody(key, r, resp.content);
    }
    if (total === 0) {
      console.error(`${logFile} holds no responses: did PUNYAKA_RESPONSE_LOG reach the tests?`);
      process.exit(1);
    }
    let ops = 0;
    for (const item of Object.values(api.paths)) ops += METHODS.filter((m) => item[m]).length;
    console.log(`${total} responses, ${covered.size} of ${ops} operations exercised`);
    if (failures.size === 0) {
      console.log('every response conforms to the document');
      return 0;
    }
    const sorted = [...failures.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    for (const [key, f] of sorted) {
      const ex = f.example;
      const body = typeof ex.body === 'string' ? ex.body.slice(0, 300) : String(ex.body);
      console.log(`NONCONFORMING ${key.split(' ').slice(0, 3).join(' ')} (${f.count}×): ${f.why}\n    e.g. ${ex.source}: ${ex.method} ${ex.path} → ${ex.status} ${ex.content_type || ''} ${body}`);
    }
    console.log(`${failures.size} kinds of nonconforming responses`);
    return 1;
  });
}

main().then((rc) => process.exit(rc), (err) => {
  console.error(`cannot check the responses: ${err.message}`);
  process.exit(2);
});
