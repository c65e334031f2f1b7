/*  test_client.c - unit tests of the C client library (clients/c/xtb_client.c) against a
    tiny fake bridge running as a zactor in the test process: a ROUTER that answers
    hello/ping/replay/stats in scripted ways and a PUB that sends a heartbeat every 20 ms.

    The scripted behaviours ride on ping.client_time_ns: 1 = answer, 2 = send a reply with
    another request id and an undecodable frame before the real answer, 3 = hold the reply
    and send it just before the answer to the next request (a late reply to a call that timed
    out), 4 = publish an order push for 1000000365 and one for its neighbour 10000003650,
    then answer. No sleeps: every wait is a poller/socket timeout.

    Replay is answered like the bridge does, pull-based: one reply per request with at most
    max_events (0 = 500, capped at 1000) events of a generated journal, skipping seq <=
    after[topic], and more = true while further events match. Journal event i (0-based) is
    on topic s_journal_topics[i % 3] with seq i / 3 + 1. Topic prefix "stuck." gets
    more = true without events (a broken bridge). Pipe commands set the journal size and
    the bridge epoch, and report the replay requests seen.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "xtb_client.h"

/* ---- fake bridge ---------------------------------------------------------------------- */

typedef struct {
    char router_ep[256];
    char pub_ep[256];
} fake_args_t;

static zframe_t *pack_reply(Xtbridge__Reply *reply) {
    zframe_t *f = zframe_new(NULL, xtbridge__reply__get_packed_size(reply));
    xtbridge__reply__pack(reply, zframe_data(f));
    return f;
}

static void send_reply(zsock_t *router, zframe_t *rid, Xtbridge__Reply *reply) {
    zframe_t *id = zframe_dup(rid);
    zframe_t *body = pack_reply(reply);
    zframe_send(&id, router, ZFRAME_MORE);
    zframe_send(&body, router, 0);
}

static void publish_order(zsock_t *pub, const char *account, int64_t order_id, uint64_t seq) {
    char topic[64];
    snprintf(topic, sizeof topic, "order.%s.", account);
    Xtbridge__XtOrder order = XTBRIDGE__XT_ORDER__INIT;
    order.account_id = (char *)account;
    order.order_id = order_id;
    order.order_status = 50;
    order.stock_code = (char *)"600000.SH";
    Xtbridge__Event ev = XTBRIDGE__EVENT__INIT;
    ev.topic = topic;
    ev.seq = seq;
    ev.body_case = XTBRIDGE__EVENT__BODY_ORDER;
    ev.order = &order;
    zframe_t *f = zframe_new(NULL, xtbridge__event__get_packed_size(&ev));
    xtbridge__event__pack(&ev, zframe_data(f));
    zstr_sendm(pub, topic);
    zframe_send(&f, pub, 0);
}

static void publish_heartbeat(zsock_t *pub, uint64_t seq) {
    Xtbridge__Heartbeat hb = XTBRIDGE__HEARTBEAT__INIT;
    hb.instance_id = (char *)"fake";
    hb.interval_ms = 20;
    Xtbridge__Event ev = XTBRIDGE__EVENT__INIT;
    ev.topic = (char *)"heartbeat.";
    ev.seq = seq;
    ev.body_case = XTBRIDGE__EVENT__BODY_HEARTBEAT;
    ev.heartbeat = &hb;
    zframe_t *f = zframe_new(NULL, xtbridge__event__get_packed_size(&ev));
    xtbridge__event__pack(&ev, zframe_data(f));
    zstr_sendm(pub, "heartbeat.");
    zframe_send(&f, pub, 0);
}

static const char *s_journal_topics[3] = {"trade.1.", "order.1.", "trade.2."};

static void journal_event(size_t i, const char **topic, uint64_t *seq) {
    *topic = s_journal_topics[i % 3];
    *seq = i / 3 + 1;
}

static uint64_t after_of(const Xtbridge__ReplayRequest *r, const char *topic) {
    for (size_t i = 0; i < r->n_after; i++)
        if (streq(r->after[i]->key, topic))
            return r->after[i]->value;
    return 0;
}

typedef struct {
    size_t journal_n;   /* events in the generated journal */
    uint64_t epoch;     /* bridge_epoch of replay replies */
    size_t replays;     /* replay requests answered */
    size_t replay_dups; /* replay requests whose request_id was seen before */
    uint32_t last_max;  /* max_events of the last replay request */
    zhashx_t *replay_ids;
} fake_replay_t;

/* Fill `page` (events backed by `evs`, capacity 1000) as the bridge would answer `r`. */
static void answer_replay(fake_replay_t *st, const Xtbridge__ReplayRequest *r,
                          Xtbridge__ReplayReply *page, Xtbridge__Event *evs,
                          Xtbridge__Event **ptrs) {
    size_t limit = r->max_events == 0 ? 500 : (r->max_events > 1000 ? 1000 : r->max_events);
    page->bridge_epoch = st->epoch;
    page->events = ptrs;
    page->n_events = 0;
    if (strncmp(r->topic_prefix, "stuck.", 6) == 0) {
        page->more = true;
        return;
    }
    for (size_t i = 0; i < st->journal_n; i++) {
        const char *topic;
        uint64_t seq;
        journal_event(i, &topic, &seq);
        if (strncmp(topic, r->topic_prefix, strlen(r->topic_prefix)) != 0 ||
            seq <= after_of(r, topic))
            continue;
        if (page->n_events == limit) {
            page->more = true;
            return;
        }
        Xtbridge__Event *ev = &evs[page->n_events];
        xtbridge__event__init(ev);
        ev->topic = (char *)topic;
        ev->seq = seq;
        ev->bridge_epoch = st->epoch;
        ptrs[page->n_events++] = ev;
    }
}

static void fake_actor(zsock_t *pipe, void *arg) {
    fake_args_t *args = (fake_args_t *)arg;
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_t *pub = zsock_new(ZMQ_PUB);
    zsock_set_linger(router, 0);
    zsock_set_linger(pub, 0);
    int rc1 = zsock_bind(router, "%s", args->router_ep);
    int rc2 = zsock_bind(pub, "%s", args->pub_ep);
    zsock_signal(pipe, rc1 == 0 && rc2 == 0 ? 0 : 1);
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    char last_rid[256] = "", last_reqid[256] = "";
    zframe_t *held = NULL; /* mode 3: the late reply, packed */
    zframe_t *held_rid = NULL;
    uint64_t hb_seq = 0;
    int64_t next_hb = zclock_mono();
    fake_replay_t st = {.epoch = 1, .replay_ids = zhashx_new()};
    Xtbridge__Event *page_evs = (Xtbridge__Event *)zmalloc(1000 * sizeof *page_evs);
    Xtbridge__Event **page_ptrs = (Xtbridge__Event **)zmalloc(1000 * sizeof *page_ptrs);
    bool done = false;
    while (!done) {
        int wait = (int)(next_hb - zclock_mono());
        void *which = zpoller_wait(poller, wait > 0 ? wait : 0);
        if (zclock_mono() >= next_hb) {
            publish_heartbeat(pub, ++hb_seq);
            next_hb = zclock_mono() + 20;
        }
        if (which == pipe) {
            char *cmd = zstr_recv(pipe);
            if (!cmd || streq(cmd, "$TERM"))
                done = true;
            else if (streq(cmd, "LAST"))
                zstr_sendx(pipe, last_rid, last_reqid, NULL);
            else if (strncmp(cmd, "JOURNAL ", 8) == 0) {
                st.journal_n = (size_t)atol(cmd + 8);
                zsock_signal(pipe, 0);
            } else if (strncmp(cmd, "EPOCH ", 6) == 0) {
                st.epoch = (uint64_t)atol(cmd + 6);
                zsock_signal(pipe, 0);
            } else if (streq(cmd, "REPLAYS")) {
                char a[32], b[32], m[32];
                snprintf(a, sizeof a, "%zu", st.replays);
                snprintf(b, sizeof b, "%zu", st.replay_dups);
                snprintf(m, sizeof m, "%u", st.last_max);
                zstr_sendx(pipe, a, b, m, NULL);
            }
            zstr_free(&cmd);
        } else if (which == router) {
            zmsg_t *msg = zmsg_recv(router);
            if (!msg)
                break;
            zframe_t *rid = zmsg_pop(msg);
            zframe_t *body = zmsg_last(msg);
            char *s = zframe_strdup(rid);
            snprintf(last_rid, sizeof last_rid, "%s", s);
            free(s);
            Xtbridge__Request *req =
                body ? xtbridge__request__unpack(NULL, zframe_size(body), zframe_data(body)) : NULL;
            if (req) {
                snprintf(last_reqid, sizeof last_reqid, "%s", req->request_id);
                if (held) { /* the late reply of the previous (timed-out) call */
                    zframe_send(&held_rid, router, ZFRAME_MORE);
                    zframe_send(&held, router, 0);
                }
                Xtbridge__Reply reply = XTBRIDGE__REPLY__INIT;
                Xtbridge__Error ok = XTBRIDGE__ERROR__INIT;
                reply.request_id = req->request_id;
                reply.error = &ok;
                Xtbridge__PingReply ping = XTBRIDGE__PING_REPLY__INIT;
                Xtbridge__HelloReply hello = XTBRIDGE__HELLO_REPLY__INIT;
                char *pubs[1] = {args->pub_ep};
                Xtbridge__ReplayReply page = XTBRIDGE__REPLAY_REPLY__INIT;
                bool answer = true;
                switch (req->body_case) {
                case XTBRIDGE__REQUEST__BODY_HELLO:
                    hello.bridge_version = (char *)"fake";
                    hello.protocol_version = 2;
                    hello.n_pub_endpoints = 1;
                    hello.pub_endpoints = pubs;
                    hello.heartbeat_ms = 20;
                    reply.result_case = XTBRIDGE__REPLY__RESULT_HELLO;
                    reply.hello = &hello;
                    break;
                case XTBRIDGE__REQUEST__BODY_PING: {
                    int64_t mode = req->ping->client_time_ns;
                    ping.client_time_ns = mode;
                    reply.result_case = XTBRIDGE__REPLY__RESULT_PING;
                    reply.ping = &ping;
                    if (mode == 2) {
                        Xtbridge__Reply stale = reply;
                        stale.request_id = (char *)"some-other-id";
                        send_reply(router, rid, &stale);
                        zframe_t *id = zframe_dup(rid);
                        zframe_send(&id, router, ZFRAME_MORE);
                        zstr_send(router, "\xff\xff garbage");
                    } else if (mode == 3) {
                        held = pack_reply(&reply);
                        held_rid = zframe_dup(rid);
                        answer = false;
                    } else if (mode == 4) {
                        publish_order(pub, "1000000365", 42, 7);
                        publish_order(pub, "10000003650", 43, 1);
                    }
                    break;
                }
                case XTBRIDGE__REQUEST__BODY_REPLAY:
                    st.replays++;
                    st.last_max = req->replay->max_events;
                    if (zhashx_insert(st.replay_ids, req->request_id, (void *)"") != 0)
                        st.replay_dups++;
                    answer_replay(&st, req->replay, &page, page_evs, page_ptrs);
                    reply.result_case = XTBRIDGE__REPLY__RESULT_REPLAY;
                    reply.replay = &page;
                    break;
                default:
                    ok.code = XTBRIDGE__ERROR_CODE__UNKNOWN_CALL;
                    ok.message = (char *)"fake serves no such call";
                    break;
                }
                if (answer)
                    send_reply(router, rid, &reply);
                xtbridge__request__free_unpacked(req, NULL);
            }
            zframe_destroy(&rid);
            zmsg_destroy(&msg);
        } else if (zpoller_terminated(poller))
            break;
    }
    zframe_destroy(&held);
    zframe_destroy(&held_rid);
    zhashx_destroy(&st.replay_ids);
    free(page_evs);
    free(page_ptrs);
    zpoller_destroy(&poller);
    zsock_destroy(&router);
    zsock_destroy(&pub);
}

static fake_args_t s_args;
static zactor_t *s_fake;

static void fake_start(void) {
    xtbt_endpoint(s_args.router_ep, sizeof s_args.router_ep, "fake-router");
    xtbt_endpoint(s_args.pub_ep, sizeof s_args.pub_ep, "fake-pub");
    s_fake = zactor_new(fake_actor, &s_args);
    cr_assert_not_null(s_fake, "fake bridge did not start");
}

static void fake_stop(void) {
    zactor_destroy(&s_fake);
    /* ipc:// binds leave socket files behind. */
    unlink(s_args.router_ep + strlen("ipc://"));
    unlink(s_args.pub_ep + strlen("ipc://"));
}

static Xtbridge__Reply *ping_mode(xtb_client_t *c, int64_t mode, int timeout_ms, int *rc) {
    Xtbridge__Request *req = xtb_req_ping(mode);
    Xtbridge__Reply *reply = NULL;
    *rc = xtb_client_call(c, req, timeout_ms, &reply);
    xtb_request_destroy(&req);
    return reply;
}

TestSuite(client, .init = fake_start, .fini = fake_stop, .timeout = 30);

Test(client, request_id_assigned_and_routing_id_stable) {
    xtb_client_t *c = xtb_client_new(s_args.router_ep, NULL);
    cr_assert_not_null(c);
    cr_assert_eq(strncmp(xtb_client_routing_id(c), "xtb-", 4), 0, "routing id %s",
                 xtb_client_routing_id(c));

    Xtbridge__Request *req = xtb_req_ping(1);
    Xtbridge__Reply *r1 = NULL, *r2 = NULL;
    cr_assert_eq(xtb_client_call(c, req, 2000, &r1), 0, "%s", xtb_client_error(c));
    cr_assert_str_empty(req->request_id, "caller's request must not be modified");
    cr_assert_eq(xtb_client_call(c, req, 2000, &r2), 0, "%s", xtb_client_error(c));
    cr_assert_str_not_empty(r1->request_id);
    cr_assert_str_not_empty(r2->request_id);
    cr_assert_str_neq(r1->request_id, r2->request_id);
    cr_assert_str_eq(r2->request_id, xtb_client_last_request_id(c));
    cr_assert_eq(r1->result_case, XTBRIDGE__REPLY__RESULT_PING);
    cr_assert_eq(r1->ping->client_time_ns, 1);

    /* The fake saw our routing id and request id. */
    zstr_send(s_fake, "LAST");
    char *rid = NULL, *reqid = NULL;
    cr_assert_eq(zstr_recvx(s_fake, &rid, &reqid, NULL), 2);
    cr_assert_str_eq(rid, xtb_client_routing_id(c));
    cr_assert_str_eq(reqid, r2->request_id);
    zstr_free(&rid);
    zstr_free(&reqid);

    /* An explicit id travels as is. */
    xtb_request_set_id(req, "my-id-1");
    Xtbridge__Reply *r3 = NULL;
    cr_assert_eq(xtb_client_call(c, req, 2000, &r3), 0);
    cr_assert_str_eq(r3->request_id, "my-id-1");
    cr_assert_str_eq(req->request_id, "my-id-1");

    xtb_reply_destroy(&r1);
    xtb_reply_destroy(&r2);
    xtb_reply_destroy(&r3);
    cr_assert_null(r1);
    xtb_request_destroy(&req);
    cr_assert_null(req);
    xtb_client_destroy(&c);
    cr_assert_null(c);
}

Test(client, explicit_routing_id) {
    xtb_client_options_t opts = {.routing_id = "my-stable-client"};
    xtb_client_t *c = xtb_client_new(s_args.router_ep, &opts);
    int rc;
    Xtbridge__Reply *r = ping_mode(c, 1, 2000, &rc);
    cr_assert_eq(rc, 0);
    zstr_send(s_fake, "LAST");
    char *rid = NULL, *reqid = NULL;
    zstr_recvx(s_fake, &rid, &reqid, NULL);
    cr_assert_str_eq(rid, "my-stable-client");
    cr_assert_str_eq(xtb_client_routing_id(c), "my-stable-client");
    zstr_free(&rid);
    zstr_free(&reqid);
    xtb_reply_destroy(&r);
    xtb_client_destroy(&c);
}

Test(client, timeout_within_bound_then_late_reply_discarded) {
    xtb_client_t *c = xtb_client_new(s_args.router_ep, NULL);
    int rc;
    int64_t t0 = zclock_mono();
    Xtbridge__Reply *r = ping_mode(c, 3, 200, &rc);
    int64_t elapsed = zclock_mono() - t0;
    cr_assert_eq(rc, -1);
    cr_assert_null(r);
    cr_assert_eq(xtb_client_errkind(c), XTB_CLIENT_TIMEOUT, "%s", xtb_client_error(c));
    cr_assert(strstr(xtb_client_error(c), "timeout") != NULL, "%s", xtb_client_error(c));
    cr_assert(elapsed >= 195 && elapsed < 1000, "timed out after %lld ms", (long long)elapsed);
    char timed_out_id[128];
    snprintf(timed_out_id, sizeof timed_out_id, "%s", xtb_client_last_request_id(c));

    /* The fake now sends the held (late) reply first, then the answer to this call. */
    r = ping_mode(c, 1, 2000, &rc);
    cr_assert_eq(rc, 0, "%s", xtb_client_error(c));
    cr_assert_str_neq(r->request_id, timed_out_id);
    cr_assert_str_eq(r->request_id, xtb_client_last_request_id(c));
    cr_assert_eq(r->ping->client_time_ns, 1);
    cr_assert_eq(xtb_client_stale_replies(c), 1);
    xtb_reply_destroy(&r);
    xtb_client_destroy(&c);
}

Test(client, timeout_when_nobody_listens) {
    char ep[256];
    xtbt_endpoint(ep, sizeof ep, "nobody");
    xtb_client_t *c = xtb_client_new(ep, NULL);
    cr_assert_not_null(c);
    int rc;
    int64_t t0 = zclock_mono();
    Xtbridge__Reply *r = ping_mode(c, 1, 150, &rc);
    int64_t elapsed = zclock_mono() - t0;
    cr_assert_eq(rc, -1);
    cr_assert_null(r);
    cr_assert_eq(xtb_client_errkind(c), XTB_CLIENT_TIMEOUT);
    cr_assert(elapsed < 1000, "took %lld ms", (long long)elapsed);
    xtb_client_destroy(&c);
}

Test(client, stale_and_garbage_replies_discarded) {
    xtb_client_t *c = xtb_client_new(s_args.router_ep, NULL);
    int rc;
    Xtbridge__Reply *r = ping_mode(c, 2, 2000, &rc);
    cr_assert_eq(rc, 0, "%s", xtb_client_error(c));
    cr_assert_str_eq(r->request_id, xtb_client_last_request_id(c));
    cr_assert_eq(r->ping->client_time_ns, 2);
    cr_assert_eq(xtb_client_stale_replies(c), 2);
    xtb_reply_destroy(&r);
    xtb_client_destroy(&c);
}

Test(client, bridge_error_is_a_reply_and_call_ok_fails) {
    xtb_client_t *c = xtb_client_new(s_args.router_ep, NULL);
    Xtbridge__Request *req = xtb_req_stats();
    Xtbridge__Reply *r = NULL;
    cr_assert_eq(xtb_client_call(c, req, 2000, &r), 0);
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__UNKNOWN_CALL);
    xtb_reply_destroy(&r);
    cr_assert_eq(xtb_client_call_ok(c, req, 2000, &r), -1);
    cr_assert_not_null(r);
    cr_assert_eq(xtb_client_errkind(c), XTB_CLIENT_OK);
    cr_assert_str_eq(xtb_client_error(c), "UNKNOWN_CALL: fake serves no such call");
    xtb_reply_destroy(&r);
    xtb_request_destroy(&req);
    xtb_client_destroy(&c);
}

Test(client, subscribe_receives_own_topic_only) {
    xtb_client_t *c = xtb_client_new(s_args.router_ep, NULL);
    char *topic = NULL;
    Xtbridge__Event *ev = NULL;
    cr_assert_eq(xtb_client_recv_event(c, 10, &topic, &ev), -1);
    cr_assert_eq(xtb_client_errkind(c), XTB_CLIENT_INVALID);

    cr_assert_eq(xtb_client_subscribe(c, "order.1000000365."), 0, "%s", xtb_client_error(c));
    cr_assert_str_eq(xtb_client_pub_endpoint(c), s_args.pub_ep);
    cr_assert_eq(xtb_client_sync_subscriptions(c, 5000), 0, "%s", xtb_client_error(c));

    int rc;
    Xtbridge__Reply *r = ping_mode(c, 4, 2000, &rc); /* fake publishes two orders */
    cr_assert_eq(rc, 0);
    xtb_reply_destroy(&r);
    cr_assert_eq(xtb_client_recv_event(c, 2000, &topic, &ev), 0, "%s", xtb_client_error(c));
    cr_assert_str_eq(topic, "order.1000000365.");
    cr_assert_eq(ev->body_case, XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->seq, 7);
    cr_assert_eq(ev->order->order_id, 42);
    cr_assert_str_eq(ev->order->account_id, "1000000365");
    free(topic);
    xtb_event_destroy(&ev);
    cr_assert_null(ev);

    /* Neither the neighbour account's push nor heartbeats (sync unsubscribed them). */
    int64_t t0 = zclock_mono();
    cr_assert_eq(xtb_client_recv_event(c, 200, &topic, &ev), -1, "unexpected push %s", topic);
    cr_assert_eq(xtb_client_errkind(c), XTB_CLIENT_TIMEOUT);
    cr_assert(zclock_mono() - t0 >= 195);

    /* After unsubscribe nothing arrives. */
    cr_assert_eq(xtb_client_unsubscribe(c, "order.1000000365."), 0);
    cr_assert_eq(xtb_client_unsubscribe(c, "order.1000000365."), -1);
    cr_assert_eq(xtb_client_subscribe(c, "heartbeat."), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(c, 5000), 0);
    r = ping_mode(c, 4, 2000, &rc);
    xtb_reply_destroy(&r);
    Xtbridge__Event *hb = xtbt_wait_event(c, "heartbeat.", XTBRIDGE__EVENT__BODY_HEARTBEAT, 2000);
    cr_assert_not_null(hb);
    xtb_event_destroy(&hb);
    Xtbridge__Event *order = xtbt_wait_event(c, "order.", 0, 200);
    cr_assert_null(order, "order push after unsubscribe");
    xtb_client_destroy(&c);
}

/* A wildcard host in an announced endpoint becomes the host the ROUTER was reached at;
   127.0.0.1 would be the client's own machine, not the bridge's. */
Test(client, announced_wildcard_host_becomes_router_host) {
    const char *cases[][3] = {
        /* announced, router endpoint, connect to */
        {"tcp://*:58611", "tcp://127.0.0.2:58610", "tcp://127.0.0.2:58611"},
        {"tcp://0.0.0.0:58611", "tcp://10.1.2.3:58610", "tcp://10.1.2.3:58611"},
        {"tcp://[::]:58611", "tcp://bridge.example:58610", "tcp://bridge.example:58611"},
        {"tcp://*:58611", ">tcp://[fd00::5]:58610", "tcp://[fd00::5]:58611"},
        {"tcp://*:58611", "tcp://127.0.0.9;127.0.0.2:58610", "tcp://127.0.0.2:58611"},
        {"tcp://*:58611", "ipc://r,tcp://127.0.0.3:58610", "tcp://127.0.0.3:58611"},
        {"tcp://*:58611", "ipc:///run/xtbridge/req", "tcp://127.0.0.1:58611"},
        {"tcp://127.0.0.5:58611", "tcp://127.0.0.2:58610", "tcp://127.0.0.5:58611"},
        {"ipc:///run/xtbridge/pub", "tcp://127.0.0.2:58610", "ipc:///run/xtbridge/pub"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *ep = xtb_pub_endpoint_for(cases[i][0], cases[i][1]);
        cr_assert_str_eq(ep, cases[i][2], "announced %s via %s", cases[i][0], cases[i][1]);
        free(ep);
    }
    cr_assert_null(xtb_pub_endpoint_for(NULL, "tcp://127.0.0.2:1"));
}

/* An explicit pub_endpoint is kept: hello (explicit or the one subscribe does) does not
   replace it by the announced one. */
Test(client, explicit_pub_endpoint_survives_hello) {
    char pub[256];
    xtbt_endpoint(pub, sizeof pub, "explicit-pub");
    xtb_client_options_t opts = {.pub_endpoint = pub};
    xtb_client_t *c = xtb_client_new(s_args.router_ep, &opts);
    cr_assert_eq(xtb_client_hello(c, 2000, NULL), 0, "%s", xtb_client_error(c));
    cr_assert_str_eq(xtb_client_pub_endpoint(c), pub);
    cr_assert_eq(xtb_client_subscribe(c, "order."), 0, "%s", xtb_client_error(c));
    cr_assert_str_eq(xtb_client_pub_endpoint(c), pub);
    xtb_client_destroy(&c);
}

Test(client, neighbour_subscription_gets_neighbour_only) {
    xtb_client_t *c = xtb_client_new(s_args.router_ep, NULL);
    cr_assert_eq(xtb_client_subscribe(c, "order.10000003650."), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(c, 5000), 0);
    int rc;
    Xtbridge__Reply *r = ping_mode(c, 4, 2000, &rc);
    xtb_reply_destroy(&r);
    char *topic = NULL;
    Xtbridge__Event *ev = NULL;
    cr_assert_eq(xtb_client_recv_event(c, 2000, &topic, &ev), 0);
    cr_assert_str_eq(topic, "order.10000003650.");
    cr_assert_eq(ev->order->order_id, 43);
    free(topic);
    xtb_event_destroy(&ev);
    cr_assert_eq(xtb_client_recv_event(c, 200, NULL, NULL), -1);
    xtb_client_destroy(&c);
}

/* ---- replay ------------------------------------------------------------------------- */

/* Checks each replayed event against the journal, in order: the next matching journal event
   (prefix, seq > after) must be the one passed. */
typedef struct {
    const char *prefix;
    uint64_t after[3]; /* per s_journal_topics */
    size_t next;       /* journal index to look at next */
    size_t journal_n;
    size_t seen;
    size_t wrong;    /* events that were not the expected next one */
    size_t stop_at;  /* > 0: return non-zero at this event */
    bool bump_epoch; /* on the first event, tell the fake its epoch is now 2 */
} replay_check_t;

static size_t topic_index(const char *topic) {
    for (size_t i = 0; i < 3; i++)
        if (streq(topic, s_journal_topics[i]))
            return i;
    return 3;
}

static size_t expected_count(const replay_check_t *st) {
    size_t n = 0;
    for (size_t i = 0; i < st->journal_n; i++) {
        const char *topic;
        uint64_t seq;
        journal_event(i, &topic, &seq);
        if (strncmp(topic, st->prefix, strlen(st->prefix)) == 0 &&
            seq > st->after[topic_index(topic)])
            n++;
    }
    return n;
}

static int check_event(const Xtbridge__Event *ev, void *arg) {
    replay_check_t *st = (replay_check_t *)arg;
    const char *topic = NULL;
    uint64_t seq = 0;
    while (st->next < st->journal_n) {
        journal_event(st->next++, &topic, &seq);
        if (strncmp(topic, st->prefix, strlen(st->prefix)) == 0 &&
            seq > st->after[topic_index(topic)])
            break;
        topic = NULL;
    }
    if (!topic || !streq(ev->topic, topic) || ev->seq != seq)
        st->wrong++;
    st->seen++;
    if (st->bump_epoch && st->seen == 1) {
        zstr_send(s_fake, "EPOCH 2");
        zsock_wait(s_fake);
    }
    return st->stop_at && st->seen == st->stop_at;
}

static void set_journal(size_t n) {
    zstr_sendf(s_fake, "JOURNAL %zu", n);
    zsock_wait(s_fake);
}

/* Replay requests the fake answered so far, request ids it saw twice, last max_events. */
static void fake_replays(size_t *requests, size_t *dups, uint32_t *last_max) {
    zstr_send(s_fake, "REPLAYS");
    char *a = NULL, *b = NULL, *m = NULL;
    cr_assert_eq(zstr_recvx(s_fake, &a, &b, &m, NULL), 3);
    *requests = (size_t)atol(a);
    *dups = (size_t)atol(b);
    *last_max = (uint32_t)atol(m);
    zstr_free(&a);
    zstr_free(&b);
    zstr_free(&m);
}

Test(client, replay_pages_deliver_every_event_once_in_order) {
    set_journal(2500);
    xtb_client_t *c = xtb_client_new(s_args.router_ep, NULL);
    const uint32_t max_events[] = {1, 7, 1000, 5000};
    const size_t want_requests[] = {2500, 358, 3, 3}; /* 5000 is capped at 1000 */
    size_t total = 0;
    for (size_t k = 0; k < 4; k++) {
        replay_check_t st = {.prefix = "", .journal_n = 2500};
        int n = xtb_client_replay_max(c, "", NULL, NULL, 0, max_events[k], 5000, check_event, &st);
        cr_assert_eq(n, 2500, "max_events %u: %d (%s)", max_events[k], n, xtb_client_error(c));
        cr_assert_eq(st.seen, 2500);
        cr_assert_eq(st.wrong, 0, "max_events %u: %zu events out of order", max_events[k],
                     st.wrong);
        cr_assert_eq(xtb_client_replay_requests(c), want_requests[k], "max_events %u: %zu",
                     max_events[k], xtb_client_replay_requests(c));
        size_t requests, dups;
        uint32_t last_max;
        fake_replays(&requests, &dups, &last_max);
        total += want_requests[k];
        cr_assert_eq(requests, total, "the fake saw %zu replay requests", requests);
        cr_assert_eq(dups, 0, "a page reused a request id");
        cr_assert_eq(last_max, max_events[k]);
    }
    /* One reply per request: nothing stale is left for the next call. */
    int rc;
    Xtbridge__Reply *r = ping_mode(c, 1, 2000, &rc);
    cr_assert_eq(rc, 0);
    cr_assert_eq(xtb_client_stale_replies(c), 0);
    xtb_reply_destroy(&r);
    xtb_client_destroy(&c);
}

Test(client, replay_default_page_and_after_map) {
    set_journal(2500);
    xtb_client_t *c = xtb_client_new(s_args.router_ep, NULL);
    /* trade.1. has seqs 1..834, trade.2. 1..833: after trade.1.=100 leaves 734 + 833. */
    const char *topics[] = {"order.1.", "trade.1."};
    uint64_t after[] = {5, 100};
    replay_check_t st = {.prefix = "trade.", .after = {100, 5, 0}, .journal_n = 2500};
    cr_assert_eq(expected_count(&st), 1567);
    int n = xtb_client_replay(c, "trade.", topics, after, 2, 5000, check_event, &st);
    cr_assert_eq(n, 1567, "%d (%s)", n, xtb_client_error(c));
    cr_assert_eq(st.wrong, 0);
    cr_assert_eq(xtb_client_replay_requests(c), 4); /* bridge default: 500 per page */
    size_t requests, dups;
    uint32_t last_max;
    fake_replays(&requests, &dups, &last_max);
    cr_assert_eq(requests, 4);
    cr_assert_eq(last_max, 0);

    /* Nothing after the last seqs: one request, no event. */
    const char *all[] = {"trade.1.", "trade.2."};
    uint64_t last[] = {834, 833};
    cr_assert_eq(xtb_client_replay(c, "trade.", all, last, 2, 5000, check_event, &st), 0);
    cr_assert_eq(xtb_client_replay_requests(c), 1);
    xtb_client_destroy(&c);
}

Test(client, replay_stops_when_the_callback_says_so) {
    set_journal(2500);
    xtb_client_t *c = xtb_client_new(s_args.router_ep, NULL);
    replay_check_t st = {.prefix = "", .journal_n = 2500, .stop_at = 10};
    int n = xtb_client_replay_max(c, "", NULL, NULL, 0, 7, 5000, check_event, &st);
    cr_assert_eq(n, 10, "%d (%s)", n, xtb_client_error(c));
    cr_assert_eq(st.wrong, 0);
    cr_assert_eq(xtb_client_replay_requests(c), 2, "no page is asked for after the stop");
    size_t requests, dups;
    uint32_t last_max;
    fake_replays(&requests, &dups, &last_max);
    cr_assert_eq(requests, 2);
    xtb_client_destroy(&c);
}

Test(client, replay_more_without_events_fails_instead_of_looping) {
    xtb_client_t *c = xtb_client_new(s_args.router_ep, NULL);
    replay_check_t st = {.prefix = "stuck."};
    cr_assert_eq(xtb_client_replay(c, "stuck.", NULL, NULL, 0, 2000, check_event, &st), -1);
    cr_assert_eq(xtb_client_errkind(c), XTB_CLIENT_INVALID);
    cr_assert_str_eq(xtb_client_error(c), "replay: the bridge said more but sent no new event");
    cr_assert_eq(xtb_client_replay_requests(c), 1);
    cr_assert_eq(st.seen, 0);
    xtb_client_destroy(&c);
}

Test(client, replay_fails_when_the_journal_epoch_changes) {
    set_journal(20);
    xtb_client_t *c = xtb_client_new(s_args.router_ep, NULL);
    replay_check_t st = {.prefix = "", .journal_n = 20, .bump_epoch = true};
    cr_assert_eq(xtb_client_replay_max(c, "", NULL, NULL, 0, 7, 2000, check_event, &st), -1);
    cr_assert_eq(xtb_client_errkind(c), XTB_CLIENT_INVALID);
    cr_assert_str_eq(xtb_client_error(c),
                     "replay: the bridge's journal was reset meanwhile (epoch 1 -> 2)");
    cr_assert_eq(st.seen, 7, "the second page's events are not passed on");
    cr_assert_eq(xtb_client_replay_requests(c), 2);
    xtb_client_destroy(&c);
}

/* ---- builders and printers (no sockets) ------------------------------------------------ */

Test(builders, order_request_roundtrip) {
    Xtbridge__Request *req =
        xtb_req_order("1000000365", "600000.SH", 23, 1000, 11, 10.5, "s1", "r1", false);
    xtb_request_set_id(req, "id-1");
    size_t len = xtbridge__request__get_packed_size(req);
    uint8_t *buf = malloc(len);
    xtbridge__request__pack(req, buf);
    Xtbridge__Request *back = xtbridge__request__unpack(NULL, len, buf);
    free(buf);
    cr_assert_not_null(back);
    cr_assert_str_eq(back->request_id, "id-1");
    cr_assert_eq(back->body_case, XTBRIDGE__REQUEST__BODY_ORDER_STOCK);
    cr_assert_str_eq(back->order_stock->account->account_id, "1000000365");
    cr_assert_str_eq(back->order_stock->stock_code, "600000.SH");
    cr_assert_eq(back->order_stock->order_type, 23);
    cr_assert_eq(back->order_stock->order_volume, 1000);
    cr_assert_eq(back->order_stock->price_type, 11);
    cr_assert_eq(back->order_stock->price, 10.5);
    cr_assert_str_eq(back->order_stock->strategy_name, "s1");
    cr_assert_str_eq(back->order_stock->order_remark, "r1");
    xtb_request_destroy(&back);
    xtb_request_destroy(&req);

    req = xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET, "1000000365");
    cr_assert_eq(req->body_case, XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET);
    cr_assert_str_eq(req->query_stock_asset->account->account_id, "1000000365");
    xtb_request_destroy(&req);
    cr_assert_null(xtb_req_account(XTBRIDGE__REQUEST__BODY_PING, "1"));
    req = xtb_req_noargs(XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_STATUS);
    cr_assert_not_null(req);
    xtb_request_destroy(&req);
    cr_assert_null(xtb_req_noargs(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET));
    req = xtb_req_cancel(NULL, 5, true);
    cr_assert_null(req->cancel_order_stock_async->account, "no account given");
    xtb_request_destroy(&req);
}

Test(builders, names) {
    cr_assert_str_eq(xtb_error_code_name(XTBRIDGE__ERROR_CODE__MALFORMED), "MALFORMED");
    cr_assert_str_eq(xtb_error_code_name(999), "UNKNOWN(999)");
    cr_assert_str_eq(xtb_request_body_name(XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_DETAIL),
                     "query_credit_detail");
    cr_assert_null(xtb_request_body_name((Xtbridge__Request__BodyCase)77));
    cr_assert_str_eq(xtb_event_body_name(XTBRIDGE__EVENT__BODY_ORDER_ERROR), "order_error");
    cr_assert_str_eq(xtb_order_status_name(57), "ORDER_JUNK");
    cr_assert_str_eq(xtb_order_type_name(24), "STOCK_SELL");
    cr_assert_str_eq(xtb_price_type_name(11), "FIX_PRICE");
    cr_assert_str_eq(xtb_price_type_name(50), "BROKER_PRICE_LIMIT"); /* XtOrder's counter code */
    cr_assert_str_eq(xtb_price_type_name(49), "BROKER_PRICE_ANY");
    cr_assert_null(xtb_price_type_name(88)); /* no name of its own: printed as the number */
}

Test(builders, json_and_text) {
    Xtbridge__XtAsset a = XTBRIDGE__XT_ASSET__INIT;
    a.account_type = 2;
    a.account_id = (char *)"1000000365";
    a.cash = 989494.89;
    a.frozen_cash = 10505.11;
    char *js = xtb_message_to_json(&a.base, false);
    cr_assert_str_eq(js, "{\"account_type\":2,\"account_id\":\"1000000365\",\"cash\":989494.89,"
                         "\"frozen_cash\":10505.11,\"market_value\":0,\"total_asset\":0}");
    free(js);
    char *tx = xtb_message_to_text(&a.base);
    cr_assert_str_eq(tx,
                     "account_type=2 account_id=1000000365 cash=989494.89 frozen_cash=10505.11");
    free(tx);

    /* people read xtconstant names in the text form; JSON keeps the numbers */
    Xtbridge__XtOrder o = XTBRIDGE__XT_ORDER__INIT;
    o.order_type = 23;
    o.order_status = 56;
    o.price_type = 50;
    o.requested_price_type = 11;
    o.order_volume = 100;
    tx = xtb_message_to_text(&o.base);
    cr_assert_str_eq(tx, "order_type=STOCK_BUY order_volume=100 price_type=BROKER_PRICE_LIMIT "
                         "order_status=ORDER_SUCCEEDED requested_price_type=FIX_PRICE");
    free(tx);
    o.order_status = 99; /* no name: the number */
    tx = xtb_message_to_text(&o.base);
    cr_assert(strstr(tx, "order_status=99") != NULL, "%s", tx);
    free(tx);
    js = xtb_message_to_json(&o.base, true);
    cr_assert(strstr(js, "\"order_type\":23") != NULL, "%s", js);
    free(js);

    /* Maps, oneofs, enums, escapes. */
    Xtbridge__StatsReply s = XTBRIDGE__STATS_REPLY__INIT;
    Xtbridge__StatsReply__CallsEntry e1 = XTBRIDGE__STATS_REPLY__CALLS_ENTRY__INIT;
    e1.key = (char *)"ping";
    e1.value = 3;
    Xtbridge__StatsReply__CallsEntry *entries[] = {&e1};
    s.n_calls = 1;
    s.calls = entries;
    s.requests = 5;
    js = xtb_message_to_json(&s.base, true);
    cr_assert_str_eq(js, "{\"requests\":5,\"calls\":{\"ping\":3}}");
    free(js);

    Xtbridge__Reply r = XTBRIDGE__REPLY__INIT;
    Xtbridge__Error err = XTBRIDGE__ERROR__INIT;
    err.code = XTBRIDGE__ERROR_CODE__UNKNOWN_CALL;
    err.message = (char *)"say \"hi\"\n";
    r.request_id = (char *)"x";
    r.error = &err;
    Xtbridge__PingReply p = XTBRIDGE__PING_REPLY__INIT;
    r.result_case = XTBRIDGE__REPLY__RESULT_PING;
    r.ping = &p;
    js = xtb_message_to_json(&r.base, true);
    cr_assert_str_eq(js, "{\"request_id\":\"x\",\"error\":{\"code\":\"UNKNOWN_CALL\",\"message\":"
                         "\"say \\\"hi\\\"\\n\"},\"ping\":{}}");
    free(js);
}

/* ---- recovery, against the real bridge ------------------------------------------------- */
/* 600000.SH trades at 10.60: a buy of 100 at 10.00 rests. Topic of its order pushes: */
#define RACC "1000000365"
#define RTOPIC "order." RACC "."

/* A lossy hop between the bridge's PUB and a client: forwards every push except the order
   pushes its mode drops ("none", "every3": seq divisible by 3, "all"), set over the pipe.
   It stands for what loses pushes in real life (a slow consumer past the HWM, a link
   that went down) in a way a test can steer exactly. */
typedef struct {
    char upstream[256];
    char downstream[256];
} lossy_args_t;

static void lossy_hop(zsock_t *pipe, void *arg) {
    lossy_args_t *a = (lossy_args_t *)arg;
    zsock_t *sub = zsock_new_sub(a->upstream, "");
    zsock_t *pub = zsock_new_pub(a->downstream);
    zpoller_t *poller = zpoller_new(pipe, sub, NULL);
    char mode[16] = "none";
    zsock_signal(pipe, 0);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which == pipe) {
            char *cmd = zstr_recv(pipe);
            bool stop = !cmd || streq(cmd, "$TERM");
            if (cmd && !stop)
                snprintf(mode, sizeof mode, "%s", cmd);
            free(cmd);
            if (stop)
                break;
            zsock_signal(pipe, 0);
            continue;
        }
        if (which != sub)
            break;
        zmsg_t *msg = zmsg_recv(sub);
        if (!msg)
            break;
        bool drop = false;
        zframe_t *tf = zmsg_first(msg), *ef = zmsg_next(msg);
        if (tf && ef && zframe_streq(tf, RTOPIC)) {
            Xtbridge__Event *ev = xtbridge__event__unpack(NULL, zframe_size(ef), zframe_data(ef));
            if (ev)
                drop = streq(mode, "all") || (streq(mode, "every3") && ev->seq % 3 == 0);
            xtbridge__event__free_unpacked(ev, NULL);
        }
        if (drop)
            zmsg_destroy(&msg);
        else
            zmsg_send(&msg, pub);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&sub);
    zsock_destroy(&pub);
}

static void lossy_mode(zactor_t *hop, const char *mode) {
    zstr_send(hop, mode);
    zsock_wait(hop);
}

static xtb_client_t *recovering_client(xtbt_bridge_t *b, const char *pub, bool raw) {
    xtb_client_options_t opts = {0};
    opts.pub_endpoint = pub;
    opts.raw_events = raw;
    xtb_client_t *c = xtb_client_new(b->router_ep, &opts);
    cr_assert_not_null(c);
    cr_assert_eq(xtb_client_subscribe(c, RTOPIC), 0, "%s", xtb_client_error(c));
    cr_assert_eq(xtb_client_sync_subscriptions(c, 5000), 0, "%s", xtb_client_error(c));
    return c;
}

/* A bridge, and a lossy hop (mode "none") from its PUB to args->downstream. */
static xtbt_bridge_t *start_behind_lossy_hop(lossy_args_t *args, zactor_t **hop) {
    xtbt_bridge_t *b = xtbt_bridge_start(NULL, NULL);
    cr_assert_not_null(b);
    snprintf(args->upstream, sizeof args->upstream, "%s", b->pub_ep);
    xtbt_endpoint(args->downstream, sizeof args->downstream, "lossy");
    *hop = zactor_new(lossy_hop, args);
    cr_assert_not_null(*hop);
    return b;
}

static void place_resting(xtb_client_t *c, int n) {
    for (int i = 0; i < n; i++) {
        Xtbridge__Reply *r =
            xtbt_call_ok(c, xtb_req_order(RACC, "600000.SH", 23, 100, 11, 10.00, "rc", "", false),
                         XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
        xtb_reply_destroy(&r);
    }
}

static int max_seq_fn(const Xtbridge__Event *ev, void *arg) {
    uint64_t *max = (uint64_t *)arg;
    if (ev->seq > *max)
        *max = ev->seq;
    return 0;
}

/* The last seq the bridge journaled on RTOPIC (asked by a client of its own). */
static uint64_t journal_last(xtbt_bridge_t *b) {
    xtb_client_t *q = xtbt_bridge_client(b);
    uint64_t max = 0;
    cr_assert_geq(xtb_client_replay(q, RTOPIC, NULL, NULL, 0, 5000, max_seq_fn, &max), 0, "%s",
                  xtb_client_error(q));
    xtb_client_destroy(&q);
    return max;
}

/* The client hands over exactly seqs from..to of RTOPIC, in order, then nothing more. */
static void expect_seqs(xtb_client_t *c, uint64_t from, uint64_t to) {
    for (uint64_t want = from; want <= to; want++) {
        char *topic = NULL;
        Xtbridge__Event *ev = NULL;
        cr_assert_eq(xtb_client_recv_event(c, 5000, &topic, &ev), 0, "waiting for seq %llu: %s",
                     (unsigned long long)want, xtb_client_error(c));
        cr_assert_str_eq(topic, RTOPIC);
        cr_assert_eq(ev->seq, want, "got seq %llu, want %llu", (unsigned long long)ev->seq,
                     (unsigned long long)want);
        free(topic);
        xtb_event_destroy(&ev);
    }
    cr_assert_eq(xtb_client_recv_event(c, 300, NULL, NULL), -1, "a push after seq %llu",
                 (unsigned long long)to);
    cr_assert_eq(xtb_client_errkind(c), XTB_CLIENT_TIMEOUT);
}

/* Two PUB endpoints announced: the client connects to both and gets every push twice from
   the bus; recovery hands each over once (a raw client shows the duplicates are real). */
Test(recovery, duplicates_from_two_pub_endpoints_are_dropped, .timeout = 60) {
    char a[256], bb[256], pubs[600];
    xtbt_endpoint(a, sizeof a, "pub-a");
    xtbt_endpoint(bb, sizeof bb, "pub-b");
    snprintf(pubs, sizeof pubs, "%s,%s", a, bb);
    xtbt_bridge_t *b = xtbt_bridge_start_on(NULL, pubs, NULL, NULL);
    cr_assert_not_null(b);
    xtb_client_t *c = recovering_client(b, NULL, false);
    xtb_client_t *raw = recovering_client(b, NULL, true);
    cr_assert_eq(xtb_client_sync_subscriptions(c, 5000), 0); /* both pipes' filters in place */
    cr_assert_eq(xtb_client_sync_subscriptions(raw, 5000), 0);
    place_resting(c, 20);
    uint64_t last = journal_last(b);
    cr_assert_geq(last, 20);
    expect_seqs(c, 1, last);
    xtb_client_recovery_t rec;
    xtb_client_recovery(c, &rec);
    cr_assert_geq(rec.duplicates, last / 2, "duplicates %llu", (unsigned long long)rec.duplicates);
    cr_assert_eq(rec.gaps, 0);
    cr_assert_eq(rec.unrecovered, 0);
    uint64_t seen = 0;
    while (xtb_client_recv_event(raw, 300, NULL, NULL) == 0)
        seen++;
    cr_assert_gt(seen, last, "the raw client saw %llu pushes for %llu seqs",
                 (unsigned long long)seen, (unsigned long long)last);
    xtb_client_destroy(&raw);
    xtb_client_destroy(&c);
    cr_assert_eq(xtbt_bridge_stop(&b), 0);
}

/* Every third order push lost on the way: each gap is replayed from the journal and the
   client hands over every seq once, in order. */
Test(recovery, lost_pushes_are_replayed_in_order, .timeout = 60) {
    lossy_args_t args;
    zactor_t *hop = NULL;
    xtbt_bridge_t *b = start_behind_lossy_hop(&args, &hop);
    xtb_client_t *c = recovering_client(b, args.downstream, false);
    lossy_mode(hop, "every3");
    place_resting(c, 30);
    lossy_mode(hop, "none");
    place_resting(c, 1); /* a push after the last loss shows the last gap */
    uint64_t last = journal_last(b);
    expect_seqs(c, 1, last);
    xtb_client_recovery_t rec;
    xtb_client_recovery(c, &rec);
    cr_assert_geq(rec.gaps, 1);
    cr_assert_geq(rec.replayed_events, last / 3 - 1, "replayed %llu",
                  (unsigned long long)rec.replayed_events);
    cr_assert_eq(rec.failed_replays, 0);
    cr_assert_eq(rec.unrecovered, 0);
    xtb_client_destroy(&c);
    zactor_destroy(&hop);
    cr_assert_eq(xtbt_bridge_stop(&b), 0);
}

/* The last pushes of a topic lost, then the bridge restarts: no later push shows the gap,
   but the new instance in the heartbeats makes the client catch up every topic. */
Test(recovery, bridge_restart_catches_up_a_quiet_topic, .timeout = 90) {
    lossy_args_t args;
    zactor_t *hop = NULL;
    xtbt_bridge_t *b = start_behind_lossy_hop(&args, &hop);
    xtb_client_t *c = recovering_client(b, args.downstream, false);
    place_resting(c, 3);
    uint64_t first = journal_last(b);
    expect_seqs(c, 1, first);
    lossy_mode(hop, "all");
    place_resting(c, 5);
    uint64_t last = journal_last(b);
    lossy_mode(hop, "none");
    cr_assert_eq(xtb_client_recv_event(c, 300, NULL, NULL), -1, "the lost pushes came anyway");
    xtbt_bridge_kill(b);
    cr_assert_eq(xtbt_bridge_restart(b, NULL), 0);
    expect_seqs(c, first + 1, last);
    xtb_client_recovery_t rec;
    xtb_client_recovery(c, &rec);
    cr_assert_geq(rec.catch_ups, 1);
    cr_assert_eq(rec.unrecovered, 0);
    xtb_client_destroy(&c);
    zactor_destroy(&hop);
    cr_assert_eq(xtbt_bridge_stop(&b), 0);
}
