/* commands.c — the command table: every command type a worker applies, the
 * topic it travels on, and its apply function (one file per family). */
#include <string.h>
#include "workers/worker.h"
#include "workers/bookings.h"
#include "workers/shop.h"
#include "workers/accounts_profile.h"
#include "workers/kyc_audit.h"

static const wk_command COMMANDS[] = {
    {"user.register", "accounts", wk_user_register},
    {"user.update", "accounts", wk_user_update},
    {"user.change_password", "accounts", wk_user_change_password},
    {"priest.update_profile", "accounts", wk_priest_update_profile},
    {"user.create_admin", "accounts", wk_user_create_admin},
    {"order.checkout", "orders", wk_order_checkout},
    {"order.cancel", "orders", wk_order_cancel},
    {"order.set_status", "orders", wk_order_set_status},
    {"category.create", "catalog", wk_category_create},
    {"category.update", "catalog", wk_category_update},
    {"product.create", "catalog", wk_product_create},
    {"product.update", "catalog", wk_product_update},
    {"product.set_kit", "catalog", wk_product_set_kit},
    {"stock.adjust", "catalog", wk_stock_adjust},
    {"booking.create", "bookings", wk_booking_create},
    {"booking.confirm", "bookings", wk_booking_confirm},
    {"booking.complete", "bookings", wk_booking_complete},
    {"booking.customer_confirm", "bookings", wk_booking_customer_confirm},
    {"booking.cancel", "bookings", wk_booking_cancel},
    {"booking.rate", "bookings", wk_booking_rate},
    {"priest.verify", "accounts", wk_priest_verify},
    {"priest.kyc_reveal", "accounts", wk_priest_kyc_reveal},
    {"service.create", "catalog", wk_service_create},
    {"service.update", "catalog", wk_service_update},
};

const char *const WK_TOPICS[] = {"accounts", "bookings", "orders", "catalog", NULL};

#define N_COMMANDS (sizeof(COMMANDS) / sizeof(COMMANDS[0]))

const wk_command *wk_command_find(const char *type)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(COMMANDS[i].type, type) == 0)
            return &COMMANDS[i];
    return NULL;
}

size_t wk_command_count(void)
{
    return N_COMMANDS;
}

const wk_command *wk_command_at(size_t i)
{
    return i < N_COMMANDS ? &COMMANDS[i] : NULL;
}

size_t wk_command_index(const wk_command *c)
{
    return (size_t)(c - COMMANDS);
}
