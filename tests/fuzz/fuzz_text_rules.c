/* fuzz_text_rules — the field rules of common/validate.c, common/kyc.c and
 * common/shop_rules.c on any text. The first byte picks the cap given to
 * pk_check_text and pk_kyc_normalize (so small buffers are tried too); the
 * rest is the value. Properties: normalizing is idempotent and never
 * overflows its buffer; an accepted KYC value is already normalized; an
 * order number that parses formats back to itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/kyc.h"
#include "common/shop_rules.h"
#include "common/validate.h"
#include "tests/fuzz/fuzz_support.h"

static void kyc_case(const char *s, size_t cap)
{
    char *out = malloc(cap ? cap : 1);
    int n = pk_kyc_normalize(s, out, cap);
    if (n >= 0) {
        if ((size_t)n >= cap || strlen(out) != (size_t)n)
            abort();
        char *again = malloc(cap);
        if (pk_kyc_normalize(out, again, cap) != n || strcmp(again, out) != 0)
            abort();
        free(again);
        if (!pk_kyc_check_aadhaar(out) && (n != 12 || !pk_verhoeff_valid(out)))
            abort();
        (void)pk_kyc_check_pan(out);
        (void)pk_kyc_check_bank_account(out);
        (void)pk_kyc_check_ifsc(out);
        char masked[PK_KYC_TEXT_MAX];
        if ((size_t)n < PK_KYC_TEXT_MAX)
            pk_kyc_mask(out, masked);
    }
    free(out);
    int d = pk_verhoeff_digit(s);
    if (d >= 0 && *s && strlen(s) < 64) {
        char with[80];
        snprintf(with, sizeof(with), "%s%d", s, d);
        if (!pk_verhoeff_valid(with))
            abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t cap = data[0];
    char *s = fuzz_strndup(data + 1, size - 1);
    (void)pk_check_username(s);
    (void)pk_check_email(s);
    (void)pk_check_password(s);
    (void)pk_check_text(s, cap);
    (void)pk_check_phone(s);
    kyc_case(s, cap);
    (void)shop_slug_valid(s);
    (void)shop_pincode_valid(s);
    shop_order_status st = shop_order_status_parse(s);
    if (st != ORDER_INVALID && strcmp(shop_order_status_name(st), s) != 0)
        abort();
    int64_t id = shop_order_number_parse(s);
    if (id > 0) {
        char buf[64];
        shop_order_number(id, buf, sizeof(buf));
        if (shop_order_number_parse(buf) != id)
            abort();
    }
    free(s);
    return 0;
}
