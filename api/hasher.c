#include "api/hasher.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "common/log.h"

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    api_hash_job *head, *tail;
    pthread_t *threads;
    int nthreads;
    int stopping;
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
    if (job->verify)
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
        }
        pthread_mutex_unlock(&pool.lock);
        if (!job)
            return NULL;   /* stopping and the queue is drained */
        run_job(job);
        h2o_multithread_send_message(&job->thread->hash_done, &job->msg);
    }
}

void api_hasher_start(int nthreads, const unsigned char key[crypto_secretbox_KEYBYTES])
{
    memcpy(pool.key, key, sizeof(pool.key));
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

static void enqueue(api_hash_job *job);

void api_hash_password(api_thread *t, const char *password, api_hash_cb cb, void *data)
{
    api_hash_job *job = calloc(1, sizeof(*job));   /* zeroed link: h2o asserts on it */
    job->thread = t;
    job->cb = cb;
    job->data = data;
    snprintf(job->password, sizeof(job->password), "%s", password);
    enqueue(job);
}

void api_verify_password(api_thread *t, const char *password, const char *hash, api_hash_cb cb, void *data)
{
    api_hash_job *job = calloc(1, sizeof(*job));
    job->thread = t;
    job->cb = cb;
    job->data = data;
    job->verify = 1;
    snprintf(job->password, sizeof(job->password), "%s", password);
    snprintf(job->hash, sizeof(job->hash), "%s", hash ? hash : pool.dummy_hash);
    enqueue(job);
}

/* After api_hasher_stop() no thread takes jobs: one that still arrives
 * (a request on a connection accepted before shutdown) fails at once,
 * through its loop's queue like any result, so its request gets a 503. */
static void enqueue(api_hash_job *job)
{
    pthread_mutex_lock(&pool.lock);
    if (pool.stopping) {
        pthread_mutex_unlock(&pool.lock);
        sodium_memzero(job->password, sizeof(job->password));
        job->ok = 0;
        h2o_multithread_send_message(&job->thread->hash_done, &job->msg);
        return;
    }
    if (pool.tail)
        pool.tail->next = job;
    else
        pool.head = job;
    pool.tail = job;
    pthread_cond_signal(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
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
