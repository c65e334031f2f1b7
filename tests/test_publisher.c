/*  test_publisher.c - unit tests of brg_publisher: topic syntax `<kind>.<account>.` and
    `<kind>.`, a subscriber to one account's prefix never sees its neighbour's events
    (1000000365 vs 10000003650), per-topic seq stamped and journaled, bad topics refused,
    what hello announces (wildcard form, ephemeral port, connect-out, --pub-advertise).
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <string.h>
#include <unistd.h>

#include "brg_publisher.h"
#include "brg_store.h"
#include "testutil.h"

/* Each test runs in its own worker process: remove that process's data dirs (the store
   reserves its file, so leftovers would cost real disk). */
static void remove_dirs(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/xtbt-pub-%d-*", xtbt_tmpdir(), getpid());
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove test dirs\n");
}
TestSuite(publisher, .fini = remove_dirs);

static int s_dirs;

typedef struct {
    char dir[256];
    char ep[300];
    brg_store_t *store;
    brg_publisher_t *pub;
} env_t;

static void env_open(env_t *env) {
    char err[256];
    snprintf(env->dir, sizeof env->dir, "%s/xtbt-pub-%d-%d", xtbt_tmpdir(), getpid(), ++s_dirs);
    zsys_dir_create("%s", env->dir);
    snprintf(env->ep, sizeof env->ep, "ipc://%s/pub", env->dir);
    env->store = brg_store_new(env->dir, NULL, err, sizeof err);
    cr_assert_not_null(env->store, "%s", err);
    env->pub = brg_publisher_new(env->ep, env->store, err, sizeof err);
    cr_assert_not_null(env->pub, "%s", err);
}

static void env_close(env_t *env) {
    brg_publisher_destroy(&env->pub);
    cr_assert_null(env->pub);
    brg_store_destroy(&env->store);
}

static int emit_trade(env_t *env, const char *account, int64_t volume) {
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    Xtbridge__XtTrade trade = XTBRIDGE__XT_TRADE__INIT;
    trade.account_id = (char *)account;
    trade.traded_volume = volume;
    event.body_case = XTBRIDGE__EVENT__BODY_TRADE;
    event.trade = &trade;
    return brg_publisher_emit(env->pub, "trade", account, &event);
}

Test(publisher, topic_syntax) {
    char buf[64];
    cr_assert_eq(brg_publisher_topic("trade", "1000000365", buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "trade.1000000365.");
    cr_assert_eq(brg_publisher_topic("heartbeat", NULL, buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "heartbeat.");
    cr_assert_eq(brg_publisher_topic("heartbeat", "", buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "heartbeat.");
    cr_assert_eq(brg_publisher_topic("", "1", buf, sizeof buf), -1);
    cr_assert_eq(brg_publisher_topic("trade", "1.2", buf, sizeof buf), -1);
    cr_assert_eq(brg_publisher_topic("trade", "1000000365", buf, 8), -1);
}

Test(publisher, subscriber_gets_only_its_account) {
    env_t env = {0};
    env_open(&env);
    zsock_t *sub = zsock_new_sub(env.ep, "trade.1000000365.");
    zsock_set_rcvtimeo(sub, 200);
    /* The subscription travels asynchronously: publish until the first one arrives. */
    zmsg_t *msg = NULL;
    for (int tries = 0; tries < 50 && !msg; tries++) {
        cr_assert_eq(emit_trade(&env, "1000000365", 100), 0);
        msg = zmsg_recv(sub);
    }
    cr_assert_not_null(msg, "subscriber never received");
    zmsg_destroy(&msg);
    zsock_set_rcvtimeo(sub, 1000);
    /* drain what the warm-up loop left queued */
    zsock_set_rcvtimeo(sub, 50);
    while ((msg = zmsg_recv(sub)))
        zmsg_destroy(&msg);
    zsock_set_rcvtimeo(sub, 1000);

    cr_assert_eq(emit_trade(&env, "10000003650", 999), 0);
    cr_assert_eq(emit_trade(&env, "1000000365", 300), 0);
    msg = zmsg_recv(sub);
    cr_assert_not_null(msg);
    cr_assert_eq(zmsg_size(msg), 2);
    char *topic = zmsg_popstr(msg);
    cr_assert_str_eq(topic, "trade.1000000365.");
    zframe_t *body = zmsg_pop(msg);
    Xtbridge__Event *event = xtbridge__event__unpack(NULL, zframe_size(body), zframe_data(body));
    cr_assert_not_null(event);
    cr_assert_str_eq(event->topic, "trade.1000000365.");
    cr_assert_eq(event->trade->traded_volume, 300, "the neighbour's 999 must not arrive");
    cr_assert_eq(event->bridge_epoch, brg_store_epoch(env.store));
    cr_assert_gt(event->time_ns, 0);
    /* the neighbour's one event was seq 1 of its own topic; ours keeps counting */
    cr_assert_gt(event->seq, 1);
    cr_assert_eq(brg_publisher_count(env.pub), event->seq + 1);
    xtbridge__event__free_unpacked(event, NULL);
    zframe_destroy(&body);
    free(topic);
    zmsg_destroy(&msg);
    zsock_destroy(&sub);
    env_close(&env);
}

Test(publisher, bad_topic_is_refused_and_not_journaled) {
    env_t env = {0};
    env_open(&env);
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    cr_assert_eq(brg_publisher_emit(env.pub, "trade", "1.2", &event), -1);
    cr_assert_eq(brg_publisher_count(env.pub), 0);
    cr_assert_eq(emit_trade(&env, "7", 1), 0);
    cr_assert_eq(brg_publisher_count(env.pub), 1);
    env_close(&env);
}

/* What hello announces, from the pure function (a wildcard bind would listen on every
   interface, so tests never bind one): the wildcard form for the client to fill in, an
   ephemeral port from the socket, nothing for connect-out, an explicit advertise as is. */
Test(publisher, announce_wildcard_ephemeral_connect_out_advertise) {
    const char *cases[][4] = {
        /* configured, last bound, advertise, announced */
        {"tcp://*:58611", NULL, NULL, "tcp://*:58611"},
        {"tcp://0.0.0.0:58611", NULL, NULL, "tcp://*:58611"},
        {"@tcp://[::]:58611", NULL, NULL, "tcp://*:58611"},
        {"tcp://*:*", "tcp://0.0.0.0:40123", NULL, "tcp://*:40123"},
        {"tcp://127.0.0.2:*", "tcp://127.0.0.2:40124", NULL, "tcp://127.0.0.2:40124"},
        {"tcp://127.0.0.2:58611", NULL, NULL, "tcp://127.0.0.2:58611"},
        {"tcp://*:58611,ipc:///run/xtb/pub", "ipc:///run/xtb/pub", NULL,
         "tcp://*:58611,ipc:///run/xtb/pub"},
        {">tcp://proxy.example:5557", NULL, NULL, ""},
        {">tcp://proxy.example:5557,tcp://*:58611", NULL, NULL, "tcp://*:58611"},
        {">tcp://proxy.example:5557", NULL, "tcp://proxy.example:5558", "tcp://proxy.example:5558"},
        {"tcp://*:58611", NULL, "tcp://203.0.113.7:1234, tcp://bridge.example:58611",
         "tcp://203.0.113.7:1234,tcp://bridge.example:58611"},
        {"tcp://*:58611", NULL, "", "tcp://*:58611"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = brg_publisher_announce(cases[i][0], cases[i][1], cases[i][2]);
        cr_assert_str_eq(got, cases[i][3], "configured '%s' advertise '%s'", cases[i][0],
                         cases[i][2] ? cases[i][2] : "(none)");
        free(got);
    }
}

/* The same through real sockets, loopback and ipc only: an ephemeral port, a PUB that
   only connects out (announces nothing until told), an explicit advertise. */
Test(publisher, connectable_endpoints) {
    env_t env = {0};
    env_open(&env);
    cr_assert_str_eq(brg_publisher_endpoints(env.pub), env.ep);
    char err[256];
    brg_publisher_t *eph = brg_publisher_new("tcp://127.0.0.1:*", env.store, err, sizeof err);
    cr_assert_not_null(eph, "%s", err);
    const char *announced = brg_publisher_endpoints(eph);
    cr_assert_eq(strncmp(announced, "tcp://127.0.0.1:", 16), 0, "%s", announced);
    cr_assert_gt(atoi(announced + 16), 0, "%s", announced);
    brg_publisher_destroy(&eph);

    char proxy[320];
    snprintf(proxy, sizeof proxy, ">ipc://%s/proxy", env.dir);
    brg_publisher_t *out = brg_publisher_new(proxy, env.store, err, sizeof err);
    cr_assert_not_null(out, "%s", err);
    cr_assert_str_eq(brg_publisher_endpoints(out), "");
    brg_publisher_advertise(out, NULL);
    cr_assert_str_eq(brg_publisher_endpoints(out), "");
    brg_publisher_advertise(out, "tcp://proxy.example:5558");
    cr_assert_str_eq(brg_publisher_endpoints(out), "tcp://proxy.example:5558");
    brg_publisher_advertise(out, "");
    cr_assert_str_eq(brg_publisher_endpoints(out), "");
    brg_publisher_destroy(&out);
    env_close(&env);
}

/* The seq and traded_volume of a trade push; the message is destroyed. */
static void event_of(zmsg_t **msg_p, uint64_t *seq, int64_t *volume) {
    cr_assert_not_null(*msg_p);
    cr_assert_eq(zmsg_size(*msg_p), 2);
    zframe_t *topic = zmsg_pop(*msg_p);
    zframe_t *body = zmsg_pop(*msg_p);
    Xtbridge__Event *event = xtbridge__event__unpack(NULL, zframe_size(body), zframe_data(body));
    cr_assert_not_null(event);
    cr_assert_eq(event->body_case, XTBRIDGE__EVENT__BODY_TRADE);
    *seq = event->seq;
    *volume = event->trade->traded_volume;
    xtbridge__event__free_unpacked(event, NULL);
    zframe_destroy(&body);
    zframe_destroy(&topic);
    zmsg_destroy(msg_p);
}

Test(publisher, batch_holds_events_until_commit_and_drops_them_on_rollback) {
    env_t env = {0};
    env_open(&env);
    zsock_t *sub = zsock_new_sub(env.ep, "trade.");
    zsock_set_rcvtimeo(sub, 200);
    zmsg_t *msg = NULL;
    for (int tries = 0; tries < 50 && !msg; tries++) {
        emit_trade(&env, "1", 1);
        msg = zmsg_recv(sub);
    }
    cr_assert_not_null(msg);
    zmsg_destroy(&msg);
    zsock_set_rcvtimeo(sub, 50);
    while ((msg = zmsg_recv(sub)))
        zmsg_destroy(&msg);
    uint64_t before = brg_publisher_count(env.pub);

    cr_assert_eq(brg_store_begin(env.store), 0);
    cr_assert_eq(emit_trade(&env, "1", 777), 0);
    msg = zmsg_recv(sub);
    cr_assert_null(msg, "an event left before its batch was committed");
    cr_assert_eq(brg_store_commit(env.store), 0);
    brg_publisher_flush(env.pub, true);
    zsock_set_rcvtimeo(sub, 1000);
    msg = zmsg_recv(sub);
    uint64_t seq777 = 0;
    int64_t volume = 0;
    event_of(&msg, &seq777, &volume);
    cr_assert_eq(volume, 777);
    cr_assert_eq(seq777, before + 1, "every event so far was on topic trade.1.");
    cr_assert_eq(brg_publisher_count(env.pub), before + 1);

    /* what the router does when a commit fails: the batch rolls back and its held events
       are dropped, not sent, and their seqs are not taken */
    cr_assert_eq(brg_store_begin(env.store), 0);
    cr_assert_eq(emit_trade(&env, "1", 888), 0);
    brg_store_fail_batch(env.store, "test: a write failed");
    cr_assert_eq(brg_store_commit(env.store), -1);
    cr_assert_not(brg_store_in_batch(env.store));
    brg_publisher_flush(env.pub, false);
    zsock_set_rcvtimeo(sub, 200);
    cr_assert_null(zmsg_recv(sub), "a rolled back event was sent");
    cr_assert_eq(brg_publisher_count(env.pub), before + 1);

    /* the next event takes the seq the rolled back one would have had */
    cr_assert_eq(brg_store_begin(env.store), 0);
    cr_assert_eq(emit_trade(&env, "1", 999), 0);
    cr_assert_eq(brg_store_commit(env.store), 0);
    brg_publisher_flush(env.pub, true);
    zsock_set_rcvtimeo(sub, 1000);
    msg = zmsg_recv(sub);
    uint64_t seq999 = 0;
    event_of(&msg, &seq999, &volume);
    cr_assert_eq(volume, 999, "the 888 event must not arrive");
    cr_assert_eq(seq999, seq777 + 1);
    cr_assert_eq(brg_publisher_count(env.pub), before + 2);
    zsock_destroy(&sub);
    env_close(&env);
}

/* ---- topic authorization (brg_publisher_narrow) ------------------------------------- */

typedef struct {
    char topics[64][64];
    size_t n;
} collected_t;

static void collect(void *arg, const char *topic, size_t len) {
    collected_t *c = (collected_t *)arg;
    cr_assert_lt(c->n, 64);
    snprintf(c->topics[c->n++], 64, "%.*s", (int)len, topic);
}

static bool has_topic(collected_t *c, const char *topic) {
    for (size_t i = 0; i < c->n; i++)
        if (streq(c->topics[i], topic))
            return true;
    return false;
}

static const char *KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

Test(publisher, narrow_to_the_keys_accounts) {
    char err[256];
    brg_principal_t *who = brg_principal_new(KEY, "1000000365,7", "reader", err, sizeof err);
    cr_assert_not_null(who, "%s", err);

    collected_t c = {0};
    cr_assert_eq(brg_publisher_narrow(who, "trade.", 6, collect, &c), 2);
    cr_assert_str_eq(c.topics[0], "trade.1000000365.");
    cr_assert_str_eq(c.topics[1], "trade.7.");

    /* "" = every account kind for each account + the account-less kinds */
    memset(&c, 0, sizeof c);
    size_t kinds = 0, open = 3;
    for (unsigned i = 0; i < xtbridge__event__descriptor.n_fields; i++)
        if (xtbridge__event__descriptor.fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            kinds++;
    cr_assert_eq(brg_publisher_narrow(who, "", 0, collect, &c), (kinds - open) * 2 + open);
    cr_assert(has_topic(&c, "order.1000000365."));
    cr_assert(has_topic(&c, "order.7."));
    cr_assert(has_topic(&c, "account_status.7."));
    cr_assert(has_topic(&c, "heartbeat."));
    cr_assert(has_topic(&c, "connected."));
    cr_assert(has_topic(&c, "disconnected."));
    cr_assert_not(has_topic(&c, "heartbeat.1000000365."));

    /* a partial account id only widens to the key's own accounts */
    memset(&c, 0, sizeof c);
    cr_assert_eq(brg_publisher_narrow(who, "trade.10000", 11, collect, &c), 1);
    cr_assert_str_eq(c.topics[0], "trade.1000000365.");
    /* narrower than an allowed topic: installed as asked */
    memset(&c, 0, sizeof c);
    cr_assert_eq(brg_publisher_narrow(who, "trade.7.x", 9, collect, &c), 1);
    cr_assert_str_eq(c.topics[0], "trade.7.x");
    /* someone else's account, a neighbour id, an unknown kind: nothing */
    memset(&c, 0, sizeof c);
    cr_assert_eq(brg_publisher_narrow(who, "trade.1000000366.", 17, collect, &c), 0);
    cr_assert_eq(brg_publisher_narrow(who, "trade.10000003650.", 18, collect, &c), 0);
    cr_assert_eq(brg_publisher_narrow(who, "bogus.", 6, collect, &c), 0);
    cr_assert_eq(c.n, 0);
    /* account-less */
    cr_assert_eq(brg_publisher_narrow(who, "heartbeat.", 10, collect, &c), 1);
    cr_assert_str_eq(c.topics[0], "heartbeat.");
    brg_principal_destroy(&who);

    /* "*" keeps the filter as it is */
    who = brg_principal_new(KEY, "*", "admin", err, sizeof err);
    memset(&c, 0, sizeof c);
    cr_assert_eq(brg_publisher_narrow(who, "", 0, collect, &c), 1);
    cr_assert_str_eq(c.topics[0], "");
    brg_principal_destroy(&who);
}
