/*  xtb_client.h - C client of the xtbridge ZeroMQ bus.

    An xtb_client_t holds one DEALER socket to the bridge's ROUTER (requests/replies) and,
    once something is subscribed, one SUB socket connected to the PUB endpoint(s) the bridge
    announced in `hello`. The DEALER carries an explicit routing id that stays the same for
    the life of the client, because the bridge keys idempotent retries by
    (routing id, request_id) (with CURVE: by (client key, request_id)).

    Calls are synchronous: xtb_client_call() sends one Request and waits for the Reply with
    the same request_id, dropping replies to earlier calls that timed out. Pushes are read
    with xtb_client_recv_event(). A client is not thread-safe; use one per thread.

    The xtb_req_* helpers build heap Request trees for the common calls so that xtbctl and
    the tests do not repeat the protobuf-c boilerplate; free them with xtb_request_destroy().
    The xtb_*_name and xtb_message_to_* helpers turn codes and messages into text.
*/
#ifndef XTB_CLIENT_H_INCLUDED
#define XTB_CLIENT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xtbridge.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XTB_DEFAULT_ROUTER "tcp://127.0.0.1:58610"
#define XTB_DEFAULT_ACCOUNT "1000000365"

/* Why the last failing function failed (xtb_client_errkind). */
typedef enum {
    XTB_CLIENT_OK = 0,
    XTB_CLIENT_TIMEOUT = 1,   /* no matching reply / event within the timeout */
    XTB_CLIENT_TRANSPORT = 2, /* socket error, interrupted (Ctrl-C) */
    XTB_CLIENT_INVALID = 3,   /* bad argument, request did not pack, no PUB endpoint */
} xtb_client_errkind_t;

typedef struct {
    /* Routing id of the DEALER; NULL = "xtb-<host>-<pid>-<random hex>". Copied. Keep
       it across restarts of a process only together with unique request ids. */
    const char *routing_id;
    /* Sent in hello; NULL = "xtbclient". Copied. */
    const char *client_name;
    /* PUB endpoint(s) to use instead of what hello announces (czmq syntax, comma list),
       e.g. a proxy's XPUB side; NULL = learn them with hello on the first subscribe (a
       wildcard host there becomes the ROUTER endpoint's host, see
       xtb_pub_endpoint_for). Copied. */
    const char *pub_endpoint;
    /* Timeout of the implicit hello done by the first subscribe; 0 = 5000 ms. */
    int hello_timeout_ms;
    /* CURVE, for a bridge run with --curve-secret/--clients: this client's czmq cert file
       (the secret one, FILE_secret, or FILE with FILE_secret beside it) and the bridge's
       public key: its public cert file, or the 40-character z85 key itself. Both or
       neither; xtb_client_new fails (NULL) if a file is unreadable or has no key. The
       dealer and the SUB both use them. Copied. */
    const char *curve_cert;
    const char *curve_server;
    /* true: xtb_client_recv_event hands over pushes as the SUB socket gets them (no
       dedup, no gap replay, no heartbeat watch). Default false: recovered, see there. */
    bool raw_events;
    /* ZMQ_RCVHWM of the SUB (pushes queued in this process before libzmq drops them);
       0 = libzmq's default (1000). A small value makes a slow consumer lose pushes sooner,
       which recovery then replays. */
    int sub_rcvhwm;
} xtb_client_options_t;

typedef struct _xtb_client_t xtb_client_t;

/*  Create a client connected (not yet talking) to `router_endpoint` (czmq syntax; a plain
    endpoint connects). `options` may be NULL for defaults; it is not kept. Returns NULL if
    the socket could not be created or the endpoint is invalid. The caller owns the client. */
xtb_client_t *xtb_client_new(const char *router_endpoint, const xtb_client_options_t *options);
/*  Destroy the client and NULL the pointer. Safe on NULL. */
void xtb_client_destroy(xtb_client_t **self_p);

/*  Send `req` and wait up to `timeout_ms` (< 0 = forever) for the Reply with the same
    request_id; replies with other ids (to calls that timed out earlier) are discarded.
    If req->request_id is empty a unique id is used for this call only: `req` is never
    modified (the id used is reply->request_id, and xtb_client_last_request_id()).
    Returns 0 when a reply arrived: *reply_out is then owned by the caller (free it with
    xtb_reply_destroy) and reply->error->code may still say the bridge refused the call.
    Returns -1 on timeout or failure, *reply_out = NULL; see xtb_client_errkind/error. */
int xtb_client_call(xtb_client_t *self, Xtbridge__Request *req, int timeout_ms,
                    Xtbridge__Reply **reply_out);

/*  Like xtb_client_call, then also fails (-1, errkind XTB_CLIENT_OK, error() holding
    "<CODE>: <message>") when the reply's error code is not OK; *reply_out is set either way
    when a reply arrived. Convenient for callers that only care about success. */
int xtb_client_call_ok(xtb_client_t *self, Xtbridge__Request *req, int timeout_ms,
                       Xtbridge__Reply **reply_out);

/*  Wait for the Reply carrying `request_id` without sending anything (after
    xtb_client_send_raw). Same ownership and return value as xtb_client_call. */
int xtb_client_recv_reply(xtb_client_t *self, const char *request_id, int timeout_ms,
                          Xtbridge__Reply **reply_out);

/*  Send raw frames on the DEALER as one message (tests of malformed input). Frames are
    copied. Returns 0 or -1. */
int xtb_client_send_raw(xtb_client_t *self, const void *const *frames, const size_t *sizes,
                        size_t nframes);

/*  Call hello and remember the PUB endpoint(s). *reply_out (may be NULL if not wanted) is
    owned by the caller. Returns 0 on an OK hello, else -1. */
int xtb_client_hello(xtb_client_t *self, int timeout_ms, Xtbridge__Reply **reply_out);

/*  Subscribe / unsubscribe to pushes whose topic starts with `topic_prefix` ("" = all).
    The first subscribe creates the SUB socket and connects it to the PUB endpoint(s),
    calling hello first if none is known. Returns 0 or -1. Subscriptions take effect
    asynchronously (ZeroMQ); see xtb_client_sync_subscriptions. */
int xtb_client_subscribe(xtb_client_t *self, const char *topic_prefix);
int xtb_client_unsubscribe(xtb_client_t *self, const char *topic_prefix);

/*  Wait until every subscription made so far is in effect at the bridge: temporarily
    subscribes to "heartbeat." and waits for one heartbeat (which the PUB sends only after
    it has processed the earlier subscriptions). Pushes of subscribed topics that arrive
    meanwhile are kept and returned by xtb_client_recv_event in order. Returns 0, or -1 on
    timeout (the bridge sends heartbeats every heartbeat_ms). */
int xtb_client_sync_subscriptions(xtb_client_t *self, int timeout_ms);

/*  Receive one push within `timeout_ms` (< 0 = forever). Unless options.raw_events, pushes
    are recovered the way the Python client does: per topic, a push at or below the last seq
    delivered is dropped (duplicates from a second PUB endpoint, or a replay overlapping live
    pushes); a push above last+1 means pushes were lost (a slow consumer past the HWM, a
    reconnect), so the gap is replayed from the bridge's journal (xtb_client_replay, on the
    request socket, inside this call) and delivered in seq order before it. Heartbeats
    (subscribed internally, handed over only when the user subscribed to them) watch the
    bridge: after 3 intervals of silence or a new instance (a restart), every topic seen is
    replayed from its last seq. A new journal epoch resets the tracking. The first push of a
    topic sets its starting point. xtb_client_recovery counts all of it. On 0, *topic (free with
   free()) and *event (free with xtb_event_destroy) are owned by the caller; either out-pointer may
    be NULL if not wanted. Returns -1 on timeout (errkind TIMEOUT) or failure. Pushes whose
    Event does not decode are skipped. */
int xtb_client_recv_event(xtb_client_t *self, int timeout_ms, char **topic,
                          Xtbridge__Event **event);

/*  What recovery did since the client was created. */
typedef struct {
    uint64_t duplicates;      /* pushes dropped: seq already delivered */
    uint64_t gaps;            /* seq jumps seen on live pushes */
    uint64_t replays;         /* replays run to fill gaps or catch up */
    uint64_t failed_replays;  /* of those, replays that failed (error, timeout) */
    uint64_t replayed_events; /* events those replays brought */
    uint64_t unrecovered;     /* seqs still missing after a replay (pruned, or it failed) */
    uint64_t catch_ups;       /* heartbeat silences / bridge restarts that replayed all */
    uint64_t epoch_changes;   /* journal resets seen */
} xtb_client_recovery_t;
void xtb_client_recovery(xtb_client_t *self, xtb_client_recovery_t *out);

/*  Replay journaled pushes of the topics starting with `topic_prefix` ("" = all), skipping
    per topic the events with seq <= after[topic] (after given as n parallel arrays
    topics/seqs, may be 0 and NULL; a topic given twice counts as its last value).

    Replay is pull-based: the bridge answers each replay request with ONE reply of at most
    max_events events in publish order, and `more` when further events match. This
    function loops: after each page it sets after[topic] to the seq of every event received
    and sends a new request (new request_id) until a reply without `more`. Only one page is
    held at a time, so memory stays bounded by the page size plus one entry per topic seen.

    `fn` is called once per event, in publish order; an event is never passed twice (one
    with seq <= the after value of its topic is skipped). The event and its strings are
    owned by the library and valid only during the callback. fn returns 0 to go on,
    non-zero to stop: no further request is sent. `fn` may be NULL (count only).
    `timeout_ms` applies to each request (< 0 = wait forever).

    Returns the number of events passed to fn (the stopping one included), or -1 on
    failure: timeout/transport (errkind), a bridge error (errkind OK, error() "<CODE>:
    <message>"), or XTB_CLIENT_INVALID when a reply has no replay result, says `more`
    without a new event (the loop would never end), or carries another bridge_epoch than
    the first page (the journal was reset meanwhile, the after map no longer applies).
    Events delivered before a failure stay delivered. The caller keeps ownership of
    topic_prefix, topics and seqs; none is modified. */
typedef int(xtb_event_fn)(const Xtbridge__Event *event, void *arg);
int xtb_client_replay(xtb_client_t *self, const char *topic_prefix, const char *const *topics,
                      const uint64_t *seqs, size_t n, int timeout_ms, xtb_event_fn *fn, void *arg);
/*  xtb_client_replay with an explicit page size: max_events per request (0 = the bridge's
    default, 500; the bridge caps it at 1000). */
int xtb_client_replay_max(xtb_client_t *self, const char *topic_prefix, const char *const *topics,
                          const uint64_t *seqs, size_t n, uint32_t max_events, int timeout_ms,
                          xtb_event_fn *fn, void *arg);
/*  Replay requests sent by the last xtb_client_replay[_max] (pages asked for). */
size_t xtb_client_replay_requests(xtb_client_t *self);

/*  Why the last call failed (kind) and a printable message (owned by the client, valid
    until the next call). */
xtb_client_errkind_t xtb_client_errkind(xtb_client_t *self);
const char *xtb_client_error(xtb_client_t *self);

/*  The routing id of the DEALER, and the request id used by the last call. Owned by the
    client. */
const char *xtb_client_routing_id(xtb_client_t *self);
const char *xtb_client_last_request_id(xtb_client_t *self);
/*  The endpoint to connect to for one endpoint announced in hello: a tcp:// endpoint with
    a wildcard host (*, 0.0.0.0, [::]) gets the host of the first tcp:// endpoint in
    `router_endpoint` (tcp://10.0.0.5:58610 + "tcp://" "*:58611" -> tcp://10.0.0.5:58611), or
    127.0.0.1 when the ROUTER is reached otherwise (ipc://: same machine); anything else is
    returned as it is. Malloc'd (free it); NULL if announced is NULL. */
char *xtb_pub_endpoint_for(const char *announced, const char *router_endpoint);

/*  PUB endpoint(s) in use (comma list) or NULL if not known yet. Owned by the client. */
const char *xtb_client_pub_endpoint(xtb_client_t *self);
/*  Number of stale replies (other request ids) dropped so far. */
size_t xtb_client_stale_replies(xtb_client_t *self);

/*  Free a reply / event returned by the client, and NULL the pointer. Safe on NULL. */
void xtb_reply_destroy(Xtbridge__Reply **reply_p);
void xtb_event_destroy(Xtbridge__Event **event_p);

/* ---------------------------------------------------------------------------------------
   Request builders. Each returns a heap Request (request_id empty) owned by the caller,
   freed with xtb_request_destroy(). Strings are copied. `account_id` NULL or "" leaves the
   account out (the bridge then answers INVALID_ARGUMENT), account_type 0 = STOCK.      */

Xtbridge__Request *xtb_req_hello(const char *client_name);
Xtbridge__Request *xtb_req_ping(int64_t client_time_ns);
Xtbridge__Request *xtb_req_stats(void);
/*  order_stock (async=false) or order_stock_async. */
Xtbridge__Request *xtb_req_order(const char *account_id, const char *stock_code, int32_t order_type,
                                 int64_t volume, int32_t price_type, double price,
                                 const char *strategy, const char *remark, bool async);
Xtbridge__Request *xtb_req_cancel(const char *account_id, int64_t order_id, bool async);
Xtbridge__Request *xtb_req_cancel_sysid(const char *account_id, int32_t market,
                                        const char *order_sysid, bool async);
/*  Any call whose body is an AccountRequest (query_stock_asset, query_stock_trades,
    query_stock_positions, query_credit_detail, subscribe, ...). NULL for another case. */
Xtbridge__Request *xtb_req_account(Xtbridge__Request__BodyCase body, const char *account_id);
/*  Any call whose body is a NoArgsRequest (query_ipo_data, query_account_infos,
    query_account_status). NULL for another case. */
Xtbridge__Request *xtb_req_noargs(Xtbridge__Request__BodyCase body);
Xtbridge__Request *xtb_req_query_order(const char *account_id, int64_t order_id);
Xtbridge__Request *xtb_req_query_orders(const char *account_id, bool cancelable_only);
Xtbridge__Request *xtb_req_query_position(const char *account_id, const char *stock_code);
/*  replay with after{} given as n parallel arrays; max_events 0 = bridge default. */
Xtbridge__Request *xtb_req_replay(const char *topic_prefix, const char *const *topics,
                                  const uint64_t *seqs, size_t n, uint32_t max_events);
/*  sim admin: pre_close 0 = keep, liquidity -1 = keep; sim_tick code NULL/"" = all codes,
    last_price 0 = keep. */
Xtbridge__Request *xtb_req_sim_set_price(const char *stock_code, double last_price,
                                         double pre_close, int64_t liquidity);
Xtbridge__Request *xtb_req_sim_tick(const char *stock_code, double last_price);
Xtbridge__Request *xtb_req_sim_next_day(void);
Xtbridge__Request *xtb_req_sim_set_account_status(const char *account_id, int32_t status);
/*  sim admin: drop (false) or restore (true) the sim's session (docs/protocol.md §6.4). */
Xtbridge__Request *xtb_req_sim_set_session(bool connected);
/*  risk_kill_switch: account_id NULL or "" = all accounts. */
Xtbridge__Request *xtb_req_risk_kill_switch(const char *account_id, bool engaged, bool cancel_open);
/*  Set the request id (copied). Returns 0 or -1. */
int xtb_request_set_id(Xtbridge__Request *req, const char *request_id);
/*  Free a request built by the helpers (or unpacked by protobuf-c), NULL the pointer. */
void xtb_request_destroy(Xtbridge__Request **req_p);

/* ---------------------------------------------------------------------------------------
   Names and text. All returned names are static strings.                              */

/*  "OK", "MALFORMED", ... or "UNKNOWN(<n>)" (in a static buffer, not thread-safe). */
const char *xtb_error_code_name(int code);
/*  Request body name ("order_stock") or NULL for an unknown case. */
const char *xtb_request_body_name(Xtbridge__Request__BodyCase body);
/*  Event body name ("trade") or NULL. */
const char *xtb_event_body_name(Xtbridge__Event__BodyCase body);
/*  Bytes one element of a field of protobuf-c type `type` takes in a message struct (a
    repeated field's array stride), for code that fills messages by reflection. */
size_t xtb_field_element_size(ProtobufCType type);
/*  xtconstant names: "ORDER_SUCCEEDED", "STOCK_BUY", "FIX_PRICE"; NULL if unknown. Price
    types include the counter codes XtOrder.price_type reports ("BROKER_PRICE_LIMIT" 50,
    "BROKER_PRICE_ANY" 49, "BROKER_PRICE_BEST" 51). */
const char *xtb_order_status_name(int32_t status);
const char *xtb_order_type_name(int32_t order_type);
const char *xtb_price_type_name(int32_t price_type);

/*  JSON object for any protobuf-c message: field names as in the .proto, every field
    (defaults too, unless skip_defaults), oneofs only when set, maps as objects, int64 as
    numbers, NaN/inf as null. Returns a heap string owned by the caller (free()). */
char *xtb_message_to_json(const ProtobufCMessage *msg, bool skip_defaults);
/*  One-line "k=v k=v" text of a message, skipping default values; nested messages as
    k={...}; order_type, order_status and price_type by their xtconstant name
    (order_type=STOCK_BUY) when they have one. Heap string owned by the caller (free()). */
char *xtb_message_to_text(const ProtobufCMessage *msg);

#ifdef __cplusplus
}
#endif
#endif
