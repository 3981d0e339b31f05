/* commands.h — integration tests that drive workers directly: build a
 * command envelope exactly as the API does, produce it to Kafka, and wait for
 * the worker's outcome row. Lets worker families be tested before (and
 * independently of) their HTTP endpoints. */
#ifndef PUNYAKA_TEST_COMMANDS_H
#define PUNYAKA_TEST_COMMANDS_H

#include <stdint.h>
#include <libpq-fe.h>
#include <msgpack.h>
#include "common/uuid.h"

typedef struct {
    char id[PK_UUID_STR_LEN + 1];   /* command id */
    char status[16];                /* applied | rejected | "" (timed out) */
    char code[48];                  /* rejection code or "" */
    long long entity_id;            /* 0 when none */
    char *resource;                 /* JSON text or NULL; free() it */
} it_outcome;

/* Payload builder: msgpack_sbuffer + packer, ready for msgpack_pack_map(). */
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} it_payload;
void it_payload_init(it_payload *p);
void it_payload_free(it_payload *p);

/* The reply_to of the envelopes sent from now on ("" = none, the default):
 * set it to make workers publish outcome notifications, as for the API. */
extern char it_reply_to[64];

/* Appends the signature trailer (common/command_auth.h) to the envelope
 * in sb, with the stack's PUNYAKA_COMMAND_KEY (DIR/env, loaded by
 * it_start): what the API does to every command, so workers apply it.
 * Aborts the test program when the stack has no valid key. */
void it_sign(msgpack_sbuffer *sb);

/* Produces one command, signed (new UUIDv7 unless `id` is given, issued_at = now
 * unless issued_at_us != 0) to "<prefix><topic>" with `key`. Writes the
 * command id into id_out. Returns 0 when Kafka acknowledged it. */
int it_send_command(const char *type, const char *topic, const char *key, int64_t actor_id,
                    const char *actor_role, const it_payload *payload, const pk_uuid *id,
                    int64_t issued_at_us, char id_out[PK_UUID_STR_LEN + 1]);

/* A long-lived producer for load tests (it_send_command opens one per
 * message and waits for its acknowledgement): sends are asynchronous, so
 * thousands of commands are in flight at once; flush waits for Kafka to
 * acknowledge them all. Safe to share between threads. */
typedef struct it_producer it_producer;
it_producer *it_producer_new(void);
/* Like it_send_command (new UUIDv7, issued_at = now), without waiting. */
int it_producer_send(it_producer *p, const char *type, const char *topic, const char *key, int64_t actor_id,
                     const char *actor_role, const it_payload *payload, char id_out[PK_UUID_STR_LEN + 1]);
/* The same with issued_at_us (0 = now): the worker's only clock. */
int it_producer_send_at(it_producer *p, const char *type, const char *topic, const char *key, int64_t actor_id,
                        const char *actor_role, const it_payload *payload, int64_t issued_at_us,
                        char id_out[PK_UUID_STR_LEN + 1]);
/* 0 when every message sent so far was acknowledged. */
int it_producer_flush(it_producer *p);
void it_producer_free(it_producer *p);

/* The wall clock in µs since the epoch: what the API puts in issued_at. */
int64_t it_now_us(void);

/* Polls command_outcomes for `id` up to timeout_ms. */
it_outcome it_wait_outcome(PGconn *db, const char *id, int timeout_ms);
void it_outcome_free(it_outcome *o);

/* A well-formed Argon2id string for commands that carry a password hash. */
#define IT_PASSWORD_HASH "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g"

/* Packs the pair "password_hash" ⇒ `hash` sealed with the stack's
 * PUNYAKA_CREDENTIAL_KEY, the only form a worker accepts (common/sealed.h),
 * exactly as the API and punyaka-admin send it. Aborts the test program when
 * the key is missing or sealing fails. */
void it_pack_password_hash(msgpack_packer *pk, const char *hash);

/* A user.register payload for a customer: `username`, the e-mail
 * <username>@example.com, `hash` sealed (it_pack_password_hash). pl is
 * initialised here; the caller frees it. */
void it_customer_registration(it_payload *pl, const char *username, const char *hash);

/* Hashes a forger puts in the clear into commands he makes himself: their
 * salt begins "forged-unsealed" (IT_FORGED_SALT in base64), so
 * it_no_credentials, scanning every topic for `$argon2`, tells a forger's
 * own bytes in the dead letters apart from a leak of ours. */
#define IT_FORGED_SALT "Zm9yZ2VkLXVuc2VhbGVk"
#define IT_FORGED_HASH "$argon2id$v=19$m=65536,t=2,p=1$" IT_FORGED_SALT "$aGFzaGhhc2hoYXNoaGFzaGhhc2g"
/* A real Argon2id string of `password` (it verifies) with that salt. */
void it_forged_password_hash(const char *password, char out[128]);

/* An admin made the way punyaka-admin makes one: a user.create_admin
 * command as actor "system" (never a SQL insert: the journal must hold
 * every row, so a replay of the log rebuilds it). The user id, 0 when it
 * was not applied; email is username@example.com. */
int64_t it_create_admin(PGconn *db, const char *username);

/* send + wait in one call (timeout 20 s). */
it_outcome it_command(PGconn *db, const char *type, const char *topic, const char *key, int64_t actor_id,
                      const char *actor_role, const it_payload *payload);

/* A booking that has already begun, as a priest can complete it (issue 14:
 * never before its start): booking.create produced directly with an
 * issued_at in the past — as if the customer had booked a day ahead — so
 * the journal holds everything and a replay decides the same. It starts at
 * 10:00 local, `n` + 1 days ago (distinct n for one priest never overlap),
 * for a service of at most 11 hours. Returns the booking id, 0 on failure. */
int64_t it_book_started(PGconn *db, int64_t customer_user_id, int64_t priest_id, int64_t service_id, int n);

#endif
