/*  xtb_bench.c - what xtbridge costs on top of the transport: its request latency, its
    pipelined rates and the delay of a large fill burst, each next to a raw libzmq
    DEALER/ROUTER echo running in ANOTHER PROCESS on the same transport (ipc://), measured
    in the same run. The machine it runs on is shared and noisy, so absolute microseconds
    mean little; ratios of interleaved measurements mean more, and those are what the
    issue-7 targets are written in.

        xtb_bench [--xtbridge PATH] [--dir DIR] [--durability LIST] [--sync N]
                  [--clients LIST] [--pipeline N] [--window N] [--burst N]
                  [--parts LIST] [--attach-ms N]
        xtb_bench --echo-server ENDPOINT          (the raw echo; the bench starts it)

    The bench writes a sim config (two accounts with huge cash, a large position held
    since yesterday so sells fill too), starts the echo process, then one bridge per
    durability mode (default "process,power", one after the other, each with a fresh
    --data dir) and kills everything it started at the end. With the first bridge:
    - sync round trips, interleaved one by one: raw echo, ping, a RESTING order_stock
      (buy below the last price) and a FILLING one (marketable on entry, buys and sells
      alternating);
    - 1/4/16/64 concurrent sync clients (resting orders), each against the echo with the
      same number of clients, in 6 alternating rounds (median rate reported);
    - pipelined over one DEALER with a window of outstanding requests: raw echo, ping,
      resting and filling orders, in interleaved rounds (median rate reported);
    - a burst: N resting buys at one price on a second account, then ONE sim_set_price
      that fills them all; time from sending it to the first and the last `trade.<acct>.`
      push at a SUB subscriber.
    Later bridges (e.g. --durability power) repeat the sync and pipelined order parts.
    Every reply is decoded and checked (OK, order id > 0); a SUB counts order_error
    pushes, so a rejected order cannot pass for a fast one. Not a test: it prints.
*/
/* nftw() and PR_SET_PDEATHSIG are not in plain C11 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "xtb_client.h"

/* The book the bench writes into its config (see write_config). */
#define MAIN_ACCOUNT "1000000365"
#define BURST_ACCOUNT "1000000366"
#define BOOK_ACCOUNT "1000000367" /* big books: queries, memory, the day close */
#define ORDER_CODE "600000.SH"
#define ORDER_LAST 10.60
#define RESTING_PRICE 10.00 /* below the last price, above the -10% limit: rests */
#define BURST_CODE "000001.SZ"
#define BURST_LAST 11.00
#define BURST_PRICE 10.90 /* rests until sim_set_price moves the last price onto it */
#define STOCK_BUY 23
#define STOCK_SELL 24
#define FIX_PRICE 11

/* Same queue limits as the bridge's ROUTER, so a window never blocks on a full pipe. */
#define HWM 100000
#define CALL_TIMEOUT_MS 20000
#define MAX_BRIDGES 4
#define MAX_CLIENT_COUNTS 4

/* Targets of issue 7 ("Done when"), for the default durability. */
#define TARGET_P50_RATIO 1.2
#define TARGET_P99_RATIO 3.0
#define TARGET_RESTING_RATE 72000.0
#define TARGET_FILLING_RATE 50000.0
#define TARGET_BURST_FIRST_MS 50.0

typedef struct {
    uint8_t *data;
    size_t size;
} buf_t;

/* How a reply is checked: an echo must come back byte for byte (and is decoded, as the
   bridge's replies are, so both sides pay the same client cost). */
typedef enum { CHECK_ECHO, CHECK_OK, CHECK_ORDER } check_t;

/* What to run (--parts): all by default; a subset is for profiling one kind of load. */
enum {
    PART_SYNC = 1,
    PART_CLIENTS = 2,
    PART_PING = 4,    /* pipelined ping */
    PART_RESTING = 8, /* pipelined resting orders */
    PART_FILLING = 16,
    PART_BURST = 32,
    PART_FANOUT = 64, /* raw PUB->SUB, then bridge bursts to 1 and 8 subscribers */
    PART_BOOK = 128,  /* queries on big books, memory per open order, the day close */
    PART_ALL = 255,
};
static const char *const part_names[] = {"sync",    "clients", "ping",   "resting",
                                         "filling", "burst",   "fanout", "book"};

typedef struct {
    const char *xtbridge;
    const char *dir;
    char durability[128];
    int sync_n;
    int clients[MAX_CLIENT_COUNTS];
    int nclients;
    int pipeline_n;
    int window;
    int burst_n;
    int rounds;
    unsigned parts;   /* PART_* */
    int attach_ms;    /* pause after each bridge starts, for perf/strace -p */
    int fanout_n;     /* orders filled per fan-out burst (4 events each) */
    int book_n;       /* open orders for the memory and day-close figures */
    const char *json; /* write the figures here as JSON ("-" = stdout) */
    const char *plot; /* write a PNG here (gnuplot) */
} opts_t;

/* --- results ----------------------------------------------------------------------- */

typedef struct {
    int64_t p50, p99, p999; /* ns */
} lat_t;

/* What a long request did to the loop: pings from a second DEALER while it ran, the
   bridge's own longest loop run meanwhile (stats). */
typedef struct {
    double ms;                  /* request -> reply */
    unsigned long long busy_us; /* the bridge's longest loop run meanwhile */
    int pings;                  /* answered meanwhile */
    double ping_max_ms;         /* the slowest of them, at the client */
} pinged_t;

typedef struct {
    char name[32]; /* durability mode, or "default" when the flag is not passed */
    bool full;     /* the first bridge also runs concurrency and burst */
    int sync_n;
    lat_t raw, ping, resting, filling, async_ack;
    struct {
        int clients;
        lat_t raw, order;
        double raw_rate, order_rate; /* all clients together, per second */
    } conc[MAX_CLIENT_COUNTS];
    int nconc;
    double rate_raw, rate_ping, rate_resting, rate_filling; /* per second, median */
    int burst_n;
    double burst_place_rate;
    double burst_first_ms, burst_reply_ms, burst_last_ms;
    long long burst_busy_us; /* the bridge's longest loop run during the burst */
    int burst_trades;
    uint64_t order_errors; /* order_error pushes seen */
    /* fan-out: [0] raw PUB->SUB, [1] bridge; subscriber counts 1 and 8 */
    struct {
        int subs;
        int events;         /* per subscriber */
        double rate;        /* events per second at the slowest subscriber */
        long long lost;     /* events missing live, summed over subscribers */
        long long replayed; /* of those, recovered by replay */
        long long missing;  /* still missing after replay (must be 0) */
    } fan[2][2];
    bool fan_run;
    /* big books */
    bool book_run;
    int64_t query_1k_ns, query_100k_ns; /* query_stock_orders p50 */
    int query_big_n;
    pinged_t query_pinged;                /* the big query once more, with pings alongside */
    int book_orders;                      /* open orders when the memory was read */
    double rss_per_order, anon_per_order; /* bytes */
    double rss_before_mb, rss_book_mb, rss_after_close_mb;
    pinged_t close;         /* sim_next_day, with pings alongside */
    long long close_orders; /* orders the close expired / freed */
    double close_ms_per_100k;
    char close_message[160]; /* the bridge's own account of the close */
    double anon_book_mb, anon_after_close_mb;
} result_t;

/* --- process bookkeeping: everything started is killed at the end ------------------- */

static pid_t children[MAX_BRIDGES + 16]; /* bridges, the echo, raw publishers */
static int nchildren;
/* replies that were not what the bench asked for (client threads count too) */
static atomic_ullong bad_replies;
static char self_exe[PATH_MAX];

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static pid_t spawn(char *const argv[]) {
    pid_t pid = fork();
    if (pid == 0) {
        /* If the bench dies (Ctrl-C, crash), its bridge and echo die with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(argv[0], argv);
        fprintf(stderr, "xtb_bench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (pid > 0 && nchildren < (int)(sizeof children / sizeof *children))
        children[nchildren++] = pid;
    return pid;
}

/* SIGTERM, then SIGKILL if it has not gone within a few seconds (a bridge finishing a
   big batch may take a moment; we do not wait for ever). */
static void stop_child(pid_t pid) {
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            goto reaped;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
reaped:
    for (int i = 0; i < nchildren; i++)
        if (children[i] == pid)
            children[i] = 0;
}

static void stop_all(void) {
    for (int i = 0; i < nchildren; i++)
        stop_child(children[i]);
}

static void on_signal(int sig) {
    for (int i = 0; i < nchildren; i++)
        if (children[i] > 0)
            kill(children[i], SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_tree(const char *path) {
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* --- statistics -------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static lat_t lat_of(int64_t *v, size_t n) {
    lat_t l = {0, 0, 0};
    if (!n)
        return l;
    qsort(v, n, sizeof *v, cmp_i64);
    l.p50 = v[(size_t)(0.50 * (double)(n - 1))];
    l.p99 = v[(size_t)(0.99 * (double)(n - 1))];
    l.p999 = v[(size_t)(0.999 * (double)(n - 1))];
    return l;
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    if (n == 0)
        return 0;
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* --- requests ---------------------------------------------------------------------- */

static uint64_t next_id; /* request ids: unique per bench process (main thread only) */

/* Pack a request; id NULL = a fresh unique one. */
static buf_t pack(Xtbridge__Request *req, const char *id) {
    char fresh[32];
    if (!id) {
        snprintf(fresh, sizeof fresh, "b-%llu", (unsigned long long)next_id++);
        id = fresh;
    }
    xtb_request_set_id(req, id);
    buf_t b = {NULL, xtbridge__request__get_packed_size(req)};
    b.data = (uint8_t *)malloc(b.size ? b.size : 1);
    if (!b.data)
        abort();
    xtbridge__request__pack(req, b.data);
    xtb_request_destroy(&req);
    return b;
}

static uint64_t next_fill; /* filling orders alternate buy/sell across all phases */

static buf_t order_buf(const char *account, const char *code, int32_t type, double price,
                       const char *prefix) {
    char id[64];
    snprintf(id, sizeof id, "%s-%llu", prefix, (unsigned long long)next_id++);
    return pack(xtb_req_order(account, code, type, 100, FIX_PRICE, price, "bench", "", false), id);
}

static buf_t resting_buf(const char *prefix) {
    return order_buf(MAIN_ACCOUNT, ORDER_CODE, STOCK_BUY, RESTING_PRICE, prefix);
}

/* A marketable order: fills at once at the last price. Alternating buys and sells keeps
   the position (and the cash) where it was. */
static buf_t filling_buf(const char *prefix) {
    int32_t type = next_fill++ % 2 ? STOCK_SELL : STOCK_BUY;
    return order_buf(MAIN_ACCOUNT, ORDER_CODE, type, ORDER_LAST, prefix);
}

static buf_t ping_buf(void) {
    return pack(xtb_req_ping(0), "bench-ping");
}

/* Whether a reply (or echo) is what the request asked for. */
static bool reply_ok(check_t check, const buf_t *sent, const void *data, size_t size) {
    if (check == CHECK_ECHO) {
        Xtbridge__Request *req = xtbridge__request__unpack(NULL, size, (const uint8_t *)data);
        bool ok = req && size == sent->size && memcmp(data, sent->data, size) == 0;
        xtbridge__request__free_unpacked(req, NULL);
        return ok;
    }
    Xtbridge__Reply *reply = xtbridge__reply__unpack(NULL, size, (const uint8_t *)data);
    bool ok = reply && reply->error && reply->error->code == XTBRIDGE__ERROR_CODE__OK;
    if (ok && check == CHECK_ORDER)
        ok = reply->result_case == XTBRIDGE__REPLY__RESULT_ORDER_STOCK &&
             reply->order_stock->order_id > 0;
    if (!ok && bad_replies++ < 5)
        fprintf(stderr, "xtb_bench: unexpected reply: %s %s\n",
                reply && reply->error ? xtb_error_code_name(reply->error->code) : "undecodable",
                reply && reply->error && reply->error->message ? reply->error->message : "");
    xtbridge__reply__free_unpacked(reply, NULL);
    return ok;
}

/* --- sockets ----------------------------------------------------------------------- */

static void *ctx;

static void *dealer_new(const char *endpoint, const char *routing_id) {
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int hwm = HWM, linger = 0, timeout = CALL_TIMEOUT_MS;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    /* Real clients name their DEALER (the bridge keys idempotency by it). */
    zmq_setsockopt(s, ZMQ_ROUTING_ID, routing_id, strlen(routing_id));
    if (zmq_connect(s, endpoint)) {
        fprintf(stderr, "xtb_bench: connect %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        exit(1);
    }
    return s;
}

static void sock_close(void *s) {
    if (s)
        zmq_close(s);
}

/*  One synchronous round trip. The clock covers send to receipt; the reply is checked
    after the clock stops. Returns the time in ns, or -1 on timeout/failed check. */
static int64_t round_trip(void *s, const buf_t *req, check_t check) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int64_t start = now_ns();
    if (zmq_send(s, req->data, req->size, 0) < 0 || zmq_msg_recv(&msg, s, 0) < 0) {
        zmq_msg_close(&msg);
        return -1;
    }
    int64_t elapsed = now_ns() - start;
    bool ok = reply_ok(check, req, zmq_msg_data(&msg), zmq_msg_size(&msg));
    zmq_msg_close(&msg);
    return ok ? elapsed : -1;
}

/*  Pipelined over one DEALER: keep up to `window` requests outstanding until all n are
    answered; each reply is decoded and checked as it arrives. Requests are packed before
    the clock starts. Returns requests per second, 0 on failure. */
static double pipelined(void *s, const buf_t *reqs, int n, int window, check_t check) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int sent = 0, got = 0, bad = 0;
    int64_t start = now_ns();
    while (got < n) {
        while (sent < n && sent - got < window) {
            if (zmq_send(s, reqs[sent].data, reqs[sent].size, 0) < 0)
                goto fail;
            sent++;
        }
        /* block for one reply, then take whatever else is already there */
        int flags = 0;
        while (got < n && zmq_msg_recv(&msg, s, flags) >= 0) {
            /* replies come back in request order on one DEALER to one single-threaded
               ROUTER, so the echo is compared with the request at the same index */
            if (!reply_ok(check, &reqs[got], zmq_msg_data(&msg), zmq_msg_size(&msg)))
                bad++;
            got++;
            flags = ZMQ_DONTWAIT;
        }
        if (flags == 0)
            goto fail; /* timeout */
    }
    int64_t elapsed = now_ns() - start;
    zmq_msg_close(&msg);
    return bad || elapsed <= 0 ? 0 : (double)n * 1e9 / (double)elapsed;
fail:
    fprintf(stderr, "xtb_bench: pipelined run stopped after %d/%d replies\n", got, n);
    zmq_msg_close(&msg);
    return 0;
}

static void free_bufs(buf_t *bufs, int n) {
    for (int i = 0; i < n; i++)
        free(bufs[i].data);
    free(bufs);
}

/* --- pushes: one SUB per bridge watches order_error and the burst's trades ---------- */

typedef struct {
    void *sock;
    uint64_t order_errors, heartbeats, burst_trades;
    int64_t first_trade_ns, last_trade_ns;
} watch_t;

static char burst_topic[64];

/* Read one push if there is one within timeout_ms; returns 1, 0 (none) or -1. */
static int watch_read(watch_t *w, int timeout_ms) {
    zmq_pollitem_t item = {w->sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return 0;
    char topic[128];
    int n = zmq_recv(w->sock, topic, sizeof topic - 1, 0);
    if (n < 0)
        return -1;
    int64_t at = now_ns();
    topic[n < (int)sizeof topic - 1 ? n : (int)sizeof topic - 1] = 0;
    int more = 0;
    size_t more_size = sizeof more;
    zmq_getsockopt(w->sock, ZMQ_RCVMORE, &more, &more_size);
    while (more) { /* the Event frame: not needed for counting */
        zmq_msg_t part;
        zmq_msg_init(&part);
        zmq_msg_recv(&part, w->sock, 0);
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
    if (strncmp(topic, "heartbeat.", 10) == 0)
        w->heartbeats++;
    else if (strncmp(topic, "order_error.", 12) == 0)
        w->order_errors++;
    else if (strcmp(topic, burst_topic) == 0) {
        if (!w->burst_trades++)
            w->first_trade_ns = at;
        w->last_trade_ns = at;
    }
    return 1;
}

/* Wait until `count` more heartbeats arrived: every push published before the first of
   them is then in (one PUB pipe keeps order); also how subscriptions are known to be in
   effect. */
static int watch_heartbeats(watch_t *w, uint64_t count, int timeout_ms) {
    uint64_t goal = w->heartbeats + count;
    int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
    while (w->heartbeats < goal && now_ns() < deadline)
        if (watch_read(w, 100) < 0)
            return -1;
    return w->heartbeats >= goal ? 0 : -1;
}

static int watch_open(watch_t *w, const char *pub) {
    memset(w, 0, sizeof *w);
    w->sock = zmq_socket(ctx, ZMQ_SUB);
    int hwm = 0, linger = 0; /* unbounded: the burst must not be cut by our own queue */
    zmq_setsockopt(w->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(w->sock, ZMQ_LINGER, &linger, sizeof linger);
    const char *topics[] = {"heartbeat.", "order_error.", burst_topic};
    for (size_t i = 0; i < sizeof topics / sizeof *topics; i++)
        zmq_setsockopt(w->sock, ZMQ_SUBSCRIBE, topics[i], strlen(topics[i]));
    if (zmq_connect(w->sock, pub))
        return -1;
    return watch_heartbeats(w, 1, 10000);
}

/* --- the bridge -------------------------------------------------------------------- */

typedef struct {
    pid_t pid;
    char router[PATH_MAX], pub[PATH_MAX], data[PATH_MAX];
} bridge_t;

static int write_config(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    /* Cash for any number of orders; a position held since yesterday so that sells fill
       on entry too. Prices pinned here so the bench does not depend on the built-in table.
     */
    fprintf(f,
            "sim\n"
            "    account\n"
            "        id = " MAIN_ACCOUNT "\n"
            "        cash = 10000000000\n"
            "        position\n"
            "            code = " ORDER_CODE "\n"
            "            volume = 1000000000\n"
            "            avg_price = 10.00\n"
            "    account\n"
            "        id = " BURST_ACCOUNT "\n"
            "        cash = 10000000000\n"
            "    account\n"
            "        id = " BOOK_ACCOUNT "\n"
            "        cash = 100000000000\n"
            "    price\n"
            "        code = " ORDER_CODE "\n"
            "        pre_close = %.2f\n"
            "        last = %.2f\n"
            "        liquidity = 0\n"
            "    price\n"
            "        code = " BURST_CODE "\n"
            "        pre_close = %.2f\n"
            "        last = %.2f\n"
            "        liquidity = 0\n",
            ORDER_LAST, ORDER_LAST, BURST_LAST, BURST_LAST);
    return fclose(f);
}

/* Start a bridge with its own endpoints and a fresh data dir; wait until it answers. */
static int bridge_start(bridge_t *b, const opts_t *o, const char *cfg, const char *mode) {
    snprintf(b->router, sizeof b->router, "ipc://%s/router-%s", o->dir, mode);
    snprintf(b->pub, sizeof b->pub, "ipc://%s/pub-%s", o->dir, mode);
    snprintf(b->data, sizeof b->data, "%s/data-%s", o->dir, mode);
    rm_tree(b->data);
    char *argv[24];
    int n = 0;
    argv[n++] = (char *)o->xtbridge;
    argv[n++] = (char *)"--backend";
    argv[n++] = (char *)"sim";
    argv[n++] = (char *)"--router";
    argv[n++] = b->router;
    argv[n++] = (char *)"--pub";
    argv[n++] = b->pub;
    argv[n++] = (char *)"--data";
    argv[n++] = b->data;
    argv[n++] = (char *)"--config";
    argv[n++] = (char *)cfg;
    argv[n++] = (char *)"--log-level";
    argv[n++] = (char *)"warn";
    /* heartbeats are how a SUB knows its subscriptions are in effect: keep them quick */
    argv[n++] = (char *)"--heartbeat-ms";
    argv[n++] = (char *)"100";
    if (strcmp(mode, "default") != 0) {
        argv[n++] = (char *)"--durability";
        argv[n++] = (char *)mode;
    }
    argv[n] = NULL;
    b->pid = spawn(argv);
    if (b->pid < 0)
        return -1;

    void *s = dealer_new(b->router, "bench-ready");
    buf_t ping = ping_buf();
    int rc = -1;
    int64_t deadline = now_ns() + 15000000000LL;
    zmq_send(s, ping.data, ping.size, 0);
    while (now_ns() < deadline) {
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) > 0) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, s, 0) >= 0 &&
                reply_ok(CHECK_OK, &ping, zmq_msg_data(&msg), zmq_msg_size(&msg)))
                rc = 0;
            zmq_msg_close(&msg);
            break;
        }
        int status;
        if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
            fprintf(stderr, "xtb_bench: xtbridge (%s) exited with %d at start\n", mode,
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            for (int i = 0; i < nchildren; i++)
                if (children[i] == b->pid)
                    children[i] = 0;
            b->pid = 0;
            break;
        }
    }
    free(ping.data);
    sock_close(s);
    if (rc)
        fprintf(stderr, "xtb_bench: xtbridge (%s) did not answer a ping\n", mode);
    return rc;
}

/* --- measurements ------------------------------------------------------------------ */

/*  Sync round trips, one of each kind per iteration in a rotating order, so drift and
    whatever the previous request left behind hit every kind alike. */
static int run_sync(result_t *r, void *echo, void *bridge, int n) {
    enum { KINDS = 5 };
    int64_t *t[KINDS];
    for (int k = 0; k < KINDS; k++)
        t[k] = (int64_t *)calloc((size_t)n, sizeof(int64_t));
    buf_t echo_frame = resting_buf("echo"); /* an order-sized frame */
    buf_t ping = ping_buf();
    int rc = 0;
    for (int i = 0; i < n && !rc; i++)
        for (int j = 0; j < KINDS && !rc; j++) {
            int k = (i + j) % KINDS;
            buf_t order = {NULL, 0};
            if (k == 2)
                order = resting_buf("sr");
            else if (k == 3)
                order = filling_buf("sf");
            else if (k == 4) /* order_stock_async: the ack (seq) only */
                order = pack(xtb_req_order(MAIN_ACCOUNT, ORDER_CODE, STOCK_BUY, 100, FIX_PRICE,
                                           RESTING_PRICE, "bench", "", true),
                             NULL);
            switch (k) {
            case 0:
                t[k][i] = round_trip(echo, &echo_frame, CHECK_ECHO);
                break;
            case 1:
            case 4:
                t[k][i] = round_trip(bridge, k == 1 ? &ping : &order, CHECK_OK);
                break;
            default:
                t[k][i] = round_trip(bridge, &order, CHECK_ORDER);
                break;
            }
            free(order.data);
            if (t[k][i] < 0) {
                fprintf(stderr, "xtb_bench: sync round trip %d/%d failed\n", i, k);
                rc = -1;
            }
        }
    if (!rc) {
        r->raw = lat_of(t[0], (size_t)n);
        r->ping = lat_of(t[1], (size_t)n);
        r->resting = lat_of(t[2], (size_t)n);
        r->filling = lat_of(t[3], (size_t)n);
        r->async_ack = lat_of(t[4], (size_t)n);
        r->sync_n = n;
    }
    for (int k = 0; k < KINDS; k++)
        free(t[k]);
    free(echo_frame.data);
    free(ping.data);
    return rc;
}

typedef struct {
    const char *endpoint;
    bool echo;
    int n;
    buf_t *reqs; /* packed by the main thread: request ids are counted there */
    int64_t *out;
    int64_t start_ns, end_ns; /* this client's first send and last reply */
    char routing_id[48];
    pthread_barrier_t *barrier;
    int failed;
} worker_t;

static void *worker_main(void *arg) {
    worker_t *w = (worker_t *)arg;
    void *s = dealer_new(w->endpoint, w->routing_id);
    /* the connection is made before the barrier, not inside the measurement */
    buf_t ping = w->echo ? w->reqs[0] : ping_buf();
    if (round_trip(s, &ping, w->echo ? CHECK_ECHO : CHECK_OK) < 0)
        w->failed = 1;
    if (!w->echo)
        free(ping.data);
    pthread_barrier_wait(w->barrier);
    w->start_ns = now_ns();
    for (int i = 0; i < w->n && !w->failed; i++) {
        w->out[i] = round_trip(s, &w->reqs[i], w->echo ? CHECK_ECHO : CHECK_ORDER);
        if (w->out[i] < 0)
            w->failed = 1;
    }
    w->end_ns = now_ns();
    sock_close(s);
    return NULL;
}

/* `clients` threads, each with its own DEALER, doing `n` sync round trips at once. */
static int run_clients(const char *endpoint, bool echo, int clients, int n, int64_t *out,
                       double *rate) {
    worker_t *w = (worker_t *)calloc((size_t)clients, sizeof *w);
    pthread_t *th = (pthread_t *)calloc((size_t)clients, sizeof *th);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)clients);
    buf_t frame = resting_buf("echo");
    for (int c = 0; c < clients; c++) {
        w[c].endpoint = endpoint;
        w[c].echo = echo;
        w[c].n = n;
        w[c].out = out + (size_t)c * (size_t)n;
        w[c].barrier = &barrier;
        w[c].reqs = (buf_t *)calloc((size_t)n, sizeof(buf_t));
        for (int i = 0; i < n; i++)
            if (echo) {
                w[c].reqs[i].data = (uint8_t *)malloc(frame.size);
                memcpy(w[c].reqs[i].data, frame.data, frame.size);
                w[c].reqs[i].size = frame.size;
            } else {
                w[c].reqs[i] = resting_buf("cc");
            }
        snprintf(w[c].routing_id, sizeof w[c].routing_id, "bench-client-%d-%llu", c,
                 (unsigned long long)next_id++);
    }
    for (int c = 0; c < clients; c++)
        pthread_create(&th[c], NULL, worker_main, &w[c]);
    int failed = 0;
    int64_t first = INT64_MAX, last = 0;
    for (int c = 0; c < clients; c++) {
        pthread_join(th[c], NULL);
        failed |= w[c].failed;
        free_bufs(w[c].reqs, n);
        if (w[c].start_ns < first)
            first = w[c].start_ns;
        if (w[c].end_ns > last)
            last = w[c].end_ns;
    }
    *rate = last > first ? (double)clients * n * 1e9 / (double)(last - first) : 0;
    pthread_barrier_destroy(&barrier);
    free(frame.data);
    free(th);
    free(w);
    return failed ? -1 : 0;
}

#define CLIENT_ROUNDS 6

static int run_concurrency(result_t *r, const char *echo_ep, const char *router_ep,
                           const opts_t *o) {
    for (int i = 0; i < o->nclients; i++) {
        int clients = o->clients[i];
        /* about the same number of samples whatever the client count, in CLIENT_ROUNDS
           rounds, raw and bridge alternating: a round of 16 clients lasts tens of ms, and
           on a shared machine one busy moment can halve a round's rate; the median of the
           rounds' rates is what the run says */
        int n = (o->sync_n * 3 / CLIENT_ROUNDS + clients - 1) / clients;
        if (n < 20)
            n = 20;
        size_t total = (size_t)CLIENT_ROUNDS * (size_t)clients * (size_t)n;
        int64_t *raw = (int64_t *)calloc(total, sizeof(int64_t));
        int64_t *order = (int64_t *)calloc(total, sizeof(int64_t));
        double raw_rate[CLIENT_ROUNDS], order_rate[CLIENT_ROUNDS];
        for (int round = 0; round < CLIENT_ROUNDS; round++) {
            size_t at = (size_t)round * (size_t)clients * (size_t)n;
            if (run_clients(echo_ep, true, clients, n, raw + at, &raw_rate[round]) ||
                run_clients(router_ep, false, clients, n, order + at, &order_rate[round])) {
                fprintf(stderr, "xtb_bench: %d concurrent clients failed\n", clients);
                free(raw);
                free(order);
                return -1;
            }
        }
        r->conc[r->nconc].clients = clients;
        r->conc[r->nconc].raw = lat_of(raw, total);
        r->conc[r->nconc].order = lat_of(order, total);
        r->conc[r->nconc].raw_rate = median(raw_rate, CLIENT_ROUNDS);
        r->conc[r->nconc].order_rate = median(order_rate, CLIENT_ROUNDS);
        r->nconc++;
        free(raw);
        free(order);
    }
    return 0;
}

/* Interleaved rounds of pipelined raw echo, ping, resting and filling orders. */
static int run_pipelined(result_t *r, void *echo, void *bridge, const opts_t *o) {
    int rounds = o->rounds, n = o->pipeline_n / o->rounds;
    if (n < 1)
        n = 1;
    double raw[16], ping[16], resting[16], filling[16];
    buf_t *echo_reqs = (buf_t *)calloc((size_t)n, sizeof(buf_t));
    buf_t *ping_reqs = (buf_t *)calloc((size_t)n, sizeof(buf_t));
    for (int i = 0; i < n; i++) {
        echo_reqs[i] = resting_buf("echo");
        ping_reqs[i] = ping_buf();
    }
    int rc = 0;
    for (int round = 0; round < rounds && !rc; round++) {
        buf_t *rest = (buf_t *)calloc((size_t)n, sizeof(buf_t));
        buf_t *fill = (buf_t *)calloc((size_t)n, sizeof(buf_t));
        for (int i = 0; i < n; i++) {
            if (o->parts & PART_RESTING)
                rest[i] = resting_buf("pr");
            if (o->parts & PART_FILLING)
                fill[i] = filling_buf("pf");
        }
        raw[round] = pipelined(echo, echo_reqs, n, o->window, CHECK_ECHO);
        ping[round] = resting[round] = filling[round] = -1; /* -1: not run */
        if (o->parts & PART_PING)
            ping[round] = pipelined(bridge, ping_reqs, n, o->window, CHECK_OK);
        if (o->parts & PART_RESTING)
            resting[round] = pipelined(bridge, rest, n, o->window, CHECK_ORDER);
        if (o->parts & PART_FILLING)
            filling[round] = pipelined(bridge, fill, n, o->window, CHECK_ORDER);
        if (!raw[round] || !ping[round] || !resting[round] || !filling[round])
            rc = -1;
        free_bufs(rest, n);
        free_bufs(fill, n);
    }
    if (!rc) {
        r->rate_raw = median(raw, rounds);
        r->rate_ping = median(ping, rounds);
        r->rate_resting = median(resting, rounds);
        r->rate_filling = median(filling, rounds);
    }
    free_bufs(echo_reqs, n);
    free_bufs(ping_reqs, n);
    return rc;
}

static long long stats_recent_busy(void *bridge);

/*  The burst: n resting buys at BURST_PRICE on the burst account, then one
    sim_set_price onto that price. The clock starts when the request is sent. */
static int run_burst(result_t *r, void *bridge, watch_t *w, const opts_t *o) {
    int n = o->burst_n;
    buf_t *reqs = (buf_t *)calloc((size_t)n, sizeof(buf_t));
    for (int i = 0; i < n; i++)
        reqs[i] = order_buf(BURST_ACCOUNT, BURST_CODE, STOCK_BUY, BURST_PRICE, "bb");
    r->burst_place_rate = pipelined(bridge, reqs, n, o->window, CHECK_ORDER);
    free_bufs(reqs, n);
    if (!r->burst_place_rate)
        return -1;
    /* whatever is queued on the SUB (heartbeats) is read before the clock starts */
    while (watch_read(w, 0) > 0)
        ;
    w->burst_trades = 0;
    stats_recent_busy(bridge); /* a new window for the bridge's longest loop run */
    buf_t move = pack(xtb_req_sim_set_price(BURST_CODE, BURST_PRICE, 0, -1), "burst-move");
    int64_t start = now_ns(), reply_at = 0;
    zmq_send(bridge, move.data, move.size, 0);
    int64_t deadline = start + 120000000000LL;
    while ((!reply_at || w->burst_trades < (uint64_t)n) && now_ns() < deadline) {
        zmq_pollitem_t items[2] = {{w->sock, 0, ZMQ_POLLIN, 0}, {bridge, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, 1000) <= 0)
            continue;
        if (items[0].revents & ZMQ_POLLIN)
            watch_read(w, 0);
        if (items[1].revents & ZMQ_POLLIN) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, bridge, 0) >= 0) {
                reply_at = now_ns();
                reply_ok(CHECK_OK, &move, zmq_msg_data(&msg), zmq_msg_size(&msg));
            }
            zmq_msg_close(&msg);
        }
    }
    free(move.data);
    r->burst_n = n;
    r->burst_trades = (int)w->burst_trades;
    r->burst_first_ms = w->burst_trades ? (double)(w->first_trade_ns - start) / 1e6 : -1;
    r->burst_last_ms = w->burst_trades ? (double)(w->last_trade_ns - start) / 1e6 : -1;
    r->burst_reply_ms = reply_at ? (double)(reply_at - start) / 1e6 : -1;
    r->burst_busy_us = stats_recent_busy(bridge);
    if (w->burst_trades < (uint64_t)n || !reply_at) {
        fprintf(stderr, "xtb_bench: burst: %llu/%d trade pushes, reply %s\n",
                (unsigned long long)w->burst_trades, n, reply_at ? "received" : "missing");
        return -1;
    }
    return 0;
}

/* --- fan-out: every event counted by seq at each subscriber ------------------------ */

#define FAN_KINDS 4
static const char *const fan_kinds[FAN_KINDS] = {"trade", "order", "position", "asset"};

typedef struct {
    const char *pub;    /* endpoint to connect the SUB to */
    const char *router; /* the bridge's, for replay (NULL for the raw publisher) */
    bool raw;           /* raw publisher: one topic "raw.", seq in the first 8 bytes */
    int n;              /* events expected per kind (raw: in all) */
    uint64_t base[FAN_KINDS];
    uint8_t *seen[FAN_KINDS];
    long long live, replayed, missing;
    int64_t first_ns, last_ns;
    atomic_int *done; /* set by the main thread once the burst is fully sent */
    pthread_barrier_t *ready;
    int failed;
} fan_sub_t;

static int fan_kind(const char *topic) {
    for (int k = 0; k < FAN_KINDS; k++) {
        size_t len = strlen(fan_kinds[k]);
        if (strncmp(topic, fan_kinds[k], len) == 0 && topic[len] == '.')
            return k;
    }
    return -1;
}

static int fan_mark(fan_sub_t *f, int k, uint64_t seq) {
    if (k < 0 || seq <= f->base[k] || seq > f->base[k] + (uint64_t)f->n)
        return 0;
    uint8_t *slot = &f->seen[k][seq - f->base[k] - 1];
    if (*slot)
        return 0;
    *slot = 1;
    return 1;
}

/* An Event's seq (field 2, a varint) read off its bytes: a counting subscriber needs no
   more, as the raw subscriber reads only its seq, so neither side's rate carries a full
   protobuf unpack on the bench's share of the two cores. 0 if absent or malformed. */
static uint64_t read_varint(const uint8_t *p, size_t n, size_t *at) {
    uint64_t v = 0;
    for (int shift = 0; *at < n && shift < 64; shift += 7) {
        v |= (uint64_t)(p[*at] & 0x7f) << shift;
        if (!(p[(*at)++] & 0x80))
            break;
    }
    return v;
}

static uint64_t event_seq(const uint8_t *p, size_t n) {
    size_t at = 0;
    while (at < n) {
        uint64_t tag = read_varint(p, n, &at), v = 0;
        unsigned wire = (unsigned)(tag & 7);
        if (wire == 0 || wire == 2) {
            v = read_varint(p, n, &at);
            if (wire == 0 && tag >> 3 == 2)
                return v;
            if (wire == 2) {
                if (v > n - at)
                    return 0;
                at += (size_t)v;
            }
        } else if (wire == 1 || wire == 5)
            at += wire == 1 ? 8 : 4;
        else
            return 0;
    }
    return 0;
}

static int fan_replayed(const Xtbridge__Event *ev, void *arg) {
    fan_sub_t *f = (fan_sub_t *)arg;
    f->replayed += fan_mark(f, ev->topic ? fan_kind(ev->topic) : -1, ev->seq);
    return 0;
}

static void *fan_sub_main(void *arg) {
    fan_sub_t *f = (fan_sub_t *)arg;
    void *s = zmq_socket(ctx, ZMQ_SUB);
    /* the same depth as the C client's SUB (and the bridge's PUB) */
    int hwm = HWM, linger = 0;
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (f->raw)
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "raw.", 4);
    else
        for (int k = 0; k < FAN_KINDS; k++) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "%s.%s.", fan_kinds[k], BURST_ACCOUNT);
            zmq_setsockopt(s, ZMQ_SUBSCRIBE, prefix, strlen(prefix));
        }
    zmq_setsockopt(s, ZMQ_SUBSCRIBE, "heartbeat.", 10);
    zmq_connect(s, f->pub);
    /* in effect once a heartbeat (bridge) or a "hello." (raw publisher) came through */
    zmq_setsockopt(s, ZMQ_SUBSCRIBE, "hello.", 6);
    int64_t until = now_ns() + 10000000000LL;
    bool in = false;
    while (!in && now_ns() < until) {
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, s, 0);
        in = zmq_msg_size(&m) >= 6 && (!memcmp(zmq_msg_data(&m), "heartbeat.", 10) ||
                                       !memcmp(zmq_msg_data(&m), "hello.", 6));
        while (zmq_msg_more(&m))
            zmq_msg_recv(&m, s, 0);
        zmq_msg_close(&m);
    }
    if (!in) {
        fprintf(stderr, "xtb_bench: fan-out: a subscriber saw no %s on %s\n",
                f->raw ? "hello" : "heartbeat", f->pub);
        f->failed = 1;
    }
    /* heartbeats would keep the socket busy after the burst: only the burst from here */
    zmq_setsockopt(s, ZMQ_UNSUBSCRIBE, "heartbeat.", 10);
    zmq_setsockopt(s, ZMQ_UNSUBSCRIBE, "hello.", 6);
    pthread_barrier_wait(f->ready);
    long long goal = f->raw ? f->n : (long long)f->n * FAN_KINDS;
    int64_t last_event = now_ns();
    while (!f->failed && f->live < goal) {
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        /* quiet for a second after the burst: the rest was dropped */
        if (atomic_load(f->done) && now_ns() - last_event > 1000000000LL)
            break;
        if (zmq_poll(&item, 1, 100) <= 0)
            continue;
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        zmq_msg_init(&body);
        zmq_msg_recv(&topic, s, 0);
        if (zmq_msg_more(&topic))
            zmq_msg_recv(&body, s, 0);
        int64_t at = now_ns();
        int k = -1;
        uint64_t seq = 0;
        if (f->raw && zmq_msg_size(&body) >= 8 && zmq_msg_size(&topic) == 4) {
            memcpy(&seq, zmq_msg_data(&body), 8);
            k = 0;
        } else if (!f->raw && zmq_msg_size(&topic) < 64) {
            /* the kind from the topic frame, the seq from the event */
            char name[64];
            memcpy(name, zmq_msg_data(&topic), zmq_msg_size(&topic));
            name[zmq_msg_size(&topic)] = 0;
            k = fan_kind(name);
            seq = event_seq((const uint8_t *)zmq_msg_data(&body), zmq_msg_size(&body));
        }
        zmq_msg_close(&topic);
        zmq_msg_close(&body);
        if (fan_mark(f, k, seq)) {
            last_event = at;
            if (!f->live++)
                f->first_ns = at;
            f->last_ns = at;
        }
    }
    zmq_close(s);
    /* what the queues dropped comes back by replay, per topic from its first hole */
    if (!f->raw && f->router && f->live < goal) {
        xtb_client_t *c = xtb_client_new(f->router, NULL);
        for (int k = 0; c && k < FAN_KINDS; k++) {
            uint64_t hole = 0;
            for (int i = 0; i < f->n && !hole; i++)
                if (!f->seen[k][i])
                    hole = f->base[k] + 1 + (uint64_t)i;
            if (!hole)
                continue;
            char topic[64];
            snprintf(topic, sizeof topic, "%s.%s.", fan_kinds[k], BURST_ACCOUNT);
            const char *topics[1] = {topic};
            uint64_t after[1] = {hole - 1};
            if (xtb_client_replay_max(c, topic, topics, after, 1, 1000, 20000, fan_replayed, f) < 0)
                fprintf(stderr, "xtb_bench: replay failed: %s\n", xtb_client_error(c));
        }
        xtb_client_destroy(&c);
    }
    for (int k = 0; k < (f->raw ? 1 : FAN_KINDS); k++)
        for (int i = 0; i < f->n; i++)
            f->missing += !f->seen[k][i];
    return NULL;
}

/* Raw baseline publisher (its own process): binds an XPUB, waits for `subs` subscribers,
   then sends `count` messages [topic "raw."][seq + 200 bytes], as fast as it can. */
static int pub_server(const char *endpoint, int count, int subs) {
    void *c = zmq_ctx_new();
    void *s = zmq_socket(c, ZMQ_XPUB);
    int hwm = HWM, verbose = 1;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_XPUB_VERBOSE, &verbose, sizeof verbose);
    if (zmq_bind(s, endpoint))
        return 2;
    int hellos = 0;
    while (hellos < subs) { /* each SUB subscribes to "raw.", "heartbeat." and "hello." */
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 20) > 0) {
            char sub[32];
            int n = zmq_recv(s, sub, sizeof sub, 0);
            if (n == 7 && sub[0] == 1 && !memcmp(sub + 1, "hello.", 6))
                hellos++;
        }
        zmq_send(s, "hello.", 6, ZMQ_SNDMORE);
        zmq_send(s, "", 0, 0);
    }
    usleep(200000); /* every SUB has seen a hello and passed its barrier */
    uint8_t body[208] = {0};
    for (uint64_t seq = 1; seq <= (uint64_t)count; seq++) {
        memcpy(body, &seq, 8);
        zmq_send(s, "raw.", 4, ZMQ_SNDMORE);
        zmq_send(s, body, sizeof body, 0);
    }
    sleep(3);
    zmq_close(s);
    zmq_ctx_term(c);
    return 0;
}

static int run_fan(result_t *r, int which, int nsubs, const char *pub, const char *router,
                   void *bridge, const opts_t *o) {
    bool raw = which == 0;
    int n = raw ? o->fanout_n * FAN_KINDS : o->fanout_n;
    fan_sub_t *f = (fan_sub_t *)calloc((size_t)nsubs, sizeof *f);
    pthread_t *th = (pthread_t *)calloc((size_t)nsubs, sizeof *th);
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, (unsigned)nsubs + 1);
    atomic_int done;
    atomic_init(&done, 0);
    uint64_t base[FAN_KINDS] = {0};
    pid_t pub_pid = 0;
    char raw_ep[PATH_MAX];
    if (raw) {
        snprintf(raw_ep, sizeof raw_ep, "ipc://%s/raw-pub-%d", o->dir, nsubs);
        char count[16], subs[16];
        snprintf(count, sizeof count, "%d", n);
        snprintf(subs, sizeof subs, "%d", nsubs);
        char *argv[] = {self_exe, (char *)"--pub-server", raw_ep, count, subs, NULL};
        pub_pid = spawn(argv);
        pub = raw_ep;
    } else {
        /* a fresh book of resting buys, all filled by one price move below */
        buf_t reset = pack(xtb_req_sim_set_price(BURST_CODE, BURST_LAST, 0, -1), NULL);
        int64_t ok = round_trip(bridge, &reset, CHECK_OK);
        free(reset.data);
        buf_t *reqs = (buf_t *)calloc((size_t)n, sizeof(buf_t));
        for (int i = 0; i < n; i++)
            reqs[i] = order_buf(BURST_ACCOUNT, BURST_CODE, STOCK_BUY, BURST_PRICE, "fo");
        double placed = ok < 0 ? 0 : pipelined(bridge, reqs, n, o->window, CHECK_ORDER);
        free_bufs(reqs, n);
        xtb_client_t *c = xtb_client_new(router, NULL);
        Xtbridge__Reply *rep = NULL;
        if (!placed || !c ||
            xtb_client_call(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_SUBSCRIBE, BURST_ACCOUNT),
                            CALL_TIMEOUT_MS, &rep) ||
            rep->result_case != XTBRIDGE__REPLY__RESULT_SUBSCRIBE) {
            fprintf(stderr, "xtb_bench: fan-out: could not set up the burst\n");
            xtb_reply_destroy(&rep);
            xtb_client_destroy(&c);
            free(f);
            free(th);
            return -1;
        }
        for (size_t i = 0; i < rep->subscribe->n_last_seq; i++) {
            int k = fan_kind(rep->subscribe->last_seq[i]->key);
            if (k >= 0)
                base[k] = rep->subscribe->last_seq[i]->value;
        }
        xtb_reply_destroy(&rep);
        xtb_client_destroy(&c);
    }
    for (int i = 0; i < nsubs; i++) {
        f[i].pub = pub;
        f[i].router = raw ? NULL : router;
        f[i].raw = raw;
        f[i].n = n;
        f[i].done = &done;
        f[i].ready = &ready;
        memcpy(f[i].base, base, sizeof base);
        for (int k = 0; k < FAN_KINDS; k++)
            f[i].seen[k] = (uint8_t *)calloc((size_t)n, 1);
        pthread_create(&th[i], NULL, fan_sub_main, &f[i]);
    }
    pthread_barrier_wait(&ready);
    int rc = 0;
    if (raw) {
        waitpid(pub_pid, NULL, 0);
        for (int i = 0; i < nchildren; i++)
            if (children[i] == pub_pid)
                children[i] = 0;
    } else {
        buf_t move = pack(xtb_req_sim_set_price(BURST_CODE, BURST_PRICE, 0, -1), NULL);
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_send(bridge, move.data, move.size, 0) < 0 || zmq_msg_recv(&msg, bridge, 0) < 0) {
            fprintf(stderr, "xtb_bench: fan-out: the price move got no reply: %s\n",
                    zmq_strerror(zmq_errno()));
            rc = -1;
        } else {
            Xtbridge__Reply *rep = xtbridge__reply__unpack(NULL, zmq_msg_size(&msg),
                                                           (const uint8_t *)zmq_msg_data(&msg));
            if (!rep || !rep->error || rep->error->code != XTBRIDGE__ERROR_CODE__OK) {
                fprintf(stderr, "xtb_bench: fan-out: the price move failed: %s %s\n",
                        rep && rep->error ? xtb_error_code_name(rep->error->code) : "undecodable",
                        rep && rep->error ? rep->error->message : "");
                rc = -1;
            }
            xtbridge__reply__free_unpacked(rep, NULL);
        }
        zmq_msg_close(&msg);
        free(move.data);
    }
    atomic_store(&done, 1);
    int slot = nsubs == 1 ? 0 : 1;
    r->fan[which][slot].subs = nsubs;
    r->fan[which][slot].events = raw ? n : n * FAN_KINDS;
    double slowest = 0;
    for (int i = 0; i < nsubs; i++) {
        pthread_join(th[i], NULL);
        if (f[i].failed)
            rc = -1;
        double rate = f[i].last_ns > f[i].first_ns
                          ? (double)(f[i].live - 1) * 1e9 / (double)(f[i].last_ns - f[i].first_ns)
                          : 0;
        if (i == 0 || rate < slowest)
            slowest = rate;
        r->fan[which][slot].lost += r->fan[which][slot].events - f[i].live;
        r->fan[which][slot].replayed += f[i].replayed;
        r->fan[which][slot].missing += f[i].missing;
        for (int k = 0; k < FAN_KINDS; k++)
            free(f[i].seen[k]);
    }
    r->fan[which][slot].rate = slowest;
    pthread_barrier_destroy(&ready);
    free(f);
    free(th);
    return rc;
}

static int run_fanout(result_t *r, const bridge_t *b, void *bridge, const opts_t *o) {
    int counts[2] = {1, 8};
    for (int i = 0; i < 2; i++) {
        if (run_fan(r, 0, counts[i], NULL, NULL, NULL, o) ||
            run_fan(r, 1, counts[i], b->pub, b->router, bridge, o))
            return -1;
    }
    r->fan_run = true;
    return 0;
}

/* --- big books: queries, memory per open order, the day close ----------------------- */

/* VmRSS and RssAnon of a process, bytes. */
static int read_rss(pid_t pid, double *rss, double *anon) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    *rss = *anon = 0;
    while (fgets(line, sizeof line, f)) {
        long kb;
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            *rss = (double)kb * 1024;
        else if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
            *anon = (double)kb * 1024;
    }
    fclose(f);
    return 0;
}

static int place_book(void *bridge, int n, const opts_t *o) {
    const int chunk = 50000; /* requests packed at a time */
    for (int done = 0; done < n;) {
        int m = n - done < chunk ? n - done : chunk;
        buf_t *reqs = (buf_t *)calloc((size_t)m, sizeof(buf_t));
        for (int i = 0; i < m; i++)
            reqs[i] = order_buf(BOOK_ACCOUNT, ORDER_CODE, STOCK_BUY, RESTING_PRICE, "bk");
        double rate = pipelined(bridge, reqs, m, o->window, CHECK_ORDER);
        free_bufs(reqs, m);
        if (!rate)
            return -1;
        done += m;
    }
    return 0;
}

static int64_t query_p50(void *bridge, int reps) {
    int64_t t[32];
    if (reps > 32)
        reps = 32;
    for (int i = 0; i < reps; i++) {
        buf_t q = pack(xtb_req_query_orders(BOOK_ACCOUNT, false), NULL);
        t[i] = round_trip(bridge, &q, CHECK_OK);
        free(q.data);
        if (t[i] < 0)
            return -1;
    }
    return lat_of(t, (size_t)reps).p50;
}

/* loop_recent_max_busy_us of the bridge's stats (also starts a new window) */
static long long stats_recent_busy(void *bridge) {
    buf_t q = pack(xtb_req_stats(), NULL);
    long long v = -1;
    if (zmq_send(bridge, q.data, q.size, 0) >= 0) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, bridge, 0) >= 0) {
            Xtbridge__Reply *rep = xtbridge__reply__unpack(NULL, zmq_msg_size(&msg),
                                                           (const uint8_t *)zmq_msg_data(&msg));
            if (rep && rep->result_case == XTBRIDGE__REPLY__RESULT_STATS)
                v = (long long)rep->stats->loop_recent_max_busy_us;
            xtbridge__reply__free_unpacked(rep, NULL);
        }
        zmq_msg_close(&msg);
    }
    free(q.data);
    return v;
}

/* Send `req` on `bridge` and ping from another client until its reply comes. Returns the
   reply (the caller frees it) or NULL after 10 minutes or an undecodable one. */
static Xtbridge__Reply *while_pinging(void *bridge, const bridge_t *b, const buf_t *req,
                                      pinged_t *out) {
    *out = (pinged_t){0};
    stats_recent_busy(bridge); /* a new window */
    void *pinger = dealer_new(b->router, "bench-pinger");
    buf_t ping = ping_buf();
    Xtbridge__Reply *rep = NULL;
    int64_t start = now_ns(), end = 0, worst = 0;
    zmq_send(bridge, req->data, req->size, 0);
    while (!end && now_ns() - start < 600000000000LL) {
        zmq_pollitem_t item = {bridge, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 0) > 0) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            zmq_msg_recv(&msg, bridge, 0);
            end = now_ns();
            rep = xtbridge__reply__unpack(NULL, zmq_msg_size(&msg),
                                          (const uint8_t *)zmq_msg_data(&msg));
            zmq_msg_close(&msg);
            break;
        }
        int64_t t = round_trip(pinger, &ping, CHECK_OK);
        if (t < 0)
            break;
        out->pings++;
        if (t > worst)
            worst = t;
    }
    free(ping.data);
    sock_close(pinger);
    out->ms = (double)((end ? end : now_ns()) - start) / 1e6;
    out->ping_max_ms = (double)worst / 1e6;
    out->busy_us = (unsigned long long)stats_recent_busy(bridge);
    return rep;
}

static int run_book(result_t *r, const bridge_t *b, void *bridge, const opts_t *o) {
    double rss0, anon0, rss1, anon1;
    if (place_book(bridge, 1000, o))
        return -1;
    r->query_1k_ns = query_p50(bridge, 21);
    int big = o->book_n < 100000 ? o->book_n : 100000;
    read_rss(b->pid, &rss0, &anon0);
    if (place_book(bridge, big - 1000, o))
        return -1;
    r->query_big_n = big;
    r->query_100k_ns = query_p50(bridge, 5);
    /* once more with pings alongside: the loop answers others while it packs the list */
    buf_t q = pack(xtb_req_query_orders(BOOK_ACCOUNT, false), NULL);
    Xtbridge__Reply *rep = while_pinging(bridge, b, &q, &r->query_pinged);
    free(q.data);
    size_t got = rep && rep->result_case == XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS
                     ? rep->query_stock_orders->n_orders
                     : 0;
    xtbridge__reply__free_unpacked(rep, NULL);
    if (got != (size_t)big) {
        fprintf(stderr, "xtb_bench: query_stock_orders listed %zu orders of %d\n", got, big);
        return -1;
    }
    if (o->book_n > big && place_book(bridge, o->book_n - big, o))
        return -1;
    read_rss(b->pid, &rss1, &anon1);
    r->book_orders = o->book_n;
    r->rss_before_mb = rss0 / 1048576;
    r->rss_book_mb = rss1 / 1048576;
    r->anon_book_mb = anon1 / 1048576;
    r->rss_per_order = (rss1 - rss0) / (o->book_n - 1000);
    r->anon_per_order = (anon1 - anon0) / (o->book_n - 1000);

    /* the close, with pings alongside */
    buf_t close = pack(xtb_req_sim_next_day(), NULL);
    rep = while_pinging(bridge, b, &close, &r->close);
    free(close.data);
    bool closed = rep && rep->result_case == XTBRIDGE__REPLY__RESULT_SIM_NEXT_DAY;
    if (closed) {
        sscanf(rep->sim_next_day->message, "next day: %lld", &r->close_orders);
        snprintf(r->close_message, sizeof r->close_message, "%s", rep->sim_next_day->message);
    } else
        fprintf(stderr, "xtb_bench: sim_next_day failed: %s\n",
                rep && rep->error ? rep->error->message : "no or undecodable reply");
    xtbridge__reply__free_unpacked(rep, NULL);
    if (!closed)
        return -1;
    r->close_ms_per_100k =
        r->close_orders > 0 ? r->close.ms * 100000.0 / (double)r->close_orders : 0;
    usleep(200000);
    read_rss(b->pid, &rss1, &anon1);
    r->rss_after_close_mb = rss1 / 1048576;
    r->anon_after_close_mb = anon1 / 1048576;
    r->book_run = true;
    return 0;
}

/* One bridge instance: start it, measure, stop it, drop its data dir. */
static int run_bridge(result_t *r, const opts_t *o, const char *cfg, const char *echo_ep,
                      void *echo, const char *mode, bool full) {
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", mode);
    r->full = full;
    bridge_t b;
    if (bridge_start(&b, o, cfg, mode))
        return -1;
    if (o->attach_ms) {
        fprintf(stderr, "xtb_bench: [%s] xtbridge pid %d; waiting %d ms\n", mode, (int)b.pid,
                o->attach_ms);
        usleep((useconds_t)o->attach_ms * 1000);
    }
    watch_t w;
    void *bridge = dealer_new(b.router, "bench-main");
    int rc = watch_open(&w, b.pub);
    if (rc)
        fprintf(stderr, "xtb_bench: no heartbeat on %s\n", b.pub);
    /* power durability syncs every commit: fewer sync samples keep the run short */
    int sync_n = full ? o->sync_n : o->sync_n / 4;
    if (sync_n < 50)
        sync_n = 50;
    if (!rc && (o->parts & PART_SYNC)) {
        fprintf(stderr, "xtb_bench: [%s] sync round trips...\n", mode);
        rc = run_sync(r, echo, bridge, sync_n);
    }
    if (!rc && full && o->nclients && (o->parts & PART_CLIENTS)) {
        fprintf(stderr, "xtb_bench: [%s] concurrent clients...\n", mode);
        rc = run_concurrency(r, echo_ep, b.router, o);
    }
    if (!rc && (o->parts & (PART_PING | PART_RESTING | PART_FILLING))) {
        fprintf(stderr, "xtb_bench: [%s] pipelined...\n", mode);
        rc = run_pipelined(r, echo, bridge, o);
    }
    if (!rc && full && o->burst_n > 0 && (o->parts & PART_BURST)) {
        fprintf(stderr, "xtb_bench: [%s] burst of %d...\n", mode, o->burst_n);
        rc = run_burst(r, bridge, &w, o);
    }
    if (!rc && full && o->fanout_n > 0 && (o->parts & PART_FANOUT)) {
        fprintf(stderr, "xtb_bench: [%s] fan-out of %d events to 1 and 8 subscribers...\n", mode,
                o->fanout_n * FAN_KINDS);
        rc = run_fanout(r, &b, bridge, o);
    }
    if (!rc && full && o->book_n > 1000 && (o->parts & PART_BOOK)) {
        fprintf(stderr, "xtb_bench: [%s] a book of %d open orders, then the day close...\n", mode,
                o->book_n);
        rc = run_book(r, &b, bridge, o);
    }
    /* two heartbeats after the last reply: every order_error push before it is counted */
    if (!rc && watch_heartbeats(&w, 2, 10000))
        fprintf(stderr, "xtb_bench: [%s] heartbeats stopped\n", mode);
    r->order_errors = w.order_errors;
    sock_close(w.sock);
    sock_close(bridge);
    stop_child(b.pid);
    rm_tree(b.data);
    return rc;
}

/* --- report ------------------------------------------------------------------------ */

static double us(int64_t ns) {
    return (double)ns / 1000.0;
}

static double ratio(double a, double b) {
    return b > 0 ? a / b : 0;
}

static const char *verdict(bool met) {
    return met ? "met" : "MISSED";
}

static void print_lat(const char *label, lat_t l, lat_t raw, const char *target) {
    printf("  %-22s %9.1f %9.1f %9.1f %8.2fx %8.2fx  %s\n", label, us(l.p50), us(l.p99), us(l.p999),
           ratio((double)l.p50, (double)raw.p50), ratio((double)l.p99, (double)raw.p99), target);
}

static void sync_target(char *out, size_t len, lat_t l, lat_t raw, lat_t base_l,
                        const char *base_name) {
    if (!base_name) {
        double p50r = ratio((double)l.p50, (double)raw.p50);
        double p99r = ratio((double)l.p99, (double)raw.p99);
        snprintf(out, len, "p50 <= %.1fx %s, p99 <= %.0fx %s", TARGET_P50_RATIO,
                 verdict(p50r <= TARGET_P50_RATIO), TARGET_P99_RATIO,
                 verdict(p99r <= TARGET_P99_RATIO));
    } else {
        snprintf(out, len, "p50 %.2fx, p99 %.2fx of [%s]", ratio((double)l.p50, (double)base_l.p50),
                 ratio((double)l.p99, (double)base_l.p99), base_name);
    }
}

static void print_rate(const char *label, double rate, double raw, double target, double base,
                       const char *base_name) {
    if (rate < 0)
        return; /* not run */
    char t[96] = "";
    if (!base_name && target > 0)
        snprintf(t, sizeof t, ">= %.0f/s %s", target, verdict(rate >= target));
    else if (base_name && base > 0)
        snprintf(t, sizeof t, "%.2fx of [%s]", ratio(rate, base), base_name);
    printf("  %-22s %9.0f %8.2fx  %s\n", label, rate, ratio(rate, raw), t);
}

static void print_result(const result_t *r, const result_t *base, const opts_t *o) {
    /* targets apply to the first (default-durability) bridge; later ones show their cost
       against it */
    const char *base_name = base ? base->name : NULL;
    printf("\n[durability %s]\n", r->name);
    if (r->sync_n) {
        char t_rest[96], t_fill[96];
        sync_target(t_rest, sizeof t_rest, r->resting, r->raw, base ? base->resting : r->raw,
                    base_name);
        sync_target(t_fill, sizeof t_fill, r->filling, r->raw, base ? base->filling : r->raw,
                    base_name);
        printf("sync round trips, %d of each interleaved\n", r->sync_n);
        printf("  %-22s %9s %9s %9s %9s %9s  %s\n", "", "p50 us", "p99 us", "p99.9 us", "p50/raw",
               "p99/raw", base ? "cost" : "target (issue 7)");
        print_lat("raw echo (other proc)", r->raw, r->raw, "");
        print_lat("ping", r->ping, r->raw, "");
        print_lat("order_stock resting", r->resting, r->raw, t_rest);
        print_lat("order_stock filling", r->filling, r->raw, t_fill);
        print_lat("order_stock_async ack", r->async_ack, r->raw, "");
    }
    if (r->nconc) {
        printf("concurrent sync clients, resting orders, vs raw echo with as many clients\n");
        printf("  %-12s %8s %9s %8s %8s %9s %9s %8s  %s\n", "", "raw p50", "order p50", "p50/raw",
               "p99/raw", "raw /s", "orders /s", "rate/raw", "target (issue 11)");
        for (int i = 0; i < r->nconc; i++) {
            char label[32], target[96] = "";
            snprintf(label, sizeof label, "%d clients", r->conc[i].clients);
            double p50r = ratio((double)r->conc[i].order.p50, (double)r->conc[i].raw.p50);
            double rater = ratio(r->conc[i].order_rate, r->conc[i].raw_rate);
            if (r->conc[i].clients == 16)
                snprintf(target, sizeof target, "p50 <= 1.5x %s, rate >= 0.60 %s",
                         verdict(p50r <= 1.5), verdict(rater >= 0.60));
            printf("  %-12s %8.1f %9.1f %7.2fx %7.2fx %9.0f %9.0f %7.2fx  %s\n", label,
                   us(r->conc[i].raw.p50), us(r->conc[i].order.p50), p50r,
                   ratio((double)r->conc[i].order.p99, (double)r->conc[i].raw.p99),
                   r->conc[i].raw_rate, r->conc[i].order_rate, rater, target);
        }
    }
    if (r->rate_raw > 0) {
        printf("pipelined over one DEALER, window %d, median of %d rounds of %d\n", o->window,
               o->rounds, o->pipeline_n / o->rounds);
        printf("  %-22s %9s %9s  %s\n", "", "per s", "/raw", base ? "cost" : "target (issue 7)");
        print_rate("raw echo (other proc)", r->rate_raw, r->rate_raw, 0, 0, NULL);
        print_rate("ping", r->rate_ping, r->rate_raw, 0, base ? base->rate_ping : 0, base_name);
        print_rate("order_stock resting", r->rate_resting, r->rate_raw, TARGET_RESTING_RATE,
                   base ? base->rate_resting : 0, base_name);
        print_rate("order_stock filling", r->rate_filling, r->rate_raw, TARGET_FILLING_RATE,
                   base ? base->rate_filling : 0, base_name);
    }
    if (r->burst_n) {
        printf("burst: %d resting buys (placed at %.0f/s), then one sim_set_price fills all\n",
               r->burst_n, r->burst_place_rate);
        printf("  %-38s %9.1f ms  target <= %.0f ms %s\n", "request -> first trade push",
               r->burst_first_ms, TARGET_BURST_FIRST_MS,
               verdict(r->burst_first_ms >= 0 && r->burst_first_ms <= TARGET_BURST_FIRST_MS));
        printf("  %-38s %9.1f ms\n", "request -> sim_set_price reply", r->burst_reply_ms);
        char label[64];
        snprintf(label, sizeof label, "request -> last trade push (%d/%d)", r->burst_trades,
                 r->burst_n);
        printf("  %-38s %9.1f ms\n", label, r->burst_last_ms);
        printf("  %-38s %9.2f ms  (the move is matched in slices)\n",
               "longest loop run during it (bridge)", (double)r->burst_busy_us / 1000);
    }
    if (r->fan_run) {
        printf("fan-out: every event counted by seq at every subscriber (rate: slowest one)\n");
        printf("  %-26s %9s %11s %9s %9s %9s  %s\n", "", "events", "per s", "lost live", "replayed",
               "missing", "target (issue 11)");
        for (int slot = 0; slot < 2; slot++)
            for (int which = 0; which < 2; which++) {
                char label[48], target[96] = "";
                snprintf(label, sizeof label, "%s, %d sub%s", which ? "xtbridge" : "raw PUB->SUB",
                         r->fan[which][slot].subs, r->fan[which][slot].subs > 1 ? "s" : "");
                if (which && slot == 0)
                    snprintf(target, sizeof target, ">= 0.50x raw: %.2fx %s",
                             ratio(r->fan[1][0].rate, r->fan[0][0].rate),
                             verdict(ratio(r->fan[1][0].rate, r->fan[0][0].rate) >= 0.5));
                if (which && slot == 1)
                    snprintf(target, sizeof target, "none missing: %s",
                             verdict(r->fan[1][1].missing == 0));
                printf("  %-26s %9d %11.0f %9lld %9lld %9lld  %s\n", label,
                       r->fan[which][slot].events, r->fan[which][slot].rate,
                       r->fan[which][slot].lost, r->fan[which][slot].replayed,
                       r->fan[which][slot].missing, target);
            }
    }
    if (r->book_run) {
        printf("big books (account " BOOK_ACCOUNT ", resting buys)\n");
        printf("  %-38s %9.1f ms  (%.0fx raw echo p50)\n", "query_stock_orders, 1,000 orders",
               (double)r->query_1k_ns / 1e6, ratio((double)r->query_1k_ns, (double)r->raw.p50));
        char label[64];
        snprintf(label, sizeof label, "query_stock_orders, %d orders", r->query_big_n);
        printf("  %-38s %9.1f ms\n", label, (double)r->query_100k_ns / 1e6);
        printf("  %-38s %9.2f ms  (%d pings answered while it ran, slowest %.1f ms)\n",
               "longest loop run during it (bridge)", (double)r->query_pinged.busy_us / 1000,
               r->query_pinged.pings, r->query_pinged.ping_max_ms);
        snprintf(label, sizeof label, "anon RSS per open order (%d open)", r->book_orders);
        /* RssAnon: the book, the heap, the order blocks. The whole VmRSS also counts the
           pages of LMDB's file map the writes touched (page cache, dropped from RSS when
           the map grows), so it is printed but not judged. */
        printf("  %-38s %9.0f B   target <= 150 %s  (VmRSS %.0f B/order: %.0f -> %.0f MB)\n", label,
               r->anon_per_order, verdict(r->anon_per_order <= 150), r->rss_per_order,
               r->rss_before_mb, r->rss_book_mb);
        snprintf(label, sizeof label, "sim_next_day, %lld orders", r->close_orders);
        printf("  %-38s %9.1f ms  (%.1f ms per 100k)\n", label, r->close.ms, r->close_ms_per_100k);
        printf("  %-38s %9.2f ms  target <= 10 %s\n", "longest loop run during it (bridge)",
               (double)r->close.busy_us / 1000, verdict(r->close.busy_us <= 10000));
        printf("  %-38s %9d     (slowest %.1f ms at the client)\n", "pings answered during it",
               r->close.pings, r->close.ping_max_ms);
        printf("  %-38s %9.0f MB  (was %.0f MB with the book; anon %.0f -> %.0f MB)\n",
               "RSS after the close", r->rss_after_close_mb, r->rss_book_mb, r->anon_book_mb,
               r->anon_after_close_mb);
        printf("  bridge: %s\n", r->close_message);
    }
    printf("order_error pushes seen: %llu (0 = no order was rejected)\n",
           (unsigned long long)r->order_errors);
}

/* --- machine-readable output and the plot ------------------------------------------ */

static void json_lat(FILE *f, const char *name, lat_t l, bool comma) {
    fprintf(f, "\"%s\": {\"p50_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f}%s", name, us(l.p50),
            us(l.p99), us(l.p999), comma ? ", " : "");
}

static void write_json(FILE *f, const result_t *rs, int n, const opts_t *o) {
    fprintf(f, "{\"machine_cores\": %ld, \"transport\": \"ipc\", \"bridges\": [",
            sysconf(_SC_NPROCESSORS_ONLN));
    for (int i = 0; i < n; i++) {
        const result_t *r = &rs[i];
        fprintf(f, "%s\n {\"durability\": \"%s\", \"sync_n\": %d, \"sync\": {", i ? "," : "",
                r->name, r->sync_n);
        json_lat(f, "raw_echo", r->raw, true);
        json_lat(f, "ping", r->ping, true);
        json_lat(f, "order_resting", r->resting, true);
        json_lat(f, "order_filling", r->filling, true);
        json_lat(f, "order_async_ack", r->async_ack, false);
        fprintf(f,
                "},\n  \"pipelined_per_s\": {\"window\": %d, \"raw_echo\": %.0f, \"ping\": %.0f, "
                "\"order_resting\": %.0f, \"order_filling\": %.0f},\n  \"clients\": [",
                o->window, r->rate_raw, r->rate_ping, r->rate_resting, r->rate_filling);
        for (int c = 0; c < r->nconc; c++) {
            fprintf(f, "%s{\"clients\": %d, ", c ? ", " : "", r->conc[c].clients);
            json_lat(f, "raw_echo", r->conc[c].raw, true);
            json_lat(f, "order", r->conc[c].order, true);
            fprintf(f, "\"raw_per_s\": %.0f, \"orders_per_s\": %.0f}", r->conc[c].raw_rate,
                    r->conc[c].order_rate);
        }
        fprintf(f, "]");
        if (r->burst_n)
            fprintf(f,
                    ",\n  \"burst\": {\"orders\": %d, \"first_push_ms\": %.1f, \"reply_ms\": %.1f, "
                    "\"last_push_ms\": %.1f, \"max_loop_run_us\": %lld}",
                    r->burst_n, r->burst_first_ms, r->burst_reply_ms, r->burst_last_ms,
                    r->burst_busy_us);
        if (r->fan_run) {
            fprintf(f, ",\n  \"fanout\": [");
            for (int slot = 0, first = 1; slot < 2; slot++)
                for (int which = 0; which < 2; which++, first = 0)
                    fprintf(f,
                            "%s{\"source\": \"%s\", \"subscribers\": %d, \"events\": %d, "
                            "\"per_s_slowest\": %.0f, \"lost_live\": %lld, \"replayed\": %lld, "
                            "\"missing\": %lld}",
                            first ? "" : ", ", which ? "xtbridge" : "raw", r->fan[which][slot].subs,
                            r->fan[which][slot].events, r->fan[which][slot].rate,
                            r->fan[which][slot].lost, r->fan[which][slot].replayed,
                            r->fan[which][slot].missing);
            fprintf(f, "]");
        }
        if (r->book_run)
            fprintf(f,
                    ",\n  \"book\": {\"query_1000_ms\": %.2f, \"query_orders\": %d, "
                    "\"query_big_ms\": %.2f, \"query_big_max_loop_run_us\": %llu, "
                    "\"query_big_pings_answered\": %d, \"open_orders\": %d, "
                    "\"rss_per_order_b\": %.0f, "
                    "\"anon_per_order_b\": %.0f, \"rss_book_mb\": %.0f, "
                    "\"rss_after_close_mb\": %.0f, \"close_orders\": %lld, \"close_ms\": %.1f, "
                    "\"close_ms_per_100k\": %.1f, \"close_max_loop_run_us\": %llu, "
                    "\"close_pings_answered\": %d, \"close_ping_max_ms\": %.2f, "
                    "\"anon_book_mb\": %.0f, \"anon_after_close_mb\": %.0f}",
                    (double)r->query_1k_ns / 1e6, r->query_big_n, (double)r->query_100k_ns / 1e6,
                    r->query_pinged.busy_us, r->query_pinged.pings, r->book_orders,
                    r->rss_per_order, r->anon_per_order, r->rss_book_mb, r->rss_after_close_mb,
                    r->close_orders, r->close.ms, r->close_ms_per_100k, r->close.busy_us,
                    r->close.pings, r->close.ping_max_ms, r->anon_book_mb, r->anon_after_close_mb);
        fprintf(f, ",\n  \"order_errors\": %llu}", (unsigned long long)r->order_errors);
    }
    fprintf(f, "\n]}\n");
}

/* Two panels with gnuplot: sync latency percentiles next to the raw echo, and total rate
   vs concurrent clients for the raw echo and orders. */
static int write_plot(const result_t *r, const char *png, const char *dir) {
    char lat[PATH_MAX], thr[PATH_MAX], gp[PATH_MAX];
    snprintf(lat, sizeof lat, "%s/lat.dat", dir);
    snprintf(thr, sizeof thr, "%s/thr.dat", dir);
    snprintf(gp, sizeof gp, "%s/plot.gp", dir);
    FILE *f = fopen(lat, "w");
    if (!f)
        return -1;
    const char *names[] = {"raw echo", "ping", "order resting", "order filling", "async ack"};
    const lat_t ls[] = {r->raw, r->ping, r->resting, r->filling, r->async_ack};
    for (int i = 0; i < 5; i++)
        fprintf(f, "\"%s\" %.1f %.1f %.1f\n", names[i], us(ls[i].p50), us(ls[i].p99),
                us(ls[i].p999));
    fclose(f);
    if (!(f = fopen(thr, "w")))
        return -1;
    for (int i = 0; i < r->nconc; i++)
        fprintf(f, "%d %.0f %.0f %.1f %.1f\n", r->conc[i].clients, r->conc[i].raw_rate,
                r->conc[i].order_rate, us(r->conc[i].raw.p50), us(r->conc[i].order.p50));
    fclose(f);
    if (!(f = fopen(gp, "w")))
        return -1;
    fprintf(f,
            "set terminal pngcairo size 1200,480 font ',10' noenhanced\n"
            "set output '%s'\n"
            "set multiplot layout 1,2\n"
            "set title 'sync round trip, one client (us, log)'\n"
            "set style data histograms\nset style histogram clustered gap 1\n"
            "set style fill solid 0.8 border -1\nset logscale y\nset grid ytics\n"
            "set key top left\nset xtics rotate by -20\n"
            "plot '%s' using 2:xtic(1) title 'p50', '' using 3 title 'p99', "
            "'' using 4 title 'p99.9'\n"
            "unset logscale y\nunset style\nset xtics norotate\n"
            "set title 'concurrent sync clients: total per second'\n"
            "set logscale x 2\nset xlabel 'clients'\nset ylabel 'round trips / s'\n"
            "set y2label 'p50 us'\nset y2tics\nset ytics nomirror\nset key top left\n"
            "plot '%s' using 1:2 with linespoints lw 2 title 'raw echo rate', "
            "'' using 1:3 with linespoints lw 2 title 'order_stock rate', "
            "'' using 1:4 axes x1y2 with lines dt 2 title 'raw p50 (right)', "
            "'' using 1:5 axes x1y2 with lines dt 2 title 'order p50 (right)'\n"
            "unset multiplot\n",
            png, lat, thr);
    fclose(f);
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof cmd, "gnuplot '%s'", gp);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "xtb_bench: gnuplot failed (%d): is gnuplot installed?\n", rc);
    return rc == 0 ? 0 : -1;
}

/* --- main -------------------------------------------------------------------------- */

static int echo_server(const char *endpoint) {
    void *c = zmq_ctx_new();
    void *s = zmq_socket(c, ZMQ_ROUTER);
    int hwm = HWM;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_bind(s, endpoint)) {
        fprintf(stderr, "xtb_bench echo: bind %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
        return 2;
    }
    /* [routing id][payload] in, the same frames straight back out */
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, s, 0) < 0) {
            zmq_msg_close(&part);
            if (zmq_errno() == EINTR)
                continue;
            break;
        }
        int more = zmq_msg_more(&part);
        if (zmq_msg_send(&part, s, more ? ZMQ_SNDMORE : 0) < 0)
            zmq_msg_close(&part);
    }
    zmq_close(s);
    zmq_ctx_term(c);
    return 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: xtb_bench [--xtbridge PATH] [--dir DIR] [--durability LIST] [--sync N]\n"
            "                 [--clients LIST] [--pipeline N] [--window N] [--burst N]\n"
            "                 [--parts LIST] [--attach-ms N]\n"
            "  --xtbridge PATH     bridge binary (default: xtbridge next to xtb_bench)\n"
            "  --dir DIR           work dir for sockets, config, data (default: a new temp dir,\n"
            "                      removed at the end)\n"
            "  --durability LIST   one bridge per mode, in order (default process,power; the\n"
            "                      first gets the targets; 'default' = flag not passed)\n"
            "  --sync N            sync round trips of each kind (default 2000; later bridges\n"
            "                      N/4)\n"
            "  --clients LIST      concurrent sync clients (default 1,4,16,64; 0 = skip)\n"
            "  --pipeline N        pipelined requests of each kind (default 50000, in 5 rounds)\n"
            "  --window N          outstanding pipelined requests (default 1000)\n"
            "  --burst N           resting orders filled by one price move (default 20000;\n"
            "                      0 = skip)\n"
            "  --parts LIST        what to run (default all): sync,clients,ping,resting,\n"
            "                      filling,burst,fanout,book (ping/resting/filling: the\n"
            "                      pipelined kinds)\n"
            "  --attach-ms N       print each bridge's pid and wait N ms (perf/strace -p)\n"
            "  --fanout N          orders per fan-out burst, 4 events each (default 50000 =\n"
            "                      200,000 events; 0 = skip)\n"
            "  --book N            open orders for memory and the day close (default 300000)\n"
            "  --json FILE         also write every figure as JSON (- = stdout)\n"
            "  --plot FILE.png     draw latency vs raw and throughput vs clients (gnuplot)\n"
            "       xtb_bench --echo-server ENDPOINT   (the raw echo process)\n");
}

static int parse_int(const char *s, int min, int *out) {
    char *end = NULL;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || v < min || v > 100000000)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_args(int argc, char **argv, opts_t *o) {
    static char bridge_path[PATH_MAX];
    snprintf(bridge_path, sizeof bridge_path, "%s", self_exe);
    char *slash = strrchr(bridge_path, '/');
    snprintf(slash ? slash + 1 : bridge_path,
             sizeof bridge_path - (size_t)(slash ? slash + 1 - bridge_path : 0), "xtbridge");
    *o = (opts_t){.xtbridge = bridge_path,
                  .sync_n = 2000,
                  .clients = {1, 4, 16, 64},
                  .nclients = 4,
                  .fanout_n = 50000,
                  .book_n = 300000,
                  .pipeline_n = 50000,
                  .window = 1000,
                  .burst_n = 20000,
                  .rounds = 5,
                  .parts = PART_ALL};
    snprintf(o->durability, sizeof o->durability, "process,power");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--xtbridge") && v)
            o->xtbridge = v;
        else if (!strcmp(a, "--dir") && v)
            o->dir = v;
        else if (!strcmp(a, "--durability") && v && strlen(v) < sizeof o->durability)
            snprintf(o->durability, sizeof o->durability, "%s", v);
        else if (!strcmp(a, "--sync"))
            bad = parse_int(v, 1, &o->sync_n);
        else if (!strcmp(a, "--pipeline"))
            bad = parse_int(v, 1, &o->pipeline_n);
        else if (!strcmp(a, "--window"))
            bad = parse_int(v, 1, &o->window);
        else if (!strcmp(a, "--burst"))
            bad = parse_int(v, 0, &o->burst_n);
        else if (!strcmp(a, "--attach-ms"))
            bad = parse_int(v, 0, &o->attach_ms);
        else if (!strcmp(a, "--fanout"))
            bad = parse_int(v, 0, &o->fanout_n);
        else if (!strcmp(a, "--book"))
            bad = parse_int(v, 0, &o->book_n);
        else if (!strcmp(a, "--json") && v)
            o->json = v;
        else if (!strcmp(a, "--plot") && v)
            o->plot = v;
        else if (!strcmp(a, "--parts") && v) {
            o->parts = 0;
            char list[128];
            snprintf(list, sizeof list, "%s", v);
            for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && !bad;
                 tok = strtok_r(NULL, ",", &save)) {
                unsigned bit = 0;
                for (size_t k = 0; k < sizeof part_names / sizeof *part_names; k++)
                    if (!strcmp(tok, part_names[k]))
                        bit = 1u << k;
                bad = !bit;
                o->parts |= bit;
            }
        } else if (!strcmp(a, "--clients") && v) {
            o->nclients = 0;
            char list[64];
            snprintf(list, sizeof list, "%s", v);
            for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && !bad;
                 tok = strtok_r(NULL, ",", &save)) {
                int c = 0;
                bad = parse_int(tok, 0, &c) || o->nclients == MAX_CLIENT_COUNTS;
                if (!bad && c > 0)
                    o->clients[o->nclients++] = c;
            }
        } else
            bad = 1;
        if (bad) {
            usage();
            return -1;
        }
        i++;
    }
    return 0;
}

int main(int argc, char **argv) {
    ssize_t len = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (len <= 0) {
        fprintf(stderr, "xtb_bench: cannot find my own executable\n");
        return 2;
    }
    self_exe[len] = 0;
    if (argc == 3 && !strcmp(argv[1], "--echo-server"))
        return echo_server(argv[2]);
    if (argc == 5 && !strcmp(argv[1], "--pub-server"))
        return pub_server(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage();
        return 0;
    }
    opts_t o;
    if (parse_args(argc, argv, &o))
        return 2;
    /* $XTB_TMPDIR (bench/run.sh: the build dir's tmp/) or the current directory: relative
       paths keep ipc:// endpoints short */
    const char *base = getenv("XTB_TMPDIR");
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s/xtb-bench.XXXXXX", base && *base ? base : ".");
    bool own_dir = !o.dir;
    if (own_dir && !(o.dir = mkdtemp(tmp))) {
        fprintf(stderr, "xtb_bench: mkdtemp: %s\n", strerror(errno));
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    snprintf(burst_topic, sizeof burst_topic, "trade.%s.", BURST_ACCOUNT);

    char cfg[PATH_MAX], echo_ep[PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s/bench.cfg", o.dir);
    snprintf(echo_ep, sizeof echo_ep, "ipc://%s/raw-echo", o.dir);
    if (write_config(cfg)) {
        fprintf(stderr, "xtb_bench: cannot write %s\n", cfg);
        return 2;
    }
    ctx = zmq_ctx_new();
    char *echo_argv[] = {self_exe, (char *)"--echo-server", echo_ep, NULL};
    spawn(echo_argv);
    void *echo = dealer_new(echo_ep, "bench-echo");
    buf_t probe = resting_buf("echo");
    int rc = round_trip(echo, &probe, CHECK_ECHO) < 0 ? 1 : 0;
    free(probe.data);
    if (rc)
        fprintf(stderr, "xtb_bench: the raw echo process does not answer\n");

    result_t results[MAX_BRIDGES];
    int nresults = 0;
    char modes[sizeof o.durability];
    snprintf(modes, sizeof modes, "%s", o.durability);
    for (char *save = NULL, *mode = strtok_r(modes, ",", &save); mode && !rc;
         mode = strtok_r(NULL, ",", &save)) {
        if (nresults == MAX_BRIDGES)
            break;
        if (run_bridge(&results[nresults], &o, cfg, echo_ep, echo, mode, nresults == 0))
            rc = 1;
        else
            nresults++;
    }
    sock_close(echo);
    stop_all();
    zmq_ctx_term(ctx);

    if (nresults) {
        printf("xtb_bench: xtbridge (sim backend) vs a raw libzmq DEALER/ROUTER echo in another\n"
               "process, all on ipc://, interleaved in one run. Shared 2-core machine: compare\n"
               "the ratios, not the microseconds.\n");
        for (int i = 0; i < nresults; i++)
            print_result(&results[i], i ? &results[0] : NULL, &o);
        if (bad_replies)
            printf("unexpected replies: %llu\n", (unsigned long long)atomic_load(&bad_replies));
        if (o.json) {
            FILE *f = strcmp(o.json, "-") ? fopen(o.json, "w") : stdout;
            if (f) {
                write_json(f, results, nresults, &o);
                if (f != stdout)
                    fclose(f);
            } else
                fprintf(stderr, "xtb_bench: cannot write %s\n", o.json);
        }
        if (o.plot && results[0].nconc && write_plot(&results[0], o.plot, o.dir))
            rc = 1;
        else if (o.plot)
            printf("plot written to %s\n", o.plot);
    }
    if (own_dir)
        rm_tree(o.dir);
    return rc;
}
