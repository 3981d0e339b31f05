// setup.mjs — run once before the browser tests: creates the catalog and
// writes it to $PUNYAKA_FIXTURES (JSON) for the test files to read.
import { writeFileSync } from 'node:fs';
import { createCatalog } from './lib/fixtures.js';

const fixtures = await createCatalog(process.env.PUNYAKA_TAG || Date.now().toString(36));
writeFileSync(process.env.PUNYAKA_FIXTURES || 'fixtures.json', JSON.stringify(fixtures, null, 2));
console.log(`catalog: ${Object.keys(fixtures.services).length} services, ${Object.keys(fixtures.products).length} products${fixtures.shopError ? ` (shop: ${fixtures.shopError})` : ''}`);
