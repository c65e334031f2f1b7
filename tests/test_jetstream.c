/*  test_jetstream.c - cluster fan-out through NATS JetStream (issue 12 item 5), end to end:
    a real `nats-server -js` on a free loopback port, the real `xtbridge --jetstream`, fills
    placed through the C client, and a JetStream consumer (nats.c) started afterwards that
    must get every `trade.` push of the account once, in seq order, with the Event protobuf
    as payload and the Xtb-* headers. Then the same with NATS stopped in the middle of
    trading (the bridge keeps trading; its stats say NATS is gone) and restarted: the stream
    ends complete.

    600000.SH trades at 10.60 in the sim; a buy of 100 at 10.70 fills whole on entry, one
    trade each (the durability tests rely on the same).
*/
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <czmq.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "xtb_client.h"

#define ACC "1000000365"
#define CODE "600000.SH"
#define FILL_PRICE 10.70
#define TRADES_SUBJECT "xtb.trade." ACC

static const char *CONFIG = "sim\n"
                            "    account\n"
                            "        id = 1000000365\n"
                            "        type = STOCK\n"
                            "        cash = 100000000\n";

typedef struct {
    pid_t pid;
    int port;
    char dir[300]; /* -sd store dir, kept across a restart */
    char url[64];
} nats_t;

/* A loopback port nobody listens on now. */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    close(fd);
    return ntohs(addr.sin_port);
}

/* Start nats-server and wait (bounded) until it takes a connection. */
static void nats_start(nats_t *n) {
    char port[16], log[400];
    snprintf(port, sizeof port, "%d", n->port);
    snprintf(log, sizeof log, "%s.log", n->dir);
    n->pid = fork();
    cr_assert(n->pid >= 0);
    if (n->pid == 0) {
        FILE *out = freopen(log, "a", stdout);
        (void)out;
        dup2(1, 2);
        execlp("nats-server", "nats-server", "-js", "-a", "127.0.0.1", "-p", port, "-sd", n->dir,
               (char *)NULL);
        _exit(127); /* no nats-server: the test fails below, it does not skip */
    }
    for (int i = 0; i < 200; i++) {
        natsConnection *nc = NULL;
        if (natsConnection_ConnectTo(&nc, n->url) == NATS_OK) {
            natsConnection_Destroy(nc);
            return;
        }
        int status;
        cr_assert_eq(waitpid(n->pid, &status, WNOHANG), 0,
                     "nats-server exited (is the Debian package nats-server installed? log %s)",
                     log);
        zclock_sleep(50);
    }
    cr_assert_fail("nats-server did not take connections on %s (log %s)", n->url, log);
}

static void nats_stop(nats_t *n) {
    if (n->pid <= 0)
        return;
    kill(n->pid, SIGTERM);
    int status;
    waitpid(n->pid, &status, 0);
    n->pid = 0;
}

static void nats_init(nats_t *n, const char *name) {
    n->port = free_port();
    snprintf(n->dir, sizeof n->dir, "%s/xtbt-%d-nats-%s", xtbt_tmpdir(), (int)getpid(), name);
    snprintf(n->url, sizeof n->url, "nats://127.0.0.1:%d", n->port);
    nats_start(n);
}

static xtbt_bridge_t *bridge_on(nats_t *n) {
    const char *extra[] = {"--jetstream", n->url, "--log-level", "info", NULL};
    xtbt_bridge_t *b = xtbt_bridge_start(CONFIG, extra);
    cr_assert_not_null(b);
    return b;
}

static void fill(xtb_client_t *c, int count) {
    for (int i = 0; i < count; i++) {
        Xtbridge__Reply *r =
            xtbt_call_ok(c, xtb_req_order(ACC, CODE, 23, 100, 11, FILL_PRICE, "js", "fill", false),
                         XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
        cr_assert_gt(r->order_stock->order_id, 0);
        xtb_reply_destroy(&r);
    }
}

static Xtbridge__JetStreamStats *stats(xtb_client_t *c, Xtbridge__Reply **keep) {
    *keep = xtbt_call_ok(c, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
    cr_assert_not_null((*keep)->stats->jetstream, "stats has no jetstream part");
    return (*keep)->stats->jetstream;
}

/* A consumer created now, from the stream's start: exactly `want` trades, seq 1..want in
   order, each payload an Event for that seq, then nothing more. Waits up to 30 s for
   stragglers (a catch-up after NATS came back). */
static void expect_trades(nats_t *n, int want) {
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    cr_assert_eq(natsConnection_ConnectTo(&nc, n->url), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = "XTB";
    so.Config.AckPolicy = js_AckNone;
    so.Config.DeliverPolicy = js_DeliverAll;
    natsStatus s = js_SubscribeSync(&sub, js, TRADES_SUBJECT, NULL, &so, &jerr);
    cr_assert_eq(s, NATS_OK, "subscribe: %s (%d)", natsStatus_GetText(s), (int)jerr);
    for (int i = 1; i <= want; i++) {
        natsMsg *msg = NULL;
        s = natsSubscription_NextMsg(&msg, sub, 30000);
        cr_assert_eq(s, NATS_OK, "trade %d of %d: %s", i, want, natsStatus_GetText(s));
        const char *seq = NULL, *topic = NULL;
        cr_assert_eq(natsMsgHeader_Get(msg, "Xtb-Seq", &seq), NATS_OK);
        cr_assert_eq(natsMsgHeader_Get(msg, "Xtb-Topic", &topic), NATS_OK);
        cr_assert_eq(strtoll(seq, NULL, 10), i, "message %d carries seq %s", i, seq);
        cr_assert_str_eq(topic, "trade." ACC ".");
        Xtbridge__Event *ev = xtbridge__event__unpack(NULL, (size_t)natsMsg_GetDataLength(msg),
                                                      (const uint8_t *)natsMsg_GetData(msg));
        cr_assert_not_null(ev, "payload of message %d is not an Event", i);
        cr_assert_eq(ev->seq, (uint64_t)i);
        cr_assert_eq(ev->body_case, XTBRIDGE__EVENT__BODY_TRADE);
        cr_assert_str_eq(ev->trade->account_id, ACC);
        cr_assert_eq(ev->trade->traded_volume, 100);
        xtbridge__event__free_unpacked(ev, NULL);
        natsMsg_Destroy(msg);
    }
    natsMsg *extra = NULL;
    s = natsSubscription_NextMsg(&extra, sub, 300);
    cr_assert_eq(s, NATS_TIMEOUT, "more than %d trades in the stream", want);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

Test(jetstream, consumer_started_after_1000_fills_gets_each_once_in_order, .timeout = 180) {
    nats_t n = {0};
    nats_init(&n, "a");
    xtbt_bridge_t *b = bridge_on(&n);
    xtb_client_t *c = xtbt_bridge_client(b);
    fill(c, 1000);
    expect_trades(&n, 1000);
    Xtbridge__Reply *keep = NULL;
    Xtbridge__JetStreamStats *js = stats(c, &keep);
    cr_assert(js->connected);
    cr_assert_geq(js->published, 1000, "published %llu", (unsigned long long)js->published);
    cr_assert_str_eq(js->last_error, "");
    xtb_reply_destroy(&keep);
    xtb_client_destroy(&c);
    cr_assert_eq(xtbt_bridge_stop(&b), 0);
    nats_stop(&n);
}

Test(jetstream, nats_down_during_trading_then_back_stream_ends_complete, .timeout = 180) {
    nats_t n = {0};
    nats_init(&n, "b");
    xtbt_bridge_t *b = bridge_on(&n);
    xtb_client_t *c = xtbt_bridge_client(b);
    fill(c, 300);
    nats_stop(&n);
    /* trading goes on without NATS: every order is answered OK (fill asserts it) */
    fill(c, 400);
    Xtbridge__Reply *keep = NULL;
    Xtbridge__JetStreamStats *js = stats(c, &keep);
    for (int i = 0; i < 100 && js->connected; i++) {
        xtb_reply_destroy(&keep);
        zclock_sleep(50);
        js = stats(c, &keep);
    }
    cr_assert_not(js->connected, "stats still say NATS is connected");
    xtb_reply_destroy(&keep);
    nats_start(&n); /* same port, same store dir */
    fill(c, 300);
    expect_trades(&n, 1000);
    js = stats(c, &keep);
    cr_assert(js->connected);
    cr_assert_str_eq(js->last_error, "");
    xtb_reply_destroy(&keep);
    xtb_client_destroy(&c);
    cr_assert_eq(xtbt_bridge_stop(&b), 0);
    nats_stop(&n);
}

Test(jetstream, bad_url_is_a_usage_error) {
    char cmd[600], out[2048];
    snprintf(cmd, sizeof cmd, "%s --backend sim --jetstream http://x:1 2>&1", XTB_BRIDGE_BIN);
    FILE *p = popen(cmd, "r");
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = 0;
    int status = pclose(p);
    cr_assert_eq(WEXITSTATUS(status), 1, "%s", out);
    cr_assert(strstr(out, "bad jetstream 'http://x:1' (want nats://HOST:PORT)"), "%s", out);
}
