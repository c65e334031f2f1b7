/*  test_remote.c - remote endpoints that are right (issue 8 item 1), end to end with the
    real `xtbridge` binary: a client must subscribe at the bridge it reached, never at
    whatever listens on its own localhost.

    Loopback only: the bridge's ROUTER and PUB are bound to the second loopback address
    127.0.0.2, and a decoy PUB on 127.0.0.1 - the same port as the bridge's PUB - publishes
    fake order and trade pushes for the same account (order_id 424242, remark "DECOY") every
    5 ms. The bridge announces its PUB as "tcp://" "*:PORT" (--pub-advertise with a wildcard
    host, which clients treat like a wildcard bind: no test binds every interface), so a
    client that substitutes the host it reached the ROUTER at (127.0.0.2) hears only the
    bridge; one that wrote 127.0.0.1, as the bridge used to, would hear the decoy. A control
    SUB on 127.0.0.1 proves the decoy is live. Covered: the C client, `xtbctl watch` (the
    binary, its output read through a pipe) with its --pub / $XTB_PUB override, a bind on
    127.0.0.2 announced as it is, and a PUB that connects out (nothing announced).
*/
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "xtb_client.h"

#define ACC "1000000365"
#define BUY 23
#define FIX 11
#define DECOY_ORDER_ID 424242

/* ---- decoy publisher on 127.0.0.1 ------------------------------------------------------ */

static void publish(zsock_t *pub, Xtbridge__Event *ev) {
    size_t size = xtbridge__event__get_packed_size(ev);
    uint8_t *buf = (uint8_t *)malloc(size ? size : 1);
    xtbridge__event__pack(ev, buf);
    zsock_send(pub, "sb", ev->topic, buf, size);
    free(buf);
}

/* zactor: binds a PUB on tcp://127.0.0.1:<*(int *)args> and sends back its endpoint ("" if
   the port is taken), then publishes a fake order and trade of ACC and a heartbeat every
   5 ms until $TERM. */
static void decoy_actor(zsock_t *pipe, void *args) {
    zsock_t *pub = zsock_new(ZMQ_PUB);
    zsock_set_linger(pub, 0);
    int rc = zsock_bind(pub, "tcp://127.0.0.1:%d", *(int *)args);
    zsock_signal(pipe, 0);
    zstr_send(pipe, rc > 0 ? zsock_endpoint(pub) : "");
    zpoller_t *poller = zpoller_new(pipe, NULL);
    uint64_t seq = 0;
    while (true) {
        zsock_t *which = (zsock_t *)zpoller_wait(poller, 5);
        if (which == pipe || zpoller_terminated(poller))
            break; /* $TERM (or interrupted) */
        seq++;
        Xtbridge__XtOrder order = XTBRIDGE__XT_ORDER__INIT;
        order.account_id = (char *)ACC;
        order.account_type = 2;
        order.stock_code = (char *)"600000.SH";
        order.order_id = DECOY_ORDER_ID;
        order.order_volume = 100;
        order.order_remark = (char *)"DECOY";
        order.order_status = 56;
        Xtbridge__Event ev = XTBRIDGE__EVENT__INIT;
        ev.topic = (char *)"order." ACC ".";
        ev.seq = seq;
        ev.time_ns = zclock_time() * 1000000;
        ev.body_case = XTBRIDGE__EVENT__BODY_ORDER;
        ev.order = &order;
        publish(pub, &ev);
        Xtbridge__XtTrade trade = XTBRIDGE__XT_TRADE__INIT;
        trade.account_id = (char *)ACC;
        trade.account_type = 2;
        trade.stock_code = (char *)"600000.SH";
        trade.order_id = DECOY_ORDER_ID;
        trade.traded_id = (char *)"DECOY";
        trade.traded_volume = 100;
        trade.order_remark = (char *)"DECOY";
        ev.topic = (char *)"trade." ACC ".";
        ev.body_case = XTBRIDGE__EVENT__BODY_TRADE;
        ev.trade = &trade;
        publish(pub, &ev);
        /* it looks like a bridge: a client subscribed here would pass its heartbeat sync */
        Xtbridge__Heartbeat hb = XTBRIDGE__HEARTBEAT__INIT;
        hb.instance_id = (char *)"decoy";
        hb.interval_ms = 50;
        ev.topic = (char *)"heartbeat.";
        ev.body_case = XTBRIDGE__EVENT__BODY_HEARTBEAT;
        ev.heartbeat = &hb;
        publish(pub, &ev);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&pub);
}

static zactor_t *s_decoy;
static xtbt_bridge_t *s_bridge;
static int s_pub_port;
static char s_router[64];     /* tcp://127.0.0.2:R */
static char s_wildcard[64];   /* what the bridge announces: "tcp://" "*:P" */
static char s_real_pub[64];   /* tcp://127.0.0.2:P */
static char s_decoy_pub[64];  /* tcp://127.0.0.1:P */
static pid_t s_watch_pid;     /* a running xtbctl watch, stopped by .fini if a test failed */
static char s_watch_err[128]; /* its stderr file */

/* A port below the kernel's ephemeral range (which hands out ports nearly in sequence, so
   parallel test workers would pick each other's), random per try. */
static int random_port(void) {
    static unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() ^ (unsigned)zclock_usecs();
    return 20000 + rand_r(&seed) % 12000;
}

static bool port_free(const char *host, int port) {
    zsock_t *probe = zsock_new(ZMQ_ROUTER);
    bool ok = zsock_bind(probe, "tcp://%s:%d", host, port) > 0;
    zsock_destroy(&probe);
    return ok;
}

/* The decoy on 127.0.0.1:P with P free on 127.0.0.2 too, and a ROUTER port R free on
   127.0.0.2. Returns false when 50 tries found none. */
static bool start_decoy(void) {
    for (int tries = 0; tries < 50; tries++) {
        int port = random_port(), router = random_port();
        if (router == port || !port_free("127.0.0.2", port) || !port_free("127.0.0.2", router))
            continue;
        s_decoy = zactor_new(decoy_actor, &port);
        char *ep = zstr_recv(s_decoy);
        bool bound = ep && *ep;
        zstr_free(&ep);
        if (!bound) {
            zactor_destroy(&s_decoy);
            continue;
        }
        s_pub_port = port;
        snprintf(s_decoy_pub, sizeof s_decoy_pub, "tcp://127.0.0.1:%d", port);
        snprintf(s_real_pub, sizeof s_real_pub, "tcp://127.0.0.2:%d", port);
        snprintf(s_wildcard, sizeof s_wildcard, "tcp://*:%d", port);
        snprintf(s_router, sizeof s_router, "tcp://127.0.0.2:%d", router);
        return true;
    }
    return false;
}

/* Decoy, then the bridge on 127.0.0.2 with `extra` args; a port taken in between (another
   test worker) means another try. */
static void start_remote(const char *const *extra) {
    for (int tries = 0; tries < 3 && !s_bridge; tries++) {
        cr_assert(start_decoy(), "no free port pair on 127.0.0.1 / 127.0.0.2");
        const char *args[4] = {NULL};
        for (int i = 0; extra && extra[i] && i < 3; i++)
            args[i] = streq(extra[i], "WILDCARD") ? s_wildcard : extra[i];
        s_bridge = xtbt_bridge_start_on(s_router, s_real_pub, NULL, args);
        if (!s_bridge)
            zactor_destroy(&s_decoy);
    }
    cr_assert_not_null(s_bridge, "xtbridge did not start on %s / %s", s_router, s_real_pub);
}

/* Bridge on 127.0.0.2 (ROUTER and PUB, the PUB on the decoy's port), announcing the
   wildcard form. */
static void start_wildcard(void) {
    const char *extra[] = {"--pub-advertise", "WILDCARD", NULL};
    start_remote(extra);
}

/* The same without --pub-advertise: the specific address is announced as it is. */
static void start_specific(void) {
    start_remote(NULL);
}

static void stop_all(void) {
    if (s_watch_pid > 0) {
        kill(s_watch_pid, SIGKILL);
        waitpid(s_watch_pid, NULL, 0);
        s_watch_pid = 0;
        unlink(s_watch_err);
    }
    if (s_bridge) {
        int status = xtbt_bridge_stop(&s_bridge);
        cr_expect_eq(status, 0, "xtbridge exit status %d after SIGTERM", status);
    }
    zactor_destroy(&s_decoy);
}

/* The decoy is live on 127.0.0.1:P: a SUB there hears its order push. */
static void expect_decoy_live(void) {
    zsock_t *sub = zsock_new_sub(s_decoy_pub, "order." ACC ".");
    zsock_set_rcvtimeo(sub, 3000);
    char *topic = NULL;
    zframe_t *body = NULL;
    cr_assert_eq(zsock_recv(sub, "sf", &topic, &body), 0, "the decoy on %s is silent", s_decoy_pub);
    Xtbridge__Event *ev = xtbridge__event__unpack(NULL, zframe_size(body), zframe_data(body));
    cr_assert_not_null(ev);
    cr_assert_eq(ev->order->order_id, DECOY_ORDER_ID);
    xtbridge__event__free_unpacked(ev, NULL);
    zstr_free(&topic);
    zframe_destroy(&body);
    zsock_destroy(&sub);
}

static int64_t place(xtb_client_t *c, int64_t volume, double price) {
    Xtbridge__Reply *r = xtbt_call_ok(
        c, xtb_req_order(ACC, "600000.SH", BUY, volume, FIX, price, "remote", "", false),
        XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    int64_t id = r->order_stock->order_id;
    xtb_reply_destroy(&r);
    return id;
}

/* Subscribe a C client on the ROUTER at 127.0.0.2, trade, and check every push it gets is
   the bridge's: the order's pushes and its fill, nothing of the decoy. */
static void c_client_hears_only_the_bridge(const char *announced) {
    xtb_client_t *c = xtb_client_new(s_router, NULL);
    cr_assert_not_null(c);
    Xtbridge__Reply *hello = NULL;
    cr_assert_eq(xtb_client_hello(c, 5000, &hello), 0, "%s", xtb_client_error(c));
    cr_assert_eq(hello->hello->n_pub_endpoints, 1);
    cr_assert_str_eq(hello->hello->pub_endpoints[0], announced);
    xtb_reply_destroy(&hello);
    cr_assert_str_eq(xtb_client_pub_endpoint(c), s_real_pub);

    cr_assert_eq(xtb_client_subscribe(c, "order." ACC "."), 0, "%s", xtb_client_error(c));
    cr_assert_eq(xtb_client_subscribe(c, "trade." ACC "."), 0, "%s", xtb_client_error(c));
    cr_assert_eq(xtb_client_sync_subscriptions(c, 5000), 0, "%s", xtb_client_error(c));
    cr_assert_str_eq(xtb_client_pub_endpoint(c), s_real_pub);

    /* marketable (last 10.60): accepted, reported, filled at once */
    int64_t id = place(c, 100, 10.60);
    cr_assert_gt(id, 0);
    int orders = 0, trades = 0, decoys = 0;
    char *topic = NULL;
    Xtbridge__Event *ev = NULL;
    /* until 500 ms pass without a push (the decoy sends every 5 ms, so a client connected
       to it would get dozens in that time), the first decoy push, or 5 s */
    int64_t deadline = zclock_mono() + 5000;
    while (decoys == 0 && zclock_mono() < deadline &&
           xtb_client_recv_event(c, 500, &topic, &ev) == 0) {
        if (ev->body_case == XTBRIDGE__EVENT__BODY_ORDER) {
            if (ev->order->order_id == DECOY_ORDER_ID)
                decoys++;
            else {
                cr_assert_eq(ev->order->order_id, id);
                cr_assert_str_eq(ev->order->order_remark, "");
                orders++;
            }
        } else if (ev->body_case == XTBRIDGE__EVENT__BODY_TRADE) {
            if (ev->trade->order_id == DECOY_ORDER_ID)
                decoys++;
            else {
                cr_assert_eq(ev->trade->order_id, id);
                cr_assert_eq(ev->trade->traded_volume, 100);
                cr_assert_str_neq(ev->trade->traded_id, "DECOY");
                trades++;
            }
        }
        free(topic);
        xtb_event_destroy(&ev);
    }
    cr_assert_eq(decoys, 0, "the client heard the decoy on 127.0.0.1 %d times", decoys);
    cr_assert_geq(orders, 2, "order pushes of the real bridge: %d", orders);
    cr_assert_eq(trades, 1);
    xtb_client_destroy(&c);
    expect_decoy_live();
}

Test(remote, c_client_substitutes_the_router_host, .init = start_wildcard, .fini = stop_all,
     .timeout = 60) {
    c_client_hears_only_the_bridge(s_wildcard);
}

Test(remote, c_client_specific_bind_announced_as_is, .init = start_specific, .fini = stop_all,
     .timeout = 60) {
    c_client_hears_only_the_bridge(s_real_pub);
}

/* ---- xtbctl watch ------------------------------------------------------------------------ */

typedef struct {
    pid_t pid;
    int out; /* read end of its stdout */
    char err_path[128];
    char text[65536]; /* stdout so far */
    size_t len;
} watch_t;

/* Start `xtbctl --router R --json [--pub PUB] watch order.ACC.` (env XTB_PUB = env_pub). */
static void watch_start(watch_t *w, const char *pub, const char *env_pub) {
    memset(w, 0, sizeof *w);
    snprintf(w->err_path, sizeof w->err_path, "%s/xtbt-%d-watch-%d.err", xtbt_tmpdir(),
             (int)getpid(), s_pub_port);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    w->pid = fork();
    cr_assert_geq(w->pid, 0);
    if (w->pid == 0) {
        dup2(fds[1], 1);
        int efd = open(w->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (efd >= 0)
            dup2(efd, 2);
        close(fds[0]);
        close(fds[1]);
        if (env_pub)
            setenv("XTB_PUB", env_pub, 1);
        else
            unsetenv("XTB_PUB");
        const char *argv[12];
        int n = 0;
        argv[n++] = XTB_XTBCTL_BIN;
        argv[n++] = "--router";
        argv[n++] = s_router;
        argv[n++] = "--json";
        if (pub) {
            argv[n++] = "--pub";
            argv[n++] = pub;
        }
        argv[n++] = "watch";
        argv[n++] = "order." ACC ".";
        argv[n] = NULL;
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    w->out = fds[0];
    s_watch_pid = w->pid;
    snprintf(s_watch_err, sizeof s_watch_err, "%s", w->err_path);
}

/* Read its stdout until `needle` shows up or timeout_ms pass; true if it did. */
static bool watch_wait_for(watch_t *w, const char *needle, int timeout_ms) {
    int64_t deadline = zclock_mono() + timeout_ms;
    while (!strstr(w->text, needle)) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0)
            return false;
        struct pollfd pfd = {w->out, POLLIN, 0};
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        ssize_t n = read(w->out, w->text + w->len, sizeof w->text - 1 - w->len);
        if (n <= 0)
            return false; /* exited */
        w->len += (size_t)n;
        w->text[w->len] = '\0';
        if (w->len >= sizeof w->text - 1) {
            /* keep the tail: a busy decoy can fill the buffer */
            memmove(w->text, w->text + w->len / 2, w->len - w->len / 2 + 1);
            w->len -= w->len / 2;
        }
    }
    return true;
}

/* Ctrl-C it, collect the rest of its output and its stderr; returns its exit status. */
static int watch_stop(watch_t *w, char *err, size_t errlen) {
    kill(w->pid, SIGINT);
    watch_wait_for(w, "\x01never\x01", 3000); /* drains until EOF (it exited) */
    int status = 0;
    cr_assert_eq(waitpid(w->pid, &status, 0), w->pid);
    s_watch_pid = 0;
    close(w->out);
    FILE *f = fopen(w->err_path, "r");
    size_t n = f ? fread(err, 1, errlen - 1, f) : 0;
    err[n] = '\0';
    if (f)
        fclose(f);
    unlink(w->err_path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Test(remote, xtbctl_watch_substitutes_the_router_host, .init = start_wildcard, .fini = stop_all,
     .timeout = 60) {
    watch_t w;
    watch_start(&w, NULL, NULL);
    xtb_client_t *c = xtb_client_new(s_router, NULL);
    /* Its subscription is live once it prints the push of an order placed after it started:
       place resting orders (10.00 < last 10.60) until one shows up. */
    bool live = false;
    for (int tries = 0; tries < 30 && !live; tries++) {
        int64_t id = place(c, 100, 10.00);
        char needle[64];
        snprintf(needle, sizeof needle, "\"order_id\":%lld,", (long long)id);
        live = watch_wait_for(&w, needle, 300);
        cr_assert_null(strstr(w.text, "DECOY"), "xtbctl watch heard the decoy:\n%.2000s", w.text);
    }
    cr_assert(live, "xtbctl watch printed no push of the bridge:\n%s", w.text);
    int64_t id = place(c, 200, 10.60); /* fills */
    char needle[64];
    snprintf(needle, sizeof needle, "\"order_id\":%lld,", (long long)id);
    cr_assert(watch_wait_for(&w, needle, 3000), "no push of order %lld:\n%s", (long long)id,
              w.text);
    /* the decoy sends every 5 ms: half a second would bring ~100 of its pushes */
    watch_wait_for(&w, "DECOY", 500);
    char err[4096];
    cr_assert_eq(watch_stop(&w, err, sizeof err), 0, "xtbctl watch: %s", err);
    cr_assert_null(strstr(w.text, "DECOY"), "xtbctl watch heard the decoy:\n%s", w.text);
    cr_assert_null(strstr(w.text, "424242"), "xtbctl watch heard the decoy:\n%s", w.text);
    xtb_client_destroy(&c);

    /* and hello shows where a wildcard leads */

    char cmd[512], out[8192];
    snprintf(cmd, sizeof cmd, "%s --router %s hello 2>&1", XTB_XTBCTL_BIN, s_router);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    cr_assert_eq(pclose(p), 0, "%s", out);
    char line[160];
    snprintf(line, sizeof line, "pub_endpoint:     %s (connect to %s)\n", s_wildcard, s_real_pub);
    cr_assert(strstr(out, line), "want '%s' in:\n%s", line, out);
    expect_decoy_live();
}

/* --pub and $XTB_PUB win over hello: pointed at 127.0.0.1:P, watch hears the decoy (which
   also proves the decoy would have been heard had the substitution been wrong). */
Test(remote, xtbctl_pub_override, .init = start_wildcard, .fini = stop_all, .timeout = 60) {
    const char *how[][2] = {{s_decoy_pub, NULL}, {NULL, s_decoy_pub}};
    for (int i = 0; i < 2; i++) {
        watch_t w;
        watch_start(&w, how[i][0], how[i][1]);
        bool heard = watch_wait_for(&w, "\"order_remark\":\"DECOY\"", 5000);
        char err[4096];
        int status = watch_stop(&w, err, sizeof err);
        cr_assert(heard, "%s: watch did not use %s:\n%s\n%s", i ? "XTB_PUB" : "--pub", s_decoy_pub,
                  w.text, err);
        cr_assert_eq(status, 0, "%s", err);
    }
}

/* ---- a PUB that connects out (to an XSUB proxy) -------------------------------------------- */

Test(remote, connect_out_announces_nothing_unless_advertised, .timeout = 60) {
    char proxy[256], pub[300];
    xtbt_endpoint(proxy, sizeof proxy, "proxy");
    snprintf(pub, sizeof pub, ">%s", proxy);
    xtbt_bridge_t *b = xtbt_bridge_start_on(NULL, pub, NULL, NULL);
    cr_assert_not_null(b);
    xtb_client_t *c = xtbt_bridge_client(b);
    Xtbridge__Reply *hello = NULL;
    cr_assert_eq(xtb_client_hello(c, 5000, &hello), 0, "%s", xtb_client_error(c));
    cr_assert_eq(hello->hello->n_pub_endpoints, 0);
    xtb_reply_destroy(&hello);
    cr_assert_eq(xtb_client_subscribe(c, "order."), -1);
    cr_assert_eq(xtb_client_errkind(c), XTB_CLIENT_INVALID);
    cr_assert(strstr(xtb_client_error(c), "the bridge announced no PUB endpoint"), "%s",
              xtb_client_error(c));
    xtb_client_destroy(&c);
    char cmd[512], out[8192];
    snprintf(cmd, sizeof cmd, "%s --router %s hello 2>&1", XTB_XTBCTL_BIN, b->router_ep);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    cr_assert_eq(pclose(p), 0, "%s", out);
    cr_assert(strstr(out, "pub_endpoint:     (none announced: the PUB connects out; use --pub)\n"),
              "%s", out);
    cr_assert_eq(xtbt_bridge_stop(&b), 0);

    /* with --pub-advertise: that, verbatim */
    const char *extra[] = {"--pub-advertise", "tcp://proxy.example:5558", NULL};
    b = xtbt_bridge_start_on(NULL, pub, NULL, extra);
    cr_assert_not_null(b);
    c = xtbt_bridge_client(b);
    cr_assert_eq(xtb_client_hello(c, 5000, &hello), 0, "%s", xtb_client_error(c));
    cr_assert_eq(hello->hello->n_pub_endpoints, 1);
    cr_assert_str_eq(hello->hello->pub_endpoints[0], "tcp://proxy.example:5558");
    xtb_reply_destroy(&hello);
    xtb_client_destroy(&c);
    cr_assert_eq(xtbt_bridge_stop(&b), 0);
}

/* ---- behind proxies (issue 12 item 4) --------------------------------------------------- */

/* A czmq zproxy binding `front` (type ft) and `back` (type bt). */
static zactor_t *proxy_start(const char *ft, const char *front, const char *bt, const char *back) {
    zactor_t *proxy = zactor_new(zproxy, NULL);
    cr_assert_not_null(proxy);
    zstr_sendx(proxy, "FRONTEND", ft, front, NULL);
    zsock_wait(proxy);
    zstr_sendx(proxy, "BACKEND", bt, back, NULL);
    zsock_wait(proxy);
    return proxy;
}

static xtb_client_t *named_client(const char *router, const char *name) {
    xtb_client_options_t opts = {0};
    opts.routing_id = name;
    xtb_client_t *c = xtb_client_new(router, &opts);
    cr_assert_not_null(c);
    return c;
}

static int64_t order_via(xtb_client_t *c, const char *request_id) {
    Xtbridge__Request *req =
        xtb_req_order("1000000365", "600000.SH", 23, 100, 11, 9.50, "proxy", request_id, false);
    cr_assert_eq(xtb_request_set_id(req, request_id), 0);
    Xtbridge__Reply *reply = xtbt_call_ok(c, req, XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    int64_t id = reply->order_stock->order_id;
    xtb_reply_destroy(&reply);
    return id;
}

/* The bridge connects out to both proxies (ROUTER -> a ROUTER/DEALER proxy's DEALER side,
   PUB -> an XSUB/XPUB proxy's XSUB side) and announces the XPUB side; clients know only
   the proxies. Requests, replies, idempotency per client behind the proxy, and pushes all
   go through. */
Test(remote, bridge_connects_out_to_router_and_pub_proxies, .timeout = 60) {
    char front[256], back[256], xsub[256], xpub[256], back_arg[300], pub_arg[300];
    xtbt_endpoint(front, sizeof front, "front");
    xtbt_endpoint(back, sizeof back, "back");
    xtbt_endpoint(xsub, sizeof xsub, "xsub");
    xtbt_endpoint(xpub, sizeof xpub, "xpub");
    zactor_t *requests = proxy_start("ROUTER", front, "DEALER", back);
    zactor_t *pushes = proxy_start("XSUB", xsub, "XPUB", xpub);
    snprintf(back_arg, sizeof back_arg, ">%s", back);
    snprintf(pub_arg, sizeof pub_arg, ">%s", xsub);
    /* the harness pings `front`, the proxy; the later --router is the bridge's own */
    const char *extra[] = {"--router", back_arg, "--pub-advertise", xpub, NULL};
    xtbt_bridge_t *b = xtbt_bridge_start_on(front, pub_arg, NULL, extra);
    cr_assert_not_null(b, "bridge behind proxies did not answer ping through them");

    xtb_client_t *alice = named_client(front, "alice");
    xtb_client_t *bob = named_client(front, "bob");
    Xtbridge__Reply *hello = NULL;
    cr_assert_eq(xtb_client_hello(alice, 5000, &hello), 0, "%s", xtb_client_error(alice));
    cr_assert_eq(hello->hello->n_pub_endpoints, 1);
    cr_assert_str_eq(hello->hello->pub_endpoints[0], xpub);
    xtb_reply_destroy(&hello);
    cr_assert_eq(xtb_client_subscribe(alice, "order.1000000365."), 0, "%s",
                 xtb_client_error(alice));
    cr_assert_eq(xtb_client_sync_subscriptions(alice, 5000), 0, "%s", xtb_client_error(alice));

    /* the same request id from two clients behind one proxy: two orders */
    int64_t a1 = order_via(alice, "px-1");
    int64_t b1 = order_via(bob, "px-1");
    cr_assert_neq(a1, b1, "alice and bob share the proxy, not an idempotency key");
    /* alice's retry (the client resends the same id): her order, no new one */
    cr_assert_eq(order_via(alice, "px-1"), a1);
    /* alice's push came through the XSUB/XPUB proxy */
    Xtbridge__Event *ev =
        xtbt_wait_event(alice, "order.1000000365.", XTBRIDGE__EVENT__BODY_ORDER, 5000);
    cr_assert_not_null(ev, "no order push through the XPUB proxy");
    cr_assert_eq(ev->order->order_id, a1);
    xtb_event_destroy(&ev);
    /* exactly two orders exist */
    Xtbridge__Reply *orders = xtbt_call_ok(bob, xtb_req_query_orders("1000000365", false),
                                           XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS);
    cr_assert_eq(orders->query_stock_orders->n_orders, 2);
    xtb_reply_destroy(&orders);

    xtb_client_destroy(&alice);
    xtb_client_destroy(&bob);
    cr_assert_eq(xtbt_bridge_stop(&b), 0);
    zactor_destroy(&requests);
    zactor_destroy(&pushes);
}
