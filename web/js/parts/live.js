// live.js — the signed-in user's live updates. A dedicated worker
// (js/live-worker.js) holds the EventSource on GET /api/stream/ and posts
// what arrives. Here: the header's unread badge is kept current (the
// stream's `hello` says how many are unread, each new unread notification
// adds one) and every notification is re-announced as a
// `punyaka:notification` event on window, so a dashboard can refresh the
// list it is about in place.
let worker = null;
let unread = 0;
let badgeEl = null;

function paint() {
  if (!badgeEl) return;
  const count = document.createElement('span');
  count.className = 'visually-hidden';
  count.textContent = ' unread';
  badgeEl.replaceChildren(String(unread), count);
  badgeEl.hidden = unread === 0;
}

export function unreadCount() {
  return unread;
}

export function setUnread(n) {
  unread = Math.max(0, Number.isInteger(n) ? n : 0);
  paint();
}

/** The header's badge (ui.js drawHeader makes it), kept up to date from now on. */
export function bindBadge(el) {
  badgeEl = el;
  paint();
}

/** Starts the page's stream once (signed-in pages only). */
export function startLive() {
  if (worker || typeof Worker === 'undefined') return;
  worker = new Worker('/js/live-worker.js');
  worker.onmessage = (e) => {
    const { type, data } = e.data || {};
    if (type === 'hello') setUnread(data.unread);
    if (type !== 'notification') return;
    if (!data.read) setUnread(unread + 1);
    dispatchEvent(new CustomEvent('punyaka:notification', { detail: data }));
  };
  // Leaving the page ends the stream at once (the server's slot is freed).
  addEventListener('pagehide', () => worker && worker.terminate());
}
