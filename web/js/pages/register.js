// Register: a customer or a priest (with profile fields and optional KYC).
// Registration logs the new user in; priests then wait for an admin's verification.
import { register } from '../api.js';
import { startPage, bindForm, validateWith, rules, $, param, safeNext } from '../ui.js';
import { kycRules, listRule, splitList } from '../parts/kyc.js';

const user = await startPage();
const nextParam = param('next');
const next = safeNext(nextParam);
if (user) location.replace(next);
if (nextParam) $('#login-link').href = `/login.html?next=${encodeURIComponent(next)}`;

const form = $('#register-form');
const priestFields = $('#priest-fields');

const birthFields = $('#birth-fields');

function syncRole() {
  const priest = form.elements.role.value === 'priest';
  priestFields.hidden = !priest;
  birthFields.hidden = priest; // a customer's details for the muhurta; a priest's profile instead
  // Hidden fields are not sent or validated.
  for (const el of priestFields.querySelectorAll('input')) el.disabled = !priest;
  for (const el of birthFields.querySelectorAll('input')) el.disabled = priest;
}
for (const r of form.elements.role) r.addEventListener('change', syncRole);
if (param('role') === 'priest') form.elements.role.value = 'priest';
syncRole();

const KYC = ['aadhaar_number', 'pan_number', 'bank_account_number', 'bank_ifsc_code'];

function validate(d) {
  const errors = validateWith(d, {
    username: [rules.required, rules.username],
    email: [rules.required, rules.email],
    password: [rules.required, rules.password],
    password_confirm: [rules.required],
    first_name: [rules.maxLen(500)],
    last_name: [rules.maxLen(500)],
    phone: [rules.phone],
    place_of_birth: [rules.maxLen(500)],
  });
  if (!errors.password_confirm && d.password_confirm !== d.password) errors.password_confirm = 'Passwords do not match.';
  if (d.role === 'priest') {
    Object.assign(
      errors,
      validateWith(d, {
        specializations: [listRule],
        languages: [listRule],
        experience_years: [rules.required, rules.intRange(0, 80)],
        service_radius_km: [rules.required, rules.intRange(0, 500)],
        ...Object.fromEntries(KYC.map((k) => [k, [kycRules[k]]])),
      }),
    );
  }
  return errors;
}

bindForm(form, {
  busyText: 'Creating account…',
  validate,
  action: async (d) => {
    const body = {
      username: d.username,
      email: d.email,
      password: d.password,
      password_confirm: d.password_confirm,
      role: d.role,
      first_name: d.first_name,
      last_name: d.last_name,
    };
    for (const k of ['phone', 'date_of_birth', 'time_of_birth', 'place_of_birth']) if (d[k]) body[k] = d[k];
    if (d.role === 'priest') {
      body.specializations = splitList(d.specializations);
      body.languages = splitList(d.languages);
      body.experience_years = Number(d.experience_years);
      body.service_radius_km = Number(d.service_radius_km);
      for (const k of KYC) if (d[k]) body[k] = d[k];
    }
    await register(body);
    location.assign(d.role === 'priest' ? '/dashboard.html?welcome=priest' : next);
  },
});
