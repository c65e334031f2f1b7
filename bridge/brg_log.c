/*  brg_log.c - leveled logging to stderr with a UTC timestamp (see brg_log.h). */
#include "brg_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static brg_log_level_t s_level = BRG_LOG_INFO;
static const char *const s_names[] = {"error", "warn", "info", "debug"};

int brg_log_parse_level(const char *text, brg_log_level_t *level) {
    for (int i = 0; i < 4; i++)
        if (text && strcmp(text, s_names[i]) == 0) {
            *level = (brg_log_level_t)i;
            return 0;
        }
    return -1;
}

void brg_log_set_level(brg_log_level_t level) {
    s_level = level;
}

brg_log_level_t brg_log_level(void) {
    return s_level;
}

void brg_log(brg_log_level_t level, const char *fmt, ...) {
    if (level > s_level)
        return;
    char text[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    /* clock_gettime, not gettimeofday: a 64-bit time_t on Windows too */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ xtbridge %s: %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
            (long)(ts.tv_nsec / 1000000), s_names[level], text);
}
