#include "common/process_metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct {
    double cpu_s, start_s;
    unsigned long long vsize, rss_bytes;
    long open_fds, max_fds;
} process_sample;

/* The system's boot time (btime in /proc/stat), seconds since the epoch. */
static long long boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    char line[256];
    long long btime = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %lld", &btime) == 1)
            break;
    if (f)
        fclose(f);
    return btime;
}

/* /proc/self/stat after the command name, which may hold spaces: fields 14
 * utime, 15 stime, 22 starttime (clock ticks), 23 vsize (bytes), 24 rss
 * (pages). */
static int read_stat(process_sample *s)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    unsigned long utime, stime;
    unsigned long long start, vsize;
    long rss;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d %llu %llu %ld",
                     &utime, &stime, &start, &vsize, &rss) != 5)
        return -1;
    double tick = (double)sysconf(_SC_CLK_TCK);
    long long btime = boot_time();
    s->cpu_s = (double)(utime + stime) / tick;
    s->start_s = btime < 0 ? 0 : (double)btime + (double)start / tick;
    s->vsize = vsize;
    s->rss_bytes = (unsigned long long)(rss < 0 ? 0 : rss) * (unsigned long long)sysconf(_SC_PAGESIZE);
    return 0;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;   /* the directory stream's own descriptor */
}

size_t pk_process_metrics(char *out, size_t cap)
{
    process_sample s = {0};
    struct rlimit nofile;
    if (cap)
        out[0] = 0;
    if (read_stat(&s) != 0 || (s.open_fds = open_fds()) < 0 || getrlimit(RLIMIT_NOFILE, &nofile) != 0)
        return 0;
    s.max_fds = nofile.rlim_cur == RLIM_INFINITY ? -1 : (long)nofile.rlim_cur;
    int n = snprintf(out, cap,
                     "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                     "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n"
                     "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                     "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %llu\n"
                     "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                     "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %llu\n"
                     "# HELP process_open_fds Number of open file descriptors.\n"
                     "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n"
                     "# HELP process_max_fds Maximum number of open file descriptors.\n"
                     "# TYPE process_max_fds gauge\nprocess_max_fds %ld\n"
                     "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
                     "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.2f\n",
                     s.cpu_s, s.rss_bytes, s.vsize, s.open_fds, s.max_fds, s.start_s);
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            out[0] = 0;
        return 0;
    }
    return (size_t)n;
}
