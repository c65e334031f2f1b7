/*  brg_xtquant.c - the `xtquant` session backend: a live MiniQMT terminal through its
    Python module xtquant.xttrader, embedded with CPython (brg_xtquant_actor.c owns the
    interpreter on its own thread).

    This side runs on the bridge loop: handle() sends the packed request to the actor and
    returns BRG_CALL_PENDING; the actor's REPLY is read by a zloop reader that fills the
    call's reply and completes it. Each call has a one-shot timer: past call_timeout_ms it is
    answered TIMEOUT and the late result, when it comes, is logged and dropped. Pushes come
    over an inproc PULL socket in the order xtquant made them and go to env->emit (outside a
    router batch the publisher journals and publishes each at once).

    Session health: an on_disconnected push (or a failed connect at start) marks the session
    down: `disconnected.` is published, every call is answered NOT_CONNECTED, and the actor
    reconnects with backoff on a new session id; its `connected` push brings it back.

    Account status: the last status of each account, from account_status pushes (the actor
    publishes query_account_status after every connect; on_account_status brings changes) and
    from query_account_status replies. An order for an account whose status is known and not
    0 (OK) is refused here as a broker would, without reaching the terminal: an OK reply with
    xtquant's failure value (-1) and an order_error push (order_id -1, error_id -61, "account
    status 6 (CLOSED) is not OK: no orders"), the sim's text.

    Config section `xtquant`: qmt_path, session_id, python_home (the terminal's bundled
    Python, as PYTHONHOME; default: the interpreter's own), accounts (comma-separated; default: what
    query_account_infos lists), call_timeout_ms (default 5000), reconnect_ms (first backoff,
    default 1000). The backend keeps no book (persist NULL) and cannot undo a failed commit
    (restore returns -1: the bridge marks itself degraded).
*/
#include "brg_xtquant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brg_log.h"
#include "brg_xtquant_actor.h"

typedef struct {
    brg_call_t *call; /* NULL once answered TIMEOUT */
    int timer;
    uint64_t id;
    struct xtquant *backend;
} pending_t;

typedef struct xtquant {
    zloop_t *loop;
    brg_emit_fn *emit;
    void *emit_arg;
    void (*group_begin)(void *arg); /* one commit for a run of pushes (may be NULL) */
    int (*group_end)(void *arg);
    void *group_arg;
    brg_xtquant_actor_args_t args;
    zactor_t *actor;
    zsock_t *pull;
    zhashx_t *pending; /* id -> pending_t */
    uint64_t next_id;
    int call_timeout_ms;
    bool connected;
    char accounts[1024];
    long session_id;
    uint64_t late_replies;
    zhashx_t *statuses; /* account id -> int32_t status, as last pushed or queried */
} xtquant_t;

static const char *setting(zconfig_t *config, const char *key, const char *fallback) {
    char path[64];
    snprintf(path, sizeof path, "xtquant/%s", key);
    return config ? zconfig_get(config, path, fallback) : fallback;
}

static int parse_long(const char *text, long min, long max, long *out) {
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (!end || *end || end == text || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static void pending_free(void **item) {
    free(*item);
    *item = NULL;
}

static void xtq_destroy(void **self_p) {
    xtquant_t *self = (xtquant_t *)*self_p;
    if (!self)
        return;
    if (self->pull)
        zloop_reader_end(self->loop, self->pull);
    if (self->actor) {
        zloop_reader_end(self->loop, (zsock_t *)zactor_sock(self->actor));
        zactor_destroy(&self->actor);
        brg_info("xtquant: stopped; Xt* attributes left unset: %lu missing, %lu ill-typed; "
                 "%llu late replies dropped",
                 brg_xtquant_actor_missing_attributes(), brg_xtquant_actor_ill_typed_attributes(),
                 (unsigned long long)self->late_replies);
    }
    /* calls still pending belong to a router that is gone by now */
    for (pending_t *p = (pending_t *)zhashx_first(self->pending); p;
         p = (pending_t *)zhashx_next(self->pending)) {
        zloop_timer_end(self->loop, p->timer);
        brg_call_destroy(&p->call);
    }
    zhashx_destroy(&self->pending);
    zhashx_destroy(&self->statuses);
    zsock_destroy(&self->pull);
    free(self->args.qmt_path);
    free(self->args.accounts);
    free(self->args.push_endpoint);
    free(self->args.python_home);
    free(self);
    *self_p = NULL;
}

/* --- account status ------------------------------------------------------------------ */

static void status_free(void **item) {
    free(*item);
    *item = NULL;
}

static void status_set(xtquant_t *self, const Xtbridge__XtAccountStatus *s) {
    if (!s || !s->account_id || !*s->account_id)
        return;
    int32_t *v = (int32_t *)zmalloc(sizeof *v);
    *v = s->status;
    zhashx_update(self->statuses, s->account_id, v);
}

/* xtconstant's account status names (the sim's brg_sim_stock.c uses the same table) */
static const char *status_name(int32_t status) {
    static const char *names[] = {"INVALID",    "OK",           "WAITING_LOGIN", "LOGINING",
                                  "FAIL",       "INITING",      "CORRECTING",    "CLOSED",
                                  "ASSIS_FAIL", "DISABLEBYSYS", "DISABLEBYUSER"};
    return status >= -1 && status <= 9 ? names[status + 1] : "unknown";
}

/*  An order for an account whose known status is not OK: answered here, as the broker would
    (xtquant's -1, an order_error push), and never sent. Returns true when it refused. */
static bool refuse_by_status(xtquant_t *self, brg_call_t *call, const Xtbridge__Request *req) {
    bool async = req->body_case == XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC;
    const Xtbridge__OrderStockRequest *o = req->body_case == XTBRIDGE__REQUEST__BODY_ORDER_STOCK
                                               ? req->order_stock
                                           : async ? req->order_stock_async
                                                   : NULL;
    if (!o || !o->account || !o->account->account_id)
        return false;
    const int32_t *status = (const int32_t *)zhashx_lookup(self->statuses, o->account->account_id);
    if (!status || *status == 0)
        return false;
    char text[96];
    snprintf(text, sizeof text, "account status %d (%s) is not OK: no orders", *status,
             status_name(*status));
    Xtbridge__XtOrderError msg = XTBRIDGE__XT_ORDER_ERROR__INIT;
    msg.account_type = o->account->account_type ? o->account->account_type : 2;
    msg.account_id = o->account->account_id;
    msg.order_id = -1;
    msg.error_id = -61;
    msg.error_msg = text;
    msg.strategy_name = o->strategy_name;
    msg.order_remark = o->order_remark;
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_ORDER_ERROR;
    event.order_error = &msg;
    self->emit(self->emit_arg, "order_error", o->account->account_id, &event);
    Xtbridge__Reply *reply = brg_call_reply(call);
    if (async) {
        Xtbridge__OrderStockAsyncReply *r =
            (Xtbridge__OrderStockAsyncReply *)brg_call_alloc(call, sizeof *r);
        xtbridge__order_stock_async_reply__init(r);
        r->seq = -1; /* no terminal seq: the call was not sent */
        reply->result_case = XTBRIDGE__REPLY__RESULT_ORDER_STOCK_ASYNC;
        reply->order_stock_async = r;
    } else {
        Xtbridge__OrderStockReply *r = (Xtbridge__OrderStockReply *)brg_call_alloc(call, sizeof *r);
        xtbridge__order_stock_reply__init(r);
        r->order_id = -1;
        reply->result_case = XTBRIDGE__REPLY__RESULT_ORDER_STOCK;
        reply->order_stock = r;
    }
    brg_info("xtquant: %s for %s refused: %s", brg_call_name(call), o->account->account_id, text);
    return true;
}

/* --- replies ------------------------------------------------------------------------- */

static void finish(xtquant_t *self, pending_t *p) {
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)p->id);
    zhashx_delete(self->pending, key);
}

static int on_timeout(zloop_t *loop, int timer, void *arg) {
    (void)loop;
    (void)timer;
    pending_t *p = (pending_t *)arg;
    if (p->call) {
        brg_call_fail(p->call, XTBRIDGE__ERROR_CODE__TIMEOUT,
                      "xtquant %s did not answer within %d ms", brg_call_name(p->call),
                      p->backend->call_timeout_ms);
        brg_call_t *call = p->call;
        p->call = NULL; /* kept until the late reply, which is dropped */
        brg_call_complete(call);
    }
    return 0;
}

static void on_reply(xtquant_t *self, const char *id, zframe_t *body) {
    pending_t *p = (pending_t *)zhashx_lookup(self->pending, id);
    if (!p) {
        brg_warn("xtquant: reply for unknown call %s dropped", id);
        return;
    }
    if (!p->call) {
        self->late_replies++;
        brg_warn("xtquant: late reply for call %s (answered TIMEOUT) dropped", id);
        finish(self, p);
        return;
    }
    zloop_timer_end(self->loop, p->timer);
    brg_call_t *call = p->call;
    Xtbridge__Reply *r =
        body ? xtbridge__reply__unpack(NULL, zframe_size(body), zframe_data(body)) : NULL;
    if (!r)
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__BACKEND_ERROR, "xtquant reply did not decode");
    else if (r->error && r->error->code != XTBRIDGE__ERROR_CODE__OK)
        brg_call_fail(call, r->error->code, "%s", r->error->message);
    else {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
            &xtbridge__reply__descriptor, (unsigned)r->result_case);
        Xtbridge__Reply *out = brg_call_reply(call);
        if (!f)
            brg_call_fail(call, XTBRIDGE__ERROR_CODE__BACKEND_ERROR, "xtquant reply has no result");
        else {
            if (r->result_case == XTBRIDGE__REPLY__RESULT_QUERY_ACCOUNT_STATUS &&
                r->query_account_status)
                for (size_t i = 0; i < r->query_account_status->n_statuses; i++)
                    status_set(self, r->query_account_status->statuses[i]);
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)((char *)r + f->offset);
            *(ProtobufCMessage **)((char *)out + f->offset) = brg_call_copy_message(call, sub);
            out->result_case = r->result_case;
        }
    }
    if (r)
        xtbridge__reply__free_unpacked(r, NULL);
    finish(self, p);
    brg_call_complete(call);
}

static int on_pipe(zloop_t *loop, zsock_t *pipe, void *arg) {
    (void)loop;
    xtquant_t *self = (xtquant_t *)arg;
    zmsg_t *msg = zmsg_recv(pipe);
    char *cmd = msg ? zmsg_popstr(msg) : NULL;
    if (cmd && streq(cmd, "REPLY")) {
        char *id = zmsg_popstr(msg);
        zframe_t *body = zmsg_pop(msg);
        on_reply(self, id ? id : "", body);
        zframe_destroy(&body);
        free(id);
    }
    free(cmd);
    zmsg_destroy(&msg);
    return 0;
}

/* --- pushes -------------------------------------------------------------------------- */

/* One push from the terminal's callback thread, in arrival order. */
static void push_one(xtquant_t *self, zmsg_t *msg) {
    char *kind = msg ? zmsg_popstr(msg) : NULL;
    char *account = msg ? zmsg_popstr(msg) : NULL;
    zframe_t *body = msg ? zmsg_pop(msg) : NULL;
    Xtbridge__Event *event =
        body ? xtbridge__event__unpack(NULL, zframe_size(body), zframe_data(body)) : NULL;
    if (!kind || !account || !event)
        brg_error("xtquant: undecodable push dropped");
    else if (streq(kind, "connected")) {
        self->connected = true;
        snprintf(self->accounts, sizeof self->accounts, "%s", account);
        brg_info("xtquant: session back (accounts %s)", account);
        self->emit(self->emit_arg, "connected", NULL, event);
    } else if (streq(kind, "disconnected")) {
        if (self->connected) {
            self->connected = false;
            brg_warn("xtquant: %s: reconnecting", event->disconnected->reason);
            self->emit(self->emit_arg, "disconnected", NULL, event);
            zstr_send(zactor_sock(self->actor), "RECONNECT");
        }
    } else {
        if (event->body_case == XTBRIDGE__EVENT__BODY_ACCOUNT_STATUS)
            status_set(self, event->account_status);
        self->emit(self->emit_arg, kind, account, event);
    }
    if (event)
        xtbridge__event__free_unpacked(event, NULL);
    zframe_destroy(&body);
    free(kind);
    free(account);
    zmsg_destroy(&msg);
}

/* The pushes queued now are one store commit (a burst of fills from the terminal costs one
   commit, not one per push), published in arrival order when it commits. */
#define PUSH_GROUP_MAX 1024

static int on_push(zloop_t *loop, zsock_t *pull, void *arg) {
    (void)loop;
    xtquant_t *self = (xtquant_t *)arg;
    if (self->group_begin)
        self->group_begin(self->group_arg);
    zmsg_t *msg = zmsg_recv(pull);
    for (int n = 0; msg && n < PUSH_GROUP_MAX; n++) {
        push_one(self, msg);
        msg = n + 1 < PUSH_GROUP_MAX ? zmsg_recv_nowait(pull) : NULL;
    }
    if (self->group_end)
        self->group_end(self->group_arg);
    return 0;
}

/* --- ops ----------------------------------------------------------------------------- */

static void strs_free(char *a, char *b, char *c, char *d, char *e) {
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
}

static void *xtq_create(const brg_backend_env_t *env, char *err, size_t errlen) {
    zconfig_t *config = env ? env->config : NULL;
    long session = 0, timeout = 0, reconnect = 0;
    const char *text = setting(config, "session_id", "1");
    if (parse_long(text, 1, 2147483647L, &session)) {
        snprintf(err, errlen, "xtquant: bad session_id '%s' (1..2147483647)", text);
        return NULL;
    }
    text = setting(config, "call_timeout_ms", "5000");
    if (parse_long(text, 10, 3600000, &timeout)) {
        snprintf(err, errlen, "xtquant: bad call_timeout_ms '%s' (10..3600000)", text);
        return NULL;
    }
    text = setting(config, "reconnect_ms", "1000");
    if (parse_long(text, 10, 600000, &reconnect)) {
        snprintf(err, errlen, "xtquant: bad reconnect_ms '%s' (10..600000)", text);
        return NULL;
    }
    if (!env || !env->loop || !env->emit) {
        snprintf(err, errlen, "xtquant: needs the bridge loop and publisher");
        return NULL;
    }
    xtquant_t *self = (xtquant_t *)zmalloc(sizeof *self);
    self->loop = env->loop;
    self->emit = env->emit;
    self->group_begin = env->group_begin;
    self->group_end = env->group_end;
    self->group_arg = env->group_arg;
    self->emit_arg = env->emit_arg;
    self->call_timeout_ms = (int)timeout;
    self->args.qmt_path = strdup(setting(config, "qmt_path", ""));
    self->args.session_id = session;
    const char *accounts = setting(config, "accounts", "");
    self->args.accounts = *accounts ? strdup(accounts) : NULL;
    self->args.reconnect_ms = (int)reconnect;
    const char *home = setting(config, "python_home", "");
    self->args.python_home = *home ? strdup(home) : NULL;
    self->pending = zhashx_new();
    zhashx_set_destructor(self->pending, pending_free);
    self->statuses = zhashx_new();
    zhashx_set_destructor(self->statuses, status_free);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://xtquant-push-%p", (void *)self);
    self->args.push_endpoint = strdup(endpoint);
    self->pull = zsock_new_pull(endpoint);
    if (!self->pull) {
        snprintf(err, errlen, "xtquant: cannot bind %s", endpoint);
        xtq_destroy((void **)&self);
        return NULL;
    }
    zsock_set_rcvhwm(self->pull, 0);
    self->actor = zactor_new(brg_xtquant_actor, &self->args);
    char *ready = NULL, *status = NULL, *a = NULL, *b = NULL, *c = NULL;
    zstr_recvx(zactor_sock(self->actor), &ready, &status, &a, &b, &c, NULL);
    if (!status || !streq(status, "ok")) {
        snprintf(err, errlen, "xtquant: %s", a ? a : "the Python thread did not start");
        strs_free(ready, status, a, b, c);
        xtq_destroy((void **)&self);
        return NULL;
    }
    self->connected = a && streq(a, "1");
    snprintf(self->accounts, sizeof self->accounts, "%s", b ? b : "");
    self->session_id = c ? atol(c) : session;
    strs_free(ready, status, a, b, c);
    zloop_reader(self->loop, (zsock_t *)zactor_sock(self->actor), on_pipe, self);
    zloop_reader(self->loop, self->pull, on_push, self);
    brg_info("xtquant: session %ld %s, accounts '%s', call timeout %d ms", self->session_id,
             self->connected ? "connected" : "down (reconnecting)", self->accounts,
             self->call_timeout_ms);
    return self;
}

static void xtq_start(void *handle) {
    xtquant_t *self = (xtquant_t *)handle;
    if (!self->connected) {
        /* the first connect() failed: say so; the actor is already reconnecting */
        Xtbridge__Disconnected down = XTBRIDGE__DISCONNECTED__INIT;
        down.reason = "xtquant connect() failed at start";
        Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
        event.body_case = XTBRIDGE__EVENT__BODY_DISCONNECTED;
        event.disconnected = &down;
        self->emit(self->emit_arg, "disconnected", NULL, &event);
    }
}

static bool xtq_serves(void *handle, Xtbridge__Request__BodyCase body) {
    (void)handle;
    switch (body) {
    case XTBRIDGE__REQUEST__BODY_ORDER_STOCK:
    case XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_ASYNC:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID_ASYNC:
    case XTBRIDGE__REQUEST__BODY_SUBSCRIBE:
    case XTBRIDGE__REQUEST__BODY_UNSUBSCRIBE:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDER:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDERS:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITION:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITIONS:
    case XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_INFOS:
    case XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_STATUS:
        return true;
    default:
        return false;
    }
}

static int xtq_handle(void *handle, brg_call_t *call) {
    xtquant_t *self = (xtquant_t *)handle;
    const Xtbridge__Request *req = brg_call_request(call);
    if (!req) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__MALFORMED, "no request");
        return BRG_CALL_DONE;
    }
    if (!self->connected) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__NOT_CONNECTED,
                      "xtquant session is down (reconnecting); %s was not sent",
                      brg_call_name(call));
        return BRG_CALL_DONE;
    }
    if (refuse_by_status(self, call, req))
        return BRG_CALL_DONE;
    size_t size = xtbridge__request__get_packed_size(req);
    zframe_t *body = zframe_new(NULL, size);
    xtbridge__request__pack(req, zframe_data(body));
    pending_t *p = (pending_t *)zmalloc(sizeof *p);
    p->call = call;
    p->id = ++self->next_id;
    p->backend = self;
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)p->id);
    zhashx_insert(self->pending, key, p);
    p->timer = zloop_timer(self->loop, (size_t)self->call_timeout_ms, 1, on_timeout, p);
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, "CALL");
    zmsg_addstr(msg, key);
    zmsg_append(msg, &body);
    zmsg_send(&msg, zactor_sock(self->actor));
    return BRG_CALL_PENDING;
}

static void xtq_describe(void *handle, brg_call_t *call, Xtbridge__HelloReply *hello) {
    xtquant_t *self = (xtquant_t *)handle;
    hello->backend_connected = self->connected;
    char list[sizeof self->accounts];
    memcpy(list, self->accounts, sizeof list);
    size_t n = 1;
    for (const char *s = list; *s; s++)
        n += *s == ',';
    hello->accounts = (Xtbridge__Account **)brg_call_alloc(call, (n + 1) * sizeof(void *));
    hello->n_accounts = 0;
    for (char *save = NULL, *id = strtok_r(list, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        Xtbridge__Account *a = (Xtbridge__Account *)brg_call_alloc(call, sizeof *a);
        xtbridge__account__init(a);
        a->account_id = brg_call_strdup(call, id);
        a->account_type = 2;
        hello->accounts[hello->n_accounts++] = a;
    }
}

static int xtq_restore(void *handle) {
    (void)handle;
    return -1; /* orders sent to a terminal cannot be taken back */
}

const brg_backend_ops_t brg_xtquant_ops = {
    .name = "xtquant",
    .create = xtq_create,
    .destroy = xtq_destroy,
    .start = xtq_start,
    .serves = xtq_serves,
    .handle = xtq_handle,
    .describe = xtq_describe,
    .persist = NULL,
    .restore = xtq_restore,
};
