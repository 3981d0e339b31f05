// money.js — amounts as integer paise (BigInt), never floating point.
// The API renders money as decimal strings ("1500.00") and accepts the same.

const DECIMAL = /^(\d{1,12})(?:\.(\d{1,2}))?$/;

/** "1500.00" | "1500.5" | "1500" ⇒ 150000n (paise). Throws on anything else. */
export function toPaise(text) {
  if (typeof text === 'bigint') return text;
  const m = DECIMAL.exec(String(text ?? '').trim());
  if (!m) throw new RangeError(`not an amount: ${text}`);
  const frac = (m[2] ?? '').padEnd(2, '0');
  return BigInt(m[1]) * 100n + BigInt(frac);
}

/** Like toPaise, but null for input that is not an amount (for form fields). */
export function parsePaise(text) {
  try {
    return toPaise(text);
  } catch {
    return null;
  }
}

/** 150000n ⇒ "1500.00" (the API's format). */
export function fromPaise(paise) {
  const p = BigInt(paise);
  const sign = p < 0n ? '-' : '';
  const abs = p < 0n ? -p : p;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

/** Indian digit grouping of an integer string: "1234567" ⇒ "12,34,567". */
function groupIndian(digits) {
  if (digits.length <= 3) return digits;
  const last3 = digits.slice(-3);
  let rest = digits.slice(0, -3);
  const parts = [];
  while (rest.length > 2) {
    parts.unshift(rest.slice(-2));
    rest = rest.slice(0, -2);
  }
  if (rest) parts.unshift(rest);
  return `${parts.join(',')},${last3}`;
}

/** "1500.00" or 150000n ⇒ "₹1,500.00" (Indian grouping: ₹1,50,000.00). */
export function formatINR(amount) {
  if (amount === null || amount === undefined || amount === '') return '—';
  let p;
  try {
    p = toPaise(typeof amount === 'bigint' ? amount : String(amount).replace(/^-/, ''));
  } catch {
    return String(amount);
  }
  const negative = typeof amount === 'bigint' ? amount < 0n : String(amount).startsWith('-');
  if (p < 0n) p = -p;
  const text = fromPaise(p);
  const [whole, frac] = text.split('.');
  return `${negative ? '−' : ''}₹${groupIndian(whole)}.${frac}`;
}

/**
 * The booking payment split (DESIGN §4): advance = 25 % of the price rounded
 * half-up to the paisa, balance = price − advance, so they always sum to the
 * price. round_half_up(p × 25 / 100) = floor((p × 25 + 50) / 100).
 */
export function splitAdvance(price) {
  const p = toPaise(price);
  const advance = (p * 25n + 50n) / 100n;
  return { price: p, advance, balance: p - advance };
}

/** Shipping rule (DESIGN §4): flat ₹50, free from a ₹500 subtotal. */
export const SHIPPING_PAISE = 5000n;
export const FREE_SHIPPING_FROM_PAISE = 50000n;
export function shippingFor(subtotal) {
  const s = toPaise(subtotal);
  return s === 0n || s >= FREE_SHIPPING_FROM_PAISE ? 0n : SHIPPING_PAISE;
}
