/*  brg_stall.h - the longest time the bridge loop spent in one handler run (a drain of
    queued requests, one slice of a backend's long job): while a handler runs, nothing
    else on the loop is answered, so this is the worst wait a ping can see from the
    bridge itself. Measured inside the bridge because a client's round trip on a shared
    machine mixes it with the scheduler. Loop thread only (plain globals, no locking).
*/
#ifndef BRG_STALL_H_INCLUDED
#define BRG_STALL_H_INCLUDED

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Monotonic clock in microseconds, for timing a handler run. */
int64_t brg_stall_now_us(void);
/*  Record one handler run that started at `start_us` (brg_stall_now_us) and ends now. */
void brg_stall_note(int64_t start_us);
/*  Longest run since the process started. */
uint64_t brg_stall_max_us(void);
/*  Longest run since the previous call of this function (then starts a new window). */
uint64_t brg_stall_take_recent_us(void);
/*  All the runs' time since the process started (the loop's busy time). */
uint64_t brg_stall_busy_us(void);

#ifdef __cplusplus
}
#endif
#endif
