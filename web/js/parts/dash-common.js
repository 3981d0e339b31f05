// dash-common.js — building blocks of the dashboards: sections, inline
// action forms, a booking card with the actions its viewer may take.
import { post } from '../api.js';
import { h, render, badge, formatINR, formatDate, formatStamp, bindForm, field, load, empty, pager, pageParam, toast } from '../ui.js';
import { toPaise, parsePaise, fromPaise } from '../money.js';

let formSeq = 0;

export function section(id, title, ...children) {
  return h('section', { id, class: 'dash-section', 'aria-labelledby': `${id}-h`, tabindex: '-1' }, h('h2', { id: `${id}-h` }, title), children);
}

export function tabs(list) {
  return h('nav', { 'aria-label': 'Dashboard sections' }, h('ul', { class: 'tabs' }, list.map(([id, t]) => h('li', {}, h('a', { href: `#${id}` }, t)))));
}

/**
 * Shows one dashboard section at a time: the one named by the address's
 * #hash (default: the first). The tabs are plain links, so the keyboard,
 * the back button and bookmarks work without any script of ours.
 */
export function showOneSection(root) {
  const sections = [...root.querySelectorAll(':scope > .dash-section')];
  const links = [...root.querySelectorAll('.tabs a')];
  const pick = () => {
    const id = decodeURIComponent(location.hash.slice(1));
    const target = sections.find((s) => s.id === id) || sections[0];
    for (const s of sections) s.hidden = s !== target;
    for (const a of links) {
      if (a.hash === `#${target.id}`) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  };
  addEventListener('hashchange', pick);
  pick();
}

/**
 * <details> with a form inside: summary text, fields, submit label; `action`
 * runs with the form's values; `done` afterwards (e.g. reload the list).
 */
export function inlineForm({ summary, fields = [], submit, validate, action, done, danger = false, open = false }) {
  const id = `if-${++formSeq}`;
  const form = h(
    'form',
    { id, method: 'post', action: '#' },
    h('div', { class: 'form-error', role: 'alert', tabindex: '-1' }),
    fields,
    h('p', { class: 'actions' }, h('button', { class: `btn btn-small${danger ? ' btn-danger' : ''}`, type: 'submit' }, submit)),
  );
  bindForm(form, {
    validate,
    action: async (d) => {
      await action(d);
      if (done) await done();
    },
  });
  return h('details', { class: 'inline-form', open }, h('summary', {}, summary), form);
}

/** A one-click action button (busy while running; errors as a toast). */
export function actionButton(label, run, { danger = false, secondary = false } = {}) {
  return h(
    'button',
    {
      type: 'button',
      class: `btn btn-small${danger ? ' btn-danger' : secondary ? ' btn-secondary' : ''}`,
      onclick: async (ev) => {
        const b = ev.currentTarget;
        const text = b.textContent;
        b.disabled = true;
        b.textContent = 'Working…';
        try {
          await run();
        } catch (err) {
          toast(err.message || 'That did not work.', 'error');
          if (b.isConnected) {
            b.disabled = false;
            b.textContent = text;
          }
        }
      },
    },
    label,
  );
}

export const textArea = (name, label, attrs = {}) => field(label, h('textarea', { name, rows: 2, ...attrs }));
export const textInput = (name, label, attrs = {}, hint) => field(label, h('input', { name, type: 'text', ...attrs }), hint);

/** Money field rule: "1500", "1500.5", "1500.00"; optional unless required. */
export function moneyRule({ required = false, min = 0n } = {}) {
  return (v) => {
    if (v === '' || v === undefined) return required ? 'This field is required.' : null;
    const p = parsePaise(v);
    if (p === null) return 'Enter an amount in rupees, like 1500 or 1500.50.';
    if (p < min) return `Must be at least ${formatINR(fromPaise(min))}.`;
    if (p > 10000000000n) return 'That amount is too large.';
    return null;
  };
}
export const moneyValue = (v) => fromPaise(toPaise(v));

/** A paged list inside `box`: fetch(page) ⇒ {count, results}; item(x) ⇒ element. Returns its reload(). */
export function pagedList(box, { fetch, item, emptyText, pageName, pageSize = 10, hash, listClass = 'item-list' }) {
  const page = pageParam(pageName);
  const reload = () =>
    load(box, () => fetch(page, pageSize), (data) => {
      const results = data.results || data;
      if (!results.length) {
        render(box, empty(emptyText));
        return;
      }
      render(box, h('ul', { class: listClass }, results.map((x) => h('li', {}, item(x, reload)))), data.count !== undefined ? pager({ count: data.count, page, pageSize }, 'Pages', pageName, hash) : null);
    });
  reload();
  return reload;
}

// ---- bookings ----

const HOUR_MS = 3600000;

function when(b) {
  return `${formatDate(b.booking_date)} at ${String(b.booking_time).slice(0, 5)}`;
}

function bookingFacts(b, viewer) {
  const rows = [
    ['When', when(b)],
    viewer === 'customer' ? ['Priest', b.priest_details ? b.priest_details.user : `#${b.priest}`] : ['Customer', b.customer_details ? b.customer_details.name : `#${b.customer}`],
    ['Address', b.location_address || '—'],
    b.special_instructions ? ['Instructions', b.special_instructions] : null,
    ['Price', formatINR(b.service_price)],
    ['Advance (25 %)', formatINR(b.advance_payment)],
    ['Balance (75 %)', formatINR(b.balance_payment)],
    b.dakshina_amount && toPaise(b.dakshina_amount) > 0n ? ['Dakshina', formatINR(b.dakshina_amount)] : null,
    ['Payment', badge(b.payment_status || 'pending', b.payment_status)],
    b.rating ? ['Rating', `${'★'.repeat(b.rating)}${'☆'.repeat(5 - b.rating)}${b.feedback ? ` — “${b.feedback}”` : ''}`] : null,
    b.cancel_reason ? ['Cancel reason', b.cancel_reason] : null,
  ].filter(Boolean);
  return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function cancelForm(b, viewer, done) {
  const startsIn = b.starts_at ? new Date(b.starts_at).getTime() - Date.now() : Infinity;
  const late = viewer === 'customer' && startsIn < 24 * HOUR_MS;
  return inlineForm({
    summary: 'Cancel booking',
    danger: true,
    submit: 'Cancel this booking',
    fields: [
      late
        ? h('p', { class: 'notice notice-warn' }, `The puja starts in less than 24 hours: the advance of ${formatINR(b.advance_payment)} is kept as the cancellation fee.`)
        : h('p', { class: 'hint' }, viewer === 'customer' ? 'More than 24 hours before the start: your advance is refunded in full.' : 'The customer’s advance is refunded in full.'),
      textArea('reason', 'Reason (optional)', { maxlength: 2000 }),
    ],
    validate: (d) => (new TextEncoder().encode(d.reason).length > 2000 ? { reason: 'At most 2000 characters.' } : {}),
    action: (d) => post(`/api/bookings/${b.id}/cancel/`, d.reason ? { reason: d.reason } : {}),
    done: async () => {
      toast(`Booking #${b.id} cancelled.`);
      await done();
    },
  });
}

/** The customer's or the priest's view of one booking, with their actions (and `extra` elements after them). */
export function bookingCard(b, viewer, done, extra = []) {
  const title = b.service_details ? b.service_details.name : `Service #${b.service}`;
  const live = b.status === 'pending' || b.status === 'confirmed';
  const actions = [];
  if (viewer === 'priest') {
    if (b.status === 'pending')
      actions.push(actionButton('Confirm booking', async () => {
        await post(`/api/bookings/${b.id}/confirm/`, {});
        toast(`Booking #${b.id} confirmed.`, 'ok');
        await done();
      }));
    // A booking is completed once it has begun (the worker answers 409
    // not_started before): until then the priest sees when it can be.
    const begun = !b.starts_at || new Date(b.starts_at).getTime() <= Date.now();
    if (b.status === 'confirmed' && !begun)
      actions.push(h('p', { class: 'hint' }, 'You can mark it completed once the puja has begun.'));
    if (b.status === 'confirmed' && begun)
      actions.push(
        inlineForm({
          summary: 'Mark as completed',
          submit: 'Puja completed',
          fields: [
            h(
              'fieldset',
              {},
              h('legend', {}, 'Checklist (optional)'),
              ['sankalpa', 'puja', 'aarti', 'prasad'].map((k) => h('label', { class: 'choice' }, h('input', { type: 'checkbox', name: k }), { sankalpa: 'Sankalpa taken', puja: 'Puja performed', aarti: 'Aarti done', prasad: 'Prasad distributed' }[k])),
            ),
          ],
          action: (d) => post(`/api/bookings/${b.id}/complete/`, { checklist: { sankalpa: d.sankalpa, puja: d.puja, aarti: d.aarti, prasad: d.prasad } }),
          done: async () => {
            toast(`Booking #${b.id} completed.`, 'ok');
            await done();
          },
        }),
      );
  }
  if (viewer === 'customer' && b.status === 'completed') {
    if (!b.customer_confirmed_at && b.payment_status !== 'full')
      actions.push(
        inlineForm({
          summary: 'Confirm completion and pay the balance',
          submit: 'Confirm and pay',
          open: true,
          fields: [
            h('p', {}, `Balance due now: ${formatINR(b.balance_payment)}.`),
            textInput('dakshina', 'Dakshina for the priest (optional, ₹)', { inputmode: 'decimal', placeholder: '0', autocomplete: 'off' }, 'A voluntary offering, added to the balance.'),
          ],
          validate: (d) => {
            const msg = moneyRule()(d.dakshina);
            return msg ? { dakshina: msg } : {};
          },
          action: (d) => post(`/api/bookings/${b.id}/customer_confirm/`, d.dakshina ? { dakshina: moneyValue(d.dakshina) } : {}),
          done: async () => {
            toast('Thank you! The balance is paid.', 'ok');
            await done();
          },
        }),
      );
    if (!b.rating)
      actions.push(
        inlineForm({
          summary: 'Rate this puja',
          submit: 'Submit rating',
          open: !!b.customer_confirmed_at || b.payment_status === 'full',
          fields: [
            h(
              'fieldset',
              { class: 'radio-cards' },
              h('legend', {}, 'Your rating'),
              [5, 4, 3, 2, 1].map((n) => h('label', {}, h('input', { type: 'radio', name: 'rating', value: n }), `${'★'.repeat(n)} ${n}`)),
            ),
            textArea('feedback', 'Feedback (optional)', { maxlength: 2000 }),
          ],
          validate: (d) => (!d.rating ? { rating: 'Choose 1 to 5 stars.' } : {}),
          action: (d) => post(`/api/bookings/${b.id}/rate/`, { rating: Number(d.rating), ...(d.feedback ? { feedback: d.feedback } : {}) }),
          done: async () => {
            toast('Thank you for your rating!', 'ok');
            await done();
          },
        }),
      );
  }
  if (live && (viewer === 'customer' || viewer === 'priest' || viewer === 'admin')) actions.push(cancelForm(b, viewer, done));
  actions.push(...extra);
  return h(
    'article',
    { class: 'card booking-card', dataset: { bookingId: b.id, status: b.status } },
    h('div', { class: 'item-head' }, h('h3', {}, `${title} `, h('span', { class: 'muted' }, `#${b.id}`)), badge(b.status)),
    bookingFacts(b, viewer),
    actions.length ? h('div', { class: 'booking-actions stack' }, actions) : null,
  );
}

export function orderCard(o, { actions = [] } = {}) {
  return h(
    'article',
    { class: 'card order-card', dataset: { orderId: o.id, status: o.status } },
    h('div', { class: 'item-head' }, h('h3', {}, `Order ${o.order_number || `#${o.id}`}`), badge(o.status)),
    h('p', { class: 'muted' }, `Placed ${formatStamp(o.created_at)}`),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Item'), h('th', { scope: 'col', class: 'num' }, 'Qty'), h('th', { scope: 'col', class: 'num' }, 'Price'), h('th', { scope: 'col', class: 'num' }, 'Total'))),
        h('tbody', {}, (o.items || []).map((i) => h('tr', {}, h('td', {}, i.product_name || `#${i.product}`), h('td', { class: 'num' }, i.quantity), h('td', { class: 'num' }, formatINR(i.unit_price)), h('td', { class: 'num' }, formatINR(i.line_total))))),
      ),
    ),
    h(
      'dl',
      { class: 'totals' },
      h('dt', {}, 'Subtotal'), h('dd', {}, formatINR(o.subtotal)),
      h('dt', {}, 'Shipping'), h('dd', {}, formatINR(o.shipping_charge)),
      h('dt', { class: 'total-row' }, 'Total'), h('dd', { class: 'total-row order-total' }, formatINR(o.total_amount)),
    ),
    h('p', { class: 'muted' }, `Ship to: ${[o.shipping_address, o.shipping_city, o.shipping_state, o.shipping_pincode].filter(Boolean).join(', ')}`, o.payment_status ? [' · Payment ', badge(o.payment_status)] : null),
    actions.length ? h('div', { class: 'actions' }, actions) : null,
  );
}

/** Runs `reload` when a live notification (parts/live.js) is about an entity of one of `types`. */
export function reloadOnNotification(types, reload) {
  addEventListener('punyaka:notification', (e) => {
    const n = e.detail;
    if (n && n.entity && types.includes(n.entity.type)) reload();
  });
}
