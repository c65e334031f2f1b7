/*  test_scale.c - the bridge at scale, through the real binary: a day close over many open
    orders runs in slices from the loop (pings are answered while it runs, calls that touch
    the book get BUSY, the close is whole when its reply arrives), long order and trade
    lists and price moves over many resting orders run in slices (a ping sent after them
    is answered first; lists and fills are exact), the loop and libzmq's I/O thread share
    a CPU or not as the load goes (switch counts from stats), and eight subscribers
    each end up with every seq of a 200,000-event burst, live or by replay. Counts only,
    never times: the machine running the tests may be slow and shared.
*/
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include <zmq.h>

#include "testutil.h"
#include "xtb_client.h"

#define ACCT "1000000365"
#define CODE "600000.SH"
#define BURST_CODE "000001.SZ"
#define STOCK_BUY 23
#define FIX_PRICE 11

static const char *config_text = "sim\n"
                                 "    account\n"
                                 "        id = " ACCT "\n"
                                 "        cash = 100000000000\n"
                                 "    price\n"
                                 "        code = " CODE "\n"
                                 "        pre_close = 10.60\n"
                                 "        last = 10.60\n"
                                 "        liquidity = 0\n"
                                 "    price\n"
                                 "        code = " BURST_CODE "\n"
                                 "        pre_close = 11.00\n"
                                 "        last = 11.00\n"
                                 "        liquidity = 0\n";

/* Send a request with this id on a raw DEALER. Takes req. */
static void raw_send(void *s, Xtbridge__Request *req, const char *id) {
    xtb_request_set_id(req, id);
    size_t size = xtbridge__request__get_packed_size(req);
    uint8_t *buf = malloc(size);
    xtbridge__request__pack(req, buf);
    cr_assert_eq(zmq_send(s, buf, size, 0), (int)size);
    free(buf);
    xtb_request_destroy(&req);
}

/* Place n resting buys pipelined over one raw DEALER (the C client waits for each reply);
   every reply must be OK with an order id. */
static void place_resting(xtbt_bridge_t *bridge, const char *code, double price, int n) {
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int hwm = 0, timeout = 60000, linger = 0;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_ROUTING_ID, "placer", 6);
    cr_assert_eq(zmq_connect(s, bridge->router_ep), 0);
    int sent = 0, got = 0;
    while (got < n) {
        while (sent < n && sent - got < 2000) {
            char id[32];
            snprintf(id, sizeof id, "p-%s-%d", code, sent);
            raw_send(
                s, xtb_req_order(ACCT, code, STOCK_BUY, 100, FIX_PRICE, price, "scale", "r", false),
                id);
            sent++;
        }
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        cr_assert_geq(zmq_msg_recv(&msg, s, 0), 0, "no reply to order %d of %d", got, n);
        Xtbridge__Reply *r = xtbridge__reply__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
        cr_assert(r && r->error && r->error->code == XTBRIDGE__ERROR_CODE__OK, "order %d: %s", got,
                  r && r->error && r->error->message ? r->error->message : "?");
        cr_assert_gt(r->order_stock->order_id, 0);
        xtbridge__reply__free_unpacked(r, NULL);
        zmq_msg_close(&msg);
        got++;
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
}

static size_t open_orders(xtb_client_t *c) {
    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_query_orders(ACCT, false),
                                      XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS);
    size_t n = r->query_stock_orders->n_orders;
    xtb_reply_destroy(&r);
    return n;
}

static Xtbridge__Reply *stats(xtb_client_t *c) {
    return xtbt_call_ok(c, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
}

/* Ask stats every 20 ms (a lone request: the loop stays calm) until the loop and libzmq's
   I/O thread share a CPU; the switch count then. Fails after 10 s. */
static uint64_t wait_colocated(xtb_client_t *c) {
    for (int i = 0; i < 500; i++) {
        Xtbridge__Reply *r = stats(c);
        bool together = r->stats->colocated;
        uint64_t switches = r->stats->colocate_switches;
        cr_assert_str_eq(r->stats->colocate, "auto");
        xtb_reply_destroy(&r);
        if (together)
            return switches;
        zclock_sleep(20);
    }
    cr_assert_fail("the threads were never put together");
    return 0;
}

/* The loop thread and libzmq's I/O thread share one CPU while requests come one at a
   time, are apart while pipelined orders pile up in the ROUTER (at least one switch
   apart and one back), and share it again once calm; with --colocate off they are never
   moved. */
Test(scale, colocate_follows_the_load, .timeout = 300) {
    xtbt_bridge_t *bridge = xtbt_bridge_start(config_text, NULL);
    cr_assert_not_null(bridge);
    xtb_client_t *c = xtbt_bridge_client(bridge);
    uint64_t before = wait_colocated(c);
    cr_assert_geq(before, 1);
    place_resting(bridge, CODE, 9.00, 20000);
    uint64_t after = wait_colocated(c);
    cr_assert_geq(after - before, 2, "switches %llu -> %llu", (unsigned long long)before,
                  (unsigned long long)after);
    cr_assert_eq(xtbt_bridge_stop(&bridge), 0);

    const char *off[] = {"--colocate", "off", NULL};
    bridge = xtbt_bridge_start(config_text, off);
    cr_assert_not_null(bridge);
    c = xtbt_bridge_client(bridge);
    place_resting(bridge, CODE, 9.00, 2000);
    for (int i = 0; i < 10; i++) {
        Xtbridge__Reply *r = stats(c);
        cr_assert_str_eq(r->stats->colocate, "off");
        cr_assert_not(r->stats->colocated);
        cr_assert_eq(r->stats->colocate_switches, 0);
        xtb_reply_destroy(&r);
        zclock_sleep(20);
    }
    cr_assert_eq(xtbt_bridge_stop(&bridge), 0);
}

Test(scale, day_close_in_slices_keeps_answering) {
    enum { N = 20000 };
    xtbt_bridge_t *bridge = xtbt_bridge_start(config_text, NULL);
    cr_assert_not_null(bridge);
    place_resting(bridge, CODE, 10.00, N);
    xtb_client_t *closer = xtbt_bridge_client(bridge);
    xtb_client_t *other = xtbt_bridge_client(bridge);
    cr_assert_eq(open_orders(other), N);
    /* every expiry is pushed: order 54 for each of the N */
    cr_assert_eq(xtb_client_subscribe(other, "order." ACCT "."), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(other, 5000), 0);

    /* the close goes out without waiting; the other client works meanwhile */
    Xtbridge__Request *close = xtb_req_sim_next_day();
    xtb_request_set_id(close, "close-1");
    size_t size = xtbridge__request__get_packed_size(close);
    uint8_t *buf = malloc(size);
    xtbridge__request__pack(close, buf);
    const void *frames[1] = {buf};
    cr_assert_eq(xtb_client_send_raw(closer, frames, &size, 1), 0);
    free(buf);
    xtb_request_destroy(&close);

    /* one order while the close runs: BUSY, nothing placed */
    Xtbridge__Reply *busy = xtbt_call(
        other, xtb_req_order(ACCT, CODE, STOCK_BUY, 100, FIX_PRICE, 10.00, "scale", "", false));
    cr_assert_eq(busy->error->code, XTBRIDGE__ERROR_CODE__BUSY, "got %s: %s",
                 xtb_error_code_name(busy->error->code), busy->error->message);
    cr_assert(strstr(busy->error->message, "day close"), "%s", busy->error->message);
    xtb_reply_destroy(&busy);

    /* pings until the close answers: each one is a loop turn between two slices */
    int pings = 1; /* the BUSY answer above came between two slices too */
    Xtbridge__Reply *done = NULL;
    for (;;) {
        int rc = xtb_client_recv_reply(closer, "close-1", 0, &done);
        if (rc == 0)
            break;
        Xtbridge__Reply *pong = xtbt_call_ok(other, xtb_req_ping(0), XTBRIDGE__REPLY__RESULT_PING);
        xtb_reply_destroy(&pong);
        pings++;
        cr_assert_lt(pings, 10000000);
    }
    cr_assert_eq(done->error->code, XTBRIDGE__ERROR_CODE__OK, "%s", done->error->message);
    cr_assert_eq(done->result_case, XTBRIDGE__REPLY__RESULT_SIM_NEXT_DAY);
    xtb_reply_destroy(&done);
    cr_log_info("%d calls answered during the close of %d orders", pings, N);
    cr_assert_geq(pings, 2);

    /* whole once answered: no order left, every expiry pushed, the book open again */
    cr_assert_eq(open_orders(other), 0);
    int expired = 0;
    Xtbridge__Event *ev;
    while ((ev = xtbt_wait_event(other, "order." ACCT ".", XTBRIDGE__EVENT__BODY_ORDER, 2000))) {
        if (ev->order->order_status == 54)
            expired++;
        xtb_event_destroy(&ev);
        if (expired == N)
            break;
    }
    cr_assert_eq(expired, N);
    Xtbridge__Reply *again = xtbt_call_ok(
        other, xtb_req_order(ACCT, CODE, STOCK_BUY, 100, FIX_PRICE, 10.00, "scale", "", false),
        XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    cr_assert_eq(again->order_stock->order_id, N + 1);
    xtb_reply_destroy(&again);
    Xtbridge__Reply *stats = xtbt_call_ok(other, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
    cr_log_info("longest loop run %llu us", (unsigned long long)stats->stats->loop_max_busy_us);
    xtb_reply_destroy(&stats);
    xtb_client_destroy(&closer);
    xtb_client_destroy(&other);
    cr_assert_eq(xtbt_bridge_stop(&bridge), 0);
}

/* --- long lists: packed a slice at a time --------------------------------------------- */

/* A raw DEALER: replies read in arrival order. */
static void *raw_dealer(xtbt_bridge_t *bridge, void *ctx) {
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int timeout = 60000, linger = 0;
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    cr_assert_eq(zmq_connect(s, bridge->router_ep), 0);
    return s;
}

static Xtbridge__Reply *raw_recv(void *s) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    cr_assert_geq(zmq_msg_recv(&msg, s, 0), 0, "no reply");
    Xtbridge__Reply *r = xtbridge__reply__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
    zmq_msg_close(&msg);
    cr_assert_not_null(r, "undecodable reply");
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__OK, "%s: %s", r->request_id,
                 r->error->message);
    return r;
}

/* query_stock_orders / query_stock_trades over more than 1,000 items: the loop answers
   others between the slices (a ping sent after the query is answered first), and the list
   is whole and exact, the empty filtered one included. */
Test(scale, long_lists_are_packed_in_slices, .timeout = 600) {
    enum { N = 20000 };
    xtbt_bridge_t *bridge = xtbt_bridge_start(config_text, NULL);
    cr_assert_not_null(bridge);
    place_resting(bridge, CODE, 10.00, N);
    void *ctx = zmq_ctx_new();
    void *s = raw_dealer(bridge, ctx);

    raw_send(s, xtb_req_query_orders(ACCT, false), "q-orders");
    raw_send(s, xtb_req_ping(0), "q-ping");
    Xtbridge__Reply *first = raw_recv(s), *second = raw_recv(s);
    cr_assert_str_eq(first->request_id, "q-ping", "the ping waited for the whole list");
    cr_assert_str_eq(second->request_id, "q-orders");
    cr_assert_eq(second->result_case, XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS);
    Xtbridge__OrdersReply *orders = second->query_stock_orders;
    cr_assert_eq(orders->n_orders, N);
    for (size_t i = 0; i < N; i++) {
        Xtbridge__XtOrder *o = orders->orders[i];
        cr_assert_eq(o->order_id, (int64_t)i + 1);
        cr_assert_str_eq(o->account_id, ACCT);
        cr_assert_str_eq(o->stock_code, CODE);
        cr_assert_eq(o->order_volume, 100);
        cr_assert_eq(o->price, 10.00);
        cr_assert_eq(o->order_status, 50, "order %zu status %d", i + 1, o->order_status);
        cr_assert_str_eq(o->order_remark, "r");
    }
    xtbridge__reply__free_unpacked(first, NULL);
    xtbridge__reply__free_unpacked(second, NULL);

    /* the price moves through every bid: N trades at the bids' 10.00, none left open */
    raw_send(s, xtb_req_sim_set_price(CODE, 9.99, 0, -1), "move");
    xtbridge__reply__free_unpacked(raw_recv(s), NULL);
    raw_send(s, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES, ACCT), "q-trades");
    Xtbridge__Reply *trades = raw_recv(s);
    cr_assert_eq(trades->result_case, XTBRIDGE__REPLY__RESULT_QUERY_STOCK_TRADES);
    cr_assert_eq(trades->query_stock_trades->n_trades, N);
    for (size_t i = 0; i < N; i++) {
        Xtbridge__XtTrade *t = trades->query_stock_trades->trades[i];
        cr_assert_eq(t->order_id, (int64_t)i + 1);
        cr_assert_eq(t->traded_volume, 100);
        cr_assert_eq(t->traded_price, 10.00, "trade %zu at %f", i, t->traded_price);
    }
    xtbridge__reply__free_unpacked(trades, NULL);
    raw_send(s, xtb_req_query_orders(ACCT, true), "q-open");
    Xtbridge__Reply *open = raw_recv(s);
    cr_assert_eq(open->result_case, XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS,
                 "an empty list is still a list");
    cr_assert_eq(open->query_stock_orders->n_orders, 0);
    xtbridge__reply__free_unpacked(open, NULL);

    /* a day close that comes while a list is packed: the list is whole, then the close */
    raw_send(s, xtb_req_query_orders(ACCT, false), "q-before-close");
    raw_send(s, xtb_req_sim_next_day(), "close");
    Xtbridge__Reply *listed = raw_recv(s), *closed = raw_recv(s);
    cr_assert_str_eq(listed->request_id, "q-before-close");
    cr_assert_eq(listed->query_stock_orders->n_orders, N);
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(listed->query_stock_orders->orders[i]->order_status, 56);
    cr_assert_str_eq(closed->request_id, "close");
    xtbridge__reply__free_unpacked(listed, NULL);
    xtbridge__reply__free_unpacked(closed, NULL);
    zmq_close(s);
    zmq_ctx_term(ctx);
    cr_assert_eq(xtbt_bridge_stop(&bridge), 0);
}

/* A price move that fills 20,000 resting buys is matched in slices: a ping sent after it
   is answered first, the move's reply counts every fill once its last slice is stored, and
   a second move sent meanwhile first finishes the first one (their replies in order). */
Test(scale, price_move_in_slices_keeps_answering, .timeout = 600) {
    enum { N = 20000 };
    xtbt_bridge_t *bridge = xtbt_bridge_start(config_text, NULL);
    cr_assert_not_null(bridge);
    place_resting(bridge, CODE, 10.00, N / 2);
    place_resting(bridge, BURST_CODE, 10.00, N / 2);
    void *ctx = zmq_ctx_new();
    void *s = raw_dealer(bridge, ctx);

    raw_send(s, xtb_req_sim_set_price(CODE, 9.99, 0, -1), "move-1");
    raw_send(s, xtb_req_ping(0), "ping-1");
    Xtbridge__Reply *first = raw_recv(s), *second = raw_recv(s);
    cr_assert_str_eq(first->request_id, "ping-1", "the ping waited for the whole move");
    cr_assert_str_eq(second->request_id, "move-1");
    cr_assert_str_eq(second->sim_set_price->message,
                     CODE " last 9.99 pre_close 10.60: 10000 fill(s)");
    xtbridge__reply__free_unpacked(first, NULL);
    xtbridge__reply__free_unpacked(second, NULL);

    /* a move on the other code, and right behind it one more: the first is finished first */
    raw_send(s, xtb_req_sim_set_price(BURST_CODE, 9.99, 0, -1), "move-2");
    raw_send(s, xtb_req_sim_tick(BURST_CODE, 9.98), "move-3");
    Xtbridge__Reply *two = raw_recv(s), *three = raw_recv(s);
    cr_assert_str_eq(two->request_id, "move-2");
    cr_assert_str_eq(two->sim_set_price->message,
                     BURST_CODE " last 9.99 pre_close 11.00: 10000 fill(s)");
    cr_assert_str_eq(three->request_id, "move-3");
    cr_assert_str_eq(three->sim_tick->message, BURST_CODE " last 9.98: 0 fill(s)");
    xtbridge__reply__free_unpacked(two, NULL);
    xtbridge__reply__free_unpacked(three, NULL);

    /* every order filled once, at its bid */
    raw_send(s, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES, ACCT), "trades");
    Xtbridge__Reply *trades = raw_recv(s);
    cr_assert_eq(trades->query_stock_trades->n_trades, N);
    for (size_t i = 0; i < N; i++) {
        cr_assert_eq(trades->query_stock_trades->trades[i]->order_id, (int64_t)i + 1);
        cr_assert_eq(trades->query_stock_trades->trades[i]->traded_price, 10.00);
    }
    xtbridge__reply__free_unpacked(trades, NULL);
    zmq_close(s);
    zmq_ctx_term(ctx);
    cr_assert_eq(xtbt_bridge_stop(&bridge), 0);
}

/* --- eight subscribers, one burst ------------------------------------------------------ */

enum { BURST_ORDERS = 50000, SUBSCRIBERS = 8, KINDS = 4 };
static const char *const kinds[KINDS] = {"trade", "order", "position", "asset"};

typedef struct {
    xtbt_bridge_t *bridge;
    uint64_t base[KINDS]; /* each topic's last seq before the burst */
    uint8_t *seen[KINDS]; /* seen[k][i]: seq base + 1 + i arrived */
    int live, replayed, duplicates;
    int missing_after;
    bool late; /* reads nothing until the burst's reply: what the queues drop is replayed */
    atomic_int *burst_done;
    pthread_barrier_t *ready;
} subscriber_t;

static int kind_of(const char *topic) {
    for (int k = 0; k < KINDS; k++) {
        size_t len = strlen(kinds[k]);
        if (strncmp(topic, kinds[k], len) == 0 && topic[len] == '.')
            return k;
    }
    return -1;
}

/* Mark one burst event; returns 1 if new. */
static int mark(subscriber_t *s, const Xtbridge__Event *ev) {
    int k = ev->topic ? kind_of(ev->topic) : -1;
    if (k < 0 || ev->seq <= s->base[k] || ev->seq > s->base[k] + BURST_ORDERS)
        return 0;
    uint8_t *slot = &s->seen[k][ev->seq - s->base[k] - 1];
    if (*slot) {
        s->duplicates++;
        return 0;
    }
    *slot = 1;
    return 1;
}

static int on_replayed(const Xtbridge__Event *ev, void *arg) {
    subscriber_t *s = (subscriber_t *)arg;
    s->replayed += mark(s, ev);
    return 0;
}

static void *subscriber_run(void *arg) {
    subscriber_t *s = (subscriber_t *)arg;
    xtb_client_t *c = xtbt_bridge_client(s->bridge);
    char prefix[64];
    for (int k = 0; k < KINDS; k++) {
        snprintf(prefix, sizeof prefix, "%s.%s.", kinds[k], ACCT);
        xtb_client_subscribe(c, prefix);
    }
    xtb_client_sync_subscriptions(c, 10000);
    pthread_barrier_wait(s->ready);
    while (s->late && !atomic_load(s->burst_done))
        zclock_sleep(10);
    /* live until all arrived or the bridge has been quiet for a while */
    int total = BURST_ORDERS * KINDS;
    while (s->live < total) {
        char *topic = NULL;
        Xtbridge__Event *ev = NULL;
        if (xtb_client_recv_event(c, 10000, &topic, &ev) != 0)
            break;
        s->live += mark(s, ev);
        free(topic);
        xtb_event_destroy(&ev);
    }
    /* then replay each topic from its first hole: what the PUB dropped comes back */
    for (int k = 0; k < KINDS; k++) {
        uint64_t first = 0;
        for (uint64_t i = 0; i < BURST_ORDERS && !first; i++)
            if (!s->seen[k][i])
                first = s->base[k] + 1 + i;
        if (!first)
            continue;
        char topic[64];
        snprintf(topic, sizeof topic, "%s.%s.", kinds[k], ACCT);
        const char *topics[1] = {topic};
        uint64_t after[1] = {first - 1};
        xtb_client_replay_max(c, topic, topics, after, 1, 1000, 20000, on_replayed, s);
    }
    for (int k = 0; k < KINDS; k++)
        for (int i = 0; i < BURST_ORDERS; i++)
            s->missing_after += !s->seen[k][i];
    xtb_client_destroy(&c);
    return NULL;
}

Test(scale, eight_subscribers_get_every_seq_of_a_200k_burst, .timeout = 900) {
    xtbt_bridge_t *bridge = xtbt_bridge_start(config_text, NULL);
    cr_assert_not_null(bridge);
    place_resting(bridge, BURST_CODE, 10.90, BURST_ORDERS);
    xtb_client_t *c = xtbt_bridge_client(bridge);
    /* the topics' seqs before the burst, from the subscribe call */
    Xtbridge__Reply *sub = xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_SUBSCRIBE, ACCT),
                                        XTBRIDGE__REPLY__RESULT_SUBSCRIBE);
    uint64_t base[KINDS] = {0};
    for (size_t i = 0; i < sub->subscribe->n_last_seq; i++) {
        int k = kind_of(sub->subscribe->last_seq[i]->key);
        if (k >= 0)
            base[k] = sub->subscribe->last_seq[i]->value;
    }
    xtb_reply_destroy(&sub);
    cr_assert_eq(base[1], 2 * BURST_ORDERS); /* 48 and 50 per order placed */
    cr_assert_eq(base[0], 0);                /* nothing traded yet */

    subscriber_t subs[SUBSCRIBERS];
    pthread_t threads[SUBSCRIBERS];
    pthread_barrier_t ready;
    static atomic_int burst_done;
    atomic_store(&burst_done, 0);
    pthread_barrier_init(&ready, NULL, SUBSCRIBERS + 1);
    for (int i = 0; i < SUBSCRIBERS; i++) {
        memset(&subs[i], 0, sizeof subs[i]);
        subs[i].bridge = bridge;
        subs[i].ready = &ready;
        subs[i].late = i == 0;
        subs[i].burst_done = &burst_done;
        memcpy(subs[i].base, base, sizeof base);
        for (int k = 0; k < KINDS; k++)
            subs[i].seen[k] = calloc(BURST_ORDERS, 1);
        pthread_create(&threads[i], NULL, subscriber_run, &subs[i]);
    }
    pthread_barrier_wait(&ready);
    /* one price move fills all: trade, order 56, position, asset per order */
    Xtbridge__Reply *moved = NULL;
    /* 50,000 fills take a while on a sanitizer build: a long timeout, no time asserted */
    Xtbridge__Request *move = xtb_req_sim_set_price(BURST_CODE, 10.90, 0, -1);
    int rc = xtb_client_call(c, move, 300000, &moved);
    xtb_request_destroy(&move);
    cr_assert_eq(rc, 0, "sim_set_price: %s", xtb_client_error(c));
    cr_assert_eq(moved->error->code, XTBRIDGE__ERROR_CODE__OK, "%s", moved->error->message);
    cr_assert(strstr(moved->sim_set_price->message, "50000 fill(s)"), "%s",
              moved->sim_set_price->message);
    xtb_reply_destroy(&moved);
    atomic_store(&burst_done, 1);
    for (int i = 0; i < SUBSCRIBERS; i++) {
        pthread_join(threads[i], NULL);
        cr_log_info("subscriber %d: %d live, %d by replay, %d duplicates", i, subs[i].live,
                    subs[i].replayed, subs[i].duplicates);
        cr_assert_eq(subs[i].live + subs[i].replayed, BURST_ORDERS * KINDS, "subscriber %d", i);
        cr_assert_eq(subs[i].missing_after, 0, "subscriber %d", i);
        for (int k = 0; k < KINDS; k++)
            free(subs[i].seen[k]);
    }
    pthread_barrier_destroy(&ready);
    xtb_client_destroy(&c);
    cr_assert_eq(xtbt_bridge_stop(&bridge), 0);
}
