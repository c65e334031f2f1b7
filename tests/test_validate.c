/*  test_validate.c - unit tests of brg_validate (strict UTF-8: GBK bytes, overlongs,
    surrogates, code points above U+10FFFF, truncated sequences; the descriptor walk over
    nested messages, repeated strings, map keys and values, oneof members; every length
    limit exactly at the limit and one over), and an integration test against the real
    binary: an order with a GBK strategy_name is INVALID_ARGUMENT naming the field, nothing
    is journaled, the account's orders are unchanged and the order id counter did not move.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brg_validate.h"
#include "testutil.h"
#include "xtb_client.h"

#define ACC "1000000365"

/* "策略" in GBK (what a Windows strategy sends when it forgets to encode as UTF-8) and in
   UTF-8. */
#define GBK_CELUE "\xb2\xdf\xc2\xd4"
#define UTF8_CELUE "\xe7\xad\x96\xe7\x95\xa5"

static bool utf8(const char *s) {
    return brg_validate_utf8(s, strlen(s), NULL);
}

static size_t bad_at(const char *s, size_t len) {
    size_t at = 9999;
    cr_assert_not(brg_validate_utf8(s, len, &at), "'%s' passed", s);
    return at;
}

Test(validate, utf8_accepts_ascii_chinese_and_the_edges) {
    cr_assert(utf8(""));
    cr_assert(utf8("600000.SH"));
    cr_assert(utf8(UTF8_CELUE));
    cr_assert(utf8("\xc2\x80"));                  /* U+0080, first 2-byte */
    cr_assert(utf8("\xdf\xbf"));                  /* U+07FF */
    cr_assert(utf8("\xe0\xa0\x80"));              /* U+0800, first 3-byte */
    cr_assert(utf8("\xed\x9f\xbf"));              /* U+D7FF, just below the surrogates */
    cr_assert(utf8("\xee\x80\x80"));              /* U+E000, just above */
    cr_assert(utf8("\xef\xbf\xbf"));              /* U+FFFF */
    cr_assert(utf8("\xf0\x90\x80\x80"));          /* U+10000, first 4-byte */
    cr_assert(utf8("\xf4\x8f\xbf\xbf"));          /* U+10FFFF, the last code point */
    cr_assert(utf8("\xf0\x9f\x98\x80 emoji ok")); /* U+1F600 */
}

Test(validate, utf8_rejects_gbk_overlong_surrogates_and_beyond) {
    cr_assert_eq(bad_at(GBK_CELUE, 4), 0); /* 0xb2 is a stray continuation byte */
    cr_assert_eq(bad_at("ab" GBK_CELUE, 6), 2);
    cr_assert_eq(bad_at("\xc0\xaf", 2), 0);         /* overlong '/' */
    cr_assert_eq(bad_at("\xc1\xbf", 2), 0);         /* overlong U+007F */
    cr_assert_eq(bad_at("\xe0\x80\xaf", 3), 0);     /* overlong 3-byte '/' */
    cr_assert_eq(bad_at("\xe0\x9f\xbf", 3), 0);     /* overlong U+07FF */
    cr_assert_eq(bad_at("\xf0\x80\x80\xaf", 4), 0); /* overlong 4-byte '/' */
    cr_assert_eq(bad_at("\xf0\x8f\xbf\xbf", 4), 0); /* overlong U+FFFF */
    cr_assert_eq(bad_at("\xed\xa0\x80", 3), 0);     /* U+D800 */
    cr_assert_eq(bad_at("x\xed\xbf\xbf", 4), 1);    /* U+DFFF */
    cr_assert_eq(bad_at("\xf4\x90\x80\x80", 4), 0); /* U+110000 */
    cr_assert_eq(bad_at("\xf5\x80\x80\x80", 4), 0); /* lead byte F5 */
    cr_assert_eq(bad_at("\xff", 1), 0);
    cr_assert_eq(bad_at("\xfe", 1), 0);
    cr_assert_eq(bad_at("\x80", 1), 0);           /* lone continuation */
    cr_assert_eq(bad_at("\xe7\xad", 2), 0);       /* truncated 3-byte at the end */
    cr_assert_eq(bad_at("ok\xf0\x9f\x98", 5), 2); /* truncated 4-byte at the end */
    cr_assert_eq(bad_at("\xe7\xad"
                        "a",
                        3),
                 0); /* truncated in the middle */
    cr_assert_eq(bad_at("\xc2"
                        "a",
                        2),
                 0);                                /* continuation not 10xxxxxx */
    cr_assert_eq(bad_at("\xf0\x9f\x98\xc0", 4), 0); /* last continuation wrong */
    cr_assert_eq(bad_at(UTF8_CELUE "\xc2", 7), 6);
}

/* ---- the descriptor walk --------------------------------------------------------------- */

typedef struct {
    Xtbridge__Request req;
    Xtbridge__OrderStockRequest order;
    Xtbridge__Account account;
} order_req_t;

static void order_init(order_req_t *o) {
    xtbridge__request__init(&o->req);
    xtbridge__order_stock_request__init(&o->order);
    xtbridge__account__init(&o->account);
    o->req.request_id = (char *)"r1";
    o->req.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK;
    o->req.order_stock = &o->order;
    o->order.account = &o->account;
    o->account.account_id = (char *)ACC;
    o->order.stock_code = (char *)"600000.SH";
    o->order.strategy_name = (char *)UTF8_CELUE;
    o->order.order_remark = (char *)"remark";
}

static void expect_refused(const Xtbridge__Request *req, const char *message) {
    char err[512] = "";
    cr_assert_eq(brg_validate_request(req, err, sizeof err), -1, "passed, expected: %s", message);
    cr_assert_str_eq(err, message);
}

static void expect_passes(const Xtbridge__Request *req) {
    char err[512] = "";
    cr_assert_eq(brg_validate_request(req, err, sizeof err), 0, "refused: %s", err);
}

Test(validate, a_valid_order_passes) {
    order_req_t o;
    order_init(&o);
    expect_passes(&o.req);
}

Test(validate, gbk_strategy_name_is_named) {
    order_req_t o;
    order_init(&o);
    o.order.strategy_name = (char *)GBK_CELUE;
    expect_refused(&o.req, "order_stock.strategy_name is not valid UTF-8 (byte 0xb2 at offset 0)");
}

Test(validate, nested_message_field_is_named_by_its_path) {
    order_req_t o;
    order_init(&o);
    o.account.account_id = (char *)"1000\xed\xa0\x80";
    expect_refused(&o.req,
                   "order_stock.account.account_id is not valid UTF-8 (byte 0xed at offset 4)");
}

Test(validate, the_async_variant_is_named_by_its_own_field) {
    order_req_t o;
    order_init(&o);
    o.req.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC;
    o.req.order_stock_async = &o.order;
    o.order.order_remark = (char *)"\xc0\xaf";
    expect_refused(&o.req,
                   "order_stock_async.order_remark is not valid UTF-8 (byte 0xc0 at offset 0)");
}

Test(validate, request_id_is_checked_with_its_own_limit) {
    order_req_t o;
    order_init(&o);
    o.req.request_id = (char *)"id-" GBK_CELUE;
    expect_refused(&o.req, "request_id is not valid UTF-8 (byte 0xb2 at offset 3)");
    cr_assert_eq(brg_validate_request_id(o.req.request_id, NULL, 0), -1);

    char id[BRG_VALIDATE_MAX_REQUEST_ID + 2];
    memset(id, 'i', sizeof id - 1);
    id[sizeof id - 1] = 0;
    o.req.request_id = id;
    expect_refused(&o.req, "request_id is 129 bytes long; the limit is 128 bytes");
    cr_assert_eq(brg_validate_request_id(id, NULL, 0), -1);
    id[BRG_VALIDATE_MAX_REQUEST_ID] = 0; /* exactly 128 */
    expect_passes(&o.req);
    cr_assert_eq(brg_validate_request_id(id, NULL, 0), 0);
}

Test(validate, repeated_strings_are_named_by_index) {
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__SyncTransactionFromExternalRequest sync =
        XTBRIDGE__SYNC_TRANSACTION_FROM_EXTERNAL_REQUEST__INIT;
    char *deals[] = {(char *)"{\"a\":1}", (char *)"{\"b\":\"" UTF8_CELUE "\"}",
                     (char *)"{\"c\":\"\xf4\x90\x80\x80\"}"};
    req.request_id = (char *)"r";
    req.body_case = XTBRIDGE__REQUEST__BODY_SYNC_TRANSACTION_FROM_EXTERNAL;
    req.sync_transaction_from_external = &sync;
    sync.operation = (char *)"ADD";
    sync.data_type = (char *)"DEAL";
    sync.deal_list_json = deals;
    sync.n_deal_list_json = 2;
    expect_passes(&req);
    sync.n_deal_list_json = 3;
    expect_refused(&req, "sync_transaction_from_external.deal_list_json[2] is not valid UTF-8 "
                         "(byte 0xf4 at offset 6)");
}

Test(validate, map_keys_are_checked) {
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__ReplayRequest replay = XTBRIDGE__REPLAY_REQUEST__INIT;
    Xtbridge__ReplayRequest__AfterEntry e0 = XTBRIDGE__REPLAY_REQUEST__AFTER_ENTRY__INIT;
    Xtbridge__ReplayRequest__AfterEntry e1 = XTBRIDGE__REPLAY_REQUEST__AFTER_ENTRY__INIT;
    Xtbridge__ReplayRequest__AfterEntry *after[] = {&e0, &e1};
    req.request_id = (char *)"r";
    req.body_case = XTBRIDGE__REQUEST__BODY_REPLAY;
    req.replay = &replay;
    replay.topic_prefix = (char *)"order.";
    replay.after = after;
    replay.n_after = 2;
    e0.key = (char *)"order." ACC;
    e0.value = 3;
    e1.key = (char *)"order.\xe7\xad";
    e1.value = 4;
    expect_refused(&req, "replay.after[1].key is not valid UTF-8 (byte 0xe7 at offset 6)");
    e1.key = (char *)"trade." ACC;
    expect_passes(&req);
    char key[BRG_VALIDATE_MAX_STRING + 2];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = 0;
    e0.key = key;
    expect_refused(&req, "replay.after[0].key is 257 bytes long; the limit is 256 bytes");
    replay.topic_prefix = (char *)"\xff";
    expect_refused(&req, "replay.topic_prefix is not valid UTF-8 (byte 0xff at offset 0)");
}

Test(validate, bridge_calls_are_walked_too) {
    /* (Request maps have string keys and number values today: the keys are checked above,
       the values are not strings. hello is a bridge call, walked like any other body.) */
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__HelloRequest hello = XTBRIDGE__HELLO_REQUEST__INIT;
    req.request_id = (char *)"r";
    req.body_case = XTBRIDGE__REQUEST__BODY_HELLO;
    req.hello = &hello;
    hello.client_name = (char *)"ok";
    hello.client_version = (char *)"\xed\xbf\xbf";
    expect_refused(&req, "hello.client_version is not valid UTF-8 (byte 0xed at offset 0)");
}

Test(validate, only_the_set_oneof_member_is_read) {
    /* body_case says ping: the order_stock pointer shares the union and must not be
       followed as an order (it is a PingRequest). */
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__PingRequest ping = XTBRIDGE__PING_REQUEST__INIT;
    req.request_id = (char *)"r";
    req.body_case = XTBRIDGE__REQUEST__BODY_PING;
    req.ping = &ping;
    ping.client_time_ns = 0x7fffffffffffffffLL; /* garbage if read as a string pointer */
    expect_passes(&req);
    req.body_case = XTBRIDGE__REQUEST__BODY__NOT_SET;
    expect_passes(&req);
}

Test(validate, generic_cap_exact_and_one_over) {
    order_req_t o;
    order_init(&o);
    char name[BRG_VALIDATE_MAX_STRING + 2];
    memset(name, 's', sizeof name - 1);
    name[sizeof name - 1] = 0;
    o.order.strategy_name = name;
    expect_refused(&o.req, "order_stock.strategy_name is 257 bytes long; the limit is 256 bytes");
    name[BRG_VALIDATE_MAX_STRING] = 0;
    expect_passes(&o.req);
    o.order.stock_code = name;
    expect_passes(&o.req);
    name[BRG_VALIDATE_MAX_STRING] = 's';
    expect_refused(&o.req, "order_stock.stock_code is 257 bytes long; the limit is 256 bytes");
}

/* 最大 24 个英文字符: 24 ASCII, or 12 Chinese characters (2 each in the counter's GBK). */
Test(validate, order_remark_is_24_english_characters) {
    order_req_t o;
    order_init(&o);
    o.order.order_remark = (char *)"abcdefghijklmnopqrstuvwx"; /* 24 */
    expect_passes(&o.req);
    o.order.order_remark = (char *)"abcdefghijklmnopqrstuvwxy"; /* 25 */
    expect_refused(&o.req, "order_stock.order_remark is 25 characters wide; the limit is 24 (an "
                           "ASCII character counts 1, any other 2)");
    /* 12 x 策 = 24 wide (36 UTF-8 bytes) */
    o.order.order_remark = (char *)"策策策策策策策策策策策策";
    expect_passes(&o.req);
    o.order.order_remark = (char *)"策策策策策策策策策策策策a";
    expect_refused(&o.req, "order_stock.order_remark is 25 characters wide; the limit is 24 (an "
                           "ASCII character counts 1, any other 2)");
    o.order.order_remark = (char *)"策策策策策策策策策策策ab"; /* 22 + 2 */
    expect_passes(&o.req);
    o.order.order_remark = (char *)"\xf0\x9f\x98\x80"
                                   "abcdefghijklmnopqrstuv"; /* 2 + 22 */
    expect_passes(&o.req);
}

Test(validate, json_and_path_fields_have_their_own_caps) {
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__ExportDataRequest exp = XTBRIDGE__EXPORT_DATA_REQUEST__INIT;
    req.request_id = (char *)"r";
    req.body_case = XTBRIDGE__REQUEST__BODY_EXPORT_DATA;
    req.export_data = &exp;
    char *json = (char *)malloc(BRG_VALIDATE_MAX_JSON + 2);
    memset(json, ' ', BRG_VALIDATE_MAX_JSON + 1);
    json[BRG_VALIDATE_MAX_JSON + 1] = 0;
    exp.user_param_json = json;
    expect_refused(&req,
                   "export_data.user_param_json is 65537 bytes long; the limit is 65536 bytes");
    json[BRG_VALIDATE_MAX_JSON] = 0;
    expect_passes(&req);
    char path[BRG_VALIDATE_MAX_PATH + 2];
    memset(path, 'p', sizeof path - 1);
    path[sizeof path - 1] = 0;
    exp.result_path = path;
    expect_refused(&req, "export_data.result_path is 1025 bytes long; the limit is 1024 bytes");
    path[BRG_VALIDATE_MAX_PATH] = 0;
    expect_passes(&req);
    exp.data_type = path; /* not a path field: the generic cap */
    expect_refused(&req, "export_data.data_type is 1024 bytes long; the limit is 256 bytes");
    free(json);
}

Test(validate, a_decoded_request_is_walked_the_same) {
    /* through the wire form: pack, unpack with protobuf-c (which does not check UTF-8) */
    order_req_t o;
    order_init(&o);
    o.order.strategy_name = (char *)GBK_CELUE;
    size_t len = xtbridge__request__get_packed_size(&o.req);
    uint8_t *buf = (uint8_t *)malloc(len);
    xtbridge__request__pack(&o.req, buf);
    Xtbridge__Request *req = xtbridge__request__unpack(NULL, len, buf);
    free(buf);
    cr_assert_not_null(req, "protobuf-c refused the GBK bytes itself");
    expect_refused(req, "order_stock.strategy_name is not valid UTF-8 (byte 0xb2 at offset 0)");
    xtbridge__request__free_unpacked(req, NULL);
}

/* ---- against the real binary ----------------------------------------------------------- */

static xtbt_bridge_t *s_bridge;
static xtb_client_t *s_client;

static void start_bridge(void) {
    s_bridge = xtbt_bridge_start(NULL, NULL);
    cr_assert_not_null(s_bridge, "xtbridge did not start (%s)", XTB_BRIDGE_BIN);
    s_client = xtbt_bridge_client(s_bridge);
}

static void stop_bridge(void) {
    xtb_client_destroy(&s_client);
    if (s_bridge) {
        int status = xtbt_bridge_stop(&s_bridge);
        cr_expect_eq(status, 0, "xtbridge exit status %d after SIGTERM", status);
    }
}

static int count_non_heartbeat(const Xtbridge__Event *event, void *arg) {
    if (strncmp(event->topic, "heartbeat", 9) != 0)
        ++*(int *)arg;
    return 0;
}

/* Journaled events other than heartbeats (which keep coming). */
static int journaled(void) {
    int n = 0;
    int all = xtb_client_replay(s_client, "", NULL, NULL, 0, 5000, count_non_heartbeat, &n);
    cr_assert_geq(all, 0, "replay: %s", xtb_client_error(s_client));
    return n;
}

static Xtbridge__Reply *orders_of_account(void) {
    return xtbt_call_ok(s_client, xtb_req_query_orders(ACC, false),
                        XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS);
}

Test(validate, gbk_strategy_name_is_refused_and_nothing_happens, .init = start_bridge,
     .fini = stop_bridge, .timeout = 60) {
    Xtbridge__Reply *r = xtbt_call_ok(
        s_client, xtb_req_order(ACC, "600000.SH", 23, 100, 11, 10.50, "s1", "r1", false),
        XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    cr_assert_eq(r->order_stock->order_id, 1);
    xtb_reply_destroy(&r);
    int events_before = journaled();
    cr_assert_gt(events_before, 0);
    Xtbridge__Reply *before = orders_of_account();
    cr_assert_eq(before->query_stock_orders->n_orders, 1);

    /* a GBK strategy name, sync and async */
    for (int async = 0; async < 2; async++) {
        Xtbridge__Request *gbk =
            xtb_req_order(ACC, "600000.SH", 23, 100, 11, 10.50, GBK_CELUE, "r2", async);
        xtb_request_set_id(gbk, async ? "gbk-async" : "gbk-sync");
        r = xtbt_call(s_client, gbk);
        cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "code %d: %s",
                     r->error->code, r->error->message);
        cr_assert_str_eq(r->error->message,
                         async ? "order_stock_async.strategy_name is not valid UTF-8 (byte 0xb2 "
                                 "at offset 0)"
                               : "order_stock.strategy_name is not valid UTF-8 (byte 0xb2 at "
                                 "offset 0)");
        cr_assert_eq(r->result_case, XTBRIDGE__REPLY__RESULT__NOT_SET);
        xtb_reply_destroy(&r);
    }
    /* a remark one character over the vendor's limit */
    r = xtbt_call(s_client, xtb_req_order(ACC, "600000.SH", 23, 100, 11, 10.50, "s1",
                                          "abcdefghijklmnopqrstuvwxy", false));
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    cr_assert_str_eq(r->error->message, "order_stock.order_remark is 25 characters wide; the "
                                        "limit is 24 (an ASCII character counts 1, any other 2)");
    xtb_reply_destroy(&r);

    /* a request_id that is not UTF-8: refused, and not echoed (the client could not decode
       a reply carrying it) */
    Xtbridge__Request *req = xtb_req_order(ACC, "600000.SH", 23, 100, 11, 10.50, "s1", "r", false);
    xtb_request_set_id(req, "id-" GBK_CELUE);
    size_t len = xtbridge__request__get_packed_size(req);
    uint8_t *buf = (uint8_t *)malloc(len);
    xtbridge__request__pack(req, buf);
    xtb_request_destroy(&req);
    const void *frames[] = {buf};
    size_t sizes[] = {len};
    cr_assert_eq(xtb_client_send_raw(s_client, frames, sizes, 1), 0);
    free(buf);
    cr_assert_eq(xtb_client_recv_reply(s_client, "", 5000, &r), 0, "%s",
                 xtb_client_error(s_client));
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    cr_assert_str_eq(r->error->message, "request_id is not valid UTF-8 (byte 0xb2 at offset 3)");
    xtb_reply_destroy(&r);

    /* nothing journaled, the book unchanged */
    cr_assert_eq(journaled(), events_before);
    Xtbridge__Reply *after = orders_of_account();
    cr_assert_eq(after->query_stock_orders->n_orders, 1);
    const Xtbridge__XtOrder *a = after->query_stock_orders->orders[0];
    const Xtbridge__XtOrder *b = before->query_stock_orders->orders[0];
    cr_assert_eq(a->order_id, b->order_id);
    cr_assert_eq(a->order_status, b->order_status);
    cr_assert_eq(a->order_volume, b->order_volume);
    cr_assert_str_eq(a->strategy_name, "s1");
    cr_assert_str_eq(a->order_remark, "r1");
    xtb_reply_destroy(&before);
    xtb_reply_destroy(&after);

    /* no backend call happened: the next order is order 2; and no idempotency row was
       kept, so the corrected order may reuse the refused request_id */
    req = xtb_req_order(ACC, "600000.SH", 23, 100, 11, 10.50, UTF8_CELUE,
                        "策策策策策策策策策策策策", false);
    xtb_request_set_id(req, "gbk-sync");
    r = xtbt_call_ok(s_client, req, XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    cr_assert_eq(r->order_stock->order_id, 2);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(s_client, xtb_req_query_order(ACC, 2),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDER);
    cr_assert(r->query_stock_order->found);
    cr_assert_str_eq(r->query_stock_order->order->strategy_name, UTF8_CELUE);
    cr_assert_str_eq(r->query_stock_order->order->order_remark, "策策策策策策策策策策策策");
    xtb_reply_destroy(&r);
}
