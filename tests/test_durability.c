/*  test_durability.c - crash-consistency tests of the real `xtbridge` binary (sim backend),
    issue 7's "Done when": kill -9 in the middle of 10,000 orders from four concurrent
    clients and a restart on the same data dir; one request id sent three times across a
    kill -9; a store that fills up (no OK reply for anything it did not keep); pull-based
    replay of 200,000 events with bounded memory; one bridge per data dir; kill -9 in the
    middle of one price move whose thousands of fills are committed in slices.

    "Durable" is checked from the outside only: every OK reply names something that survives
    kill -9, the book after a restart is what the journal says happened (each order's status
    and fills are those of its last push, positions and cash follow from the trades to the
    cent), ids and seqs are never reused, and replay gives every push once, gap-free, with
    the same bytes a live subscriber saw. Waits are reply timeouts, condition variables and
    bounded waitpid polling, never sleeps. Worker threads never call cr_assert (Criterion's
    asserts unwind the test's own thread only): they record their first failure and the
    test thread asserts on it after joining them.
*/
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "xtb_client.h"

#define ACC "1000000365"
#define BUY 23
#define SELL 24
#define FIX 11
/* 600000.SH trades at 10.60 (never moved here): a buy at 10.00 rests, a buy at 10.70 is
   marketable and fills whole at 10.60 on entry (no liquidity cap on this code). */
#define CODE_BUY "600000.SH"
#define REST_PRICE 10.00
#define FILL_PRICE 10.70
/* 100 @ 10.00 freezes 1000.00 + commission 5.00 + transfer fee 0.01 (README). */
#define REST_FREEZE_CENTS 100501
/* 000001.SZ (pre-close 11.00) is held; sells at 11.20 rest while the last price is 11.00 and
   fill at most LIQUIDITY shares per matching pass once it is 11.30: partial fills. */
#define CODE_SELL "000001.SZ"
#define SELL_PRICE 11.20
#define LIQUIDITY 300

/* Order statuses (xtconstant). */
enum {
    ST_UNREPORTED = 48,
    ST_WAIT_REPORTING = 49,
    ST_REPORTED = 50,
    ST_REPORTED_CANCEL = 51,
    ST_PARTSUCC_CANCEL = 52,
    ST_PART_CANCEL = 53,
    ST_CANCELED = 54,
    ST_PART_SUCC = 55,
    ST_SUCCEEDED = 56,
    ST_JUNK = 57,
};

static bool status_open(int32_t s) {
    return s == ST_UNREPORTED || s == ST_WAIT_REPORTING || s == ST_REPORTED ||
           s == ST_REPORTED_CANCEL || s == ST_PARTSUCC_CANCEL || s == ST_PART_SUCC;
}

static int64_t cents(double yuan) {
    return llround(yuan * 100.0);
}

/* ---- bridge processes ------------------------------------------------------------------------ */

/* The test's bridge, stopped by `cleanup` (.fini) when an assertion ends the test early. */
static xtbt_bridge_t *s_bridge;

static void cleanup(void) {
    if (s_bridge)
        xtbt_bridge_stop(&s_bridge);
}

static xtbt_bridge_t *start_bridge(const char *config, const char *const *args) {
    xtbt_bridge_t *b = xtbt_bridge_start(config, args);
    cr_assert_not_null(b, "xtbridge did not start (%s)", XTB_BRIDGE_BIN);
    s_bridge = b;
    return b;
}

/* SIGKILL: no clean shutdown, no atexit, no final commit. */
static void kill9(xtbt_bridge_t *b) {
    cr_assert_gt(b->pid, 0, "bridge not running");
    cr_assert_eq(kill(b->pid, SIGKILL), 0, "kill: %s", strerror(errno));
    int status = 0;
    cr_assert_eq(waitpid(b->pid, &status, 0), b->pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "bridge ended with status 0x%x before the SIGKILL", status);
    b->pid = 0;
}

static void restart(xtbt_bridge_t *b, const char *const *args) {
    cr_assert_eq(xtbt_bridge_restart(b, args), 0, "xtbridge did not restart on %s", b->data_dir);
}

static void stop_bridge(xtbt_bridge_t **b) {
    if (*b) {
        s_bridge = NULL;
        int status = xtbt_bridge_stop(b);
        cr_expect_eq(status, 0, "xtbridge exit status %d after SIGTERM", status);
    }
}

/* A "<field>: N kB" line of /proc/<pid>/status (VmRSS, RssAnon, RssFile) in KiB, 0 if
   unreadable. */
static long status_kib(pid_t pid, const char *field) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long kib = 0;
    size_t flen = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            kib = strtol(line + flen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

/* ---- calls ----------------------------------------------------------------------------------- */

static int64_t place(xtb_client_t *c, const char *code, int32_t type, int64_t volume,
                     double price) {
    Xtbridge__Reply *r =
        xtbt_call_ok(c, xtb_req_order(ACC, code, type, volume, FIX, price, "dur", "", false),
                     XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    int64_t id = r->order_stock->order_id;
    xtb_reply_destroy(&r);
    cr_assert_gt(id, 0, "order_stock returned %lld", (long long)id);
    return id;
}

static void expect_ping(xtb_client_t *c) {
    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_ping(4242), XTBRIDGE__REPLY__RESULT_PING);
    cr_assert_eq(r->ping->client_time_ns, 4242);
    xtb_reply_destroy(&r);
}

static void set_price(xtb_client_t *c, const char *code, double last, int64_t liquidity) {
    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_sim_set_price(code, last, 0, liquidity),
                                      XTBRIDGE__REPLY__RESULT_SIM_SET_PRICE);
    xtb_reply_destroy(&r);
}

static Xtbridge__Reply *query_orders(xtb_client_t *c) {
    return xtbt_call_ok(c, xtb_req_query_orders(ACC, false),
                        XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS);
}

/* Asset as cents: cash, frozen. */
static void query_asset(xtb_client_t *c, int64_t *cash, int64_t *frozen) {
    Xtbridge__Reply *r =
        xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET, ACC),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ASSET);
    cr_assert(r->query_stock_asset->found, "no asset for %s", ACC);
    *cash = cents(r->query_stock_asset->asset->cash);
    *frozen = cents(r->query_stock_asset->asset->frozen_cash);
    cr_assert(xtbt_money_eq(r->query_stock_asset->asset->cash, (double)*cash / 100.0),
              "cash %.6f is not whole cents", r->query_stock_asset->asset->cash);
    xtb_reply_destroy(&r);
}

/* Sum of the account's per-topic last seqs (subscribe baseline) and one topic's. */
static uint64_t account_last_seq(xtb_client_t *c, const char *topic, uint64_t *topic_last) {
    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_SUBSCRIBE, ACC),
                                      XTBRIDGE__REPLY__RESULT_SUBSCRIBE);
    uint64_t sum = 0;
    *topic_last = 0;
    for (size_t i = 0; i < r->subscribe->n_last_seq; i++) {
        sum += r->subscribe->last_seq[i]->value;
        if (strcmp(r->subscribe->last_seq[i]->key, topic) == 0)
            *topic_last = r->subscribe->last_seq[i]->value;
    }
    xtb_reply_destroy(&r);
    return sum;
}

/* ---- pull-based replay ----------------------------------------------------------------------- */

/* The client's side of pull-based replay: the after map (topic -> last seq received). */
typedef struct {
    zhashx_t *after; /* topic -> uint64_t * */
    size_t events;
    size_t requests;
} replay_t;

static void replay_init(replay_t *r) {
    memset(r, 0, sizeof *r);
    r->after = zhashx_new();
    zhashx_set_destructor(r->after, (zhashx_destructor_fn *)zstr_free);
}

static void replay_fini(replay_t *r) {
    zhashx_destroy(&r->after);
}

static uint64_t after_get(replay_t *r, const char *topic) {
    uint64_t *v = (uint64_t *)zhashx_lookup(r->after, topic);
    return v ? *v : 0;
}

static void after_set(replay_t *r, const char *topic, uint64_t seq) {
    uint64_t *v = (uint64_t *)zhashx_lookup(r->after, topic);
    if (!v) {
        v = (uint64_t *)malloc(sizeof *v);
        zhashx_insert(r->after, topic, v);
    }
    *v = seq;
}

typedef void(replay_event_fn)(void *arg, const Xtbridge__Event *event);

/*  One pull: a replay request (fresh request id) carrying the whole after map. Checks the
    reply's contract: OK, at most the bridge's cap of events (0 -> 500, above 1000 -> 1000),
    only topics under the prefix, seq > after[topic] and, when `gapless` (nothing is pruned
    in these tests), seq == after[topic] + 1; `more` only with events. Updates the map, calls
    fn per event and returns `more`; *n_events is the reply's count. */
static bool replay_once(xtb_client_t *c, const char *prefix, uint32_t max_events, bool gapless,
                        replay_t *r, replay_event_fn *fn, void *arg, size_t *n_events) {
    uint32_t cap = max_events == 0 ? 500 : max_events > 1000 ? 1000 : max_events;
    size_t n = zhashx_size(r->after);
    const char **topics = (const char **)calloc(n + 1, sizeof *topics);
    uint64_t *seqs = (uint64_t *)calloc(n + 1, sizeof *seqs);
    size_t i = 0;
    for (uint64_t *v = (uint64_t *)zhashx_first(r->after); v;
         v = (uint64_t *)zhashx_next(r->after)) {
        topics[i] = (const char *)zhashx_cursor(r->after);
        seqs[i++] = *v;
    }
    Xtbridge__Request *req = xtb_req_replay(prefix, topics, seqs, n, max_events);
    free(topics);
    free(seqs);
    Xtbridge__Reply *reply = xtbt_call_ok(c, req, XTBRIDGE__REPLY__RESULT_REPLAY);
    Xtbridge__ReplayReply *rr = reply->replay;
    r->requests++;
    cr_assert_leq(rr->n_events, cap, "replay '%s' max_events %u: %zu events in one reply", prefix,
                  max_events, rr->n_events);
    cr_assert(!rr->more || rr->n_events > 0, "replay '%s': more=true on an empty reply", prefix);
    size_t plen = strlen(prefix);
    for (i = 0; i < rr->n_events; i++) {
        const Xtbridge__Event *ev = rr->events[i];
        cr_assert(ev->topic && strncmp(ev->topic, prefix, plen) == 0,
                  "replay '%s' returned topic '%s'", prefix, ev->topic);
        uint64_t prev = after_get(r, ev->topic);
        if (gapless)
            cr_assert_eq(ev->seq, prev + 1, "replay '%s': %s seq %llu follows %llu", prefix,
                         ev->topic, (unsigned long long)ev->seq, (unsigned long long)prev);
        else
            cr_assert_gt(ev->seq, prev, "replay '%s': %s seq %llu after %llu", prefix, ev->topic,
                         (unsigned long long)ev->seq, (unsigned long long)prev);
        after_set(r, ev->topic, ev->seq);
        if (fn)
            fn(arg, ev);
    }
    r->events += rr->n_events;
    if (n_events)
        *n_events = rr->n_events;
    bool more = rr->more;
    xtb_reply_destroy(&reply);
    return more;
}

/* Pull until more = false, at most max_requests requests. */
static void replay_all(xtb_client_t *c, const char *prefix, uint32_t max_events, replay_t *r,
                       replay_event_fn *fn, void *arg, size_t max_requests) {
    size_t start = r->requests;
    while (replay_once(c, prefix, max_events, true, r, fn, arg, NULL))
        cr_assert_lt(r->requests - start, max_requests,
                     "replay '%s' max_events %u: still more after %zu requests", prefix, max_events,
                     r->requests - start);
}

/* Packed bytes of an event (protobuf-c packs canonically: same content, same bytes). */
static zchunk_t *pack_event(const Xtbridge__Event *ev) {
    size_t len = xtbridge__event__get_packed_size(ev);
    uint8_t *buf = (uint8_t *)malloc(len + 1);
    xtbridge__event__pack(ev, buf);
    zchunk_t *chunk = zchunk_new(buf, len);
    free(buf);
    return chunk;
}

static bool chunk_eq(zchunk_t *a, zchunk_t *b) {
    return zchunk_size(a) == zchunk_size(b) &&
           memcmp(zchunk_data(a), zchunk_data(b), zchunk_size(a)) == 0;
}

/* ---- 1. kill -9 in the middle of 10,000 orders from 4 clients -------------------------------- */

#define WORKERS 4
#define ORDERS_PER_WORKER 2500
#define KILL_AT (WORKERS * ORDERS_PER_WORKER / 2)
#define START_CASH_CENTS 10000000000LL /* 100,000,000.00 */
#define START_SELL_VOLUME 3000000

static const char *CRASH_CONFIG = "sim\n"
                                  "    account\n"
                                  "        id = 1000000365\n"
                                  "        type = STOCK\n"
                                  "        cash = 100000000\n"
                                  "        position\n"
                                  "            code = 000001.SZ\n"
                                  "            volume = 3000000\n"
                                  "            avg_price = 10.00\n";

static const char *const QUIET[] = {"--log-level", "info", NULL};

static atomic_int s_placed; /* orders answered OK, all workers */
static atomic_int s_phase;  /* 0 before the kill, 1 killed/restarting, 2 restarted */
static pthread_mutex_t s_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_half = PTHREAD_COND_INITIALIZER;

typedef struct {
    int index;
    const char *router_ep;
    uint64_t next_request;
    int64_t *ids; /* order ids answered OK, in order */
    size_t nids;
    int64_t max_pre_kill;     /* largest id answered before the kill */
    int64_t min_post_restart; /* smallest id of an order first sent after the restart */
    size_t resent;            /* requests sent again after a silent attempt */
    size_t cancels_ok, cancels_failed, prices;
    char error[512];
} worker_t;

static void worker_fail(worker_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void worker_fail(worker_t *w, const char *fmt, ...) {
    if (w->error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->error, sizeof w->error, fmt, ap);
    va_end(ap);
}

/*  Send with a fixed request id until answered: an attempt that stays silent for 2 s
    (the bridge was killed with the request in flight, or is restarting) is sent again
    with the same id, which the bridge answers from its idempotency table if it had
    committed it. DUPLICATE_IN_FLIGHT means the first copy is still being served: its
    reply follows. Anything but OK is a failure. Takes ownership of req. */
static Xtbridge__Reply *worker_call(worker_t *w, xtb_client_t *c, Xtbridge__Request *req,
                                    int *phase_at_send) {
    char id[64];
    snprintf(id, sizeof id, "w%d-%llu", w->index, (unsigned long long)++w->next_request);
    xtb_request_set_id(req, id);
    *phase_at_send = atomic_load(&s_phase);
    int64_t deadline = zclock_mono() + 60000;
    Xtbridge__Reply *reply = NULL;
    for (int attempt = 0; !reply && zclock_mono() < deadline; attempt++) {
        if (attempt > 0)
            w->resent++;
        if (xtb_client_call(c, req, 2000, &reply) != 0) {
            reply = NULL;
            continue;
        }
        while (reply->error && reply->error->code == XTBRIDGE__ERROR_CODE__DUPLICATE_IN_FLIGHT) {
            xtb_reply_destroy(&reply);
            if (xtb_client_recv_reply(c, id, 2000, &reply) != 0) {
                reply = NULL;
                break;
            }
        }
    }
    const char *name = xtb_request_body_name(req->body_case);
    xtb_request_destroy(&req);
    if (!reply) {
        worker_fail(w, "%s %s: no reply within 60 s", name, id);
        return NULL;
    }
    if (!reply->error || reply->error->code != XTBRIDGE__ERROR_CODE__OK) {
        worker_fail(w, "%s %s: %s: %s", name, id,
                    xtb_error_code_name(reply->error ? (int)reply->error->code : -1),
                    reply->error ? reply->error->message : "no error field");
        xtb_reply_destroy(&reply);
    }
    return reply;
}

/*  One client: ORDERS_PER_WORKER orders in a fixed mix (per 5 steps: a resting buy, a
    marketable buy, two sells of held shares, a cancel of its oldest resting order), and
    every 40 steps the sell code's price toggles between 11.30 (sells fill, LIQUIDITY shares
    per pass: partial fills) and 11.00. */
static void *worker_run(void *arg) {
    worker_t *w = (worker_t *)arg;
    xtb_client_t *c = xtb_client_new(w->router_ep, NULL);
    if (!c) {
        worker_fail(w, "no client on %s", w->router_ep);
        return NULL;
    }
    w->ids = (int64_t *)calloc(ORDERS_PER_WORKER, sizeof *w->ids);
    int64_t *cancelable = (int64_t *)calloc(ORDERS_PER_WORKER, sizeof *cancelable);
    size_t head = 0, tail = 0;
    int phase = 0;
    for (int step = 0; w->nids < ORDERS_PER_WORKER && !w->error[0]; step++) {
        if (step % 40 == 39) {
            double last = (step / 40) % 2 == 0 ? 11.30 : 11.00;
            Xtbridge__Reply *r =
                worker_call(w, c, xtb_req_sim_set_price(CODE_SELL, last, 0, LIQUIDITY), &phase);
            if (!r)
                break;
            w->prices++;
            xtb_reply_destroy(&r);
        }
        int kind = step % 5;
        Xtbridge__Request *req = NULL;
        switch (kind) {
        case 0:
            req = xtb_req_order(ACC, CODE_BUY, BUY, 100, FIX, REST_PRICE, "dur", "rest", false);
            break;
        case 1:
            req = xtb_req_order(ACC, CODE_BUY, BUY, 100, FIX, FILL_PRICE, "dur", "fill", false);
            break;
        case 3:
            if (head == tail)
                continue;
            req = xtb_req_cancel(ACC, cancelable[head++], false);
            break;
        default:
            req = xtb_req_order(ACC, CODE_SELL, SELL, 500, FIX, SELL_PRICE, "dur", "sell", false);
            break;
        }
        Xtbridge__Reply *r = worker_call(w, c, req, &phase);
        if (!r)
            break;
        if (kind == 3) {
            if (r->result_case != XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK)
                worker_fail(w, "cancel: result case %d", r->result_case);
            else if (r->cancel_order_stock->result == 0)
                w->cancels_ok++;
            else if (r->cancel_order_stock->result == -1)
                w->cancels_failed++; /* the sell had filled completely meanwhile */
            else
                worker_fail(w, "cancel: result %d", r->cancel_order_stock->result);
            xtb_reply_destroy(&r);
            continue;
        }
        int64_t id =
            r->result_case == XTBRIDGE__REPLY__RESULT_ORDER_STOCK ? r->order_stock->order_id : 0;
        xtb_reply_destroy(&r);
        if (id <= 0) {
            worker_fail(w, "order_stock returned %lld", (long long)id);
            break;
        }
        w->ids[w->nids++] = id;
        if (kind != 1)
            cancelable[tail++] = id;
        if (phase == 0 && atomic_load(&s_phase) == 0 && id > w->max_pre_kill)
            w->max_pre_kill = id;
        if (phase == 2 && (w->min_post_restart == 0 || id < w->min_post_restart))
            w->min_post_restart = id;
        if (atomic_fetch_add(&s_placed, 1) + 1 == KILL_AT) {
            pthread_mutex_lock(&s_mutex);
            pthread_cond_signal(&s_half);
            pthread_mutex_unlock(&s_mutex);
        }
    }
    free(cancelable);
    xtb_client_destroy(&c);
    return NULL;
}

/* A live subscriber to the account's pushes: topic#seq -> packed event. */
typedef struct {
    xtb_client_t *client;
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t traded; /* signalled at every trade push */
    size_t trades;
    atomic_bool stop;
    zhashx_t *seen;
    size_t events;
    char error[256];
} live_t;

static void *live_run(void *arg) {
    live_t *l = (live_t *)arg;
    while (!atomic_load(&l->stop)) {
        char *topic = NULL;
        Xtbridge__Event *ev = NULL;
        if (xtb_client_recv_event(l->client, 200, &topic, &ev) != 0)
            continue;
        char key[192];
        snprintf(key, sizeof key, "%s#%llu", topic, (unsigned long long)ev->seq);
        zchunk_t *packed = pack_event(ev);
        zchunk_t *old = (zchunk_t *)zhashx_lookup(l->seen, key);
        if (strcmp(topic, ev->topic ? ev->topic : "") != 0 && !l->error[0])
            snprintf(l->error, sizeof l->error, "push on %s carries topic %s", topic, ev->topic);
        if (old) {
            /* a seq published twice on a topic: reused after the restart */
            if (!chunk_eq(old, packed) && !l->error[0])
                snprintf(l->error, sizeof l->error, "%s published twice with different content",
                         key);
            zchunk_destroy(&packed);
        } else
            zhashx_insert(l->seen, key, packed);
        l->events++;
        if (ev->body_case == XTBRIDGE__EVENT__BODY_TRADE) {
            pthread_mutex_lock(&l->mutex);
            l->trades++;
            pthread_cond_signal(&l->traded);
            pthread_mutex_unlock(&l->mutex);
        }
        free(topic);
        xtb_event_destroy(&ev);
    }
    return NULL;
}

/* What the journal says: last order push per order id, trade ids, live pushes matched. */
typedef struct {
    zhashx_t *last_order; /* "<order_id>" -> Xtbridge__XtOrder (packed copy) as zchunk */
    zhashx_t *trade_ids;  /* traded_id -> "" */
    size_t trade_pushes;
    size_t duplicate_trades;
    live_t *live;
    size_t live_matched;
    size_t live_differ;
    char differ[192];
} journal_t;

static void journal_event(void *arg, const Xtbridge__Event *ev) {
    journal_t *j = (journal_t *)arg;
    if (strcmp(ev->topic, "order." ACC ".") == 0 && ev->body_case == XTBRIDGE__EVENT__BODY_ORDER) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)ev->order->order_id);
        size_t len = xtbridge__xt_order__get_packed_size(ev->order);
        uint8_t *buf = (uint8_t *)malloc(len + 1);
        xtbridge__xt_order__pack(ev->order, buf);
        zhashx_update(j->last_order, key, zchunk_new(buf, len));
        free(buf);
    }
    if (strcmp(ev->topic, "trade." ACC ".") == 0 && ev->body_case == XTBRIDGE__EVENT__BODY_TRADE) {
        j->trade_pushes++;
        if (zhashx_insert(j->trade_ids, ev->trade->traded_id, (void *)"") != 0)
            j->duplicate_trades++;
    }
    char key[192];
    snprintf(key, sizeof key, "%s#%llu", ev->topic, (unsigned long long)ev->seq);
    zchunk_t *seen = j->live ? (zchunk_t *)zhashx_lookup(j->live->seen, key) : NULL;
    if (seen) {
        zchunk_t *packed = pack_event(ev);
        if (chunk_eq(seen, packed))
            j->live_matched++;
        else if (j->live_differ++ == 0)
            snprintf(j->differ, sizeof j->differ, "%s", key);
        zchunk_destroy(&packed);
        zhashx_delete(j->live->seen, key);
    }
}

static Xtbridge__XtOrder *journal_last_order(journal_t *j, int64_t order_id) {
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)order_id);
    zchunk_t *chunk = (zchunk_t *)zhashx_lookup(j->last_order, key);
    return chunk ? xtbridge__xt_order__unpack(NULL, zchunk_size(chunk), zchunk_data(chunk)) : NULL;
}

/* Start the live subscriber thread on every kind of the account's pushes, in effect. */
static void live_start(live_t *l, xtbt_bridge_t *b) {
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mutex, NULL);
    pthread_cond_init(&l->traded, NULL);
    l->client = xtbt_bridge_client(b);
    l->seen = zhashx_new();
    zhashx_set_destructor(l->seen, (zhashx_destructor_fn *)zchunk_destroy);
    const char *kinds[] = {"order",       "trade",        "order_error", "cancel_error",
                           "order_async", "cancel_async", "position",    "asset"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char topic[64];
        snprintf(topic, sizeof topic, "%s.%s.", kinds[i], ACC);
        cr_assert_eq(xtb_client_subscribe(l->client, topic), 0);
    }
    cr_assert_eq(xtb_client_sync_subscriptions(l->client, 5000), 0, "%s",
                 xtb_client_error(l->client));
    cr_assert_eq(pthread_create(&l->thread, NULL, live_run, l), 0);
}

static void live_stop(live_t *l) {
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    cr_assert_str_empty(l->error, "live subscriber: %s", l->error);
}

static void live_fini(live_t *l) {
    pthread_cond_destroy(&l->traded);
    pthread_mutex_destroy(&l->mutex);
    zhashx_destroy(&l->seen);
    xtb_client_destroy(&l->client);
}

/* Starting cash and positions (held since yesterday) of the account. */
typedef struct {
    int64_t cash_cents;
    const char *const *codes;
    const int64_t *volumes;
    size_t ncodes;
} book_start_t;

typedef struct {
    size_t statuses[64];  /* orders by status */
    int64_t max_order_id; /* in the book */
    zhashx_t *trade_ids;  /* the book's trade ids; the caller destroys it */
    int64_t bought, sold; /* shares */
    size_t events, requests, live_matched;
} book_summary_t;

typedef struct {
    int64_t bought, sold, open_sell; /* shares */
} code_sum_t;

static code_sum_t *code_sum(zhashx_t *codes, const char *code) {
    code_sum_t *cs = (code_sum_t *)zhashx_lookup(codes, code);
    if (!cs) {
        cs = (code_sum_t *)calloc(1, sizeof *cs);
        zhashx_insert(codes, code, cs);
    }
    return cs;
}

/*  The book after a crash against what the journal and the replies say:
    - replay of every topic from seq 0 is gap-free per topic, holds every push the live
      subscriber saw with the same bytes (live may be NULL), and no trade id twice;
    - every order answered OK (`ok`, "<id>" keys) is in the book exactly once, no other
      order is, none is a rejection, and each has the status and traded volume of its last
      order push; its trades add up to its traded volume;
    - trades: ids unique, each pushed once; positions = start + bought - sold per code,
      frozen = open sells' remainder, can_use = start - sold - frozen (T+1);
    - frozen cash = 1005.01 per open resting buy (all 100 @ 10.00, untraded), and
      cash + frozen + fees + bought amounts - sold amounts = starting cash, to the cent. */
static void verify_book(xtb_client_t *c, zhashx_t *ok, live_t *live, const book_start_t *start,
                        book_summary_t *sum) {
    memset(sum, 0, sizeof *sum);
    journal_t j = {.last_order = zhashx_new(), .trade_ids = zhashx_new(), .live = live};
    zhashx_set_destructor(j.last_order, (zhashx_destructor_fn *)zchunk_destroy);
    size_t live_total = live ? zhashx_size(live->seen) : 0;
    replay_t all;
    replay_init(&all);
    replay_all(c, "", 1000, &all, journal_event, &j, 1000);
    sum->events = all.events;
    sum->requests = all.requests;
    sum->live_matched = j.live_matched;
    replay_fini(&all);
    cr_assert_eq(j.duplicate_trades, 0, "a trade id was pushed twice");
    cr_assert_eq(j.live_differ, 0, "%zu live pushes differ from the journal (first %s)",
                 j.live_differ, j.differ);
    if (live && zhashx_size(live->seen)) {
        zhashx_first(live->seen);
        cr_assert_fail("%zu of %zu live pushes are not in the replay (e.g. %s)",
                       zhashx_size(live->seen), live_total,
                       (const char *)zhashx_cursor(live->seen));
    }
    if (live)
        cr_assert_gt(j.live_matched, 0);

    /* The book: every OK order once, with the status and fills of its last push. */
    Xtbridge__Reply *orders = query_orders(c);
    Xtbridge__OrdersReply *o = orders->query_stock_orders;
    cr_assert_eq(o->n_orders, zhashx_size(ok), "%zu orders in the book, %zu answered OK",
                 o->n_orders, zhashx_size(ok));
    zhashx_t *codes = zhashx_new();
    zhashx_set_destructor(codes, (zhashx_destructor_fn *)zstr_free);
    zhashx_t *traded_by_order = zhashx_new();
    zhashx_set_destructor(traded_by_order, (zhashx_destructor_fn *)zstr_free);
    int64_t open_rest_buys = 0;
    for (size_t i = 0; i < o->n_orders; i++) {
        Xtbridge__XtOrder *ord = o->orders[i];
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)ord->order_id);
        cr_assert_not_null(zhashx_lookup(ok, key), "order %s in the book was never answered OK",
                           key);
        cr_assert_neq(ord->order_status, ST_JUNK, "order %s rejected: %s", key, ord->status_msg);
        Xtbridge__XtOrder *pushed = journal_last_order(&j, ord->order_id);
        cr_assert_not_null(pushed, "order %s has no order push in the journal", key);
        cr_assert_eq(ord->order_status, pushed->order_status,
                     "order %s: status %d in the book, %d in its last push", key, ord->order_status,
                     pushed->order_status);
        cr_assert_eq(ord->traded_volume, pushed->traded_volume,
                     "order %s: traded %lld in the book, %lld in its last push", key,
                     (long long)ord->traded_volume, (long long)pushed->traded_volume);
        xtbridge__xt_order__free_unpacked(pushed, NULL);
        sum->statuses[ord->order_status & 63]++;
        if (ord->order_id > sum->max_order_id)
            sum->max_order_id = ord->order_id;
        if (status_open(ord->order_status)) {
            if (ord->order_type == BUY) {
                cr_assert(ord->traded_volume == 0 && ord->order_volume == 100 &&
                              xtbt_money_eq(ord->price, REST_PRICE),
                          "open buy %s: %lld of %lld @ %.2f", key, (long long)ord->traded_volume,
                          (long long)ord->order_volume, ord->price);
                open_rest_buys++;
            } else
                code_sum(codes, ord->stock_code)->open_sell +=
                    ord->order_volume - ord->traded_volume;
        }
        int64_t *tv = (int64_t *)calloc(1, sizeof *tv);
        *tv = ord->traded_volume;
        cr_assert_eq(zhashx_insert(traded_by_order, key, tv), 0, "order %s twice in the book", key);
    }
    cr_assert_eq(zhashx_size(j.last_order), o->n_orders,
                 "the journal has order pushes for %zu orders, the book %zu",
                 zhashx_size(j.last_order), o->n_orders);
    xtb_reply_destroy(&orders);

    /* Trades: ids unique and pushed, fills per order add up. */
    Xtbridge__Reply *tr =
        xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES, ACC),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_TRADES);
    Xtbridge__TradesReply *t = tr->query_stock_trades;
    cr_assert_eq(t->n_trades, j.trade_pushes, "%zu trades in the book, %zu trade pushes",
                 t->n_trades, j.trade_pushes);
    sum->trade_ids = zhashx_new();
    int64_t buy_cents = 0, sell_cents = 0, fee_cents = 0;
    for (size_t i = 0; i < t->n_trades; i++) {
        Xtbridge__XtTrade *x = t->trades[i];
        cr_assert_eq(zhashx_insert(sum->trade_ids, x->traded_id, (void *)""), 0,
                     "trade id %s twice", x->traded_id);
        cr_assert_not_null(zhashx_lookup(j.trade_ids, x->traded_id), "trade %s was never pushed",
                           x->traded_id);
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)x->order_id);
        int64_t *tv = (int64_t *)zhashx_lookup(traded_by_order, key);
        cr_assert_not_null(tv, "trade %s of unknown order %s", x->traded_id, key);
        *tv -= x->traded_volume;
        cr_assert(xtbt_money_eq(x->traded_amount, (double)cents(x->traded_amount) / 100.0));
        if (x->order_type == BUY) {
            code_sum(codes, x->stock_code)->bought += x->traded_volume;
            sum->bought += x->traded_volume;
            buy_cents += cents(x->traded_amount);
        } else {
            code_sum(codes, x->stock_code)->sold += x->traded_volume;
            sum->sold += x->traded_volume;
            sell_cents += cents(x->traded_amount);
        }
        fee_cents += cents(x->commission);
    }
    for (int64_t *tv = (int64_t *)zhashx_first(traded_by_order); tv;
         tv = (int64_t *)zhashx_next(traded_by_order))
        cr_assert_eq(*tv, 0, "order %s: traded_volume differs from its trades by %lld",
                     (const char *)zhashx_cursor(traded_by_order), (long long)*tv);
    xtb_reply_destroy(&tr);

    /* Positions follow from the trades. */
    for (size_t i = 0; i < start->ncodes; i++)
        code_sum(codes, start->codes[i]);
    Xtbridge__Reply *pr =
        xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITIONS, ACC),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITIONS);
    size_t held = 0;
    for (size_t i = 0; i < pr->query_stock_positions->n_positions; i++) {
        Xtbridge__XtPosition *p = pr->query_stock_positions->positions[i];
        code_sum_t *cs = (code_sum_t *)zhashx_lookup(codes, p->stock_code);
        cr_assert_not_null(cs, "position in %s, never held nor traded", p->stock_code);
        int64_t at_start = 0;
        for (size_t k = 0; k < start->ncodes; k++)
            if (strcmp(start->codes[k], p->stock_code) == 0)
                at_start = start->volumes[k];
        cr_assert_eq(p->volume, at_start + cs->bought - cs->sold,
                     "%s: volume %lld, start %lld + bought %lld - sold %lld", p->stock_code,
                     (long long)p->volume, (long long)at_start, (long long)cs->bought,
                     (long long)cs->sold);
        cr_assert_eq(p->frozen_volume, cs->open_sell, "%s: frozen %lld, open sells %lld",
                     p->stock_code, (long long)p->frozen_volume, (long long)cs->open_sell);
        cr_assert_eq(p->can_use_volume, at_start - cs->sold - cs->open_sell,
                     "%s: can_use %lld (T+1: start %lld - sold %lld - frozen %lld)", p->stock_code,
                     (long long)p->can_use_volume, (long long)at_start, (long long)cs->sold,
                     (long long)cs->open_sell);
        if (p->volume > 0)
            held++;
    }
    size_t expect_held = 0;
    for (code_sum_t *cs = (code_sum_t *)zhashx_first(codes); cs;
         cs = (code_sum_t *)zhashx_next(codes)) {
        int64_t at_start = 0;
        for (size_t k = 0; k < start->ncodes; k++)
            if (strcmp(start->codes[k], (const char *)zhashx_cursor(codes)) == 0)
                at_start = start->volumes[k];
        if (at_start + cs->bought - cs->sold > 0)
            expect_held++;
    }
    cr_assert_eq(held, expect_held, "%zu positions held, %zu expected", held, expect_held);
    xtb_reply_destroy(&pr);

    /* Cash to the cent. */
    int64_t cash, frozen;
    query_asset(c, &cash, &frozen);
    cr_assert_eq(frozen, open_rest_buys * REST_FREEZE_CENTS,
                 "frozen %lld cents, %lld open resting buys", (long long)frozen,
                 (long long)open_rest_buys);
    cr_assert_eq(cash + frozen + fee_cents + buy_cents - sell_cents, start->cash_cents,
                 "cash %lld + frozen %lld + fees %lld + bought %lld - sold %lld != %lld (cents)",
                 (long long)cash, (long long)frozen, (long long)fee_cents, (long long)buy_cents,
                 (long long)sell_cents, (long long)start->cash_cents);
    zhashx_destroy(&codes);
    zhashx_destroy(&traded_by_order);
    zhashx_destroy(&j.last_order);
    zhashx_destroy(&j.trade_ids);
}

Test(durability, crash_mid_stream, .fini = cleanup, .timeout = 240) {
    xtbt_bridge_t *b = start_bridge(CRASH_CONFIG, QUIET);
    xtb_client_t *c = xtbt_bridge_client(b);
    set_price(c, CODE_SELL, 11.00, LIQUIDITY);

    /* Live subscriber to every kind of the account's pushes, in place before any order. */
    live_t live;
    live_start(&live, b);

    int64_t t0 = zclock_mono();
    worker_t workers[WORKERS];
    pthread_t threads[WORKERS];
    memset(workers, 0, sizeof workers);
    for (int i = 0; i < WORKERS; i++) {
        workers[i].index = i;
        workers[i].router_ep = b->router_ep;
        cr_assert_eq(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
    }

    /* Half the orders answered: kill -9 while the four clients keep sending. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 120;
    pthread_mutex_lock(&s_mutex);
    int wait_rc = 0;
    while (atomic_load(&s_placed) < KILL_AT && wait_rc == 0)
        wait_rc = pthread_cond_timedwait(&s_half, &s_mutex, &until);
    pthread_mutex_unlock(&s_mutex);
    cr_assert_geq(atomic_load(&s_placed), KILL_AT, "only %d orders answered in 120 s",
                  atomic_load(&s_placed));
    atomic_store(&s_phase, 1);
    int64_t t_kill = zclock_mono();
    kill9(b);
    int placed_at_kill = atomic_load(&s_placed);
    restart(b, QUIET);
    atomic_store(&s_phase, 2);
    int64_t t_up = zclock_mono();

    /* The first order of the new process: an id above every id answered before the kill. */
    int64_t marker = place(c, CODE_BUY, BUY, 100, REST_PRICE);

    for (int i = 0; i < WORKERS; i++)
        pthread_join(threads[i], NULL);
    int64_t t_done = zclock_mono();
    live_stop(&live);

    zhashx_t *ok = zhashx_new(); /* every order id answered OK */
    int64_t max_pre = 0, min_post = 0, twice = 0;
    size_t resent = 0, cancels_ok = 0, cancels_failed = 0;
    char errors[WORKERS * 600] = "";
    for (int i = 0; i < WORKERS; i++) {
        worker_t *w = &workers[i];
        if (w->error[0] || w->nids != ORDERS_PER_WORKER)
            snprintf(errors + strlen(errors), sizeof errors - strlen(errors),
                     "worker %d: %zu orders: %s; ", i, w->nids, w->error);
        for (size_t k = 0; k < w->nids; k++) {
            char key[32];
            snprintf(key, sizeof key, "%lld", (long long)w->ids[k]);
            if (zhashx_insert(ok, key, (void *)"w") != 0 && !twice)
                twice = w->ids[k];
        }
        if (w->max_pre_kill > max_pre)
            max_pre = w->max_pre_kill;
        if (w->min_post_restart && (!min_post || w->min_post_restart < min_post))
            min_post = w->min_post_restart;
        resent += w->resent;
        cancels_ok += w->cancels_ok;
        cancels_failed += w->cancels_failed;
        free(w->ids);
    }
    cr_assert_str_empty(errors, "%s", errors);
    cr_assert_eq(twice, 0, "order id %lld answered OK to two different requests", (long long)twice);
    char marker_key[32];
    snprintf(marker_key, sizeof marker_key, "%lld", (long long)marker);
    cr_assert_eq(zhashx_insert(ok, marker_key, (void *)"m"), 0, "marker id %lld reused",
                 (long long)marker);
    cr_assert_gt(max_pre, 0);
    cr_assert_gt(marker, max_pre, "first order after restart got id %lld, before the kill %lld",
                 (long long)marker, (long long)max_pre);
    if (min_post)
        cr_assert_gt(min_post, max_pre, "an order sent after the restart got id %lld <= %lld",
                     (long long)min_post, (long long)max_pre);
    cr_assert_gt(cancels_ok, 0);

    book_summary_t sum;
    const char *start_codes[] = {CODE_SELL};
    const int64_t start_volumes[] = {START_SELL_VOLUME};
    book_start_t start = {START_CASH_CENTS, start_codes, start_volumes, 1};
    verify_book(c, ok, &live, &start, &sum);
    cr_assert_gt(sum.statuses[ST_PART_SUCC] + sum.statuses[ST_PART_CANCEL], 0, "no partial fill");
    cr_assert_gt(sum.statuses[ST_SUCCEEDED], 0);
    cr_assert_gt(sum.statuses[ST_CANCELED], 0);
    cr_assert_gt(sum.bought, 0);
    cr_assert_gt(sum.sold, 0);
    zhashx_t *trade_ids = sum.trade_ids;
    int64_t max_id = sum.max_order_id;

    /* After all that, a new order and a new fill still get fresh ids. */
    int64_t fresh = place(c, CODE_BUY, BUY, 100, FILL_PRICE);
    cr_assert_gt(fresh, max_id);
    Xtbridge__Reply *tr =
        xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES, ACC),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_TRADES);
    cr_assert_eq(tr->query_stock_trades->n_trades, zhashx_size(trade_ids) + 1);
    Xtbridge__XtTrade *last = tr->query_stock_trades->trades[tr->query_stock_trades->n_trades - 1];
    cr_assert_eq(last->order_id, fresh);
    cr_assert_null(zhashx_lookup(trade_ids, last->traded_id), "trade id %s reused",
                   last->traded_id);
    xtb_reply_destroy(&tr);

    Xtbridge__Reply *st = xtbt_call_ok(c, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
    unsigned long long hits = (unsigned long long)st->stats->idempotent_hits;
    xtb_reply_destroy(&st);
    fprintf(stderr,
            "crash_mid_stream: %d orders answered at the kill (%.1f s), restart %.2f s, "
            "%zu requests resent (%llu answered from the idempotency table), %zu+1 orders, %zu "
            "trades, %zu cancels (%zu failed), "
            "%zu live pushes, %zu events replayed in %zu requests, total %.1f s\n",
            placed_at_kill, (double)(t_kill - t0) / 1000.0, (double)(t_up - t_kill) / 1000.0,
            resent, hits, zhashx_size(ok) - 1, zhashx_size(trade_ids), cancels_ok + cancels_failed,
            cancels_failed, live.events, sum.events, sum.requests, (double)(t_done - t0) / 1000.0);

    zhashx_destroy(&trade_ids);
    zhashx_destroy(&ok);
    live_fini(&live);
    xtb_client_destroy(&c);
    stop_bridge(&b);
}

/* ---- 2. one request id, three times, across kill -9 ------------------------------------------ */

static const char *SMALL_CONFIG = "sim\n"
                                  "    account\n"
                                  "        id = 1000000365\n"
                                  "        type = STOCK\n"
                                  "        cash = 1000000\n";

static int64_t order_with_id(xtb_client_t *c, const char *request_id) {
    Xtbridge__Request *req = xtb_req_order(ACC, CODE_BUY, BUY, 1000, FIX, 10.50, "idem", "", false);
    xtb_request_set_id(req, request_id);
    Xtbridge__Reply *r = xtbt_call_ok(c, req, XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    cr_assert_str_eq(r->request_id, request_id);
    int64_t id = r->order_stock->order_id;
    xtb_reply_destroy(&r);
    return id;
}

Test(durability, same_request_id_three_times_across_kill9, .fini = cleanup, .timeout = 60) {
    xtbt_bridge_t *b = start_bridge(SMALL_CONFIG, NULL);
    char routing_id[64];
    snprintf(routing_id, sizeof routing_id, "durtest-idem-%d", (int)getpid());
    xtb_client_options_t options = {.routing_id = routing_id};
    xtb_client_t *c = xtb_client_new(b->router_ep, &options);
    cr_assert_not_null(c);

    int64_t id = order_with_id(c, "idem-1");
    cr_assert_gt(id, 0);
    cr_assert_eq(order_with_id(c, "idem-1"), id);
    kill9(b);
    const char *power[] = {"--durability", "power", NULL};
    restart(b, power);
    cr_assert_eq(order_with_id(c, "idem-1"), id, "retry after kill -9: another order");
    /* a new process of the same client: same routing id, new socket */
    xtb_client_destroy(&c);
    c = xtb_client_new(b->router_ep, &options);
    cr_assert_not_null(c);
    cr_assert_eq(order_with_id(c, "idem-1"), id);

    Xtbridge__Reply *r = query_orders(c);
    cr_assert_eq(r->query_stock_orders->n_orders, 1, "%zu orders for one request id",
                 r->query_stock_orders->n_orders);
    cr_assert_eq(r->query_stock_orders->orders[0]->order_id, id);
    cr_assert_eq(r->query_stock_orders->orders[0]->order_volume, 1000);
    cr_assert_eq(r->query_stock_orders->orders[0]->order_status, ST_REPORTED);
    xtb_reply_destroy(&r);
    int64_t cash, frozen;
    query_asset(c, &cash, &frozen);
    cr_assert_eq(cash, 98949489, "cash %lld cents: frozen once is 989494.89", (long long)cash);
    cr_assert_eq(frozen, 1050511, "frozen %lld cents, expected 10505.11", (long long)frozen);

    r = xtbt_call_ok(c, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
    cr_assert_eq(r->stats->idempotent_hits, 2, "idempotent hits since the restart: %llu",
                 (unsigned long long)r->stats->idempotent_hits);
    cr_assert_str_eq(r->stats->durability, "power");
    xtb_reply_destroy(&r);
    Xtbridge__Reply *h = NULL;
    cr_assert_eq(xtb_client_hello(c, 5000, &h), 0, "%s", xtb_client_error(c));
    cr_assert_str_eq(h->hello->durability, "power");
    cr_assert(!h->hello->degraded);
    xtb_reply_destroy(&h);

    /* A new request id is a new order with a fresh id. */
    int64_t other = order_with_id(c, "idem-2");
    cr_assert_gt(other, id);
    xtb_client_destroy(&c);
    stop_bridge(&b);
}

/* ---- 3. a full store: no OK for an order that is missing after restart ----------------------- */

static const char *FULL_CONFIG = "sim\n"
                                 "    account\n"
                                 "        id = 1000000365\n"
                                 "        type = STOCK\n"
                                 "        cash = 100000000\n";

/* Order pushes per order id in the journal ("<id>" -> count as a heap int). */
static void count_order_pushes(void *arg, const Xtbridge__Event *ev) {
    zhashx_t *counts = (zhashx_t *)arg;
    cr_assert_eq(ev->body_case, XTBRIDGE__EVENT__BODY_ORDER);
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)ev->order->order_id);
    int *n = (int *)zhashx_lookup(counts, key);
    if (!n) {
        n = (int *)calloc(1, sizeof *n);
        zhashx_insert(counts, key, n);
    }
    int32_t want = *n == 0 ? ST_UNREPORTED : ST_REPORTED;
    cr_assert_eq(ev->order->order_status, want, "order %s push %d: status %d", key, *n + 1,
                 ev->order->order_status);
    (*n)++;
}

/* The book and the journal hold exactly the orders in `ok`, each rested with 48 then 50. */
static void expect_exactly(xtb_client_t *c, zhashx_t *ok) {
    Xtbridge__Reply *r = query_orders(c);
    Xtbridge__OrdersReply *o = r->query_stock_orders;
    cr_assert_eq(o->n_orders, zhashx_size(ok), "%zu orders in the book, %zu answered OK",
                 o->n_orders, zhashx_size(ok));
    zhashx_t *seen = zhashx_new();
    for (size_t i = 0; i < o->n_orders; i++) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)o->orders[i]->order_id);
        cr_assert_not_null(zhashx_lookup(ok, key), "order %s was never answered OK", key);
        cr_assert_eq(zhashx_insert(seen, key, (void *)""), 0, "order %s twice", key);
        cr_assert_eq(o->orders[i]->order_status, ST_REPORTED);
    }
    zhashx_destroy(&seen);
    xtb_reply_destroy(&r);
    int64_t cash, frozen;
    query_asset(c, &cash, &frozen);
    cr_assert_eq(frozen, (int64_t)zhashx_size(ok) * REST_FREEZE_CENTS,
                 "frozen %lld cents for %zu resting orders", (long long)frozen, zhashx_size(ok));
    cr_assert_eq(cash + frozen, START_CASH_CENTS, "cash %lld + frozen %lld", (long long)cash,
                 (long long)frozen);

    zhashx_t *pushes = zhashx_new();
    zhashx_set_destructor(pushes, (zhashx_destructor_fn *)zstr_free);
    replay_t rp;
    replay_init(&rp);
    replay_all(c, "order." ACC ".", 1000, &rp, count_order_pushes, pushes, 1000);
    cr_assert_eq(zhashx_size(pushes), zhashx_size(ok), "order pushes for %zu orders, %zu OK",
                 zhashx_size(pushes), zhashx_size(ok));
    for (int *n = (int *)zhashx_first(pushes); n; n = (int *)zhashx_next(pushes)) {
        const char *key = (const char *)zhashx_cursor(pushes);
        cr_assert_not_null(zhashx_lookup(ok, key), "pushes for order %s, never answered OK", key);
        cr_assert_eq(*n, 2, "order %s: %d order pushes", key, *n);
    }
    replay_fini(&rp);
    zhashx_destroy(&pushes);
}

/*  The spec's failed-commit reply: "store commit failed: <cause>; nothing of this request
    was kept", the cause naming what failed (here: the store is full), said once. */
static bool commit_failure_text_ok(const char *m) {
    const char *prefix = "store commit failed: ", *suffix = "; nothing of this request was kept";
    size_t len = strlen(m), plen = strlen(prefix), slen = strlen(suffix);
    if (len <= plen + slen || strncmp(m, prefix, plen) != 0 || strcmp(m + len - slen, suffix) != 0)
        return false;
    char cause[512];
    snprintf(cause, sizeof cause, "%.*s", (int)(len - plen - slen), m + plen);
    return strstr(cause, "store commit failed") == NULL && strstr(cause, "full") != NULL;
}

Test(durability, full_store_no_ok_for_lost_order, .fini = cleanup, .timeout = 120) {
    /* the smallest map the bridge starts with */
    const char *sizes[] = {"1", "2", "4"};
    const char *args[] = {"--store-max-mb", NULL, "--log-level", "info", NULL};
    xtbt_bridge_t *b = NULL;
    for (size_t i = 0; i < 3 && !b; i++) {
        args[1] = sizes[i];
        b = xtbt_bridge_start(FULL_CONFIG, args);
    }
    s_bridge = b;
    cr_assert_not_null(b, "xtbridge did not start with --store-max-mb 1, 2 or 4");
    xtb_client_t *c = xtbt_bridge_client(b);
    xtb_client_t *sub = xtbt_bridge_client(b);
    cr_assert_eq(xtb_client_subscribe(sub, "order." ACC "."), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(sub, 5000), 0);

    zhashx_t *ok = zhashx_new();
    size_t failed = 0, attempts = 0;
    char first_error[512] = "", bad_text[512] = "", failed_id[32] = "";
    while (failed < 20) {
        cr_assert_lt(attempts++, 100000, "a %s MiB store took 100,000 orders without filling up",
                     args[1]);
        char request_id[32];
        snprintf(request_id, sizeof request_id, "full-%zu", attempts);
        Xtbridge__Request *req =
            xtb_req_order(ACC, CODE_BUY, BUY, 100, FIX, REST_PRICE, "full", "", false);
        xtb_request_set_id(req, request_id);
        Xtbridge__Reply *r = xtbt_call(c, req);
        if (r->error->code == XTBRIDGE__ERROR_CODE__OK) {
            cr_assert_eq(r->result_case, XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
            cr_assert_gt(r->order_stock->order_id, 0);
            char key[32];
            snprintf(key, sizeof key, "%lld", (long long)r->order_stock->order_id);
            cr_assert_eq(zhashx_insert(ok, key, (void *)""), 0, "order id %s answered twice", key);
        } else {
            cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__BACKEND_ERROR, "order %zu: %s: %s",
                         attempts, xtb_error_code_name(r->error->code), r->error->message);
            cr_assert(strstr(r->error->message, "store commit failed") != NULL, "message: %s",
                      r->error->message);
            /* checked after the durability checks below, which matter more */
            if (!bad_text[0] && !commit_failure_text_ok(r->error->message))
                snprintf(bad_text, sizeof bad_text, "%s", r->error->message);
            if (!failed++)
                snprintf(first_error, sizeof first_error, "%s", r->error->message);
            snprintf(failed_id, sizeof failed_id, "%s", request_id);
            /* the bridge keeps serving */
            expect_ping(c);
        }
        xtb_reply_destroy(&r);
    }
    cr_assert_gt(zhashx_size(ok), 0, "the first order already failed: %s", first_error);

    Xtbridge__Reply *h = NULL;
    cr_assert_eq(xtb_client_hello(c, 5000, &h), 0, "%s", xtb_client_error(c));
    cr_assert(!h->hello->degraded, "the sim can undo, yet hello says degraded: %s",
              h->hello->degraded_reason);
    xtb_reply_destroy(&h);
    Xtbridge__Reply *s = xtbt_call_ok(c, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
    cr_assert(!s->stats->degraded, "stats degraded: %s", s->stats->degraded_reason);
    cr_assert_geq(s->stats->commit_failures, failed, "commit_failures %llu, %zu BACKEND_ERRORs",
                  (unsigned long long)s->stats->commit_failures, failed);
    xtb_reply_destroy(&s);

    /* No push of a failed order went out, and no seq was taken for one: the live order
       pushes are 1, 2, 3 ... (drain what the PUB sent so far). */
    Xtbridge__Event *ev;
    size_t live = 0;
    while ((ev = xtbt_wait_event(sub, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER, 500))) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)ev->order->order_id);
        cr_assert_not_null(zhashx_lookup(ok, key), "a push for order %s, never answered OK", key);
        cr_assert_eq(ev->seq, live + 1, "live order push seq %llu after %zu",
                     (unsigned long long)ev->seq, live);
        xtb_event_destroy(&ev);
        live++;
    }
    cr_assert_eq(live, 2 * zhashx_size(ok), "%zu live order pushes for %zu orders", live,
                 zhashx_size(ok));

    expect_exactly(c, ok);
    kill9(b);
    restart(b, args);
    expect_exactly(c, ok);

    /* With room again, a failed request id is executed afresh (nothing of it was kept):
       a new order with a fresh id. */
    kill9(b);
    const char *bigger[] = {"--store-max-mb", "16", "--log-level", "info", NULL};
    restart(b, bigger);
    expect_exactly(c, ok);
    Xtbridge__Request *req =
        xtb_req_order(ACC, CODE_BUY, BUY, 100, FIX, REST_PRICE, "full", "", false);
    xtb_request_set_id(req, failed_id);
    Xtbridge__Reply *r = xtbt_call_ok(c, req, XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)r->order_stock->order_id);
    cr_assert_eq(zhashx_insert(ok, key, (void *)""), 0, "retry of %s got the used id %s", failed_id,
                 key);
    xtb_reply_destroy(&r);
    expect_exactly(c, ok);
    fprintf(stderr,
            "full_store: --store-max-mb %s: %zu orders OK, %zu BACKEND_ERROR (\"%s\"), "
            "restart kept all\n",
            args[1], zhashx_size(ok) - 1, failed, first_error);
    cr_assert_str_empty(bad_text,
                        "BACKEND_ERROR text is not \"store commit failed: <cause naming the "
                        "full store>; nothing of this request was kept\": %s",
                        bad_text);
    zhashx_destroy(&ok);
    xtb_client_destroy(&sub);
    xtb_client_destroy(&c);
    stop_bridge(&b);
}

/* ---- 4. replay of 200,000 events: nothing lost, memory bounded ------------------------------- */

#define REPLAY_EVENTS 200000
#define PIPELINE 256

static const char *BIG_CONFIG = "sim\n"
                                "    account\n"
                                "        id = 1000000365\n"
                                "        type = STOCK\n"
                                "        cash = 1000000000\n";

/* `n` resting buys pipelined over one DEALER, PIPELINE in flight; all must be OK. Their
   ids go into `ids` ("<id>" keys) unless NULL. */
static void pipeline_orders(zsock_t *dealer, int n, uint64_t *next_id, zhashx_t *ids) {
    Xtbridge__Request *req =
        xtb_req_order(ACC, CODE_BUY, BUY, 100, FIX, REST_PRICE, "bulk", "", false);
    int sent = 0, answered = 0;
    while (answered < n) {
        while (sent < n && sent - answered < PIPELINE) {
            char id[32];
            snprintf(id, sizeof id, "bulk-%llu", (unsigned long long)++*next_id);
            xtb_request_set_id(req, id);
            size_t len = xtbridge__request__get_packed_size(req);
            zframe_t *frame = zframe_new(NULL, len);
            xtbridge__request__pack(req, zframe_data(frame));
            cr_assert_eq(zframe_send(&frame, dealer, 0), 0);
            sent++;
        }
        zframe_t *frame = zframe_recv(dealer);
        cr_assert_not_null(frame, "no reply within 10 s (%d of %d answered)", answered, n);
        Xtbridge__Reply *r = xtbridge__reply__unpack(NULL, zframe_size(frame), zframe_data(frame));
        zframe_destroy(&frame);
        cr_assert_not_null(r);
        cr_assert(r->error && r->error->code == XTBRIDGE__ERROR_CODE__OK, "bulk order: %s: %s",
                  xtb_error_code_name(r->error ? (int)r->error->code : -1),
                  r->error ? r->error->message : "");
        cr_assert_eq(r->result_case, XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
        cr_assert_gt(r->order_stock->order_id, 0);
        if (ids) {
            char key[32];
            snprintf(key, sizeof key, "%lld", (long long)r->order_stock->order_id);
            cr_assert_eq(zhashx_insert(ids, key, (void *)""), 0, "order id %s twice", key);
        }
        xtbridge__reply__free_unpacked(r, NULL);
        answered++;
    }
    xtb_request_destroy(&req);
}

/* Peak memory of the bridge sampled every `every` replayed events. */
typedef struct {
    pid_t pid;
    size_t every;
    size_t count;
    long max_rss;  /* VmRSS: heap and the LMDB pages mapped in */
    long max_anon; /* RssAnon: heap only */
} rss_probe_t;

static void probe_sample(rss_probe_t *p) {
    long rss = status_kib(p->pid, "VmRSS"), anon = status_kib(p->pid, "RssAnon");
    if (rss > p->max_rss)
        p->max_rss = rss;
    if (anon > p->max_anon)
        p->max_anon = anon;
}

static void probe_rss(void *arg, const Xtbridge__Event *ev) {
    (void)ev;
    rss_probe_t *p = (rss_probe_t *)arg;
    if (++p->count % p->every == 0)
        probe_sample(p);
}

/* Replay every topic with max_events: each topic's seqs 1..last exactly once, in order
   (replay_all), the order topic up to order_last and the account's topics adding up to
   the baseline taken before. Returns the number of requests. */
static size_t replay_everything(xtb_client_t *c, uint32_t max_events, rss_probe_t *probe,
                                const char *order_topic, uint64_t order_last, uint64_t total) {
    replay_t all;
    replay_init(&all);
    replay_all(c, "", max_events, &all, probe_rss, probe, 100000);
    cr_assert_geq(all.events, REPLAY_EVENTS);
    cr_assert_eq(after_get(&all, order_topic), order_last, "max_events %u: %s up to %llu",
                 max_events, order_topic, (unsigned long long)after_get(&all, order_topic));
    uint64_t account_total = 0;
    for (uint64_t *v = (uint64_t *)zhashx_first(all.after); v;
         v = (uint64_t *)zhashx_next(all.after))
        if (strstr((const char *)zhashx_cursor(all.after), "." ACC "."))
            account_total += *v;
    cr_assert_eq(account_total, total, "max_events %u: %llu account events, baseline %llu",
                 max_events, (unsigned long long)account_total, (unsigned long long)total);
    size_t requests = all.requests;
    replay_fini(&all);
    return requests;
}

/* Events of xtb_client_replay_max, checked gap-free per topic like replay_once does. */
typedef struct {
    replay_t r;
    rss_probe_t *probe;
    char error[256];
} client_pass_t;

static int client_pass_event(const Xtbridge__Event *ev, void *arg) {
    client_pass_t *p = (client_pass_t *)arg;
    uint64_t prev = after_get(&p->r, ev->topic);
    if (ev->seq != prev + 1 && !p->error[0])
        snprintf(p->error, sizeof p->error, "%s seq %llu follows %llu", ev->topic,
                 (unsigned long long)ev->seq, (unsigned long long)prev);
    after_set(&p->r, ev->topic, ev->seq);
    p->r.events++;
    probe_rss(p->probe, ev);
    return 0;
}

Test(durability, replay_200k_bounded, .fini = cleanup, .timeout = 240) {
    /* ASan keeps freed blocks in a quarantine (256 MB by default, plus a per-thread one)
       before reusing them, so the RSS of a sanitized bridge grows with what it freed;
       switch the quarantine off for this bridge so that RSS shows what the bridge holds
       (measured: with a 1 MB quarantine the heap still grew 11 MB over these replays,
       without it 1 MB, as in a build without sanitizers). */
    const char *asan = getenv("ASAN_OPTIONS");
    char options[512];
    snprintf(options, sizeof options, "%s%squarantine_size_mb=0:thread_local_quarantine_size_kb=0",
             asan ? asan : "", asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", options, 1);
    xtbt_bridge_t *b = start_bridge(BIG_CONFIG, QUIET);
    xtb_client_t *c = xtbt_bridge_client(b);

    int64_t t0 = zclock_mono();
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    cr_assert_not_null(dealer);
    zsock_set_identity(dealer, "durtest-bulk");
    zsock_set_rcvtimeo(dealer, 10000);
    zsock_set_sndtimeo(dealer, 10000);
    zsock_set_linger(dealer, 0);
    cr_assert_eq(zsock_connect(dealer, "%s", b->router_ep), 0);
    uint64_t next_id = 0;
    const char *order_topic = "order." ACC ".";
    uint64_t order_last = 0, total = 0;
    /* 3 pushes per resting buy (order 48, order 50, asset); keep going if fewer. */
    int chunk = REPLAY_EVENTS / 3 + 1;
    while ((total = account_last_seq(c, order_topic, &order_last)) < REPLAY_EVENTS) {
        int n = (int)((REPLAY_EVENTS - total) / 2 + 1);
        pipeline_orders(dealer, n < chunk ? n : chunk, &next_id, NULL);
    }
    zsock_destroy(&dealer);
    int64_t t1 = zclock_mono();
    cr_assert_geq(order_last, 5000);

    /* Idle heap, then a first pass over everything (1000 per request) that also maps the
       whole journal into the bridge's address space: LMDB reads through mmap, so VmRSS
       counts the journal's file pages once they are read. From then on VmRSS may only grow
       by what replay holds on the heap. */
    expect_ping(c);
    rss_probe_t probe = {.pid = b->pid, .every = 2000};
    probe_sample(&probe);
    long anon_idle = probe.max_anon, rss_idle = probe.max_rss;
    cr_assert_gt(anon_idle, 0);
    size_t warm = replay_everything(c, 1000, &probe, order_topic, order_last, total);
    expect_ping(c);
    long anon_warm = probe.max_anon;
    long before = status_kib(b->pid, "VmRSS"), anon_before = status_kib(b->pid, "RssAnon");
    probe.max_rss = before;
    probe.max_anon = anon_before;
    int64_t t2 = zclock_mono();

    /* max_events 1 on the last 5,000 order pushes: 5,000 requests, one event each, `more`
       on all but the last. */
    replay_t slice;
    replay_init(&slice);
    after_set(&slice, order_topic, order_last - 5000);
    for (uint64_t k = 1; k <= 5000; k++) {
        size_t n = 0;
        bool more = replay_once(c, order_topic, 1, true, &slice, probe_rss, &probe, &n);
        cr_assert_eq(n, 1, "request %llu of the slice: %zu events", (unsigned long long)k, n);
        cr_assert_eq(more, k < 5000, "request %llu of 5000: more=%d", (unsigned long long)k, more);
    }
    cr_assert_eq(after_get(&slice, order_topic), order_last);
    replay_fini(&slice);
    int64_t t3 = zclock_mono();

    /* Everything again with 7, the default (500) and above the cap (1000). */
    uint32_t maxes[] = {7, 0, 5000};
    size_t requests[3];
    for (size_t i = 0; i < 3; i++)
        requests[i] = replay_everything(c, maxes[i], &probe, order_topic, order_last, total);

    /* And once through the C client's own pull loop. */
    client_pass_t pass = {.probe = &probe};
    replay_init(&pass.r);
    int n = xtb_client_replay_max(c, "", NULL, NULL, 0, 1000, 10000, client_pass_event, &pass);
    cr_assert_geq(n, REPLAY_EVENTS, "xtb_client_replay_max: %d (%s)", n, xtb_client_error(c));
    cr_assert_str_empty(pass.error, "xtb_client_replay_max: %s", pass.error);
    cr_assert_eq(after_get(&pass.r, order_topic), order_last);
    cr_assert_geq(xtb_client_replay_requests(c), (size_t)n / 1000);
    replay_fini(&pass.r);
    int64_t t4 = zclock_mono();
    expect_ping(c);
    long after = status_kib(b->pid, "VmRSS"), anon_after = status_kib(b->pid, "RssAnon");
    fprintf(stderr,
            "replay_200k: %llu account events from %llu orders in %.1f s; everything with "
            "1000: %zu requests %.1f s; slice of 5000 with 1: %.1f s; everything with 7/0/5000 "
            "and through xtb_client_replay_max (1000): %zu/%zu/%zu/%zu requests %.1f s; VmRSS KiB "
            "idle %ld, before %ld, after %ld, max %ld; "
            "RssAnon KiB idle %ld, max in the first pass %ld, before %ld, after %ld, max %ld\n",
            (unsigned long long)total, (unsigned long long)next_id, (double)(t1 - t0) / 1000.0,
            warm, (double)(t2 - t1) / 1000.0, (double)(t3 - t2) / 1000.0, requests[0], requests[1],
            requests[2], xtb_client_replay_requests(c), (double)(t4 - t3) / 1000.0, rss_idle,
            before, after, probe.max_rss, anon_idle, anon_warm, anon_before, anon_after,
            probe.max_anon);
    cr_assert_leq(anon_warm - anon_idle, 16 * 1024,
                  "heap (RssAnon) grew from %ld to %ld KiB in the first pass", anon_idle,
                  anon_warm);
    cr_assert_leq(after - before, 16 * 1024, "VmRSS grew from %ld to %ld KiB over the replays",
                  before, after);
    cr_assert_leq(probe.max_rss - before, 16 * 1024,
                  "VmRSS peaked at %ld KiB during the replays (%ld before)", probe.max_rss, before);
    cr_assert_leq(probe.max_anon - anon_before, 16 * 1024,
                  "heap (RssAnon) peaked at %ld KiB during the replays (%ld before)",
                  probe.max_anon, anon_before);
    xtb_client_destroy(&c);
    stop_bridge(&b);
}

/* ---- 5. one bridge per data dir -------------------------------------------------------------- */

Test(durability, second_bridge_same_data_dir_exits_2, .fini = cleanup, .timeout = 60) {
    xtbt_bridge_t *b = start_bridge(SMALL_CONFIG, NULL);
    xtb_client_t *c = xtbt_bridge_client(b);
    int64_t first = place(c, CODE_BUY, BUY, 100, REST_PRICE);

    char router[256], pub[256], log_path[320];
    xtbt_endpoint(router, sizeof router, "second-router");
    xtbt_endpoint(pub, sizeof pub, "second-pub");
    snprintf(log_path, sizeof log_path, "%s/xtbt-second-%d.log", xtbt_tmpdir(), (int)getpid());
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        const char *args[] = {"--backend", "sim",       "--router", router,         "--pub", pub,
                              "--data",    b->data_dir, "--config", b->config_path, NULL};
        xtbt_bridge_exec(args);
    }
    /* A process exit has no socket to poll: check every 5 ms, at most 20 s. */
    int status = 0;
    pid_t got = 0;
    for (int i = 0; i < 4000 && got == 0; i++) {
        got = waitpid(pid, &status, WNOHANG);
        if (got == 0)
            usleep(5000);
    }
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        cr_assert_fail("a second xtbridge on %s is still running after 20 s", b->data_dir);
    }
    char out[4096] = "";
    FILE *f = fopen(log_path, "r");
    if (f) {
        size_t n = fread(out, 1, sizeof out - 1, f);
        out[n] = '\0';
        fclose(f);
    }
    unlink(log_path);
    unlink(router + 6);
    unlink(pub + 6);
    cr_assert(WIFEXITED(status), "second bridge: status 0x%x, output: %s", status, out);
    cr_assert_eq(WEXITSTATUS(status), 2, "second bridge exited %d: %s", WEXITSTATUS(status), out);
    cr_assert(strstr(out, b->data_dir) != NULL, "the message does not name %s: %s", b->data_dir,
              out);
    cr_assert(strstr(out, "another xtbridge") != NULL, "message: %s", out);

    /* The first one serves on, its book untouched. */
    expect_ping(c);
    int64_t second = place(c, CODE_BUY, BUY, 100, REST_PRICE);
    cr_assert_gt(second, first);
    Xtbridge__Reply *r = query_orders(c);
    cr_assert_eq(r->query_stock_orders->n_orders, 2);
    xtb_reply_destroy(&r);

    /* The lock goes with the process: after kill -9 a new bridge takes the dir over. */
    kill9(b);
    restart(b, NULL);
    r = query_orders(c);
    cr_assert_eq(r->query_stock_orders->n_orders, 2);
    xtb_reply_destroy(&r);
    xtb_client_destroy(&c);
    stop_bridge(&b);
}

/* ---- 6. kill -9 in the middle of one price move that fills thousands of orders --------------- */

#define BURST_ORDERS 8000

/*  A sim_set_price that fills BURST_ORDERS resting buys makes 4 pushes per fill; the bridge
    commits and publishes them in slices (checkpoints). kill -9 as soon as the first trade
    push arrives, i.e. with most slices still to come: after the restart the book is exactly
    that of the last committed slice (orders, trades, positions, cash and the new last price
    agree with the journal), and a sim_tick completes the fills from there. */
Test(durability, kill9_mid_fill_burst, .fini = cleanup, .timeout = 120) {
    xtbt_bridge_t *b = start_bridge(CRASH_CONFIG, QUIET);
    xtb_client_t *c = xtbt_bridge_client(b);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    cr_assert_not_null(dealer);
    zsock_set_rcvtimeo(dealer, 10000);
    zsock_set_sndtimeo(dealer, 10000);
    zsock_set_linger(dealer, 0);
    cr_assert_eq(zsock_connect(dealer, "%s", b->router_ep), 0);
    zhashx_t *ok = zhashx_new();
    uint64_t next_id = 0;
    pipeline_orders(dealer, BURST_ORDERS, &next_id, ok);
    live_t live;
    live_start(&live, b);

    /* The price move, not waited for: its reply would only come after the last slice. */
    Xtbridge__Request *req = xtb_req_sim_set_price(CODE_BUY, 9.90, 0, -1);
    xtb_request_set_id(req, "burst-price");
    size_t len = xtbridge__request__get_packed_size(req);
    zframe_t *frame = zframe_new(NULL, len);
    xtbridge__request__pack(req, zframe_data(frame));
    xtb_request_destroy(&req);
    int64_t t0 = zclock_mono();
    cr_assert_eq(zframe_send(&frame, dealer, 0), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&live.mutex);
    int wait_rc = 0;
    while (live.trades == 0 && wait_rc == 0)
        wait_rc = pthread_cond_timedwait(&live.traded, &live.mutex, &until);
    pthread_mutex_unlock(&live.mutex);
    cr_assert_eq(wait_rc, 0, "no trade push within 60 s of the price move");
    kill9(b);
    int64_t t_kill = zclock_mono();
    bool replied = zsock_events(dealer) & ZMQ_POLLIN;
    zsock_destroy(&dealer);
    restart(b, QUIET);
    live_stop(&live);

    book_summary_t sum;
    const char *start_codes[] = {CODE_SELL};
    const int64_t start_volumes[] = {START_SELL_VOLUME};
    book_start_t start = {START_CASH_CENTS, start_codes, start_volumes, 1};
    verify_book(c, ok, &live, &start, &sum);
    size_t filled = sum.statuses[ST_SUCCEEDED];
    cr_assert_gt(filled, 0, "a trade was pushed, yet no order is filled after the restart");
    cr_assert_eq(filled + sum.statuses[ST_REPORTED], BURST_ORDERS);
    cr_assert_eq(sum.bought, (int64_t)filled * 100);
    zhashx_destroy(&sum.trade_ids);

    /* The new last price was committed with the first slice: matching resumes from it. */
    Xtbridge__Reply *r =
        xtbt_call_ok(c, xtb_req_sim_tick(CODE_BUY, 0), XTBRIDGE__REPLY__RESULT_SIM_TICK);
    cr_assert(strstr(r->sim_tick->message, "last 9.90") != NULL, "sim_tick after restart: %s",
              r->sim_tick->message);
    xtb_reply_destroy(&r);
    verify_book(c, ok, NULL, &start, &sum);
    cr_assert_eq(sum.statuses[ST_SUCCEEDED], BURST_ORDERS);
    cr_assert_eq(sum.bought, (int64_t)BURST_ORDERS * 100);
    fprintf(stderr,
            "kill9_mid_fill_burst: kill -9 %.0f ms after the price move (%s), %zu of %d fills "
            "committed, %zu live pushes, %zu events in the journal\n",
            (double)(t_kill - t0), replied ? "its reply had arrived" : "before its reply", filled,
            BURST_ORDERS, live.events, sum.events);
    zhashx_destroy(&sum.trade_ids);
    zhashx_destroy(&ok);
    live_fini(&live);
    xtb_client_destroy(&c);
    stop_bridge(&b);
}
