// fixtures.js — the catalog the flows use, created through the admin HTTP
// endpoints (the same commands the admin dashboard sends). Idempotent per
// run tag: names and slugs carry it, so reruns against one stack never collide.
import { client } from './api.js';

export async function createCatalog(tag = Date.now().toString(36)) {
  const admin = await client('admin', (await import('./api.js')).adminPassword());
  const out = { tag, services: {}, categories: {}, products: {} };
  try {
    const services = [
      // 1501.00 ⇒ advance 375.25 exactly; 1500.01 ⇒ 375.0025 rounds half-up to 375.00.
      ['navagraha', 'Navagraha Shanti', 'navagraha_shanti', 60, '1501.00', 'Peace offering to the nine planets, with havan.'],
      ['rudrabhishek', 'Rudrabhishek', 'rudrabhishek', 90, '2100.00', 'Abhishekam of Shiva with Rudram chanting.'],
      ['lakshmi', 'Lakshmi Puja', 'lakshmi_puja', 45, '1500.01', 'Evening puja for prosperity, with aarti.'],
    ];
    for (const [key, name, type, minutes, price, description] of services) {
      out.services[key] = await admin.post('/api/admin/services/', { name, service_type: type, duration_minutes: minutes, base_price: price, description });
    }
    try {
      const root = await admin.post('/api/admin/categories/', { name: 'Festival Essentials', slug: `festival-${tag}`, sort_order: 5 });
      const lamps = await admin.post('/api/admin/categories/', { name: 'Festive Lamps', slug: `festive-lamps-${tag}`, parent: root.id, sort_order: 1 });
      const dhoop = await admin.post('/api/admin/categories/', { name: 'Dhoop & Sambrani', slug: `dhoop-${tag}`, parent: root.id, sort_order: 2 });
      out.categories = { root, lamps, dhoop };
      const products = [
        ['diya', 'Panchaloha Diya', lamps.id, '180.00', null, 50, true, 'Five-metal diya for daily aarti.'],
        ['sambrani', 'Sambrani Dhoop Sticks', dhoop.id, '60.00', null, 100, false, 'Pack of 20 sambrani sticks.'],
        ['kalash', 'Copper Kalash', root.id, '650.00', '599.00', 20, true, 'Copper kalash for sthapana.'],
        ['kapur', 'Kapur Cubes (limited)', root.id, '120.00', null, 1, false, 'Hand-pressed camphor cubes — only one left.'],
        ['wicks', 'Ghee Cotton Wicks', lamps.id, '99.00', null, 40, false, 'Ready-to-light ghee wicks, pack of 50.'],
      ];
      for (const [key, name, category, price, discount, stock, featured, description] of products) {
        out.products[key] = await admin.post('/api/admin/products/', {
          slug: `${key}-${tag}`, name, category, price, discount_price: discount, stock, is_featured: featured, description, product_type: 'samagri',
        });
      }
    } catch (err) {
      out.shopError = String(err.message || err);
    }
  } finally {
    await admin.dispose();
  }
  return out;
}
