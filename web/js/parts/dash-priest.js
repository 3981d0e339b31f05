// Priest dashboard: verification status, incoming bookings (confirm,
// complete, cancel), his schedule (working hours, blocks), and the profile.
import { get } from '../api.js';
import { h, render, param } from '../ui.js';
import { section, tabs, showOneSection, pagedList, bookingCard, reloadOnNotification } from './dash-common.js';
import { notificationsSection } from './dash-notifications.js';
import { accountForm } from './dash-account.js';
import { scheduleSection } from './dash-schedule.js';

export function priestDashboard(root, user) {
  const p = user.priest_profile || {};
  const status = p.is_verified
    ? h('div', { class: 'notice notice-ok', id: 'verification-status' }, h('p', {}, '✓ Your profile is verified and listed. ', h('a', { href: `/priest.html?id=${p.id}` }, 'See your public page →')))
    : h(
        'div',
        { class: 'notice notice-warn', id: 'verification-status' },
        h('p', {}, h('strong', {}, param('welcome') ? 'Welcome to Punyaka! ' : ''), 'Your profile is awaiting verification by an admin. Customers will find you once you are verified.'),
      );
  const filter = param('status') || '';
  const filterForm = h(
    'form',
    { method: 'get', action: '/dashboard.html#incoming', class: 'actions', 'aria-label': 'Filter bookings' },
    h('label', { for: 'status-filter' }, 'Show'),
    h(
      'select',
      { id: 'status-filter', name: 'status', class: 'w-auto' },
      [['', 'All bookings'], ['pending', 'Pending'], ['confirmed', 'Confirmed'], ['completed', 'Completed'], ['cancelled', 'Cancelled']].map(([v, t]) => h('option', { value: v, selected: v === filter }, t)),
    ),
    h('button', { class: 'btn btn-small btn-secondary', type: 'submit' }, 'Show'),
  );
  const list = h('div', { id: 'incoming-list' });
  render(
    root,
    status,
    tabs([
      ['incoming', 'Bookings'],
      ['schedule', 'Schedule'],
      ['notifications', 'Notifications'],
      ['profile', 'Profile'],
    ]),
    section('incoming', 'Bookings', filterForm, list),
    section('schedule', 'Schedule', scheduleSection()),
    notificationsSection('priest'),
    section('profile', 'Profile', accountForm(user)),
  );
  showOneSection(root);
  const reload = pagedList(list, {
    fetch: (page, page_size) => get('/api/bookings/', { query: { page, page_size, status: filter } }),
    item: (b, reload) => bookingCard(b, 'priest', reload),
    emptyText: filter ? `No ${filter} bookings.` : 'No bookings yet. They appear here as soon as customers book you.',
    pageName: 'bookings_page',
    hash: '#incoming',
  });
  // A new booking (or a cancellation) appears without a reload.
  reloadOnNotification(['booking'], reload);
}
