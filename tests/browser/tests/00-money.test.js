// The web UI's money rules (web/js/money.js), without a browser: integer
// paise, the 25 % advance rounded half-up to the paisa, Indian digit grouping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toPaise, fromPaise, formatINR, splitAdvance, shippingFor, parsePaise } from '../../../web/js/money.js';

test('decimal strings ⇔ paise, exactly', () => {
  assert.equal(toPaise('1500.00'), 150000n);
  assert.equal(toPaise('1500.5'), 150050n);
  assert.equal(toPaise('7'), 700n);
  assert.equal(toPaise('0.01'), 1n);
  assert.equal(toPaise('99999999.99'), 9999999999n);
  assert.equal(fromPaise(150050n), '1500.50');
  assert.equal(fromPaise(1n), '0.01');
  for (const bad of ['', '1.234', '-5', '1e3', '1,500.00', ' .5', 'abc', '0x10']) assert.equal(parsePaise(bad), null, bad);
  // 0.1 + 0.2 in floating point is 0.30000000000000004; in paise it is 30.
  assert.equal(fromPaise(toPaise('0.10') + toPaise('0.20')), '0.30');
});

test('advance = 25 % half-up to the paisa, balance = the rest', () => {
  const cases = [
    ['1500.00', '375.00', '1125.00'],
    ['1501.00', '375.25', '1125.75'],
    ['1500.01', '375.00', '1125.01'], // 375.0025
    ['1500.02', '375.01', '1125.01'], // 375.005 ⇒ half-up
    ['0.02', '0.01', '0.01'], // 0.005 ⇒ half-up
    ['0.01', '0.00', '0.01'], // 0.0025
    ['0.03', '0.01', '0.02'], // 0.0075
    ['0.00', '0.00', '0.00'],
    ['99999999.99', '25000000.00', '74999999.99'], // 24999999.9975
  ];
  for (const [price, advance, balance] of cases) {
    const s = splitAdvance(price);
    assert.equal(fromPaise(s.advance), advance, `advance of ${price}`);
    assert.equal(fromPaise(s.balance), balance, `balance of ${price}`);
    assert.equal(s.advance + s.balance, toPaise(price));
  }
  // Every price from 0.00 to 20.00: the sum holds and the rounding is half-up.
  for (let p = 0n; p <= 2000n; p++) {
    const { advance, balance } = splitAdvance(p);
    assert.equal(advance + balance, p);
    const exact4 = p * 25n; // advance in 1/100 paise
    assert.ok(advance * 100n - exact4 <= 50n && exact4 - advance * 100n < 50n, `price ${p}`); // ties go up
  }
});

test('₹ with Indian grouping', () => {
  assert.equal(formatINR('1500.00'), '₹1,500.00');
  assert.equal(formatINR('150000.00'), '₹1,50,000.00');
  assert.equal(formatINR('12345678.9'), '₹1,23,45,678.90');
  assert.equal(formatINR('999.99'), '₹999.99');
  assert.equal(formatINR('0.00'), '₹0.00');
  assert.equal(formatINR(150000n), '₹1,500.00');
  assert.equal(formatINR(null), '—');
});

test('shipping: ₹50 below a ₹500 subtotal, free from ₹500', () => {
  assert.equal(shippingFor('499.99'), 5000n);
  assert.equal(shippingFor('500.00'), 0n);
  assert.equal(shippingFor('0.00'), 0n);
});
