/* kyc_audit.h — the audited KYC reveal (kyc_audit.c). */
#ifndef PUNYAKA_WORKER_KYC_AUDIT_H
#define PUNYAKA_WORKER_KYC_AUDIT_H

#include "workers/worker.h"

wk_result wk_priest_kyc_reveal(wk_ctx *ctx, const pk_envelope_decoded *cmd, wk_outcome *out);

#endif
