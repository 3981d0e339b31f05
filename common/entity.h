/* entity.h — where an entity lives in the HTTP API, shared by the worker
 * (outcome messages) and the API (command status documents). */
#ifndef PUNYAKA_ENTITY_H
#define PUNYAKA_ENTITY_H

#include <stddef.h>
#include <stdint.h>

/* "/api/bookings/12/" for ("booking", 12). Returns NULL (buf untouched) for
 * entities without a public URL or unknown types. */
const char *pk_entity_location(const char *entity_type, int64_t id, char *buf, size_t cap);

#endif
