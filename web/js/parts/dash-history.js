// dash-history.js — the admin's "History" of a booking or an order: the
// audit journal's entries for it (GET /api/admin/history/?entity=TYPE:ID),
// who did what, when, the decision and the reason. Loaded when opened.
import { get } from '../api.js';
import { h, render, load, empty, formatStamp, badge } from '../ui.js';

function row(e) {
  const who = e.actor ? `${e.actor.username || `#${e.actor.id}`} (${e.actor.role})` : '—';
  return h(
    'tr',
    {},
    h('td', { class: 'num' }, e.seq),
    h('td', {}, formatStamp(e.at)),
    h('td', {}, h('code', {}, e.type)),
    h('td', {}, who),
    h('td', {}, badge(e.status, e.status === 'applied' ? 'completed' : 'cancelled')),
    h('td', {}, e.code || '—'),
  );
}

function table(entries) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'history-table' },
      h('thead', {}, h('tr', {}, ['Seq', 'When', 'Command', 'Who', 'Decision', 'Reason'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, entries.map(row)),
    ),
  );
}

/** A <details> "History" for entity `type` #id (booking, order). */
export function historyView(type, id) {
  const box = h('div', { class: 'history-box' });
  let loaded = false;
  const details = h(
    'details',
    {
      class: 'inline-form history',
      ontoggle: () => {
        if (!details.open || loaded) return;
        loaded = true;
        load(box, () => get('/api/admin/history/', { query: { entity: `${type}:${id}`, page_size: 100 } }), (data) => {
          const entries = data.results || [];
          render(box, entries.length ? table(entries) : empty('Nothing recorded yet.'));
        });
      },
    },
    h('summary', {}, 'History'),
    box,
  );
  return details;
}
