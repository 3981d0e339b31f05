// dash-account.js — edit one's own account (PATCH /api/auth/me/): name,
// phone, address, whether to get e-mail about bookings and orders; priests
// also their profile (lists, experience, radius, bio).
import { patch, me } from '../api.js';
import { h, bindForm, field, rules, validateWith, toast } from '../ui.js';
import { listRule, splitList } from './kyc.js';

export function accountForm(user, onSaved) {
  const p = user.priest_profile;
  const input = (name, label, attrs = {}, hint) => field(label, h('input', { name, type: 'text', ...attrs }), hint);
  const form = h(
    'form',
    { id: 'account-form', class: 'card', method: 'post', action: '#' },
    h('div', { class: 'form-error', role: 'alert', tabindex: '-1' }),
    h(
      'div',
      { class: 'form-row' },
      input('first_name', 'First name', { value: user.first_name || '', autocomplete: 'given-name', maxlength: 500 }),
      input('last_name', 'Last name', { value: user.last_name || '', autocomplete: 'family-name', maxlength: 500 }),
      input('phone', 'Phone', { value: user.phone || '', type: 'tel', autocomplete: 'tel' }),
    ),
    field('Address', h('textarea', { name: 'address', rows: 2, maxlength: 500, autocomplete: 'street-address' }, user.address || '')),
    h(
      'div',
      { class: 'field' },
      h(
        'label',
        { class: 'choice' },
        h('input', { type: 'checkbox', name: 'email_notifications', checked: user.email_notifications !== false }),
        'E-mail me about my bookings and orders',
      ),
    ),
    p
      ? h(
          'fieldset',
          {},
          h('legend', {}, 'Priest profile'),
          h(
            'div',
            { class: 'form-row' },
            input('specializations', 'Specializations', { value: (p.specializations || []).join(', ') }, 'Separate with commas.'),
            input('languages', 'Languages', { value: (p.languages || []).join(', ') }, 'Separate with commas.'),
            input('experience_years', 'Experience (years)', { type: 'number', min: 0, max: 80, step: 1, value: p.experience_years ?? 0 }),
            input('service_radius_km', 'Service radius (km)', { type: 'number', min: 0, max: 500, step: 1, value: p.service_radius_km ?? 0 }),
          ),
          field('About you', h('textarea', { name: 'bio', rows: 3, maxlength: 2000 }, p.bio || '')),
        )
      : null,
    h('p', { class: 'actions' }, h('button', { class: 'btn', type: 'submit' }, 'Save changes')),
  );
  bindForm(form, {
    busyText: 'Saving…',
    validate: (d) =>
      validateWith(d, {
        first_name: [rules.maxLen(500)],
        last_name: [rules.maxLen(500)],
        phone: [rules.phone],
        address: [rules.maxLen(500)],
        ...(p
          ? {
              specializations: [listRule],
              languages: [listRule],
              experience_years: [rules.required, rules.intRange(0, 80)],
              service_radius_km: [rules.required, rules.intRange(0, 500)],
              bio: [rules.maxLen(2000)],
            }
          : {}),
      }),
    action: async (d) => {
      const body = {
        first_name: d.first_name,
        last_name: d.last_name,
        phone: d.phone || null,
        address: d.address || null,
        email_notifications: d.email_notifications === true,
      };
      if (p) {
        Object.assign(body, {
          specializations: splitList(d.specializations),
          languages: splitList(d.languages),
          experience_years: Number(d.experience_years),
          service_radius_km: Number(d.service_radius_km),
          bio: d.bio,
        });
      }
      await patch('/api/auth/me/', body);
      const fresh = await me({ fresh: true });
      toast('Your details are saved.', 'ok');
      if (onSaved) onSaved(fresh);
    },
  });
  return form;
}
