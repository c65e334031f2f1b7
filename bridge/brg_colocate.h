/*  brg_colocate.h - keeps the bridge loop thread and libzmq's I/O thread on one CPU while
    the bridge answers requests one at a time, and lets them spread over the CPUs again
    once it is loaded.

    A lone request goes I/O thread -> loop thread -> I/O thread. When the two threads sit
    on different CPUs, each hand-off wakes a CPU that went idle meanwhile, and on a VM that
    wake (an inter-processor interrupt) costs more than the loop's own work on an order:
    on the 2-vCPU bench machine a resting order's p50 is 1.20-1.22x the raw echo's with the
    threads apart, 1.10-1.13x with them on one CPU. Under load the I/O thread's work runs
    beside the loop's, and one CPU for both halves the pipelined order rate: so the
    placement follows the load, measured every 10 ms on the loop.

    Linux only (sched_setaffinity on the threads libzmq names "ZMQbg/IO/..."); elsewhere,
    or when the I/O threads cannot be found, it stays off. Loop thread only.
*/
#ifndef BRG_COLOCATE_H_INCLUDED
#define BRG_COLOCATE_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct brg_colocate brg_colocate_t;

/*  Start watching the load on `loop` (its thread is the loop thread: call from it, after
    the first socket is made, when libzmq's I/O threads exist). With enabled false it only
    reports "off". Never NULL. */
brg_colocate_t *brg_colocate_new(zloop_t *loop, bool enabled);
/*  Stop; the threads get back the CPUs they had. NULLs the pointer. */
void brg_colocate_destroy(brg_colocate_t **self_p);

/*  One drain of the ROUTER handled `requests` requests (the router calls this); eight or
    more part the threads at once. */
void brg_colocate_drained(brg_colocate_t *self, int requests);
/*  Feed one 10 ms window by hand: the loop was busy `busy_us` of it, `drains` drains of
    which `multi` found more than one request. What the timer does; exposed for tests. */
void brg_colocate_window(brg_colocate_t *self, int64_t busy_us, uint64_t drains, uint64_t multi);

/*  The two threads are on one CPU now. */
bool brg_colocate_active(brg_colocate_t *self);
/*  Times they were put together or apart since start. */
uint64_t brg_colocate_switches(brg_colocate_t *self);
/*  "auto" (follows the load), "off" (--colocate off) or "unavailable" (no I/O thread found,
    or not Linux). Static string. */
const char *brg_colocate_mode(brg_colocate_t *self);

#ifdef __cplusplus
}
#endif
#endif
