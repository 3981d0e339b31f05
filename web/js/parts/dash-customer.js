// Customer dashboard: my bookings (cancel, confirm completion with dakshina,
// rate) and my orders (cancel before shipping), and my account.
import { get, post } from '../api.js';
import { h, render, toast } from '../ui.js';
import { section, tabs, showOneSection, pagedList, bookingCard, orderCard, actionButton, reloadOnNotification } from './dash-common.js';
import { notificationsSection } from './dash-notifications.js';
import { accountForm } from './dash-account.js';

export function customerDashboard(root, user) {
  const bookingsBox = h('div', { id: 'bookings-list' });
  const ordersBox = h('div', { id: 'orders-list' });
  render(
    root,
    tabs([
      ['bookings', 'My bookings'],
      ['orders', 'My orders'],
      ['notifications', 'Notifications'],
      ['account', 'Account'],
    ]),
    section('bookings', 'My bookings', h('p', {}, h('a', { href: '/priests.html' }, 'Book another puja →')), bookingsBox),
    section('orders', 'My orders', ordersBox),
    notificationsSection('customer'),
    section('account', 'Account', accountForm(user)),
  );
  showOneSection(root);
  const reloadBookings = pagedList(bookingsBox, {
    fetch: (page, page_size) => get('/api/bookings/', { query: { page, page_size } }),
    item: (b, reload) => bookingCard(b, 'customer', reload),
    emptyText: 'No bookings yet. Find a priest to book your first puja.',
    pageName: 'bookings_page',
    hash: '#bookings',
  });
  const reloadOrders = pagedList(ordersBox, {
    fetch: (page, page_size) => get('/api/orders/', { query: { page, page_size } }),
    item: (o, reload) =>
      orderCard(o, {
        actions:
          o.status === 'pending' || o.status === 'confirmed'
            ? [
                actionButton(
                  'Cancel order',
                  async () => {
                    if (!confirm(`Cancel order ${o.order_number}? You will be refunded in full.`)) return;
                    await post(`/api/orders/${o.id}/cancel/`, {});
                    toast(`Order ${o.order_number} cancelled; the refund is on its way.`);
                    await reload();
                  },
                  { danger: true },
                ),
              ]
            : [],
      }),
    emptyText: 'No orders yet.',
    pageName: 'orders_page',
    hash: '#orders',
  });
  // A confirmation, cancellation or shipment shows without a reload.
  reloadOnNotification(['booking'], reloadBookings);
  reloadOnNotification(['order'], reloadOrders);
}
