// Products: category tree, filters (search, type, in stock, ordering),
// pagination, and add-to-cart with a quantity on every card.
import { get, ApiError } from '../api.js';
import { startPage, load, render, h, $, empty, pager, pageParam, param, field, toast } from '../ui.js';
import { productCard } from '../parts/cards.js';
import { categories, categoryTree, addToCart } from '../parts/shop.js';

const PAGE_SIZE = 12;
const user = await startPage();
const root = $('#products-root');

const aside = h('aside', { class: 'sidebar', 'aria-label': 'Categories' }, h('h2', {}, 'Categories'));
const treeBox = h('div', { id: 'category-tree' });
aside.append(treeBox);
const results = h('section', { 'aria-label': 'Products', 'aria-live': 'polite' });

const currentCategory = param('category') || '';
const val = (n) => param(n) || '';
const filters = h(
  'form',
  { class: 'filters', method: 'get', action: '/products.html', role: 'search', 'aria-label': 'Filter products' },
  currentCategory ? h('input', { type: 'hidden', name: 'category', value: currentCategory }) : null,
  field('Search', h('input', { type: 'search', name: 'q', value: val('q'), placeholder: 'Diya, kumkum, kit…' })),
  field(
    'Type',
    h(
      'select',
      { name: 'product_type' },
      [
        ['', 'All types'],
        ['samagri', 'Samagri'],
        ['kit', 'Puja kits'],
        ['gift', 'Gifts'],
        ['other', 'Other'],
      ].map(([v, t]) => h('option', { value: v, selected: val('product_type') === v }, t)),
    ),
  ),
  field(
    'Sort by',
    h(
      'select',
      { name: 'ordering' },
      [
        ['', 'Featured first'],
        ['price', 'Price: low to high'],
        ['-price', 'Price: high to low'],
        ['name', 'Name'],
        ['-created_at', 'Newest'],
      ].map(([v, t]) => h('option', { value: v, selected: val('ordering') === v }, t)),
    ),
  ),
  h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'Availability'), h('label', { class: 'choice' }, h('input', { type: 'checkbox', name: 'in_stock', value: 'true', checked: val('in_stock') === 'true' }), 'In stock only')),
  h('p', { class: 'actions' }, h('button', { class: 'btn', type: 'submit' }, 'Apply'), h('a', { class: 'btn btn-secondary', href: '/products.html' }, 'Clear')),
);
filters.addEventListener('submit', () => {
  for (const el of filters.elements) if (el.name && el.type !== 'checkbox' && !el.value) el.disabled = true;
});
addEventListener('pageshow', () => {
  for (const el of filters.elements) el.disabled = false;
});

render(root, h('div', { class: 'with-sidebar' }, aside, h('div', {}, filters, results)));

// ---- category tree ----

function categoryHref(c) {
  const q = new URLSearchParams(location.search);
  q.delete('page');
  if (c) q.set('category', c.slug || c.id);
  else q.delete('category');
  const s = q.toString();
  return `/products.html${s ? `?${s}` : ''}`;
}

function treeList(nodes) {
  return h(
    'ul',
    {},
    nodes.map((c) =>
      h(
        'li',
        {},
        h('a', { href: categoryHref(c), 'aria-current': String(c.slug) === currentCategory || String(c.id) === currentCategory ? 'true' : null }, c.name),
        c.children.length ? treeList(c.children) : null,
      ),
    ),
  );
}

load(treeBox, categories, (list) => {
  const active = list.filter((c) => c.is_active !== false);
  render(
    treeBox,
    h(
      'nav',
      { class: 'tree', 'aria-label': 'Product categories' },
      h('ul', {}, h('li', {}, h('a', { href: categoryHref(null), 'aria-current': currentCategory ? null : 'true' }, 'All products'))),
      treeList(categoryTree(active)),
    ),
  );
});

// ---- results ----

function addForm(p) {
  const max = Math.max(1, Math.min(99, p.stock || 1));
  const qty = h('input', { type: 'number', name: 'quantity', min: 1, max, step: 1, value: 1, inputmode: 'numeric', id: `qty-${p.id}`, class: 'qty-input' });
  const soldOut = !p.is_in_stock || p.stock <= 0;
  const form = h(
    'form',
    { class: 'add-to-cart', method: 'post', action: '#', 'aria-label': `Add ${p.name} to cart` },
    h('div', { class: 'actions' }, h('label', { for: qty.id }, 'Qty'), qty, h('button', { class: 'btn btn-small', type: 'submit', disabled: soldOut }, soldOut ? 'Sold out' : 'Add to cart')),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const n = Number(qty.value);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      toast(`Choose a quantity from 1 to ${max}.`, 'error');
      qty.focus();
      return;
    }
    if (!user) {
      location.assign(`/login.html?next=${encodeURIComponent(location.pathname + location.search)}`);
      return;
    }
    const button = form.querySelector('button');
    button.disabled = true;
    button.textContent = 'Adding…';
    try {
      await addToCart(p.id, n);
      toast(`Added ${n} × ${p.name} to your cart.`, 'ok');
      button.textContent = 'Added ✓';
      setTimeout(() => {
        button.textContent = 'Add to cart';
        button.disabled = false;
      }, 1500);
    } catch (err) {
      toast(err instanceof ApiError ? err.message : 'Could not add to the cart.', 'error');
      button.textContent = 'Add to cart';
      button.disabled = false;
    }
  });
  return form;
}

const page = pageParam();
const query = { page, page_size: PAGE_SIZE };
for (const k of ['q', 'category', 'product_type', 'ordering', 'in_stock']) if (param(k)) query[k] = param(k);

load(results, () => get('/api/products/', { query }), (data) => {
  if (!data.results.length) {
    render(results, empty('No products match. Try another category or search.'));
    return;
  }
  render(
    results,
    h('p', { class: 'result-count' }, `${data.count} product${data.count === 1 ? '' : 's'}`, h('a', { href: '/cart.html', class: 'gap-left' }, 'View cart →')),
    h('div', { class: 'grid', id: 'product-list' }, data.results.map((p) => productCard(p, addForm(p)))),
    pager({ count: data.count, page, pageSize: PAGE_SIZE }, 'Product pages'),
  );
});
