/*  test_router.c - unit tests of brg_router: total decoding (every kind of garbage gets its
    documented reply and the router still answers ping), bridge calls (hello, ping, stats,
    replay), UNKNOWN_CALL for unserved calls, and idempotency (same request_id -> original
    reply, survives a restart, DUPLICATE_IN_FLIGHT while pending). A fake backend stands in
    for the sim so these tests depend on the router alone; a seeded random-frames test
    fuzzes the decoder.

    Each test drives the router without a loop: a DEALER sends, the test receives the
    message from the router's socket (ZMQ_RCVTIMEO bounded) and calls brg_router_handle().
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brg_backend.h"
#include "brg_publisher.h"
#include "brg_router.h"
#include "brg_store.h"
#include "testutil.h"

/* Each test runs in its own worker process: remove that process's data dirs (the store
   reserves its file, so leftovers would cost real disk). */
static void remove_dirs(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/xtbt-router-%d-*", xtbt_tmpdir(), getpid());
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove test dirs\n");
}
TestSuite(router, .fini = remove_dirs);

/* ---- fake backend: serves order_stock (and one pending account) and query_stock_asset */
typedef struct {
    int orders;
    brg_call_t *pending;
    brg_store_t *store;
    bool fail_persist; /* persist reports failure: the batch must not commit */
    bool cannot_undo;  /* restore fails: the bridge must say it is degraded */
    int restores;
    brg_publisher_t *publisher; /* for the "burst" account: many events in one call */
    brg_router_t *router;
    uint64_t commits_mid_call;
} fake_t;

/* An order on account "burst" makes 600 trade pushes in one call, offering a checkpoint
   after each one, as the sim does between fills. */
static void fake_burst(fake_t *self) {
    for (int i = 0; i < 600; i++) {
        Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
        Xtbridge__XtTrade trade = XTBRIDGE__XT_TRADE__INIT;
        trade.account_id = (char *)"burst";
        trade.traded_volume = i;
        event.body_case = XTBRIDGE__EVENT__BODY_TRADE;
        event.trade = &trade;
        brg_publisher_emit(self->publisher, "trade", "burst", &event);
        brg_router_checkpoint_fn(&self->router);
    }
    self->commits_mid_call = brg_store_commits(self->store);
}

/* An order on account "pushes" makes one trade push whose volume is the order id. */
static void fake_push(fake_t *self, int64_t order_id) {
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    Xtbridge__XtTrade trade = XTBRIDGE__XT_TRADE__INIT;
    trade.account_id = (char *)"pushes";
    trade.traded_volume = order_id;
    event.body_case = XTBRIDGE__EVENT__BODY_TRADE;
    event.trade = &trade;
    brg_publisher_emit(self->publisher, "trade", "pushes", &event);
}

/* The fake's book is its order counter, kept in the store like the sim's. */
static int fake_persist(void *handle) {
    fake_t *self = (fake_t *)handle;
    if (self->fail_persist)
        return -1;
    return self->store ? brg_store_state_put(self->store, "orders", 6, &self->orders, sizeof(int))
                       : 0;
}

static int fake_restore(void *handle) {
    fake_t *self = (fake_t *)handle;
    self->restores++;
    uint8_t *val = NULL;
    size_t len = 0;
    self->orders = 0;
    if (self->store && brg_store_state_get(self->store, "orders", 6, &val, &len) == 1 &&
        len == sizeof(int))
        memcpy(&self->orders, val, sizeof(int));
    free(val);
    return self->cannot_undo ? -1 : 0;
}

static bool fake_serves(void *self, Xtbridge__Request__BodyCase body) {
    (void)self;
    return body == XTBRIDGE__REQUEST__BODY_ORDER_STOCK ||
           body == XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET ||
           body == XTBRIDGE__REQUEST__BODY_SUBSCRIBE;
}

static int fake_handle(void *handle, brg_call_t *call) {
    fake_t *self = (fake_t *)handle;
    const Xtbridge__Request *req = brg_call_request(call);
    Xtbridge__Reply *reply = brg_call_reply(call);
    if (req->body_case == XTBRIDGE__REQUEST__BODY_ORDER_STOCK) {
        Xtbridge__OrderStockReply *r = (Xtbridge__OrderStockReply *)brg_call_alloc(call, sizeof *r);
        xtbridge__order_stock_reply__init(r);
        r->order_id = ++self->orders;
        if (req->order_stock->account &&
            strcmp(req->order_stock->account->account_id, "burst") == 0)
            fake_burst(self);
        if (req->order_stock->account &&
            strcmp(req->order_stock->account->account_id, "pushes") == 0)
            fake_push(self, r->order_id);
        reply->result_case = XTBRIDGE__REPLY__RESULT_ORDER_STOCK;
        reply->order_stock = r;
        if (req->order_stock->account &&
            strcmp(req->order_stock->account->account_id, "pending") == 0) {
            self->pending = call;
            return BRG_CALL_PENDING;
        }
        return BRG_CALL_DONE;
    }
    if (req->body_case == XTBRIDGE__REQUEST__BODY_SUBSCRIBE) {
        Xtbridge__SubscribeReply *r = (Xtbridge__SubscribeReply *)brg_call_alloc(call, sizeof *r);
        xtbridge__subscribe_reply__init(r);
        r->result = strcmp(req->subscribe->account->account_id, "42") == 0 ? -1 : 0;
        reply->result_case = XTBRIDGE__REPLY__RESULT_SUBSCRIBE;
        reply->subscribe = r;
        return BRG_CALL_DONE;
    }
    brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "fake: no asset");
    return BRG_CALL_DONE;
}

static void fake_describe(void *self, brg_call_t *call, Xtbridge__HelloReply *hello) {
    (void)self;
    hello->accounts = (Xtbridge__Account **)brg_call_alloc(call, sizeof(void *));
    Xtbridge__Account *account = (Xtbridge__Account *)brg_call_alloc(call, sizeof *account);
    xtbridge__account__init(account);
    account->account_id = brg_call_strdup(call, "1000000365");
    account->account_type = 2;
    hello->accounts[0] = account;
    hello->n_accounts = 1;
}

static const brg_backend_ops_t fake_ops = {
    "fake", NULL, NULL, NULL, fake_serves, fake_handle, fake_describe, fake_persist, fake_restore,
    NULL};

/* ---- fixture ------------------------------------------------------------------------ */
typedef struct {
    char dir[256];
    char router_ep[300];
    char pub_ep[300];
    brg_store_t *store;
    brg_publisher_t *publisher;
    brg_router_t *router;
    fake_t fake;
    bool behind_proxy; /* set before env_open */
    bool inproc;       /* set before env_open: the ROUTER on inproc://, where a DEALER's send
                          is in the ROUTER's queue when zmq_send returns */
} env_t;

static int s_counter;

static void env_open(env_t *env, const char *dir) {
    char err[256] = "";
    if (dir)
        snprintf(env->dir, sizeof env->dir, "%s", dir);
    else {
        snprintf(env->dir, sizeof env->dir, "%s/xtbt-router-%d-%d", xtbt_tmpdir(), getpid(),
                 ++s_counter);
        zsys_dir_create("%s", env->dir);
    }
    if (env->inproc)
        snprintf(env->router_ep, sizeof env->router_ep, "inproc://router-%d-%d", getpid(),
                 s_counter);
    else
        snprintf(env->router_ep, sizeof env->router_ep, "ipc://%s/router", env->dir);
    snprintf(env->pub_ep, sizeof env->pub_ep, "ipc://%s/pub", env->dir);
    env->store = brg_store_new(env->dir, NULL, err, sizeof err);
    cr_assert_not_null(env->store, "%s", err);
    env->publisher = brg_publisher_new(env->pub_ep, env->store, err, sizeof err);
    cr_assert_not_null(env->publisher, "%s", err);
    brg_router_args_t args = {env->router_ep, 1 << 20,    1000,           "test-instance",
                              &fake_ops,      &env->fake, env->publisher, env->store,
                              NULL,           NULL,       NULL,           env->behind_proxy,
                              NULL,           NULL};
    env->fake.store = env->store;
    env->fake.publisher = env->publisher;
    env->router = brg_router_new(NULL, &args, err, sizeof err);
    env->fake.router = env->router;
    cr_assert_not_null(env->router, "%s", err);
    zsock_set_rcvtimeo(brg_router_socket(env->router), 2000);
}

static void env_close(env_t *env) {
    brg_router_destroy(&env->router);
    brg_publisher_destroy(&env->publisher);
    brg_store_destroy(&env->store);
}

static zsock_t *dealer(env_t *env, const char *routing_id) {
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    if (routing_id)
        zsock_set_identity(sock, routing_id);
    zsock_set_rcvtimeo(sock, 2000);
    cr_assert_eq(zsock_connect(sock, "%s", env->router_ep), 0);
    return sock;
}

/* Let the router take exactly one message from its socket. */
static void pump(env_t *env) {
    zmsg_t *msg = zmsg_recv(brg_router_socket(env->router));
    cr_assert_not_null(msg, "router received nothing");
    brg_router_handle(env->router, &msg);
}

static void send_request(zsock_t *sock, Xtbridge__Request *req) {
    size_t size = xtbridge__request__get_packed_size(req);
    uint8_t *buf = (uint8_t *)malloc(size + 1);
    xtbridge__request__pack(req, buf);
    zframe_t *frame = zframe_new(buf, size);
    free(buf);
    cr_assert_eq(zframe_send(&frame, sock, 0), 0);
}

static Xtbridge__Reply *recv_reply(zsock_t *sock) {
    zframe_t *frame = zframe_recv(sock);
    cr_assert_not_null(frame, "no reply");
    Xtbridge__Reply *reply = xtbridge__reply__unpack(NULL, zframe_size(frame), zframe_data(frame));
    zframe_destroy(&frame);
    cr_assert_not_null(reply, "reply does not decode");
    cr_assert_not_null(reply->error);
    return reply;
}

static Xtbridge__Reply *call(env_t *env, zsock_t *sock, Xtbridge__Request *req) {
    send_request(sock, req);
    pump(env);
    return recv_reply(sock);
}

static Xtbridge__Reply *ping(env_t *env, zsock_t *sock, const char *id) {
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__PingRequest body = XTBRIDGE__PING_REQUEST__INIT;
    body.client_time_ns = 12345;
    req.request_id = (char *)id;
    req.body_case = XTBRIDGE__REQUEST__BODY_PING;
    req.ping = &body;
    return call(env, sock, &req);
}

static void assert_alive(env_t *env, zsock_t *sock) {
    Xtbridge__Reply *reply = ping(env, sock, "alive");
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK);
    cr_assert_eq(reply->result_case, XTBRIDGE__REPLY__RESULT_PING);
    cr_assert_eq(reply->ping->client_time_ns, 12345);
    xtbridge__reply__free_unpacked(reply, NULL);
}

/* An order_stock request (600000.SH, buy 100 at 10.50) in caller-owned messages. */
static Xtbridge__Request *order_request(Xtbridge__Request *req, Xtbridge__OrderStockRequest *body,
                                        Xtbridge__Account *acc, const char *id,
                                        const char *account) {
    acc->account_id = (char *)account;
    body->account = acc;
    body->stock_code = (char *)"600000.SH";
    body->order_type = 23;
    body->order_volume = 100;
    body->price_type = 11;
    body->price = 10.5;
    req->request_id = (char *)id;
    req->body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK;
    req->order_stock = body;
    return req;
}

static Xtbridge__Reply *order(env_t *env, zsock_t *sock, const char *id, const char *account) {
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__OrderStockRequest body = XTBRIDGE__ORDER_STOCK_REQUEST__INIT;
    Xtbridge__Account acc = XTBRIDGE__ACCOUNT__INIT;
    send_request(sock, order_request(&req, &body, &acc, id, account));
    pump(env);
    return NULL;
}

/* ---- tests --------------------------------------------------------------------------- */

Test(router, ping_echoes_time_and_request_id) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *sock = dealer(&env, NULL);
    Xtbridge__Reply *reply = ping(&env, sock, "p-1");
    cr_assert_str_eq(reply->request_id, "p-1");
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK);
    cr_assert_eq(reply->ping->client_time_ns, 12345);
    cr_assert_gt(reply->ping->bridge_time_ns, 0);
    xtbridge__reply__free_unpacked(reply, NULL);
    zsock_destroy(&sock);
    env_close(&env);
}

Test(router, hello_describes_bridge_and_served_calls) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *sock = dealer(&env, NULL);
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__HelloRequest body = XTBRIDGE__HELLO_REQUEST__INIT;
    req.request_id = (char *)"h";
    req.body_case = XTBRIDGE__REQUEST__BODY_HELLO;
    req.hello = &body;
    Xtbridge__Reply *reply = call(&env, sock, &req);
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK);
    Xtbridge__HelloReply *hello = reply->hello;
    cr_assert_eq(hello->protocol_version, 2);
    cr_assert_str_eq(hello->backend, "fake");
    cr_assert_str_eq(hello->instance_id, "test-instance");
    cr_assert_eq(hello->heartbeat_ms, 1000);
    cr_assert_eq(hello->n_pub_endpoints, 1);
    cr_assert_str_eq(hello->pub_endpoints[0], env.pub_ep);
    cr_assert_eq(hello->n_accounts, 1);
    cr_assert_str_eq(hello->accounts[0]->account_id, "1000000365");
    cr_assert_neq(hello->bridge_epoch, 0);
    /* bridge calls + the three the fake serves, nothing else */
    cr_assert_eq(hello->n_calls, 7);
    bool order_stock = false, credit = false;
    for (size_t i = 0; i < hello->n_calls; i++) {
        order_stock |= strcmp(hello->calls[i], "order_stock") == 0;
        credit |= strcmp(hello->calls[i], "query_credit_detail") == 0;
    }
    cr_assert(order_stock);
    cr_assert_not(credit);
    xtbridge__reply__free_unpacked(reply, NULL);
    zsock_destroy(&sock);
    env_close(&env);
}

Test(router, req_socket_delimiter_is_echoed) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *req = zsock_new(ZMQ_REQ);
    zsock_set_rcvtimeo(req, 2000);
    zsock_connect(req, "%s", env.router_ep);
    Xtbridge__Request r = XTBRIDGE__REQUEST__INIT;
    Xtbridge__PingRequest body = XTBRIDGE__PING_REQUEST__INIT;
    r.request_id = (char *)"via-req";
    r.body_case = XTBRIDGE__REQUEST__BODY_PING;
    r.ping = &body;
    send_request(req, &r);
    pump(&env);
    Xtbridge__Reply *reply = recv_reply(req); /* REQ only accepts it with the delimiter */
    cr_assert_str_eq(reply->request_id, "via-req");
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK);
    xtbridge__reply__free_unpacked(reply, NULL);
    zsock_destroy(&req);
    env_close(&env);
}

/* What a ROUTER/DEALER proxy's backend sends: the frames given (hop ids, delimiters),
   then the request. */
static void send_via(zsock_t *sock, const char *const *hops, size_t nhops, Xtbridge__Request *req) {
    zmsg_t *msg = zmsg_new();
    for (size_t i = 0; i < nhops; i++)
        zmsg_addstr(msg, hops[i]);
    size_t size = xtbridge__request__get_packed_size(req);
    uint8_t *buf = (uint8_t *)malloc(size + 1);
    xtbridge__request__pack(req, buf);
    zmsg_addmem(msg, buf, size);
    free(buf);
    cr_assert_eq(zmsg_send(&msg, sock), 0);
}

/* The reply as the proxy's backend gets it: exactly the hop frames, then one reply. */
static Xtbridge__Reply *recv_via(zsock_t *sock, const char *const *hops, size_t nhops) {
    zmsg_t *msg = zmsg_recv(sock);
    cr_assert_not_null(msg, "no reply");
    cr_assert_eq(zmsg_size(msg), nhops + 1, "%zu frames, want %zu", zmsg_size(msg), nhops + 1);
    for (size_t i = 0; i < nhops; i++) {
        char *hop = zmsg_popstr(msg);
        cr_assert_str_eq(hop, hops[i]);
        free(hop);
    }
    zframe_t *frame = zmsg_pop(msg);
    Xtbridge__Reply *reply = xtbridge__reply__unpack(NULL, zframe_size(frame), zframe_data(frame));
    zframe_destroy(&frame);
    zmsg_destroy(&msg);
    cr_assert_not_null(reply, "reply does not decode");
    return reply;
}

Test(router, behind_a_proxy_hops_are_echoed_and_name_the_client) {
    env_t env = {.behind_proxy = true};
    env_open(&env, NULL);
    zsock_t *proxy = dealer(&env, "proxy-backend");
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__OrderStockRequest body = XTBRIDGE__ORDER_STOCK_REQUEST__INIT;
    Xtbridge__Account acc = XTBRIDGE__ACCOUNT__INIT;
    order_request(&req, &body, &acc, "o-1", "1000000365");
    const char *alice[] = {"alice"}, *bob[] = {"bob"};
    /* two clients behind one proxy, same request id: two orders */
    send_via(proxy, alice, 1, &req);
    pump(&env);
    Xtbridge__Reply *r = recv_via(proxy, alice, 1);
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__OK, "%s", r->error->message);
    cr_assert_eq(r->order_stock->order_id, 1);
    xtbridge__reply__free_unpacked(r, NULL);
    send_via(proxy, bob, 1, &req);
    pump(&env);
    r = recv_via(proxy, bob, 1);
    cr_assert_eq(r->order_stock->order_id, 2, "bob is another client than alice");
    xtbridge__reply__free_unpacked(r, NULL);
    /* alice's retry is hers: the original answer, no new order */
    send_via(proxy, alice, 1, &req);
    pump(&env);
    r = recv_via(proxy, alice, 1);
    cr_assert_eq(r->order_stock->order_id, 1);
    xtbridge__reply__free_unpacked(r, NULL);
    cr_assert_eq(env.fake.orders, 2);
    /* and it is alice's through another proxy connection too: explicit ids are the key */
    zsock_t *proxy2 = dealer(&env, "proxy-backend-2");
    send_via(proxy2, alice, 1, &req);
    pump(&env);
    r = recv_via(proxy2, alice, 1);
    cr_assert_eq(r->order_stock->order_id, 1);
    xtbridge__reply__free_unpacked(r, NULL);
    cr_assert_eq(env.fake.orders, 2);
    /* a REQ client behind the proxy: its hop, then its delimiter, both echoed */
    Xtbridge__Request p = XTBRIDGE__REQUEST__INIT;
    Xtbridge__PingRequest pbody = XTBRIDGE__PING_REQUEST__INIT;
    p.request_id = (char *)"via-proxy";
    p.body_case = XTBRIDGE__REQUEST__BODY_PING;
    p.ping = &pbody;
    const char *req_path[] = {"carol", ""};
    send_via(proxy, req_path, 2, &p);
    pump(&env);
    r = recv_via(proxy, req_path, 2);
    cr_assert_str_eq(r->request_id, "via-proxy");
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__OK);
    xtbridge__reply__free_unpacked(r, NULL);
    /* two proxies in a row: both hops */
    const char *two[] = {"rack-7", "dave"};
    send_via(proxy, two, 2, &p);
    pump(&env);
    r = recv_via(proxy, two, 2);
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__OK);
    xtbridge__reply__free_unpacked(r, NULL);
    zsock_destroy(&proxy);
    zsock_destroy(&proxy2);
    env_close(&env);
}

Test(router, hop_frames_from_a_direct_client_are_malformed) {
    env_t env = {0}; /* not behind a proxy */
    env_open(&env, NULL);
    zsock_t *sock = dealer(&env, NULL);
    Xtbridge__Request p = XTBRIDGE__REQUEST__INIT;
    Xtbridge__PingRequest pbody = XTBRIDGE__PING_REQUEST__INIT;
    p.request_id = (char *)"stray";
    p.body_case = XTBRIDGE__REQUEST__BODY_PING;
    p.ping = &pbody;
    const char *stray[] = {"alice"};
    send_via(sock, stray, 1, &p);
    pump(&env);
    /* the stray frame is not echoed: the client gets one frame, the error */
    Xtbridge__Reply *r = recv_via(sock, NULL, 0);
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__MALFORMED);
    cr_assert(strstr(r->error->message, "expected one request frame"), "%s", r->error->message);
    xtbridge__reply__free_unpacked(r, NULL);
    assert_alive(&env, sock);
    zsock_destroy(&sock);
    env_close(&env);
}

static void expect_error(env_t *env, zsock_t *sock, Xtbridge__ErrorCode code, const char *id,
                         const char *words) {
    pump(env);
    Xtbridge__Reply *reply = recv_reply(sock);
    cr_assert_eq(reply->error->code, code, "code %d, want %d: %s", reply->error->code, code,
                 reply->error->message);
    cr_assert_str_eq(reply->request_id, id);
    cr_assert(strstr(reply->error->message, words), "message '%s' lacks '%s'",
              reply->error->message, words);
    cr_assert_eq(reply->result_case, XTBRIDGE__REPLY__RESULT__NOT_SET);
    xtbridge__reply__free_unpacked(reply, NULL);
}

Test(router, garbage_frames_get_documented_replies) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *sock = dealer(&env, NULL);

    /* random bytes: 0xff... is an invalid wire type */
    byte junk[] = {0xff, 0xff, 0xff, 0x07, 0x13, 0x37};
    zsock_send(sock, "b", junk, sizeof junk);
    expect_error(&env, sock, XTBRIDGE__ERROR_CODE__MALFORMED, "", "does not decode");

    /* an empty frame */
    zsock_send(sock, "b", "", (size_t)0);
    expect_error(&env, sock, XTBRIDGE__ERROR_CODE__MALFORMED, "", "empty request frame");

    /* 5 frames */
    zsock_send(sock, "sssss", "a", "b", "c", "d", "e");
    expect_error(&env, sock, XTBRIDGE__ERROR_CODE__MALFORMED, "", "got 5 frames");

    /* a truncated protobuf: a valid request cut in the middle of its request_id */
    Xtbridge__Request r = XTBRIDGE__REQUEST__INIT;
    Xtbridge__PingRequest body = XTBRIDGE__PING_REQUEST__INIT;
    r.request_id = (char *)"truncated-request";
    r.body_case = XTBRIDGE__REQUEST__BODY_PING;
    r.ping = &body;
    uint8_t buf[64];
    size_t size = xtbridge__request__pack(&r, buf);
    cr_assert_gt(size, 8);
    zsock_send(sock, "b", buf, (size_t)8);
    expect_error(&env, sock, XTBRIDGE__ERROR_CODE__MALFORMED, "", "does not decode");

    /* an unknown oneof member: request_id "u-1" + field 77 (length-delimited, empty) */
    byte unknown[] = {0x0a, 0x03, 'u', '-', '1', 0xea, 0x04, 0x00};
    zsock_send(sock, "b", unknown, sizeof unknown);
    expect_error(&env, sock, XTBRIDGE__ERROR_CODE__UNKNOWN_CALL, "u-1", "field number 77");

    /* no body at all */
    byte nobody[] = {0x0a, 0x03, 'n', '-', '1'};
    zsock_send(sock, "b", nobody, sizeof nobody);
    expect_error(&env, sock, XTBRIDGE__ERROR_CODE__UNKNOWN_CALL, "n-1", "no call body");

    /* no request_id */
    r.request_id = (char *)"";
    size = xtbridge__request__pack(&r, buf);
    zsock_send(sock, "b", buf, size);
    expect_error(&env, sock, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "", "request_id");

    cr_assert_eq(brg_router_malformed(env.router), 4);
    assert_alive(&env, sock);
    zsock_destroy(&sock);
    env_close(&env);
}

Test(router, unserved_call_is_unknown_call_naming_it) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *sock = dealer(&env, NULL);
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__AccountRequest body = XTBRIDGE__ACCOUNT_REQUEST__INIT;
    req.request_id = (char *)"c-1";
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_DETAIL;
    req.query_credit_detail = &body;
    send_request(sock, &req);
    expect_error(&env, sock, XTBRIDGE__ERROR_CODE__UNKNOWN_CALL, "c-1",
                 "call 'query_credit_detail' is not served by backend 'fake'");
    zsock_destroy(&sock);
    env_close(&env);
}

Test(router, backend_errors_carry_no_result) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *sock = dealer(&env, NULL);
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__AccountRequest body = XTBRIDGE__ACCOUNT_REQUEST__INIT;
    req.request_id = (char *)"a-1";
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET;
    req.query_stock_asset = &body;
    send_request(sock, &req);
    expect_error(&env, sock, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "a-1", "fake: no asset");
    zsock_destroy(&sock);
    env_close(&env);
}

Test(router, same_request_id_returns_original_reply_once) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *a = dealer(&env, "client-a");
    zsock_t *b = dealer(&env, "client-b");
    order(&env, a, "o-1", "1000000365");
    Xtbridge__Reply *first = recv_reply(a);
    order(&env, a, "o-1", "1000000365");
    Xtbridge__Reply *again = recv_reply(a);
    cr_assert_eq(first->order_stock->order_id, 1);
    cr_assert_eq(again->order_stock->order_id, 1);
    cr_assert_str_eq(again->request_id, "o-1");
    cr_assert_eq(env.fake.orders, 1, "the retry must not reach the backend");
    /* same id from another client is another order */
    order(&env, b, "o-1", "1000000365");
    Xtbridge__Reply *other = recv_reply(b);
    cr_assert_eq(other->order_stock->order_id, 2);
    cr_assert_eq(env.fake.orders, 2);
    xtbridge__reply__free_unpacked(first, NULL);
    xtbridge__reply__free_unpacked(again, NULL);
    xtbridge__reply__free_unpacked(other, NULL);
    zsock_destroy(&a);
    zsock_destroy(&b);
    env_close(&env);
}

Test(router, idempotency_survives_restart) {
    env_t env = {0};
    env_open(&env, NULL);
    char dir[256];
    snprintf(dir, sizeof dir, "%s", env.dir);
    zsock_t *a = dealer(&env, "client-restart");
    order(&env, a, "o-keep", "1000000365");
    Xtbridge__Reply *first = recv_reply(a);
    cr_assert_eq(first->order_stock->order_id, 1);
    xtbridge__reply__free_unpacked(first, NULL);
    zsock_destroy(&a);
    env_close(&env);

    env_t env2 = {0};
    env_open(&env2, dir);
    a = dealer(&env2, "client-restart");
    order(&env2, a, "o-keep", "1000000365");
    Xtbridge__Reply *again = recv_reply(a);
    cr_assert_eq(again->error->code, XTBRIDGE__ERROR_CODE__OK);
    cr_assert_eq(again->order_stock->order_id, 1);
    cr_assert_eq(env2.fake.orders, 0, "the restarted bridge must not place it again");
    xtbridge__reply__free_unpacked(again, NULL);
    zsock_destroy(&a);
    env_close(&env2);
}

Test(router, duplicate_while_in_flight) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *a = dealer(&env, "client-pending");
    order(&env, a, "slow", "pending"); /* backend keeps it pending */
    cr_assert_not_null(env.fake.pending);
    order(&env, a, "slow", "pending");
    Xtbridge__Reply *dup = recv_reply(a);
    cr_assert_eq(dup->error->code, XTBRIDGE__ERROR_CODE__DUPLICATE_IN_FLIGHT);
    cr_assert_str_eq(dup->request_id, "slow");
    cr_assert_eq(env.fake.orders, 1);
    xtbridge__reply__free_unpacked(dup, NULL);
    brg_call_complete(env.fake.pending); /* the backend answers later */
    Xtbridge__Reply *done = recv_reply(a);
    cr_assert_eq(done->error->code, XTBRIDGE__ERROR_CODE__OK);
    cr_assert_eq(done->order_stock->order_id, 1);
    xtbridge__reply__free_unpacked(done, NULL);
    /* and now it is remembered */
    order(&env, a, "slow", "pending");
    Xtbridge__Reply *again = recv_reply(a);
    cr_assert_eq(again->order_stock->order_id, 1);
    cr_assert_eq(env.fake.orders, 1);
    xtbridge__reply__free_unpacked(again, NULL);
    zsock_destroy(&a);
    env_close(&env);
}

static void emit_trade(env_t *env, const char *account, double price) {
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    Xtbridge__XtTrade trade = XTBRIDGE__XT_TRADE__INIT;
    trade.account_id = (char *)account;
    trade.traded_price = price;
    event.body_case = XTBRIDGE__EVENT__BODY_TRADE;
    event.trade = &trade;
    cr_assert_eq(brg_publisher_emit(env->publisher, "trade", account, &event), 0);
}

static Xtbridge__Reply *replay_page(env_t *env, zsock_t *sock, const char *id, uint64_t after) {
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__ReplayRequest body = XTBRIDGE__REPLAY_REQUEST__INIT;
    Xtbridge__ReplayRequest__AfterEntry entry = XTBRIDGE__REPLAY_REQUEST__AFTER_ENTRY__INIT;
    Xtbridge__ReplayRequest__AfterEntry *entries[] = {&entry};
    entry.key = (char *)"trade.1000000365.";
    entry.value = after;
    body.topic_prefix = (char *)"trade.1000000365.";
    body.after = entries;
    body.n_after = 1;
    body.max_events = 2;
    req.request_id = (char *)id;
    req.body_case = XTBRIDGE__REQUEST__BODY_REPLAY;
    req.replay = &body;
    return call(env, sock, &req);
}

Test(router, replay_is_pull_based_one_page_per_request) {
    env_t env = {0};
    env_open(&env, NULL);
    for (int i = 1; i <= 5; i++)
        emit_trade(&env, "1000000365", i);
    emit_trade(&env, "10000003650", 99);
    zsock_t *sock = dealer(&env, NULL);
    /* seqs 3,4,5 with max_events 2: [3,4] more, then ask again after 4: [5] last */
    Xtbridge__Reply *r1 = replay_page(&env, sock, "r-1", 2);
    cr_assert_str_eq(r1->request_id, "r-1");
    cr_assert_eq(r1->replay->n_events, 2);
    cr_assert(r1->replay->more);
    cr_assert_eq(r1->replay->events[0]->seq, 3);
    cr_assert_eq(r1->replay->events[1]->seq, 4);
    cr_assert_float_eq(r1->replay->events[1]->trade->traded_price, 4.0, 1e-9);
    cr_assert_null(zstr_recv_nowait(sock), "exactly one reply per replay request");
    Xtbridge__Reply *r2 = replay_page(&env, sock, "r-2", 4);
    cr_assert_str_eq(r2->request_id, "r-2");
    cr_assert_eq(r2->replay->n_events, 1);
    cr_assert_not(r2->replay->more);
    cr_assert_eq(r2->replay->events[0]->seq, 5);
    cr_assert_str_eq(r2->replay->events[0]->topic, "trade.1000000365.");
    cr_assert_eq(r2->replay->bridge_epoch, brg_store_epoch(env.store));
    xtbridge__reply__free_unpacked(r1, NULL);
    xtbridge__reply__free_unpacked(r2, NULL);
    zsock_destroy(&sock);
    env_close(&env);
}

static Xtbridge__Reply *subscribe(env_t *env, zsock_t *sock, const char *account) {
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__AccountRequest body = XTBRIDGE__ACCOUNT_REQUEST__INIT;
    Xtbridge__Account acc = XTBRIDGE__ACCOUNT__INIT;
    acc.account_id = (char *)account;
    body.account = &acc;
    req.request_id = (char *)"sub";
    req.body_case = XTBRIDGE__REQUEST__BODY_SUBSCRIBE;
    req.subscribe = &body;
    return call(env, sock, &req);
}

Test(router, subscribe_reply_carries_the_accounts_seq_baseline) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *sock = dealer(&env, NULL);
    Xtbridge__Reply *reply = subscribe(&env, sock, "1000000365");
    cr_assert_eq(reply->subscribe->result, 0);
    cr_assert_eq(reply->subscribe->n_last_seq, 0, "nothing published yet");
    xtbridge__reply__free_unpacked(reply, NULL);

    for (int i = 0; i < 3; i++)
        emit_trade(&env, "1000000365", 1);
    emit_trade(&env, "10000003650", 1);
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    Xtbridge__XtOrder order = XTBRIDGE__XT_ORDER__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_ORDER;
    event.order = &order;
    brg_publisher_emit(env.publisher, "order", "1000000365", &event);

    reply = subscribe(&env, sock, "1000000365");
    cr_assert_eq(reply->subscribe->n_last_seq, 2);
    cr_assert_str_eq(reply->subscribe->last_seq[0]->key, "order.1000000365.");
    cr_assert_eq(reply->subscribe->last_seq[0]->value, 1);
    cr_assert_str_eq(reply->subscribe->last_seq[1]->key, "trade.1000000365.");
    cr_assert_eq(reply->subscribe->last_seq[1]->value, 3);
    xtbridge__reply__free_unpacked(reply, NULL);

    reply = subscribe(&env, sock, "42"); /* refused by the backend: no baseline */
    cr_assert_eq(reply->subscribe->result, -1);
    cr_assert_eq(reply->subscribe->n_last_seq, 0);
    xtbridge__reply__free_unpacked(reply, NULL);
    zsock_destroy(&sock);
    env_close(&env);
}

Test(router, stats_count_requests_and_calls) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *sock = dealer(&env, NULL);
    assert_alive(&env, sock);
    zsock_send(sock, "b", "\xff", (size_t)1);
    pump(&env);
    xtbridge__reply__free_unpacked(recv_reply(sock), NULL);
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__StatsRequest body = XTBRIDGE__STATS_REQUEST__INIT;
    req.request_id = (char *)"s";
    req.body_case = XTBRIDGE__REQUEST__BODY_STATS;
    req.stats = &body;
    Xtbridge__Reply *reply = call(&env, sock, &req);
    cr_assert_eq(reply->stats->requests, 3);
    cr_assert_eq(reply->stats->replies, 2);
    cr_assert_eq(reply->stats->malformed, 1);
    cr_assert_eq(reply->stats->n_calls, 2); /* ping, stats */
    xtbridge__reply__free_unpacked(reply, NULL);
    zsock_destroy(&sock);
    env_close(&env);
}

/* Seeded random frames: random frame counts, random bytes, and valid requests with random
   bit flips. Every message must get exactly one reply and the router must stay up. */
static void random_frames(bool behind_proxy) {
    env_t env = {.behind_proxy = behind_proxy};
    env_open(&env, NULL);
    zsock_t *sock = dealer(&env, "fuzzer");
    srand(20261125);
    Xtbridge__Request valid = XTBRIDGE__REQUEST__INIT;
    Xtbridge__OrderStockRequest body = XTBRIDGE__ORDER_STOCK_REQUEST__INIT;
    Xtbridge__Account acc = XTBRIDGE__ACCOUNT__INIT;
    acc.account_id = (char *)"1000000365";
    body.account = &acc;
    body.stock_code = (char *)"600000.SH";
    body.order_volume = 100;
    body.price = 10.5;
    valid.request_id = (char *)"fuzz-base";
    valid.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK;
    valid.order_stock = &body;
    uint8_t base[256];
    size_t base_size = xtbridge__request__pack(&valid, base);
    int rounds = 1500;
    for (int i = 0; i < rounds; i++) {
        zmsg_t *msg = zmsg_new();
        int frames = rand() % 3 == 0 ? 1 + rand() % 4 : 1;
        for (int f = 0; f < frames; f++) {
            uint8_t buf[256];
            size_t size;
            if (rand() % 2) {
                memcpy(buf, base, base_size);
                size = base_size;
                for (int flips = 1 + rand() % 4; flips; flips--)
                    buf[rand() % size] ^= (uint8_t)(1u << (rand() % 8));
                if (rand() % 4 == 0)
                    size = (size_t)rand() % size;
            } else {
                size = (size_t)(rand() % 64);
                for (size_t k = 0; k < size; k++)
                    buf[k] = (uint8_t)rand();
            }
            zmsg_addmem(msg, buf, size);
        }
        cr_assert_eq(zmsg_send(&msg, sock), 0);
        pump(&env);
        /* the reply is the last frame; echoed empty delimiters come first */
        zmsg_t *answer = zmsg_recv(sock);
        cr_assert_not_null(answer, "round %d got no reply", i);
        zframe_t *reply = zmsg_last(answer);
        Xtbridge__Reply *decoded =
            xtbridge__reply__unpack(NULL, zframe_size(reply), zframe_data(reply));
        cr_assert_not_null(decoded, "round %d: reply does not decode", i);
        xtbridge__reply__free_unpacked(decoded, NULL);
        zmsg_destroy(&answer);
    }
    assert_alive(&env, sock);
    zsock_destroy(&sock);
    env_close(&env);
}

Test(router, seeded_random_frames_never_kill_the_router) {
    random_frames(false);
}

/* the same frames read as hop ids of a proxy (the path limits, echoing) */
Test(router, seeded_random_frames_behind_a_proxy_never_kill_the_router) {
    random_frames(true);
}

/* Group commit: requests drained together share one transaction, and nothing they
   produced reaches anyone before it is committed. */
Test(router, drain_sends_replies_and_pushes_after_one_commit) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *sub = zsock_new_sub(env.pub_ep, "trade.pushes.");
    /* the subscription travels asynchronously: wait until an event gets through */
    zsock_set_rcvtimeo(sub, 100);
    zmsg_t *msg = NULL;
    for (int tries = 0; tries < 50 && !msg; tries++) {
        Xtbridge__Event ping = XTBRIDGE__EVENT__INIT;
        Xtbridge__XtTrade trade = XTBRIDGE__XT_TRADE__INIT;
        ping.body_case = XTBRIDGE__EVENT__BODY_TRADE;
        ping.trade = &trade;
        cr_assert_eq(brg_publisher_emit(env.publisher, "trade", "pushes", &ping), 0);
        msg = zmsg_recv(sub);
    }
    cr_assert_not_null(msg);
    zmsg_destroy(&msg);
    while ((msg = zmsg_recv(sub)))
        zmsg_destroy(&msg);
    zsock_t *a = dealer(&env, "client-batch");
    /* three orders and a retry of the first, queued before the router looks */
    const char *ids[] = {"b-1", "b-2", "b-3", "b-1"};
    for (int i = 0; i < 4; i++) {
        Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
        Xtbridge__OrderStockRequest body = XTBRIDGE__ORDER_STOCK_REQUEST__INIT;
        Xtbridge__Account acc = XTBRIDGE__ACCOUNT__INIT;
        acc.account_id = (char *)"pushes";
        body.account = &acc;
        req.request_id = (char *)ids[i];
        req.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK;
        req.order_stock = &body;
        send_request(a, &req);
    }
    /* drain as they arrive (usually one batch of four) */
    zpoller_t *poller = zpoller_new(brg_router_socket(env.router), NULL);
    int handled = 0;
    while (handled < 4 && zpoller_wait(poller, 2000))
        handled += brg_router_drain(env.router, 256);
    zpoller_destroy(&poller);
    cr_assert_eq(handled, 4);
    cr_assert_not(brg_store_in_batch(env.store));
    int64_t expect[] = {1, 2, 3, 1};
    for (int i = 0; i < 4; i++) {
        Xtbridge__Reply *reply = recv_reply(a);
        cr_assert_str_eq(reply->request_id, ids[i]);
        cr_assert_eq(reply->order_stock->order_id, expect[i]);
        xtbridge__reply__free_unpacked(reply, NULL);
    }
    cr_assert_eq(env.fake.orders, 3, "the retry in the same batch was answered from the store");
    /* the three orders' pushes, in order, after the commit; none for the retry */
    zsock_set_rcvtimeo(sub, 1000);
    for (int64_t i = 1; i <= 3; i++) {
        msg = zmsg_recv(sub);
        cr_assert_not_null(msg, "push %" PRId64 " missing", i);
        cr_assert_eq(zmsg_size(msg), 2);
        char *topic = zmsg_popstr(msg);
        cr_assert_str_eq(topic, "trade.pushes.");
        free(topic);
        zframe_t *body = zmsg_pop(msg);
        Xtbridge__Event *ev = xtbridge__event__unpack(NULL, zframe_size(body), zframe_data(body));
        cr_assert_not_null(ev);
        cr_assert_eq(ev->trade->traded_volume, i);
        xtbridge__event__free_unpacked(ev, NULL);
        zframe_destroy(&body);
        zmsg_destroy(&msg);
    }
    zsock_set_rcvtimeo(sub, 200);
    cr_assert_null(zmsg_recv(sub), "the retry made a push");
    /* the committed rows survive a restart */
    char dir[256];
    snprintf(dir, sizeof dir, "%s", env.dir);
    zsock_destroy(&a);
    zsock_destroy(&sub);
    env_close(&env);
    char err[256];
    brg_store_t *store = brg_store_new(dir, NULL, err, sizeof err);
    uint8_t *data = NULL;
    size_t size = 0;
    cr_assert_eq(brg_store_reply_get(store, "636c69656e742d6261746368", "b-3", &data, &size), 1);
    free(data);
    brg_store_destroy(&store);
}

/* Send one order_stock and let the router drain it as a batch. */
static void send_order(zsock_t *sock, const char *id, const char *account) {
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__OrderStockRequest body = XTBRIDGE__ORDER_STOCK_REQUEST__INIT;
    Xtbridge__Account acc = XTBRIDGE__ACCOUNT__INIT;
    acc.account_id = (char *)account;
    body.account = &acc;
    req.request_id = (char *)id;
    req.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK;
    req.order_stock = &body;
    send_request(sock, &req);
}

static Xtbridge__Reply *order_on(env_t *env, zsock_t *sock, const char *id, const char *account) {
    send_order(sock, id, account);
    zpoller_t *poller = zpoller_new(brg_router_socket(env->router), NULL);
    cr_assert_not_null(zpoller_wait(poller, 2000));
    zpoller_destroy(&poller);
    cr_assert_eq(brg_router_drain(env->router, 256), 1);
    return recv_reply(sock);
}

static Xtbridge__Reply *order_batch(env_t *env, zsock_t *sock, const char *id) {
    return order_on(env, sock, id, "1000000365");
}

static Xtbridge__Reply *hello(env_t *env, zsock_t *sock) {
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__HelloRequest body = XTBRIDGE__HELLO_REQUEST__INIT;
    req.request_id = (char *)"h";
    req.body_case = XTBRIDGE__REQUEST__BODY_HELLO;
    req.hello = &body;
    return call(env, sock, &req);
}

/* No OK for what is not durable: a batch that cannot commit answers BACKEND_ERROR, keeps
   no idempotency row, and the backend is back at its last committed state. */
Test(router, failed_commit_answers_backend_error_and_restores) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *a = dealer(&env, "client-fail");
    Xtbridge__Reply *reply = order_batch(&env, a, "f-1");
    cr_assert_eq(reply->order_stock->order_id, 1);
    xtbridge__reply__free_unpacked(reply, NULL);

    env.fake.fail_persist = true;
    reply = order_batch(&env, a, "f-2");
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__BACKEND_ERROR);
    cr_assert_str_eq(reply->request_id, "f-2");
    cr_assert_str_eq(reply->error->message,
                     "store commit failed: backend could not write its state; nothing of this "
                     "request was kept");
    cr_assert_eq(reply->result_case, XTBRIDGE__REPLY__RESULT__NOT_SET);
    xtbridge__reply__free_unpacked(reply, NULL);
    cr_assert_eq(env.fake.restores, 1);
    cr_assert_eq(env.fake.orders, 1, "restored to the committed book");

    /* the retry is not an idempotent hit of a reply nobody kept: it really runs */
    env.fake.fail_persist = false;
    reply = order_batch(&env, a, "f-2");
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK);
    cr_assert_eq(reply->order_stock->order_id, 2, "the failed order's id was not used");
    xtbridge__reply__free_unpacked(reply, NULL);
    reply = hello(&env, a);
    cr_assert_not(reply->hello->degraded);
    cr_assert_str_eq(reply->hello->durability, "process");
    xtbridge__reply__free_unpacked(reply, NULL);
    zsock_destroy(&a);
    env_close(&env);
}

Test(router, a_backend_that_cannot_undo_makes_the_bridge_degraded) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *a = dealer(&env, "client-degraded");
    env.fake.fail_persist = true;
    env.fake.cannot_undo = true;
    Xtbridge__Reply *reply = order_batch(&env, a, "d-1");
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__BACKEND_ERROR);
    cr_assert(strstr(reply->error->message, "the backend acted but its state is not durable"), "%s",
              reply->error->message);
    xtbridge__reply__free_unpacked(reply, NULL);
    cr_assert(brg_router_degraded(env.router));
    reply = hello(&env, a);
    cr_assert(reply->hello->degraded);
    cr_assert(strstr(reply->hello->degraded_reason, "backend 'fake' acted on a batch"), "%s",
              reply->hello->degraded_reason);
    xtbridge__reply__free_unpacked(reply, NULL);
    zsock_destroy(&a);
    env_close(&env);
}

/* A client that waits for each reply gets it before the router looks for more requests
   (finding none costs libzmq two syscalls): after a drain that found one request, the
   next drain commits its first request alone. Once a drain finds several, they share
   one commit again. */
Test(router, a_lone_request_is_committed_before_the_router_looks_for_more) {
    env_t env = {0};
    env.inproc = true;
    env_open(&env, NULL);
    zsock_t *a = dealer(&env, "client-lone");
    Xtbridge__Reply *reply = order_on(&env, a, "l-1", "lone");
    cr_assert_eq(reply->order_stock->order_id, 1);
    xtbridge__reply__free_unpacked(reply, NULL);
    const char *ids[] = {"l-2", "l-3", "l-4", "l-5", "l-6", "l-7"};
    /* the last drain found one: the first of three alone, then the other two */
    uint64_t before = brg_store_commits(env.store);
    for (int i = 0; i < 3; i++)
        send_order(a, ids[i], "lone");
    cr_assert_eq(brg_router_drain(env.router, 256), 3);
    cr_assert_eq(brg_store_commits(env.store) - before, 2);
    /* the last drain found three: the next three share one commit */
    before = brg_store_commits(env.store);
    for (int i = 3; i < 6; i++)
        send_order(a, ids[i], "lone");
    cr_assert_eq(brg_router_drain(env.router, 256), 3);
    cr_assert_eq(brg_store_commits(env.store) - before, 1);
    for (int i = 0; i < 6; i++) {
        reply = recv_reply(a);
        cr_assert_str_eq(reply->request_id, ids[i]);
        cr_assert_eq(reply->order_stock->order_id, i + 2);
        xtbridge__reply__free_unpacked(reply, NULL);
    }
    zsock_destroy(&a);
    env_close(&env);
}

/* A pipelining client's batch hands the store's B-tree work to the store's applier
   thread; requests that come one at a time leave it to the loop (the applier would run
   on the CPU of a client waiting for its reply). */
Test(router, only_a_pipelined_batch_hands_its_writes_to_the_applier) {
    env_t env = {0};
    env.inproc = true;
    env_open(&env, NULL);
    zsock_t *a = dealer(&env, "client-handoff");
    char id[32];
    for (int i = 0; i < 150; i++) {
        snprintf(id, sizeof id, "h-%d", i);
        Xtbridge__Reply *reply = order_on(&env, a, id, "handoff");
        cr_assert_eq(reply->order_stock->order_id, i + 1);
        xtbridge__reply__free_unpacked(reply, NULL);
    }
    cr_assert_eq(brg_store_handoffs(env.store), 0, "one at a time: the loop keeps the work");
    for (int i = 150; i < 250; i++) {
        snprintf(id, sizeof id, "h-%d", i);
        send_order(a, id, "handoff");
    }
    /* the lone-batch rule: the first alone, then the other 99 as one batch */
    cr_assert_eq(brg_router_drain(env.router, 256), 100);
    cr_assert_geq(brg_store_handoffs(env.store), 1, "the batch of 99 went to the applier");
    for (int i = 150; i < 250; i++) {
        Xtbridge__Reply *reply = recv_reply(a);
        snprintf(id, sizeof id, "h-%d", i);
        cr_assert_str_eq(reply->request_id, id);
        cr_assert_eq(reply->order_stock->order_id, i + 1);
        xtbridge__reply__free_unpacked(reply, NULL);
    }
    /* what the applier put is there: a repeated request id is answered from the store */
    Xtbridge__Reply *reply = order_on(&env, a, "h-200", "handoff");
    cr_assert_eq(reply->order_stock->order_id, 201);
    xtbridge__reply__free_unpacked(reply, NULL);
    zsock_destroy(&a);
    env_close(&env);
}

/* A call that makes many events commits and publishes them in slices (checkpoints), so
   the first reach subscribers before the call ends; all arrive once, in order. */
Test(router, checkpoints_publish_a_burst_in_slices) {
    env_t env = {0};
    env_open(&env, NULL);
    zsock_t *sub = zsock_new_sub(env.pub_ep, "trade.burst.");
    zsock_set_rcvtimeo(sub, 2000);
    zsock_t *a = dealer(&env, "client-burst");
    /* let the SUB filter reach the PUB: publish until one arrives */
    Xtbridge__Reply *reply = order_on(&env, a, "warm", "burst");
    xtbridge__reply__free_unpacked(reply, NULL);
    zmsg_t *msg;
    while ((msg = zmsg_recv(sub)) != NULL) {
        zmsg_destroy(&msg);
        zsock_set_rcvtimeo(sub, 50);
    }
    zsock_set_rcvtimeo(sub, 2000);
    uint64_t before = brg_store_commits(env.store);
    reply = order_on(&env, a, "burst-1", "burst");
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK);
    xtbridge__reply__free_unpacked(reply, NULL);
    /* 600 events with a checkpoint every 256: two commits inside the call, one after */
    cr_assert_eq(env.fake.commits_mid_call - before, 2);
    cr_assert_eq(brg_store_commits(env.store) - before, 3);
    for (uint64_t i = 0; i < 600; i++) {
        msg = zmsg_recv(sub);
        cr_assert_not_null(msg, "push %llu missing", (unsigned long long)i);
        zframe_t *body = zmsg_last(msg);
        Xtbridge__Event *event =
            xtbridge__event__unpack(NULL, zframe_size(body), zframe_data(body));
        cr_assert_eq(event->seq, 601 + i);
        cr_assert_eq(event->trade->traded_volume, (int64_t)i);
        xtbridge__event__free_unpacked(event, NULL);
        zmsg_destroy(&msg);
    }
    zsock_destroy(&a);
    zsock_destroy(&sub);
    env_close(&env);
}
