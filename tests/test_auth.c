/*  test_auth.c - unit tests of brg_auth: cert metadata parsing (roles, account lists, "*"),
    malformed metadata refused with the file named, lookups by key, _secret files skipped,
    and a reload that keeps the old table when the dir turns bad.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brg_auth.h"
#include "testutil.h"

static const char *KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

Test(auth, principal_accounts_and_roles) {
    char err[256];
    brg_principal_t *p =
        brg_principal_new(KEY, " 1000000365 ,1000000366,  42", "reader", err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    cr_assert_str_eq(brg_principal_key(p), KEY);
    cr_assert_eq(brg_principal_role(p), BRG_ROLE_READER);
    cr_assert_not(brg_principal_all_accounts(p));
    cr_assert_eq(brg_principal_naccounts(p), 3);
    cr_assert_str_eq(brg_principal_account(p, 0), "1000000365");
    cr_assert_str_eq(brg_principal_account(p, 1), "1000000366");
    cr_assert_str_eq(brg_principal_account(p, 2), "42");
    cr_assert_null(brg_principal_account(p, 3));
    cr_assert(brg_principal_may_account(p, "1000000366"));
    cr_assert_not(brg_principal_may_account(p, "10000003650"));
    cr_assert_not(brg_principal_may_account(p, "100000036"));
    cr_assert_not(brg_principal_may_account(p, ""));
    cr_assert_not(brg_principal_may_account(p, NULL));
    brg_principal_destroy(&p);
    cr_assert_null(p);

    p = brg_principal_new(KEY, " * ", "admin", err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    cr_assert_eq(brg_principal_role(p), BRG_ROLE_ADMIN);
    cr_assert(brg_principal_all_accounts(p));
    cr_assert_eq(brg_principal_naccounts(p), 0);
    cr_assert(brg_principal_may_account(p, "anything"));
    brg_principal_destroy(&p);

    p = brg_principal_new(KEY, "7", "trader", err, sizeof err);
    cr_assert_eq(brg_principal_role(p), BRG_ROLE_TRADER);
    brg_principal_destroy(&p);
}

static void expect_bad(const char *key, const char *accounts, const char *role, const char *why) {
    char err[256] = "";
    brg_principal_t *p = brg_principal_new(key, accounts, role, err, sizeof err);
    cr_assert_null(p, "accepted accounts='%s' role='%s'", accounts, role);
    cr_assert_str_eq(err, why);
}

Test(auth, bad_metadata_refused) {
    expect_bad(KEY, "1", NULL, "no 'role' in the cert metadata (reader|trader|admin)");
    expect_bad(KEY, "1", "root", "bad role 'root' (reader|trader|admin)");
    expect_bad(KEY, "1", "Trader", "bad role 'Trader' (reader|trader|admin)");
    expect_bad(KEY, NULL, "reader", "no 'accounts' in the cert metadata (a comma list or '*')");
    expect_bad(KEY, "", "reader", "no 'accounts' in the cert metadata (a comma list or '*')");
    expect_bad(KEY, "1,,2", "reader",
               "bad accounts '1,,2': an empty entry (want a comma list or '*')");
    expect_bad(KEY, "1, *", "reader",
               "bad accounts '1, *': an account id with '.', '*' or a space (want a comma list "
               "or '*')");
    expect_bad(KEY, "a.b", "reader",
               "bad accounts 'a.b': an account id with '.', '*' or a space (want a comma list "
               "or '*')");
    expect_bad(KEY, "1 2", "reader",
               "bad accounts '1 2': an account id with '.', '*' or a space (want a comma list "
               "or '*')");
    expect_bad("short", "1", "reader", "public key must be 40 z85 characters");
    cr_assert_str_eq(brg_role_name(BRG_ROLE_TRADER), "trader");
    brg_role_t role;
    cr_assert_eq(brg_role_parse("admin", &role), 0);
    cr_assert_eq(role, BRG_ROLE_ADMIN);
    cr_assert_eq(brg_role_parse("", &role), -1);
}

static char s_dir[64];

static void make_dir(void) {
    snprintf(s_dir, sizeof s_dir, "%s/xtbt-auth-XXXXXX", xtbt_tmpdir());
    cr_assert_not_null(mkdtemp(s_dir));
}

static void remove_dir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    cr_assert_eq(system(cmd), 0);
}

/* A cert in the dir (public part; with `secret` also the _secret file). Returns its key
   (static buffer per call site is not needed: copied into out). */
static void add_cert(const char *name, const char *accounts, const char *role, bool secret,
                     char *out) {
    zcert_t *cert = zcert_new();
    if (accounts)
        zcert_set_meta(cert, "accounts", "%s", accounts);
    if (role)
        zcert_set_meta(cert, "role", "%s", role);
    char path[128];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    cr_assert_eq(secret ? zcert_save(cert, path) : zcert_save_public(cert, path), 0);
    strcpy(out, zcert_public_txt(cert));
    zcert_destroy(&cert);
}

Test(auth, load_lookup_reload, .init = make_dir, .fini = remove_dir) {
    char a[41], b[41], c[41], err[512];
    add_cert("a.cert", "1000000365", "trader", true, a);
    add_cert("b.cert", "*", "admin", false, b);
    brg_auth_t *auth = brg_auth_new(s_dir, err, sizeof err);
    cr_assert_not_null(auth, "%s", err);
    cr_assert_eq(brg_auth_size(auth), 2); /* a.cert_secret skipped */
    cr_assert_str_eq(brg_auth_dir(auth), s_dir);
    const brg_principal_t *pa = brg_auth_lookup(auth, a);
    cr_assert_not_null(pa);
    cr_assert_eq(brg_principal_role(pa), BRG_ROLE_TRADER);
    cr_assert(brg_principal_may_account(pa, "1000000365"));
    cr_assert(brg_principal_all_accounts(brg_auth_lookup(auth, b)));
    cr_assert_null(brg_auth_lookup(auth, NULL));
    cr_assert_null(brg_auth_lookup(auth, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"));

    /* a new cert: seen after reload only */
    add_cert("c.cert", "7, 8", "reader", false, c);
    cr_assert_null(brg_auth_lookup(auth, c));
    cr_assert_eq(brg_auth_reload(auth, err, sizeof err), 0, "%s", err);
    cr_assert_eq(brg_auth_size(auth), 3);
    cr_assert_eq(brg_principal_naccounts(brg_auth_lookup(auth, c)), 2);

    /* a bad cert: the reload fails naming it, the old table stays */
    char d[41];
    add_cert("d.cert", "1", "superuser", false, d);
    cr_assert_eq(brg_auth_reload(auth, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want,
             "client cert '%s/d.cert': bad role 'superuser' (reader|trader|admin)", s_dir);
    cr_assert_str_eq(err, want);
    cr_assert_eq(brg_auth_size(auth), 3);
    cr_assert_not_null(brg_auth_lookup(auth, c));
    brg_auth_destroy(&auth);
    cr_assert_null(auth);

    /* and a fresh load refuses the dir */
    cr_assert_null(brg_auth_new(s_dir, err, sizeof err));
    cr_assert_str_eq(err, want);
}

Test(auth, not_a_cert_or_no_dir, .init = make_dir, .fini = remove_dir) {
    char err[512], path[128], want[256];
    cr_assert_null(brg_auth_new("/nonexistent-xtbt", err, sizeof err));
    cr_assert_str_eq(err, "cannot read client cert dir '/nonexistent-xtbt': No such file or "
                          "directory");
    snprintf(path, sizeof path, "%s/junk", s_dir);
    FILE *f = fopen(path, "w");
    fputs("hello\n", f);
    fclose(f);
    cr_assert_null(brg_auth_new(s_dir, err, sizeof err));
    snprintf(want, sizeof want, "client cert '%s/junk' is not a czmq cert (no curve/public-key)",
             s_dir);
    cr_assert_str_eq(err, want);
}
