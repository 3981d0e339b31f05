#include "api/kyc.h"
#include "api/http.h"

#include <stdlib.h>
#include <string.h>
#include "common/kyc.h"

static unsigned char data_key[crypto_secretbox_KEYBYTES];
static bool have_key;

static const struct {
    const char *field;
    const char *enc_field;
    const char *fp_field;
    const char *fp_name;   /* what the fingerprint is keyed on (common/kyc.h) */
    const char *(*check)(const char *);
} FIELDS[API_KYC_FIELDS] = {
    {"aadhaar_number", "aadhaar_enc", "aadhaar_fp", "aadhaar", pk_kyc_check_aadhaar},
    {"pan_number", "pan_enc", "pan_fp", "pan", pk_kyc_check_pan},
    {"bank_account_number", "bank_account_enc", "bank_account_fp", "bank_account", pk_kyc_check_bank_account},
    {"bank_ifsc_code", "bank_ifsc_enc", "bank_ifsc_fp", "bank_ifsc", pk_kyc_check_ifsc},
};

bool api_kyc_init(void)
{
    const char *hex = getenv("PUNYAKA_DATA_KEY");
    have_key = hex && pk_kyc_key_load(hex, data_key) == 0;
    return have_key;
}


void api_kyc_collect(json_t *body, json_t *errors, api_kyc_set *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < API_KYC_FIELDS; i++) {
        json_t *v = json_object_get(body, FIELDS[i].field);
        if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
            continue;
        char norm[PK_KYC_TEXT_MAX];
        const char *msg = NULL;
        if (!json_is_string(v))
            msg = "must be a string";
        else if (pk_kyc_normalize(json_string_value(v), norm, sizeof(norm)) < 0)
            msg = "is too long";
        else if ((msg = FIELDS[i].check(norm)) == NULL && !have_key)
            msg = "cannot be accepted: the server has no data key configured";
        if (msg) {
            api_field_error(errors, FIELDS[i].field, msg);
            continue;
        }
        size_t len;
        unsigned char *blob = pk_kyc_seal(data_key, norm, &len);
        int fp_ok = pk_kyc_fingerprint(data_key, FIELDS[i].fp_name, norm, out->fp[out->n]) == 0;
        sodium_memzero(norm, sizeof(norm));
        if (!blob || !fp_ok) {
            free(blob);
            api_field_error(errors, FIELDS[i].field, "could not be sealed");
            continue;
        }
        out->enc_field[out->n] = FIELDS[i].enc_field;
        out->fp_field[out->n] = FIELDS[i].fp_field;
        out->blob[out->n] = blob;
        out->len[out->n] = len;
        out->n++;
    }
}

void api_kyc_pack(msgpack_packer *pk, const api_kyc_set *set)
{
    for (int i = 0; i < set->n; i++) {
        msgpack_pack_str(pk, strlen(set->enc_field[i]));
        msgpack_pack_str_body(pk, set->enc_field[i], strlen(set->enc_field[i]));
        msgpack_pack_bin(pk, set->len[i]);
        msgpack_pack_bin_body(pk, set->blob[i], set->len[i]);
        msgpack_pack_str(pk, strlen(set->fp_field[i]));
        msgpack_pack_str_body(pk, set->fp_field[i], strlen(set->fp_field[i]));
        msgpack_pack_bin(pk, PK_KYC_FP_BYTES);
        msgpack_pack_bin_body(pk, set->fp[i], PK_KYC_FP_BYTES);
    }
}

size_t api_kyc_pairs(const api_kyc_set *set)
{
    return 2 * (size_t)set->n;
}

void api_kyc_free(api_kyc_set *set)
{
    for (int i = 0; i < set->n; i++)
        free(set->blob[i]);
    memset(set, 0, sizeof(*set));
}

json_t *api_kyc_show(const unsigned char *blob, size_t len, bool masked)
{
    char plain[PK_KYC_TEXT_MAX], mask[PK_KYC_TEXT_MAX];
    if (!blob || !len || !have_key || pk_kyc_open(data_key, blob, len, plain, sizeof(plain)) < 0)
        return json_null();
    if (!masked) {
        json_t *s = json_string(plain);
        sodium_memzero(plain, sizeof(plain));
        return s;
    }
    pk_kyc_mask(plain, mask);
    sodium_memzero(plain, sizeof(plain));
    return json_string(mask);
}
