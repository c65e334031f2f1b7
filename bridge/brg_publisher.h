/*  brg_publisher.h - the one place pushes leave the bridge. It owns the PUB socket, builds
    the topic `<kind>.<account>.` (or `<kind>.` for account-less kinds), stamps the Event
    with its per-topic seq, the journal epoch and the time, journals it in the store and
    only then sends it, so every published event can be replayed.
*/
#ifndef BRG_PUBLISHER_H_INCLUDED
#define BRG_PUBLISHER_H_INCLUDED

#include <czmq.h>

#include "brg_auth.h"
#include "brg_store.h"
#include "xtbridge.pb-c.h"

typedef struct brg_publisher brg_publisher_t;

/*  Bind (or connect, czmq '>' syntax) a PUB socket to `endpoints`. The store is borrowed
    and must outlive the publisher. NULL + err on failure. */
brg_publisher_t *brg_publisher_new(const char *endpoints, brg_store_t *store, char *err,
                                   size_t errlen);
/*  The same with CURVE when auth is set: `cert` (the bridge's, with its secret key) makes
    the socket a CURVE server in ZAP domain "xtbridge" (zauth must be running), and the
    socket is an XPUB in manual mode whose subscriptions (read on `loop`) are narrowed to
    what the subscriber's key may see (brg_publisher_narrow). cert and auth are borrowed.
    Without auth it is the plain PUB of brg_publisher_new. */
brg_publisher_t *brg_publisher_new_curve(const char *endpoints, brg_store_t *store, zcert_t *cert,
                                         brg_auth_t *auth, zloop_t *loop, char *err, size_t errlen);
void brg_publisher_destroy(brg_publisher_t **self_p);

/*  Publish `event` (one body set; topic/seq/epoch/time are overwritten) under
    kind/account_id. The caller keeps `event`. Returns 0, or -1 if the topic is invalid or
    the event could not be journaled (then it is not sent: no seq without a journal row).
    While the store has a batch open the event is held until brg_publisher_flush(). */
int brg_publisher_emit(brg_publisher_t *self, const char *kind, const char *account_id,
                       Xtbridge__Event *event);

/*  Send the held events (committed = true: their batch is durable) or drop them
    (committed = false: the batch rolled back, their seqs were never taken). */
void brg_publisher_flush(brg_publisher_t *self, bool committed);

/*  A tap sees every event once it is journaled (before it is sent), with its kind and
    account; when a batch rolls back (brg_publisher_flush with committed = false) it is
    called once with kind, account_id and event NULL. The risk module counts open orders this way.
 */
typedef void(brg_publisher_tap_fn)(void *arg, const char *kind, const char *account_id,
                                   const Xtbridge__Event *event);
void brg_publisher_set_tap(brg_publisher_t *self, brg_publisher_tap_fn *tap, void *arg);

/*  brg_emit_fn adapter for backends: arg is the publisher. */
int brg_publisher_emit_fn(void *arg, const char *kind, const char *account_id,
                          Xtbridge__Event *event);

/*  Build the topic for kind/account into buf. Returns 0, or -1 when kind is empty, either
    part contains '.', or the result does not fit. */
int brg_publisher_topic(const char *kind, const char *account_id, char *buf, size_t buflen);

/*  Topic authorization: the filters a subscription `want` (a topic prefix, may be empty)
    becomes for `who`, each passed to fn. A key with accounts "*" gets `want` itself.
    Otherwise each account kind (the Event body names) is crossed with the key's accounts
    ("<kind>.<account>.") and the account-less kinds (heartbeat, connected, disconnected)
    stay as "<kind>."; a candidate that `want` covers is installed whole, and `want` itself
    when it is narrower than a candidate. Returns how many filters were passed. */
typedef void(brg_narrow_fn)(void *arg, const char *topic, size_t len);
size_t brg_publisher_narrow(const brg_principal_t *who, const char *want, size_t wlen,
                            brg_narrow_fn *fn, void *arg);

/*  What hello announces as pub_endpoints, as a malloc'd comma list ("" = nothing), for a
    PUB attached to `configured` whose last bound endpoint is `bound` (may be NULL):
    - with `advertise` (--pub-advertise; NULL or "" = none): that list, verbatim;
    - else each configured endpoint without its '@', an ephemeral port (tcp :*, :!,
      ipc path "*") replaced by `bound`, and a wildcard host (*, 0.0.0.0, [::]) written as "*"
      ("tcp://" "*:58611") so that each client puts in the host it used to reach the ROUTER;
      endpoints the PUB connects out to ('>', an XSUB proxy) are left out: subscribers
      connect elsewhere, and only the operator knows where.
    Pure: unit-tested without binding anything. */
char *brg_publisher_announce(const char *configured, const char *bound, const char *advertise);

/*  Announce `advertise` (comma list of endpoints, NULL or "" = derive them from what the
    PUB is attached to, see brg_publisher_announce). Logs a warning when that leaves
    nothing to announce. */
void brg_publisher_advertise(brg_publisher_t *self, const char *advertise);

/*  Endpoints clients should connect to, as given to hello (see brg_publisher_announce).
    Owned by the publisher. */
const char *brg_publisher_endpoints(brg_publisher_t *self);
uint64_t brg_publisher_count(brg_publisher_t *self);
/*  The PUB (or XPUB) socket, for monitoring. Owned by the publisher. */
zsock_t *brg_publisher_socket(brg_publisher_t *self);
/*  Events journaled in the open batch and not yet sent. */
size_t brg_publisher_held(brg_publisher_t *self);

#endif
