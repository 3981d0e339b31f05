/* events.h — integration tests read the `events` topic, which the workers'
 * outbox relay fills from the journal (workers/relay.h, schemas/events.md). */
#ifndef PUNYAKA_TEST_EVENTS_H
#define PUNYAKA_TEST_EVENTS_H

#include <stddef.h>
#include <libpq-fe.h>
#include "workers/event.h"

typedef struct {
    long long offset;
    char key[96];
    wk_event ev;
} it_event;

/* Every message of "<prefix>events" partition 0, from the low to the high
 * watermark (read once at the start), decoded, in offset order. *low gets
 * the low watermark. 0, or -1 when the topic cannot be read or a message
 * is not an event. Free with it_events_free. */
int it_events_read(it_event **out, size_t *n, long long *low);
void it_events_free(it_event *events, size_t n);

/* Waits (bounded) until no journal row is unpublished; 0, or -1 on timeout. */
int it_events_wait_published(PGconn *db, int timeout_ms);

#endif
