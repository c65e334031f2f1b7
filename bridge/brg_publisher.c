/*  brg_publisher.c - topic, seq, journal, send (see brg_publisher.h). */
#include "brg_publisher.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brg_log.h"

struct brg_publisher {
    zsock_t *pub;
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
};

typedef struct held_event {
    char topic[256];
    size_t tlen;
    uint8_t *data; /* the packed event, malloc'd by the store's pack callback */
    size_t size;
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
    zsock_t *pub = zsock_new(ZMQ_PUB);
    if (!pub) {
        snprintf(err, errlen, "cannot create PUB socket");
        return NULL;
    }
    /* Slow subscribers lose pushes past this mark; replay fills the gap. */
    zsock_set_sndhwm(pub, 100000);
    zsock_set_linger(pub, 200);
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
    return self;
}

void brg_publisher_destroy(brg_publisher_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_publisher_t *self = *self_p;
    brg_publisher_flush(self, false);
    free(self->held);
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
    Xtbridge__Event *event;
} pack_arg_t;

static uint8_t *pack_event(void *arg, uint64_t seq, size_t *size) {
    Xtbridge__Event *event = ((pack_arg_t *)arg)->event;
    event->seq = seq;
    *size = xtbridge__event__get_packed_size(event);
    uint8_t *data = (uint8_t *)malloc(*size);
    if (data)
        xtbridge__event__pack(event, data);
    return data;
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
    pack_arg_t arg = {event};
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
        free(held->data);
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

uint64_t brg_publisher_count(brg_publisher_t *self) {
    return self->published;
}

size_t brg_publisher_held(brg_publisher_t *self) {
    return self->nheld;
}
