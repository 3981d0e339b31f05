#include "common/shop_rules.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int64_t shop_shipping(int64_t subtotal_paise)
{
    return subtotal_paise >= SHOP_FREE_SHIPPING_FROM_PAISE ? 0 : SHOP_SHIPPING_FLAT_PAISE;
}

int64_t shop_unit_price(int64_t price_paise, int64_t discount_paise)
{
    return discount_paise >= 0 ? discount_paise : price_paise;
}

shop_price_check shop_check_price(int64_t shown_paise, int64_t current_paise, int64_t *charge_paise)
{
    if (current_paise > shown_paise)
        return SHOP_PRICE_CHANGED;
    *charge_paise = current_paise;
    return SHOP_PRICE_OK;
}

bool shop_qty_valid(int64_t quantity)
{
    return quantity >= SHOP_QTY_MIN && quantity <= SHOP_QTY_MAX;
}

bool shop_cart_size_valid(size_t lines)
{
    return lines <= SHOP_CART_MAX_LINES;
}

bool shop_slug_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    bool non_digit = false;
    if (n == 0 || n > SHOP_SLUG_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool digit = c >= '0' && c <= '9';
        if (!digit && !(c >= 'a' && c <= 'z') && c != '-' && c != '_')
            return false;
        non_digit |= !digit;
    }
    return non_digit;
}

bool shop_pincode_valid(const char *s)
{
    if (!s || strlen(s) != 6 || s[0] < '1' || s[0] > '9')
        return false;
    for (int i = 1; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* [b, e) without surrounding blanks, copied into out; its length, or -1 when it is empty or too long. */
static int trimmed(const char *b, const char *e, char *out, size_t cap)
{
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    if (e == b || (size_t)(e - b) >= cap)
        return -1;
    memcpy(out, b, (size_t)(e - b));
    out[e - b] = 0;
    return (int)(e - b);
}

int shop_split_address_line(const char *line, char *city, char *state, size_t cap, char pincode[7])
{
    const char *end = line + strlen(line);
    while (end > line && (isspace((unsigned char)end[-1]) || end[-1] == ',' || end[-1] == '.'))
        end--;
    if (end - line < 6 || trimmed(end - 6, end, pincode, 7) != 6 || !shop_pincode_valid(pincode))
        return -1;
    if (end - line > 6 && isalnum((unsigned char)end[-7]))   /* part of a longer number or word */
        return -1;
    const char *rest = end - 6;   /* before the PIN: "<street…>, <city>, <state>[,] " */
    while (rest > line && (isspace((unsigned char)rest[-1]) || rest[-1] == ',' || rest[-1] == '-'))
        rest--;
    const char *c2 = rest;
    while (c2 > line && c2[-1] != ',')
        c2--;
    if (c2 == line || trimmed(c2, rest, state, cap) < 0)
        return -1;
    const char *c1 = c2 - 1;   /* the comma before the state */
    while (c1 > line && c1[-1] != ',')
        c1--;
    if (c1 == line || trimmed(c1, c2 - 1, city, cap) < 0)
        return -1;
    for (const char *p = line; p < c1 - 1; p++)   /* a street: something visible before the city */
        if (!isspace((unsigned char)*p) && *p != ',')
            return 0;
    return -1;
}

int64_t shop_kit_available(const shop_kit_part *parts, const int64_t *stocks, size_t n)
{
    int64_t best = -1;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].quantity <= 0)
            continue;
        int64_t can = stocks[i] > 0 ? stocks[i] / parts[i].quantity : 0;
        if (best < 0 || can < best)
            best = can;
    }
    return best < 0 ? 0 : best;
}

/* Adds `need` units of product `id` to the sorted, merged list out[0..*n). */
static void add_need(shop_need *out, size_t *n, int64_t id, int64_t need)
{
    size_t i = 0;
    while (i < *n && out[i].product_id < id)
        i++;
    if (i < *n && out[i].product_id == id) {
        out[i].need += need;
        return;
    }
    memmove(&out[i + 1], &out[i], (*n - i) * sizeof(*out));
    out[i] = (shop_need){.product_id = id, .need = need, .stock = 0};
    (*n)++;
}

size_t shop_cart_needs(const shop_line *lines, size_t n_lines, const shop_kit_part *parts, size_t n_parts,
                       shop_need *out)
{
    size_t n = 0;
    for (size_t i = 0; i < n_lines; i++) {
        if (!lines[i].is_kit) {
            add_need(out, &n, lines[i].product_id, lines[i].quantity);
            continue;
        }
        for (size_t j = 0; j < n_parts; j++)
            if (parts[j].kit_id == lines[i].product_id && parts[j].quantity > 0)
                add_need(out, &n, parts[j].component_id, (int64_t)lines[i].quantity * parts[j].quantity);
    }
    return n;
}

ptrdiff_t shop_first_short(const shop_need *needs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (needs[i].need > needs[i].stock)
            return (ptrdiff_t)i;
    return -1;
}

bool shop_line_uses(const shop_line *line, const shop_kit_part *parts, size_t n_parts, int64_t product_id)
{
    if (!line->is_kit)
        return line->product_id == product_id;
    for (size_t j = 0; j < n_parts; j++)
        if (parts[j].kit_id == line->product_id && parts[j].component_id == product_id)
            return true;
    return false;
}

/* ---- order numbers ---- */

#define ORDER_PREFIX "PUN-"
#define ORDER_MIN_DIGITS 6

/* Luhn check digit to append to the decimal digits[0..n). */
static int luhn_digit(const char *digits, size_t n)
{
    int sum = 0;
    for (size_t k = 0; k < n; k++) {
        int d = digits[n - 1 - k] - '0';
        if (k % 2 == 0) {   /* the rightmost digit is doubled: the check digit comes after it */
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return (10 - sum % 10) % 10;
}

size_t shop_order_number(int64_t id, char *buf, size_t cap)
{
    if (id <= 0 || cap < SHOP_ORDER_NUMBER_CAP)
        return 0;
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%0*lld", ORDER_MIN_DIGITS, (long long)id);
    return (size_t)snprintf(buf, cap, ORDER_PREFIX "%s-%d", digits, luhn_digit(digits, (size_t)n));
}

int64_t shop_order_number_parse(const char *s)
{
    size_t plen = strlen(ORDER_PREFIX);
    if (!s || strncmp(s, ORDER_PREFIX, plen) != 0)
        return -1;
    const char *digits = s + plen, *dash = strchr(digits, '-');
    size_t n = dash ? (size_t)(dash - digits) : 0;
    if (n < ORDER_MIN_DIGITS || n > 19 || dash[1] < '0' || dash[1] > '9' || dash[2] != '\0')
        return -1;
    int64_t id = 0;
    for (size_t i = 0; i < n; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return -1;
        if (id > (INT64_MAX - (digits[i] - '0')) / 10)
            return -1;
        id = id * 10 + (digits[i] - '0');
    }
    /* Exactly the canonical form: no extra leading zeros, right check digit. */
    char canonical[SHOP_ORDER_NUMBER_CAP];
    if (shop_order_number(id, canonical, sizeof(canonical)) == 0 || strcmp(canonical, s) != 0)
        return -1;
    return id;
}

/* ---- order status ---- */

static const char *const STATUS_NAMES[] = {"pending", "confirmed", "shipped", "delivered", "cancelled"};

shop_order_status shop_order_status_parse(const char *s)
{
    for (int i = 0; s && i < (int)(sizeof(STATUS_NAMES) / sizeof(STATUS_NAMES[0])); i++)
        if (strcmp(s, STATUS_NAMES[i]) == 0)
            return (shop_order_status)i;
    return ORDER_INVALID;
}

const char *shop_order_status_name(shop_order_status s)
{
    return s >= ORDER_PENDING && s <= ORDER_CANCELLED ? STATUS_NAMES[s] : NULL;
}

bool shop_order_cancellable(shop_order_status s)
{
    return s == ORDER_PENDING || s == ORDER_CONFIRMED;
}

bool shop_order_can_transition(shop_order_status from, shop_order_status to)
{
    if (to == ORDER_CANCELLED)
        return shop_order_cancellable(from);
    return from >= ORDER_PENDING && from < ORDER_DELIVERED && to == from + 1;
}
