// validate-openapi.mjs — validates an OpenAPI document with swagger-parser
// (schema of the OpenAPI version, then semantics: unique operationIds, path
// templates, $refs). Used by tests/sh/test_openapi.sh (issue 15).
//   node lib/validate-openapi.mjs schemas/openapi.yaml
// Exits 0 when valid, 1 with the validator's message otherwise.
import SwaggerParser from '@apidevtools/swagger-parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate-openapi.mjs FILE');
  process.exit(2);
}
try {
  const api = await SwaggerParser.validate(file);
  console.log(`valid: ${api.info.title} ${api.info.version} (OpenAPI ${api.openapi}), ` +
              `${Object.keys(api.paths).length} paths`);
} catch (err) {
  console.error(`invalid: ${file}: ${err.message}`);
  process.exit(1);
}
