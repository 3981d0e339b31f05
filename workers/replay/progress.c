/* progress.c — the progress line on stderr (replay.h). On a terminal the
 * line is rewritten in place; into a file or pipe it is one line per
 * second, so logs stay readable. Nothing is printed for a phase that ends
 * within its first second. */
#include <time.h>
#include <unistd.h>
#include "workers/replay/replay.h"

double rp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rp_progress_start(rp_progress *p, const char *phase, int64_t total, bool enabled)
{
    double now = rp_now();
    *p = (rp_progress){.phase = phase, .total = total, .started = now, .last_print = now, .enabled = enabled};
}

static void print(rp_progress *p, double now, int final)
{
    double elapsed = now - p->started, rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    int tty = isatty(STDERR_FILENO);
    fprintf(stderr, "%spunyaka-replay: %s %lld", tty ? "\r\033[K" : "", p->phase, (long long)p->done);
    if (p->total > 0)
        fprintf(stderr, "/%lld (%d%%)", (long long)p->total, (int)(100.0 * (double)p->done / (double)p->total));
    fprintf(stderr, ", %.0f/s", rate);
    if (final)
        fprintf(stderr, ", %.1f s", elapsed);
    else if (p->total > 0 && rate > 0)
        fprintf(stderr, ", ETA %.1f s", (double)(p->total - p->done) / rate);
    fprintf(stderr, "%s", tty && !final ? "" : "\n");
    fflush(stderr);
    p->printed = true;
}

void rp_progress_tick(rp_progress *p, int64_t done)
{
    p->done = done;
    if (!p->enabled)
        return;
    double now = rp_now();
    if (now - p->started >= 1.0 && now - p->last_print >= 1.0) {
        p->last_print = now;
        print(p, now, 0);
    }
}

void rp_progress_end(rp_progress *p)
{
    if (p->enabled && p->printed)
        print(p, rp_now(), 1);
}
