/*  brg_stall.c - longest single handler run on the bridge loop (see brg_stall.h). */
#include "brg_stall.h"

#include <time.h>

static uint64_t max_us;    /* since start */
static uint64_t recent_us; /* since the last brg_stall_take_recent_us */
static uint64_t busy_us;   /* all runs, summed */

int64_t brg_stall_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void brg_stall_note(int64_t start_us) {
    int64_t d = brg_stall_now_us() - start_us;
    uint64_t us = d > 0 ? (uint64_t)d : 0;
    busy_us += us;
    if (us > max_us)
        max_us = us;
    if (us > recent_us)
        recent_us = us;
}

uint64_t brg_stall_max_us(void) {
    return max_us;
}

uint64_t brg_stall_take_recent_us(void) {
    uint64_t v = recent_us;
    recent_us = 0;
    return v;
}

uint64_t brg_stall_busy_us(void) {
    return busy_us;
}
