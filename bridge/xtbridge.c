/*  xtbridge.c - the bridge process: parse the configuration, open the store (one bridge
    per data dir), bind the PUB and ROUTER sockets, create the session backend (which loads
    its book from the store), and run one zloop that owns both sockets, the heartbeat and
    the retention timers until SIGINT/SIGTERM. Exit codes: 0 clean stop, 1 bad usage,
    2 start-up failure.
*/
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "brg_backend.h"
#include "brg_config.h"
#include "brg_log.h"
#include "brg_publisher.h"
#include "brg_risk.h"
#include "brg_router.h"
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
    int64_t removed = brg_store_prune(store, (int64_t)time(NULL), PRUNE_BUDGET);
    if (removed < 0)
        brg_warn("retention pass failed: %s", brg_store_error(store));
    else if (removed)
        brg_info("retention: removed %lld expired events and idempotency rows", (long long)removed);
    return 0;
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

int main(int argc, char **argv) {
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
    /* Risk limits are part of the configuration: a bad one is a usage error, before
       anything is opened. */
    brg_risk_t *risk = brg_risk_new(brg_config_tree(config), err, sizeof err);
    if (!risk) {
        fprintf(stderr, "xtbridge: %s\n", err);
        brg_config_destroy(&config);
        return 1;
    }
    /* czmq's handler turns SIGINT/SIGTERM into zsys_interrupted, which ends zloop. */
    zsys_init();
    zsys_set_logident("xtbridge");
    char instance_id[17];
    snprintf(instance_id, sizeof instance_id, "%08x%08x", (unsigned)randof(0x7fffffff),
             (unsigned)(getpid() ^ (int)zclock_time()));

    int exit_code = 2;
    zloop_t *loop = zloop_new();
    brg_router_t *router = NULL;
    void *backend = NULL;
    brg_publisher_t *publisher = NULL;
    brg_store_t *store =
        brg_store_new(brg_config_data_dir(config), brg_config_store(config), err, sizeof err);
    if (store)
        publisher = brg_publisher_new(brg_config_pub(config), store, err, sizeof err);
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
                                 &router};
        backend = ops->create(&env, err, sizeof err);
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
                                  risk};
        brg_risk_attach(risk, ops, backend, store);
        router = brg_router_new(loop, &args, err, sizeof err);
    }
    if (router) {
        heartbeat_t hb = {publisher, instance_id, brg_config_heartbeat_ms(config), zclock_mono()};
        zloop_timer(loop, (size_t)hb.heartbeat_ms, 0, on_heartbeat, &hb);
        brg_info("xtbridge %s ready: backend=%s router=%s pub=%s data=%s instance=%s", XTB_VERSION,
                 ops->name, brg_config_router(config), brg_config_pub(config),
                 brg_config_data_dir(config), instance_id);
        zloop_timer(loop, PRUNE_INTERVAL_MS, 0, on_prune, store);
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
    brg_router_destroy(&router);
    if (backend)
        ops->destroy(&backend);
    brg_publisher_destroy(&publisher);
    brg_store_destroy(&store);
    brg_risk_destroy(&risk);
    zloop_destroy(&loop);
    brg_config_destroy(&config);
    return exit_code;
}
