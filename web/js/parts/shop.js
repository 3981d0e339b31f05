// shop.js — catalog and cart calls shared by the shop pages.
import { get, post } from '../api.js';

/** Categories as a flat list: the API answers a tree (roots with nested
 * `children`); a page or a flat array is accepted too. The public tree by
 * default; the admin dashboard passes /api/admin/categories/ (hidden ones too). */
export async function categories(path = '/api/categories/') {
  const doc = await get(path);
  const roots = Array.isArray(doc) ? doc : doc.results || [];
  const flat = [];
  const walk = (nodes) => {
    for (const { children, ...c } of nodes) {
      flat.push(c);
      if (children) walk(children);
    }
  };
  walk(roots);
  return flat;
}

/** Flat categories ⇒ roots with .children, by sort_order then name. */
export function categoryTree(list) {
  const byId = new Map(list.map((c) => [c.id, { ...c, children: [] }]));
  const roots = [];
  for (const c of byId.values()) {
    const parent = c.parent && typeof c.parent === 'object' ? c.parent.id : c.parent;
    if (parent && byId.has(parent)) byId.get(parent).children.push(c);
    else roots.push(c);
  }
  const sort = (a) => {
    a.sort((x, y) => (x.sort_order ?? 0) - (y.sort_order ?? 0) || String(x.name).localeCompare(String(y.name)));
    a.forEach((c) => sort(c.children));
    return a;
  };
  return sort(roots);
}

export const getCart = () => get('/api/cart/');
export const addToCart = (productId, quantity) => post('/api/cart/add_item/', { product_id: productId, quantity });
export const updateCartItem = (itemId, quantity) => post('/api/cart/update_item/', { item_id: itemId, quantity });
export const removeCartItem = (itemId) => post('/api/cart/remove_item/', { item_id: itemId });
export const clearCart = () => post('/api/cart/clear/', {});
export const checkout = (address) => post('/api/orders/checkout/', address);

/** A cart line's product as an object {id, name, …}, whatever the API nests. */
export function lineProduct(item) {
  const p = item.product_details || item.product;
  if (p && typeof p === 'object') return p;
  return { id: item.item_id ?? p, name: item.product_name || item.name || `Product #${item.item_id ?? p}` };
}
