/*  brg_config.c - defaults < config file `bridge` section < command-line flags.
    See brg_config.h. The file format is czmq's ZPL (zconfig), e.g.

        bridge
            router = tcp://127.0.0.1:58610
            pub = tcp://127.0.0.1:58611
            pub_advertise = tcp://bridge.example:58611
            heartbeat_ms = 1000
        sim
            account
                id = 1000000365
*/
#include "brg_config.h"

#include "brg_jetstream.h"
#include "brg_compat.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

struct brg_config {
    char *router;
    char *pub;
    char *pub_advertise; /* "" = announce what the PUB binds */
    char *data_dir;
    char *backend;
    brg_log_level_t log_level;
    int heartbeat_ms;
    int64_t max_msg_size;
    brg_store_opts_t store;
    char *curve_secret; /* NULL: no CURVE */
    char *clients;
    bool insecure;
    bool behind_proxy;
    bool colocate;          /* --colocate auto (true) | off */
    char *jetstream;        /* NULL: no JetStream forwarding */
    char *jetstream_stream; /* stream name */
    zconfig_t *tree;
};

static void set_str(char **slot, const char *value) {
    free(*slot);
    *slot = strdup(value);
}

brg_config_t *brg_config_new(void) {
    brg_config_t *self = (brg_config_t *)zmalloc(sizeof(brg_config_t));
    set_str(&self->router, BRG_DEFAULT_ROUTER);
    set_str(&self->pub, BRG_DEFAULT_PUB);
    set_str(&self->pub_advertise, "");
    set_str(&self->data_dir, BRG_DEFAULT_DATA);
    set_str(&self->backend, BRG_DEFAULT_BACKEND);
    self->log_level = BRG_LOG_INFO;
    self->heartbeat_ms = BRG_DEFAULT_HEARTBEAT_MS;
    self->max_msg_size = BRG_DEFAULT_MAX_MSG_SIZE;
    brg_store_opts_default(&self->store);
    set_str(&self->jetstream_stream, "XTB");
    self->colocate = true;
    return self;
}

void brg_config_destroy(brg_config_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_config_t *self = *self_p;
    free(self->router);
    free(self->pub);
    free(self->pub_advertise);
    free(self->data_dir);
    free(self->backend);
    free(self->curve_secret);
    free(self->clients);
    free(self->jetstream);
    free(self->jetstream_stream);
    zconfig_destroy(&self->tree);
    free(self);
    *self_p = NULL;
}

const char *brg_config_usage(void) {
    return "usage: xtbridge [options]\n"
           "  --backend NAME     session backend (default " BRG_DEFAULT_BACKEND ")\n"
           "  --router EP        request socket, czmq syntax (default " BRG_DEFAULT_ROUTER ")\n"
           "  --pub EP           push socket, czmq syntax (default " BRG_DEFAULT_PUB ")\n"
           "  --pub-advertise EP[,EP]  announce these PUB endpoints in hello instead of what\n"
           "                     --pub binds (NAT, containers; needed when --pub is '>')\n"
           "  --data DIR         durable state: book, journal, idempotency "
           "(default " BRG_DEFAULT_DATA ")\n"
           "  --config FILE      ZPL config file (sections: bridge, sim, xtquant)\n"
           "  --qmt-path DIR     xtquant backend: the terminal's userdata_mini dir\n"
           "  --session-id N     xtquant backend: first session id (+1 per reconnect)\n"
           "  --python-home DIR  xtquant backend: the Python the terminal bundles (PYTHONHOME)\n"
           "  --log-level L      error|warn|info|debug (default info)\n"
           "  --heartbeat-ms N   heartbeat. push interval (default 1000)\n"
           "  --max-msg-size N   request size limit in bytes (default 1048576)\n"
           "  --durability D     process (default): nothing acknowledged is lost if the process\n"
           "                     dies; power: acknowledged only once on disk (a sync per batch)\n"
           "  --store-max-mb N   size limit of the store in MiB (default 4096)\n"
           "  --retention-days N journal events kept N days (default 7; heartbeats 1 hour)\n"
           "  --curve-secret F   the bridge's czmq cert (F or F_secret holds the secret key):\n"
           "                     ROUTER and PUB become CURVE servers (needs --clients)\n"
           "  --clients DIR      allowed client certs (czmq format, metadata accounts + role);\n"
           "                     reloaded on SIGHUP\n"
           "  --insecure         allow binding a non-loopback address without CURVE\n"
           "  --jetstream URL    also publish every journaled event to NATS JetStream\n"
           "                     (nats://HOST:PORT), subjects xtb.<kind>.<account>\n"
           "  --jetstream-stream NAME  the stream (default XTB; created if absent)\n"
           "  --behind-proxy     requests come through ROUTER/DEALER proxies: the frames\n"
           "                     before the request are hop ids, echoed on the reply (on by\n"
           "                     itself when the ROUTER endpoint connects out with '>')\n"
           "  --colocate MODE    auto (default): the loop thread and libzmq's I/O thread share\n"
           "                     one CPU while requests come one at a time, and spread again\n"
           "                     under load (Linux); off: the OS places them\n"
           "  --help, --version\n"
           "Endpoints bind by default; prefix '>' to connect out (e.g. to an XSUB proxy).\n";
}

/* A yes/no setting of the config file: true|false|1|0. */
static int parse_flag(const char *name, const char *value, bool *out, char *err, size_t errlen) {
    if (!streq(value, "true") && !streq(value, "false") && !streq(value, "1") &&
        !streq(value, "0")) {
        snprintf(err, errlen, "bad %s '%s' (true|false)", name, value);
        return -1;
    }
    *out = streq(value, "true") || streq(value, "1");
    return 0;
}

/* --pub-advertise: endpoints clients connect to as written, so each must be one a SUB can
   connect to (scheme://address, no '@'/'>'); hello carries at most 16. "" = none. */
static int check_advertise(const char *value, char *err, size_t errlen) {
    int count = 0;
    for (const char *tok = value; *tok;) {
        const char *end = strchr(tok, ',');
        size_t len = end ? (size_t)(end - tok) : strlen(tok);
        while (len && (*tok == ' ' || *tok == '\t'))
            tok++, len--;
        while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
            len--;
        char ep[256];
        snprintf(ep, sizeof ep, "%.*s", (int)(len < sizeof ep ? len : 0), tok);
        const char *sep = strstr(ep, "://");
        if (!len || len >= sizeof ep || *ep == '@' || *ep == '>' || !sep || sep == ep || !sep[3] ||
            ++count > 16) {
            snprintf(err, errlen,
                     "bad pub_advertise '%s' (want up to 16 comma-separated endpoints a client "
                     "connects to, e.g. tcp://bridge.example:58611)",
                     value);
            return -1;
        }
        tok = end ? end + 1 : tok + len;
    }
    return 0;
}

static int parse_int(const char *text, long min, long max, long *out) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || !end || *end || end == text || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}

/* One setting by name, from the file or a flag. */
static int apply(brg_config_t *self, const char *name, const char *value, char *err,
                 size_t errlen) {
    long number;
    if ((streq(name, "router") || streq(name, "pub")) && !brg_compat_have_ipc() &&
        strncmp(value, "ipc://", 6) == 0) {
        snprintf(err, errlen,
                 "%s '%s': ipc:// is not available on this system (Windows): use "
                 "tcp://127.0.0.1:PORT",
                 name, value);
        return -1;
    }
    if (streq(name, "router"))
        set_str(&self->router, value);
    else if (streq(name, "pub"))
        set_str(&self->pub, value);
    else if (streq(name, "pub-advertise") || streq(name, "pub_advertise")) {
        if (check_advertise(value, err, errlen))
            return -1;
        set_str(&self->pub_advertise, value);
    } else if (streq(name, "data"))
        set_str(&self->data_dir, value);
    else if (streq(name, "backend"))
        set_str(&self->backend, value);
    else if (streq(name, "log-level") || streq(name, "log_level")) {
        if (brg_log_parse_level(value, &self->log_level)) {
            snprintf(err, errlen, "bad log level '%s' (error|warn|info|debug)", value);
            return -1;
        }
    } else if (streq(name, "heartbeat-ms") || streq(name, "heartbeat_ms")) {
        if (parse_int(value, 10, 3600000, &number)) {
            snprintf(err, errlen, "bad heartbeat interval '%s' (10..3600000 ms)", value);
            return -1;
        }
        self->heartbeat_ms = (int)number;
    } else if (streq(name, "max-msg-size") || streq(name, "max_msg_size")) {
        if (parse_int(value, 1024, 1L << 30, &number)) {
            snprintf(err, errlen, "bad max message size '%s' (1024..1073741824)", value);
            return -1;
        }
        self->max_msg_size = number;
    } else if (streq(name, "durability")) {
        if (streq(value, "process"))
            self->store.durability = BRG_DURABILITY_PROCESS;
        else if (streq(value, "power"))
            self->store.durability = BRG_DURABILITY_POWER;
        else {
            snprintf(err, errlen, "bad durability '%s' (process|power)", value);
            return -1;
        }
    } else if (streq(name, "store-max-mb") || streq(name, "store_max_mb")) {
        if (parse_int(value, 1, 1L << 30, &number)) {
            snprintf(err, errlen, "bad store size '%s' (1..1073741824 MiB)", value);
            return -1;
        }
        self->store.max_mb = number;
    } else if (streq(name, "retention-days") || streq(name, "retention_days")) {
        if (parse_int(value, 1, 3650, &number)) {
            snprintf(err, errlen, "bad retention '%s' (1..3650 days)", value);
            return -1;
        }
        self->store.retention_s = number * 24 * 3600;
    } else if (streq(name, "curve-secret") || streq(name, "curve_secret"))
        set_str(&self->curve_secret, value);
    else if (streq(name, "clients"))
        set_str(&self->clients, value);
    else if (streq(name, "insecure")) {
        if (parse_flag(name, value, &self->insecure, err, errlen))
            return -1;
    } else if (streq(name, "jetstream")) {
        if (!brg_jetstream_url_ok(value)) {
            snprintf(err, errlen, "bad jetstream '%s' (want nats://HOST:PORT)", value);
            return -1;
        }
        set_str(&self->jetstream, value);
    } else if (streq(name, "jetstream-stream") || streq(name, "jetstream_stream")) {
        if (!brg_jetstream_stream_ok(value)) {
            snprintf(err, errlen, "bad jetstream_stream '%s' (letters, digits, _ and -)", value);
            return -1;
        }
        set_str(&self->jetstream_stream, value);
    } else if (streq(name, "colocate")) {
        if (!streq(value, "auto") && !streq(value, "off")) {
            snprintf(err, errlen, "bad colocate '%s' (auto|off)", value);
            return -1;
        }
        self->colocate = streq(value, "auto");
    } else if (streq(name, "behind-proxy") || streq(name, "behind_proxy")) {
        if (parse_flag("behind_proxy", value, &self->behind_proxy, err, errlen))
            return -1;
    } else {
        snprintf(err, errlen, "unknown setting '%s'", name);
        return -1;
    }
    return 0;
}

static int load_file(brg_config_t *self, const char *path, char *err, size_t errlen) {
    if (!zsys_file_exists(path)) {
        snprintf(err, errlen, "config file '%s' not found", path);
        return -1;
    }
    zconfig_destroy(&self->tree);
    self->tree = zconfig_load(path);
    if (!self->tree) {
        snprintf(err, errlen, "config file '%s' is not valid ZPL", path);
        return -1;
    }
    zconfig_t *section = zconfig_locate(self->tree, "bridge");
    for (zconfig_t *item = section ? zconfig_child(section) : NULL; item;
         item = zconfig_next(item)) {
        const char *value = zconfig_value(item);
        if (apply(self, zconfig_name(item), value ? value : "", err, errlen))
            return -1;
    }
    return 0;
}

int brg_config_parse_args(brg_config_t *self, int argc, char **argv, char *err, size_t errlen) {
    static const struct option options[] = {{"backend", required_argument, 0, 'b'},
                                            {"router", required_argument, 0, 'r'},
                                            {"pub", required_argument, 0, 'p'},
                                            {"pub-advertise", required_argument, 0, 'A'},
                                            {"data", required_argument, 0, 'd'},
                                            {"config", required_argument, 0, 'c'},
                                            {"log-level", required_argument, 0, 'l'},
                                            {"heartbeat-ms", required_argument, 0, 'H'},
                                            {"max-msg-size", required_argument, 0, 'M'},
                                            {"durability", required_argument, 0, 'D'},
                                            {"store-max-mb", required_argument, 0, 'S'},
                                            {"retention-days", required_argument, 0, 'R'},
                                            {"curve-secret", required_argument, 0, 'C'},
                                            {"clients", required_argument, 0, 'K'},
                                            {"insecure", no_argument, 0, 'I'},
                                            {"behind-proxy", no_argument, 0, 'P'},
                                            {"colocate", required_argument, 0, 'L'},
                                            {"jetstream", required_argument, 0, 'J'},
                                            {"jetstream-stream", required_argument, 0, 'T'},
                                            {"qmt-path", required_argument, 0, 'Q'},
                                            {"session-id", required_argument, 0, 'N'},
                                            {"python-home", required_argument, 0, 'Y'},
                                            {"help", no_argument, 0, 'h'},
                                            {"version", no_argument, 0, 'V'},
                                            {0, 0, 0, 0}};
    /* The config file comes first whatever its position, so flags override it. */
    for (int i = 1; i < argc - 1; i++)
        if (streq(argv[i], "--config") && load_file(self, argv[i + 1], err, errlen))
            return -1;
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--config=", 9) == 0 && load_file(self, argv[i] + 9, err, errlen))
            return -1;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        const char *name = NULL;
        switch (c) {
        case 'h':
            fputs(brg_config_usage(), stdout);
            return 1;
        case 'V':
            printf("xtbridge %s (protocol %d)\n", XTB_VERSION, XTB_PROTOCOL_VERSION);
            return 1;
        case 'c':
            continue;
        case 'b':
            name = "backend";
            break;
        case 'r':
            name = "router";
            break;
        case 'p':
            name = "pub";
            break;
        case 'A':
            name = "pub-advertise";
            break;
        case 'd':
            name = "data";
            break;
        case 'l':
            name = "log-level";
            break;
        case 'H':
            name = "heartbeat-ms";
            break;
        case 'M':
            name = "max-msg-size";
            break;
        case 'D':
            name = "durability";
            break;
        case 'L':
            name = "colocate";
            break;
        case 'S':
            name = "store-max-mb";
            break;
        case 'R':
            name = "retention-days";
            break;
        case 'C':
            name = "curve-secret";
            break;
        case 'J':
            name = "jetstream";
            break;
        case 'T':
            name = "jetstream-stream";
            break;
        case 'K':
            name = "clients";
            break;
        case 'I':
            self->insecure = true;
            continue;
        case 'P':
            self->behind_proxy = true;
            continue;
        case 'Q':
        case 'N':
        case 'Y':
            /* backend settings: they go into the tree's `xtquant` section, where the
               backend reads them (and checks them) like the config file's keys */
            if (!self->tree)
                self->tree = zconfig_new("root", NULL);
            zconfig_put(self->tree,
                        c == 'Q'   ? "xtquant/qmt_path"
                        : c == 'N' ? "xtquant/session_id"
                                   : "xtquant/python_home",
                        optarg);
            continue;
        default:
            snprintf(err, errlen, "unknown or incomplete option '%s' (see --help)",
                     argv[optind - 1]);
            return -1;
        }
        if (apply(self, name, optarg, err, errlen))
            return -1;
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
        return -1;
    }
    if (!self->curve_secret != !self->clients) {
        snprintf(err, errlen,
                 "--curve-secret and --clients go together (the bridge's cert and "
                 "the allowed client certs)");
        return -1;
    }
    return 0;
}

/* Host part of one endpoint (after "tcp://", before the port), without brackets. */
static bool host_is_loopback(const char *host, size_t len) {
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    if ((len == 3 && memcmp(host, "::1", 3) == 0) ||
        (len == 9 && memcmp(host, "localhost", 9) == 0))
        return true;
    /* 127.0.0.0/8: four dotted decimal octets, the first 127 */
    if (len < 7 || len > 15 || memcmp(host, "127.", 4) != 0)
        return false;
    int dots = 0, digits = 0;
    for (size_t i = 0; i < len; i++) {
        if (host[i] == '.') {
            if (!digits)
                return false;
            dots++;
            digits = 0;
        } else if (host[i] >= '0' && host[i] <= '9') {
            if (++digits > 3)
                return false;
        } else
            return false;
    }
    return dots == 3 && digits > 0;
}

bool brg_endpoint_is_loopback(const char *endpoints) {
    char *copy = strdup(endpoints);
    bool all = true;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && all;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (*tok == '@' || *tok == '>')
            tok++;
        if (strncmp(tok, "ipc://", 6) == 0 || strncmp(tok, "inproc://", 9) == 0)
            continue;
        if (strncmp(tok, "tcp://", 6) != 0) {
            all = false;
            break;
        }
        const char *host = tok + 6;
        const char *colon = strrchr(host, ':');
        all = colon && host_is_loopback(host, (size_t)(colon - host));
    }
    free(copy);
    return all;
}

const char *brg_config_curve_secret(brg_config_t *self) {
    return self->curve_secret;
}
const char *brg_config_clients(brg_config_t *self) {
    return self->clients;
}
bool brg_config_insecure(brg_config_t *self) {
    return self->insecure;
}
bool brg_config_colocate(brg_config_t *self) {
    return self->colocate;
}
const char *brg_config_jetstream(brg_config_t *self) {
    return self->jetstream;
}
const char *brg_config_jetstream_stream(brg_config_t *self) {
    return self->jetstream_stream;
}
bool brg_config_behind_proxy(brg_config_t *self) {
    if (self->behind_proxy)
        return true;
    /* a ROUTER that connects out can only be reaching a proxy (clients do not bind) */
    for (const char *p = self->router; p && *p; p++)
        if (*p == '>' && (p == self->router || p[-1] == ',' || p[-1] == ' '))
            return true;
    return false;
}

const char *brg_config_router(brg_config_t *self) {
    return self->router;
}
const char *brg_config_pub(brg_config_t *self) {
    return self->pub;
}
const char *brg_config_pub_advertise(brg_config_t *self) {
    return self->pub_advertise;
}
const char *brg_config_data_dir(brg_config_t *self) {
    return self->data_dir;
}
const char *brg_config_backend(brg_config_t *self) {
    return self->backend;
}
brg_log_level_t brg_config_log_level(brg_config_t *self) {
    return self->log_level;
}
int brg_config_heartbeat_ms(brg_config_t *self) {
    return self->heartbeat_ms;
}
int64_t brg_config_max_msg_size(brg_config_t *self) {
    return self->max_msg_size;
}
const brg_store_opts_t *brg_config_store(brg_config_t *self) {
    return &self->store;
}
zconfig_t *brg_config_tree(brg_config_t *self) {
    return self->tree;
}
