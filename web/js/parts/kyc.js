// kyc.js — the API's KYC rules (common/kyc.h), so mistakes show before sending.
// Input is normalized the API's way first: spaces, tabs and hyphens dropped, upper-cased.

export const normalizeKyc = (v) => String(v || '').replace(/[\s-]/g, '').toUpperCase();

// Verhoeff (dihedral group D5) tables.
const D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

export function verhoeffValid(digits) {
  if (!/^\d+$/.test(digits)) return false;
  let c = 0;
  [...digits].reverse().forEach((ch, i) => {
    c = D[c][P[i % 8][Number(ch)]];
  });
  return c === 0;
}

export const kycRules = {
  aadhaar_number: (v) => {
    const s = normalizeKyc(v);
    if (!/^[2-9]\d{11}$/.test(s)) return 'Enter the 12-digit Aadhaar number.';
    return verhoeffValid(s) ? null : 'This is not a valid Aadhaar number (check digit mismatch).';
  },
  pan_number: (v) => (/^[A-Z]{3}[PCHFATBLJG][A-Z]\d{4}[A-Z]$/.test(normalizeKyc(v)) ? null : 'Enter a valid PAN, like ABCPE1234F.'),
  bank_account_number: (v) => (/^\d{9,18}$/.test(normalizeKyc(v)) ? null : 'Enter 9 to 18 digits.'),
  bank_ifsc_code: (v) => (/^[A-Z]{4}0[A-Z0-9]{6}$/.test(normalizeKyc(v)) ? null : 'Enter a valid IFSC, like SBIN0001234.'),
};

/** "a, b ,, c" ⇒ ["a", "b", "c"] */
export function splitList(text) {
  return String(text || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function listRule(v) {
  const items = splitList(v);
  if (items.length > 20) return 'At most 20 items.';
  if (items.some((s) => new TextEncoder().encode(s).length > 100)) return 'Each item may be at most 100 characters.';
  return null;
}
