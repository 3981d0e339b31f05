// Admin dashboard: priests awaiting verification (verify), services (create,
// edit, retire), categories and products (create, edit, stock), every booking
// and order (order status) with its audit history, notifications.
import { get, post, patch } from '../api.js';
import { h, render, toast, formatINR, badge, param, field, load, empty, rules, validateWith, bindForm } from '../ui.js';
import { section, tabs, showOneSection, pagedList, inlineForm, actionButton, textArea, textInput, moneyRule, moneyValue, orderCard, bookingCard } from './dash-common.js';
import { historyView } from './dash-history.js';
import { notificationsSection } from './dash-notifications.js';
import { categories, categoryTree } from './shop.js';
import { parsePaise } from '../money.js';
import { tags } from './cards.js';

const slugRule = (v) => (/^[a-z0-9_-]{1,100}$/.test(v) && !/^\d+$/.test(v) ? null : 'Use 1–100 of a–z, 0–9, _ and -, not only digits.');
const typeRule = (v) => (/^[a-z0-9_-]{1,50}$/.test(v) ? null : 'Use 1–50 of a–z, 0–9, _ and -.');
export const slugify = (s) =>
  String(s)
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100) || 'item';

export function adminDashboard(root) {
  render(
    root,
    tabs([
      ['priests', 'Priest verification'],
      ['services', 'Services'],
      ['catalog', 'Categories & products'],
      ['bookings', 'Bookings'],
      ['orders', 'Orders'],
      ['notifications', 'Notifications'],
    ]),
    priestsSection(),
    servicesSection(),
    catalogSection(),
    bookingsSection(),
    ordersSection(),
    notificationsSection('admin'),
  );
  showOneSection(root);
}

// ---- priests ----

function kycList(kyc) {
  if (!kyc) return null;
  const names = { aadhaar_number: 'Aadhaar', pan_number: 'PAN', bank_account_number: 'Bank account', bank_ifsc_code: 'IFSC' };
  return Object.entries(names).map(([k, label]) => [h('dt', {}, label), h('dd', {}, kyc[k] || h('span', { class: 'muted' }, 'not submitted'))]);
}

function priestsSection() {
  const which = param('priests') === 'verified' ? 'true' : 'false';
  const list = h('div', { id: 'pending-priests' });
  const s = section(
    'priests',
    which === 'true' ? 'Verified priests' : 'Priests awaiting verification',
    h('p', {}, which === 'true' ? h('a', { href: '?priests=pending#priests' }, 'Show priests awaiting verification') : h('a', { href: '?priests=verified#priests' }, 'Show verified priests')),
    list,
  );
  pagedList(list, {
    fetch: (page, page_size) => get('/api/admin/priests/', { query: { verified: which, page, page_size } }),
    emptyText: which === 'true' ? 'No verified priests yet.' : 'No priests are waiting for verification.',
    pageName: 'priests_page',
    hash: '#priests',
    item: (p, reload) => {
      const name = [p.first_name, p.last_name].filter(Boolean).join(' ') || p.username;
      return h(
        'article',
        { class: 'card priest-admin-card', dataset: { priestId: p.id, username: p.username } },
        h('div', { class: 'item-head' }, h('h3', {}, name, ' ', h('span', { class: 'muted' }, `@${p.username}`)), badge(p.is_verified ? 'verified' : 'pending')),
        tags(p.specializations, 'Specializations'),
        h(
          'dl',
          { class: 'facts' },
          h('dt', {}, 'Email'), h('dd', {}, p.email || '—'),
          h('dt', {}, 'Phone'), h('dd', {}, p.phone || '—'),
          h('dt', {}, 'Languages'), h('dd', {}, (p.languages || []).join(', ') || '—'),
          h('dt', {}, 'Experience'), h('dd', {}, `${p.experience_years} years · ${p.service_radius_km} km radius`),
          kycList(p.kyc),
          p.verification_notes ? [h('dt', {}, 'Notes'), h('dd', {}, p.verification_notes)] : null,
        ),
        inlineForm({
          summary: p.is_verified ? 'Unverify' : 'Verify this priest',
          submit: p.is_verified ? `Unverify ${name}` : `Verify ${name}`,
          danger: p.is_verified,
          fields: [textArea('notes', 'Notes (optional)', { maxlength: 2000, placeholder: 'Documents checked…' })],
          action: (d) => post(`/api/admin/priests/${p.id}/verify/`, { verified: !p.is_verified, ...(d.notes ? { notes: d.notes } : {}) }),
          done: async () => {
            toast(p.is_verified ? `${name} is no longer listed.` : `${name} is verified and now listed.`, 'ok');
            await reload();
          },
        }),
      );
    },
  });
  return s;
}

// ---- services ----

function serviceFields(s = {}) {
  return [
    h(
      'div',
      { class: 'form-row' },
      textInput('name', 'Name', { value: s.name || '', maxlength: 200, required: true }),
      textInput('service_type', 'Type (slug)', { value: s.service_type || '', maxlength: 50, placeholder: 'griha_pravesh' }),
      textInput('duration_minutes', 'Duration (minutes)', { type: 'number', min: 1, max: 1440, value: s.duration_minutes || 60 }),
      textInput('base_price', 'Price (₹)', { inputmode: 'decimal', value: s.base_price || '', placeholder: '1500.00' }),
    ),
    textArea('description', 'Description', { maxlength: 2000, value: s.description || '' }),
  ];
}

function serviceValidate(d, creating) {
  return validateWith(d, {
    name: [rules.required, rules.maxLen(200)],
    service_type: creating ? [rules.required, typeRule] : [typeRule],
    duration_minutes: [rules.required, rules.intRange(1, 1440)],
    base_price: [moneyRule({ required: true })],
    description: [rules.maxLen(2000)],
  });
}

function serviceBody(d) {
  return { name: d.name, service_type: d.service_type, duration_minutes: Number(d.duration_minutes), base_price: moneyValue(d.base_price), description: d.description };
}

function servicesSection() {
  const list = h('div', { id: 'services-admin' });
  let reload;
  const create = inlineForm({
    summary: 'Add a service',
    submit: 'Create service',
    fields: serviceFields(),
    validate: (d) => serviceValidate(d, true),
    action: (d) => post('/api/admin/services/', serviceBody(d)),
    done: async () => {
      toast('Service created.', 'ok');
      await reload();
    },
  });
  create.id = 'create-service';
  const s = section('services', 'Services', create, list);
  reload = pagedList(list, {
    // The admin list: retired services stay here, so they can be offered again.
    fetch: (page, page_size) => get('/api/admin/services/', { query: { page, page_size } }),
    emptyText: 'No services yet. Add the first one above.',
    pageName: 'services_page',
    hash: '#services',
    pageSize: 24,
    listClass: 'item-grid',
    item: (sv, again) =>
      h(
        'article',
        { class: 'card', dataset: { serviceId: sv.id } },
        h('div', { class: 'item-head' }, h('h3', {}, sv.name), sv.is_active === false ? badge('retired', 'inactive') : badge('active', 'completed')),
        h('p', {}, `${formatINR(sv.base_price)} · ${sv.duration_minutes} min · ${sv.service_type}`),
        inlineForm({
          summary: 'Edit',
          submit: 'Save service',
          fields: serviceFields(sv),
          validate: (d) => serviceValidate(d, false),
          action: (d) => patch(`/api/admin/services/${sv.id}/`, serviceBody(d)),
          done: async () => {
            toast('Service saved.', 'ok');
            await again();
          },
        }),
        h(
          'div',
          { class: 'actions' },
          actionButton(
            sv.is_active === false ? 'Offer again' : 'Retire service',
            async () => {
              await patch(`/api/admin/services/${sv.id}/`, { is_active: sv.is_active === false });
              toast('Service updated.');
              await again();
            },
            { secondary: true },
          ),
        ),
      ),
  });
  return s;
}

// ---- categories & products ----

function catalogSection() {
  const catBox = h('div', { id: 'categories-admin' });
  const productBox = h('div', { id: 'products-admin' });
  let cats = [];
  let reloadProducts;

  const categoryOptions = (selected, blank) => [h('option', { value: '' }, blank), cats.map((c) => h('option', { value: c.id, selected: String(selected) === String(c.id) }, c.name))];

  function drawCategories() {
    const tree = categoryTree(cats);
    const li = (c) => h('li', {}, `${c.name} `, h('span', { class: 'muted' }, `/${c.slug}`), c.is_active === false ? badge('hidden', 'inactive') : null, c.children.length ? h('ul', {}, c.children.map(li)) : null);
    const form = h(
      'form',
      { id: 'create-category', method: 'post', action: '#' },
      h('div', { class: 'form-error', role: 'alert', tabindex: '-1' }),
      h(
        'div',
        { class: 'form-row' },
        textInput('name', 'Name', { maxlength: 255, required: true }),
        textInput('slug', 'Slug', { maxlength: 100 }, 'Leave empty to derive it from the name.'),
        field('Parent', h('select', { name: 'parent' }, categoryOptions('', 'None (top level)'))),
        textInput('sort_order', 'Sort order', { type: 'number', value: 0, min: -1000000, max: 1000000 }),
      ),
      h('p', { class: 'actions' }, h('button', { class: 'btn btn-small', type: 'submit' }, 'Create category')),
    );
    bindForm(form, {
      validate: (d) => validateWith({ ...d, slug: d.slug || slugify(d.name) }, { name: [rules.required, rules.maxLen(255)], slug: [slugRule] }),
      action: async (d) => {
        await post('/api/admin/categories/', { name: d.name, slug: d.slug || slugify(d.name), parent: d.parent ? Number(d.parent) : null, sort_order: Number(d.sort_order || 0) });
        toast('Category created.', 'ok');
        await loadCats();
      },
    });
    render(
      catBox,
      tree.length ? h('ul', { class: 'tree' }, tree.map(li)) : empty('No categories yet.'),
      h('details', { class: 'inline-form' }, h('summary', {}, 'Add a category'), form),
    );
  }

  async function loadCats() {
    await load(catBox, () => categories('/api/admin/categories/'), (list) => {
      cats = list;
      drawCategories();
      drawCreateProduct();
    });
  }

  const createBox = h('div', { id: 'create-product-box' });
  function productFields(p = {}, creating = false) {
    return [
      h(
        'div',
        { class: 'form-row' },
        textInput('name', 'Name', { value: p.name || '', maxlength: 255, required: true }),
        creating ? textInput('slug', 'Slug', { maxlength: 100 }, 'Leave empty to derive it from the name.') : null,
        field('Category', h('select', { name: 'category' }, categoryOptions(p.category && typeof p.category === 'object' ? p.category.id : p.category || '', 'No category'))),
        creating
          ? field(
              'Type',
              h('select', { name: 'product_type' }, ['samagri', 'kit', 'gift', 'other'].map((t) => h('option', { value: t }, t))),
            )
          : null,
        textInput('price', 'Price (₹)', { inputmode: 'decimal', value: p.price || '', placeholder: '250.00' }),
        textInput('discount_price', 'Discount price (₹, optional)', { inputmode: 'decimal', value: p.discount_price || '' }),
        creating ? textInput('stock', 'Initial stock', { type: 'number', min: 0, max: 1000000000, value: 0 }) : null,
        textInput('image', 'Image URL (optional)', { value: p.image || '', maxlength: 1023 }),
      ),
      textArea('description', 'Description', { maxlength: 8191, value: p.description || '' }),
      h('label', { class: 'choice' }, h('input', { type: 'checkbox', name: 'is_featured', checked: !!p.is_featured }), 'Featured on the home page'),
    ];
  }
  function productValidate(d, creating) {
    const e = validateWith(
      { ...d, slug: d.slug || slugify(d.name || '') },
      {
        name: [rules.required, rules.maxLen(255)],
        ...(creating ? { slug: [slugRule], stock: [rules.intRange(0, 1000000000)] } : {}),
        price: [moneyRule({ required: true })],
        discount_price: [moneyRule()],
        description: [rules.maxLen(8191)],
      },
    );
    if (!e.price && !e.discount_price && d.discount_price && parsePaise(d.discount_price) >= parsePaise(d.price)) {
      e.discount_price = 'Must be below the price.';
    }
    return e;
  }
  function productBody(d, creating) {
    const body = {
      name: d.name,
      category: d.category ? Number(d.category) : null,
      price: moneyValue(d.price),
      discount_price: d.discount_price ? moneyValue(d.discount_price) : null,
      description: d.description,
      is_featured: d.is_featured,
      image: d.image || null,
    };
    if (creating) Object.assign(body, { slug: d.slug || slugify(d.name), product_type: d.product_type, stock: Number(d.stock || 0) });
    return body;
  }

  function drawCreateProduct() {
    render(
      createBox,
      inlineForm({
        summary: 'Add a product',
        submit: 'Create product',
        fields: productFields({}, true),
        validate: (d) => productValidate(d, true),
        action: (d) => post('/api/admin/products/', productBody(d, true)),
        done: async () => {
          toast('Product created.', 'ok');
          await reloadProducts();
        },
      }),
    );
  }

  const s = section('catalog', 'Categories & products', h('h3', {}, 'Categories'), catBox, h('h3', { class: 'spaced-above' }, 'Products'), createBox, productBox);
  loadCats();
  reloadProducts = pagedList(productBox, {
    // The admin list: deactivated products stay here, so they can be activated again.
    fetch: (page, page_size) => get('/api/admin/products/', { query: { page, page_size, ordering: 'name' } }),
    emptyText: 'No products yet.',
    pageName: 'products_page',
    hash: '#catalog',
    pageSize: 24,
    listClass: 'item-grid',
    item: (p, again) =>
      h(
        'article',
        { class: 'card product-admin-card', dataset: { productId: p.id, slug: p.slug } },
        h('div', { class: 'item-head' }, h('h3', {}, p.name, ' ', h('span', { class: 'muted' }, `/${p.slug}`)), h('span', {}, p.is_active === false ? badge('inactive') : null, p.is_featured ? badge('featured', 'confirmed') : null)),
        h(
          'dl',
          { class: 'facts' },
          h('dt', {}, 'Price'), h('dd', {}, formatINR(p.price), p.discount_price ? ` (sale ${formatINR(p.discount_price)})` : ''),
          h('dt', {}, 'Stock'), h('dd', { class: 'stock' }, String(p.stock)),
          h('dt', {}, 'Type'), h('dd', {}, p.product_type),
        ),
        p.product_type === 'kit'
          ? h('p', { class: 'hint' }, 'A kit’s stock follows its components.')
          : inlineForm({
              summary: 'Adjust stock',
              submit: 'Apply',
              fields: [h('div', { class: 'form-row' }, textInput('delta', 'Change (+ or −)', { type: 'number', min: -1000000, max: 1000000, step: 1, placeholder: '10' }), textInput('reason', 'Reason', { maxlength: 255, placeholder: 'Restock from supplier' }))],
              validate: (d) => {
                const e = {};
                if (!/^-?\d+$/.test(d.delta) || Number(d.delta) === 0 || Math.abs(Number(d.delta)) > 1000000) e.delta = 'Enter a whole number, not 0 (e.g. 10 or -2).';
                else if (p.stock + Number(d.delta) < 0) e.delta = `Stock cannot go below zero (now ${p.stock}).`;
                if (!d.reason) e.reason = 'Say why (kept in the stock history).';
                return e;
              },
              action: (d) => post(`/api/admin/products/${p.id}/stock/`, { delta: Number(d.delta), reason: d.reason }),
              done: async () => {
                toast('Stock updated.', 'ok');
                await again();
              },
            }),
        inlineForm({
          summary: 'Edit',
          submit: 'Save product',
          fields: productFields(p),
          validate: (d) => productValidate(d, false),
          action: (d) => patch(`/api/admin/products/${p.id}/`, productBody(d, false)),
          done: async () => {
            toast('Product saved.', 'ok');
            await again();
          },
        }),
        h(
          'div',
          { class: 'actions' },
          actionButton(
            p.is_active === false ? 'Activate' : 'Deactivate',
            async () => {
              await patch(`/api/admin/products/${p.id}/`, { is_active: p.is_active === false });
              toast('Product updated.');
              await again();
            },
            { secondary: true },
          ),
        ),
      ),
  });
  return s;
}

// ---- orders ----

const NEXT_STATUS = { pending: ['confirmed', 'cancelled'], confirmed: ['shipped', 'cancelled'], shipped: ['delivered'] };

function ordersSection() {
  const list = h('div', { id: 'orders-admin' });
  const s = section('orders', 'Orders', list);
  pagedList(list, {
    fetch: (page, page_size) => get('/api/orders/', { query: { page, page_size } }),
    emptyText: 'No orders yet.',
    pageName: 'orders_page',
    hash: '#orders',
    item: (o, again) => {
      const next = NEXT_STATUS[o.status] || [];
      const actions = next.length
        ? [
            h(
              'form',
              {
                class: 'actions order-status-form',
                method: 'post',
                action: '#',
                'aria-label': `Status of order ${o.order_number}`,
                onsubmit: async (ev) => {
                  ev.preventDefault();
                  const f = ev.currentTarget;
                  const status = f.elements.status.value;
                  const btn = f.querySelector('button');
                  btn.disabled = true;
                  try {
                    await post(`/api/admin/orders/${o.id}/status/`, { status });
                    toast(`Order ${o.order_number} is now ${status}.`, 'ok');
                    await again();
                  } catch (err) {
                    toast(err.message, 'error');
                    btn.disabled = false;
                  }
                },
              },
              h('label', { for: `st-${o.id}` }, 'Move to'),
              h('select', { id: `st-${o.id}`, name: 'status', class: 'w-auto' }, next.map((st) => h('option', { value: st }, st))),
              h('button', { class: 'btn btn-small', type: 'submit' }, 'Update status'),
            ),
          ]
        : [];
      return orderCard(o, { actions: [...actions, historyView('order', o.id)] });
    },
  });
  return s;
}

// ---- bookings: every booking, each with its history ----

function bookingsSection() {
  const list = h('div', { id: 'bookings-admin' });
  const s = section('bookings', 'Bookings', list);
  pagedList(list, {
    fetch: (page, page_size) => get('/api/bookings/', { query: { page, page_size } }),
    emptyText: 'No bookings yet.',
    pageName: 'bookings_page',
    hash: '#bookings',
    item: (b, again) => bookingCard(b, 'admin', again, [historyView('booking', b.id)]),
  });
  return s;
}
