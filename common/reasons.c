#include "common/reasons.h"

#include <string.h>

static const pk_reason REASONS[] = {
    {"username_taken", 409, "Username taken"},
    {"email_taken", 409, "Email already registered"},
    {"invalid_command", 422, "Invalid command"},
    {"unknown_command", 422, "Unknown command type"},
    /* shop (workers/orders.c, workers/catalog.c) and shared access rules */
    {"forbidden", 403, "Forbidden"},
    {"not_found", 404, "Not found"},
    {"invalid_transition", 409, "Invalid status transition"},
    {"out_of_stock", 409, "Out of stock"},
    {"price_changed", 409, "Price changed"},
    {"inactive_product", 422, "Product not available"},
    {"empty_cart", 422, "Cart is empty"},
    {"insufficient_stock", 409, "Insufficient stock"},
    {"slug_taken", 409, "Slug taken"},
    {"invalid_kit", 422, "Invalid kit"},
    {"invalid_parent", 422, "Invalid parent category"},
    {"invalid_category", 422, "No such category"},
    {"invalid_discount", 422, "Discount not below price"},
    /* bookings (workers/bookings.c, common/booking_rules.c); admin (workers/priests.c, workers/services.c) */
    {"slot_taken", 409, "Slot taken"},
    {"not_verified", 422, "Priest not verified"},
    {"unknown_priest", 422, "Unknown priest"},
    {"unknown_service", 422, "Unknown service"},
    {"service_inactive", 422, "Service not available"},
    {"in_past", 422, "Start time in the past"},
    {"too_far_ahead", 422, "Start time too far ahead"},
    {"outside_working_hours", 422, "Outside working hours"},
    {"not_completed", 409, "Booking not completed"},
    {"not_started", 409, "Booking not started"},
    {"already_rated", 409, "Booking already rated"},
    {"already_confirmed_by_customer", 409, "Booking already confirmed by the customer"},
    /* priest schedules (workers/schedules.c, common/schedule_rules.h) */
    {"priest_unavailable", 409, "Priest unavailable"},
    {"too_many_blocks", 422, "Too many blocked periods"},
};

const pk_reason *pk_reason_find(const char *code)
{
    static const pk_reason fallback = {"rejected", 409, "Command rejected"};
    for (size_t i = 0; code && i < sizeof(REASONS) / sizeof(REASONS[0]); i++)
        if (strcmp(REASONS[i].code, code) == 0)
            return &REASONS[i];
    return &fallback;
}
