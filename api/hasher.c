#include "api/hasher.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "api/http.h"
#include "api/throttle.h"
#include "common/log.h"

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    api_hash_job *head, *tail;
    pthread_t *threads;
    int nthreads;
    int queued, queue_max;   /* waiting jobs, and their bound */
    int per_client_max;      /* waiting jobs one client address may hold */
    unsigned char client_key[crypto_shorthash_KEYBYTES];
    int stopping;
    atomic_ulong shed, skipped;
    char dummy_hash[crypto_pwhash_STRBYTES];
    unsigned char key[crypto_secretbox_KEYBYTES];   /* seals new hashes */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static int hash_into(char out[crypto_pwhash_STRBYTES], const char *password)
{
    return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
}

static void run_job(api_hash_job *job)
{
    if (job->gone && atomic_load(job->gone)) {   /* nobody is waiting for this answer */
        job->skipped = 1;
        job->ok = 0;
        atomic_fetch_add(&pool.skipped, 1);
    } else if (job->verify)
        job->ok = crypto_pwhash_str_verify(job->hash, job->password, strlen(job->password)) == 0;
    else {
        job->ok = hash_into(job->hash, job->password) && pk_seal_text(pool.key, job->hash, job->sealed,
                                                                       sizeof(job->sealed)) > 0;
        sodium_memzero(job->hash, sizeof(job->hash));
    }
    sodium_memzero(job->password, sizeof(job->password));
}

static void *hasher_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        while (!pool.head && !pool.stopping)
            pthread_cond_wait(&pool.cond, &pool.lock);
        api_hash_job *job = pool.head;
        if (job) {
            pool.head = job->next;
            if (!pool.head)
                pool.tail = NULL;
            pool.queued--;
        }
        pthread_mutex_unlock(&pool.lock);
        if (!job)
            return NULL;   /* stopping and the queue is drained */
        run_job(job);
        h2o_multithread_send_message(&job->thread->hash_done, &job->msg);
    }
}

void api_hasher_start(int nthreads, int queue_max, int per_client_max, const unsigned char key[crypto_secretbox_KEYBYTES])
{
    memcpy(pool.key, key, sizeof(pool.key));
    pool.queue_max = queue_max;
    pool.per_client_max = per_client_max;
    crypto_shorthash_keygen(pool.client_key);
    unsigned char secret[32];
    char random_password[65];
    randombytes_buf(secret, sizeof(secret));
    sodium_bin2hex(random_password, sizeof(random_password), secret, sizeof(secret));
    if (!hash_into(pool.dummy_hash, random_password))
        abort();
    pool.nthreads = nthreads;
    pool.threads = calloc((size_t)nthreads, sizeof(pthread_t));
    for (int i = 0; i < nthreads; i++)
        pthread_create(&pool.threads[i], NULL, hasher_main, NULL);
}

void api_hasher_stop(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.stopping = 1;
    pthread_cond_broadcast(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < pool.nthreads; i++)
        pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    sodium_memzero(pool.key, sizeof(pool.key));
}

/* Jobs of this client already waiting (the queue is short: a scan is cheap). */
static int waiting_for(uint64_t client)
{
    int n = 0;
    for (const api_hash_job *j = pool.head; j; j = j->next)
        n += j->client == client;
    return n;
}

/* After api_hasher_stop() no thread takes jobs: one that still arrives
 * (a request on a connection accepted before shutdown) fails at once,
 * through its loop's queue like any result, so its request gets a 503.
 * Returns -1 (and frees the job) when the queue is full. */
static int enqueue(api_hash_job *job)
{
    pthread_mutex_lock(&pool.lock);
    if (pool.stopping) {
        pthread_mutex_unlock(&pool.lock);
        sodium_memzero(job->password, sizeof(job->password));
        job->ok = 0;
        h2o_multithread_send_message(&job->thread->hash_done, &job->msg);
        return 0;
    }
    if (pool.queued >= pool.queue_max || waiting_for(job->client) >= pool.per_client_max) {
        pthread_mutex_unlock(&pool.lock);
        atomic_fetch_add(&pool.shed, 1);
        sodium_memzero(job->password, sizeof(job->password));
        free(job);
        return -1;
    }
    if (pool.tail)
        pool.tail->next = job;
    else
        pool.head = job;
    pool.tail = job;
    pool.queued++;
    pthread_cond_signal(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
    return 0;
}

static api_hash_job *new_job(h2o_req_t *req, api_async *owner, const char *password, api_hash_cb cb, void *data)
{
    char address[64];
    api_hash_job *job = calloc(1, sizeof(*job));   /* zeroed link: h2o asserts on it */
    if (!job)
        abort();
    api_client_address(req, address, sizeof(address));
    crypto_shorthash((unsigned char *)&job->client, (const unsigned char *)address, strlen(address), pool.client_key);
    job->thread = api_thread_of(req);
    job->cb = cb;
    job->data = data;
    job->gone = &owner->gone;
    snprintf(job->password, sizeof(job->password), "%s", password);
    return job;
}

int api_hash_password(h2o_req_t *req, api_async *owner, const char *password, api_hash_cb cb, void *data)
{
    return enqueue(new_job(req, owner, password, cb, data));
}

int api_verify_password(h2o_req_t *req, api_async *owner, const char *password, const char *hash, api_hash_cb cb,
                        void *data)
{
    api_hash_job *job = new_job(req, owner, password, cb, data);
    job->verify = 1;
    snprintf(job->hash, sizeof(job->hash), "%s", hash ? hash : pool.dummy_hash);
    return enqueue(job);
}

void api_reply_hasher_busy(h2o_req_t *req)
{
    api_add_header(req, "retry-after", "1");
    api_reply_problem(req, 503, "overloaded", "Service unavailable",
                      "too many password checks in progress; retry in a moment", NULL);
}

unsigned long api_hasher_shed_total(void)
{
    return atomic_load(&pool.shed);
}

unsigned long api_hasher_skipped_total(void)
{
    return atomic_load(&pool.skipped);
}

void api_hasher_on_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        api_hash_job *job = H2O_STRUCT_FROM_MEMBER(api_hash_job, msg.link, messages->next);
        h2o_linklist_unlink(&job->msg.link);
        job->cb(job, job->ok && !job->verify ? job->sealed : NULL);
        free(job);
    }
}
