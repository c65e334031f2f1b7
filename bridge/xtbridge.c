/*  xtbridge.c - the bridge process: parse the configuration, open the store (one bridge
    per data dir), bind the PUB and ROUTER sockets, create the session backend (which loads
    its book from the store), and run one zloop that owns both sockets, the heartbeat and
    the retention timers until SIGINT/SIGTERM. Exit codes: 0 clean stop, 1 bad usage,
    2 start-up failure.
*/
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "brg_auth.h"
#include "brg_backend.h"
#include "brg_compat.h"
#include "brg_config.h"
#include "brg_jetstream.h"
#include "brg_log.h"
#include "brg_publisher.h"
#include "brg_risk.h"
#include "brg_router.h"
#include "brg_stall.h"
#include "brg_store.h"

typedef struct {
    brg_publisher_t *publisher;
    const char *instance_id;
    int heartbeat_ms;
    int64_t started_ms;
} heartbeat_t;

static int on_heartbeat(zloop_t *loop, int timer_id, void *arg) {
    (void)loop;
    (void)timer_id;
    heartbeat_t *hb = (heartbeat_t *)arg;
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    Xtbridge__Heartbeat body = XTBRIDGE__HEARTBEAT__INIT;
    body.instance_id = (char *)hb->instance_id;
    body.uptime_ms = (uint64_t)(zclock_mono() - hb->started_ms);
    body.interval_ms = (uint32_t)hb->heartbeat_ms;
    event.body_case = XTBRIDGE__EVENT__BODY_HEARTBEAT;
    event.heartbeat = &body;
    brg_publisher_emit(hb->publisher, "heartbeat", NULL, &event);
    return 0;
}

/* Retention runs in small slices so the loop never stalls on a big prune. */
#define PRUNE_INTERVAL_MS 60000
#define PRUNE_BUDGET 20000

static int on_prune(zloop_t *loop, int timer_id, void *arg) {
    (void)loop;
    (void)timer_id;
    brg_store_t *store = (brg_store_t *)arg;
    int64_t start = brg_stall_now_us();
    int64_t removed = brg_store_prune(store, (int64_t)time(NULL), PRUNE_BUDGET);
    brg_stall_note(start); /* a loop run like any other: the stall figure counts it */
    if (removed < 0)
        brg_warn("retention pass failed: %s", brg_store_error(store));
    else if (removed)
        brg_info("retention: removed %lld expired events and idempotency rows", (long long)removed);
    return 0;
}

/* The store logs each batch and commits LMDB (a checkpoint) this often: readers on other
   threads (JetStream) see batches this much later, and a restart replays at most this
   much of the redo log. */
#define CHECKPOINT_MS 20

static int on_checkpoint(zloop_t *loop, int timer_id, void *arg) {
    (void)loop;
    (void)timer_id;
    brg_store_t *store = (brg_store_t *)arg;
    int64_t start = brg_stall_now_us();
    int rc = brg_store_checkpoint(store);
    brg_stall_note(start);
    if (rc)
        brg_warn("store checkpoint failed (the redo log keeps the batches): %s",
                 brg_store_error(store));
    return 0;
}

/* Event groups for backends (brg_backend_env_t.group_begin/end): one commit, then publish. */
typedef struct {
    brg_store_t *store;
    brg_publisher_t *publisher;
} group_t;

static void group_begin(void *arg) {
    brg_store_begin(((group_t *)arg)->store);
}

static int group_end(void *arg) {
    group_t *group = (group_t *)arg;
    bool committed = brg_store_commit(group->store) == 0;
    if (!committed)
        brg_error("events of a backend could not be stored, not published: %s",
                  brg_store_error(group->store));
    brg_publisher_flush(group->publisher, committed);
    if (committed)
        brg_store_handoff(group->store);
    return committed ? 0 : -1;
}

static void emit_connection(brg_publisher_t *publisher, bool connected, const char *instance_id,
                            const char *backend) {
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    Xtbridge__Connected up = XTBRIDGE__CONNECTED__INIT;
    Xtbridge__Disconnected down = XTBRIDGE__DISCONNECTED__INIT;
    if (connected) {
        up.instance_id = (char *)instance_id;
        up.backend = (char *)backend;
        event.body_case = XTBRIDGE__EVENT__BODY_CONNECTED;
        event.connected = &up;
    } else {
        down.reason = (char *)"bridge shutting down";
        event.body_case = XTBRIDGE__EVENT__BODY_DISCONNECTED;
        event.disconnected = &down;
    }
    brg_publisher_emit(publisher, connected ? "connected" : "disconnected", NULL, &event);
}

/* CURVE state: the bridge's cert, the zauth actor (ZAP handler for both sockets) and the
   client table. */
typedef struct {
    zcert_t *cert;
    zactor_t *zauth;
    brg_auth_t *auth;
    int sighup_fd;
} security_t;

/* Load the bridge's cert (czmq's zcert_load reads FILE_secret when it exists, else FILE),
   the client certs and start zauth. -1 + err on any failure: a bridge asked for CURVE
   never starts without it. */
static int security_start(security_t *sec, const char *cert_file, const char *clients, char *err,
                          size_t errlen) {
    sec->cert = zcert_load(cert_file);
    if (!sec->cert) {
        snprintf(err, errlen, "cannot load the bridge's cert '%s' (czmq cert format)", cert_file);
        return -1;
    }
    if (streq(zcert_secret_txt(sec->cert), "0000000000000000000000000000000000000000")) {
        snprintf(err, errlen,
                 "cert '%s' has no secret key: give the secret cert (FILE_secret) or keep it "
                 "beside FILE",
                 cert_file);
        return -1;
    }
    sec->auth = brg_auth_new(clients, err, errlen);
    if (!sec->auth)
        return -1;
    sec->zauth = zactor_new(zauth, NULL);
    if (!sec->zauth) {
        snprintf(err, errlen, "cannot start zauth");
        return -1;
    }
    /* verbose: every refused key is logged ("denied (CURVE) client_key=...") */
    zstr_sendx(sec->zauth, "VERBOSE", NULL);
    zsock_wait(sec->zauth);
    zstr_sendx(sec->zauth, "CURVE", clients, NULL);
    zsock_wait(sec->zauth);
    brg_info("CURVE on: server key %s, %zu client keys from %s", zcert_public_txt(sec->cert),
             brg_auth_size(sec->auth), clients);
    return 0;
}

static void security_stop(security_t *sec) {
    zactor_destroy(&sec->zauth);
    brg_auth_destroy(&sec->auth);
    zcert_destroy(&sec->cert);
    brg_compat_reload_close(sec->sighup_fd);
}

/* SIGHUP: reload the client certs (ours and zauth's). Read through a signalfd so the
   signal never interrupts zloop's poll (which would end the loop). Not on Windows (no
   SIGHUP there): restart the bridge instead. */
static int on_sighup(zloop_t *loop, zmq_pollitem_t *item, void *arg) {
    (void)loop;
    security_t *sec = (security_t *)arg;
    if (!brg_compat_reload_take(item->fd))
        return 0;
    if (!sec->auth) {
        brg_info("SIGHUP: no CURVE, nothing to reload");
        return 0;
    }
    char err[512];
    if (brg_auth_reload(sec->auth, err, sizeof err)) {
        brg_error("SIGHUP: client certs not reloaded, the old ones stay in force: %s", err);
        return 0;
    }
    zstr_sendx(sec->zauth, "CURVE", brg_auth_dir(sec->auth), NULL);
    zsock_wait(sec->zauth);
    brg_info("SIGHUP: %zu client keys reloaded from %s", brg_auth_size(sec->auth),
             brg_auth_dir(sec->auth));
    return 0;
}

/* Refused handshakes (a client without CURVE, a wrong server key, a key zauth denied) are
   logged from each socket's monitor: zauth sees only the clients that got as far as a ZAP
   request. */
typedef struct {
    void *watched; /* the monitored socket's handle */
    zsock_t *pair; /* the monitor's events */
    const char *what;
    /* a plaintext client retries every 100 ms: at most one line a second per socket and
       reason, with the count of those not logged */
    int64_t logged_ms[3];
    uint64_t quiet[3];
} refusals_t;

static int on_refusal(zloop_t *loop, zsock_t *reader, void *arg) {
    (void)loop;
    refusals_t *r = (refusals_t *)arg;
    zmsg_t *msg = zmsg_recv(reader);
    zframe_t *head = msg ? zmsg_first(msg) : NULL;
    zframe_t *addr = msg ? zmsg_next(msg) : NULL;
    if (!head || zframe_size(head) < 6) {
        zmsg_destroy(&msg);
        return 0;
    }
    uint16_t event;
    uint32_t value;
    memcpy(&event, zframe_data(head), 2);
    memcpy(&value, zframe_data(head) + 2, 4);
    int kind = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH       ? 0
               : event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? 1
                                                              : 2;
    static const char *const why[] = {
        "its key is not in the allowed client certs",
        "it does not speak CURVE to this bridge (no CURVE, or a wrong server key)",
        "the security handshake failed"};
    int64_t now = zclock_mono();
    if (r->logged_ms[kind] && now - r->logged_ms[kind] < 1000)
        r->quiet[kind]++;
    else {
        brg_warn("%s on %.*s refused a connection: %s (libzmq event 0x%x, value %u; %llu more "
                 "like it since the last such line)",
                 r->what, addr ? (int)zframe_size(addr) : 0,
                 addr ? (const char *)zframe_data(addr) : "", why[kind], event, value,
                 (unsigned long long)r->quiet[kind]);
        r->logged_ms[kind] = now;
        r->quiet[kind] = 0;
    }
    zmsg_destroy(&msg);
    return 0;
}

static int refusals_start(refusals_t *r, zloop_t *loop, zsock_t *sock, const char *what) {
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://xtbridge-refusals-%s", what);
    r->watched = zsock_resolve(sock);
    r->what = what;
    if (zmq_socket_monitor(r->watched, endpoint,
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))
        return -1;
    r->pair = zsock_new_pair(endpoint); /* a PAIR connects by default */
    return r->pair ? zloop_reader(loop, r->pair, on_refusal, r) : -1;
}

static void refusals_stop(refusals_t *r, zloop_t *loop) {
    if (!r->pair)
        return;
    zloop_reader_end(loop, r->pair);
    zmq_socket_monitor(r->watched, NULL, 0);
    zsock_destroy(&r->pair);
}

/* One glibc arena for the whole process: libzmq's I/O threads would each get one of their
   own, which keeps the high-water mark of the messages they once buffered (6-8 MB after
   300,000 pipelined orders: ~20 bytes per open order) in pages the loop's allocations
   can never reuse. Measured with 300,000 open orders: RssAnon ~165 -> ~150 bytes per
   order.
   A fixed mmap threshold of 16 KiB: blocks from there up (libzmq's pipe chunks, 16 KiB
   each, that hold what a slow subscriber has not read; the book's 1 MiB order slabs; big
   replies) are mapped on their own and unmapped when freed. glibc's default threshold
   climbs to the largest block ever freed (up to 32 MiB), after which such blocks come
   from the heap and stay there: after a 200,000-event fan-out to 8 subscribers the heap
   held ~160 MB of free pages, and handing them back after a day close (malloc_trim) took
   one 20-35 ms loop turn. With the threshold fixed that trim is a few ms; the request path
   allocates nothing this big (same syscalls and page faults per order). */
static void tune_malloc(void) {
#ifdef __GLIBC__
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 16 * 1024);
#endif
}

int main(int argc, char **argv) {
    tune_malloc();
    char err[512] = "";
    brg_config_t *config = brg_config_new();
    int rc = brg_config_parse_args(config, argc, argv, err, sizeof err);
    if (rc) {
        if (rc < 0)
            fprintf(stderr, "xtbridge: %s\n", err);
        brg_config_destroy(&config);
        return rc < 0 ? 1 : 0;
    }
    brg_log_set_level(brg_config_log_level(config));
    const brg_backend_ops_t *ops = brg_backend_find(brg_config_backend(config));
    if (!ops) {
        fprintf(stderr, "xtbridge: unknown backend '%s' (have: %s)\n", brg_config_backend(config),
                brg_backend_names());
        brg_config_destroy(&config);
        return 1;
    }
    const char *curve_secret = brg_config_curve_secret(config);
    if (!curve_secret) {
        bool local = brg_endpoint_is_loopback(brg_config_router(config)) &&
                     brg_endpoint_is_loopback(brg_config_pub(config));
        if (!local && !brg_config_insecure(config)) {
            fprintf(stderr,
                    "xtbridge: refusing to bind '%s' / '%s' without CURVE: anyone who reaches "
                    "them could trade every account. Use --curve-secret FILE --clients DIR "
                    "(see README, Secure deployment), or --insecure on a trusted network\n",
                    brg_config_router(config), brg_config_pub(config));
            brg_config_destroy(&config);
            return 1;
        }
        if (!local)
            brg_warn("--insecure: '%s' / '%s' are reachable from other hosts with no "
                     "authentication; anyone who reaches them can trade every account",
                     brg_config_router(config), brg_config_pub(config));
    }
    /* SIGHUP is taken by a signalfd on the loop; blocked before any thread starts so
       every thread inherits the mask. */
    int sighup_fd = brg_compat_reload_fd();
    /* Risk limits are part of the configuration: a bad one is a usage error, before
       anything is opened. */
    brg_risk_t *risk = brg_risk_new(brg_config_tree(config), err, sizeof err);
    if (!risk) {
        fprintf(stderr, "xtbridge: %s\n", err);
        brg_config_destroy(&config);
        return 1;
    }
    /* czmq's handler turns SIGINT/SIGTERM (Windows: Ctrl-C) into zsys_interrupted, which
       ends zloop; on Windows closing the console does too. */
    zsys_init();
    brg_compat_stop_handler_install();
    zsys_set_logident("xtbridge");
    char instance_id[17];
    snprintf(instance_id, sizeof instance_id, "%08x%08x", (unsigned)randof(0x7fffffff),
             (unsigned)(getpid() ^ (int)zclock_time()));

    int exit_code = 2;
    zloop_t *loop = zloop_new();
    brg_router_t *router = NULL;
    void *backend = NULL;
    brg_publisher_t *publisher = NULL;
    brg_store_t *store = NULL;
    security_t sec = {NULL, NULL, NULL, sighup_fd};
    if (sec.sighup_fd >= 0) {
        zmq_pollitem_t item = {NULL, sec.sighup_fd, ZMQ_POLLIN, 0};
        zloop_poller(loop, &item, on_sighup, &sec);
    }
    if (!curve_secret ||
        security_start(&sec, curve_secret, brg_config_clients(config), err, sizeof err) == 0)
        store =
            brg_store_new(brg_config_data_dir(config), brg_config_store(config), err, sizeof err);
    if (store)
        publisher = brg_publisher_new_curve(brg_config_pub(config), store, sec.cert, sec.auth, loop,
                                            err, sizeof err);
    group_t group = {store, publisher};
    if (publisher) {
        /* open orders are counted from the order pushes */
        brg_publisher_set_tap(publisher, brg_risk_tap_fn, risk);
        brg_publisher_advertise(publisher, brg_config_pub_advertise(config));
        brg_backend_env_t env = {brg_config_tree(config),
                                 brg_config_data_dir(config),
                                 loop,
                                 brg_publisher_emit_fn,
                                 publisher,
                                 store,
                                 brg_router_checkpoint_fn,
                                 &router,
                                 group_begin,
                                 group_end,
                                 &group};
        backend = ops->create(&env, err, sizeof err);
    }
    /* the PUB exists, so libzmq's I/O thread does */
    brg_colocate_t *colocate =
        publisher ? brg_colocate_new(loop, brg_config_colocate(config)) : NULL;
    brg_jetstream_t *jetstream = NULL;
    if (backend && brg_config_jetstream(config)) {
        brg_jetstream_args_t jargs = {brg_config_jetstream(config),
                                      brg_config_jetstream_stream(config),
                                      brg_config_data_dir(config), store};
        jetstream = brg_jetstream_new(&jargs, err, sizeof err);
        if (!jetstream)
            ops->destroy(&backend); /* and the start fails with err */
    }
    if (backend) {
        brg_router_args_t args = {brg_config_router(config),
                                  brg_config_max_msg_size(config),
                                  brg_config_heartbeat_ms(config),
                                  instance_id,
                                  ops,
                                  backend,
                                  publisher,
                                  store,
                                  risk,
                                  sec.cert,
                                  sec.auth,
                                  brg_config_behind_proxy(config),
                                  jetstream,
                                  colocate};
        if (args.behind_proxy)
            brg_info("behind a proxy: frames before a request are hop routing ids");
        brg_risk_attach(risk, ops, backend, store);
        router = brg_router_new(loop, &args, err, sizeof err);
    }
    refusals_t router_refusals = {0}, pub_refusals = {0};
    if (router && sec.auth &&
        (refusals_start(&router_refusals, loop, brg_router_socket(router), "ROUTER") ||
         refusals_start(&pub_refusals, loop, brg_publisher_socket(publisher), "PUB")))
        brg_warn("cannot monitor refused handshakes: %s", zmq_strerror(zmq_errno()));
    if (router) {
        heartbeat_t hb = {publisher, instance_id, brg_config_heartbeat_ms(config), zclock_mono()};
        zloop_timer(loop, (size_t)hb.heartbeat_ms, 0, on_heartbeat, &hb);
        brg_info("xtbridge %s ready: backend=%s router=%s pub=%s data=%s instance=%s", XTB_VERSION,
                 ops->name, brg_config_router(config), brg_config_pub(config),
                 brg_config_data_dir(config), instance_id);
        zloop_timer(loop, PRUNE_INTERVAL_MS, 0, on_prune, store);
        zloop_timer(loop, CHECKPOINT_MS, 0, on_checkpoint, store);
        on_prune(loop, 0, store);
        /* The start pushes and the backend's initial book are one batch like any other. */
        brg_store_begin(store);
        emit_connection(publisher, true, instance_id, ops->name);
        if (ops->start)
            ops->start(backend);
        /* kill switches from the store, open orders from the backend's own book */
        brg_risk_resync(risk);
        if (ops->persist && ops->persist(backend))
            brg_store_fail_batch(store, "backend could not write its state");
        bool committed = brg_store_commit(store) == 0;
        brg_publisher_flush(publisher, committed);
        if (!committed) {
            fprintf(stderr, "xtbridge: cannot store the initial state: %s\n",
                    brg_store_error(store));
            goto out;
        }
        zloop_start(loop);
        emit_connection(publisher, false, instance_id, ops->name);
        brg_info("stopping: %llu requests, %llu malformed, %llu events published",
                 (unsigned long long)brg_router_requests(router),
                 (unsigned long long)brg_router_malformed(router),
                 (unsigned long long)brg_publisher_count(publisher));
        exit_code = 0;
    } else
        fprintf(stderr, "xtbridge: %s\n", err);
out:
    refusals_stop(&router_refusals, loop);
    refusals_stop(&pub_refusals, loop);
    brg_router_destroy(&router);
    brg_colocate_destroy(&colocate);
    brg_jetstream_destroy(&jetstream); /* it reads the store: stopped before it closes */
    if (backend)
        ops->destroy(&backend);
    brg_publisher_destroy(&publisher);
    brg_store_destroy(&store);
    brg_risk_destroy(&risk);
    zloop_destroy(&loop);
    security_stop(&sec);
    brg_config_destroy(&config);
    brg_compat_stop_done();
    return exit_code;
}
