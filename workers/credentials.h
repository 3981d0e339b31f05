/* credentials.h — the worker's side of sealed password hashes
 * (common/sealed.h). user.register, user.change_password and
 * user.create_admin carry the Argon2id hash sealed with
 * PUNYAKA_CREDENTIAL_KEY; the worker is the one place (with
 * punyaka-replay rebuild/verify, which apply commands through this code)
 * that opens it, to store it in users.password_hash. So the log — command
 * topics, the journal, the events topic — never holds a usable hash.
 *
 * A payload whose password_hash is not sealed (a plain "$argon2id$…" from
 * an old API or a forger), does not open with the key, or does not hold an
 * Argon2id string is invalid: the command is poison (rejected and
 * dead-lettered), never applied. */
#ifndef PUNYAKA_WORKER_CREDENTIALS_H
#define PUNYAKA_WORKER_CREDENTIALS_H

#include <stddef.h>
#include <msgpack.h>

/* Loads PUNYAKA_CREDENTIAL_KEY once at start-up. 0, or -1 with the
 * operator's message in err: the process must then refuse to start. */
int wk_credentials_init(char *err, size_t errcap);

/* The payload's `password_hash`, opened, into out[cap] (cap ≥
 * crypto_pwhash_STRBYTES). 0, or -1 when absent, not a string, not sealed,
 * not openable, or not Argon2id (out is then ""). */
int wk_password_hash(const msgpack_object *payload, char *out, size_t cap);

#endif
