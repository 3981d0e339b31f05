/* txn.h — the one PostgreSQL transaction that applies a command, shared by
 * punyaka-worker (process.c, commands from Kafka) and punyaka-replay
 * (workers/replay/, commands from the events log), so a replay runs exactly
 * the code the live system ran (DESIGN §3):
 *
 *   BEGIN
 *     INSERT processed_commands (id)   ─ conflict ⇒ ROLLBACK, info.duplicate
 *     SAVEPOINT apply; apply the rule  ─ rejected ⇒ ROLLBACK TO SAVEPOINT
 *     relay barrier (shared advisory lock, relay.h explains it)
 *     INSERT journal (the last write: its seq orders conflicting commands)
 *     INSERT command_outcomes
 *   COMMIT
 *
 * In a replay (ctx->replay_seq > 0) the journal row gets the recorded seq
 * instead of a new one, and the apply functions insert the recorded entity
 * ids (ctx->replay_ids). Nothing here talks to Kafka or Redis. */
#ifndef PUNYAKA_WORKER_TXN_H
#define PUNYAKA_WORKER_TXN_H

#include <stddef.h>
#include <stdint.h>
#include "workers/worker.h"

/* Where the command was read from (processed_commands columns). */
typedef struct {
    const char *topic;
    int partition;
    int64_t offset;
} wk_source;

typedef struct {
    const pk_envelope_decoded *cmd;
    const void *raw;            /* the envelope bytes as received: journal.envelope */
    size_t raw_len;
    wk_source src;
    const wk_command *command;  /* NULL: unknown type (rejected unknown_command, poison) */
} wk_txn_input;

typedef struct {
    int duplicate;              /* the command id was processed before: nothing was done */
    int poison;                 /* rejected as poison: the caller dead-letters the message */
    int64_t seq;                /* the journal seq written (0 for a duplicate) */
} wk_txn_info;

/* Runs the transaction. WK_DONE: committed (or a duplicate: rolled back,
 * info->duplicate set) and `out` holds the decision. WK_TRANSIENT: rolled
 * back; the caller retries the same command later. Never WK_POISON: a
 * poison command is committed as rejected with info->poison set. */
wk_result wk_txn_run(wk_ctx *ctx, const wk_txn_input *in, wk_outcome *out, wk_txn_info *info);

#endif
