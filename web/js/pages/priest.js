// Priest page: profile, services, reviews, and the booking form — a service,
// a date ⇒ the free start times (GET /api/priests/{id}/availability/), the
// address and instructions, and the 25 % advance / 75 % balance computed from
// the service's price in integer paise before the customer confirms.
import { get, post, ApiError, loginUrl } from '../api.js';
import {
  startPage, load, render, h, $, param, empty, stars, formatINR, formatDate, formatTime, formatStamp,
  bindForm, validateWith, rules, todayLocal, loading, errorBox,
} from '../ui.js';
import { splitAdvance, fromPaise } from '../money.js';
import { initials, tags } from '../parts/cards.js';

const user = await startPage();
const root = $('#priest-root');
const id = Number.parseInt(param('id') || '', 10);

if (!Number.isInteger(id) || id < 1) {
  render(root, h('h1', {}, 'Priest not found'), empty('This link does not name a priest.'), h('a', { href: '/priests.html' }, '← All priests'));
} else {
  load(root, () => get(`/api/priests/${id}/`), draw);
}

function facts(p) {
  return h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'Experience'), h('dd', {}, `${p.experience_years} year${p.experience_years === 1 ? '' : 's'}`),
    h('dt', {}, 'Languages'), h('dd', {}, (p.languages_list || []).join(', ') || '—'),
    h('dt', {}, 'Travels up to'), h('dd', {}, `${p.service_radius_km ?? '—'} km`),
  );
}

function reviewList(reviews) {
  if (!reviews || !reviews.length) return empty('No reviews yet.');
  return h(
    'ul',
    { class: 'item-list', id: 'reviews' },
    reviews.map((r) =>
      h(
        'li',
        { class: 'review' },
        h('p', {}, h('span', { class: 'stars', 'aria-label': `${r.rating} out of 5` }, '★'.repeat(r.rating) + '☆'.repeat(5 - r.rating)), ` ${r.customer_name}`),
        r.feedback ? h('p', {}, r.feedback) : null,
        h('p', { class: 'muted' }, formatStamp(r.rated_at)),
      ),
    ),
  );
}

function draw(p) {
  document.title = `${p.name} — Punyaka`;
  const services = (p.services || []).filter((s) => s.is_active !== false);
  render(
    root,
    h('p', {}, h('a', { href: '/priests.html' }, '← All priests')),
    h(
      'section',
      { class: 'profile-head', 'aria-labelledby': 'priest-name' },
      h('div', { class: 'avatar', 'aria-hidden': 'true' }, initials(p.name)),
      h('div', {}, h('h1', { id: 'priest-name' }, p.name), stars(p.average_rating, p.total_ratings), p.is_verified ? h('p', {}, h('span', { class: 'badge badge-verified' }, '✓ Verified priest')) : null),
      h('p', { class: 'jump-book' }, h('a', { class: 'btn', href: '#book' }, 'Check times & book')),
    ),
    p.bio ? h('p', {}, p.bio) : null,
    tags(p.specializations_list, 'Specializations'),
    facts(p),
    h(
      'div',
      { class: 'two-col' },
      h(
        'div',
        {},
        h('h2', { id: 'services-h' }, 'Services'),
        services.length
          ? h(
              'ul',
              { class: 'item-list', 'aria-labelledby': 'services-h' },
              services.map((s) =>
                h('li', { class: 'card' }, h('h3', {}, s.name), s.description ? h('p', { class: 'muted' }, s.description) : null, h('p', {}, h('span', { class: 'price' }, formatINR(s.base_price)), ` · ${s.duration_minutes} min`)),
              ),
            )
          : empty('No services are offered at the moment.'),
        h('h2', {}, 'Reviews'),
        reviewList(p.reviews),
      ),
      h('section', { class: 'card', id: 'book', 'aria-labelledby': 'book-h' }, h('h2', { id: 'book-h' }, `Book ${p.name}`), bookingPanel(p, services)),
    ),
  );
}

function bookingPanel(p, services) {
  if (!services.length) return empty('Booking opens when services are available.');
  const notice = !user
    ? h('div', { class: 'notice notice-warn' }, h('p', {}, 'You can check free times now. To book, ', h('a', { href: loginUrl(), id: 'login-to-book' }, 'log in'), ' or ', h('a', { href: `/register.html?next=${encodeURIComponent(location.pathname + location.search)}` }, 'create a customer account'), '.'))
    : user.role !== 'customer'
      ? h('div', { class: 'notice notice-warn' }, h('p', {}, `You are signed in as a ${user.role}. Only customers can book a priest.`))
      : null;

  const wanted = Number(param('service'));
  const initial = services.find((s) => s.id === wanted) || services[0];
  const serviceSelect = h(
    'select',
    { name: 'service', id: 'service', required: true },
    services.map((s) => h('option', { value: s.id, selected: s.id === initial.id }, `${s.name} — ${formatINR(s.base_price)} · ${s.duration_minutes} min`)),
  );
  const dateInput = h('input', { type: 'date', name: 'booking_date', id: 'booking_date', required: true, min: todayLocal(0), max: todayLocal(180), value: param('date') || todayLocal(1) });
  const slotsBox = h('div', { id: 'slots-box', 'aria-live': 'polite' });
  const summary = h('div', { class: 'summary', id: 'payment-summary', 'aria-live': 'polite' });
  const submit = h('button', { class: 'btn', type: 'submit', id: 'confirm-booking', disabled: !user || user.role !== 'customer' }, 'Confirm booking');
  const form = h(
    'form',
    { id: 'booking-form', method: 'post', action: '#' },
    h('div', { class: 'form-error', role: 'alert', tabindex: '-1' }),
    notice,
    h('div', { class: 'field' }, h('label', { for: 'service' }, 'Service'), serviceSelect),
    h('div', { class: 'field' }, h('label', { for: 'booking_date' }, 'Date'), dateInput, h('p', { class: 'hint' }, 'Times are Indian Standard Time. Up to 180 days ahead.')),
    h('fieldset', { class: 'field', id: 'time-field' }, h('legend', {}, 'Start time'), slotsBox),
    h('div', { class: 'field' }, h('label', { for: 'location_address' }, 'Address for the puja'), h('textarea', { name: 'location_address', id: 'location_address', rows: 3, maxlength: 500, autocomplete: 'street-address', required: true, placeholder: 'House, street, area, city' })),
    h('div', { class: 'field' }, h('label', { for: 'special_instructions' }, 'Special instructions ', h('span', { class: 'optional' }, '(optional)')), h('textarea', { name: 'special_instructions', id: 'special_instructions', rows: 3, maxlength: 2000, placeholder: 'Family names for the sankalpa, samagri you already have, parking…' })),
    summary,
    h('p', { class: 'actions' }, submit),
  );
  if (user && user.address) form.elements.location_address.value = user.address;

  const current = () => services.find((s) => String(s.id) === serviceSelect.value) || initial;

  function drawSummary() {
    const s = current();
    const { price, advance, balance } = splitAdvance(s.base_price);
    render(
      summary,
      h('h3', {}, 'Payment'),
      h(
        'dl',
        {},
        h('dt', {}, 'Service price'), h('dd', { id: 'sum-price' }, formatINR(price)),
        h('dt', {}, 'Advance now (25 %)'), h('dd', { id: 'sum-advance' }, formatINR(advance)),
        h('dt', {}, 'Balance after the puja (75 %)'), h('dd', { id: 'sum-balance' }, formatINR(balance)),
      ),
      h('p', { class: 'hint' }, 'Free cancellation up to 24 hours before the start; later, the advance is kept as the cancellation fee. Dakshina is optional, after the puja.'),
    );
    submit.textContent = `Confirm booking — pay ${formatINR(advance)} now`;
  }

  let seq = 0;
  async function loadSlots() {
    const mine = ++seq;
    const date = dateInput.value;
    if (!date) {
      render(slotsBox, h('p', { class: 'hint' }, 'Pick a date to see free times.'));
      return;
    }
    render(slotsBox, loading('Finding free times…'));
    try {
      const a = await get(`/api/priests/${p.id}/availability/`, { query: { date, service: serviceSelect.value } });
      if (mine !== seq) return; // a newer choice is loading
      if (!a.slots.length) {
        render(slotsBox, empty(`No free times on ${formatDate(date)}. Please try another date.`));
        return;
      }
      render(
        slotsBox,
        h('p', { class: 'hint' }, `${a.slots.length} free start time${a.slots.length === 1 ? '' : 's'} on ${formatDate(date)} (${a.duration_minutes} min service)`),
        h(
          'div',
          { class: 'slots', role: 'radiogroup', 'aria-label': 'Free start times' },
          a.slots.map((t, i) =>
            h('label', {}, h('input', { type: 'radio', name: 'booking_time', value: t, required: i === 0 }), h('span', { title: formatTime(t) }, t)),
          ),
        ),
      );
    } catch (err) {
      if (mine === seq) render(slotsBox, errorBox(err, loadSlots));
    }
  }

  serviceSelect.addEventListener('change', () => {
    drawSummary();
    loadSlots();
  });
  dateInput.addEventListener('change', loadSlots);
  drawSummary();
  loadSlots();

  bindForm(form, {
    busyText: 'Booking…',
    validate: (d) => {
      const errors = validateWith(d, {
        booking_date: [rules.required, (v) => (v < todayLocal(0) || v > todayLocal(180) ? 'Pick a date from today up to 180 days ahead.' : null)],
        location_address: [rules.required, rules.maxLen(500)],
        special_instructions: [rules.maxLen(2000)],
      });
      if (!d.booking_time) errors.booking_time = 'Pick a free start time.';
      return errors;
    },
    action: async (d) => {
      const body = {
        priest: p.id,
        service: Number(d.service),
        booking_date: d.booking_date,
        booking_time: d.booking_time,
        location_address: d.location_address,
      };
      if (d.special_instructions) body.special_instructions = d.special_instructions;
      let b;
      try {
        b = await post('/api/bookings/', body);
      } catch (err) {
        if (err instanceof ApiError && err.code === 'slot_taken') {
          loadSlots();
          err.message = 'That time was just booked by someone else. The free times have been refreshed — please pick another.';
          err.fields = {};
        }
        throw err;
      }
      render(form.parentElement, h('h2', { id: 'book-h' }, 'Booking requested'), confirmation(b, current()));
    },
  });
  return form;
}

function confirmation(b, s) {
  // The server's own split; ours is shown if an older server omits it.
  const local = splitAdvance(b.service_price || s.base_price);
  return h(
    'div',
    { class: 'notice notice-ok', id: 'booking-confirmation', role: 'status', tabindex: '-1' },
    h('p', {}, h('strong', {}, `Booking #${b.id} is ${b.status || 'pending'}`), ` — ${s.name} on ${formatDate(b.booking_date)} at ${String(b.booking_time).slice(0, 5)}.`),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Service price'), h('dd', {}, formatINR(b.service_price || fromPaise(local.price))),
      h('dt', {}, 'Advance paid (25 %)'), h('dd', { id: 'conf-advance' }, formatINR(b.advance_payment || fromPaise(local.advance))),
      h('dt', {}, 'Balance after the puja (75 %)'), h('dd', { id: 'conf-balance' }, formatINR(b.balance_payment || fromPaise(local.balance))),
    ),
    h('p', {}, 'The priest will confirm your booking. ', h('a', { href: '/dashboard.html#bookings' }, 'See it in your dashboard →')),
  );
}
