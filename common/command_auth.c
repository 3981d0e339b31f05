/* command_auth.c — the envelope's authentication trailer (command_auth.h). */
#include "common/command_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/kyc.h"

/* msgpack bin8 of the trailer's body: version + key id + tag. */
static const unsigned char TRAILER_HEAD[2] = {0xc4, 1 + PK_AUTH_KEY_ID_BYTES + PK_AUTH_TAG_BYTES};

/* Domain separation: the key id is a hash of this text keyed with the key,
 * never a hash of the key alone. */
static const char KEY_ID_CONTEXT[] = "punyaka command key id v1";

_Static_assert(PK_AUTH_KEY_BYTES == crypto_secretbox_KEYBYTES, "pk_kyc_key_load parses 32-byte keys");

static int fail(char *err, size_t errcap, const char *what)
{
    if (err && errcap)
        snprintf(err, errcap, "%s", what);
    return -1;
}

static int load_one(pk_auth_key *k, const char *hex)
{
    if (pk_kyc_key_load(hex, k->key) != 0)
        return -1;
    crypto_generichash(k->id, sizeof(k->id), (const unsigned char *)KEY_ID_CONTEXT, sizeof(KEY_ID_CONTEXT) - 1,
                       k->key, sizeof(k->key));
    k->set = true;
    return 0;
}

int pk_command_keys_load(pk_command_keys *k, const char *current_hex, const char *previous_hex, char *err,
                         size_t errcap)
{
    memset(k, 0, sizeof(*k));
    if (!current_hex || !*current_hex)
        return fail(err, errcap, PK_COMMAND_KEY_ENV " is not set (64 hex characters, shared by the API, "
                                 "punyaka-admin and the workers)");
    if (load_one(&k->current, current_hex) != 0)
        return fail(err, errcap, PK_COMMAND_KEY_ENV " is malformed: it must be 64 hex characters, not all zero");
    if (previous_hex && *previous_hex && load_one(&k->previous, previous_hex) != 0) {
        pk_command_keys_wipe(k);
        return fail(err, errcap,
                    PK_COMMAND_KEY_PREVIOUS_ENV " is malformed: it must be 64 hex characters, not all zero");
    }
    return 0;
}

int pk_command_keys_from_env(pk_command_keys *k, char *err, size_t errcap)
{
    return pk_command_keys_load(k, getenv(PK_COMMAND_KEY_ENV), getenv(PK_COMMAND_KEY_PREVIOUS_ENV), err, errcap);
}

void pk_command_keys_wipe(pk_command_keys *k)
{
    sodium_memzero(k, sizeof(*k));
}

void pk_command_key_id_hex(const pk_auth_key *key, char out[PK_AUTH_KEY_ID_HEX])
{
    out[0] = 0;
    if (key->set)
        sodium_bin2hex(out, PK_AUTH_KEY_ID_HEX, key->id, sizeof(key->id));
}

int pk_command_sign(const pk_command_keys *k, const void *envelope, size_t len, msgpack_sbuffer *out)
{
    if (!k || !k->current.set || !envelope || !out)
        return -1;
    unsigned char trailer[PK_AUTH_TRAILER_BYTES];
    memcpy(trailer, TRAILER_HEAD, sizeof(TRAILER_HEAD));
    trailer[2] = PK_AUTH_VERSION;
    memcpy(trailer + 3, k->current.id, PK_AUTH_KEY_ID_BYTES);
    /* The tag before the append: envelope may point into out's buffer. */
    crypto_auth_hmacsha512256(trailer + 3 + PK_AUTH_KEY_ID_BYTES, envelope, len, k->current.key);
    size_t mark = out->size;
    if (msgpack_sbuffer_write(out, (const char *)trailer, sizeof(trailer)) != 0) {
        out->size = mark;
        return -1;
    }
    return 0;
}

/* The trailer's start, or NULL when the message does not end with one. */
static const unsigned char *trailer_of(const unsigned char *msg, size_t len)
{
    if (!msg || len < PK_AUTH_TRAILER_BYTES)
        return NULL;
    const unsigned char *t = msg + len - PK_AUTH_TRAILER_BYTES;
    return memcmp(t, TRAILER_HEAD, sizeof(TRAILER_HEAD)) == 0 ? t : NULL;
}

static const pk_auth_key *key_named(const pk_command_keys *k, const unsigned char *id)
{
    if (k->current.set && memcmp(k->current.id, id, PK_AUTH_KEY_ID_BYTES) == 0)
        return &k->current;
    if (k->previous.set && memcmp(k->previous.id, id, PK_AUTH_KEY_ID_BYTES) == 0)
        return &k->previous;
    return NULL;
}

pk_auth_result pk_command_verify(const pk_command_keys *k, const void *msg, size_t len, size_t *envelope_len,
                                 unsigned char key_id[PK_AUTH_KEY_ID_BYTES])
{
    *envelope_len = 0;
    const unsigned char *t = trailer_of(msg, len);
    /* An empty envelope cannot be a command: a lone trailer is "missing". */
    if (!t || len == PK_AUTH_TRAILER_BYTES)
        return PK_AUTH_MISSING;
    if (t[2] != PK_AUTH_VERSION)
        return PK_AUTH_BAD_VERSION;
    const pk_auth_key *key = k ? key_named(k, t + 3) : NULL;
    if (!key)
        return PK_AUTH_UNKNOWN_KEY;
    size_t n = len - PK_AUTH_TRAILER_BYTES;
    if (crypto_auth_hmacsha512256_verify(t + 3 + PK_AUTH_KEY_ID_BYTES, msg, n, key->key) != 0)
        return PK_AUTH_BAD_TAG;
    *envelope_len = n;
    if (key_id)
        memcpy(key_id, key->id, PK_AUTH_KEY_ID_BYTES);
    return PK_AUTH_OK;
}

size_t pk_command_envelope_len(const void *msg, size_t len)
{
    return trailer_of(msg, len) ? len - PK_AUTH_TRAILER_BYTES : len;
}

const char *pk_auth_result_str(pk_auth_result r)
{
    switch (r) {
    case PK_AUTH_OK:
        return "ok";
    case PK_AUTH_MISSING:
        return "missing";
    case PK_AUTH_BAD_VERSION:
        return "bad_version";
    case PK_AUTH_UNKNOWN_KEY:
        return "unknown_key";
    case PK_AUTH_BAD_TAG:
        return "bad_tag";
    }
    return "?";
}
