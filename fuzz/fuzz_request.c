/*  fuzz_request.c - libFuzzer target: each input is one Request frame sent to a real
    router with the real sim backend, store and publisher in a temporary data dir.

    The frame takes the production path: a DEALER sends it over inproc:// and
    brg_router_drain() reads it (the loop reader's call), so one input goes through frame
    splitting, protobuf-c decoding, brg_validate, idempotency, the pre-trade risk checks
    and kill switch (brg_risk, with limits from RISK_CONFIG), dispatch into the sim (orders,
    matching, fees, pushes), the group commit with the sim's persist, and the reply. State
    carries over between inputs (an order placed by one input can be cancelled or filled by
    the next), so the whole environment is rebuilt every RECYCLE inputs to keep the store
    and the sim's book bounded; the sim's book is also written out (persist) every batch.

    Built only with -DXTB_FUZZ=ON (clang, -fsanitize=fuzzer,address,undefined); run by
    fuzz/run.sh with the seed corpus in fuzz/corpus/.
*/
#include <czmq.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brg_backend.h"
#include "brg_log.h"
#include "brg_publisher.h"
#include "brg_risk.h"
#include "brg_router.h"
#include "brg_store.h"

#define RECYCLE 20000

/* Risk limits for the sim's account and a default for any other: orders over them are
   refused by the bridge's own checks, so those paths are fuzzed too. */
static const char *const RISK_CONFIG = "risk\n"
                                       "    account\n"
                                       "        id = 1000000365\n"
                                       "        max_order_volume = 100000\n"
                                       "        max_notional = 5000000\n"
                                       "        max_open_orders = 200\n"
                                       "        max_orders_per_second = 50\n"
                                       "    default\n"
                                       "        max_order_volume = 1000\n"
                                       "        allowed_boards = SH_MAIN, SZ_MAIN\n";

typedef struct {
    char dir[64];
    zconfig_t *config;
    brg_risk_t *risk;
    brg_store_t *store;
    brg_publisher_t *publisher;
    const brg_backend_ops_t *ops;
    void *backend;
    brg_router_t *router;
    zsock_t *dealer;
    long inputs;
} env_t;

static env_t s_env;
static int s_generation;
/* The risk module's rate window runs on this clock: 1 ms per input, so a run is
   reproducible from its inputs alone. */
static int64_t s_clock_ms;

static int64_t fuzz_clock(void *arg) {
    (void)arg;
    return s_clock_ms;
}

static void die(const char *what, const char *err) {
    fprintf(stderr, "fuzz_request: %s: %s\n", what, err);
    abort();
}

static void env_open(env_t *env) {
    char err[512] = "";
    /* $XTB_TMPDIR (fuzz/run.sh: build-fuzz/tmp) or the current directory */
    const char *base = getenv("XTB_TMPDIR");
    snprintf(env->dir, sizeof env->dir, "%s/xtb-fuzz-XXXXXX", base && *base ? base : ".");
    if (!mkdtemp(env->dir))
        die("mkdtemp", strerror(errno));
    s_generation++;
    char router_ep[96], pub_ep[96];
    snprintf(router_ep, sizeof router_ep, "inproc://fuzz-router-%d-%d", getpid(), s_generation);
    snprintf(pub_ep, sizeof pub_ep, "inproc://fuzz-pub-%d-%d", getpid(), s_generation);
    zchunk_t *chunk = zchunk_new(RISK_CONFIG, strlen(RISK_CONFIG));
    env->config = zconfig_chunk_load(chunk);
    zchunk_destroy(&chunk);
    if (!env->config)
        die("config", "risk config does not parse");
    env->risk = brg_risk_new(env->config, err, sizeof err);
    if (!env->risk)
        die("risk", err);
    brg_risk_set_clock(env->risk, fuzz_clock, NULL);
    brg_store_opts_t opts;
    brg_store_opts_default(&opts);
    opts.max_mb = 256; /* bounded: a full store is one more path (BACKEND_ERROR) to fuzz */
    env->store = brg_store_new(env->dir, &opts, err, sizeof err);
    if (!env->store)
        die("store", err);
    env->publisher = brg_publisher_new(pub_ep, env->store, err, sizeof err);
    if (!env->publisher)
        die("publisher", err);
    brg_publisher_set_tap(env->publisher, brg_risk_tap_fn, env->risk);
    env->ops = brg_backend_find("sim");
    if (!env->ops)
        die("backend", "no sim backend");
    brg_backend_env_t benv = {env->config,
                              env->dir,
                              NULL,
                              brg_publisher_emit_fn,
                              env->publisher,
                              env->store,
                              brg_router_checkpoint_fn,
                              &env->router,
                              NULL, /* the sim emits only inside requests: no event groups */
                              NULL,
                              NULL};
    env->backend = env->ops->create(&benv, err, sizeof err);
    if (!env->backend)
        die("sim", err);
    brg_router_args_t args = {router_ep,    1 << 20,        1000,       "fuzz",    env->ops,
                              env->backend, env->publisher, env->store, env->risk, NULL,
                              NULL,         false,          NULL,       NULL};
    brg_risk_attach(env->risk, env->ops, env->backend, env->store);
    env->router = brg_router_new(NULL, &args, err, sizeof err);
    if (!env->router)
        die("router", err);
    /* the start pushes and the initial book, one batch, as xtbridge does */
    brg_store_begin(env->store);
    if (env->ops->start)
        env->ops->start(env->backend);
    brg_risk_resync(env->risk); /* as xtbridge does: kill switches, open orders */
    if (env->ops->persist && env->ops->persist(env->backend))
        brg_store_fail_batch(env->store, "initial persist failed");
    bool committed = brg_store_commit(env->store) == 0;
    brg_publisher_flush(env->publisher, committed);
    if (!committed)
        die("initial commit", brg_store_error(env->store));
    env->dealer = zsock_new(ZMQ_DEALER);
    zsock_set_identity(env->dealer, "fuzz-client");
    if (!env->dealer || zsock_connect(env->dealer, "%s", router_ep))
        die("dealer", "cannot connect");
    env->inputs = 0;
}

static void env_close(env_t *env) {
    zsock_destroy(&env->dealer);
    brg_router_destroy(&env->router);
    if (env->backend)
        env->ops->destroy(&env->backend);
    brg_publisher_destroy(&env->publisher);
    brg_store_destroy(&env->store);
    brg_risk_destroy(&env->risk);
    zconfig_destroy(&env->config);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", env->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_request: cannot remove %s\n", env->dir);
}

static void teardown(void) {
    env_close(&s_env);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    zsys_handler_set(NULL); /* libFuzzer owns SIGINT */
    zsys_init();
    /* quiet by default (every reply to the fuzzer is a log line at debug); XTB_FUZZ_LOG=debug
       shows what one input does when reproducing a crash */
    brg_log_level_t level = BRG_LOG_ERROR;
    const char *wanted = getenv("XTB_FUZZ_LOG");
    if (wanted && brg_log_parse_level(wanted, &level))
        fprintf(stderr, "fuzz_request: XTB_FUZZ_LOG '%s' is not error|warn|info|debug\n", wanted);
    brg_log_set_level(level);
    env_open(&s_env);
    /* after zsys_init's own atexit, so it runs first: sockets close before czmq shuts down */
    atexit(teardown);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    env_t *env = &s_env;
    s_clock_ms++;
    if (++env->inputs > RECYCLE) {
        env_close(env);
        env_open(env);
        env->inputs = 1;
    }
    void *dealer = zsock_resolve(env->dealer);
    if (zmq_send(dealer, data, size, 0) < 0)
        die("send", zmq_strerror(zmq_errno()));
    /* inproc delivers without an I/O thread, but the router may first have to attach the
       pipe: wait (bounded) until the message is readable, then drain reads exactly it */
    zmq_pollitem_t item = {zsock_resolve(brg_router_socket(env->router)), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 5000) != 1 || brg_router_drain(env->router, 1) != 1)
        die("drain", "the router did not read the request");
    /* discard replies so they do not pile up in the pipe */
    zmq_msg_t reply;
    zmq_msg_init(&reply);
    while (zmq_msg_recv(&reply, dealer, ZMQ_DONTWAIT) >= 0)
        ;
    zmq_msg_close(&reply);
    return 0;
}
