/* txn.h — the one PostgreSQL transaction that applies a command, shared by
 * punyaka-worker (process.c, commands from Kafka) and punyaka-replay
 * (workers/replay/, commands from the events log), so a replay runs exactly
 * the code the live system ran (DESIGN §3):
 *
 *   BEGIN
 *     INSERT processed_commands (id)   ─ conflict ⇒ nothing more, info.duplicate
 *     SAVEPOINT apply; apply the rule  ─ rejected ⇒ ROLLBACK TO SAVEPOINT
 *     RELEASE SAVEPOINT apply          ─ poison ⇒ also INSERT dead_letters
 *                                        (live only), so the rejection and
 *                                        its dead letter commit together
 *     INSERT journal + command_outcomes (one statement; the journal row is
 *       the last write: its seq orders conflicting commands)
 *   COMMIT
 *
 * The part between BEGIN and COMMIT is wk_txn_command, so a batch
 * (batch.h) can put several commands in one transaction, each with its own
 * rows and savepoint; wk_txn_run is the one-command transaction.
 *
 * Poison is a payload the rule refuses (WK_POISON from the apply function)
 * or a statement that fails deterministically (db.h): the rejection is
 * `invalid_command`, and the dead letter's reason names the SQLSTATE in the
 * second case. A failure of the transaction's own bookkeeping (BEGIN,
 * processed_commands, dead_letters, journal, outcome, COMMIT) is retried
 * whatever its SQLSTATE: those rows hold validated text and ids, so the
 * trouble is the database's, and dropping them would lose the decision.
 *
 * In a replay (ctx->replay_seq > 0) the journal row gets the recorded seq
 * instead of a new one, and the apply functions insert the recorded entity
 * ids (ctx->replay_ids). Nothing here talks to Kafka or Redis. */
#ifndef PUNYAKA_WORKER_TXN_H
#define PUNYAKA_WORKER_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "workers/worker.h"

/* The longest dead letter reason kept (bytes, with the NUL). */
#define WK_DEAD_LETTER_REASON_MAX 256

/* Where the command was read from (processed_commands and dead_letters
 * columns). */
typedef struct {
    const char *topic;
    int partition;
    int64_t offset;
    const void *key;            /* the message's key (dead_letters.key); NULL: none */
    size_t key_len;
} wk_source;

typedef struct {
    const pk_envelope_decoded *cmd;
    const void *raw;            /* the envelope bytes as received: journal.envelope */
    size_t raw_len;
    wk_source src;
    /* NULL: a type no worker takes on this topic (rejected unknown_command,
     * poison). A type no worker knows at all never gets here (process.c). */
    const wk_command *command;
    bool dead_letters;          /* live: a poison command's dead_letters row is written (a replay writes none) */
} wk_txn_input;

typedef struct {
    int duplicate;              /* the command id was processed before: nothing was done */
    int poison;                 /* rejected as poison: the caller sends the dead letter (dead_letters.h) */
    char reason[WK_DEAD_LETTER_REASON_MAX];   /* poison: the dead letter's reason */
    int64_t seq;                /* the journal seq written (0 for a duplicate) */
} wk_txn_info;

/* Runs the transaction. WK_DONE: committed (or a duplicate: rolled back,
 * info->duplicate set) and `out` holds the decision. WK_TRANSIENT: rolled
 * back; the caller retries the same command later. Never WK_POISON: a
 * poison command is committed as rejected with info->poison set. */
wk_result wk_txn_run(wk_ctx *ctx, const wk_txn_input *in, wk_outcome *out, wk_txn_info *info);

/* The pieces, for a batch. wk_txn_command runs inside an open transaction:
 * WK_DONE with `out`/`info` as above (a duplicate wrote nothing), or
 * WK_TRANSIENT, after which the transaction can only be rolled back —
 * every command in it goes back. wk_txn_commit: WK_TRANSIENT when COMMIT
 * failed (then whether it committed is unknown: the caller applies the same
 * messages again, and those that did commit come back as duplicates).
 * wk_txn_rollback ends whatever is open, and is harmless when nothing is. */
wk_result wk_txn_begin(wk_ctx *ctx);
wk_result wk_txn_command(wk_ctx *ctx, const wk_txn_input *in, wk_outcome *out, wk_txn_info *info);
wk_result wk_txn_commit(wk_ctx *ctx);
void wk_txn_rollback(wk_ctx *ctx);

#endif
