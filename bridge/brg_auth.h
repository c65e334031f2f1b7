/*  brg_auth.h - who may do what, for a bridge running CURVE (--clients DIR).

    Every allowed client has a czmq cert in DIR (public part only). Its metadata says what
    the key may do:
        accounts = "1000000365, 1000000366"   (or "*": every account)
        role = "trader"                       (reader | trader | admin)
    A reader may query and receive pushes; a trader may also place and cancel orders and
    call the other state-changing xttrader calls; an admin may also call sim_*. The bridge
    looks clients up by the CURVE public key the connection authenticated (ZMQ User-Id,
    z85), never by anything in a request. The table is reloaded on SIGHUP.
*/
#ifndef BRG_AUTH_H_INCLUDED
#define BRG_AUTH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef enum { BRG_ROLE_READER = 0, BRG_ROLE_TRADER = 1, BRG_ROLE_ADMIN = 2 } brg_role_t;

typedef struct brg_auth brg_auth_t;
typedef struct brg_principal brg_principal_t;

/*  A principal from cert metadata. `key` is the z85 public key (40 chars). NULL + err when
    the role or the account list is missing or malformed. */
brg_principal_t *brg_principal_new(const char *key, const char *accounts, const char *role,
                                   char *err, size_t errlen);
void brg_principal_destroy(brg_principal_t **self_p);
const char *brg_principal_key(const brg_principal_t *self);
brg_role_t brg_principal_role(const brg_principal_t *self);
/*  True for accounts = "*". */
bool brg_principal_all_accounts(const brg_principal_t *self);
/*  Whether the key may act on account_id (NULL or "" never matches a list). */
bool brg_principal_may_account(const brg_principal_t *self, const char *account_id);
/*  The listed accounts (none for "*"). */
size_t brg_principal_naccounts(const brg_principal_t *self);
const char *brg_principal_account(const brg_principal_t *self, size_t index);

/*  Role name ("reader", ...) and parse (0 / -1). */
const char *brg_role_name(brg_role_t role);
int brg_role_parse(const char *name, brg_role_t *role);

/*  Load every cert in dir (files ending in "_secret" are skipped: DIR holds public certs).
    NULL + err when the dir cannot be read or a cert's metadata is invalid (naming the
    file). */
brg_auth_t *brg_auth_new(const char *dir, char *err, size_t errlen);
void brg_auth_destroy(brg_auth_t **self_p);
/*  Reload the dir. On error the old table stays in force and err says why; returns -1. */
int brg_auth_reload(brg_auth_t *self, char *err, size_t errlen);
/*  The principal for a z85 public key, or NULL when the key is not in the table. Owned by
    the table: valid until the next reload. */
const brg_principal_t *brg_auth_lookup(brg_auth_t *self, const char *key);
size_t brg_auth_size(brg_auth_t *self);
const char *brg_auth_dir(brg_auth_t *self);

#endif
