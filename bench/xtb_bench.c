/*  xtb_bench.c - latency and throughput of a running xtbridge, as ratios to raw libzmq
    measured side by side in the same run (the machine is shared and noisy, so absolute
    numbers mean little; a ratio of interleaved rounds means more).

        xtb_bench ROUTER_EP [ROUNDS] [PER_ROUND] [PIPELINE]

    - raw echo: a DEALER/ROUTER echo in a thread of this process on the same transport,
      with a frame the size of a ping request;
    - ping and order_stock round trips to the bridge (order: buy 100 600000.SH at 9.60,
      which rests on the sim's default book, so each one is a full order: validation, freeze,
      two order pushes and an asset push journaled in SQLite);
    - pipelined: PIPELINE requests sent back to back, then all replies read; requests/s.
    Rounds interleave raw, ping and order so drift hits all three alike. Not a test: it
    asserts nothing, it prints.
*/
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xtb_client.h"

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, size_t n, double p) {
    qsort(v, n, sizeof *v, cmp_i64);
    size_t i = (size_t)(p * (double)(n - 1));
    return v[i];
}

/* Echo actor: a ROUTER that sends every message straight back. */
static void echo_actor(zsock_t *pipe, void *arg) {
    zsock_t *router = zsock_new_router((const char *)arg);
    zsock_signal(pipe, router ? 0 : 1);
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    while (router) {
        void *which = zpoller_wait(poller, -1);
        if (which != router)
            break;
        zmsg_t *msg = zmsg_recv(router);
        if (msg)
            zmsg_send(&msg, router);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&router);
}

static zframe_t *packed(Xtbridge__Request *req, const char *id) {
    xtb_request_set_id(req, id);
    size_t size = xtbridge__request__get_packed_size(req);
    zframe_t *frame = zframe_new(NULL, size);
    xtbridge__request__pack(req, zframe_data(frame));
    return frame;
}

/* One round trip of `frame` on `sock`; returns microseconds or -1. */
static int64_t round_trip(zsock_t *sock, zframe_t *frame) {
    int64_t start = zclock_usecs();
    zframe_t *copy = zframe_dup(frame);
    if (zframe_send(&copy, sock, 0))
        return -1;
    zframe_t *reply = zframe_recv(sock);
    if (!reply)
        return -1;
    zframe_destroy(&reply);
    return zclock_usecs() - start;
}

static Xtbridge__Request *order_req(void) {
    return xtb_req_order(XTB_DEFAULT_ACCOUNT, "600000.SH", 23, 100, 11, 9.60, "bench", "", false);
}

/* Pipelined: send n frames produced by make(i), then read n replies. Returns per second. */
static double pipelined(zsock_t *sock, zframe_t *(*make)(int, void *), void *arg, int n) {
    zframe_t **frames = (zframe_t **)calloc((size_t)n, sizeof *frames);
    for (int i = 0; i < n; i++)
        frames[i] = make(i, arg);
    int64_t start = zclock_usecs();
    for (int i = 0; i < n; i++)
        zframe_send(&frames[i], sock, 0);
    int got = 0;
    for (; got < n; got++) {
        zframe_t *reply = zframe_recv(sock);
        if (!reply)
            break;
        zframe_destroy(&reply);
    }
    int64_t elapsed = zclock_usecs() - start;
    free(frames);
    return got == n && elapsed > 0 ? (double)n * 1e6 / (double)elapsed : 0;
}

static zframe_t *make_ping(int i, void *arg) {
    (void)arg;
    Xtbridge__Request *req = xtb_req_ping(0);
    char id[32];
    snprintf(id, sizeof id, "pp-%d", i);
    zframe_t *frame = packed(req, id);
    xtb_request_destroy(&req);
    return frame;
}

static zframe_t *make_order(int i, void *arg) {
    Xtbridge__Request *req = order_req();
    char id[48];
    snprintf(id, sizeof id, "po-%d-%d", *(int *)arg, i);
    zframe_t *frame = packed(req, id);
    xtb_request_destroy(&req);
    return frame;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: xtb_bench ROUTER_EP [ROUNDS] [PER_ROUND] [PIPELINE]\n");
        return 2;
    }
    const char *router = argv[1];
    int rounds = argc > 2 ? atoi(argv[2]) : 10;
    int per_round = argc > 3 ? atoi(argv[3]) : 100;
    int pipeline = argc > 4 ? atoi(argv[4]) : 2000;
    if (rounds < 1 || per_round < 1 || pipeline < 1)
        return 2;

    /* raw echo on the same transport as the bridge */
    char raw_ep[512];
    if (strncmp(router, "ipc://", 6) == 0)
        snprintf(raw_ep, sizeof raw_ep, "%s-raw-echo", router);
    else
        snprintf(raw_ep, sizeof raw_ep, "tcp://127.0.0.1:58699");
    zactor_t *echo = zactor_new(echo_actor, raw_ep);
    zsock_t *raw = zsock_new_dealer(raw_ep);
    zsock_t *bridge = zsock_new_dealer(router);
    zsock_set_rcvtimeo(raw, 5000);
    zsock_set_rcvtimeo(bridge, 5000);

    Xtbridge__Request *ping = xtb_req_ping(0);
    zframe_t *ping_frame = packed(ping, "bench-ping");
    xtb_request_destroy(&ping);
    size_t n = (size_t)rounds * (size_t)per_round;
    int64_t *t_raw = (int64_t *)calloc(n, sizeof(int64_t));
    int64_t *t_ping = (int64_t *)calloc(n, sizeof(int64_t));
    int64_t *t_order = (int64_t *)calloc(n, sizeof(int64_t));

    /* warm up connections */
    if (round_trip(raw, ping_frame) < 0 || round_trip(bridge, ping_frame) < 0) {
        fprintf(stderr, "xtb_bench: no answer from %s or the raw echo\n", router);
        return 1;
    }
    size_t k = 0;
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < per_round; i++, k++) {
            char id[48];
            snprintf(id, sizeof id, "bo-%d-%d", r, i);
            Xtbridge__Request *req = order_req();
            zframe_t *order_frame = packed(req, id);
            xtb_request_destroy(&req);
            t_raw[k] = round_trip(raw, ping_frame);
            t_ping[k] = round_trip(bridge, ping_frame);
            t_order[k] = round_trip(bridge, order_frame);
            zframe_destroy(&order_frame);
            if (t_raw[k] < 0 || t_ping[k] < 0 || t_order[k] < 0) {
                fprintf(stderr, "xtb_bench: timeout in round %d\n", r);
                return 1;
            }
        }
    int64_t raw50 = pct(t_raw, n, 0.5), raw99 = pct(t_raw, n, 0.99);
    int64_t ping50 = pct(t_ping, n, 0.5), ping99 = pct(t_ping, n, 0.99);
    int64_t order50 = pct(t_order, n, 0.5), order99 = pct(t_order, n, 0.99);
    printf("round trips (%zu each, interleaved)      p50 us   p99 us   p50 ratio to raw\n", n);
    printf("  raw libzmq echo                      %7lld  %7lld   1.00\n", (long long)raw50,
           (long long)raw99);
    printf("  bridge ping                          %7lld  %7lld   %.2f\n", (long long)ping50,
           (long long)ping99, (double)ping50 / (double)raw50);
    printf("  bridge order_stock                   %7lld  %7lld   %.2f\n", (long long)order50,
           (long long)order99, (double)order50 / (double)raw50);

    int tag = (int)(zclock_usecs() % 100000);
    double raw_rate = pipelined(raw, make_ping, NULL, pipeline);
    double ping_rate = pipelined(bridge, make_ping, NULL, pipeline);
    double order_rate = pipelined(bridge, make_order, &tag, pipeline);
    printf("pipelined (%d back to back)             per second   ratio to raw\n", pipeline);
    printf("  raw libzmq echo                      %10.0f   1.00\n", raw_rate);
    printf("  bridge ping                          %10.0f   %.2f\n", ping_rate,
           raw_rate > 0 ? ping_rate / raw_rate : 0);
    printf("  bridge order_stock                   %10.0f   %.2f\n", order_rate,
           raw_rate > 0 ? order_rate / raw_rate : 0);

    zframe_destroy(&ping_frame);
    free(t_raw);
    free(t_ping);
    free(t_order);
    zsock_destroy(&raw);
    zsock_destroy(&bridge);
    zactor_destroy(&echo);
    return 0;
}
