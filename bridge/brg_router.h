/*  brg_router.h - the request side of the bridge: owns the ROUTER socket, decodes every
    frame totally (wrong frame count, undecodable protobuf, missing request_id, unknown call:
    each gets a clear error reply), passes each request through the single authorization
    and idempotency point, answers bridge calls (hello, ping, replay, stats) itself and
    dispatches xttrader calls to the session backend through its ops table.
*/
#ifndef BRG_ROUTER_H_INCLUDED
#define BRG_ROUTER_H_INCLUDED

#include <czmq.h>

#include "brg_auth.h"
#include "brg_backend.h"
#include "brg_colocate.h"
#include "brg_jetstream.h"
#include "brg_publisher.h"
#include "brg_risk.h"
#include "brg_store.h"

typedef struct brg_router brg_router_t;

typedef struct {
    const char *endpoints;        /* czmq syntax, bind by default */
    int64_t max_msg_size;         /* ZMQ_MAXMSGSIZE */
    int heartbeat_ms;             /* reported in hello */
    const char *instance_id;      /* reported in hello */
    const brg_backend_ops_t *ops; /* the session backend */
    void *backend;                /* its handle */
    brg_publisher_t *publisher;   /* borrowed */
    brg_store_t *store;           /* borrowed */
    brg_risk_t *risk;             /* borrowed; NULL = no pre-trade checks */
    /* CURVE (both NULL: plain, everything allowed, loopback only): the bridge's cert makes
       the ROUTER a CURVE server in ZAP domain "xtbridge" (zauth must be running); auth says
       what each client key may do. Borrowed. */
    zcert_t *cert;
    brg_auth_t *auth;
    /* Requests arrive through ROUTER/DEALER proxies (--behind-proxy, or the ROUTER connects
       out): the non-empty frames between the routing id and the request are the hops'
       routing ids, echoed back on the reply and part of the client's identity. Otherwise
       such frames are a malformed request. */
    bool behind_proxy;
    /* The JetStream forwarder, for its counters in stats (borrowed; NULL = none). */
    brg_jetstream_t *jetstream;
    /* Told of every drain, reported in stats (borrowed; NULL = none). */
    brg_colocate_t *colocate;
} brg_router_args_t;

/*  Bind the ROUTER and register it on `loop`. Everything in args is borrowed and must
    outlive the router. NULL + err on failure. */
brg_router_t *brg_router_new(zloop_t *loop, const brg_router_args_t *args, char *err,
                             size_t errlen);
void brg_router_destroy(brg_router_t **self_p);

/*  Handle one received multipart message (frames: routing id, optional empty delimiters
    (and hop ids behind a proxy), the request). Exposed for tests; normally called by the loop
   reader. Takes ownership. */
void brg_router_handle(brg_router_t *self, zmsg_t **msg_p);

/*  Handle up to `max` queued requests as one batch: one store transaction for all their
    journaled pushes, idempotency rows and the backend's book changes (ops->persist), then
    the pushes and replies are sent once it is committed (group commit). If it cannot
    commit, the backend is restored (ops->restore), the pushes are dropped and every reply
    of the batch is BACKEND_ERROR. This is what the loop reader calls. Returns how many. */
int brg_router_drain(brg_router_t *self, int max);

/*  The ROUTER socket, for tests that drive brg_router_handle() without a loop. Owned by
    the router. */
zsock_t *brg_router_socket(brg_router_t *self);

/*  Counters (also served by the `stats` call). */
uint64_t brg_router_requests(brg_router_t *self);
uint64_t brg_router_malformed(brg_router_t *self);
/*  Mid-batch commit for backends that make many events in one call (env->checkpoint):
    when the open drain batch holds at least BRG_CHECKPOINT_EVENTS events, persist the
    backend, commit, send what is held and open a new batch. Returns 0 (also when there is
    nothing to do), or -1 if the commit failed (the rest of the batch then fails too). */
#define BRG_CHECKPOINT_EVENTS 256
int brg_router_checkpoint(brg_router_t *self);
/*  brg_backend_env_t.checkpoint adapter: arg points at a brg_router_t * (which may still
    be NULL while the backend is being created). */
int brg_router_checkpoint_fn(void *arg);

/*  Whether a commit failed that the backend could not undo (also in hello and stats). */
bool brg_router_degraded(brg_router_t *self);

#endif
