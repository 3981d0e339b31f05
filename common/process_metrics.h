/* process_metrics.h — the standard process_* metrics of the Prometheus
 * exposition format (the names every client library exports), for the
 * API's and the workers' /metrics: CPU seconds, resident and virtual
 * memory, open and maximum file descriptors, start time. Read from procfs
 * (Linux) at each scrape: a handful of small reads of in-memory files,
 * which never wait on a disk. The API serves its metrics port on thread 0's
 * loop, so a scrape costs that loop those few microseconds. */
#ifndef PUNYAKA_PROCESS_METRICS_H
#define PUNYAKA_PROCESS_METRICS_H

#include <stddef.h>

/* Writes the metrics (HELP, TYPE and sample lines) into out[cap], NUL
 * terminated. Returns the length, or 0 when procfs could not be read
 * (then out is ""). 1 KiB is enough. */
size_t pk_process_metrics(char *out, size_t cap);

#endif
