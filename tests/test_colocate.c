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

static bool same(const cpu_set_t *a, const cpu_set_t *b) {
    return CPU_EQUAL(a, b);
}

#define CALM(c) brg_colocate_window(c, 500, 40, 0)     /* 5% busy, 40 lone drains */
#define BUSY(c) brg_colocate_window(c, 6000, 10, 0)    /* 60% busy */
#define PILED(c) brg_colocate_window(c, 1000, 10, 3)   /* 3 of 10 drains found several */
#define BETWEEN(c) brg_colocate_window(c, 4000, 10, 1) /* 40%: neither calm nor loaded */

Test(colocate, three_calm_windows_put_both_threads_on_this_cpu) {
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    pid_t io = io_thread();
    cpu_set_t loop0 = mask_of(0), io0 = mask_of(io);
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
    cpu_set_t loop1 = mask_of(0), io1 = mask_of(io);
    cr_assert(same(&loop1, &one), "the loop thread is on %d CPUs", CPU_COUNT(&loop1));
    cr_assert(same(&io1, &one), "the I/O thread is on %d CPUs", CPU_COUNT(&io1));
    /* more calm changes nothing */
    CALM(c);
    cr_assert_eq(brg_colocate_switches(c), 1);
    /* a busy window: apart at once, each on the CPUs it had */
    BUSY(c);
    cr_assert_not(brg_colocate_active(c));
    cr_assert_eq(brg_colocate_switches(c), 2);
    cpu_set_t loop2 = mask_of(0), io2 = mask_of(io);
    cr_assert(same(&loop2, &loop0));
    cr_assert(same(&io2, &io0));
    brg_colocate_destroy(&c);
    cr_assert_null(c);
    zsock_destroy(&sock);
}

Test(colocate, piled_drains_part_them_and_the_calm_must_be_three_in_a_row) {
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    pid_t io = io_thread();
    cpu_set_t io0 = mask_of(io);
    brg_colocate_t *c = brg_colocate_new(NULL, true);
    CALM(c);
    CALM(c);
    CALM(c);
    cr_assert(brg_colocate_active(c));
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
    cpu_set_t io1 = mask_of(io);
    cr_assert(same(&io1, &io0));
    zsock_destroy(&sock);
}

Test(colocate, off_never_moves_them) {
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    pid_t io = io_thread();
    cpu_set_t loop0 = mask_of(0), io0 = mask_of(io);
    brg_colocate_t *c = brg_colocate_new(NULL, false);
    cr_assert_str_eq(brg_colocate_mode(c), "off");
    for (int i = 0; i < 5; i++)
        CALM(c);
    cr_assert_not(brg_colocate_active(c));
    cr_assert_eq(brg_colocate_switches(c), 0);
    cpu_set_t loop1 = mask_of(0), io1 = mask_of(io);
    cr_assert(same(&loop1, &loop0));
    cr_assert(same(&io1, &io0));
    brg_colocate_destroy(&c);
    zsock_destroy(&sock);
}

/* The router tells it of each drain: eight requests found at once part the threads
   without waiting for the window; fewer leave it to the window. */
Test(colocate, a_piled_drain_parts_them_at_once) {
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    pid_t io = io_thread();
    cpu_set_t io0 = mask_of(io);
    brg_colocate_t *c = brg_colocate_new(NULL, true);
    CALM(c);
    CALM(c);
    CALM(c);
    cr_assert(brg_colocate_active(c));
    brg_colocate_drained(c, 1);
    brg_colocate_drained(c, 7);
    cr_assert(brg_colocate_active(c));
    brg_colocate_drained(c, 8);
    cr_assert_not(brg_colocate_active(c));
    cr_assert_eq(brg_colocate_switches(c), 2);
    cpu_set_t io1 = mask_of(io);
    cr_assert(same(&io1, &io0));
    brg_colocate_drained(NULL, 8); /* no colocate: nothing to tell */
    brg_colocate_destroy(&c);
    zsock_destroy(&sock);
}
