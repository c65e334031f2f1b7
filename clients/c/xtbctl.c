/*  xtbctl.c - command-line client of xtbridge, built on the C client library.

    xtbctl [--router EP] [--pub EP] [--json] [--timeout MS] [--account ID] [--account-type N]
           [--curve-cert FILE --curve-server FILE] CMD [ARGS]
    xtbctl keygen NAME --accounts LIST --role ROLE

    One request per invocation (watch streams pushes until Ctrl-C; replay asks page after
    page until the bridge has no more). Human-readable tables by default; with --json every
    result object is printed as one JSON line, so scripts can pipe it into jq.

    Exit status: 0 the call succeeded (for an order or a cancel: the broker accepted it),
    1 the bridge refused the call (an error reply: INVALID_ARGUMENT, RISK_REJECTED ...),
    2 usage error, 3 timeout / transport failure, 4 the broker rejected it (a junk order,
    order_stock -1, a failed cancel); the reason is printed.
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xtb_client.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_TRANSPORT = 3, EXIT_REJECTED = 4 };

#ifndef XTB_VERSION
#define XTB_VERSION "unknown"
#endif

typedef struct {
    const char *router;
    const char *pub; /* NULL = the endpoint(s) hello announces */
    const char *account;
    int32_t account_type; /* 0: leave requests' account_type as built (STOCK) */
    bool json;
    bool heartbeats; /* watch: show heartbeat pushes too */
    int timeout_ms;
    xtb_client_t *client;
} ctl_t;

static void usage(FILE *f) {
    fputs(
        "usage: xtbctl [--router EP] [--pub EP] [--json] [--timeout MS] [--account ID]\n"
        "              [--account-type N]\n"
        "              [--curve-cert FILE --curve-server FILE] CMD [ARGS]\n"
        "  defaults: --router $XTB_ROUTER or " XTB_DEFAULT_ROUTER
        ", --account $XTB_ACCOUNT or " XTB_DEFAULT_ACCOUNT ", --timeout 5000\n"
        "  --account-type N ($XTB_ACCOUNT_TYPE): the account's xtquant type (2 STOCK default,\n"
        "                   3 CREDIT, 1 FUTURE), e.g. --account 1208970161 --account-type 3 asset\n"
        "  --pub EP (or $XTB_PUB): PUB endpoint for watch instead of the one hello announces\n"
        "    (e.g. a proxy's XPUB side); an announced wildcard host (tcp://*:58611) becomes\n"
        "    the --router host\n"
        "  CURVE (a bridge run with --curve-secret): --curve-cert $XTB_CURVE_CERT (this\n"
        "  client's secret cert), --curve-server $XTB_CURVE_SERVER (the bridge's public\n"
        "  cert or its z85 key)\n"
        "commands:\n"
        "  hello                           bridge version, PUB endpoints, accounts, calls\n"
        "  ping [--count N]                round-trip time\n"
        "  order CODE buy|sell VOLUME PRICE [--type N] [--price-type N] [--async]\n"
        "        [--strategy S] [--remark R]   price-type default 11 (FIX_PRICE)\n"
        "  cancel ORDER_ID [--async]\n"
        "  cancel-sysid MARKET SYSID [--async]   market 0 = SH, 1 = SZ, 70 = BJ\n"
        "  orders [--cancelable]           today's orders\n"
        "  show-order ORDER_ID             one order\n"
        "  trades | positions | position CODE | asset\n"
        "  accounts | status               query_account_infos / query_account_status\n"
        "  watch [TOPIC_PREFIX] [--heartbeats]\n"
        "                                  print pushes until Ctrl-C (heartbeats only\n"
        "                                  with --heartbeats); lost pushes are replayed\n"
        "                                  and duplicates dropped, so nothing is missing\n"
        "  replay [TOPIC_PREFIX] [--after TOPIC=SEQ]... [--max-events N]\n"
        "                                  journaled pushes after the given seqs, in order\n"
        "  stats                           bridge counters\n"
        "  sim-price CODE PRICE [--liquidity N] [--pre-close P]\n"
        "  sim-tick [CODE] [PRICE]         run matching (optionally move the price)\n"
        "  sim-next-day                    settle T+1, expire open orders\n"
        "  sim-account-status STATUS       set the account status (pushes account_status)\n"
        "  kill-switch on|off [--cancel-open] [--all]\n"
        "                                  reject every new order of the account (--all:\n"
        "                                  of every account); --cancel-open also cancels\n"
        "                                  its open orders; off lifts it\n"
        "  keygen NAME --accounts LIST --role reader|trader|admin\n"
        "                                  write a client cert: NAME (public, goes into the\n"
        "                                  bridge's --clients DIR) and NAME_secret (keep it);\n"
        "                                  LIST is \"1000000365, 1000000366\" or \"*\"\n"
        "  call NAME [--arg FIELD=VALUE]... any request by its name in proto/xtbridge.proto\n"
        "                                  (Request.body), fields by dotted path, e.g.\n"
        "                                  call query_stock_orders --arg cancelable_only=true\n"
        "                                  (an unset account or account_id is --account)\n"
        "  --version | --help\n"
        "exit status: 0 done (an order or cancel the broker accepted), 1 the bridge refused\n"
        "  the call, 2 usage error, 3 timeout / transport, 4 the broker rejected it (junk\n"
        "  order, order_stock -1, failed cancel)\n",
        f);
}

static int usage_error(const char *fmt, const char *arg) {
    fputs("xtbctl: ", stderr);
    fprintf(stderr, fmt, arg ? arg : "");
    fputs("\n(run xtbctl --help for usage)\n", stderr);
    return EXIT_USAGE;
}

static bool parse_i64(const char *s, int64_t *out) {
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool parse_double(const char *s, double *out) {
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* Send, wait, report. Takes ownership of req. Returns an exit code; *reply set on 0 and
   on EXIT_REFUSED (bridge error) so callers may still look at it. */
/*  --account-type N: the request body's account, when it has one still of type 0, gets N
    (`--account 1208970161 --account-type 3 asset` asks the CREDIT account). */
static void apply_account_type(const ctl_t *c, Xtbridge__Request *req) {
    if (!c->account_type || !req || req->body_case == XTBRIDGE__REQUEST__BODY__NOT_SET)
        return;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&xtbridge__request__descriptor, req->body_case);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return;
    ProtobufCMessage *body = *(ProtobufCMessage **)((char *)req + f->offset);
    const ProtobufCFieldDescriptor *acc =
        body ? protobuf_c_message_descriptor_get_field_by_name(body->descriptor, "account") : NULL;
    if (!acc || acc->type != PROTOBUF_C_TYPE_MESSAGE || acc->label == PROTOBUF_C_LABEL_REPEATED)
        return;
    Xtbridge__Account *a = *(Xtbridge__Account **)((char *)body + acc->offset);
    if (a && a->account_type == 0)
        a->account_type = c->account_type;
}

static int call(ctl_t *c, Xtbridge__Request *req, Xtbridge__Reply **reply) {
    *reply = NULL;
    apply_account_type(c, req);
    int rc = xtb_client_call(c->client, req, c->timeout_ms, reply);
    xtb_request_destroy(&req);
    if (rc != 0) {
        fprintf(stderr, "xtbctl: %s (router %s)\n", xtb_client_error(c->client), c->router);
        return EXIT_TRANSPORT;
    }
    Xtbridge__Error *err = (*reply)->error;
    if (err && err->code != XTBRIDGE__ERROR_CODE__OK) {
        fprintf(stderr, "xtbctl: error %s: %s\n", xtb_error_code_name(err->code),
                err->message ? err->message : "");
        return EXIT_REFUSED;
    }
    return EXIT_OK;
}

static void print_json_line(const ProtobufCMessage *msg) {
    char *s = xtb_message_to_json(msg, false);
    puts(s ? s : "null");
    free(s);
}

static const char *or_num(const char *name, int32_t v, char *buf, size_t len) {
    if (name)
        return name;
    snprintf(buf, len, "%d", v);
    return buf;
}

static const char *side_name(int32_t order_type) {
    if (order_type == 23)
        return "BUY";
    if (order_type == 24)
        return "SELL";
    const char *n = xtb_order_type_name(order_type);
    return n ? n : "?";
}

static void fmt_time(int64_t t, char *buf, size_t len) {
    /* xtquant times are unix seconds. */
    if (t <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    strftime(buf, len, "%H:%M:%S", &tm);
}

/* ---- tables ------------------------------------------------------------------------ */

static void orders_header(void) {
    printf("%-12s %-14s %-10s %-4s %8s %10s %8s %10s %-22s %s\n", "ORDER_ID", "SYSID", "CODE",
           "SIDE", "VOLUME", "PRICE", "TRADED", "AVG_PRICE", "STATUS", "MSG");
}

static void order_row(const Xtbridge__XtOrder *o) {
    char sbuf[16];
    printf("%-12" PRId64 " %-14s %-10s %-4s %8" PRId64 " %10.3f %8" PRId64 " %10.3f %-22s %s\n",
           o->order_id, o->order_sysid, o->stock_code, side_name(o->order_type), o->order_volume,
           o->price, o->traded_volume, o->traded_price,
           or_num(xtb_order_status_name(o->order_status), o->order_status, sbuf, sizeof sbuf),
           o->status_msg);
}

static void trades_header(void) {
    printf("%-14s %-12s %-10s %-4s %8s %10s %14s %10s %s\n", "TRADED_ID", "ORDER_ID", "CODE",
           "SIDE", "VOLUME", "PRICE", "AMOUNT", "FEES", "TIME");
}

static void trade_row(const Xtbridge__XtTrade *t) {
    char tbuf[16];
    fmt_time(t->traded_time, tbuf, sizeof tbuf);
    printf("%-14s %-12" PRId64 " %-10s %-4s %8" PRId64 " %10.3f %14.2f %10.2f %s\n", t->traded_id,
           t->order_id, t->stock_code, side_name(t->order_type), t->traded_volume, t->traded_price,
           t->traded_amount, t->commission, tbuf);
}

static void positions_header(void) {
    printf("%-10s %8s %8s %8s %8s %10s %10s %10s %14s\n", "CODE", "VOLUME", "CAN_USE", "FROZEN",
           "YESTERDAY", "OPEN_PRICE", "AVG_PRICE", "LAST", "MARKET_VALUE");
}

static void position_row(const Xtbridge__XtPosition *p) {
    printf("%-10s %8" PRId64 " %8" PRId64 " %8" PRId64 " %8" PRId64
           " %10.3f %10.5f %10.3f %14.2f\n",
           p->stock_code, p->volume, p->can_use_volume, p->frozen_volume, p->yesterday_volume,
           p->open_price, p->avg_price, p->last_price, p->market_value);
}

/* ---- commands ------------------------------------------------------------------------ */

static int cmd_hello(ctl_t *c) {
    Xtbridge__Reply *reply = NULL;
    int rc = call(c, xtb_req_hello("xtbctl"), &reply);
    if (rc == EXIT_OK) {
        Xtbridge__HelloReply *h = reply->hello;
        if (!h) {
            fprintf(stderr, "xtbctl: reply has no hello result\n");
            rc = EXIT_REFUSED;
        } else if (c->json)
            print_json_line(&h->base);
        else {
            printf("bridge_version:   %s\n", h->bridge_version);
            printf("protocol_version: %u\n", h->protocol_version);
            printf("backend:          %s\n", h->backend);
            printf("instance_id:      %s\n", h->instance_id);
            printf("bridge_epoch:     %" PRIu64 "\n", h->bridge_epoch);
            printf("durability:       %s\n", h->durability);
            if (h->degraded)
                printf("degraded:         %s\n", h->degraded_reason);
            printf("heartbeat_ms:     %u\n", h->heartbeat_ms);
            for (size_t i = 0; i < h->n_pub_endpoints; i++) {
                /* a wildcard host means "the host you reached the ROUTER at": show it */
                char *ep = xtb_pub_endpoint_for(h->pub_endpoints[i], c->router);
                if (strcmp(ep, h->pub_endpoints[i]) != 0)
                    printf("pub_endpoint:     %s (connect to %s)\n", h->pub_endpoints[i], ep);
                else
                    printf("pub_endpoint:     %s\n", h->pub_endpoints[i]);
                free(ep);
            }
            if (h->n_pub_endpoints == 0)
                printf("pub_endpoint:     (none announced: the PUB connects out; use --pub)\n");
            for (size_t i = 0; i < h->n_accounts; i++)
                printf("account:          %s (type %d)\n", h->accounts[i]->account_id,
                       h->accounts[i]->account_type);
            printf("calls (%zu):", h->n_calls);
            for (size_t i = 0; i < h->n_calls; i++)
                printf(" %s", h->calls[i]);
            printf("\n");
        }
    }
    xtb_reply_destroy(&reply);
    return rc;
}

static int cmd_ping(ctl_t *c, int argc, char **argv) {
    int64_t count = 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            if (!parse_i64(argv[++i], &count) || count < 1)
                return usage_error("bad --count %s", argv[i]);
        } else
            return usage_error("ping: unexpected argument %s", argv[i]);
    }
    int64_t min = INT64_MAX, max = 0, sum = 0;
    for (int64_t n = 0; n < count; n++) {
        int64_t t0 = zclock_usecs();
        Xtbridge__Reply *reply = NULL;
        int rc = call(c, xtb_req_ping(t0 * 1000), &reply);
        int64_t rtt = zclock_usecs() - t0;
        if (rc != EXIT_OK) {
            xtb_reply_destroy(&reply);
            return rc;
        }
        min = rtt < min ? rtt : min;
        max = rtt > max ? rtt : max;
        sum += rtt;
        if (c->json)
            printf("{\"seq\":%" PRId64 ",\"rtt_us\":%" PRId64 ",\"bridge_time_ns\":%" PRId64 "}\n",
                   n + 1, rtt, reply->ping ? reply->ping->bridge_time_ns : 0);
        else
            printf("pong from %s: seq=%" PRId64 " rtt=%" PRId64 " us\n", c->router, n + 1, rtt);
        xtb_reply_destroy(&reply);
    }
    if (count > 1 && !c->json)
        printf("%" PRId64 " pings: min/avg/max = %" PRId64 "/%" PRId64 "/%" PRId64 " us\n", count,
               min, sum / count, max);
    return EXIT_OK;
}

static int cmd_order(ctl_t *c, int argc, char **argv) {
    const char *pos[4];
    int npos = 0;
    int64_t type = -1, price_type = 11;
    bool async = false;
    const char *strategy = "xtbctl", *remark = "";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--type") == 0 && i + 1 < argc) {
            if (!parse_i64(argv[++i], &type))
                return usage_error("bad --type %s", argv[i]);
        } else if (strcmp(argv[i], "--price-type") == 0 && i + 1 < argc) {
            if (!parse_i64(argv[++i], &price_type))
                return usage_error("bad --price-type %s", argv[i]);
        } else if (strcmp(argv[i], "--async") == 0)
            async = true;
        else if (strcmp(argv[i], "--strategy") == 0 && i + 1 < argc)
            strategy = argv[++i];
        else if (strcmp(argv[i], "--remark") == 0 && i + 1 < argc)
            remark = argv[++i];
        else if (npos < 4)
            pos[npos++] = argv[i];
        else
            return usage_error("order: unexpected argument %s", argv[i]);
    }
    if (npos != 4)
        return usage_error("usage: order CODE buy|sell VOLUME PRICE [--type N] ...%s", "");
    if (type < 0) {
        if (strcasecmp(pos[1], "buy") == 0)
            type = 23;
        else if (strcasecmp(pos[1], "sell") == 0)
            type = 24;
        else
            return usage_error("order: side must be buy or sell, not %s", pos[1]);
    }
    int64_t volume;
    double price;
    if (!parse_i64(pos[2], &volume))
        return usage_error("order: bad volume %s", pos[2]);
    if (!parse_double(pos[3], &price))
        return usage_error("order: bad price %s", pos[3]);

    Xtbridge__Reply *reply = NULL;
    int rc = call(c,
                  xtb_req_order(c->account, pos[0], (int32_t)type, volume, (int32_t)price_type,
                                price, strategy, remark, async),
                  &reply);
    if (rc != EXIT_OK) {
        xtb_reply_destroy(&reply);
        return rc;
    }
    if (async) {
        int64_t seq = reply->order_stock_async ? reply->order_stock_async->seq : -1;
        if (c->json)
            printf("{\"seq\":%" PRId64 "}\n", seq);
        else
            printf("seq %" PRId64 "\n", seq);
        xtb_reply_destroy(&reply);
        if (seq <= 0) {
            fprintf(stderr, "xtbctl: order_stock_async returned %" PRId64 "\n", seq);
            return EXIT_REFUSED;
        }
        return EXIT_OK;
    }
    int64_t order_id = reply->order_stock ? reply->order_stock->order_id : -1;
    xtb_reply_destroy(&reply);
    if (order_id <= 0) {
        if (c->json)
            printf("{\"order_id\":%" PRId64 "}\n", order_id);
        else
            printf("order_id %" PRId64 "\n", order_id);
        fprintf(stderr, "xtbctl: order rejected: order_stock returned %" PRId64 "\n", order_id);
        return EXIT_REJECTED;
    }
    /* Show the order's state: a junk order still has an id, the reason is its status_msg. */
    Xtbridge__Reply *q = NULL;
    const Xtbridge__XtOrder *o = NULL;
    if (call(c, xtb_req_query_order(c->account, order_id), &q) == EXIT_OK && q->query_stock_order &&
        q->query_stock_order->found)
        o = q->query_stock_order->order;
    if (c->json) {
        char *js = o ? xtb_message_to_json(&o->base, false) : NULL;
        printf("{\"order_id\":%" PRId64 ",\"order\":%s}\n", order_id, js ? js : "null");
        free(js);
    } else if (o) {
        char sbuf[16];
        printf("order_id %" PRId64 " %s%s%s\n", order_id,
               or_num(xtb_order_status_name(o->order_status), o->order_status, sbuf, sizeof sbuf),
               *o->status_msg ? ": " : "", o->status_msg);
    } else
        printf("order_id %" PRId64 "\n", order_id);
    /* a junk order has an id, but the broker did not take it */
    int result = o && o->order_status == 57 ? EXIT_REJECTED : EXIT_OK;
    xtb_reply_destroy(&q);
    return result;
}

static int print_cancel(ctl_t *c, Xtbridge__Reply *reply, bool async) {
    if (async) {
        Xtbridge__CancelAsyncReply *r = reply->cancel_order_stock_async
                                            ? reply->cancel_order_stock_async
                                            : reply->cancel_order_stock_sysid_async;
        int64_t seq = r ? r->seq : -1;
        printf(c->json ? "{\"seq\":%" PRId64 "}\n" : "seq %" PRId64 "\n", seq);
        return seq > 0 ? EXIT_OK : EXIT_REFUSED;
    }
    Xtbridge__CancelReply *r =
        reply->cancel_order_stock ? reply->cancel_order_stock : reply->cancel_order_stock_sysid;
    int result = r ? r->result : -1;
    printf(c->json ? "{\"result\":%d}\n" : "cancel result %d\n", result);
    if (result != 0) {
        fprintf(stderr,
                "xtbctl: cancel rejected by the broker (%d; the cancel_error push says why)\n",
                result);
        return EXIT_REJECTED;
    }
    return EXIT_OK;
}

static int cmd_cancel(ctl_t *c, int argc, char **argv, bool sysid) {
    const char *pos[2];
    int npos = 0;
    bool async = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--async") == 0)
            async = true;
        else if (npos < 2)
            pos[npos++] = argv[i];
        else
            return usage_error("cancel: unexpected argument %s", argv[i]);
    }
    Xtbridge__Request *req;
    if (sysid) {
        int64_t market;
        if (npos != 2 || !parse_i64(pos[0], &market))
            return usage_error("usage: cancel-sysid MARKET SYSID [--async]%s", "");
        req = xtb_req_cancel_sysid(c->account, (int32_t)market, pos[1], async);
    } else {
        int64_t id;
        if (npos != 1 || !parse_i64(pos[0], &id))
            return usage_error("usage: cancel ORDER_ID [--async]%s", "");
        req = xtb_req_cancel(c->account, id, async);
    }
    Xtbridge__Reply *reply = NULL;
    int rc = call(c, req, &reply);
    if (rc == EXIT_OK)
        rc = print_cancel(c, reply, async);
    xtb_reply_destroy(&reply);
    return rc;
}

static int cmd_orders(ctl_t *c, int argc, char **argv) {
    bool cancelable = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--cancelable") == 0)
            cancelable = true;
        else
            return usage_error("orders: unexpected argument %s", argv[i]);
    }
    Xtbridge__Reply *reply = NULL;
    int rc = call(c, xtb_req_query_orders(c->account, cancelable), &reply);
    if (rc == EXIT_OK && reply->query_stock_orders) {
        Xtbridge__OrdersReply *r = reply->query_stock_orders;
        if (!c->json)
            orders_header();
        for (size_t i = 0; i < r->n_orders; i++) {
            if (c->json)
                print_json_line(&r->orders[i]->base);
            else
                order_row(r->orders[i]);
        }
    }
    xtb_reply_destroy(&reply);
    return rc;
}

static int cmd_show_order(ctl_t *c, int argc, char **argv) {
    int64_t id;
    if (argc != 1 || !parse_i64(argv[0], &id))
        return usage_error("usage: show-order ORDER_ID%s", "");
    Xtbridge__Reply *reply = NULL;
    int rc = call(c, xtb_req_query_order(c->account, id), &reply);
    if (rc == EXIT_OK) {
        Xtbridge__OrderReply *r = reply->query_stock_order;
        if (!r || !r->found || !r->order) {
            if (c->json)
                puts("null");
            fprintf(stderr, "xtbctl: no order %" PRId64 "\n", id);
            rc = EXIT_REFUSED;
        } else if (c->json)
            print_json_line(&r->order->base);
        else {
            orders_header();
            order_row(r->order);
        }
    }
    xtb_reply_destroy(&reply);
    return rc;
}

static int cmd_trades(ctl_t *c) {
    Xtbridge__Reply *reply = NULL;
    int rc =
        call(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES, c->account), &reply);
    if (rc == EXIT_OK && reply->query_stock_trades) {
        Xtbridge__TradesReply *r = reply->query_stock_trades;
        if (!c->json)
            trades_header();
        for (size_t i = 0; i < r->n_trades; i++) {
            if (c->json)
                print_json_line(&r->trades[i]->base);
            else
                trade_row(r->trades[i]);
        }
    }
    xtb_reply_destroy(&reply);
    return rc;
}

static int cmd_positions(ctl_t *c) {
    Xtbridge__Reply *reply = NULL;
    int rc =
        call(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITIONS, c->account), &reply);
    if (rc == EXIT_OK && reply->query_stock_positions) {
        Xtbridge__PositionsReply *r = reply->query_stock_positions;
        if (!c->json)
            positions_header();
        for (size_t i = 0; i < r->n_positions; i++) {
            if (c->json)
                print_json_line(&r->positions[i]->base);
            else
                position_row(r->positions[i]);
        }
    }
    xtb_reply_destroy(&reply);
    return rc;
}

static int cmd_position(ctl_t *c, int argc, char **argv) {
    if (argc != 1)
        return usage_error("usage: position CODE%s", "");
    Xtbridge__Reply *reply = NULL;
    int rc = call(c, xtb_req_query_position(c->account, argv[0]), &reply);
    if (rc == EXIT_OK) {
        Xtbridge__PositionReply *r = reply->query_stock_position;
        if (!r || !r->found || !r->position) {
            if (c->json)
                puts("null");
            else
                printf("no position in %s\n", argv[0]);
        } else if (c->json)
            print_json_line(&r->position->base);
        else {
            positions_header();
            position_row(r->position);
        }
    }
    xtb_reply_destroy(&reply);
    return rc;
}

static int cmd_asset(ctl_t *c) {
    Xtbridge__Reply *reply = NULL;
    int rc =
        call(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET, c->account), &reply);
    if (rc == EXIT_OK) {
        Xtbridge__AssetReply *r = reply->query_stock_asset;
        if (!r || !r->found || !r->asset) {
            if (c->json)
                puts("null");
            fprintf(stderr, "xtbctl: no asset for account %s\n", c->account);
            rc = EXIT_REFUSED;
        } else if (c->json)
            print_json_line(&r->asset->base);
        else {
            Xtbridge__XtAsset *a = r->asset;
            printf("account:      %s (type %d)\n", a->account_id, a->account_type);
            printf("cash:         %.2f\n", a->cash);
            printf("frozen_cash:  %.2f\n", a->frozen_cash);
            printf("market_value: %.2f\n", a->market_value);
            printf("total_asset:  %.2f\n", a->total_asset);
        }
    }
    xtb_reply_destroy(&reply);
    return rc;
}

static int cmd_accounts(ctl_t *c) {
    Xtbridge__Reply *reply = NULL;
    int rc = call(c, xtb_req_noargs(XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_INFOS), &reply);
    if (rc == EXIT_OK && reply->query_account_infos) {
        Xtbridge__AccountInfosReply *r = reply->query_account_infos;
        if (!c->json)
            printf("%-16s %-5s %-7s %-9s %-15s %s\n", "ACCOUNT", "TYPE", "BROKER", "PLATFORM",
                   "CLASSIFICATION", "LOGIN");
        for (size_t i = 0; i < r->n_accounts; i++) {
            Xtbridge__XtAccountInfo *a = r->accounts[i];
            if (c->json)
                print_json_line(&a->base);
            else
                printf("%-16s %-5d %-7d %-9d %-15d %d\n", a->account_id, a->account_type,
                       a->broker_type, a->platform_id, a->account_classification, a->login_status);
        }
    }
    xtb_reply_destroy(&reply);
    return rc;
}

static const char *account_status_name(int32_t s) {
    static const char *names[] = {"INVALID",    "OK",           "WAITING_LOGIN", "STATUSING",
                                  "FAIL",       "INITING",      "CORRECTING",    "CLOSED",
                                  "ASSIS_FAIL", "DISABLEBYSYS", "DISABLEBYUSER"};
    return s >= -1 && s <= 9 ? names[s + 1] : "?";
}

static int cmd_status(ctl_t *c) {
    Xtbridge__Reply *reply = NULL;
    int rc = call(c, xtb_req_noargs(XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_STATUS), &reply);
    if (rc == EXIT_OK && reply->query_account_status) {
        Xtbridge__AccountStatusReply *r = reply->query_account_status;
        if (!c->json)
            printf("%-16s %-5s %s\n", "ACCOUNT", "TYPE", "STATUS");
        for (size_t i = 0; i < r->n_statuses; i++) {
            Xtbridge__XtAccountStatus *s = r->statuses[i];
            if (c->json)
                print_json_line(&s->base);
            else
                printf("%-16s %-5d %d %s\n", s->account_id, s->account_type, s->status,
                       account_status_name(s->status));
        }
    }
    xtb_reply_destroy(&reply);
    return rc;
}

static int cmd_stats(ctl_t *c) {
    Xtbridge__Reply *reply = NULL;
    int rc = call(c, xtb_req_stats(), &reply);
    if (rc == EXIT_OK && reply->stats) {
        Xtbridge__StatsReply *s = reply->stats;
        if (c->json)
            print_json_line(&s->base);
        else {
            printf("requests:          %" PRIu64 "\n", s->requests);
            printf("replies:           %" PRIu64 "\n", s->replies);
            printf("malformed:         %" PRIu64 "\n", s->malformed);
            printf("dropped:           %" PRIu64 "\n", s->dropped);
            printf("events_published:  %" PRIu64 "\n", s->events_published);
            printf("idempotent_hits:   %" PRIu64 "\n", s->idempotent_hits);
            printf("uptime_ms:         %" PRIu64 "\n", s->uptime_ms);
            printf("durability:        %s\n", s->durability);
            printf("commits:           %" PRIu64 "\n", s->commits);
            printf("commit_failures:   %" PRIu64 "\n", s->commit_failures);
            printf("journal_events:    %" PRIu64 "\n", s->journal_events);
            printf("pruned_events:     %" PRIu64 "\n", s->pruned_events);
            printf("degraded:          %s%s\n", s->degraded ? "yes: " : "no",
                   s->degraded ? s->degraded_reason : "");
            if (s->jetstream)
                printf("jetstream:         %s, %" PRIu64 " published, %" PRIu64 " failures%s%s\n",
                       s->jetstream->connected ? "connected" : "NOT connected",
                       s->jetstream->published, s->jetstream->failures,
                       *s->jetstream->last_error ? "; last error: " : "", s->jetstream->last_error);
            for (size_t i = 0; i < s->n_calls; i++)
                printf("call %-28s %" PRIu64 "\n", s->calls[i]->key, s->calls[i]->value);
        }
    }
    xtb_reply_destroy(&reply);
    return rc;
}

/* One push as a line: JSON, or "HH:MM:SS.mmm topic seq=N body k=v ...". */
static void print_event(ctl_t *c, const char *topic, const Xtbridge__Event *ev) {
    if (c->json)
        print_json_line(&ev->base);
    else {
        char tbuf[32];
        time_t secs = (time_t)(ev->time_ns / 1000000000);
        struct tm tm;
        localtime_r(&secs, &tm);
        strftime(tbuf, sizeof tbuf, "%H:%M:%S", &tm);
        const char *body = xtb_event_body_name(ev->body_case);
        /* The body is the single set oneof member; print its fields as k=v. */
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(
            &xtbridge__event__descriptor, (unsigned)ev->body_case);
        char *text = NULL;
        if (fd)
            text = xtb_message_to_text(
                *(const ProtobufCMessage *const *)((const char *)ev + fd->offset));
        printf("%s.%03d %s seq=%" PRIu64 " %s %s\n", tbuf, (int)((ev->time_ns / 1000000) % 1000),
               topic, ev->seq, body ? body : "?", text ? text : "");
        free(text);
    }
    fflush(stdout);
}

static int cmd_watch(ctl_t *c, int argc, char **argv) {
    const char *prefix = "";
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--heartbeats") == 0)
            c->heartbeats = true;
        else if (npos++ == 0)
            prefix = argv[i];
        else
            return usage_error("usage: watch [TOPIC_PREFIX] [--heartbeats]%s", "");
    }
    if (xtb_client_subscribe(c->client, prefix) != 0) {
        fprintf(stderr, "xtbctl: subscribe: %s\n", xtb_client_error(c->client));
        return xtb_client_errkind(c->client) == XTB_CLIENT_OK ? EXIT_REFUSED : EXIT_TRANSPORT;
    }
    if (!c->json)
        fprintf(stderr, "watching \"%s\" on %s (Ctrl-C to stop)\n", prefix,
                xtb_client_pub_endpoint(c->client));
    while (true) {
        char *topic = NULL;
        Xtbridge__Event *ev = NULL;
        if (xtb_client_recv_event(c->client, -1, &topic, &ev) != 0)
            break; /* Ctrl-C */
        if (c->heartbeats || ev->body_case != XTBRIDGE__EVENT__BODY_HEARTBEAT)
            print_event(c, topic, ev);
        free(topic);
        xtb_event_destroy(&ev);
    }
    /* what the client's recovery did, so a user knows the output has no hole */
    xtb_client_recovery_t rec;
    xtb_client_recovery(c->client, &rec);
    if (!c->json)
        fprintf(stderr,
                "recovered %" PRIu64 " gaps (%" PRIu64 " events replayed, %" PRIu64
                " missing), %" PRIu64 " duplicates dropped, %" PRIu64 " catch-ups\n",
                rec.gaps, rec.replayed_events, rec.unrecovered, rec.duplicates, rec.catch_ups);
    return EXIT_OK;
}

static int replay_print(const Xtbridge__Event *ev, void *arg) {
    print_event((ctl_t *)arg, ev->topic ? ev->topic : "", ev);
    return zsys_interrupted ? 1 : 0; /* Ctrl-C: ask for no further page */
}

/* The bridge answers one page per request; xtb_client_replay_max asks for the next pages
   itself, so the output is every journaled push once, in publish order. */
static int cmd_replay(ctl_t *c, int argc, char **argv) {
    const char *prefix = NULL;
    const char **topics = (const char **)calloc((size_t)argc + 1, sizeof *topics);
    uint64_t *seqs = (uint64_t *)calloc((size_t)argc + 1, sizeof *seqs);
    size_t n = 0;
    int64_t max_events = 0;
    int rc = EXIT_OK;
    for (int i = 0; i < argc && rc == EXIT_OK; i++) {
        int64_t v;
        if (strcmp(argv[i], "--after") == 0 && i + 1 < argc) {
            char *arg = argv[++i];
            char *eq = strrchr(arg, '=');
            if (!eq || eq == arg || !parse_i64(eq + 1, &v) || v < 0)
                rc = usage_error("bad --after %s (want TOPIC=SEQ)", arg);
            else {
                *eq = '\0';
                topics[n] = arg;
                seqs[n++] = (uint64_t)v;
            }
        } else if (strcmp(argv[i], "--max-events") == 0 && i + 1 < argc) {
            if (!parse_i64(argv[++i], &max_events) || max_events < 0 || max_events > UINT32_MAX)
                rc = usage_error("bad --max-events %s", argv[i]);
        } else if (!prefix && argv[i][0] != '-')
            prefix = argv[i];
        else
            rc = usage_error(
                "usage: replay [TOPIC_PREFIX] [--after TOPIC=SEQ]... [--max-events N]%s", "");
    }
    if (rc == EXIT_OK) {
        int count = xtb_client_replay_max(c->client, prefix ? prefix : "", topics, seqs, n,
                                          (uint32_t)max_events, c->timeout_ms, replay_print, c);
        size_t requests = xtb_client_replay_requests(c->client);
        if (count < 0) {
            fprintf(stderr, "xtbctl: replay: %s\n", xtb_client_error(c->client));
            /* OK: the bridge refused; INVALID: it answered nonsense; else no answer. */
            xtb_client_errkind_t kind = xtb_client_errkind(c->client);
            rc =
                kind == XTB_CLIENT_OK || kind == XTB_CLIENT_INVALID ? EXIT_REFUSED : EXIT_TRANSPORT;
        } else if (!c->json)
            fprintf(stderr, "%d events in %zu replay requests\n", count, requests);
    }
    free(topics);
    free(seqs);
    return rc;
}

static int print_sim(ctl_t *c, Xtbridge__Request *req) {
    Xtbridge__Reply *reply = NULL;
    int rc = call(c, req, &reply);
    if (rc == EXIT_OK) {
        /* Every sim_* result is a SimReply at the same union offset. */
        bool is_sim = reply->result_case >= XTBRIDGE__REPLY__RESULT_SIM_SET_PRICE &&
                      reply->result_case <= XTBRIDGE__REPLY__RESULT_SIM_SET_SESSION;
        Xtbridge__SimReply *s = is_sim ? reply->sim_set_price : NULL;
        const char *m = s && s->message ? s->message : "";
        if (c->json) {
            char *js = s ? xtb_message_to_json(&s->base, false) : NULL;
            puts(js ? js : "{}");
            free(js);
        } else
            printf("%s\n", *m ? m : "ok");
    }
    xtb_reply_destroy(&reply);
    return rc;
}

static int cmd_sim_price(ctl_t *c, int argc, char **argv) {
    const char *pos[2];
    int npos = 0;
    int64_t liquidity = -1;
    double pre_close = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--liquidity") == 0 && i + 1 < argc) {
            if (!parse_i64(argv[++i], &liquidity))
                return usage_error("bad --liquidity %s", argv[i]);
        } else if (strcmp(argv[i], "--pre-close") == 0 && i + 1 < argc) {
            if (!parse_double(argv[++i], &pre_close))
                return usage_error("bad --pre-close %s", argv[i]);
        } else if (npos < 2)
            pos[npos++] = argv[i];
        else
            return usage_error("sim-price: unexpected argument %s", argv[i]);
    }
    double price;
    if (npos != 2 || !parse_double(pos[1], &price))
        return usage_error("usage: sim-price CODE PRICE [--liquidity N] [--pre-close P]%s", "");
    return print_sim(c, xtb_req_sim_set_price(pos[0], price, pre_close, liquidity));
}

static int cmd_sim_tick(ctl_t *c, int argc, char **argv) {
    double price = 0;
    if (argc > 2 || (argc == 2 && !parse_double(argv[1], &price)))
        return usage_error("usage: sim-tick [CODE] [PRICE]%s", "");
    return print_sim(c, xtb_req_sim_tick(argc >= 1 ? argv[0] : "", price));
}

static int cmd_sim_account_status(ctl_t *c, int argc, char **argv) {
    int64_t status;
    if (argc != 1 || !parse_i64(argv[0], &status))
        return usage_error("usage: sim-account-status STATUS%s", "");
    return print_sim(c, xtb_req_sim_set_account_status(c->account, (int32_t)status));
}

/* ---- call NAME --arg k=v: any request, built by reflection ------------------------ */

/* A zeroed, initialised message of `d` on the heap (freed with the request tree). */
static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d) {
    ProtobufCMessage *m = (ProtobufCMessage *)calloc(1, d->sizeof_message);
    if (m)
        d->message_init(m);
    return m;
}

/* Mark a field as set: the oneof case or the proto3 `optional` has_ flag. */
static void mark_set(ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd) {
    if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)((char *)m + fd->quantifier_offset) = fd->id;
    else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->type != PROTOBUF_C_TYPE_MESSAGE &&
             fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_BYTES)
        *(protobuf_c_boolean *)((char *)m + fd->quantifier_offset) = 1;
}

/* Parse `text` as a scalar of fd's type into `out` (at most 8 bytes, or a char *). */
static int parse_scalar(const ProtobufCFieldDescriptor *fd, const char *text, void *out) {
    int64_t i;
    double d;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (!parse_i64(text, &i) || i < INT32_MIN || i > INT32_MAX)
            return -1;
        *(int32_t *)out = (int32_t)i;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (!parse_i64(text, &i) || i < 0 || i > UINT32_MAX)
            return -1;
        *(uint32_t *)out = (uint32_t)i;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (!parse_i64(text, &i))
            return -1;
        *(int64_t *)out = i;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (!parse_i64(text, &i) || i < 0)
            return -1;
        *(uint64_t *)out = (uint64_t)i;
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!parse_double(text, &d))
            return -1;
        *(double *)out = d;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        if (!parse_double(text, &d))
            return -1;
        *(float *)out = (float)d;
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
            *(protobuf_c_boolean *)out = 1;
        else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
            *(protobuf_c_boolean *)out = 0;
        else
            return -1;
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = (const ProtobufCEnumDescriptor *)fd->descriptor;
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(ed, text);
        if (v) {
            *(int *)out = v->value;
            return 0;
        }
        if (!parse_i64(text, &i) || i < INT32_MIN || i > INT32_MAX)
            return -1;
        *(int *)out = (int)i;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING:
        *(char **)out = strdup(text);
        return 0;
    default:
        return -1; /* bytes, messages: not from the command line */
    }
}

/*  Set `path` (dotted field names, e.g. account.account_id) of `m` to `value`. A repeated
    scalar gets one more element per --arg. 0, or -1 with a message on stderr. */
static int set_path(ProtobufCMessage *m, const char *path, const char *value) {
    char name[128];
    const char *dot = strchr(path, '.');
    size_t len = dot ? (size_t)(dot - path) : strlen(path);
    if (len == 0 || len >= sizeof name) {
        fprintf(stderr, "xtbctl: call: bad field path '%s'\n", path);
        return -1;
    }
    memcpy(name, path, len);
    name[len] = '\0';
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    if (!fd) {
        fprintf(stderr, "xtbctl: call: %s has no field '%s' (fields:", m->descriptor->name, name);
        for (unsigned i = 0; i < m->descriptor->n_fields; i++)
            fprintf(stderr, " %s", m->descriptor->fields[i].name);
        fputs(")\n", stderr);
        return -1;
    }
    char *slot = (char *)m + fd->offset;
    if (dot) {
        if (fd->type != PROTOBUF_C_TYPE_MESSAGE || fd->label == PROTOBUF_C_LABEL_REPEATED) {
            fprintf(stderr, "xtbctl: call: %s.%s is not a single message\n", m->descriptor->name,
                    name);
            return -1;
        }
        ProtobufCMessage **sub = (ProtobufCMessage **)slot;
        if (!*sub) {
            *sub = new_message((const ProtobufCMessageDescriptor *)fd->descriptor);
            mark_set(m, fd);
        }
        return set_path(*sub, dot + 1, value);
    }
    if (fd->type == PROTOBUF_C_TYPE_MESSAGE || fd->type == PROTOBUF_C_TYPE_BYTES) {
        fprintf(stderr, "xtbctl: call: %s.%s is a %s; set its fields (%s.FIELD=...)\n",
                m->descriptor->name, name, fd->type == PROTOBUF_C_TYPE_BYTES ? "bytes" : "message",
                name);
        return -1;
    }
    unsigned char buf[16] = {0};
    if (parse_scalar(fd, value, buf) != 0) {
        fprintf(stderr, "xtbctl: call: bad value '%s' for %s.%s\n", value, m->descriptor->name,
                name);
        return -1;
    }
    size_t size = xtb_field_element_size(fd->type);
    if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t *n = (size_t *)((char *)m + fd->quantifier_offset);
        void **arr = (void **)slot;
        void *grown = realloc(*arr, (*n + 1) * size);
        if (!grown)
            return -1;
        *arr = grown;
        memcpy((char *)grown + *n * size, buf, size);
        (*n)++;
        return 0;
    }
    if (fd->type == PROTOBUF_C_TYPE_STRING) {
        char *old = *(char **)slot;
        if (old && old != (const char *)fd->default_value && old != protobuf_c_empty_string)
            free(old);
    }
    memcpy(slot, buf, size);
    mark_set(m, fd);
    return 0;
}

/*  xtbctl call NAME [--arg k=v]...: a Request whose body is NAME (the oneof member's name in
    proto/xtbridge.proto), fields set by dotted path; a body with an unset `account` gets
    --account. Prints the reply's result. */
static int cmd_call(ctl_t *c, int argc, char **argv) {
    if (argc < 1)
        return usage_error("usage: call NAME [--arg FIELD=VALUE]...%s", "");
    const ProtobufCFieldDescriptor *body =
        protobuf_c_message_descriptor_get_field_by_name(&xtbridge__request__descriptor, argv[0]);
    if (!body || !(body->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
        body->type != PROTOBUF_C_TYPE_MESSAGE)
        return usage_error("call: '%s' is not a request name (see proto/xtbridge.proto, "
                           "Request.body)",
                           argv[0]);
    Xtbridge__Request *req = (Xtbridge__Request *)new_message(&xtbridge__request__descriptor);
    ProtobufCMessage *msg = new_message((const ProtobufCMessageDescriptor *)body->descriptor);
    *(ProtobufCMessage **)((char *)req + body->offset) = msg;
    mark_set(&req->base, body);
    for (int i = 1; i < argc; i++) {
        const char *kv = NULL;
        if (strcmp(argv[i], "--arg") == 0 && i + 1 < argc)
            kv = argv[++i];
        else if (strncmp(argv[i], "--arg=", 6) == 0)
            kv = argv[i] + 6;
        const char *eq = kv ? strchr(kv, '=') : NULL;
        if (!eq) {
            xtb_request_destroy(&req);
            return usage_error("call: want --arg FIELD=VALUE, not '%s'", argv[i]);
        }
        char path[256];
        snprintf(path, sizeof path, "%.*s", (int)(eq - kv), kv);
        if (set_path(msg, path, eq + 1) != 0) {
            xtb_request_destroy(&req);
            return EXIT_USAGE;
        }
    }
    const ProtobufCFieldDescriptor *acc =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, "account");
    /* the default account fills a missing account, or one given only its type
       (--arg account.account_type=1 for the FUTURE account named by --account) */
    if (acc && acc->type == PROTOBUF_C_TYPE_MESSAGE && acc->label != PROTOBUF_C_LABEL_REPEATED) {
        Xtbridge__Account *given = *(Xtbridge__Account **)((char *)msg + acc->offset);
        if (!given || !given->account_id || !*given->account_id)
            set_path(msg, "account.account_id", c->account);
    }

    Xtbridge__Reply *reply = NULL;
    int rc = call(c, req, &reply);
    if (rc == EXIT_OK) {
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(
            &xtbridge__reply__descriptor, (unsigned)reply->result_case);
        const ProtobufCMessage *result =
            fd && fd->type == PROTOBUF_C_TYPE_MESSAGE
                ? *(const ProtobufCMessage *const *)((const char *)reply + fd->offset)
                : NULL;
        if (c->json)
            print_json_line(result ? result : &reply->base);
        else {
            char *text = xtb_message_to_text(result ? result : &reply->base);
            printf("%s%s%s\n", fd ? fd->name : "reply", text && *text ? " " : "", text ? text : "");
            free(text);
        }
    }
    xtb_reply_destroy(&reply);
    return rc;
}

static int cmd_kill_switch(ctl_t *c, int argc, char **argv) {
    bool cancel_open = false, all = false;
    int engaged = -1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--cancel-open") == 0)
            cancel_open = true;
        else if (strcmp(argv[i], "--all") == 0)
            all = true;
        else if (engaged < 0 && (strcmp(argv[i], "on") == 0 || strcmp(argv[i], "off") == 0))
            engaged = strcmp(argv[i], "on") == 0;
        else
            return usage_error("kill-switch: unexpected argument %s", argv[i]);
    }
    if (engaged < 0)
        return usage_error("usage: kill-switch on|off [--cancel-open] [--all]%s", "");
    Xtbridge__Reply *reply = NULL;
    int rc =
        call(c, xtb_req_risk_kill_switch(all ? NULL : c->account, engaged, cancel_open), &reply);
    if (rc == EXIT_OK && reply->result_case == XTBRIDGE__REPLY__RESULT_RISK_KILL_SWITCH) {
        Xtbridge__RiskKillSwitchReply *k = reply->risk_kill_switch;
        if (c->json) {
            char *js = xtb_message_to_json(&k->base, false);
            puts(js ? js : "{}");
            free(js);
        } else {
            printf("kill switch %s for %s\n", engaged ? "engaged" : "lifted",
                   all ? "all accounts" : c->account);
            printf("all accounts:     %s\n", k->all_engaged ? "engaged" : "off");
            printf("engaged accounts:");
            for (size_t i = 0; i < k->n_engaged_accounts; i++)
                printf(" %s", k->engaged_accounts[i]);
            printf("%s\n", k->n_engaged_accounts ? "" : " none");
            if (cancel_open)
                printf("cancels sent:     %d (%d failed)\n", k->cancels_sent, k->cancels_failed);
        }
    }
    xtb_reply_destroy(&reply);
    return rc;
}

/* keygen NAME --accounts LIST --role ROLE: a czmq cert pair whose metadata the bridge
   reads (see brg_auth.h). Never overwrites: a lost secret must not be replaced silently. */
static int cmd_keygen(int argc, char **argv) {
    const char *name = NULL, *accounts = NULL, *role = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--accounts") == 0 && i + 1 < argc)
            accounts = argv[++i];
        else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            role = argv[++i];
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            return usage_error("keygen: unexpected argument %s", argv[i]);
    }
    if (!name || !accounts || !role)
        return usage_error("usage: keygen NAME --accounts LIST --role reader|trader|admin%s", "");
    if (strcmp(role, "reader") && strcmp(role, "trader") && strcmp(role, "admin"))
        return usage_error("keygen: role must be reader, trader or admin, not '%s'", role);
    if (!*accounts || strspn(accounts, " ,") == strlen(accounts))
        return usage_error("keygen: --accounts needs account ids (a comma list) or '*'%s", "");
    char secret[4096];
    snprintf(secret, sizeof secret, "%s_secret", name);
    if (zsys_file_exists(name) || zsys_file_exists(secret)) {
        fprintf(stderr, "xtbctl: keygen: %s or %s exists; not overwriting a key\n", name, secret);
        return EXIT_USAGE;
    }
    zcert_t *cert = zcert_new();
    zcert_set_meta(cert, "accounts", "%s", accounts);
    zcert_set_meta(cert, "role", "%s", role);
    zcert_set_meta(cert, "created-by", "xtbctl keygen");
    int rc = zcert_save(cert, name);
    if (rc == 0)
        printf("public key %s\nwrote %s (copy it into the bridge's --clients dir, then SIGHUP the "
               "bridge)\nwrote %s (the client's: keep it private)\n",
               zcert_public_txt(cert), name, secret);
    else
        fprintf(stderr, "xtbctl: keygen: cannot write %s: %s\n", name, strerror(errno));
    zcert_destroy(&cert);
    return rc == 0 ? EXIT_OK : EXIT_TRANSPORT;
}

static const char *env_or(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

int main(int argc, char **argv) {
    ctl_t ctl = {0};
    ctl.router =
        getenv("XTB_ROUTER") && *getenv("XTB_ROUTER") ? getenv("XTB_ROUTER") : XTB_DEFAULT_ROUTER;
    ctl.pub = getenv("XTB_PUB") && *getenv("XTB_PUB") ? getenv("XTB_PUB") : NULL;
    ctl.account = getenv("XTB_ACCOUNT") && *getenv("XTB_ACCOUNT") ? getenv("XTB_ACCOUNT")
                                                                  : XTB_DEFAULT_ACCOUNT;
    ctl.timeout_ms = 5000;
    {
        int64_t t = 0;
        const char *env = getenv("XTB_ACCOUNT_TYPE");
        if (env && *env && (!parse_i64(env, &t) || t < 0 || t > 100))
            return usage_error("bad XTB_ACCOUNT_TYPE %s", env);
        ctl.account_type = (int32_t)t;
    }
    const char *curve_cert = env_or("XTB_CURVE_CERT", NULL);
    const char *curve_server = env_or("XTB_CURVE_SERVER", NULL);

    /* Global options may come before or after the command; the rest is the command line. */
    char **rest = (char **)calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--router") == 0 && i + 1 < argc)
            ctl.router = argv[++i];
        else if (strcmp(a, "--pub") == 0 && i + 1 < argc)
            ctl.pub = argv[++i];
        else if (strcmp(a, "--account") == 0 && i + 1 < argc)
            ctl.account = argv[++i];
        else if (strcmp(a, "--account-type") == 0 && i + 1 < argc) {
            int64_t t;
            if (!parse_i64(argv[++i], &t) || t < 0 || t > 100)
                return usage_error("bad --account-type %s", argv[i]);
            ctl.account_type = (int32_t)t;
        } else if (strcmp(a, "--json") == 0)
            ctl.json = true;
        else if (strcmp(a, "--curve-cert") == 0 && i + 1 < argc)
            curve_cert = argv[++i];
        else if (strcmp(a, "--curve-server") == 0 && i + 1 < argc)
            curve_server = argv[++i];
        else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
            int64_t t;
            if (!parse_i64(argv[++i], &t) || t < 0 || t > INT32_MAX) {
                free(rest);
                return usage_error("bad --timeout %s", argv[i]);
            }
            ctl.timeout_ms = (int)t;
        } else if (strcmp(a, "--version") == 0) {
            printf("xtbctl %s (protocol %d)\n", XTB_VERSION, XTB_PROTOCOL_VERSION);
            free(rest);
            return EXIT_OK;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            free(rest);
            return EXIT_OK;
        } else
            rest[nrest++] = argv[i];
    }
    if (nrest == 0) {
        usage(stderr);
        free(rest);
        return EXIT_USAGE;
    }
    const char *cmd = rest[0];
    int cargc = nrest - 1;
    char **cargv = rest + 1;
    if (strcmp(cmd, "keygen") == 0) {
        int krc = cmd_keygen(cargc, cargv);
        free(rest);
        return krc;
    }
    if (!curve_cert != !curve_server) {
        free(rest);
        return usage_error("--curve-cert and --curve-server go together (this client's secret "
                           "cert and the bridge's public cert)%s",
                           "");
    }

    /* Let Ctrl-C interrupt blocking waits (czmq's handler sets zsys_interrupted). */
    zsys_init();
    zsys_set_logstream(NULL);
    xtb_client_options_t opts = {.client_name = "xtbctl",
                                 .pub_endpoint = ctl.pub,
                                 .curve_cert = curve_cert,
                                 .curve_server = curve_server};
    ctl.client = xtb_client_new(ctl.router, &opts);
    if (!ctl.client) {
        if (curve_cert)
            fprintf(stderr,
                    "xtbctl: cannot use router endpoint %s with CURVE cert %s and server key %s "
                    "(unreadable, or no secret key in the cert)\n",
                    ctl.router, curve_cert, curve_server);
        else
            fprintf(stderr, "xtbctl: cannot use router endpoint %s\n", ctl.router);
        free(rest);
        return EXIT_TRANSPORT;
    }

    int rc;
    if (strcmp(cmd, "hello") == 0 && cargc == 0)
        rc = cmd_hello(&ctl);
    else if (strcmp(cmd, "ping") == 0)
        rc = cmd_ping(&ctl, cargc, cargv);
    else if (strcmp(cmd, "order") == 0)
        rc = cmd_order(&ctl, cargc, cargv);
    else if (strcmp(cmd, "cancel") == 0)
        rc = cmd_cancel(&ctl, cargc, cargv, false);
    else if (strcmp(cmd, "cancel-sysid") == 0)
        rc = cmd_cancel(&ctl, cargc, cargv, true);
    else if (strcmp(cmd, "orders") == 0)
        rc = cmd_orders(&ctl, cargc, cargv);
    else if (strcmp(cmd, "show-order") == 0)
        rc = cmd_show_order(&ctl, cargc, cargv);
    else if (strcmp(cmd, "trades") == 0 && cargc == 0)
        rc = cmd_trades(&ctl);
    else if (strcmp(cmd, "positions") == 0 && cargc == 0)
        rc = cmd_positions(&ctl);
    else if (strcmp(cmd, "position") == 0)
        rc = cmd_position(&ctl, cargc, cargv);
    else if (strcmp(cmd, "asset") == 0 && cargc == 0)
        rc = cmd_asset(&ctl);
    else if (strcmp(cmd, "accounts") == 0 && cargc == 0)
        rc = cmd_accounts(&ctl);
    else if (strcmp(cmd, "status") == 0 && cargc == 0)
        rc = cmd_status(&ctl);
    else if (strcmp(cmd, "stats") == 0 && cargc == 0)
        rc = cmd_stats(&ctl);
    else if (strcmp(cmd, "watch") == 0)
        rc = cmd_watch(&ctl, cargc, cargv);
    else if (strcmp(cmd, "replay") == 0)
        rc = cmd_replay(&ctl, cargc, cargv);
    else if (strcmp(cmd, "sim-price") == 0)
        rc = cmd_sim_price(&ctl, cargc, cargv);
    else if (strcmp(cmd, "sim-tick") == 0)
        rc = cmd_sim_tick(&ctl, cargc, cargv);
    else if (strcmp(cmd, "sim-next-day") == 0 && cargc == 0)
        rc = print_sim(&ctl, xtb_req_sim_next_day());
    else if (strcmp(cmd, "sim-account-status") == 0)
        rc = cmd_sim_account_status(&ctl, cargc, cargv);
    else if (strcmp(cmd, "kill-switch") == 0)
        rc = cmd_kill_switch(&ctl, cargc, cargv);
    else if (strcmp(cmd, "call") == 0)
        rc = cmd_call(&ctl, cargc, cargv);
    else
        rc = usage_error("unknown command or wrong arguments: %s", cmd);

    xtb_client_destroy(&ctl.client);
    free(rest);
    return rc;
}
