-- 0005_kyc_fingerprints: tell a changed KYC value from a resubmitted one.
--
-- A verified priest who replaces Aadhaar, PAN or bank details goes back to
-- pending verification (issue 13). The worker holds no data key and each
-- sealed blob has its own nonce, so it compares these instead: keyed
-- BLAKE2b-256 fingerprints of the normalized values, computed by the API
-- (common/kyc.h pk_kyc_fingerprint). Keyed with a subkey of the data key,
-- so a dump does not let anyone test guesses of a number offline. NULL for
-- rows stored before this migration: the next submission of that field
-- counts as a change (an admin looks once more), never as "unchanged".
ALTER TABLE priest_profiles
    ADD COLUMN aadhaar_fp       bytea CHECK (octet_length(aadhaar_fp) = 32),
    ADD COLUMN pan_fp           bytea CHECK (octet_length(pan_fp) = 32),
    ADD COLUMN bank_account_fp  bytea CHECK (octet_length(bank_account_fp) = 32),
    ADD COLUMN bank_ifsc_fp     bytea CHECK (octet_length(bank_ifsc_fp) = 32);
