/* pg_session.h — how every long-lived PostgreSQL session of ours is opened
 * (API read pools, workers, the outbox relay): the operator's DATABASE_URL,
 * then settings that bound what one stuck or vanished process can do to the
 * others (issue 11 "No global stall"):
 *
 *   idle_in_transaction_session_timeout  a worker paused (SIGSTOP, a GC-like
 *       stall, a debugger) inside a transaction loses it after this, so the
 *       row locks it held stop blocking every other writer;
 *   statement_timeout / lock_timeout      no statement waits without bound;
 *       the workers classify both (57014, 55P03) as transient and retry;
 *   keepalives + tcp_user_timeout         a half-open connection (the peer's
 *       host died, a NAT forgot it) is noticed in about half a minute, not
 *       after the kernel's two hours.
 *
 * The settings come after the URL, so they win over the same keys in it. */
#ifndef PUNYAKA_PG_SESSION_H
#define PUNYAKA_PG_SESSION_H

typedef enum {
    PK_PG_API,      /* short reads on the event loop */
    PK_PG_WORKER,   /* command transactions and the relay */
} pk_pg_role;

#define PK_PG_PARAMS_MAX 10

typedef struct {
    const char *keys[PK_PG_PARAMS_MAX + 1];     /* NULL-terminated, for PQconnect*Params */
    const char *values[PK_PG_PARAMS_MAX + 1];
} pk_pg_params;

/* Fills p for PQconnectdbParams / PQconnectStartParams with expand_dbname = 1.
 * dsn is borrowed (a conninfo string or a postgres:// URI). */
void pk_pg_params_init(pk_pg_params *p, const char *dsn, pk_pg_role role);

#endif
