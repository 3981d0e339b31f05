/* live.h — the wake-up that carries notifications to open live streams.
 *
 * PostgreSQL's notifications table (migrations/0008) is the only source of
 * what a user's live stream (GET /api/stream/, Server-Sent Events) sends:
 * the stream's event id is the notification id, so Last-Event-ID resumes
 * with "id > N" and a reconnect loses nothing.
 *
 * Redis pub/sub only says *who* may have something new: after committing
 * a transaction that inserted notifications, punyaka-notifier PUBLISHes
 * each recipient's user id (decimal text) on PK_LIVE_CHANNEL. An API loop
 * with an open stream for that user then reads the user's rows newer than
 * what it sent. A forged or lost message is harmless: a forged one costs
 * one indexed read that finds nothing new, a lost one is caught by the
 * stream's periodic re-check (PK_LIVE_RECHECK_MS). Nothing that crossed
 * Redis is ever shown to a user. */
#ifndef PUNYAKA_LIVE_H
#define PUNYAKA_LIVE_H

#define PK_LIVE_CHANNEL "punyaka:live"

/* Upper bound on how late a notification reaches an open stream when its
 * wake-up was lost. */
#define PK_LIVE_RECHECK_MS 15000

#endif
