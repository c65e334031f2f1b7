/*  test_sim_market.c - unit tests of brg_sim_market: half-up cent rounding that survives
    binary floating point, stock code syntax and markets, board limit percentages and
    limit prices, fees per fill, the price table (built-ins, config, set), and the dirty
    marks the backend persists by, with config loading that skips stored codes.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <math.h>
#include <string.h>

#include "brg_sim_market.h"

Test(sim_market, round2_half_up_despite_float_error) {
    cr_assert_eq(brg_sim_round2(0.105), 0.11);
    cr_assert_eq(brg_sim_round2(2.675), 2.68);
    cr_assert_eq(brg_sim_round2(1.005), 1.01);
    cr_assert_eq(brg_sim_round2(1.015), 1.02);
    cr_assert_eq(brg_sim_round2(10500 * 0.00001), 0.11);
    cr_assert_eq(brg_sim_round2(530 * 0.0005), 0.27);
    cr_assert_eq(brg_sim_round2(0.104999), 0.10);
    cr_assert_eq(brg_sim_round2(0.1049), 0.10);
    cr_assert_eq(brg_sim_round2(0.0), 0.0);
    cr_assert_eq(brg_sim_round2(-0.105), -0.11);
    cr_assert_eq(brg_sim_round2(10505.11), 10505.11);
    cr_assert_eq(brg_sim_round2(989494.885), 989494.89);
    cr_assert_eq(brg_sim_round2(123456789.125), 123456789.13);
    cr_assert_eq(brg_sim_round2(123456789.1249), 123456789.12);
    cr_assert(isnan(brg_sim_round2(NAN)));
}

Test(sim_market, price_tick) {
    cr_assert(brg_sim_on_tick(10.50));
    cr_assert(brg_sim_on_tick(0.07 * 3)); /* 0.21000000000000002 */
    cr_assert(brg_sim_on_tick(1500.00));
    cr_assert_not(brg_sim_on_tick(10.555));
    cr_assert_not(brg_sim_on_tick(10.501));
}

Test(sim_market, code_syntax_and_market) {
    const char *good[] = {"600000.SH", "000001.SZ", "430047.BJ", "300750.SZ", "688981.SH"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_assert(brg_sim_code_valid(good[i]), "%s", good[i]);
    const char *bad[] = {NULL,         "",           "600000",    "600000.",   ".SH",
                         "60000.SH",   "6000000.SH", "600000.HK", "600000.sh", "60000A.SH",
                         "600000.SHX", "600000SH.",  "IF2409.IF", " 600000.SH"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not(brg_sim_code_valid(bad[i]), "%s", bad[i] ? bad[i] : "NULL");
    cr_assert_eq(brg_sim_code_market("600000.SH"), 0);
    cr_assert_eq(brg_sim_code_market("000001.SZ"), 1);
    cr_assert_eq(brg_sim_code_market("430047.BJ"), 70);
    cr_assert_eq(brg_sim_code_market("600000.HK"), -1);
    cr_assert_eq(brg_sim_code_market(NULL), -1);
}

Test(sim_market, limits_by_board) {
    cr_assert_float_eq(brg_sim_limit_pct("600000.SH"), 0.10, 1e-12);
    cr_assert_float_eq(brg_sim_limit_pct("000001.SZ"), 0.10, 1e-12);
    cr_assert_float_eq(brg_sim_limit_pct("300750.SZ"), 0.20, 1e-12);
    cr_assert_float_eq(brg_sim_limit_pct("301001.SZ"), 0.20, 1e-12);
    cr_assert_float_eq(brg_sim_limit_pct("688981.SH"), 0.20, 1e-12);
    cr_assert_float_eq(brg_sim_limit_pct("689009.SH"), 0.20, 1e-12);
    cr_assert_float_eq(brg_sim_limit_pct("300750.SH"), 0.10, 1e-12); /* 300 is SZ only */
    cr_assert_float_eq(brg_sim_limit_pct("688981.SZ"), 0.10, 1e-12);
    cr_assert_float_eq(brg_sim_limit_pct("430047.BJ"), 0.30, 1e-12);
    cr_assert_eq(brg_sim_limit_up("600000.SH", 10.60), 11.66);
    cr_assert_eq(brg_sim_limit_down("600000.SH", 10.60), 9.54);
    cr_assert_eq(brg_sim_limit_up("300750.SZ", 200.00), 240.00);
    cr_assert_eq(brg_sim_limit_down("300750.SZ", 200.00), 160.00);
    cr_assert_eq(brg_sim_limit_up("430047.BJ", 10.00), 13.00);
    cr_assert_eq(brg_sim_limit_down("430047.BJ", 10.00), 7.00);
    /* rounding of the limit itself: 10.05 * 1.1 = 11.055 -> 11.06 */
    cr_assert_eq(brg_sim_limit_up("600000.SH", 10.05), 11.06);
    cr_assert_eq(brg_sim_limit_down("600000.SH", 10.05), 9.05); /* 9.045 -> 9.05 */
}

Test(sim_market, fees) {
    brg_sim_market_t *m = brg_sim_market_new();
    const brg_sim_fees_t *f = brg_sim_market_fees(m);
    brg_sim_fee_t fee = brg_sim_fees_compute(f, 10500.00, false);
    cr_assert_eq(fee.commission, 5.00);
    cr_assert_eq(fee.transfer_fee, 0.11);
    cr_assert_eq(fee.stamp_duty, 0.0);
    cr_assert_eq(fee.total, 5.11);
    fee = brg_sim_fees_compute(f, 10400.00, true);
    cr_assert_eq(fee.commission, 5.00);
    cr_assert_eq(fee.stamp_duty, 5.20);
    cr_assert_eq(fee.transfer_fee, 0.10);
    cr_assert_eq(fee.total, 10.30);
    /* above the minimum: 100000 * 0.00025 = 25 */
    fee = brg_sim_fees_compute(f, 100000.00, true);
    cr_assert_eq(fee.commission, 25.00);
    cr_assert_eq(fee.stamp_duty, 50.00);
    cr_assert_eq(fee.transfer_fee, 1.00);
    cr_assert_eq(fee.total, 76.00);
    /* 30042 * 0.00025 = 7.5105 -> 7.51 */
    fee = brg_sim_fees_compute(f, 30042.00, false);
    cr_assert_eq(fee.commission, 7.51);
    cr_assert_eq(fee.transfer_fee, 0.30);
    brg_sim_market_destroy(&m);
    cr_assert_null(m);
}

/* The book's money is in fen: the same schedule on integers, and per-order commission. */
Test(sim_market, fees_in_fen_per_order) {
    brg_sim_market_t *m = brg_sim_market_new();
    const brg_sim_fees_t *f = brg_sim_market_fees(m);
    brg_sim_fee_fen_t fee = brg_sim_fees_compute_fen(f, 1050000, false);
    cr_assert_eq(fee.commission, 500);
    cr_assert_eq(fee.transfer_fee, 11);
    cr_assert_eq(fee.total, 511);
    fee = brg_sim_fees_compute_fen(f, 3004200, true); /* 7.5105 -> 7.51; stamp 15.021 */
    cr_assert_eq(fee.commission, 751);
    cr_assert_eq(fee.stamp_duty, 1502);
    cr_assert_eq(fee.transfer_fee, 30);
    /* an order of 1000 @ 10.00 in fills of 300, 300, 300, 100: the minimum once */
    int64_t fills[] = {300000, 300000, 300000, 100000}, before = 0, total = 0;
    int64_t want[] = {503, 3, 3, 1};
    for (int i = 0; i < 4; i++) {
        fee = brg_sim_fees_fill_fen(f, before, fills[i], false);
        cr_assert_eq(fee.total, want[i], "fill %d: %lld", i, (long long)fee.total);
        before += fills[i];
        total += fee.total;
    }
    cr_assert_eq(total, brg_sim_fees_compute_fen(f, 1000000, false).total);
    /* past the minimum, later fills pay the rate's growth: 30000 then 10000 yuan */
    fee = brg_sim_fees_fill_fen(f, 3000000, 1000000, false);
    cr_assert_eq(fee.commission, 1000 - 750);
    cr_assert_eq(brg_sim_to_fen(10505.11), 1050511);
    cr_assert_eq(brg_sim_to_fen(0.105), 11);
    cr_assert_float_eq(brg_sim_yuan(1050511), 10505.11, 1e-9);
    brg_sim_market_destroy(&m);
}

Test(sim_market, builtins_set_and_load) {
    brg_sim_market_t *m = brg_sim_market_new();
    cr_assert_eq(brg_sim_market_size(m), 7);
    brg_sim_quote_t *q = brg_sim_market_quote(m, "600519.SH");
    cr_assert_not_null(q);
    cr_assert_str_eq(q->name, "贵州茅台");
    cr_assert_eq(q->pre_close, 1500.00);
    cr_assert_eq(q->last, 1500.00);
    cr_assert_eq(q->liquidity, 0);
    cr_assert_null(brg_sim_market_quote(m, "601398.SH"));
    cr_assert_null(brg_sim_market_quote(m, NULL));
    cr_assert_null(brg_sim_market_set(m, "bad", "x", 1, 1, 0));

    brg_sim_quote_t *set = brg_sim_market_set(m, "601398.SH", "工商银行", 5, 5.1, 100);
    cr_assert_not_null(set);
    cr_assert_eq(brg_sim_market_size(m), 8);
    cr_assert_eq(brg_sim_market_at(m, 7), set);
    cr_assert_null(brg_sim_market_at(m, 8));
    /* replacing keeps the same quote object */
    cr_assert_eq(brg_sim_market_set(m, "601398.SH", NULL, 5, 5.2, 0), set);
    cr_assert_str_eq(set->name, "工商银行");
    cr_assert_eq(set->last, 5.2);

    zconfig_t *config = zconfig_str_load("sim\n"
                                         "    price\n"
                                         "        code = 600000.SH\n"
                                         "        pre_close = 10.00\n"
                                         "        liquidity = 300\n"
                                         "    price\n"
                                         "        code = 000333.SZ\n"
                                         "        name = 美的集团\n"
                                         "        pre_close = 60\n"
                                         "        last = 61.5\n"
                                         "    fees\n"
                                         "        min_commission = 0.1\n"
                                         "        stamp_duty_rate = 0.001\n");
    cr_assert_not_null(config);
    char err[256] = "";
    cr_assert_eq(brg_sim_market_load(m, zconfig_locate(config, "sim"), err, sizeof err), 0, "%s",
                 err);
    q = brg_sim_market_quote(m, "600000.SH");
    cr_assert_str_eq(q->name, "浦发银行"); /* built-in name kept */
    cr_assert_eq(q->pre_close, 10.00);
    cr_assert_eq(q->last, 10.00); /* last defaults to pre_close */
    cr_assert_eq(q->liquidity, 300);
    q = brg_sim_market_quote(m, "000333.SZ");
    cr_assert_str_eq(q->name, "美的集团");
    cr_assert_eq(q->last, 61.5);
    cr_assert_eq(brg_sim_market_fees(m)->min_commission, 0.1);
    cr_assert_eq(brg_sim_market_fees(m)->stamp_duty_rate, 0.001);
    cr_assert_eq(brg_sim_market_fees(m)->commission_rate, 0.00025);
    zconfig_destroy(&config);

    config = zconfig_str_load("sim\n    price\n        code = 000333.SZ\n        last = -1\n");
    cr_assert_eq(brg_sim_market_load(m, zconfig_locate(config, "sim"), err, sizeof err), -1);
    cr_assert(strstr(err, "000333.SZ"));
    zconfig_destroy(&config);
    cr_assert_eq(brg_sim_market_load(m, NULL, err, sizeof err), 0);
    brg_sim_market_destroy(&m);
}

static bool skip_600000(void *arg, const char *code) {
    (void)arg;
    return strcmp(code, "600000.SH") == 0;
}

Test(sim_market, dirty_marks_and_load_skip) {
    brg_sim_market_t *m = brg_sim_market_new();
    cr_assert_eq(brg_sim_market_dirty(m), 7); /* built-ins are new: all dirty */
    for (size_t i = 0; i < brg_sim_market_size(m); i++)
        brg_sim_market_clean(m, brg_sim_market_at(m, i));
    cr_assert_eq(brg_sim_market_dirty(m), 0);
    brg_sim_quote_t *q = brg_sim_market_quote(m, "600000.SH");
    cr_assert_not(q->dirty);
    brg_sim_market_touch(m, q);
    brg_sim_market_touch(m, q); /* counted once */
    cr_assert(q->dirty);
    cr_assert_eq(brg_sim_market_dirty(m), 1);
    brg_sim_market_clean(m, q);
    brg_sim_market_clean(m, q);
    cr_assert_eq(brg_sim_market_dirty(m), 0);
    brg_sim_market_set(m, "000001.SZ", NULL, 11, 11.5, 0);
    cr_assert_eq(brg_sim_market_dirty(m), 1);

    /* a skipped code is still validated but not applied */
    zconfig_t *config = zconfig_str_load("sim\n"
                                         "    price\n"
                                         "        code = 600000.SH\n"
                                         "        pre_close = 9.00\n"
                                         "    price\n"
                                         "        code = 000333.SZ\n"
                                         "        pre_close = 60\n");
    char err[256] = "";
    cr_assert_eq(brg_sim_market_load_skip(m, zconfig_locate(config, "sim"), skip_600000, NULL, err,
                                          sizeof err),
                 0, "%s", err);
    cr_assert_eq(q->pre_close, 10.60);
    cr_assert_eq(brg_sim_market_quote(m, "000333.SZ")->pre_close, 60);
    cr_assert_eq(brg_sim_market_dirty(m), 2);
    zconfig_destroy(&config);
    config = zconfig_str_load("sim\n    price\n        code = 600000.SH\n        last = x\n");
    cr_assert_eq(brg_sim_market_load_skip(m, zconfig_locate(config, "sim"), skip_600000, NULL, err,
                                          sizeof err),
                 -1);
    zconfig_destroy(&config);
    brg_sim_market_destroy(&m);
}
