// dash-schedule.js — the priest's own schedule (issue 17): weekly working
// hours and blocked periods, with the bookings each block overlaps.
// API: GET/PUT /api/priest/schedule/, GET/POST /api/priest/blocks/,
// DELETE /api/priest/blocks/{id}/ (docs/api.md "Priest schedules").
import { get, post, request } from '../api.js';
import { h, render, bindForm, field, load, empty, formatDate, formatStamp, toast } from '../ui.js';
import { actionButton } from './dash-common.js';

const DAYS = [
  ['mon', 'Monday'],
  ['tue', 'Tuesday'],
  ['wed', 'Wednesday'],
  ['thu', 'Thursday'],
  ['fri', 'Friday'],
  ['sat', 'Saturday'],
  ['sun', 'Sunday'],
];

// "09:00-13:00, 16:00-20:00" ⇔ [["09:00","13:00"],["16:00","20:00"]]; "" is a day off.
const showDay = (list) => list.map(([a, b]) => `${a}-${b}`).join(', ');
const INTERVAL = /^([01]\d|2[0-3]):(00|30)\s*[-–]\s*([01]\d|2[0-3]):(00|30)$/;

function parseDay(text) {
  if (!text) return [];
  return text.split(',').map((part) => {
    const m = INTERVAL.exec(part.trim());
    return m ? [`${m[1]}:${m[2]}`, `${m[3]}:${m[4]}`] : null;
  });
}

// The API's rule (common/schedule_rules.c), so most mistakes are shown before sending.
function checkDay(list) {
  if (list.some((iv) => !iv)) return 'Write intervals like 09:00-13:00, on the half hour, separated by commas.';
  if (list.length > 4) return 'At most 4 intervals a day.';
  for (let i = 0; i < list.length; i++) {
    const [a, b] = list[i];
    if (a >= b) return `${a}-${b} must start before it ends.`;
    if (a < '06:00' || b > '21:00') return 'Working hours lie within 06:00–21:00.';
    if (i > 0 && a < list[i - 1][1]) return 'Intervals must be in order and must not overlap.';
  }
  return null;
}

function hoursForm(schedule) {
  const inputs = DAYS.map(([key, name]) =>
    field(
      name,
      h('input', { name: `hours.${key}`, id: `hours-${key}`, value: showDay(schedule.hours[key] || []), autocomplete: 'off', inputmode: 'numeric' }),
    ),
  );
  const form = h(
    'form',
    { id: 'hours-form', method: 'post', action: '#', 'aria-describedby': 'hours-help' },
    h('p', { class: 'hint', id: 'hours-help' }, 'For each day, the times you take bookings, e.g. 09:00-13:00, 16:00-20:00 (half hours, within 06:00–21:00, at most 4). Leave a day empty for a day off.'),
    h('div', { class: 'form-error', role: 'alert', tabindex: '-1' }),
    inputs,
    h('p', { class: 'actions' }, h('button', { class: 'btn', type: 'submit' }, 'Save working hours')),
  );
  const status = h('p', { class: 'hint', id: 'hours-status' }, schedule.is_default ? 'You have not set your hours yet: every day 06:00–21:00.' : '');
  bindForm(form, {
    validate: (d) => {
      const errors = {};
      for (const [key] of DAYS) {
        const msg = checkDay(parseDay(d[`hours.${key}`]));
        if (msg) errors[`hours.${key}`] = msg;
      }
      return errors;
    },
    action: async (d) => {
      const hours = Object.fromEntries(DAYS.map(([key]) => [key, parseDay(d[`hours.${key}`])]));
      await request('/api/priest/schedule/', { method: 'PUT', body: { hours } });
      render(status, 'Saved. Customers now see only these times.');
      toast('Working hours saved.', 'ok');
    },
  });
  return h('div', {}, status, form);
}

// One conflicting booking: its id at once, then when and with whom.
function conflictItem(id) {
  const li = h('li', {}, `Booking #${id}`);
  get(`/api/bookings/${id}/`)
    .then((bk) => render(li, `${formatDate(bk.booking_date)} at ${String(bk.booking_time).slice(0, 5)} — ${bk.customer_details ? bk.customer_details.name : 'a customer'} (${bk.status})`))
    .catch(() => {}); // the id alone still says which booking
  return li;
}

function blockItem(b, reload) {
  const conflicts = b.conflicting_bookings || [];
  return h(
    'li',
    { class: 'card block-item', id: `block-${b.id}` },
    h('p', {}, h('strong', {}, `${formatStamp(b.start)} – ${formatStamp(b.end)}`), b.reason ? ` · ${b.reason}` : ''),
    conflicts.length
      ? h(
          'div',
          { class: 'notice notice-warn', role: 'note' },
          h('p', {}, `${conflicts.length} booking${conflicts.length === 1 ? '' : 's'} inside this block stay booked until you cancel them: `),
          h('ul', { class: 'conflicts' }, conflicts.slice(0, 20).map(conflictItem)),
        )
      : h('p', { class: 'hint' }, 'No bookings inside this block.'),
    h(
      'p',
      { class: 'actions' },
      actionButton(
        'Remove block',
        async () => {
          await request(`/api/priest/blocks/${b.id}/`, { method: 'DELETE' });
          toast('Block removed.', 'ok');
          await reload();
        },
        { danger: true },
      ),
    ),
  );
}

function blockForm(reload) {
  const form = h(
    'form',
    { id: 'block-form', method: 'post', action: '#' },
    h('div', { class: 'form-error', role: 'alert', tabindex: '-1' }),
    field('From', h('input', { type: 'datetime-local', name: 'start', step: 60, required: true }), 'India time (IST).'),
    field('Until', h('input', { type: 'datetime-local', name: 'end', step: 60, required: true }), 'The block ends at this moment; at most a year ahead.'),
    field('Reason (optional)', h('input', { name: 'reason', maxlength: 500 }), 'Only you see it.'),
    h('p', { class: 'actions' }, h('button', { class: 'btn', type: 'submit' }, 'Block this time')),
  );
  bindForm(form, {
    validate: (d) => {
      const errors = {};
      if (!d.start) errors.start = 'This field is required.';
      if (!d.end) errors.end = 'This field is required.';
      else if (d.start && d.end <= d.start) errors.end = 'Must be after the start.';
      return errors;
    },
    action: async (d) => {
      const block = await post('/api/priest/blocks/', { start: d.start, end: d.end, reason: d.reason || null });
      const n = (block.conflicting_bookings || []).length;
      toast(n ? `Blocked. ${n} existing booking${n === 1 ? ' is' : 's are'} inside it: see below.` : 'Blocked.', 'ok');
      form.reset();
      await reload();
    },
  });
  return form;
}

/** The Schedule section's content: hours, a new block, the blocks. */
export function scheduleSection() {
  const hoursBox = h('div', { id: 'hours-box' });
  const blocksBox = h('div', { id: 'blocks-list', 'aria-live': 'polite' });
  const reload = () =>
    load(
      blocksBox,
      () => get('/api/priest/blocks/', { query: { page_size: 100 } }),
      (page) => {
        if (!page.results.length) return render(blocksBox, empty('No blocked periods. Add one for a day off, a trip or part of a day.'));
        render(blocksBox, h('ul', { class: 'item-list' }, page.results.map((b) => blockItem(b, reload))));
      },
    );
  load(hoursBox, () => get('/api/priest/schedule/'), (s) => render(hoursBox, hoursForm(s)));
  reload();
  return [
    h('h3', { id: 'hours-h' }, 'Weekly working hours'),
    hoursBox,
    h('h3', { id: 'blocks-h' }, 'Blocked periods'),
    h('p', { class: 'hint' }, 'Customers cannot book you during a blocked period. Bookings you already have stay: each block lists them so you can confirm or cancel.'),
    blockForm(reload),
    blocksBox,
  ];
}
