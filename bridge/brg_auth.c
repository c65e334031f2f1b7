/*  brg_auth.c - client keys, roles and account lists (see brg_auth.h). */
#include "brg_auth.h"

#include <czmq.h>
#include <dirent.h>

#include "brg_compat.h"
#include "brg_log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_ACCOUNTS 4096
#define MAX_ACCOUNT_LEN 64

struct brg_principal {
    char *key;
    brg_role_t role;
    bool all;
    char **accounts;
    size_t naccounts;
};

struct brg_auth {
    char *dir;
    zhash_t *table; /* z85 key -> brg_principal_t */
};

const char *brg_role_name(brg_role_t role) {
    switch (role) {
    case BRG_ROLE_READER:
        return "reader";
    case BRG_ROLE_TRADER:
        return "trader";
    case BRG_ROLE_ADMIN:
        return "admin";
    }
    return "?";
}

int brg_role_parse(const char *name, brg_role_t *role) {
    if (!name)
        return -1;
    for (int r = BRG_ROLE_READER; r <= BRG_ROLE_ADMIN; r++)
        if (streq(name, brg_role_name((brg_role_t)r))) {
            *role = (brg_role_t)r;
            return 0;
        }
    return -1;
}

void brg_principal_destroy(brg_principal_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_principal_t *self = *self_p;
    for (size_t i = 0; i < self->naccounts; i++)
        free(self->accounts[i]);
    free(self->accounts);
    free(self->key);
    free(self);
    *self_p = NULL;
}

static void trim(char **start, char **end) {
    while (*start < *end && (**start == ' ' || **start == '\t'))
        (*start)++;
    while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
        (*end)--;
}

brg_principal_t *brg_principal_new(const char *key, const char *accounts, const char *role,
                                   char *err, size_t errlen) {
    brg_role_t parsed;
    if (!key || strlen(key) != 40) {
        snprintf(err, errlen, "public key must be 40 z85 characters");
        return NULL;
    }
    if (!role || !*role) {
        snprintf(err, errlen, "no 'role' in the cert metadata (reader|trader|admin)");
        return NULL;
    }
    if (brg_role_parse(role, &parsed)) {
        snprintf(err, errlen, "bad role '%s' (reader|trader|admin)", role);
        return NULL;
    }
    if (!accounts || !*accounts) {
        snprintf(err, errlen, "no 'accounts' in the cert metadata (a comma list or '*')");
        return NULL;
    }
    brg_principal_t *self = (brg_principal_t *)zmalloc(sizeof(brg_principal_t));
    self->key = strdup(key);
    self->role = parsed;
    char *copy = strdup(accounts);
    char *s = copy, *e = copy + strlen(copy);
    trim(&s, &e);
    if (e - s == 1 && *s == '*') {
        self->all = true;
        free(copy);
        return self;
    }
    self->accounts = (char **)zmalloc(sizeof(char *) * MAX_ACCOUNTS);
    const char *bad = NULL;
    for (char *item = copy; item && !bad;) {
        char *comma = strchr(item, ',');
        char *end = comma ? comma : item + strlen(item);
        char *start = item;
        trim(&start, &end);
        size_t len = (size_t)(end - start);
        if (len == 0)
            bad = "an empty entry";
        else if (len > MAX_ACCOUNT_LEN)
            bad = "an account id longer than 64 characters";
        else if (memchr(start, '.', len) || memchr(start, '*', len) || memchr(start, ' ', len))
            bad = "an account id with '.', '*' or a space";
        else if (self->naccounts == MAX_ACCOUNTS)
            bad = "more than 4096 accounts";
        else
            self->accounts[self->naccounts++] = brg_compat_strndup(start, len);
        item = comma ? comma + 1 : NULL;
    }
    free(copy);
    if (bad) {
        snprintf(err, errlen, "bad accounts '%s': %s (want a comma list or '*')", accounts, bad);
        brg_principal_destroy(&self);
    }
    return self;
}

const char *brg_principal_key(const brg_principal_t *self) {
    return self->key;
}

brg_role_t brg_principal_role(const brg_principal_t *self) {
    return self->role;
}

bool brg_principal_all_accounts(const brg_principal_t *self) {
    return self->all;
}

bool brg_principal_may_account(const brg_principal_t *self, const char *account_id) {
    if (!account_id || !*account_id)
        return self->all;
    if (self->all)
        return true;
    for (size_t i = 0; i < self->naccounts; i++)
        if (streq(self->accounts[i], account_id))
            return true;
    return false;
}

size_t brg_principal_naccounts(const brg_principal_t *self) {
    return self->naccounts;
}

const char *brg_principal_account(const brg_principal_t *self, size_t index) {
    return index < self->naccounts ? self->accounts[index] : NULL;
}

static void principal_free(void *item) {
    brg_principal_t *p = (brg_principal_t *)item;
    brg_principal_destroy(&p);
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && streq(s + n - m, suffix);
}

/* The whole dir into a new table, or NULL + err: a half-loaded table would silently drop
   a key's rights. */
static zhash_t *load_dir(const char *dir, char *err, size_t errlen) {
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot read client cert dir '%s': %s", dir, strerror(errno));
        return NULL;
    }
    zhash_t *table = zhash_new();
    struct dirent *entry;
    bool ok = true;
    while (ok && (entry = readdir(d))) {
        if (entry->d_name[0] == '.')
            continue;
        if (ends_with(entry->d_name, "_secret")) {
            /* skipped for rights (zauth still reads it): a secret belongs with its client */
            brg_warn("client cert dir %s holds a secret key file, %s: skipped; only public "
                     "certs belong there, keep secret keys with the clients",
                     dir, entry->d_name);
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        struct stat st;
        if (stat(path, &st) || !S_ISREG(st.st_mode))
            continue;
        /* zcert_load would also read a "<file>_secret" beside it: a public cert is all
           that belongs here, so read the file itself. */
        zconfig_t *root = zconfig_load(path);
        const char *key = root ? zconfig_get(root, "/curve/public-key", NULL) : NULL;
        if (!key) {
            snprintf(err, errlen, "client cert '%s' is not a czmq cert (no curve/public-key)",
                     path);
            zconfig_destroy(&root);
            ok = false;
            break;
        }
        char why[256];
        brg_principal_t *p =
            brg_principal_new(key, zconfig_get(root, "/metadata/accounts", NULL),
                              zconfig_get(root, "/metadata/role", NULL), why, sizeof why);
        if (!p) {
            snprintf(err, errlen, "client cert '%s': %s", path, why);
            ok = false;
        } else if (zhash_insert(table, key, p)) {
            snprintf(err, errlen, "client cert '%s': key %s is already in another cert", path, key);
            brg_principal_destroy(&p);
            ok = false;
        } else
            zhash_freefn(table, key, principal_free);
        zconfig_destroy(&root);
    }
    closedir(d);
    if (!ok)
        zhash_destroy(&table);
    return table;
}

brg_auth_t *brg_auth_new(const char *dir, char *err, size_t errlen) {
    zhash_t *table = load_dir(dir, err, errlen);
    if (!table)
        return NULL;
    brg_auth_t *self = (brg_auth_t *)zmalloc(sizeof(brg_auth_t));
    self->dir = strdup(dir);
    self->table = table;
    return self;
}

void brg_auth_destroy(brg_auth_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_auth_t *self = *self_p;
    zhash_destroy(&self->table);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

int brg_auth_reload(brg_auth_t *self, char *err, size_t errlen) {
    zhash_t *table = load_dir(self->dir, err, errlen);
    if (!table)
        return -1;
    zhash_destroy(&self->table);
    self->table = table;
    return 0;
}

const brg_principal_t *brg_auth_lookup(brg_auth_t *self, const char *key) {
    return key ? (const brg_principal_t *)zhash_lookup(self->table, key) : NULL;
}

size_t brg_auth_size(brg_auth_t *self) {
    return zhash_size(self->table);
}

const char *brg_auth_dir(brg_auth_t *self) {
    return self->dir;
}
