// dash-notifications.js — the dashboard's Notifications section (every
// role): newest first, mark one or all as read; new ones arrive live. The
// list is fetched only when the section is shown, so other sections cost
// no request.
import { get, post } from '../api.js';
import { h, formatStamp, toast } from '../ui.js';
import { section, pagedList, actionButton } from './dash-common.js';
import { setUnread, unreadCount } from './live.js';

// Where a notification's entity is shown on the dashboard, by role.
const PLACES = { booking: { customer: '#bookings', priest: '#incoming' }, order: { customer: '#orders', priest: '#orders', admin: '#orders' } };

function place(n, role) {
  const where = n.entity && PLACES[n.entity.type] ? PLACES[n.entity.type][role] : null;
  return where ? h('a', { href: where }, n.entity.type === 'booking' ? `See booking #${n.entity.id}` : `See order #${n.entity.id}`) : null;
}

function card(n, role, reload) {
  return h(
    'article',
    { class: `card notification-card${n.read ? '' : ' unread'}`, dataset: { notificationId: n.id } },
    h('div', { class: 'item-head' }, h('h3', {}, n.title), n.read ? null : h('span', { class: 'badge badge-pending' }, 'New')),
    h('p', { class: 'notification-body' }, n.body),
    h('p', { class: 'muted' }, formatStamp(n.created_at), ' ', place(n, role)),
    n.read
      ? null
      : h(
          'div',
          { class: 'actions' },
          actionButton('Mark as read', async () => {
            await post(`/api/notifications/${n.id}/read/`, {});
            setUnread(unreadCount() - 1);
            await reload();
          }, { secondary: true }),
        ),
  );
}

export function notificationsSection(role) {
  const list = h('div', { id: 'notifications-list' });
  let newest = 0;
  let reload = null;
  const markAll = actionButton('Mark all as read', async () => {
    if (!newest) return;
    await post('/api/notifications/read_all/', { up_to_id: newest });
    setUnread(0);
    toast('All notifications are marked as read.', 'ok');
    if (reload) await reload();
  }, { secondary: true });
  const s = section('notifications', 'Notifications', h('div', { class: 'actions' }, markAll), list);
  const show = () => {
    if (reload || location.hash !== '#notifications') return;
    reload = pagedList(list, {
      fetch: async (page, page_size) => {
        const data = await get('/api/notifications/', { query: { page, page_size } });
        if (page === 1 && data.results && data.results.length) newest = Math.max(newest, data.results[0].id);
        return data;
      },
      item: (n, again) => card(n, role, again),
      emptyText: 'No notifications yet.',
      pageName: 'notifications_page',
      hash: '#notifications',
    });
  };
  addEventListener('hashchange', show);
  queueMicrotask(show);
  addEventListener('punyaka:notification', () => {
    if (reload) reload();
  });
  return s;
}
