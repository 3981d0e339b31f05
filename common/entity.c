#include "common/entity.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *type;
    const char *collection;
} LOCATIONS[] = {
    {"booking", "/api/bookings/"},   {"order", "/api/orders/"},       {"priest", "/api/priests/"},
    {"product", "/api/products/"},   {"service", "/api/services/"},   {"category", "/api/categories/"},
};

const char *pk_entity_location(const char *entity_type, int64_t id, char *buf, size_t cap)
{
    if (!entity_type || id <= 0)
        return NULL;
    for (size_t i = 0; i < sizeof(LOCATIONS) / sizeof(LOCATIONS[0]); i++) {
        if (strcmp(entity_type, LOCATIONS[i].type) == 0) {
            snprintf(buf, cap, "%s%lld/", LOCATIONS[i].collection, (long long)id);
            return buf;
        }
    }
    return NULL;
}
