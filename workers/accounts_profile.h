/* accounts_profile.h — the accounts family beyond registration
 * (accounts_profile.c; payloads in schemas/commands/accounts.md):
 *
 *   user.update            actor edits their own name, phone, address
 *   user.change_password   actor replaces their own Argon2id hash
 *   priest.update_profile  a priest edits their profile and KYC ciphertext
 *   priest.update_account  both of the above at once, in one transaction
 *   user.create_admin      punyaka-admin (actor role "system") adds an admin
 *
 * All are applied inside the command's transaction (worker.h) and read time
 * only from issued_at. */
#ifndef PUNYAKA_WORKER_ACCOUNTS_PROFILE_H
#define PUNYAKA_WORKER_ACCOUNTS_PROFILE_H

#include <msgpack.h>
#include <libpq-fe.h>
#include "workers/worker.h"
#include "workers/apply.h"   /* this family's apply functions */

/* Stores the sealed KYC blobs the payload carries (aadhaar_enc, pan_enc,
 * bank_account_enc, bank_ifsc_enc: msgpack bin, nonce || ciphertext from
 * pk_kyc_seal), each with its fingerprint (`*_fp`, bin 32, optional), into
 * the priest profile of user_id; an absent or nil field keeps what is on
 * file. *stored = how many fields were written.
 * Re-verification (issue 13): when the profile is verified and a submitted
 * value differs from the one on file (pk_kyc_changed: unequal or missing
 * fingerprints), the profile goes back to pending in the same statement,
 * with verification_notes naming the changed fields and verified_at =
 * issued_at, verified_by = NULL. Resubmitting an equal value changes
 * nothing.
 * WK_POISON when a field is not a bin of plausible sealed size
 * (PK_KYC_BLOB_MIN..MAX) or a fingerprint not 32 bytes, WK_TRANSIENT on a
 * retryable database error. Used by user.register (accounts.c) for
 * priests, and priest.update_profile. */
wk_result wk_priest_kyc_store(wk_ctx *ctx, const msgpack_object *payload, int64_t user_id, int64_t issued_at_us,
                              int *stored);

/* Rejects username_taken / email_taken (case-insensitively) when either is
 * in use; WK_DONE, or a failed statement's class (db.h). Shared by
 * user.register and user.create_admin. */
wk_result wk_check_account_free(wk_ctx *ctx, const char *username, const char *email, wk_outcome *out);

/* Reads (and clears) res, the answer of a user INSERT ... RETURNING id:
 * the new id as text into uid and WK_DONE; or, uid empty, a unique
 * violation rejects username_taken / email_taken by the index that refused
 * it (WK_DONE, wk_rejected) and any other error is wk_db_failure(ctx, res,
 * what). Shared by user.register and user.create_admin. */
wk_result wk_user_inserted(wk_ctx *ctx, PGresult *res, const char *what, wk_outcome *out, char uid[24]);

#endif
