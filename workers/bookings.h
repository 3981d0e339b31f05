/* bookings.h — apply functions of the priest-booking families:
 *
 *   bookings.c  booking.create, booking.confirm, booking.complete,
 *               booking.customer_confirm, booking.cancel, booking.rate
 *               (topic "bookings", key = the priest profile id)
 *   priests.c   priest.verify (topic "accounts", key = the priest profile id)
 *   services.c  service.create, service.update (topic "catalog", key = the
 *               service id; for create, which has none yet, the name)
 *
 * Payloads are documented in schemas/commands/bookings.md; the rules they
 * apply are the pure functions of common/booking_rules.h. */
#ifndef PUNYAKA_WORKER_BOOKINGS_H
#define PUNYAKA_WORKER_BOOKINGS_H

#include <stdbool.h>
#include <libpq-fe.h>
#include "workers/worker.h"
#include "workers/apply.h"   /* this family's apply functions */

/* Clears r, the answer of a statement on one priest_profiles row by id,
 * and rejects not_found (field priest_id) when it named no row; returns
 * whether it did. Shared by priest.verify and priest.kyc_reveal
 * (kyc_audit.c), which answer a missing priest alike. */
bool wk_priest_row_found(PGresult *r, wk_outcome *out);

#endif
