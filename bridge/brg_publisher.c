/*  brg_publisher.c - topic, seq, journal, send (see brg_publisher.h). */
#include "brg_publisher.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brg_log.h"
#include "brg_pbenc.h"

/* Packed events' buffers are kept for the next events instead of a malloc and a free
   each: a price move that fills 50,000 orders makes 200,000 of them. A fill's pushes pack
   to 100-300 bytes; a bigger event gets a buffer of its own, freed once sent. SPARE_MAX
   covers a checkpoint's 256 held events (128 KB at most). */
#define SPARE_CAP 512
#define SPARE_MAX 256

struct brg_publisher {
    zsock_t *pub;
    brg_auth_t *auth; /* CURVE: an XPUB that narrows subscriptions to the client's accounts */
    zloop_t *loop;
    brg_store_t *store;
    char *configured; /* as given to brg_publisher_new, for brg_publisher_advertise */
    char *endpoints;  /* what hello announces */
    uint64_t published;
    /* events journaled in the open batch, not yet sent: a flat array, no czmq objects,
       because this is on every push's path */
    struct held_event *held;
    size_t nheld, cheld;
    brg_publisher_tap_fn *tap;
    void *tap_arg;
    uint8_t *spare[SPARE_MAX]; /* free buffers of SPARE_CAP bytes */
    size_t nspare;
};

typedef struct held_event {
    char topic[256];
    size_t tlen;
    uint8_t *data; /* the packed event, malloc'd by the store's pack callback */
    size_t size;
    size_t cap; /* bytes allocated at data (SPARE_CAP: it goes back to the spares) */
} held_event_t;

/* Append `part` to the comma list in *out (malloc'd, grows). */
static void list_append(char **out, const char *part, size_t partlen) {
    size_t have = *out ? strlen(*out) : 0;
    char *grown = (char *)realloc(*out, have + partlen + 2);
    if (!grown)
        return;
    if (have)
        grown[have++] = ',';
    memcpy(grown + have, part, partlen);
    grown[have + partlen] = '\0';
    *out = grown;
}

static bool is_wildcard_host(const char *host, size_t len) {
    return (len == 1 && *host == '*') || (len == 7 && !strncmp(host, "0.0.0.0", 7)) ||
           (len == 4 && !strncmp(host, "[::]", 4)) || (len == 3 && !strncmp(host, "[*]", 3));
}

char *brg_publisher_announce(const char *configured, const char *bound, const char *advertise) {
    char *out = NULL;
    const char *list = advertise && *advertise ? advertise : configured ? configured : "";
    for (const char *tok = list; *tok;) {
        const char *end = strchr(tok, ',');
        size_t len = end ? (size_t)(end - tok) : strlen(tok);
        const char *next = end ? end + 1 : tok + len;
        /* trim blanks: config files may write "a, b" */
        while (len && (*tok == ' ' || *tok == '\t'))
            tok++, len--;
        while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
            len--;
        if (advertise && *advertise) {
            /* explicit endpoints for NAT and containers: what the operator wrote */
            if (len)
                list_append(&out, tok, len);
            tok = next;
            continue;
        }
        /* A PUB that connects out (to an XSUB proxy) is not where subscribers connect:
           only the operator knows that place (--pub-advertise). */
        if (!len || *tok == '>') {
            tok = next;
            continue;
        }
        if (*tok == '@')
            tok++, len--;
        char ep[512];
        snprintf(ep, sizeof ep, "%.*s", (int)len, tok);
        /* an ephemeral port (tcp :* / :!, ipc path "*") is known only to the socket: its last
           bound endpoint */
        const char *colon = strrchr(ep, ':');
        bool ephemeral = streq(ep, "ipc://*") || (!strncmp(ep, "tcp://", 6) && colon &&
                                                  (colon[1] == '*' || colon[1] == '!'));
        if (ephemeral && bound && *bound)
            snprintf(ep, sizeof ep, "%s", bound);
        /* A wildcard host is announced as "*": each client puts in the host it used to
           reach the ROUTER, which is the one address known to lead to this machine. */
        colon = strrchr(ep, ':');
        if (!strncmp(ep, "tcp://", 6) && colon && colon > ep + 6 &&
            is_wildcard_host(ep + 6, (size_t)(colon - ep - 6))) {
            char wild[512];
            snprintf(wild, sizeof wild, "tcp://*%s", colon);
            snprintf(ep, sizeof ep, "%s", wild);
        }
        list_append(&out, ep, strlen(ep));
        tok = next;
    }
    return out ? out : strdup("");
}

brg_publisher_t *brg_publisher_new(const char *endpoints, brg_store_t *store, char *err,
                                   size_t errlen) {
    return brg_publisher_new_curve(endpoints, store, NULL, NULL, NULL, err, errlen);
}

/* Account-less push kinds: open to every authenticated client. */
static bool kind_is_accountless(const char *kind, size_t len) {
    static const char *const open_kinds[] = {"heartbeat", "connected", "disconnected"};
    for (size_t i = 0; i < sizeof open_kinds / sizeof *open_kinds; i++)
        if (strlen(open_kinds[i]) == len && memcmp(open_kinds[i], kind, len) == 0)
            return true;
    return false;
}

static bool starts_with(const char *s, size_t slen, const char *prefix, size_t plen) {
    return slen >= plen && memcmp(s, prefix, plen) == 0;
}
/* One candidate topic prefix T (an account-less kind, or kind+account) against the
   requested filter P: P covers T -> T is installed; T covers P -> P itself is (it is
   narrower). Returns whether one was. */
static bool narrow_one(const char *want, size_t wlen, const char *topic, size_t tlen,
                       brg_narrow_fn *fn, void *arg) {
    if (starts_with(topic, tlen, want, wlen))
        fn(arg, topic, tlen);
    else if (starts_with(want, wlen, topic, tlen))
        fn(arg, want, wlen);
    else
        return false;
    return true;
}

size_t brg_publisher_narrow(const brg_principal_t *who, const char *want, size_t wlen,
                            brg_narrow_fn *fn, void *arg) {
    if (brg_principal_all_accounts(who)) {
        fn(arg, want, wlen);
        return 1;
    }
    size_t count = 0;
    /* Topic kinds are the Event body names: the oneof's members. */
    const ProtobufCMessageDescriptor *desc = &xtbridge__event__descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        if (!(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue; /* topic, seq, ...: not a body */
        char topic[256];
        size_t klen = strlen(field->name);
        if (kind_is_accountless(field->name, klen)) {
            int n = snprintf(topic, sizeof topic, "%s.", field->name);
            count += narrow_one(want, wlen, topic, (size_t)n, fn, arg);
            continue;
        }
        for (size_t a = 0; a < brg_principal_naccounts(who); a++) {
            int n =
                snprintf(topic, sizeof topic, "%s.%s.", field->name, brg_principal_account(who, a));
            if (n > 0 && (size_t)n < sizeof topic)
                count += narrow_one(want, wlen, topic, (size_t)n, fn, arg);
        }
    }
    return count;
}

/* A subscription message from a SUB (first byte 1 = subscribe, 0 = cancel, then the
   filter). Only what the sender's key may see is installed, on the sender's own pipe:
   in ZMQ_XPUB_MANUAL, ZMQ_SUBSCRIBE applies to the pipe of the last message received. */
typedef struct {
    void *handle;
    bool subscribe;
} filter_arg_t;

static void install(void *arg, const char *topic, size_t len) {
    filter_arg_t *f = (filter_arg_t *)arg;
    zmq_setsockopt(f->handle, f->subscribe ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, topic, len);
}

static int on_subscription(zloop_t *loop, zsock_t *reader, void *arg) {
    (void)loop;
    (void)reader;
    brg_publisher_t *self = (brg_publisher_t *)arg;
    void *handle = zsock_resolve(self->pub);
    for (int n = 0; n < 1000; n++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        const char *data = (const char *)zmq_msg_data(&msg);
        size_t size = zmq_msg_size(&msg);
        const char *key = zmq_msg_gets(&msg, "User-Id");
        const brg_principal_t *who = brg_auth_lookup(self->auth, key);
        if (size >= 1 && (data[0] == 0 || data[0] == 1)) {
            filter_arg_t f = {handle, data[0] == 1};
            if (!who)
                brg_warn("subscription from key %s ignored: not in the allowed client certs",
                         key ? key : "(none)");
            else {
                size_t count = brg_publisher_narrow(who, data + 1, size - 1, install, &f);
                brg_debug("%s '%.*s' from %s: %zu filters", f.subscribe ? "subscribe" : "cancel",
                          (int)(size - 1), data + 1, key, count);
            }
        }
        zmq_msg_close(&msg);
    }
    return 0;
}

brg_publisher_t *brg_publisher_new_curve(const char *endpoints, brg_store_t *store, zcert_t *cert,
                                         brg_auth_t *auth, zloop_t *loop, char *err,
                                         size_t errlen) {
    zsock_t *pub = zsock_new(auth ? ZMQ_XPUB : ZMQ_PUB);
    if (!pub) {
        snprintf(err, errlen, "cannot create PUB socket");
        return NULL;
    }
    /* Slow subscribers lose pushes past this mark; replay fills the gap. */
    zsock_set_sndhwm(pub, 100000);
    zsock_set_linger(pub, 200);
    if (auth) {
        /* Every connection must pass zauth (the allowed client certs) before it gets a
           byte, heartbeats included; every filter is ours, never the client's. */
        zcert_apply(cert, pub);
        zsock_set_curve_server(pub, 1);
        zsock_set_zap_domain(pub, "xtbridge");
        zsock_set_xpub_manual(pub, 1);
    }
    if (zsock_attach(pub, endpoints, true)) {
        snprintf(err, errlen, "cannot bind/connect PUB to '%s': %s", endpoints,
                 zmq_strerror(zmq_errno()));
        zsock_destroy(&pub);
        return NULL;
    }
    brg_publisher_t *self = (brg_publisher_t *)zmalloc(sizeof(brg_publisher_t));
    self->pub = pub;
    self->store = store;
    self->configured = strdup(endpoints);
    self->endpoints = brg_publisher_announce(endpoints, zsock_endpoint(pub), NULL);
    self->auth = auth;
    if (auth && loop) {
        self->loop = loop;
        if (zloop_reader(loop, pub, on_subscription, self)) {
            snprintf(err, errlen, "cannot register XPUB on the loop");
            brg_publisher_destroy(&self);
            return NULL;
        }
        zloop_reader_set_tolerant(loop, pub);
    }
    return self;
}

void brg_publisher_destroy(brg_publisher_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_publisher_t *self = *self_p;
    brg_publisher_flush(self, false);
    if (self->loop)
        zloop_reader_end(self->loop, self->pub);
    free(self->held);
    while (self->nspare)
        free(self->spare[--self->nspare]);
    zsock_destroy(&self->pub);
    free(self->endpoints);
    free(self->configured);
    free(self);
    *self_p = NULL;
}

int brg_publisher_topic(const char *kind, const char *account_id, char *buf, size_t buflen) {
    if (!kind || !*kind || strchr(kind, '.') || (account_id && strchr(account_id, '.')))
        return -1;
    /* on every push's path: plain copies, no printf */
    size_t klen = strlen(kind), alen = account_id ? strlen(account_id) : 0;
    size_t need = klen + 1 + (alen ? alen + 1 : 0);
    if (need >= buflen)
        return -1;
    memcpy(buf, kind, klen);
    buf[klen] = '.';
    if (alen) {
        memcpy(buf + klen + 1, account_id, alen);
        buf[klen + 1 + alen] = '.';
    }
    buf[need] = 0;
    return 0;
}

typedef struct {
    brg_publisher_t *self;
    Xtbridge__Event *event;
    size_t cap; /* out: bytes allocated for the packed event */
} pack_arg_t;

/* One pass over the event into a spare buffer (brg_pbenc); protobuf-c's size + pack only
   for what does not fit or brg_pbenc leaves to it. */
static uint8_t *pack_event(void *arg, uint64_t seq, size_t *size) {
    pack_arg_t *a = (pack_arg_t *)arg;
    brg_publisher_t *self = a->self;
    a->event->seq = seq;
    uint8_t *data = self->nspare ? self->spare[--self->nspare] : (uint8_t *)malloc(SPARE_CAP);
    size_t cap = data ? SPARE_CAP : 0;
    size_t n = brg_pbenc_pack_alloc(&a->event->base, &data, &cap);
    if (n == SIZE_MAX) {
        free(data);
        return NULL;
    }
    a->cap = cap;
    *size = n;
    return data;
}

/* Done with a sent or dropped event's buffer. */
static void release(brg_publisher_t *self, uint8_t *data, size_t cap) {
    if (cap == SPARE_CAP && self->nspare < SPARE_MAX)
        self->spare[self->nspare++] = data;
    else
        free(data);
}

int brg_publisher_emit(brg_publisher_t *self, const char *kind, const char *account_id,
                       Xtbridge__Event *event) {
    char topic[256];
    if (brg_publisher_topic(kind, account_id, topic, sizeof topic)) {
        brg_error("not publishing: bad topic kind='%s' account='%s'", kind ? kind : "",
                  account_id ? account_id : "");
        return -1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    event->topic = topic;
    event->bridge_epoch = brg_store_epoch(self->store);
    event->time_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    pack_arg_t arg = {self, event, 0};
    uint64_t seq = 0;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = brg_store_journal_append(self->store, topic, pack_event, &arg, &seq, &data, &size);
    event->topic = NULL; /* points at our stack */
    if (rc) {
        brg_error("not publishing %s: journal write failed: %s", topic,
                  brg_store_error(self->store));
        return -1;
    }
    if (self->nheld == self->cheld) {
        self->cheld = self->cheld ? self->cheld * 2 : 256;
        self->held = (held_event_t *)realloc(self->held, self->cheld * sizeof(held_event_t));
        if (!self->held)
            abort();
    }
    held_event_t *held = &self->held[self->nheld++];
    held->tlen = strlen(topic);
    memcpy(held->topic, topic, held->tlen);
    held->data = data;
    held->size = size;
    held->cap = arg.cap;
    brg_debug("journaled %s seq=%llu", topic, (unsigned long long)seq);
    if (self->tap)
        self->tap(self->tap_arg, kind, account_id, event);
    /* Inside a batch the event goes out only once its journal row is committed. */
    if (!brg_store_in_batch(self->store))
        brg_publisher_flush(self, true);
    return 0;
}

void brg_publisher_flush(brg_publisher_t *self, bool committed) {
    void *handle = zsock_resolve(self->pub);
    /* every rollback, even one with nothing held (a checkpoint already sent its events):
       what the tap saw of the batch may not have happened */
    if (!committed && self->tap)
        self->tap(self->tap_arg, NULL, NULL, NULL);
    for (size_t i = 0; i < self->nheld; i++) {
        held_event_t *held = &self->held[i];
        if (committed) {
            /* PUB never blocks: past the HWM a subscriber just misses it (and replays). */
            zmq_send(handle, held->topic, held->tlen, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send(handle, held->data, held->size, ZMQ_DONTWAIT);
            self->published++;
        }
        release(self, held->data, held->cap);
    }
    self->nheld = 0;
}

void brg_publisher_set_tap(brg_publisher_t *self, brg_publisher_tap_fn *tap, void *arg) {
    self->tap = tap;
    self->tap_arg = arg;
}

int brg_publisher_emit_fn(void *arg, const char *kind, const char *account_id,
                          Xtbridge__Event *event) {
    return brg_publisher_emit((brg_publisher_t *)arg, kind, account_id, event);
}

void brg_publisher_advertise(brg_publisher_t *self, const char *advertise) {
    free(self->endpoints);
    self->endpoints =
        brg_publisher_announce(self->configured, zsock_endpoint(self->pub), advertise);
    if (!*self->endpoints)
        brg_warn("the PUB connects out (%s) and no --pub-advertise is set: hello announces no "
                 "PUB endpoint, so each client must be given it (e.g. xtbctl --pub)",
                 self->configured);
    else if (advertise && *advertise)
        brg_info("hello announces the PUB as %s (--pub-advertise)", self->endpoints);
}

const char *brg_publisher_endpoints(brg_publisher_t *self) {
    return self->endpoints;
}

zsock_t *brg_publisher_socket(brg_publisher_t *self) {
    return self->pub;
}

uint64_t brg_publisher_count(brg_publisher_t *self) {
    return self->published;
}

size_t brg_publisher_held(brg_publisher_t *self) {
    return self->nheld;
}
