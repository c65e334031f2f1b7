/*  test_sim_export.c - unit tests of brg_sim_export: which result_path names are accepted
    (only the last component counts, and it must be a plain name.csv), that the file lands
    in <data dir>/export and never through a symlink, CSV quoting, and reading a file back
    as JSON rows (numbers as numbers, codes with leading zeros and quoted cells as strings).
    The end-to-end calls are in test_sim_futures.c.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "brg_sim_export.h"
#include "testutil.h"

static void name_ok(const char *path, const char *want) {
    char name[160], err[300];
    cr_assert_eq(brg_sim_export_file_name(path, name, sizeof name, err, sizeof err), 0, "%s: %s",
                 path, err);
    cr_assert_str_eq(name, want, "%s", path);
}

static void name_bad(const char *path) {
    char name[160], err[300] = "";
    cr_assert_eq(brg_sim_export_file_name(path, name, sizeof name, err, sizeof err), -1, "%s",
                 path ? path : "(null)");
    cr_assert(strstr(err, "must end in a file name like deal.csv"), "%s", err);
}

Test(sim_export, file_names) {
    name_ok("deal.csv", "deal.csv");
    name_ok("C:\\Users\\Desktop\\test\\deal.csv", "deal.csv");
    name_ok("../../../etc/x.csv", "x.csv");
    name_ok("/abs/path/Y-1_2.CSV", "Y-1_2.CSV");
    name_ok("a\\..\\..\\b.csv", "b.csv");
    name_bad(NULL);
    name_bad("");
    name_bad("..");
    name_bad("../");
    name_bad(".csv");
    name_bad(".x.csv");
    name_bad("deal.txt");
    name_bad("de al.csv");
    name_bad("d\"e.csv");
    name_bad("deal.csv/");
    name_bad("C:");
    name_bad("成交.csv");
    cr_assert_eq(brg_sim_export_kind("deal"), BRG_SIM_EXPORT_DEAL);
    cr_assert_eq(brg_sim_export_kind("order"), BRG_SIM_EXPORT_ORDER);
    cr_assert_eq(brg_sim_export_kind("position"), BRG_SIM_EXPORT_POSITION);
    cr_assert_eq(brg_sim_export_kind("DEAL"), -1);
    cr_assert_eq(brg_sim_export_kind(NULL), -1);
}

static char dir[400];

static void make_dir(void) {
    snprintf(dir, sizeof dir, "%s/xtbt-export-XXXXXX", xtbt_tmpdir());
    cr_assert_not_null(mkdtemp(dir));
}

Test(sim_export, write_and_read_back) {
    make_dir();
    char path[1200], err[300];
    FILE *f = brg_sim_export_open(dir, "t.csv", path, sizeof path, err, sizeof err);
    cr_assert_not_null(f, "%s", err);
    cr_assert(strstr(path, "/export/t.csv"), "%s", path);
    brg_sim_export_header(f, BRG_SIM_EXPORT_POSITION);
    Xtbridge__XtPosition p = XTBRIDGE__XT_POSITION__INIT;
    p.account_id = "A1";
    p.account_type = 2;
    p.stock_code = "000001.SZ";
    p.volume = 300;
    p.can_use_volume = 200;
    p.open_price = 10.5;
    p.market_value = 3300;
    p.avg_price = 10.51;
    p.direction = 48;
    brg_sim_export_position(f, &p);
    cr_assert_eq(fclose(f), 0);
    char *json = brg_sim_export_read_json(path, err, sizeof err);
    cr_assert_not_null(json, "%s", err);
    cr_assert_str_eq(
        json,
        "[{\"account_id\":\"A1\",\"account_Type\":2,\"stock_code\":\"000001.SZ\",\"volume\":300,"
        "\"can_use_volume\":200,\"open_price\":10.5000,\"market_value\":3300.00,"
        "\"frozen_volume\":0,\"on_road_volume\":0,\"yesterday_volume\":0,\"avg_price\":10.5100,"
        "\"direction\":48}]");
    free(json);
    Xtbridge__XtTrade t = XTBRIDGE__XT_TRADE__INIT;
    t.account_id = "A1";
    t.stock_code = "600000.SH";
    t.strategy_name = "a,b";
    t.order_remark = "say \"hi\"\nnext";
    t.traded_id = "007";
    /* quoted cells come back whole */
    f = brg_sim_export_open(dir, "q.csv", path, sizeof path, err, sizeof err);
    cr_assert_not_null(f, "%s", err);
    brg_sim_export_header(f, BRG_SIM_EXPORT_DEAL);
    brg_sim_export_trade(f, &t);
    fclose(f);
    json = brg_sim_export_read_json(path, err, sizeof err);
    cr_assert(strstr(json, "\"traded_id\":\"007\""), "%s", json);
    cr_assert(
        strstr(json, "\"strategy_name\":\"a,b\",\"order_remark\":\"say \\\"hi\\\"\\u000anext\""),
        "%s", json);
    free(json);
    cr_assert_null(brg_sim_export_read_json("no/such/file.csv", err, sizeof err));
    cr_assert(strstr(err, "cannot read"), "%s", err);
}

Test(sim_export, symlink_not_followed) {
    make_dir();
    char path[1200], err[300], link[900], target[900];
    FILE *f = brg_sim_export_open(dir, "first.csv", path, sizeof path, err, sizeof err);
    cr_assert_not_null(f, "%s", err);
    fclose(f);
    snprintf(link, sizeof link, "%s/export/evil.csv", dir);
    snprintf(target, sizeof target, "%s/outside.txt", dir);
    cr_assert_eq(symlink(target, link), 0);
    cr_assert_null(brg_sim_export_open(dir, "evil.csv", path, sizeof path, err, sizeof err));
    cr_assert(strstr(err, "cannot write"), "%s", err);
    struct stat st;
    cr_assert_neq(stat(target, &st), 0);
}
