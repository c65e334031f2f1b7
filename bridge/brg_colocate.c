/*  brg_colocate.c - the loop thread and libzmq's I/O thread on one CPU while the load is
    light (see brg_colocate.h).

    The policy, per 10 ms window of the loop:
    - apart when the loop was busy more than half the window or more than a quarter of
      its drains found several requests queued (pipelined or concurrent clients, a price
      move's slices): the I/O thread's work then runs beside the loop's. A drain that finds
      eight or more parts them at once, without waiting for the window's end;
    - together after three calm windows in a row (busy at most 30%, at most one drain in
      twenty finding several), on the CPU the loop thread is on, if both threads may run
      there. The three windows keep a load that comes and goes from moving the threads
      every 10 ms.
    Apart, each thread has the CPUs it had at start (a taskset or cgroup limit included).
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getcpu, CPU_SET */
#endif
#include "brg_colocate.h"

#include "brg_log.h"
#include "brg_stall.h"

#include <stdio.h>
#include <string.h>

#ifdef __linux__
#include <dirent.h>
#include <sched.h>
#include <sys/types.h>
#endif

#define WINDOW_MS 10
#define CALM_WINDOWS 3
#define PILED_NOW 8 /* requests one drain found that part the threads at once */
#define MAX_IO_THREADS 16
/* libzmq's I/O thread names itself once it runs: looked for at each window until found,
   for at most this many windows */
#define FIND_WINDOWS 100

struct brg_colocate {
    zloop_t *loop;
    int timer;
    const char *mode;
    bool active;
    uint64_t switches;
    int calm;               /* calm windows in a row */
    int finds;              /* windows that looked for the I/O threads */
    uint64_t drains, multi; /* this window's */
    uint64_t busy_at;       /* brg_stall_busy_us at the window's start */
#ifdef __linux__
    cpu_set_t loop_mask; /* the CPUs each thread had at start */
    int nio;
    pid_t io_tids[MAX_IO_THREADS];
    cpu_set_t io_masks[MAX_IO_THREADS];
#endif
};

#ifdef __linux__
/* libzmq names its I/O threads "ZMQbg/IO/<n>" (after a prefix when one is set). */
static void find_io_threads(brg_colocate_t *self) {
    DIR *dir = opendir("/proc/self/task");
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir(dir)) && self->nio < MAX_IO_THREADS) {
        if (entry->d_name[0] == '.')
            continue;
        char path[300], comm[64] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", entry->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (!fgets(comm, sizeof comm, f))
            comm[0] = 0;
        fclose(f);
        if (!strstr(comm, "ZMQbg/IO/"))
            continue;
        pid_t tid = (pid_t)atoi(entry->d_name);
        if (sched_getaffinity(tid, sizeof(cpu_set_t), &self->io_masks[self->nio]) == 0)
            self->io_tids[self->nio++] = tid;
    }
    closedir(dir);
}

static bool place(brg_colocate_t *self, bool together) {
    cpu_set_t one;
    int cpu = together ? sched_getcpu() : -1;
    if (together) {
        if (cpu < 0 || !CPU_ISSET(cpu, &self->loop_mask))
            return false;
        for (int i = 0; i < self->nio; i++)
            if (!CPU_ISSET(cpu, &self->io_masks[i]))
                return false;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
    }
    /* pid 0: the calling thread, the loop's */
    bool ok = sched_setaffinity(0, sizeof(cpu_set_t), together ? &one : &self->loop_mask) == 0;
    for (int i = 0; i < self->nio; i++)
        ok = sched_setaffinity(self->io_tids[i], sizeof(cpu_set_t),
                               together ? &one : &self->io_masks[i]) == 0 &&
             ok;
    return ok;
}
#endif

static void set_active(brg_colocate_t *self, bool together) {
    if (self->active == together)
        return;
#ifdef __linux__
    if (!place(self, together)) {
        if (together) {
            /* a CPU they may not share, or the kernel refused: whatever moved goes back,
               and the OS places them from now on rather than a retry every window */
            place(self, false);
            self->mode = "unavailable";
            brg_warn("colocate: cannot put the loop and I/O threads on CPU %d; the OS "
                     "places them",
                     sched_getcpu());
            return;
        }
        brg_warn("colocate: cannot give the threads their CPUs back");
    }
#endif
    self->active = together;
    self->switches++;
}

/* The I/O threads are known, or looked for once more; false while they are not. */
static bool threads_known(brg_colocate_t *self) {
#ifndef __linux__
    (void)self; /* the mode is "auto" on Linux only */
#else
    if (self->nio)
        return true;
    find_io_threads(self);
    if (self->nio)
        return true;
    if (++self->finds >= FIND_WINDOWS) {
        self->mode = "unavailable";
        brg_warn("colocate: libzmq's I/O thread not found; the OS places the threads");
    }
#endif
    return false;
}

void brg_colocate_window(brg_colocate_t *self, int64_t busy_us, uint64_t drains, uint64_t multi) {
    if (strcmp(self->mode, "auto") != 0 || !threads_known(self))
        return;
    bool loaded = busy_us * 100 > (int64_t)WINDOW_MS * 1000 * 50 || multi * 4 > drains;
    bool calm = busy_us * 100 <= (int64_t)WINDOW_MS * 1000 * 30 && multi * 20 <= drains;
    if (loaded) {
        self->calm = 0;
        set_active(self, false);
    } else if (calm && ++self->calm >= CALM_WINDOWS) {
        self->calm = CALM_WINDOWS;
        set_active(self, true);
    } else if (!calm) {
        self->calm = 0;
    }
}

static int on_window(zloop_t *loop, int timer_id, void *arg) {
    (void)loop;
    (void)timer_id;
    brg_colocate_t *self = (brg_colocate_t *)arg;
    uint64_t busy = brg_stall_busy_us();
    brg_colocate_window(self, (int64_t)(busy - self->busy_at), self->drains, self->multi);
    self->busy_at = busy;
    self->drains = self->multi = 0;
    return 0;
}

brg_colocate_t *brg_colocate_new(zloop_t *loop, bool enabled) {
    brg_colocate_t *self = (brg_colocate_t *)zmalloc(sizeof(brg_colocate_t));
    self->loop = loop;
    self->timer = -1;
    self->mode = enabled ? "auto" : "off";
#ifdef __linux__
    if (enabled && sched_getaffinity(0, sizeof(cpu_set_t), &self->loop_mask))
        self->mode = "unavailable";
#else
    if (enabled)
        self->mode = "unavailable";
#endif
    if (strcmp(self->mode, "auto") == 0 && loop) {
        self->busy_at = brg_stall_busy_us();
        self->timer = zloop_timer(loop, WINDOW_MS, 0, on_window, self);
    }
    return self;
}

void brg_colocate_destroy(brg_colocate_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_colocate_t *self = *self_p;
    if (self->timer >= 0)
        zloop_timer_end(self->loop, self->timer);
    set_active(self, false);
    free(self);
    *self_p = NULL;
}

void brg_colocate_drained(brg_colocate_t *self, int requests) {
    if (!self || requests <= 0)
        return;
    self->drains++;
    if (requests > 1)
        self->multi++;
    /* a pipelined burst has begun: the I/O thread is needed beside the loop now, not at
       the window's end */
    if (self->active && requests >= PILED_NOW) {
        self->calm = 0;
        set_active(self, false);
    }
}

bool brg_colocate_active(brg_colocate_t *self) {
    return self && self->active;
}

uint64_t brg_colocate_switches(brg_colocate_t *self) {
    return self ? self->switches : 0;
}

const char *brg_colocate_mode(brg_colocate_t *self) {
    return self ? self->mode : "off";
}
