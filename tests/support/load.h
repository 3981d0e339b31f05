/* load.h — a steady mixed load for the fault suite (it_fault_suite.c):
 * customers booking one priest's few slots (conflicts), buying a scarce
 * product (out of stock), rating their completed bookings (once each),
 * editing their profile, and an admin adding stock without an
 * Idempotency-Key — all over HTTP, as a client would.
 *
 * Every answer that names a command (X-Command-Id or command_id) goes into
 * the ledger with what the client was told: accepted (2xx, 202, or a
 * worker's 409/422) or refused (503: "nothing has happened"). Answers
 * without a command id (validation, a session read failing, a connection
 * cut by a killed API) promise nothing and are only counted. */
#ifndef PUNYAKA_TEST_LOAD_H
#define PUNYAKA_TEST_LOAD_H

#include <stdint.h>
#include "tests/support/calls.h"

#define LOAD_CUSTOMERS 6
#define LOAD_RATABLE 3     /* completed bookings per customer, ready to rate */

typedef struct {
    it_actor admin, priest;
    it_actor customers[LOAD_CUSTOMERS];
    int64_t ratable[LOAD_CUSTOMERS][LOAD_RATABLE];
    int64_t product, service;
} load_world;

typedef enum { LOAD_ACCEPTED, LOAD_REFUSED } load_verdict;

typedef struct {
    char id[40];
    char path[64];
    int status;
    load_verdict verdict;
} load_entry;

typedef struct load load;

/* Builds the world through the API (admin, priest, service, product,
 * customers, completed bookings). 0 on success. */
int load_world_build(load_world *w, const char *tag, const char *password);

/* Starts one thread per customer and one for the admin. Bookings contest
 * 16 slots on four days that depend on `round` (each round its own). */
load *load_start(const load_world *w, int round);
/* Stops and joins the threads; the ledger stays readable until load_free. */
void load_stop(load *l);
/* Ledger entries so far (also while the load runs). */
size_t load_count(const load *l);
const load_entry *load_at(const load *l, size_t i);
/* Answers without a command id, and connections that failed. */
unsigned load_unrecorded(const load *l);
void load_free(load *l);

#endif
