/* hasher.h — Argon2id password hashing off the event loops.
 *
 * crypto_pwhash_str costs tens of milliseconds of CPU and 64 MiB by design;
 * on a loop thread it would stall every other request. A small pool of
 * hashing threads does the work and hands the result back to the loop that
 * asked, through h2o's multithread queue.
 *
 * A new hash leaves the pool only sealed with PUNYAKA_CREDENTIAL_KEY
 * ("sealed:v1:…", common/sealed.h): that is the form that goes into
 * user.register / user.change_password, so Kafka, the journal and the
 * events topic never hold an Argon2id string. The plain hash exists only
 * inside the job, which wipes it. */
#ifndef PUNYAKA_API_HASHER_H
#define PUNYAKA_API_HASHER_H

#include <sodium.h>
#include "api/server.h"
#include "common/sealed.h"

typedef struct api_hash_job api_hash_job;
/* On the requesting loop. Hashing: hash is the SEALED hash, NULL when
 * hashing or sealing failed (out of memory). Verifying: job->ok tells
 * whether the password matched. */
typedef void (*api_hash_cb)(api_hash_job *job, const char *hash);

struct api_hash_job {
    h2o_multithread_message_t msg;   /* first; zeroed by api_hash_job_new */
    api_hash_job *next;
    api_thread *thread;
    api_hash_cb cb;
    void *data;                      /* the caller's context */
    const atomic_int *gone;          /* the owner's api_async.gone: set when its client left */
    uint64_t client;                 /* keyed hash of the client address (fair share of the queue) */
    int verify;                      /* 0: hash `password`; 1: check it against `hash` */
    int skipped;                     /* 1: dropped unhashed because the client had gone */
    char password[256];
    char hash[crypto_pwhash_STRBYTES];   /* plain; wiped once sealed */
    char sealed[PK_SEALED_STR_MAX];
    int ok;
};

/* nthreads hashing threads and a queue of at most queue_max waiting jobs:
 * at ~55 ms per hash and 2 threads, 32 waiting jobs are ~1 s of work, so a
 * request that is admitted is answered within about a second even under a
 * flood; beyond that the API sheds (503 + Retry-After) instead of queueing
 * minutes of work for clients that will have given up. One client address
 * may hold at most per_client_max of the waiting places, so a flood from
 * one address cannot crowd out everybody else's logins. */
/* key: PUNYAKA_CREDENTIAL_KEY, copied; main() refuses to start without it. */
void api_hasher_start(int nthreads, int queue_max, int per_client_max, const unsigned char key[crypto_secretbox_KEYBYTES]);
void api_hasher_stop(void);

/* Queue a job for `owner` (the api_async that heads `data`); its callback
 * runs later on req's loop. A job whose client has gone by the time a thread
 * takes it is not hashed (the callback still runs, with job->skipped set).
 * Returns 0, or -1 when the queue is full: then nothing was queued, the
 * callback will not run, and the caller answers 503 (api_reply_hasher_busy). */
int api_hash_password(h2o_req_t *req, api_async *owner, const char *password, api_hash_cb cb, void *data);
/* Checks password against an Argon2id string. With hash == NULL it checks
 * against a dummy hash, so an unknown user costs the same time as a wrong
 * password (no user enumeration by timing). Returns as api_hash_password. */
int api_verify_password(h2o_req_t *req, api_async *owner, const char *password, const char *hash, api_hash_cb cb,
                        void *data);
/* The answer when the queue is full: 503 overloaded, Retry-After: 1. */
void api_reply_hasher_busy(h2o_req_t *req);
/* Jobs shed because the queue was full / dropped because the client left. */
unsigned long api_hasher_shed_total(void);
unsigned long api_hasher_skipped_total(void);
/* Receiver callback registered on each loop (api_thread.hash_done). */
void api_hasher_on_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

#endif
