/*  brg_backend.h - the session backend interface.

    A session backend is what stands behind the bridge: the embedded simulator (`sim`) or
    the real MiniQMT terminal through xtquant (`xtquant`). The router knows backends only
    through a const brg_backend_ops_t table, so adding a backend touches no router code:
    write the table and list it in brg_backends.c.

    Threading: every op is called on the bridge loop thread. A backend that blocks or calls
    back from a thread of its own runs an actor and talks to the loop over inproc://; it
    registers its pipe reader on env->loop and completes calls (brg_call_complete) and
    emits events (env->emit) from that reader, i.e. again on the loop thread.
*/
#ifndef BRG_BACKEND_H_INCLUDED
#define BRG_BACKEND_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

#include "brg_call.h"
#include "brg_store.h"
#include "xtbridge.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Publish one push. `kind` is the topic kind ("order", "trade", ...), `account_id` the
    account (NULL or "" for account-less kinds such as "heartbeat"). The event has exactly
    one body set; the publisher fills topic, seq, bridge_epoch and time_ns, journals and
    sends it. The caller keeps ownership of `event` (it is packed before return), so stack
    messages are fine. Returns 0, or -1 if the event could not be journaled or sent. */
typedef int(brg_emit_fn)(void *arg, const char *kind, const char *account_id,
                         Xtbridge__Event *event);

typedef struct {
    zconfig_t *config;    /* whole config tree, may be NULL: the backend reads its section */
    const char *data_dir; /* directory for durable state; exists */
    zloop_t *loop;        /* the bridge loop, for timers and actor pipes */
    brg_emit_fn *emit;
    void *emit_arg;
    brg_store_t *store; /* the durable store (may be NULL in unit tests): the backend keeps
                           its state in its keyspace (brg_store_state_*) */
    /*  May be NULL. A backend that makes many events in one call (a price move filling
        thousands of orders) calls it at points where its book is consistent (between two
        fills): once enough events are held, the bridge persists the book, commits and
        publishes what is held, so the first fill reaches subscribers long before the
        last is made. Returns 0, or -1 if that commit failed: the call's batch has failed,
        the backend may stop early (it is restored to the last commit after the call). */
    int (*checkpoint)(void *arg);
    void *checkpoint_arg;
    /*  May be NULL. For events a backend emits outside a request (a terminal's callbacks
        read by a loop reader): everything emitted between group_begin and group_end is
        one store commit and is published at group_end, instead of one commit per event.
        group_end returns 0, or -1 if the commit failed (those events were not published). */
    void (*group_begin)(void *arg);
    int (*group_end)(void *arg);
    void *group_arg;
} brg_backend_env_t;

enum { BRG_CALL_DONE = 0, BRG_CALL_PENDING = 1 };

typedef struct brg_backend_ops {
    const char *name;
    /*  Create the backend. Returns NULL and writes a message to err on failure. */
    void *(*create)(const brg_backend_env_t *env, char *err, size_t errlen);
    /*  Destroy and NULL the handle. */
    void (*destroy)(void **self_p);
    /*  Called once after the bridge sockets are up: emit initial pushes (account_status). */
    void (*start)(void *self);
    /*  Whether the backend serves a request body. The router answers UNKNOWN_CALL naming
        the call for anything it does not, and lists the ones it does in hello. */
    bool (*serves)(void *self, Xtbridge__Request__BodyCase body);
    /*  Serve one call: fill brg_call_reply(call) (or brg_call_fail) and return
        BRG_CALL_DONE, or keep the call, return BRG_CALL_PENDING and brg_call_complete() it
        later. Never asserts on request content: bad input is INVALID_ARGUMENT. */
    int (*handle)(void *self, brg_call_t *call);
    /*  Fill hello->accounts (arena memory from `call`) with the accounts the backend has. */
    void (*describe)(void *self, brg_call_t *call, Xtbridge__HelloReply *hello);
    /*  Write what changed since the last persist into the store's open batch
        (brg_store_state_put/del). Called by the router just before the batch commits, so
        a batch's book changes, pushes and idempotency rows are one atomic commit. Returns
        0, or -1 (the batch then fails as a whole). NULL: the backend keeps no state. */
    int (*persist)(void *self);
    /*  The batch's commit failed: return to the last committed state (reload from the
        store). Returns 0, or -1 if the backend cannot undo (a real terminal): the bridge
        then marks itself degraded. NULL: cannot undo. */
    int (*restore)(void *self);
    /*  Units of the underlying that one unit of order_volume of `code` stands for: a
        futures contract's multiplier (300 for IF), so the risk module's max_notional
        compares price x volume x multiplier. 0 (a code the backend does not know as a
        contract) or NULL: 1, the stock case. */
    int64_t (*multiplier)(void *self, const char *code);
} brg_backend_ops_t;

/*  Find a backend table by name ("sim", ...). NULL if unknown. */
const brg_backend_ops_t *brg_backend_find(const char *name);
/*  Comma-separated names of all backends, for --help. Static string. */
const char *brg_backend_names(void);

#ifdef __cplusplus
}
#endif
#endif
