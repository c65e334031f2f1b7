/*  test_colocate.c - brg_colocate's policy and placement, fed windows by hand: three calm
    10 ms windows put the loop thread (this one) and libzmq's I/O thread on the CPU this
    thread is on; a busy window or one whose drains found several requests puts each back
    on the CPUs it had; off never moves them. The CPUs are read back from the kernel.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <czmq.h>
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "brg_colocate.h"

/* libzmq's I/O thread of czmq's context (a socket makes it exist; it names itself once
   it runs: looked for up to 5 s). */
static pid_t io_thread(void) {
    pid_t found = 0;
    for (int tries = 0; tries < 500 && !found; tries++) {
        if (tries)
            zclock_sleep(10);
        DIR *dir = opendir("/proc/self/task");
        cr_assert_not_null(dir);
        struct dirent *entry;
        while (!found && (entry = readdir(dir))) {
            char path[300], comm[64] = "";
            snprintf(path, sizeof path, "/proc/self/task/%s/comm", entry->d_name);
            FILE *f = fopen(path, "r");
            if (!f)
                continue;
            if (fgets(comm, sizeof comm, f) && strstr(comm, "ZMQbg/IO/"))
                found = (pid_t)atoi(entry->d_name);
            fclose(f);
        }
        closedir(dir);
    }
    cr_assert_gt(found, 0, "no libzmq I/O thread");
    return found;
}

static cpu_set_t mask_of(pid_t tid) {
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(tid, sizeof set, &set), 0);
    return set;
}

/* The loop thread (this one) and the I/O thread are on these CPUs. */
static void expect_cpus(pid_t io, const cpu_set_t *loop, const cpu_set_t *io_cpus) {
    cpu_set_t l = mask_of(0), i = mask_of(io);
    cr_assert(CPU_EQUAL(&l, loop), "the loop thread is on %d CPUs", CPU_COUNT(&l));
    cr_assert(CPU_EQUAL(&i, io_cpus), "the I/O thread is on %d CPUs", CPU_COUNT(&i));
}

#define CALM(c) brg_colocate_window(c, 500, 40, 0)     /* 5% busy, 40 lone drains */
#define BUSY(c) brg_colocate_window(c, 6000, 10, 0)    /* 60% busy */
#define PILED(c) brg_colocate_window(c, 1000, 10, 3)   /* 3 of 10 drains found several */
#define BETWEEN(c) brg_colocate_window(c, 4000, 10, 1) /* 40%: neither calm nor loaded */

/* Each test: a socket, so that czmq's context has its I/O thread, and the CPUs both
   threads had before. */
static zsock_t *s_sock;
static pid_t s_io;
static cpu_set_t s_loop0, s_io0;

static void setup(void) {
    s_sock = zsock_new(ZMQ_DEALER);
    s_io = io_thread();
    s_loop0 = mask_of(0);
    s_io0 = mask_of(s_io);
}

static void teardown(void) {
    zsock_destroy(&s_sock);
}

/* Three calm windows: the threads are together. */
static void calm_together(brg_colocate_t *c) {
    CALM(c);
    CALM(c);
    CALM(c);
    cr_assert(brg_colocate_active(c));
}

Test(colocate, three_calm_windows_put_both_threads_on_this_cpu, .init = setup, .fini = teardown) {
    brg_colocate_t *c = brg_colocate_new(NULL, true);
    cr_assert_str_eq(brg_colocate_mode(c), "auto");
    CALM(c);
    CALM(c);
    cr_assert_not(brg_colocate_active(c));
    CALM(c);
    cr_assert(brg_colocate_active(c));
    cr_assert_eq(brg_colocate_switches(c), 1);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one); /* pinned: this thread cannot have moved */
    expect_cpus(s_io, &one, &one);
    /* more calm changes nothing */
    CALM(c);
    cr_assert_eq(brg_colocate_switches(c), 1);
    /* a busy window: apart at once, each on the CPUs it had */
    BUSY(c);
    cr_assert_not(brg_colocate_active(c));
    cr_assert_eq(brg_colocate_switches(c), 2);
    expect_cpus(s_io, &s_loop0, &s_io0);
    brg_colocate_destroy(&c);
    cr_assert_null(c);
}

Test(colocate, piled_drains_part_them_and_the_calm_must_be_three_in_a_row, .init = setup,
     .fini = teardown) {
    brg_colocate_t *c = brg_colocate_new(NULL, true);
    calm_together(c);
    PILED(c);
    cr_assert_not(brg_colocate_active(c));
    /* calm, calm, a window in between, calm: not yet */
    CALM(c);
    CALM(c);
    BETWEEN(c);
    CALM(c);
    cr_assert_not(brg_colocate_active(c));
    CALM(c);
    CALM(c);
    cr_assert(brg_colocate_active(c));
    cr_assert_eq(brg_colocate_switches(c), 3);
    /* destroyed together: the threads get their CPUs back */
    brg_colocate_destroy(&c);
    expect_cpus(s_io, &s_loop0, &s_io0);
}

Test(colocate, off_never_moves_them, .init = setup, .fini = teardown) {
    brg_colocate_t *c = brg_colocate_new(NULL, false);
    cr_assert_str_eq(brg_colocate_mode(c), "off");
    for (int i = 0; i < 5; i++)
        CALM(c);
    cr_assert_not(brg_colocate_active(c));
    cr_assert_eq(brg_colocate_switches(c), 0);
    expect_cpus(s_io, &s_loop0, &s_io0);
    brg_colocate_destroy(&c);
}

/* The router tells it of each drain: eight requests found at once part the threads
   without waiting for the window; fewer leave it to the window. */
Test(colocate, a_piled_drain_parts_them_at_once, .init = setup, .fini = teardown) {
    brg_colocate_t *c = brg_colocate_new(NULL, true);
    calm_together(c);
    brg_colocate_drained(c, 1);
    brg_colocate_drained(c, 7);
    cr_assert(brg_colocate_active(c));
    brg_colocate_drained(c, 8);
    cr_assert_not(brg_colocate_active(c));
    cr_assert_eq(brg_colocate_switches(c), 2);
    expect_cpus(s_io, &s_loop0, &s_io0);
    brg_colocate_drained(NULL, 8); /* no colocate: nothing to tell */
    brg_colocate_destroy(&c);
}
