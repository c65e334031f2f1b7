/*  brg_config.h - the bridge's settings: built-in defaults (the protocol page's endpoints),
    then the `bridge` section of the optional ZPL config file (--config), then command-line
    flags, each overriding the one before. The whole config tree stays available to the
    backend, which reads its own section (`sim`, ...).
*/
#ifndef BRG_CONFIG_H_INCLUDED
#define BRG_CONFIG_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#include "brg_log.h"
#include "brg_store.h"

#define BRG_DEFAULT_ROUTER "tcp://127.0.0.1:58610"
#define BRG_DEFAULT_PUB "tcp://127.0.0.1:58611"
#define BRG_DEFAULT_DATA "./xtbridge-data"
#define BRG_DEFAULT_BACKEND "sim"
#define BRG_DEFAULT_HEARTBEAT_MS 1000
#define BRG_DEFAULT_MAX_MSG_SIZE (1024 * 1024)

typedef struct brg_config brg_config_t;

brg_config_t *brg_config_new(void);
void brg_config_destroy(brg_config_t **self_p);

/*  Apply argv. Returns 0 to run, 1 when --help/--version was printed (exit 0), -1 on a bad
    flag or config file, with the reason in err. */
int brg_config_parse_args(brg_config_t *self, int argc, char **argv, char *err, size_t errlen);
/*  Usage text for --help. Static string. */
const char *brg_config_usage(void);

/*  Getters: strings are owned by the config. */
const char *brg_config_router(brg_config_t *self);
const char *brg_config_pub(brg_config_t *self);
/*  --pub-advertise / bridge.pub_advertise: PUB endpoints hello announces verbatim
    (comma list); "" = announce what --pub binds (see brg_publisher_announce). */
const char *brg_config_pub_advertise(brg_config_t *self);
const char *brg_config_data_dir(brg_config_t *self);
const char *brg_config_backend(brg_config_t *self);
brg_log_level_t brg_config_log_level(brg_config_t *self);
int brg_config_heartbeat_ms(brg_config_t *self);
int64_t brg_config_max_msg_size(brg_config_t *self);
/*  Store settings: durability, size limit, retention. Owned by the config. */
const brg_store_opts_t *brg_config_store(brg_config_t *self);
/*  CURVE: the bridge's cert file and the allowed client certs dir; both NULL without
    CURVE (parse_args refuses one without the other). */
const char *brg_config_curve_secret(brg_config_t *self);
const char *brg_config_clients(brg_config_t *self);
/*  --insecure: bind non-loopback addresses without CURVE (with a warning). */
bool brg_config_insecure(brg_config_t *self);
/*  --behind-proxy / bridge.behind_proxy, or a ROUTER endpoint that connects out ('>'):
    requests may carry hop routing ids (see brg_router_args_t.behind_proxy). */
bool brg_config_behind_proxy(brg_config_t *self);
/*  --colocate / bridge.colocate: auto (true, the default) or off (see brg_colocate.h). */
bool brg_config_colocate(brg_config_t *self);
/*  --jetstream / bridge.jetstream: NATS url to forward the journal to (NULL = off), and
    --jetstream-stream / bridge.jetstream_stream: the stream's name (default XTB). */
const char *brg_config_jetstream(brg_config_t *self);
const char *brg_config_jetstream_stream(brg_config_t *self);
/*  Whether every endpoint of a czmq endpoint list stays on this host: ipc://, inproc://,
    tcp:// on 127.0.0.0/8, ::1 or localhost. Anything else (a wildcard, another address,
    an interface name, another transport) is reachable from elsewhere. */
bool brg_endpoint_is_loopback(const char *endpoints);

/*  The parsed config file, or NULL if none was given. Owned by the config. */
zconfig_t *brg_config_tree(brg_config_t *self);

#endif
