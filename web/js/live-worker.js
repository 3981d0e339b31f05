// live-worker.js — the page's live stream (GET /api/stream/, Server-Sent
// Events), held by a dedicated worker that parts/live.js starts: the request
// never ends, and in here it is not part of the page's own loading (tools
// and tests that wait for the page's network to go idle still see it settle),
// nor does its JSON parsing run on the page's thread. The page gets
// {type: 'hello' | 'notification', data} messages. The browser reconnects by
// itself with Last-Event-ID (nothing is lost); `event: closed` (this
// account opened too many streams, so the server ended its oldest, this one)
// means stop, or it would end another in turn.
const source = new EventSource('/api/stream/');

function relay(type, text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return;
  }
  if (data && typeof data === 'object') postMessage({ type, data });
}

source.addEventListener('hello', (e) => relay('hello', e.data));
source.addEventListener('notification', (e) => relay('notification', e.data));
source.addEventListener('closed', () => source.close());
