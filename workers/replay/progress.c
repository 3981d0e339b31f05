/* progress.c — progress on stderr (replay.h). On a terminal, a bar redrawn
 * in place several times a second:
 *   punyaka-replay: applying [#########...........] 3500/7000 50%, 2400/s, ETA 1.5 s
 * Into a file or pipe (a log, a CI job), one plain line every few seconds,
 * so a long disaster-recovery rebuild leaves a readable trace:
 *   punyaka-replay: applying 3500/7000 (50%), 2400/s, ETA 1.5 s
 * Nothing is printed for a phase that ends within its first second; a
 * phase that printed anything ends with one final line. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "workers/replay/replay.h"

#define FIRST_AFTER 1.0      /* s: shorter phases print nothing */
#define TTY_EVERY 0.25       /* s between redraws of the bar: at most 4 a second */
#define LINE_EVERY 5.0       /* s between progress lines into a file or pipe */
#define BAR_WIDTH 30

static bool bar_shown;       /* a bar is on the terminal's current line */
bool rp_progress_bar;

double rp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rp_progress_start(rp_progress *p, const char *phase, int64_t total, bool enabled)
{
    double now = rp_now();
    *p = (rp_progress){.phase = phase, .total = total, .started = now, .last_print = now, .enabled = enabled,
                       .tty = enabled && (rp_progress_bar || isatty(STDERR_FILENO))};
}

/* "3.1 s", "4m05s", "2h17m". */
static void duration(double s, char out[24])
{
    if (s < 60)
        snprintf(out, 24, "%.1f s", s);
    else if (s < 3600)
        snprintf(out, 24, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(out, 24, "%dh%02dm", (int)(s / 3600), (int)s % 3600 / 60);
}

size_t rp_progress_format(const rp_progress *p, double now, bool final, char *buf, size_t cap)
{
    double elapsed = now - p->started, rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    size_t len = (size_t)snprintf(buf, cap, "punyaka-replay: %s ", p->phase);
    if (p->total > 0) {
        int64_t done = p->done < p->total ? p->done : p->total;
        int pct = (int)(100.0 * (double)done / (double)p->total);
        if (p->tty) {
            int filled = (int)((double)BAR_WIDTH * (double)done / (double)p->total);
            len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "[%.*s%.*s] %lld/%lld %d%%", filled,
                                    "##############################", BAR_WIDTH - filled,
                                    "..............................", (long long)p->done, (long long)p->total, pct);
        } else {
            len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%lld/%lld (%d%%)", (long long)p->done,
                                    (long long)p->total, pct);
        }
    } else {
        len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%lld", (long long)p->done);
    }
    char t[24];
    len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, ", %.0f/s", rate);
    if (final) {
        duration(elapsed, t);
        len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, ", %s", t);
    } else if (p->total > 0 && rate > 0 && p->done < p->total) {
        duration((double)(p->total - p->done) / rate, t);
        len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, ", ETA %s", t);
    }
    return len;
}

static void print(rp_progress *p, double now, bool final)
{
    char line[256];
    rp_progress_format(p, now, final, line, sizeof(line));
    fprintf(stderr, "%s%s%s", p->tty ? "\r\033[K" : "", line, p->tty && !final ? "" : "\n");
    fflush(stderr);
    bar_shown = p->tty && !final;
    p->printed = true;
    p->last_print = now;
}

void rp_progress_tick(rp_progress *p, int64_t done)
{
    if (p->enabled)
        rp_progress_tick_at(p, done, rp_now());
    else
        p->done = done;
}

void rp_progress_tick_at(rp_progress *p, int64_t done, double now)
{
    p->done = done;
    if (!p->enabled)
        return;
    if (now - p->started >= FIRST_AFTER && (!p->printed || now - p->last_print >= (p->tty ? TTY_EVERY : LINE_EVERY)))
        print(p, now, false);
}

void rp_progress_end(rp_progress *p)
{
    if (p->enabled && p->printed)
        print(p, rp_now(), true);
}

void rp_progress_clear_line(void)
{
    if (!bar_shown)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    bar_shown = false;
}
