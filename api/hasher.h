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
    int verify;                      /* 0: hash `password`; 1: check it against `hash` */
    char password[256];
    char hash[crypto_pwhash_STRBYTES];   /* plain; wiped once sealed */
    char sealed[PK_SEALED_STR_MAX];
    int ok;
};

/* key: PUNYAKA_CREDENTIAL_KEY, copied; main() refuses to start without it. */
void api_hasher_start(int nthreads, const unsigned char key[crypto_secretbox_KEYBYTES]);
void api_hasher_stop(void);

/* Queues a job; its callback runs later on job->thread's loop. */
void api_hash_password(api_thread *t, const char *password, api_hash_cb cb, void *data);
/* Checks password against an Argon2id string. With hash == NULL it checks
 * against a dummy hash, so an unknown user costs the same time as a wrong
 * password (no user enumeration by timing). */
void api_verify_password(api_thread *t, const char *password, const char *hash, api_hash_cb cb, void *data);
/* Receiver callback registered on each loop (api_thread.hash_done). */
void api_hasher_on_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

#endif
