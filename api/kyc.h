/* kyc.h — the API's side of priest KYC (common/kyc.h has the rules).
 * Fields arrive in plaintext over HTTPS, are validated, and are sealed with
 * PUNYAKA_DATA_KEY here, so commands, logs, the journal and PostgreSQL only
 * ever hold ciphertext. Admin reads open them again to show masks. */
#ifndef PUNYAKA_API_KYC_H
#define PUNYAKA_API_KYC_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <msgpack.h>
#include "common/kyc.h"

#define API_KYC_FIELDS 4

typedef struct {
    const char *enc_field[API_KYC_FIELDS];   /* "aadhaar_enc", … */
    const char *fp_field[API_KYC_FIELDS];    /* "aadhaar_fp", … */
    unsigned char *blob[API_KYC_FIELDS];
    size_t len[API_KYC_FIELDS];
    unsigned char fp[API_KYC_FIELDS][PK_KYC_FP_BYTES];   /* pk_kyc_fingerprint of the value */
    int n;
} api_kyc_set;

/* Loads PUNYAKA_DATA_KEY; false when absent or malformed (KYC submissions
 * are then refused with a clear error rather than stored unencrypted). */
bool api_kyc_init(void);

/* Validates the KYC fields present in body (aadhaar_number, pan_number,
 * bank_account_number, bank_ifsc_code); adds messages to errors; seals the
 * valid ones into out. Caller frees out with api_kyc_free. */
void api_kyc_collect(json_t *body, json_t *errors, api_kyc_set *out);
/* Packs each field as two msgpack key/bin pairs: the sealed blob
 * (`<field>_enc`) and its fingerprint (`<field>_fp`, common/kyc.h), with
 * which the worker tells a changed value from a resubmitted one without
 * a key. api_kyc_pairs() is how many pairs that is, for the map header. */
void api_kyc_pack(msgpack_packer *pk, const api_kyc_set *set);
size_t api_kyc_pairs(const api_kyc_set *set);
void api_kyc_free(api_kyc_set *set);

/* Opens a sealed blob; masked ⇒ "XXXXXXXX9012". Returns a new JSON string,
 * or JSON null when the blob is absent or cannot be opened. */
json_t *api_kyc_show(const unsigned char *blob, size_t len, bool masked);

#endif
