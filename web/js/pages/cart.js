// Cart: lines with quantities (update / remove), subtotal, shipping, total,
// and checkout with a shipping address. Checkout problems are explained on
// the lines they concern: out_of_stock (someone bought the last units first)
// and price_changed (the price went up since the item was added).
import { ApiError } from '../api.js';
import { startPage, render, h, $, empty, formatINR, bindForm, validateWith, rules, loading, errorBox, toast, field } from '../ui.js';
import { toPaise, fromPaise, FREE_SHIPPING_FROM_PAISE } from '../money.js';
import { getCart, updateCartItem, removeCartItem, clearCart, checkout, lineProduct } from '../parts/shop.js';

const STATES = [
  'Andaman and Nicobar Islands', 'Andhra Pradesh', 'Arunachal Pradesh', 'Assam', 'Bihar', 'Chandigarh', 'Chhattisgarh',
  'Dadra and Nagar Haveli and Daman and Diu', 'Delhi', 'Goa', 'Gujarat', 'Haryana', 'Himachal Pradesh', 'Jammu and Kashmir',
  'Jharkhand', 'Karnataka', 'Kerala', 'Ladakh', 'Lakshadweep', 'Madhya Pradesh', 'Maharashtra', 'Manipur', 'Meghalaya',
  'Mizoram', 'Nagaland', 'Odisha', 'Puducherry', 'Punjab', 'Rajasthan', 'Sikkim', 'Tamil Nadu', 'Telangana', 'Tripura',
  'Uttar Pradesh', 'Uttarakhand', 'West Bengal',
];

const user = await startPage({ requireLogin: true });
const root = $('#cart-root');
const linesBox = h('section', { id: 'cart-lines', 'aria-label': 'Items in your cart' });
const problemBox = h('div', { id: 'checkout-problem', 'aria-live': 'assertive' });
const totalsBox = h('section', { id: 'cart-totals', 'aria-label': 'Totals' });
// Named by its heading only while it has one: a section without a name is
// no region, and aria-labelledby on it is then a prohibited attribute.
const checkoutBox = h('section', { id: 'checkout' });
render(root, problemBox, h('div', { class: 'two-col' }, h('div', {}, linesBox, totalsBox), checkoutBox));

/** Per product id: {code, text} to show on its line after a rejected checkout. */
let lineProblems = new Map();
let cart = null;

async function refresh() {
  render(linesBox, loading('Loading your cart…'));
  try {
    draw(await getCart());
  } catch (err) {
    render(linesBox, errorBox(err, refresh));
  }
}

function lineEl(item) {
  const p = lineProduct(item);
  const problem = lineProblems.get(String(item.item_id));
  const qtyId = `qty-${item.item_id}`;
  const qty = h('input', { type: 'number', id: qtyId, name: 'quantity', min: 1, max: 99, step: 1, value: item.quantity, inputmode: 'numeric' });
  const form = h(
    'form',
    { class: 'qty', method: 'post', action: '#', 'aria-label': `Quantity of ${p.name}` },
    h('label', { for: qtyId }, 'Qty'),
    qty,
    h('button', { class: 'btn btn-small btn-secondary', type: 'submit' }, 'Update'),
  );
  const submitQty = async () => {
    const n = Number(qty.value);
    if (!Number.isInteger(n) || n < 1 || n > 99) {
      toast('Quantity must be a whole number from 1 to 99.', 'error');
      qty.value = item.quantity;
      return;
    }
    if (n === item.quantity) return;
    try {
      qty.disabled = true;
      lineProblems.delete(String(item.item_id));
      if (!lineProblems.size) render(problemBox); // every flagged line dealt with
      draw(await updateCartItem(item.item_id, n));
      toast(`Updated ${p.name} to ${n}.`, 'ok');
    } catch (err) {
      qty.disabled = false;
      toast(err.message || 'Could not update the quantity.', 'error');
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitQty();
  });
  qty.addEventListener('change', submitQty);
  const remove = h(
    'button',
    {
      class: 'btn btn-small btn-danger',
      type: 'button',
      'aria-label': `Remove ${p.name}`,
      onclick: async (ev) => {
        ev.currentTarget.disabled = true;
        try {
          lineProblems.delete(String(item.item_id));
      if (!lineProblems.size) render(problemBox); // every flagged line dealt with
          draw(await removeCartItem(item.item_id));
          toast(`Removed ${p.name}.`);
        } catch (err) {
          ev.currentTarget.disabled = false;
          toast(err.message, 'error');
        }
      },
    },
    'Remove',
  );
  // What the API warns about before checkout (stock now short, price went up,
  // product withdrawn); a rejected checkout's own message replaces them.
  const warnings = problem ? [] : item.warnings || [];
  const priceUp = (problem && problem.code === 'price_changed') || warnings.some((w) => w.code === 'price_changed');
  const accept = priceUp
    ? h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small',
          onclick: async (ev) => {
            ev.currentTarget.disabled = true;
            try {
              lineProblems.delete(String(item.item_id));
      if (!lineProblems.size) render(problemBox); // every flagged line dealt with
              draw(await updateCartItem(item.item_id, item.quantity));
              toast(`Accepted the new price of ${p.name}.`, 'ok');
            } catch (err) {
              toast(err.message, 'error');
            }
          },
        },
        `Accept new price (${formatINR(item.unit_price)})`,
      )
    : null;
  const label = { out_of_stock: 'Out of stock', price_changed: 'Price changed', inactive_product: 'No longer sold' };
  return h(
    'li',
    { class: `cart-line${problem || warnings.length ? ' has-problem' : ''}`, dataset: { productId: item.item_id } },
    h('div', { class: 'line-name' }, p.name, h('div', { class: 'muted' }, `${formatINR(item.unit_price)} each`)),
    form,
    remove,
    h('div', { class: 'line-total' }, formatINR(item.line_total)),
    problem ? h('p', { class: 'line-problem', role: 'alert', dataset: { code: problem.code } }, problem.text) : null,
    warnings.map((w) => h('p', { class: 'line-problem', dataset: { code: w.code } }, `${label[w.code] || 'Note'}: ${w.detail}`)),
    accept ? h('p', { class: 'line-accept' }, accept) : null,
  );
}

function draw(c) {
  cart = c;
  const items = c.items || [];
  if (!items.length) {
    render(linesBox, empty('Your cart is empty.'), h('p', {}, h('a', { class: 'btn', href: '/products.html' }, 'Browse the shop')));
    render(totalsBox);
    render(checkoutBox);
    checkoutBox.removeAttribute('aria-labelledby');
    return;
  }
  render(
    linesBox,
    h('ul', { class: 'cart-lines' }, items.map(lineEl)),
    h('p', { class: 'actions' }, h('a', { href: '/products.html' }, '← Continue shopping'), h('button', {
      type: 'button',
      class: 'linklike',
      onclick: async () => {
        if (!confirm('Remove every item from your cart?')) return;
        try {
          lineProblems = new Map();
          draw(await clearCart());
        } catch (err) {
          toast(err.message, 'error');
        }
      },
    }, 'Empty cart')),
  );
  const subtotal = toPaise(c.subtotal);
  const missing = toPaise(c.free_shipping_from || fromPaise(FREE_SHIPPING_FROM_PAISE)) - subtotal;
  render(
    totalsBox,
    h(
      'dl',
      { class: 'totals card' },
      h('dt', {}, 'Subtotal'), h('dd', { id: 'cart-subtotal' }, formatINR(c.subtotal)),
      h('dt', {}, 'Shipping'), h('dd', { id: 'cart-shipping' }, toPaise(c.shipping) === 0n ? 'Free' : formatINR(c.shipping)),
      h('dt', { class: 'total-row' }, 'Total'), h('dd', { class: 'total-row', id: 'cart-total' }, formatINR(c.total)),
    ),
    missing > 0n ? h('p', { class: 'hint' }, `Add ${formatINR(fromPaise(missing))} more for free shipping.`) : h('p', { class: 'hint' }, 'Your order ships free.'),
  );
  if (!checkoutBox.firstChild) drawCheckout();
  else $('#checkout-total', checkoutBox).textContent = formatINR(c.total);
}

function drawCheckout() {
  const input = (name, attrs = {}) => h('input', { name, id: name, type: 'text', ...attrs });
  const form = h(
    'form',
    { id: 'checkout-form', class: 'card', method: 'post', action: '#' },
    h('h2', { id: 'checkout-h' }, 'Checkout'),
    h('div', { class: 'form-error', role: 'alert', tabindex: '-1' }),
    field('Address', h('textarea', { name: 'shipping_address', id: 'shipping_address', rows: 3, maxlength: 511, autocomplete: 'street-address', required: true })),
    h(
      'div',
      { class: 'form-row' },
      field('City', input('shipping_city', { autocomplete: 'address-level2', maxlength: 127, required: true })),
      field(
        'State',
        h('select', { name: 'shipping_state', id: 'shipping_state', required: true, autocomplete: 'address-level1' }, h('option', { value: '' }, 'Choose…'), STATES.map((s) => h('option', { value: s }, s))),
      ),
      field('PIN code', input('shipping_pincode', { inputmode: 'numeric', autocomplete: 'postal-code', maxlength: 6, pattern: '[1-9][0-9]{5}', required: true }), '6 digits'),
      field('Phone', input('shipping_phone', { type: 'tel', autocomplete: 'tel', required: true, placeholder: '+91 98765 43210' })),
    ),
    h('p', {}, 'Total to pay: ', h('strong', { id: 'checkout-total' }, formatINR(cart.total))),
    h('p', { class: 'actions' }, h('button', { class: 'btn', type: 'submit', id: 'place-order' }, 'Place order')),
  );
  if (user.phone) form.elements.shipping_phone.value = user.phone;
  if (user.address) form.elements.shipping_address.value = user.address;
  render(checkoutBox, form);
  checkoutBox.setAttribute('aria-labelledby', 'checkout-h');
  bindForm(form, {
    busyText: 'Placing order…',
    validate: (d) =>
      validateWith(d, {
        shipping_address: [rules.required, rules.maxLen(511)],
        shipping_city: [rules.required, rules.maxLen(127)],
        shipping_state: [rules.required, rules.maxLen(127)],
        shipping_pincode: [rules.required, rules.pincode],
        shipping_phone: [rules.required, rules.phone],
      }),
    action: async (d) => {
      render(problemBox);
      let order;
      try {
        order = await checkout(d);
      } catch (err) {
        if (err instanceof ApiError && ['out_of_stock', 'price_changed', 'inactive_product', 'empty_cart'].includes(err.code)) {
          explain(err);
          err.fields = {};
          err.message = problemTitle(err.code);
        }
        throw err;
      }
      lineProblems = new Map();
      render(problemBox);
      render(
        root,
        h(
          'div',
          { class: 'notice notice-ok', id: 'order-confirmation', role: 'status' },
          h('h2', {}, 'Thank you! Your order is placed.'),
          h('p', {}, 'Order ', h('strong', { id: 'order-number' }, order.order_number || `#${order.id}`), ' — total ', h('strong', { id: 'order-total' }, formatINR(order.total_amount)), '.'),
          h('p', {}, h('a', { href: '/dashboard.html#orders' }, 'Track it in your dashboard →')),
        ),
      );
    },
  });
}

function problemTitle(code) {
  return {
    out_of_stock: 'Out of stock: some items in your cart are no longer available in that quantity.',
    price_changed: 'Price changed: some prices went up since you added the items. Please review your cart.',
    inactive_product: 'A product in your cart is no longer sold. Please remove it.',
    empty_cart: 'Your cart is empty.',
  }[code];
}

/** Marks the lines a rejected checkout names (errors keys "items.<product id>.<field>"). */
function explain(err) {
  lineProblems = new Map();
  for (const [key, msgs] of Object.entries(err.fields || {})) {
    const m = /^items\.(\d+)\.(\w+)$/.exec(key);
    if (!m) continue;
    const text = Array.isArray(msgs) ? msgs.join(' ') : String(msgs);
    const prefix = err.code === 'out_of_stock' ? 'Out of stock: ' : err.code === 'price_changed' ? 'Price changed: ' : '';
    lineProblems.set(m[1], { code: err.code, text: prefix + text });
  }
  render(
    problemBox,
    h(
      'div',
      { class: 'notice notice-err', role: 'alert', dataset: { code: err.code } },
      h('p', {}, h('strong', {}, problemTitle(err.code))),
      err.detail ? h('p', {}, err.detail) : null,
      h('p', {}, 'Nothing was charged and your cart is unchanged. Adjust the items marked below and try again.'),
    ),
  );
  refresh();
}


await refresh();
