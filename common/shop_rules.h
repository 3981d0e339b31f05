/* shop_rules.h — the shop's domain rules (DESIGN §4 Stock, Kits, Shipping)
 * as pure functions: no I/O, no clock, no allocation. The worker applies
 * them under row locks (workers/orders.c, workers/catalog.c); the API uses
 * the same functions to show carts (shipping, unit prices, kit stock,
 * limits), so what a customer is shown and what a worker decides agree.
 *
 * Money is int64 paise (common/money.h). Quantities are small positive
 * integers (cart limits below), so every product of a price and a quantity
 * stays far below int64 overflow (MONEY_MAX_PAISE × SHOP_QTY_MAX ×
 * SHOP_CART_MAX_LINES < 2^63). */
#ifndef PUNYAKA_SHOP_RULES_H
#define PUNYAKA_SHOP_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- shipping ---- */

#define SHOP_SHIPPING_FLAT_PAISE INT64_C(5000)         /* ₹50 */
#define SHOP_FREE_SHIPPING_FROM_PAISE INT64_C(50000)   /* ₹500 subtotal and above ships free */

/* Shipping charge for a cart subtotal: ₹50 below ₹500, 0 from ₹500 on
 * (49999 ⇒ 5000, 50000 ⇒ 0). An empty cart (subtotal 0) is charged too;
 * checkout rejects empty carts before it gets here. */
int64_t shop_shipping(int64_t subtotal_paise);

/* ---- prices ---- */

#define SHOP_NO_DISCOUNT INT64_C(-1)

/* The unit price a customer pays: the discount price when the product has
 * one (pass SHOP_NO_DISCOUNT when it has none), else the list price. The
 * schema keeps 0 <= discount < price. */
int64_t shop_unit_price(int64_t price_paise, int64_t discount_paise);

typedef enum {
    SHOP_PRICE_OK = 0,        /* *charge is what the customer pays */
    SHOP_PRICE_CHANGED,       /* current > shown: reject `price_changed` */
} shop_price_check;

/* The price rule at checkout: `shown` is the unit price the customer saw
 * (snapshotted from the cart into the command), `current` the product's
 * unit price now (shop_unit_price, read under the row lock).
 *  - current higher than shown ⇒ SHOP_PRICE_CHANGED: we never charge more
 *    than the customer agreed to;
 *  - current equal or lower ⇒ SHOP_PRICE_OK and *charge = current: a price
 *    drop (a sale starting meanwhile) is passed on, so the customer never
 *    pays more than shown and never more than anyone else pays now.
 * Negative prices are never valid (the caller rejects them first). */
shop_price_check shop_check_price(int64_t shown_paise, int64_t current_paise, int64_t *charge_paise);

/* ---- cart limits (the API enforces them on the cart, the worker again
 * on the checkout command) ---- */

#define SHOP_QTY_MIN 1
#define SHOP_QTY_MAX 99
#define SHOP_CART_MAX_LINES 50
#define SHOP_KIT_MAX_COMPONENTS 20

bool shop_qty_valid(int64_t quantity);
/* A cart may hold 0..SHOP_CART_MAX_LINES lines (adding the 51st fails). */
bool shop_cart_size_valid(size_t lines);

/* ---- identifiers and addresses ---- */

#define SHOP_SLUG_MAX 100

/* Catalog slugs (products, categories): 1..SHOP_SLUG_MAX bytes of
 * [a-z0-9_-], Django's SlugField alphabet in lower case, and not all digits,
 * so /api/products/{id_or_slug}/ can never mistake a slug for an id. */
bool shop_slug_valid(const char *s);

/* Indian PIN code: exactly 6 digits, the first one 1-9. */
bool shop_pincode_valid(const char *s);

/* The seed frontend checks out with one line of address (issue 15,
 * docs/seed-frontend.md) where our checkout has five fields; the worker
 * needs city, state and PIN to ship, so the API splits the line into them:
 * "<street…>, <city>, <state>[,] <PIN>" — the PIN is the last word, the
 * state and the city the two comma-separated parts before it, trimmed.
 * Returns 0 and fills city/state (≤ cap - 1 bytes each) and pincode[7], or
 * -1 when the line does not end in a valid PIN or lacks a street, a city or
 * a state (then nothing we could ship to is known: the caller refuses it). */
int shop_split_address_line(const char *line, char *city, char *state, size_t cap, char pincode[7]);

/* ---- kits and stock ---- */

/* One line of a cart / checkout. */
typedef struct {
    int64_t product_id;
    int32_t quantity;       /* SHOP_QTY_MIN..SHOP_QTY_MAX */
    bool is_kit;            /* a kit sells its components, not itself */
} shop_line;

/* One row of kit_components: a kit needs `quantity` of `component_id`. */
typedef struct {
    int64_t kit_id;
    int64_t component_id;
    int32_t quantity;       /* > 0 */
} shop_kit_part;

/* A kit's sellable count: min over its components of floor(stock /
 * quantity). `stocks[i]` is the stock of parts[i].component_id. A kit
 * without components (n == 0) is not sellable: 0. Parts with a quantity
 * <= 0 are ignored (the schema forbids them); negative stock counts as 0. */
int64_t shop_kit_available(const shop_kit_part *parts, const int64_t *stocks, size_t n);

/* How many units a cart takes from one product's stock. */
typedef struct {
    int64_t product_id;
    int64_t need;
    int64_t stock;          /* filled by the caller before shop_first_short() */
} shop_need;

/* Expands a cart into stock needs: a plain line needs its quantity of its
 * own product; a kit line needs quantity × part quantity of each of its
 * components (parts whose kit_id is the line's product) and nothing of the
 * kit row itself. Needs of the same product are summed, so a kit and one of
 * its components in the same cart are checked against their total.
 * Writes one entry per product into `out`, ascending by product_id (the
 * order rows are locked in), stock = 0; returns how many. `out` must hold
 * n_lines + n_parts entries. */
size_t shop_cart_needs(const shop_line *lines, size_t n_lines, const shop_kit_part *parts, size_t n_parts,
                       shop_need *out);

/* Index of the first need above its stock, or -1 when the cart fits. */
ptrdiff_t shop_first_short(const shop_need *needs, size_t n);

/* True when `line` takes stock from `product_id` (itself when plain, one of
 * its components when a kit): names the cart lines a shortage affects. */
bool shop_line_uses(const shop_line *line, const shop_kit_part *parts, size_t n_parts, int64_t product_id);

/* ---- order numbers ---- */

/* Human-readable, deterministic order number from the order id:
 * "PUN-" + the id zero-padded to at least 6 digits + "-" + a Luhn check
 * digit over those digits, e.g. id 123 ⇒ "PUN-000123-0", id 1234567 ⇒
 * "PUN-1234567-4". The check digit catches any single mistyped digit and
 * most swaps of neighbours when a customer reads the number out on the
 * phone. Returns the length written
 * (NUL included in cap), or 0 when id <= 0 or cap < SHOP_ORDER_NUMBER_CAP. */
#define SHOP_ORDER_NUMBER_CAP 32
size_t shop_order_number(int64_t id, char *buf, size_t cap);

/* The order id in an order number, or -1 when it is not one (wrong prefix,
 * non-digits, fewer than 6 digits, leading zeros beyond the padding, or a
 * wrong check digit). Inverse of shop_order_number. */
int64_t shop_order_number_parse(const char *s);

/* ---- order status ---- */

typedef enum {
    ORDER_INVALID = -1,
    ORDER_PENDING = 0,      /* paid, waiting for the shop to confirm */
    ORDER_CONFIRMED,
    ORDER_SHIPPED,
    ORDER_DELIVERED,
    ORDER_CANCELLED,
} shop_order_status;

shop_order_status shop_order_status_parse(const char *s);   /* ORDER_INVALID when unknown/NULL */
const char *shop_order_status_name(shop_order_status s);     /* NULL for ORDER_INVALID */

/* Allowed moves: exactly one step forward (pending → confirmed → shipped →
 * delivered), or cancelled from pending or confirmed (before it ships).
 * Nothing leaves delivered or cancelled; staying put is not a move. */
bool shop_order_can_transition(shop_order_status from, shop_order_status to);

/* True while the order has not shipped (pending or confirmed). */
bool shop_order_cancellable(shop_order_status s);

#endif
