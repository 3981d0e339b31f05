// cards.js — how a priest, a service and a product look in a list.
import { h, stars, formatINR, badge } from '../ui.js';

export function initials(name) {
  return (name || '?')
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0].toUpperCase())
    .join('');
}

export function tags(list, label) {
  if (!list || !list.length) return null;
  return h('ul', { class: 'tags', 'aria-label': label }, list.map((t) => h('li', {}, t)));
}

/** A priest's card; `heading` is its title's element, one level below the
 * page's nearest heading (h3 under the home page's h2 sections, h2 on
 * /priests, whose cards sit right under the h1). */
export function priestCard(p, { heading = 'h3' } = {}) {
  return h(
    'article',
    { class: 'card priest-card', dataset: { priestId: p.id } },
    h(
      'div',
      { class: 'profile-head' },
      h('div', { class: 'avatar', 'aria-hidden': 'true' }, initials(p.name)),
      h(
        'div',
        {},
        h(heading, { class: 'card-title' }, h('a', { href: `/priest.html?id=${p.id}` }, p.name)),
        stars(p.average_rating, p.total_ratings),
      ),
    ),
    tags(p.specializations_list, 'Specializations'),
    h('p', { class: 'muted' }, [
      `${p.experience_years} year${p.experience_years === 1 ? '' : 's'} experience`,
      p.languages_list && p.languages_list.length ? ` · ${p.languages_list.join(', ')}` : '',
    ]),
    // The name starts with the visible label (WCAG 2.5.3): a speech-input
    // user says what they see, "View & book".
    h('p', { class: 'actions' }, h('a', { class: 'btn btn-small', href: `/priest.html?id=${p.id}`, 'aria-label': `View & book ${p.name}` }, 'View & book')),
  );
}

export function serviceCard(s) {
  return h(
    'article',
    { class: 'card service-card' },
    h('h3', {}, s.name),
    s.description ? h('p', { class: 'muted' }, s.description) : null,
    h('p', {}, h('span', { class: 'price' }, formatINR(s.base_price)), ` · ${s.duration_minutes} min`),
  );
}

/** The unit price a customer pays: the discount price when set. */
export function unitPrice(p) {
  return p.discount_price ? p.discount_price : p.price;
}

export function priceTag(p) {
  return h(
    'p',
    { class: 'price' },
    formatINR(unitPrice(p)),
    p.discount_price ? h('del', { 'aria-label': `was ${formatINR(p.price)}` }, formatINR(p.price)) : null,
  );
}

export function stockBadge(p) {
  if (!p.is_in_stock || p.stock <= 0) return badge('Out of stock', 'out_of_stock');
  if (p.stock <= 5) return badge(`Only ${p.stock} left`, 'pending');
  return badge('In stock', 'in_stock');
}

/** A product card; `extra` (e.g. the add-to-cart form) goes at the bottom. */
export function productCard(p, extra = null) {
  return h(
    'article',
    { class: 'card product-card', dataset: { productId: p.id, slug: p.slug || '' } },
    p.image ? h('img', { src: p.image, alt: '', loading: 'lazy', width: 320, height: 180 }) : null,
    h('h3', { class: 'card-title' }, p.name),
    h('p', { class: 'muted' }, String(p.product_type || '').replace(/^./, (c) => c.toUpperCase())),
    priceTag(p),
    h('p', {}, stockBadge(p)),
    p.description ? h('p', { class: 'muted' }, p.description) : null,
    extra,
  );
}
