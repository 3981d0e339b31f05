// The API reference at /api/docs/ (issue 15): our own page that renders
// /api/openapi.json under the site's CSP. It shows every operation of the
// document (one section each, with its responses), and loads without a
// console error or CSP violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, expectText } from '../lib/browser.js';

let b;
before(async () => {
  b = await launch();
});
after(async () => {
  await b?.close();
});

test('the docs page renders every operation of /api/openapi.json', async () => {
  const ctx = await b.newContext();
  const page = await ctx.newPage();
  const spec = await (await ctx.request.get('/api/openapi.json')).json();
  const ops = Object.values(spec.paths).flatMap((item) => ['get', 'post', 'patch', 'put', 'delete'].filter((m) => item[m]).map((m) => item[m]));
  await page.goto('/api/docs/');
  await expectText(page.locator('h1'), new RegExp(`^${spec.info.title} ${spec.info.version} \\(OpenAPI 3\\.1`));
  assert.equal(await page.locator('#operations section.op').count(), ops.length);
  const booking = page.locator('#bookings_create');
  await expectText(booking.locator('h3'), /POST\s*\/api\/bookings\//);
  // Its responses table lists every documented status, the 409 among them.
  const statuses = await booking.locator('table').last().locator('tbody tr td:first-child').allInnerTexts();
  assert.deepEqual(statuses, Object.keys(spec.paths['/api/bookings/'].post.responses));
  await expectText(page.locator('#response-Conflict'), /slot_taken/);
  assert.deepEqual(b.errors, []);
  await ctx.close();
});
