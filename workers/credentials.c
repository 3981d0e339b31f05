#include "workers/credentials.h"

#include <string.h>
#include "common/mp.h"
#include "common/sealed.h"
#include "workers/fields.h"

static unsigned char credential_key[crypto_secretbox_KEYBYTES];
static int have_key;

int wk_credentials_init(char *err, size_t errcap)
{
    have_key = pk_sealed_key_from_env(PK_CREDENTIAL_KEY_ENV, credential_key, err, errcap) == 0;
    return have_key ? 0 : -1;
}

int wk_password_hash(const msgpack_object *payload, char *out, size_t cap)
{
    char sealed[PK_SEALED_STR_MAX];
    if (cap)
        out[0] = 0;
    if (!have_key || wk_field_str(payload, "password_hash", sealed, sizeof(sealed)) != WK_FIELD_SET)
        return -1;
    return pk_password_hash_open(credential_key, sealed, out, cap) < 0 ? -1 : 0;
}
