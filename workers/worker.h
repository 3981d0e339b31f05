/* worker.h — what a command family (accounts.c, bookings.c, …) needs to
 * apply a command, and what it must give back.
 *
 * An apply function runs inside the command's transaction (txn.c opened
 * it, recorded the command id, and set a savepoint). It reads the envelope,
 * writes through ctx->db, and fills the outcome. It never reads the clock or
 * a random source: time is env.issued_at_us (DESIGN §3 rule 3).
 *
 * Entity ids: every row a command creates is recorded in
 * out->created_ids (one id as {"booking": 42}, several as
 * {"payments": [7, 8]}). When punyaka-replay re-applies the command,
 * ctx->replay_ids holds what the journal recorded and the apply function
 * inserts exactly those ids (wk_new_id / wk_new_ids below) instead of
 * letting PostgreSQL draw new ones, so the rebuilt rows are the same.
 *
 * Statements and their failures: db.h. Every failed statement goes through
 * wk_db_failure(), which says whether it is WK_TRANSIENT or WK_POISON. */
#ifndef PUNYAKA_WORKER_H
#define PUNYAKA_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <libpq-fe.h>
#include "common/config.h"
#include "common/envelope.h"

typedef enum {
    WK_DONE,        /* outcome filled (applied or rejected) */
    WK_TRANSIENT,   /* database trouble: roll back, back off, retry the same message */
    WK_POISON,      /* the payload is invalid: rejected + dead-lettered */
} wk_result;

typedef struct {
    int applied;            /* 1 applied, 0 rejected */
    int http_status;        /* 201/200 when applied; rejections take the reason's */
    char code[48];          /* rejection reason (common/reasons.c) */
    char detail[256];
    json_t *errors;         /* {field: [msg]} or NULL; owned */
    json_t *resource;       /* the entity as the API shows it, or NULL; owned */
    char entity_type[24];
    int64_t entity_id;
    json_t *created_ids;    /* {"user": 12, ...}; owned, never NULL after init */
} wk_outcome;

typedef struct {
    PGconn *db;
    const pk_config *cfg;
    const json_t *replay_ids;   /* replay: the journal's created_ids of this command; NULL live */
    int64_t replay_seq;         /* replay: the journal seq to write again; 0 live (drawn) */
    /* The statement failure that made this command poison, as its dead
     * letter's reason ("db_error 22003: …"); "" when none. Set by
     * wk_db_failure (db.h), cleared by txn.c before each command. */
    char db_error[200];
} wk_ctx;

typedef wk_result (*wk_apply_fn)(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);

typedef struct {
    const char *type;      /* "user.register", a row of common/commands.def */
    wk_apply_fn apply;
} wk_command;

/* commands.c: the command table. NULL when unknown. */
const wk_command *wk_command_find(const char *type);
/* The table by position (metrics label every command type). */
size_t wk_command_count(void);
const wk_command *wk_command_at(size_t i);
size_t wk_command_index(const wk_command *c);
/* The logical topic c must arrive on (common/commands.def). */
const char *wk_command_topic(const wk_command *c);
/* The distinct logical topics of commands.def (what the workers subscribe
 * to), into out[0..cap); returns how many. */
size_t wk_topics(const char *out[], size_t cap);

/* Outcome helpers. */
void wk_outcome_init(wk_outcome *o);
void wk_outcome_free(wk_outcome *o);
void wk_reject(wk_outcome *o, const char *code, const char *field, const char *message);
void wk_applied(wk_outcome *o, int http_status, const char *entity_type, int64_t id, json_t *resource);
/* 1 once wk_reject has decided the outcome: the apply function stops and
 * returns WK_DONE. */
int wk_rejected(const wk_outcome *o);

/* Created ids. SQL for "the recorded id, else a new one from the table's
 * identity sequence"; param is a text parameter that is NULL live. */
#define WK_NEW_ID(param, table) "coalesce(" param "::bigint, nextval(pg_get_serial_sequence('" table "', 'id')))"
/* The same for the ord-th row (1-based) of a multi-row insert; param is a
 * bigint[] literal (wk_new_ids) or NULL. */
#define WK_NEW_IDS(param, ord, table) \
    "coalesce((" param "::bigint[])[" ord "], nextval(pg_get_serial_sequence('" table "', 'id')))"
/* The recorded id for `key` as text in buf (NULL live, or when the journal
 * recorded none): the parameter of WK_NEW_ID. */
const char *wk_new_id(const wk_ctx *ctx, const char *key, char buf[24]);
/* The next n recorded ids of the array under `key` — after those this
 * command already created (out->created_ids[key]) — as a bigint[] literal
 * (malloc'd; NULL live): the parameter of WK_NEW_IDS. */
char *wk_new_ids(const wk_ctx *ctx, const wk_outcome *out, const char *key, size_t n);
/* Records one created id: {"key": id}. */
void wk_created(wk_outcome *o, const char *key, int64_t id);
/* Appends a created id to the array under key: {"key": [..., id]}. */
void wk_created_append(wk_outcome *o, const char *key, int64_t id);

/* issued_at as an ISO timestamp PostgreSQL accepts (UTC). */
void wk_timestamp(int64_t us, char out[40]);

#endif
