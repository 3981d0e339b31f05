/* commands.c — the workers' half of the command table: the apply function
 * of every type in common/commands.def (one file per family). The topic a
 * command must arrive on comes from commands.def, never from here. */
#include <string.h>
#include "common/commands.h"
#include "workers/worker.h"
#include "workers/apply.h"

static const wk_command COMMANDS[] = {
    {"user.register", wk_user_register},
    {"user.update", wk_user_update},
    {"user.change_password", wk_user_change_password},
    {"priest.update_profile", wk_priest_update_profile},
    {"priest.update_account", wk_priest_update_account},
    {"user.create_admin", wk_user_create_admin},
    {"order.checkout", wk_order_checkout},
    {"order.cancel", wk_order_cancel},
    {"order.set_status", wk_order_set_status},
    {"category.create", wk_category_create},
    {"category.update", wk_category_update},
    {"product.create", wk_product_create},
    {"product.update", wk_product_update},
    {"product.set_kit", wk_product_set_kit},
    {"stock.adjust", wk_stock_adjust},
    {"booking.create", wk_booking_create},
    {"booking.confirm", wk_booking_confirm},
    {"booking.complete", wk_booking_complete},
    {"booking.customer_confirm", wk_booking_customer_confirm},
    {"booking.cancel", wk_booking_cancel},
    {"booking.rate", wk_booking_rate},
    {"priest.verify", wk_priest_verify},
    {"priest.kyc_reveal", wk_priest_kyc_reveal},
    {"notification.read", wk_notification_read},
    {"notification.read_all", wk_notification_read_all},
    {"service.create", wk_service_create},
    {"service.update", wk_service_update},
    /* appended, so the fuzz corpus's first byte keeps naming the same command */
    {"priest.set_hours", wk_priest_set_hours},
    {"priest.block", wk_priest_block},
    {"priest.unblock", wk_priest_unblock},
};


#define N_COMMANDS (sizeof(COMMANDS) / sizeof(COMMANDS[0]))

const wk_command *wk_command_find(const char *type)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(COMMANDS[i].type, type) == 0)
            return &COMMANDS[i];
    return NULL;
}

const char *wk_command_topic(const wk_command *c)
{
    const pk_command *spec = pk_command_find(c->type);
    return spec ? spec->topic : "";
}

size_t wk_topics(const char *out[], size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < pk_command_count(); i++) {
        const char *topic = pk_command_at(i)->topic;
        size_t j = 0;
        while (j < n && strcmp(out[j], topic) != 0)
            j++;
        if (j == n && n < cap)
            out[n++] = topic;
    }
    return n;
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
