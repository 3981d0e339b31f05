/* commands.h — the command table of common/commands.def, for the API's
 * submit path and the admin CLI (which topic a type goes to, and under
 * which partition key) and the workers' dispatch.
 *
 * The partition key: commands.def names, per command, WHICH of its
 * identifiers is the key (a pk_key_rule); a publisher describes the
 * command's identifiers (pk_command_key_ids, as many as it knows) and
 * pk_command_key() picks the key. So no handler chooses a key, and a
 * handler that forgets the identifier the rule needs publishes nothing
 * (pk_command_key fails) instead of a command under the wrong key. */
#ifndef PUNYAKA_COMMANDS_H
#define PUNYAKA_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

/* Which identifier of a command is its partition key. */
typedef enum {
    PK_KEY_USERNAME,      /* the username, lower-cased: an account being created has no id yet */
    PK_KEY_USER,          /* the user id of the account the command changes (the actor's own) */
    PK_KEY_PRIEST,        /* the priest id: the booking's priest, the priest an admin verifies */
    PK_KEY_ORDER_OWNER,   /* the user id of the order's customer (checkout: the customer checking out) */
    PK_KEY_CATEGORY,      /* the category id */
    PK_KEY_PRODUCT,       /* the product id (a kit's own product id for product.set_kit) */
    PK_KEY_SERVICE,       /* the service id */
    PK_KEY_SLUG,          /* the slug of a category or product being created */
    PK_KEY_NAME,          /* the name of a service being created */
} pk_key_rule;

/* The identifiers of one command; ids ≤ 0 and NULL/"" strings are unknown.
 * A publisher fills what it knows; the row's rule picks one. */
typedef struct {
    const char *username;
    const char *slug;
    const char *name;
    int64_t user_id;
    int64_t priest_id;
    int64_t order_owner_id;
    int64_t category_id;
    int64_t product_id;
    int64_t service_id;
} pk_command_key_ids;

/* Room for any key: names and usernames are at most 200 bytes. */
#define PK_COMMAND_KEY_MAX 256

typedef struct {
    const char *type;     /* "booking.create" */
    const char *topic;    /* logical topic: "bookings" */
    pk_key_rule key;      /* which identifier is the partition key */
    const char *schema;   /* where the payload is documented */
} pk_command;

/* The row of `type`, or NULL when no such command exists. */
const pk_command *pk_command_find(const char *type);
/* Every row, in commands.def order. */
size_t pk_command_count(void);
const pk_command *pk_command_at(size_t i);

/* What a rule keys by, for people: "priest id". */
const char *pk_key_rule_name(pk_key_rule rule);

/* The partition key of a command of `type` with these identifiers, into
 * out[0..cap): decimal text of the id the rule names, or the slug / name
 * as it is, or the username lower-cased (ASCII). 0, or -1 (out = "") when
 * the type is unknown, the rule's identifier is unknown, or it does not
 * fit. */
int pk_command_key(const char *type, const pk_command_key_ids *ids, char *out, size_t cap);

#endif
