/*  brg_router.c - decode, check, dispatch, reply (see brg_router.h).

    Frames: [routing id][empty delimiters...][Request]. Anything else is answered MALFORMED
    with the delimiters that were empty echoed back, so REQ and DEALER clients both get a
    reply they can read. Replies are sent non-blocking with ROUTER_MANDATORY, so a reply to a
    client that has gone is counted as dropped instead of silently vanishing or blocking
    the loop.

    The request path is the bridge's hot path: frames are read into zmq_msg_t and the
    reply's envelope (routing id + delimiter count) is kept inline, so a request costs no
    czmq message objects; held replies and pushes sit in flat arrays until their commit.
*/
#include "brg_router.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brg_log.h"
#include "brg_pbenc.h"
#include "brg_stall.h"
#include "brg_validate.h"

#define MAX_BODY_CASE 128
#define REPLAY_DEFAULT_BATCH 500
#define REPLAY_MAX_BATCH 1000

struct brg_router {
    zloop_t *loop;
    zsock_t *sock;
    brg_router_args_t args;
    zhash_t *in_flight; /* idempotency key -> brg_call_t of a pending state-changing call */
    uint64_t requests, replies, malformed, dropped, idempotent_hits;
    uint64_t per_call[MAX_BODY_CASE];
    int64_t started_ms;
    struct held *held; /* replies of the open batch, sent after its commit */
    size_t nheld, cheld;
    bool draining;    /* inside brg_router_drain: its batch is the open one */
    int last_drained; /* requests the last brg_router_drain handled */
    bool degraded;    /* a commit failed and the backend could not undo */
    char degraded_reason[768];
};

/* The frames between the routing id and the request that a reply echoes back: empty
   delimiters from a direct client, and behind a ROUTER/DEALER proxy (--behind-proxy) the
   routing ids the proxy's frontend put there, one per hop. Each is stored as [size][bytes]
   (a routing id is at most 255 bytes in ZMTP). Inline: no allocation per request. */
#define PATH_BYTES 256

/* Where a reply goes: the routing id and the path. */
typedef struct {
    uint8_t id[255];
    uint8_t id_size;
    uint8_t hops;       /* frames in path */
    uint16_t path_size; /* bytes of path in use */
    uint8_t path[PATH_BYTES];
} envelope_t;

/* A reply waiting for its batch to commit; owns data. */
typedef struct held {
    envelope_t env;
    uint8_t *data;
    size_t size;
} held_t;

/* What the router keeps with each call: where the reply goes and how it is remembered. */
typedef struct {
    envelope_t env;
    bool state_changing; /* its reply is an idempotency row */
    char *idem_key;      /* set while the backend holds the call (in_flight's key) */
    char *curve_key;     /* the client's CURVE key (z85), NULL without CURVE */
} route_t;

static void route_free(void **p) {
    route_t *route = (route_t *)*p;
    free(route->idem_key);
    free(route->curve_key);
    free(route);
    *p = NULL;
}

static const char *request_id_of(brg_call_t *call) {
    const Xtbridge__Request *req = brg_call_request(call);
    return req && req->request_id ? req->request_id : "";
}

/* Calls that change state at the broker: a retry with the same request_id must not repeat
   them, so their replies are remembered durably. */
static bool is_state_changing(Xtbridge__Request__BodyCase body) {
    switch (body) {
    case XTBRIDGE__REQUEST__BODY_ORDER_STOCK:
    case XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_ASYNC:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID_ASYNC:
    case XTBRIDGE__REQUEST__BODY_FUND_TRANSFER:
    case XTBRIDGE__REQUEST__BODY_SYNC_TRANSACTION_FROM_EXTERNAL:
    case XTBRIDGE__REQUEST__BODY_SMT_NEGOTIATE_ORDER_ASYNC:
        return true;
    default:
        return false;
    }
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void free_sent(void *data, void *hint) {
    (void)hint;
    free(data);
}

/* Replies at least this big are handed to libzmq as they are instead of copied: a big
   query's answer (10 MB for 100,000 orders) is not held twice. */
#define ZERO_COPY_BYTES (64 * 1024)

/* Send a whole reply (envelope frames + payload) without blocking; a client that left or
   stopped reading costs a counted drop, never a stalled loop. Takes `data` (malloc'd):
   freed here, or by libzmq once sent. */
static void send_now(brg_router_t *self, const envelope_t *env, uint8_t *data, size_t size) {
    void *handle = zsock_resolve(self->sock);
    int rc = zmq_send(handle, env->id, env->id_size, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    for (size_t at = 0, i = 0; i < env->hops && rc >= 0; i++, at += 1u + env->path[at])
        rc = zmq_send(handle, env->path + at + 1, env->path[at], ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0 && size >= ZERO_COPY_BYTES) {
        zmq_msg_t msg;
        if (zmq_msg_init_data(&msg, data, size, free_sent, NULL) == 0) {
            rc = zmq_msg_send(&msg, handle, ZMQ_DONTWAIT);
            if (rc < 0)
                zmq_msg_close(&msg); /* frees data */
            data = NULL;
        } else
            rc = zmq_send(handle, data, size, ZMQ_DONTWAIT);
    } else if (rc >= 0)
        rc = zmq_send(handle, data, size, ZMQ_DONTWAIT);
    free(data);
    if (rc < 0) {
        self->dropped++;
        brg_warn("reply dropped: %s", zmq_strerror(zmq_errno()));
    } else
        self->replies++;
}

/* Send a packed reply, or hold it for the open batch's commit. Takes `data` (malloc'd). */
static void send_owned(brg_router_t *self, const envelope_t *env, uint8_t *data, size_t size) {
    if (!brg_store_in_batch(self->args.store)) {
        send_now(self, env, data, size);
        return;
    }
    /* The reply may speak of this batch's orders and be its idempotency row: it must not
       reach the client before the batch is durable, or a crash could lose an acknowledged
       order or let a retry repeat it. */
    if (self->nheld == self->cheld) {
        self->cheld = self->cheld ? self->cheld * 2 : 64;
        self->held = (held_t *)realloc(self->held, self->cheld * sizeof(held_t));
        if (!self->held)
            abort();
    }
    held_t *held = &self->held[self->nheld++];
    held->env = *env;
    held->data = data;
    held->size = size;
}

/* A reply packed into a new buffer (the caller owns it): in one pass (brg_pbenc) when it
   fits the first 256 bytes, as most answers do; a query's long list through protobuf-c. */
static uint8_t *pack_reply(const Xtbridge__Reply *reply, size_t *size) {
    size_t cap = 256;
    uint8_t *data = (uint8_t *)malloc(cap);
    if (!data)
        abort();
    *size = brg_pbenc_pack_alloc(&reply->base, &data, &cap);
    if (*size == SIZE_MAX)
        abort(); /* out of memory */
    return data;
}

/* The call's reply packed: with a result the backend packed itself (a long list, a slice
   at a time) the rest of the reply comes first and that result follows as its field
   (protobuf readers take fields in any order), moved up in its own buffer, not copied. */
static uint8_t *pack_call_reply(brg_call_t *call, const Xtbridge__Reply *reply, size_t *size) {
    Xtbridge__Reply__ResultCase result;
    size_t len;
    uint8_t *tail = brg_call_take_packed_result(call, &result, &len);
    uint8_t *head = pack_reply(reply, size);
    if (!tail)
        return head;
    uint8_t key[BRG_PBENC_LEN_PREFIX_MAX];
    size_t klen = brg_pbenc_len_prefix(key, (uint32_t)result, len); /* the oneof case = field */
    uint8_t *all = (uint8_t *)realloc(tail, *size + klen + len);
    if (!all)
        abort(); /* out of memory, as zmalloc */
    memmove(all + *size + klen, all, len);
    memcpy(all, head, *size);
    memcpy(all + *size, key, klen);
    free(head);
    *size += klen + len;
    return all;
}

static void send_reply(brg_router_t *self, const envelope_t *env, Xtbridge__Reply *reply) {
    size_t size;
    uint8_t *data = pack_reply(reply, &size);
    send_owned(self, env, data, size);
}

/* Error reply for a request we could not (fully) decode. */
static void send_error(brg_router_t *self, const envelope_t *env, const char *request_id,
                       Xtbridge__ErrorCode code, const char *message) {
    Xtbridge__Reply reply = XTBRIDGE__REPLY__INIT;
    Xtbridge__Error error = XTBRIDGE__ERROR__INIT;
    error.code = code;
    error.message = (char *)message;
    reply.error = &error;
    reply.request_id = (char *)(request_id ? request_id : "");
    send_reply(self, env, &reply);
    brg_debug("error reply %d: %s", code, message);
}

typedef struct {
    brg_call_t *call;
    Xtbridge__SubscribeReply *subscribe;
    size_t capacity;
} baseline_t;

static void add_baseline(void *arg, const char *topic, uint64_t last_seq) {
    baseline_t *b = (baseline_t *)arg;
    if (b->subscribe->n_last_seq == b->capacity)
        return;
    Xtbridge__SubscribeReply__LastSeqEntry *entry =
        (Xtbridge__SubscribeReply__LastSeqEntry *)brg_call_alloc(b->call, sizeof *entry);
    xtbridge__subscribe_reply__last_seq_entry__init(entry);
    entry->key = brg_call_strdup(b->call, topic);
    entry->value = last_seq;
    b->subscribe->last_seq[b->subscribe->n_last_seq++] = entry;
}

/* A successful subscribe carries the account's topic seqs, whatever the backend: the
   subscriber's baseline for spotting a push lost while its SUB filter was in flight. */
static void add_subscribe_baseline(brg_router_t *self, brg_call_t *call) {
    const Xtbridge__Request *req = brg_call_request(call);
    Xtbridge__Reply *reply = brg_call_reply(call);
    if (req->body_case != XTBRIDGE__REQUEST__BODY_SUBSCRIBE ||
        reply->error->code != XTBRIDGE__ERROR_CODE__OK ||
        reply->result_case != XTBRIDGE__REPLY__RESULT_SUBSCRIBE || reply->subscribe->result != 0 ||
        !req->subscribe->account)
        return;
    /* at most one topic per push kind: size the array from the Event oneof */
    baseline_t b = {call, reply->subscribe, xtbridge__event__descriptor.n_fields};
    reply->subscribe->last_seq = (Xtbridge__SubscribeReply__LastSeqEntry **)brg_call_alloc(
        call, sizeof(void *) * b.capacity);
    reply->subscribe->n_last_seq = 0;
    if (brg_store_account_topics(self->args.store, req->subscribe->account->account_id,
                                 add_baseline, &b) < 0)
        brg_warn("subscribe: no seq baseline: %s", brg_store_error(self->args.store));
}

/* ---------------------------------------------------------------------------------- */
/* Authorization (CURVE only): the key the connection authenticated decides, never the
   payload. */

/* Keep only the elements whose account_id the key may see (an array of pointers to
   messages with an `account_id` field at `offset`). */
static size_t keep_allowed(const brg_principal_t *who, void **items, size_t n, size_t offset) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const char *account = *(const char **)((const char *)items[i] + offset);
        if (who && brg_principal_may_account(who, account))
            items[kept++] = items[i];
    }
    return kept;
}

static bool needs_admin(Xtbridge__Request__BodyCase body);
static bool needs_trader(Xtbridge__Request__BodyCase body);

/* Whether a role allows a call at all (accounts aside). */
static bool role_may_call(brg_role_t role, Xtbridge__Request__BodyCase body) {
    if (needs_admin(body))
        return role == BRG_ROLE_ADMIN;
    if (needs_trader(body))
        return role != BRG_ROLE_READER;
    return true;
}

/* Replies that list accounts list only the key's own (the arena frees what is dropped). */
static void filter_reply(brg_router_t *self, route_t *route, Xtbridge__Reply *reply) {
    /* looked up again: a SIGHUP reload may have come while the backend held the call */
    const brg_principal_t *who = brg_auth_lookup(self->args.auth, route->curve_key);
    if (reply->result_case == XTBRIDGE__REPLY__RESULT_STATS &&
        (!who || brg_principal_role(who) != BRG_ROLE_ADMIN)) {
        /* The bridge's health for everyone; its traffic (all accounts' activity) for
           admins only. */
        Xtbridge__StatsReply *stats = reply->stats;
        Xtbridge__StatsReply health = XTBRIDGE__STATS_REPLY__INIT;
        health.uptime_ms = stats->uptime_ms;
        health.degraded = stats->degraded;
        health.degraded_reason = stats->degraded_reason;
        health.durability = stats->durability;
        health.backend_connected = stats->backend_connected;
        *stats = health;
    }
    if (reply->result_case == XTBRIDGE__REPLY__RESULT_HELLO && who) {
        /* hello.calls: only what this key may call */
        size_t kept = 0;
        for (size_t i = 0; i < reply->hello->n_calls; i++) {
            const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field_by_name(
                &xtbridge__request__descriptor, reply->hello->calls[i]);
            if (field &&
                role_may_call(brg_principal_role(who), (Xtbridge__Request__BodyCase)field->id))
                reply->hello->calls[kept++] = reply->hello->calls[i];
        }
        reply->hello->n_calls = kept;
    }
    if (who && brg_principal_all_accounts(who))
        return;
    switch (reply->result_case) {
    case XTBRIDGE__REPLY__RESULT_HELLO:
        reply->hello->n_accounts =
            keep_allowed(who, (void **)reply->hello->accounts, reply->hello->n_accounts,
                         offsetof(Xtbridge__Account, account_id));
        break;
    case XTBRIDGE__REPLY__RESULT_QUERY_ACCOUNT_INFOS:
        reply->query_account_infos->n_accounts = keep_allowed(
            who, (void **)reply->query_account_infos->accounts,
            reply->query_account_infos->n_accounts, offsetof(Xtbridge__XtAccountInfo, account_id));
        break;
    case XTBRIDGE__REPLY__RESULT_QUERY_ACCOUNT_STATUS:
        reply->query_account_status->n_statuses =
            keep_allowed(who, (void **)reply->query_account_status->statuses,
                         reply->query_account_status->n_statuses,
                         offsetof(Xtbridge__XtAccountStatus, account_id));
        break;
    default:
        break;
    }
}

/* The Account a request body names, if its message has one (found by type, so every call
   with an account is covered, today's and tomorrow's). *has says whether the body has an
   Account field at all. */
static const Xtbridge__Account *named_account(const Xtbridge__Request *req, bool *has) {
    *has = false;
    const ProtobufCFieldDescriptor *body =
        protobuf_c_message_descriptor_get_field(&xtbridge__request__descriptor, req->body_case);
    if (!body || body->type != PROTOBUF_C_TYPE_MESSAGE)
        return NULL;
    const ProtobufCMessage *msg = *(const ProtobufCMessage **)((const char *)req + body->offset);
    if (!msg)
        return NULL;
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        if (field->type == PROTOBUF_C_TYPE_MESSAGE &&
            field->descriptor == &xtbridge__account__descriptor &&
            field->label != PROTOBUF_C_LABEL_REPEATED) {
            *has = true;
            return *(const Xtbridge__Account **)((const char *)msg + field->offset);
        }
    }
    return NULL;
}

/* Admin calls: the sim's controls and the risk kill switch. */
static bool needs_admin(Xtbridge__Request__BodyCase body) {
    const char *name = brg_call_body_name(body);
    return (name && strncmp(name, "sim_", 4) == 0) ||
           body == XTBRIDGE__REQUEST__BODY_RISK_KILL_SWITCH;
}

/* Calls a reader may not make: everything that changes state at the broker or in the
   session. */
static bool needs_trader(Xtbridge__Request__BodyCase body) {
    return is_state_changing(body) ||
           body == XTBRIDGE__REQUEST__BODY_SET_RELAXED_RESPONSE_ORDER_ENABLED;
}

/* Replay of an account's topics only: "<kind>.<account>." with an allowed account, or an
   account-less kind. A wider prefix would hand over other accounts' events. */
static bool replay_allowed(const brg_principal_t *who, const char *prefix) {
    if (brg_principal_all_accounts(who))
        return true;
    if (!prefix)
        return false;
    static const char *const open_prefixes[] = {"heartbeat.", "connected.", "disconnected."};
    for (size_t i = 0; i < sizeof open_prefixes / sizeof *open_prefixes; i++)
        if (strncmp(prefix, open_prefixes[i], strlen(open_prefixes[i])) == 0)
            return true;
    const char *dot = strchr(prefix, '.');
    if (!dot || dot == prefix)
        return false;
    const char *account = dot + 1;
    const char *end = strchr(account, '.');
    if (!end || end == account)
        return false;
    char id[128];
    if ((size_t)(end - account) >= sizeof id)
        return false;
    memcpy(id, account, (size_t)(end - account));
    id[end - account] = 0;
    return brg_principal_may_account(who, id);
}

/* The single authorization point. Returns true when the call may go on; otherwise the
   call's reply is FORBIDDEN saying what was refused. */
static bool authorize(brg_router_t *self, brg_call_t *call, const char *curve_key) {
    if (!self->args.auth)
        return true; /* plain: loopback only, everything allowed */
    const Xtbridge__Request *req = brg_call_request(call);
    const brg_principal_t *who = brg_auth_lookup(self->args.auth, curve_key);
    if (!who) {
        brg_warn("request from key %s refused: not in the allowed client certs",
                 curve_key ? curve_key : "(none)");
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__FORBIDDEN,
                      "this client key is not in the bridge's allowed client certs");
        return false;
    }
    brg_role_t role = brg_principal_role(who);
    if (needs_admin(req->body_case) && role != BRG_ROLE_ADMIN) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__FORBIDDEN,
                      "'%s' needs role admin; this key's role is %s", brg_call_name(call),
                      brg_role_name(role));
        return false;
    }
    if (needs_trader(req->body_case) && role == BRG_ROLE_READER) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__FORBIDDEN,
                      "'%s' needs role trader or admin; this key's role is reader",
                      brg_call_name(call));
        return false;
    }
    if (req->body_case == XTBRIDGE__REQUEST__BODY_REPLAY &&
        !replay_allowed(who, req->replay->topic_prefix)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__FORBIDDEN,
                      "replay of '%s' would include accounts this key may not see: replay "
                      "'<kind>.<account>.' for each of its accounts",
                      req->replay->topic_prefix ? req->replay->topic_prefix : "");
        return false;
    }
    bool has = false;
    const Xtbridge__Account *account = named_account(req, &has);
    if (has && !brg_principal_may_account(who, account ? account->account_id : NULL)) {
        if (!account || !account->account_id || !*account->account_id)
            brg_call_fail(call, XTBRIDGE__ERROR_CODE__FORBIDDEN,
                          "'%s' names no account; this key may use only its own",
                          brg_call_name(call));
        else
            brg_call_fail(call, XTBRIDGE__ERROR_CODE__FORBIDDEN,
                          "account '%s' is not among this key's accounts", account->account_id);
        return false;
    }
    return true;
}

/* Finish a call: remember the reply if the call changes state, send it, free the call. */
static void finish_call(brg_call_t *call, void *arg) {
    brg_router_t *self = (brg_router_t *)arg;
    route_t *route = (route_t *)brg_call_user(call);
    Xtbridge__Reply *reply = brg_call_reply(call);
    add_subscribe_baseline(self, call);
    if (self->args.auth)
        filter_reply(self, route, reply);
    size_t size;
    uint8_t *data = pack_call_reply(call, reply, &size);
    if (route->idem_key)
        zhash_delete(self->in_flight, route->idem_key);
    /* NOT_CONNECTED: nothing reached the terminal, so it is not the request's answer: a
       retry of that request_id after `connected.` is executed (docs/protocol.md §7) */
    bool remember = route->state_changing &&
                    !(reply->error && reply->error->code == XTBRIDGE__ERROR_CODE__NOT_CONNECTED);
    if (remember && brg_store_reply_put(self->args.store, brg_call_client(call),
                                        request_id_of(call), data, size))
        /* the batch fails with it: no OK for a reply that could not be remembered */
        brg_error("cannot store reply of %s for idempotency: %s", request_id_of(call),
                  brg_store_error(self->args.store));
    send_owned(self, &route->env, data, size);
    brg_call_destroy(&call);
}

/* ---------------------------------------------------------------------------------- */
/* Bridge calls */

static void do_hello(brg_router_t *self, brg_call_t *call) {
    Xtbridge__Reply *reply = brg_call_reply(call);
    Xtbridge__HelloReply *hello =
        (Xtbridge__HelloReply *)brg_call_alloc(call, sizeof(Xtbridge__HelloReply));
    xtbridge__hello_reply__init(hello);
    hello->bridge_version = brg_call_strdup(call, XTB_VERSION);
    hello->protocol_version = XTB_PROTOCOL_VERSION;
    /* comma list -> repeated; none when the PUB only connects out and nothing is
       advertised (brg_publisher_announce) */
    char *endpoints = brg_call_strdup(call, brg_publisher_endpoints(self->args.publisher));
    hello->pub_endpoints = (char **)brg_call_alloc(call, sizeof(char *) * 16);
    for (char *save = NULL, *tok = strtok_r(endpoints, ",", &save);
         tok && hello->n_pub_endpoints < 16; tok = strtok_r(NULL, ",", &save))
        hello->pub_endpoints[hello->n_pub_endpoints++] = tok;
    hello->backend = brg_call_strdup(call, self->args.ops->name);
    hello->instance_id = brg_call_strdup(call, self->args.instance_id);
    hello->heartbeat_ms = (uint32_t)self->args.heartbeat_ms;
    hello->bridge_epoch = brg_store_epoch(self->args.store);
    hello->degraded = self->degraded;
    hello->degraded_reason = brg_call_strdup(call, self->degraded_reason);
    hello->durability =
        brg_call_strdup(call, brg_store_durability_name(brg_store_durability(self->args.store)));
    const ProtobufCMessageDescriptor *desc = &xtbridge__request__descriptor;
    hello->calls = (char **)brg_call_alloc(call, sizeof(char *) * desc->n_fields);
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        if (field->id == 1)
            continue;
        Xtbridge__Request__BodyCase body = (Xtbridge__Request__BodyCase)field->id;
        bool bridge_call =
            body == XTBRIDGE__REQUEST__BODY_HELLO || body == XTBRIDGE__REQUEST__BODY_PING ||
            body == XTBRIDGE__REQUEST__BODY_REPLAY || body == XTBRIDGE__REQUEST__BODY_STATS ||
            (body == XTBRIDGE__REQUEST__BODY_RISK_KILL_SWITCH && self->args.risk);
        if (bridge_call || self->args.ops->serves(self->args.backend, body))
            hello->calls[hello->n_calls++] = (char *)field->name;
    }
    if (self->args.ops->describe)
        self->args.ops->describe(self->args.backend, call, hello);
    reply->result_case = XTBRIDGE__REPLY__RESULT_HELLO;
    reply->hello = hello;
}

static void do_ping(brg_call_t *call) {
    Xtbridge__Reply *reply = brg_call_reply(call);
    Xtbridge__PingReply *ping =
        (Xtbridge__PingReply *)brg_call_alloc(call, sizeof(Xtbridge__PingReply));
    xtbridge__ping_reply__init(ping);
    ping->client_time_ns = brg_call_request(call)->ping->client_time_ns;
    ping->bridge_time_ns = now_ns();
    reply->result_case = XTBRIDGE__REPLY__RESULT_PING;
    reply->ping = ping;
}

static void do_stats(brg_router_t *self, brg_call_t *call) {
    Xtbridge__Reply *reply = brg_call_reply(call);
    Xtbridge__StatsReply *stats =
        (Xtbridge__StatsReply *)brg_call_alloc(call, sizeof(Xtbridge__StatsReply));
    xtbridge__stats_reply__init(stats);
    stats->requests = self->requests;
    stats->replies = self->replies;
    stats->malformed = self->malformed;
    stats->dropped = self->dropped;
    stats->events_published = brg_publisher_count(self->args.publisher);
    stats->uptime_ms = (uint64_t)(zclock_mono() - self->started_ms);
    stats->idempotent_hits = self->idempotent_hits;
    stats->degraded = self->degraded;
    stats->degraded_reason = brg_call_strdup(call, self->degraded_reason);
    stats->commits = brg_store_commits(self->args.store);
    stats->commit_failures = brg_store_failures(self->args.store);
    stats->journal_events = brg_store_journal_count(self->args.store);
    stats->pruned_events = brg_store_pruned(self->args.store);
    stats->durability =
        brg_call_strdup(call, brg_store_durability_name(brg_store_durability(self->args.store)));
    stats->loop_max_busy_us = brg_stall_max_us();
    stats->loop_recent_max_busy_us = brg_stall_take_recent_us();
    stats->colocate = (char *)brg_colocate_mode(self->args.colocate);
    stats->colocated = brg_colocate_active(self->args.colocate);
    stats->colocate_switches = brg_colocate_switches(self->args.colocate);
    /* the backend's session state is what its describe() says in hello */
    if (self->args.ops->describe) {
        Xtbridge__HelloReply probe = XTBRIDGE__HELLO_REPLY__INIT;
        self->args.ops->describe(self->args.backend, call, &probe);
        stats->backend_connected = probe.backend_connected;
    }
    if (self->args.jetstream) {
        brg_jetstream_stats_t js;
        brg_jetstream_stats(self->args.jetstream, &js);
        Xtbridge__JetStreamStats *out =
            (Xtbridge__JetStreamStats *)brg_call_alloc(call, sizeof(Xtbridge__JetStreamStats));
        xtbridge__jet_stream_stats__init(out);
        out->connected = js.connected;
        out->published = js.published;
        out->failures = js.failures;
        out->last_error = brg_call_strdup(call, js.last_error);
        stats->jetstream = out;
    }
    stats->calls =
        (Xtbridge__StatsReply__CallsEntry **)brg_call_alloc(call, sizeof(void *) * MAX_BODY_CASE);
    for (int body = 0; body < MAX_BODY_CASE; body++) {
        const char *name = brg_call_body_name((Xtbridge__Request__BodyCase)body);
        if (!name || !self->per_call[body])
            continue;
        Xtbridge__StatsReply__CallsEntry *entry =
            (Xtbridge__StatsReply__CallsEntry *)brg_call_alloc(call, sizeof *entry);
        xtbridge__stats_reply__calls_entry__init(entry);
        entry->key = (char *)name;
        entry->value = self->per_call[body];
        stats->calls[stats->n_calls++] = entry;
    }
    reply->result_case = XTBRIDGE__REPLY__RESULT_STATS;
    reply->stats = stats;
}

/* Replay is pull-based: one reply per request with at most max_events events read through
   the journal index; more=true tells the client to ask again with the after map it now
   holds. So a replay costs bounded memory and time, whatever the journal's size. */
typedef struct {
    zhash_t *after; /* topic -> uint64_t* last seq the client has */
    Xtbridge__Event **events;
    size_t count;
} replay_t;

static uint64_t replay_after(void *arg, const char *topic) {
    uint64_t *have = (uint64_t *)zhash_lookup(((replay_t *)arg)->after, topic);
    return have ? *have : 0;
}

static int replay_event(void *arg, const char *topic, uint64_t seq, const uint8_t *data,
                        size_t size) {
    (void)topic;
    (void)seq;
    replay_t *r = (replay_t *)arg;
    Xtbridge__Event *event = xtbridge__event__unpack(NULL, size, data);
    /* cannot happen for rows we wrote; skip rather than stop the replay */
    if (event)
        r->events[r->count++] = event;
    return 0;
}

/* Replay sends its own reply; returns true when it did. */
static bool do_replay(brg_router_t *self, brg_call_t *call) {
    const Xtbridge__ReplayRequest *req = brg_call_request(call)->replay;
    size_t max = req->max_events ? req->max_events : REPLAY_DEFAULT_BATCH;
    if (max > REPLAY_MAX_BATCH)
        max = REPLAY_MAX_BATCH;
    replay_t r = {zhash_new(), NULL, 0};
    for (size_t i = 0; i < req->n_after; i++) {
        if (!req->after[i]->key)
            continue;
        uint64_t *seq = (uint64_t *)brg_call_alloc(call, sizeof(uint64_t));
        *seq = req->after[i]->value;
        zhash_update(r.after, req->after[i]->key, seq);
    }
    r.events = (Xtbridge__Event **)calloc(max, sizeof(Xtbridge__Event *));
    bool more = false;
    int read = brg_store_journal_read(self->args.store, req->topic_prefix, replay_after, &r, max,
                                      replay_event, &r, &more);
    zhash_destroy(&r.after);
    if (read >= 0) {
        Xtbridge__Reply reply = XTBRIDGE__REPLY__INIT;
        Xtbridge__Error error = XTBRIDGE__ERROR__INIT;
        Xtbridge__ReplayReply body = XTBRIDGE__REPLAY_REPLY__INIT;
        reply.request_id = brg_call_reply(call)->request_id;
        reply.error = &error;
        reply.result_case = XTBRIDGE__REPLY__RESULT_REPLAY;
        reply.replay = &body;
        body.events = r.events;
        body.n_events = r.count;
        body.more = more;
        body.bridge_epoch = brg_store_epoch(self->args.store);
        route_t *route = (route_t *)brg_call_user(call);
        send_reply(self, &route->env, &reply);
    }
    for (size_t i = 0; i < r.count; i++)
        xtbridge__event__free_unpacked(r.events[i], NULL);
    free(r.events);
    if (read < 0) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__BACKEND_ERROR, "replay: journal read failed: %s",
                      brg_store_error(self->args.store));
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------------------------- */

/* Stable key of the client for idempotency: an explicit routing id is the client's own
   name and survives reconnects (ROUTER_HANDOVER); libzmq's generated ids (first byte 0)
   are only valid for this connection of this instance, so they are scoped to it. Behind a
   proxy the client is named by the hops' routing ids (the peer is the proxy, shared by
   all its clients): with explicit ids alone they are the key, stable across proxy
   reconnects; a generated one among them is scoped to the proxy's connection too. */
static void hex_append(char *buf, size_t len, size_t *at, const uint8_t *data, size_t size) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < size && *at + 2 < len; i++) {
        buf[(*at)++] = hex[data[i] >> 4];
        buf[(*at)++] = hex[data[i] & 15];
    }
    buf[*at] = 0;
}

static char *client_key(brg_router_t *self, const envelope_t *env, const char *curve_key, char *buf,
                        size_t len) {
    bool hops = false, generated = false;
    for (size_t at = 0, i = 0; i < env->hops; i++, at += 1u + env->path[at]) {
        hops = hops || env->path[at] > 0;
        generated = generated || (env->path[at] > 0 && env->path[at + 1] == 0);
    }
    size_t at = 0;
    buf[0] = 0;
    if (curve_key) {
        /* With CURVE the key is the client (or the proxy it comes through), whatever its
           routing id. */
        at = (size_t)snprintf(buf, len, "curve:%s", curve_key);
    } else if (!hops || generated) {
        if (env->id_size && env->id[0] == 0)
            at = (size_t)snprintf(buf, len, "auto:%s:", self->args.instance_id);
        hex_append(buf, len, &at, env->id, env->id_size);
    } else {
        at = (size_t)snprintf(buf, len, "path");
    }
    if (at >= len)
        at = len - 1;
    for (size_t p = 0, i = 0; i < env->hops; i++, p += 1u + env->path[p])
        if (env->path[p] && at + 3 < len) {
            buf[at++] = '/';
            hex_append(buf, len, &at, env->path + p + 1, env->path[p]);
        }
    return buf;
}

/* The in-flight table's key of a state-changing call (caller frees). Built only when a
   backend holds calls: a call answered at once never needs it. */
static char *in_flight_key(brg_call_t *call) {
    return zsys_sprintf("%s\x1f%s", brg_call_client(call), brg_call_request(call)->request_id);
}

static void dispatch(brg_router_t *self, brg_call_t *call) {
    const Xtbridge__Request *req = brg_call_request(call);
    route_t *route = (route_t *)brg_call_user(call);
    Xtbridge__Request__BodyCase body = req->body_case;
    if ((int)body >= 0 && (int)body < MAX_BODY_CASE)
        self->per_call[body]++;

    switch (body) {
    case XTBRIDGE__REQUEST__BODY_HELLO:
        do_hello(self, call);
        break;
    case XTBRIDGE__REQUEST__BODY_PING:
        do_ping(call);
        break;
    case XTBRIDGE__REQUEST__BODY_STATS:
        do_stats(self, call);
        break;
    case XTBRIDGE__REQUEST__BODY_REPLAY:
        if (do_replay(self, call)) {
            brg_call_destroy(&call);
            return;
        }
        break;
    case XTBRIDGE__REQUEST__BODY_RISK_KILL_SWITCH:
        /* admin only under CURVE: authorize() (needs_admin) refused anyone else already */
        if (!self->args.risk) {
            brg_call_fail(call, XTBRIDGE__ERROR_CODE__UNKNOWN_CALL,
                          "call 'risk_kill_switch' needs the risk module");
            break;
        }
        brg_risk_kill_switch(self->args.risk, call);
        break;
    default:
        if (!self->args.ops->serves(self->args.backend, body)) {
            brg_call_fail(call, XTBRIDGE__ERROR_CODE__UNKNOWN_CALL,
                          "call '%s' is not served by backend '%s'", brg_call_name(call),
                          self->args.ops->name);
            break;
        }
        bool state_changing = is_state_changing(body);
        if (state_changing) {
            /* only calls a backend still holds are in flight; on this single loop thread a
               call answered at once can never meet its own retry */
            if (zhash_size(self->in_flight)) {
                char *key = in_flight_key(call);
                bool busy = zhash_lookup(self->in_flight, key) != NULL;
                free(key);
                if (busy) {
                    brg_call_fail(call, XTBRIDGE__ERROR_CODE__DUPLICATE_IN_FLIGHT,
                                  "request_id '%s' is still being processed", req->request_id);
                    break;
                }
            }
            uint8_t *data = NULL;
            size_t size = 0;
            int found = brg_store_reply_get(self->args.store, brg_call_client(call),
                                            req->request_id, &data, &size);
            if (found == 1) {
                /* A retry: the original answer, nothing done again. */
                self->idempotent_hits++;
                send_owned(self, &route->env, data, size);
                brg_call_destroy(&call);
                return;
            }
            if (found < 0) {
                /* Without the check we could place an order twice: refuse instead. */
                brg_call_fail(call, XTBRIDGE__ERROR_CODE__BACKEND_ERROR,
                              "idempotency store unavailable: %s",
                              brg_store_error(self->args.store));
                break;
            }
        }
        /* Pre-trade risk, after the idempotency lookup (a retry of an accepted order gets
           its answer, it is not a new order) and before the backend. A rejection is not
           remembered as the request's answer: a retry of that request_id is evaluated
           afresh (the limit may have been raised, the window may have passed). */
        if (self->args.risk && brg_risk_check_call(self->args.risk, call) < 0)
            break;
        route->state_changing = state_changing;
        brg_call_set_done(call, finish_call, self);
        brg_call_allow_packed(call); /* finish_call packs and sends the reply */
        if (self->args.ops->handle(self->args.backend, call) == BRG_CALL_PENDING) {
            if (state_changing) {
                route->idem_key = in_flight_key(call);
                zhash_insert(self->in_flight, route->idem_key, call);
            }
            return; /* the backend completes it later */
        }
        break;
    }
    finish_call(call, self);
}

/* One received request, already split: the envelope, whether every frame between the
   routing id and the last was an empty delimiter, the frame count after the routing id,
   and the last frame. */
static void handle_request(brg_router_t *self, const envelope_t *env, bool delimiters_ok,
                           size_t frames, const uint8_t *payload, size_t size,
                           const char *curve_key) {
    char text[256];
    char client[1400]; /* curve key or routing id, then up to 256 bytes of hops, in hex */
    if (!self->args.auth)
        curve_key = NULL;
    brg_call_t *call = NULL;
    if (!delimiters_ok) {
        snprintf(text, sizeof text,
                 self->args.behind_proxy
                     ? "expected hop ids and delimiters (each at most 255 bytes, 256 in all) "
                       "then one request frame, got %zu frames"
                     : "expected one request frame (after optional empty delimiters), got %zu "
                       "frames (hop ids of a proxy need --behind-proxy)",
                 frames);
    } else if (size == 0) {
        snprintf(text, sizeof text, "empty request frame");
    } else if (!(call = brg_call_decode(payload, size,
                                        client_key(self, env, curve_key, client, sizeof client)))) {
        snprintf(text, sizeof text, "request of %zu bytes does not decode as xtbridge.Request",
                 size);
    }
    if (!call) {
        self->malformed++;
        send_error(self, env, "", XTBRIDGE__ERROR_CODE__MALFORMED, text);
        return;
    }
    const Xtbridge__Request *req = brg_call_request(call);
    route_t *route = (route_t *)zmalloc(sizeof(route_t));
    route->env = *env;
    route->curve_key = curve_key ? strdup(curve_key) : NULL;
    brg_call_set_user(call, route, route_free);
    brg_debug("request %s '%s' from %s", brg_call_name(call), request_id_of(call),
              brg_call_client(call));

    if (!req->request_id || !*req->request_id) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "request_id is required (unique per client)");
        finish_call(call, self);
        return;
    }
    char invalid[512];
    if (brg_validate_request(req, invalid, sizeof invalid) < 0) {
        /* refused before anything is journaled or reaches the backend; a request_id that
           fails is not echoed, as the client could not decode a reply carrying it */
        if (brg_validate_request_id(req->request_id, NULL, 0) < 0)
            brg_call_reply(call)->request_id = brg_call_strdup(call, "");
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "%s", invalid);
        finish_call(call, self);
        return;
    }
    if (req->body_case == XTBRIDGE__REQUEST__BODY__NOT_SET) {
        if (req->base.n_unknown_fields)
            brg_call_fail(call, XTBRIDGE__ERROR_CODE__UNKNOWN_CALL,
                          "unknown call (field number %u): this bridge speaks protocol %d",
                          req->base.unknown_fields[0].tag, XTB_PROTOCOL_VERSION);
        else
            brg_call_fail(call, XTBRIDGE__ERROR_CODE__UNKNOWN_CALL, "request has no call body");
        finish_call(call, self);
        return;
    }
    if (!authorize(self, call, curve_key)) {
        finish_call(call, self);
        return;
    }
    dispatch(self, call);
}

static void envelope_set_id(envelope_t *env, const void *id, size_t size) {
    env->id_size = (uint8_t)(size > sizeof env->id ? sizeof env->id : size);
    memcpy(env->id, id, env->id_size);
    env->hops = 0;
    env->path_size = 0;
}

/* One frame between the routing id and the request. An empty delimiter is always fine;
   a non-empty frame is a hop's routing id, accepted only behind a proxy (a direct client
   that sends it has sent the wrong frames). false: the request gets an error reply. */
static bool envelope_add_hop(brg_router_t *self, envelope_t *env, const void *frame, size_t size) {
    if (size && !self->args.behind_proxy)
        return false;
    if (size > 255 || env->hops == 255 || env->path_size + 1u + size > PATH_BYTES)
        return false;
    env->path[env->path_size] = (uint8_t)size;
    memcpy(env->path + env->path_size + 1, frame, size);
    env->path_size = (uint16_t)(env->path_size + 1u + size);
    env->hops++;
    return true;
}

void brg_router_handle(brg_router_t *self, zmsg_t **msg_p) {
    zmsg_t *msg = *msg_p;
    *msg_p = NULL;
    self->requests++;
    zframe_t *identity = zmsg_pop(msg);
    if (!identity || zmsg_size(msg) == 0) {
        self->dropped++; /* nothing to answer or no one to answer */
        zframe_destroy(&identity);
        zmsg_destroy(&msg);
        return;
    }
    envelope_t env;
    envelope_set_id(&env, zframe_data(identity), zframe_size(identity));
    zframe_destroy(&identity);
    size_t frames = zmsg_size(msg);
    bool delimiters_ok = true;
    while (zmsg_size(msg) > 1) {
        zframe_t *frame = zmsg_pop(msg);
        if (delimiters_ok)
            delimiters_ok = envelope_add_hop(self, &env, zframe_data(frame), zframe_size(frame));
        zframe_destroy(&frame);
    }
    zframe_t *payload = zmsg_pop(msg);
    zmsg_destroy(&msg);
    /* czmq gives frames' metadata by name: the key the connection authenticated */
    handle_request(self, &env, delimiters_ok, frames, zframe_data(payload), zframe_size(payload),
                   zframe_meta(payload, "User-Id"));
    zframe_destroy(&payload);
}

/* Read one whole message off the ROUTER without czmq objects. Returns false when none is
   queued. */
static bool receive_one(brg_router_t *self) {
    void *handle = zsock_resolve(self->sock);
    zmq_msg_t part;
    zmq_msg_init(&part);
    if (zmq_msg_recv(&part, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&part);
        return false;
    }
    self->requests++;
    envelope_t env;
    envelope_set_id(&env, zmq_msg_data(&part), zmq_msg_size(&part));
    /* The CURVE key the connection authenticated (ZAP User-Id): the only identity we
       trust. libzmq puts it on the frames that came off the wire (the routing-id frame
       has it only for some peers), so it is read from the request frame below. */
    char curve_key[64] = "";
    bool more = zmq_msg_more(&part);
    size_t frames = 0;
    bool delimiters_ok = true;
    while (more) {
        zmq_msg_close(&part);
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, handle, ZMQ_DONTWAIT) < 0)
            break; /* cannot happen: libzmq delivers messages whole */
        frames++;
        more = zmq_msg_more(&part);
        if (!more)
            break;
        if (delimiters_ok)
            delimiters_ok = envelope_add_hop(self, &env, zmq_msg_data(&part), zmq_msg_size(&part));
    }
    const char *user_id = self->args.auth && frames ? zmq_msg_gets(&part, "User-Id") : NULL;
    if (user_id)
        snprintf(curve_key, sizeof curve_key, "%s", user_id);
    if (frames == 0)
        self->dropped++; /* a routing id alone: nothing to answer */
    else
        handle_request(self, &env, delimiters_ok, frames, (const uint8_t *)zmq_msg_data(&part),
                       zmq_msg_size(&part), *curve_key ? curve_key : NULL);
    zmq_msg_close(&part);
    return true;
}

/* The batch could not be made durable: nothing of it may look done. The backend returns
   to its last committed state (or, if it cannot, the bridge says it is degraded), and every
   reply of the batch becomes BACKEND_ERROR naming the cause: any of them may speak of
   state the failed commit took back (a query after an order, a price move whose book
   change was only written at persist time). */
static void batch_failed(brg_router_t *self, int handled) {
    brg_store_t *store = self->args.store;
    char cause[512];
    snprintf(cause, sizeof cause, "%s", brg_store_error(store));
    brg_error("batch of %d requests rolled back: %s", handled, cause);
    bool undone = self->args.ops->restore && self->args.ops->restore(self->args.backend) == 0;
    if (!undone && !self->degraded) {
        self->degraded = true;
        snprintf(self->degraded_reason, sizeof self->degraded_reason,
                 "backend '%s' acted on a batch that could not be stored: %s", self->args.ops->name,
                 cause);
        brg_error("degraded: %s", self->degraded_reason);
    }
    for (size_t i = 0; i < self->nheld; i++) {
        held_t *held = &self->held[i];
        /* the request id is in the reply we were going to send */
        Xtbridge__Reply *orig = xtbridge__reply__unpack(NULL, held->size, held->data);
        Xtbridge__Reply reply = XTBRIDGE__REPLY__INIT;
        Xtbridge__Error error = XTBRIDGE__ERROR__INIT;
        char text[640];
        snprintf(text, sizeof text,
                 undone ? "store commit failed: %s; nothing of this request was kept"
                        : "store commit failed: %s; the backend acted but its state is not durable",
                 cause);
        error.code = XTBRIDGE__ERROR_CODE__BACKEND_ERROR;
        error.message = text;
        reply.error = &error;
        reply.request_id = orig && orig->request_id ? orig->request_id : (char *)"";
        size_t size;
        uint8_t *data = pack_reply(&reply, &size);
        if (orig)
            xtbridge__reply__free_unpacked(orig, NULL);
        free(held->data);
        held->data = data;
        held->size = size;
    }
}

/* Replies first, then pushes. Both come after the commit, so a client that sees its
   reply can replay its pushes whichever arrives first (they travel on other connections
   anyway). Sending the replies first takes the pushes' sends off the reply's path, and
   libzmq's I/O thread writes the replies while this thread sends the pushes. Events of
   a failed batch are dropped: their seqs were never taken. */
static void send_held(brg_router_t *self, bool committed) {
    for (size_t i = 0; i < self->nheld; i++)
        send_now(self, &self->held[i].env, self->held[i].data, self->held[i].size);
    self->nheld = 0;
    brg_publisher_flush(self->args.publisher, committed);
}

/* The backend's book changes join the batch's journal and idempotency rows. */
static bool persist_and_commit(brg_router_t *self) {
    brg_store_t *store = self->args.store;
    if (self->args.ops->persist && self->args.ops->persist(self->args.backend))
        brg_store_fail_batch(store, "backend could not write its state");
    return brg_store_commit(store) == 0;
}

/* Requests in a drain batch from which its B-tree work goes to the store's applier. */
#define BRG_ROUTER_HANDOFF_BATCH 32

/* Up to max queued requests as one batch: one commit, then their replies and pushes. */
static int drain_batch(brg_router_t *self, int max) {
    brg_store_begin(self->args.store);
    self->draining = true;
    int handled = 0;
    /* once the batch has failed, the requests still queued wait for the next one (which
       may commit: the store may have grown) instead of failing with it */
    while (handled < max && !brg_store_batch_failed(self->args.store) && receive_one(self))
        handled++;
    self->draining = false;
    if (handled == 0) {
        /* nothing was handled, so nothing changed: just close the empty batch */
        brg_store_commit(self->args.store);
        return 0;
    }
    bool committed = persist_and_commit(self);
    if (!committed)
        batch_failed(self, handled);
    send_held(self, committed);
    /* A pipelining client's batch (more requests than a few dozen clients waiting for
       their replies put in one) hands the B-tree work of this batch and the ones before
       to the store's applier thread, off the loop. Smaller batches leave it to the
       checkpoint timer, on the loop: on a machine whose CPUs the clients keep busy, the
       applier's run delays the wake-up of a client waiting for its reply (sync p50 ~5%
       worse with a hand-over per request; 16 clients 1.3x -> 1.5x with one per batch of
       several). A failure there is the store's to recover from (the log keeps the
       batches). */
    if (handled >= BRG_ROUTER_HANDOFF_BATCH)
        brg_store_handoff(self->args.store);
    return handled;
}

int brg_router_drain(brg_router_t *self, int max) {
    /* A client that waits for each reply (the last drain found one request) gets it
       before the ROUTER is asked for more: its request is a batch of its own. Finding the
       queue empty costs libzmq a getpid and a poll syscall (~1.5 us here), which would
       otherwise delay every such reply. Under pipelined load drains find many requests
       and the batches stay as large; the first after a quiet spell commits alone. */
    int handled = self->last_drained == 1 && max > 1 ? drain_batch(self, 1) : 0;
    if (handled < max)
        handled += drain_batch(self, max - handled);
    self->last_drained = handled;
    brg_colocate_drained(self->args.colocate, handled);
    return handled;
}

int brg_router_checkpoint(brg_router_t *self) {
    brg_store_t *store = self->args.store;
    if (!self->draining || brg_publisher_held(self->args.publisher) < BRG_CHECKPOINT_EVENTS)
        return 0;
    if (persist_and_commit(self)) {
        send_held(self, true);
        brg_store_begin(store);
        return 0;
    }
    /* The part since the last commit is lost. The backend is in the middle of a call, so
       it is restored when the drain ends, and the rest of this batch fails with it. */
    char cause[512];
    snprintf(cause, sizeof cause, "%s", brg_store_error(store));
    brg_publisher_flush(self->args.publisher, false);
    brg_store_begin(store);
    brg_store_fail_batch(store, cause);
    return -1;
}

int brg_router_checkpoint_fn(void *arg) {
    brg_router_t *self = *(brg_router_t **)arg;
    return self ? brg_router_checkpoint(self) : 0;
}

bool brg_router_degraded(brg_router_t *self) {
    return self->degraded;
}

static int on_readable(zloop_t *loop, zsock_t *reader, void *arg) {
    (void)loop;
    (void)reader;
    /* One group commit for what is queued, but yield to the loop now and then so timers
       run. */
    int64_t start = brg_stall_now_us();
    brg_router_drain((brg_router_t *)arg, 256);
    brg_stall_note(start);
    return 0;
}

brg_router_t *brg_router_new(zloop_t *loop, const brg_router_args_t *args, char *err,
                             size_t errlen) {
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    if (!sock) {
        snprintf(err, errlen, "cannot create ROUTER socket");
        return NULL;
    }
    /* Oversize frames are dropped by libzmq before we see them. */
    zsock_set_maxmsgsize(sock, (int)args->max_msg_size);
    zsock_set_router_mandatory(sock, 1);
    /* A client that reconnects with its routing id takes over its old pipe. */
    zsock_set_router_handover(sock, 1);
    zsock_set_sndhwm(sock, 100000);
    zsock_set_rcvhwm(sock, 100000);
    zsock_set_linger(sock, 200);
    if (args->auth) {
        /* zauth admits only the allowed client certs' keys; a refused peer never gets a
           frame through. */
        zcert_apply(args->cert, sock);
        zsock_set_curve_server(sock, 1);
        zsock_set_zap_domain(sock, "xtbridge");
        /* With keys, a routing id must not be taken over by another connection: an allowed
           key that learnt a neighbour's routing id would receive its replies. A client's
           own reconnect waits until its old connection is gone, which ZMTP heartbeats
           notice within seconds. */
        zsock_set_router_handover(sock, 0);
        zsock_set_heartbeat_ivl(sock, 1000);
        zsock_set_heartbeat_timeout(sock, 3000);
    }
    if (zsock_attach(sock, args->endpoints, true)) {
        snprintf(err, errlen, "cannot bind/connect ROUTER to '%s': %s", args->endpoints,
                 zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
        return NULL;
    }
    brg_router_t *self = (brg_router_t *)zmalloc(sizeof(brg_router_t));
    self->loop = loop;
    self->sock = sock;
    self->args = *args;
    self->in_flight = zhash_new();
    self->started_ms = zclock_mono();
    if (loop && zloop_reader(loop, sock, on_readable, self)) {
        snprintf(err, errlen, "cannot register ROUTER on the loop");
        brg_router_destroy(&self);
        return NULL;
    }
    if (loop)
        zloop_reader_set_tolerant(loop, sock);
    return self;
}

void brg_router_destroy(brg_router_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_router_t *self = *self_p;
    if (self->loop)
        zloop_reader_end(self->loop, self->sock);
    /* Pending calls belong to the backend until it completes them; the backend is
       destroyed after us and must drop them. The hash holds borrowed pointers only. */
    zhash_destroy(&self->in_flight);
    for (size_t i = 0; i < self->nheld; i++)
        free(self->held[i].data);
    free(self->held);
    zsock_destroy(&self->sock);
    free(self);
    *self_p = NULL;
}

zsock_t *brg_router_socket(brg_router_t *self) {
    return self->sock;
}

uint64_t brg_router_requests(brg_router_t *self) {
    return self->requests;
}

uint64_t brg_router_malformed(brg_router_t *self) {
    return self->malformed;
}
