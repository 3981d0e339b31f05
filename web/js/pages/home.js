// Home: featured services, top-rated priests, featured products.
import { get } from '../api.js';
import { startPage, load, render, h, $, empty } from '../ui.js';
import { priestCard, productCard, serviceCard } from '../parts/cards.js';

await startPage();

load($('#services'), () => get('/api/services/', { query: { page_size: 6 } }), (page) => {
  render(
    $('#services'),
    page.results.length ? h('div', { class: 'grid' }, page.results.map(serviceCard)) : empty('Services will be listed here soon.'),
  );
});

load($('#priests'), () => get('/api/priests/', { query: { ordering: '-rating', page_size: 3 } }), (page) => {
  render($('#priests'), page.results.length ? h('div', { class: 'grid' }, page.results.map((p) => priestCard(p))) : empty('No priests yet.'));
});

load($('#products'), () => get('/api/products/', { query: { is_featured: 'true', page_size: 4 } }), (page) => {
  const link = (p) => h('p', { class: 'actions' }, h('a', { class: 'btn btn-small btn-secondary', href: `/products.html?q=${encodeURIComponent(p.name)}` }, 'View in shop'));
  render(
    $('#products'),
    page.results.length ? h('div', { class: 'grid grid-4' }, page.results.map((p) => productCard(p, link(p)))) : empty('Featured products will appear here.'),
  );
});
