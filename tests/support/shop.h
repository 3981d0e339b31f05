/* shop.h — the shop family's worker-level tests (it_shop_checkout,
 * it_shop_kits, it_shop_catalog): commands produced straight to Kafka, as
 * the API would, applied by the stack's workers, with the outcome read back
 * from PostgreSQL. The helpers keep the short names the tests have always
 * used; include this header only in those files.
 *
 * Every helper fails the running cmocka test (fail_msg / assert_*) when a
 * command cannot be sent or has no outcome in time. */
#ifndef PUNYAKA_TEST_SHOP_H
#define PUNYAKA_TEST_SHOP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <libpq-fe.h>
#include "common/uuid.h"
#include "tests/support/commands.h"

#define SHOP_WAIT_MS 30000   /* the longest a test waits for one outcome */

extern PGconn *shop_db;         /* the stack's database (it_db) */
extern char shop_tag[16];       /* keeps names unique across runs against one database */
extern long long shop_admin_id; /* the admin every catalog command runs as */

/* The whole of a shop test's main(): it_start, the database, an admin
 * "shopadmin_<tag>" made through a command (as punyaka-admin does) and one
 * idempotent producer shared by the sending threads; then *db and *admin_id
 * (the test file's own names for shop_db and shop_admin_id) are set, the
 * group runs, and the producer and the connection are closed. Returns what
 * main returns: 1 when the stack is not usable, else the failed tests. */
int shop_main(const char *group, const struct CMUnitTest *tests, size_t n, PGconn **db, long long *admin_id);

/* ---- sending commands ---- */

/* Encodes, signs and enqueues one command on "<prefix><topic>" (thread
 * safe, no flush). `id` may be NULL (a new UUIDv7) or a fixed id to deliver
 * the same command again; the command id goes into id_out. */
void enqueue(const char *type, const char *topic, const char *key, long long actor, const char *role,
             const it_payload *p, const pk_uuid *id, char id_out[PK_UUID_STR_LEN + 1]);
/* Waits (≤ 20 s) until Kafka has acknowledged everything enqueued. */
void flush(void);
/* Sends one command, frees p and waits (SHOP_WAIT_MS) for its outcome. */
it_outcome run(const char *type, const char *topic, const char *key, long long actor, const char *role,
               it_payload *p);

/* ---- outcomes ---- */

/* Fails unless o is rejected with `code`; frees o. */
void expect_rejected(it_outcome o, const char *code);
/* Fails unless o is applied; frees o and returns its resource (the caller
 * json_decref()s it). */
json_t *expect_applied(it_outcome o);
/* The resource's "id"; json_decref()s j. */
long long id_of(json_t *j);
/* v in decimal, written into buf (≥ 24 bytes), which is returned. */
const char *text(char *buf, long long v);
/* A column of the command's stored outcome (detail, errors, …) as text,
 * "" when NULL; free() it. */
char *outcome_field(const char *command_id, const char *column);

/* ---- people and catalog ---- */

/* "<base>-<tag>-<n>": a name no earlier run used. */
void unique(char *buf, size_t cap, const char *base);
/* A new customer (user.register) named after base; returns the user id. */
long long customer(const char *base);
/* product.create of `slug` (also its name) as actor/role; the outcome. */
it_outcome create_product_outcome(const char *slug, const char *type, long long price, long long stock,
                                  long long actor, const char *role);
/* A new product as the admin (slug from base), which must be applied; its id. */
long long product(const char *base, const char *type, long long price, long long stock);
/* product.set_kit of `kit` to n {component id, quantity} pairs, as the admin. */
it_outcome set_kit(long long kit, const long long (*parts)[2], int n);
/* product.update is_active=false as the admin, which must be applied. */
void deactivate(long long id);
/* The product's stock column in the database. */
long long stock_of(long long id);

/* ---- checkout ---- */

typedef struct {
    long long product, quantity, unit_price;   /* unit_price: what the customer saw */
} line;

/* An order.checkout payload of n lines and a fixed shipping address (Pune). */
void checkout_payload(it_payload *p, const line *lines, int n);
/* order.checkout as `user` (key: the user id); the outcome. */
it_outcome checkout(long long user, const line *lines, int n);

#endif
