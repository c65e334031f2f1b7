/*  xtb_client.c - C client of the xtbridge ZeroMQ bus (see xtb_client.h).

    Requests go out on a DEALER as one frame; the reply is matched by request_id, because a
    DEALER gets every reply addressed to its routing id, including late replies to calls
    that already timed out. Pushes come in on a SUB created lazily on the first subscribe,
    connected to the endpoint(s) the bridge announces in hello so that users only ever
    configure the request endpoint. An announced wildcard host ("tcp://" "*:58611") becomes the
    host this client reached the ROUTER at: the one address known to lead to the bridge.
*/
#include "xtb_client.h"
#include "xtb_memstream.h"

#include <czmq.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *topic;
    Xtbridge__Event *event;
    bool recovered; /* came from a replay (or after one): never triggers another */
} pending_event_t;

struct _xtb_client_t {
    zsock_t *dealer;
    zpoller_t *dealer_poller;
    zsock_t *sub;
    zpoller_t *sub_poller;
    char *routing_id;
    char *client_name;
    char *pub_endpoint;
    bool pub_override; /* pub_endpoint came from the options: hello does not replace it */
    char *router_endpoint;
    int hello_timeout_ms;
    char id_prefix[24]; /* random per client: request ids never repeat across restarts */
    uint64_t next_id;
    char last_request_id[128];
    xtb_client_errkind_t errkind;
    char error[512];
    size_t stale;
    size_t replay_requests; /* pages asked for by the last replay */
    zlist_t *subs;          /* user subscription prefixes (char *, duplicates kept) */
    zlist_t *pending;       /* pending_event_t * kept by sync_subscriptions */
    zcert_t *curve_cert;    /* CURVE: ours (with secret key), NULL = plain */
    char *curve_server;     /* the bridge's public key, z85 */
    /* Recovery (see xtb_client_recv_event): off with options.raw_events. */
    bool raw_events;
    int sub_rcvhwm;
    zhashx_t *last_seq; /* topic -> uint64_t *: last seq delivered */
    uint64_t epoch;     /* the journal epoch the seqs belong to; 0 = not known yet */
    char instance[64];  /* bridge instance of the last heartbeat */
    int64_t last_heartbeat_ms;
    uint32_t heartbeat_ms; /* interval the bridge announced (hello or a heartbeat) */
    xtb_client_recovery_t recovery;
};

/* Make a socket a CURVE client of the bridge (before it connects). */
static void apply_curve(xtb_client_t *self, zsock_t *sock) {
    if (!self->curve_cert)
        return;
    zcert_apply(self->curve_cert, sock);
    zsock_set_curve_serverkey(sock, self->curve_server);
}

/* Load our cert and the bridge's key. -1 when either is missing or unreadable. */
static int load_curve(xtb_client_t *self, const char *cert_file, const char *server) {
    if (!cert_file || !*cert_file || !server || !*server)
        return -1;
    self->curve_cert = zcert_load(cert_file);
    if (!self->curve_cert ||
        streq(zcert_secret_txt(self->curve_cert), "0000000000000000000000000000000000000000"))
        return -1;
    if (strlen(server) == 40 && !zsys_file_exists(server)) {
        self->curve_server = strdup(server);
        return 0;
    }
    zcert_t *cert = zcert_load(server);
    if (!cert)
        return -1;
    self->curve_server = strdup(zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

static void set_error(xtb_client_t *self, xtb_client_errkind_t kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(xtb_client_t *self, xtb_client_errkind_t kind, const char *fmt, ...) {
    self->errkind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->error, sizeof self->error, fmt, ap);
    va_end(ap);
}

static void clear_error(xtb_client_t *self) {
    self->errkind = XTB_CLIENT_OK;
    self->error[0] = '\0';
}

/* Random hex from a fresh UUID (czmq reads /dev/urandom or equivalent). */
static void random_hex(char *out, size_t chars) {
    zuuid_t *uuid = zuuid_new();
    const char *hex = zuuid_str(uuid);
    size_t n = strlen(hex);
    if (chars > n)
        chars = n;
    for (size_t i = 0; i < chars; i++)
        out[i] = (char)tolower((unsigned char)hex[i]);
    out[chars] = '\0';
    zuuid_destroy(&uuid);
}

xtb_client_t *xtb_client_new(const char *router_endpoint, const xtb_client_options_t *options) {
    if (!router_endpoint || !*router_endpoint)
        return NULL;
    xtb_client_t *self = (xtb_client_t *)zmalloc(sizeof *self);
    random_hex(self->id_prefix, 8);
    if (options && options->routing_id && *options->routing_id)
        self->routing_id = strdup(options->routing_id);
    else {
        char host[64] = "host";
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        char hex[17];
        random_hex(hex, 16);
        self->routing_id = zsys_sprintf("xtb-%s-%d-%s", host, (int)getpid(), hex);
    }
    self->client_name =
        strdup(options && options->client_name ? options->client_name : "xtbclient");
    if (options && options->pub_endpoint && *options->pub_endpoint) {
        self->pub_endpoint = strdup(options->pub_endpoint);
        self->pub_override = true;
    }
    self->router_endpoint = strdup(router_endpoint);
    self->hello_timeout_ms =
        options && options->hello_timeout_ms > 0 ? options->hello_timeout_ms : 5000;
    self->subs = zlist_new();
    self->pending = zlist_new();
    self->raw_events = options && options->raw_events;
    self->sub_rcvhwm = options && options->sub_rcvhwm > 0 ? options->sub_rcvhwm : 0;
    self->last_seq = zhashx_new();
    zhashx_set_destructor(self->last_seq, (zhashx_destructor_fn *)zstr_free);
    if (options && (options->curve_cert || options->curve_server) &&
        load_curve(self, options->curve_cert, options->curve_server))
        goto fail;

    self->dealer = zsock_new(ZMQ_DEALER);
    if (!self->dealer)
        goto fail;
    apply_curve(self, self->dealer);
    zsock_set_linger(self->dealer, 0);
    /* Stable routing id: the bridge keys idempotent retries by it. */
    zsock_set_identity(self->dealer, self->routing_id);
    if (zsock_attach(self->dealer, router_endpoint, false) != 0)
        goto fail;
    self->dealer_poller = zpoller_new(self->dealer, NULL);
    if (!self->dealer_poller)
        goto fail;
    return self;
fail:
    xtb_client_destroy(&self);
    return NULL;
}

static void pending_free(pending_event_t **p_p) {
    if (p_p && *p_p) {
        free((*p_p)->topic);
        xtb_event_destroy(&(*p_p)->event);
        free(*p_p);
        *p_p = NULL;
    }
}

void xtb_client_destroy(xtb_client_t **self_p) {
    if (!self_p || !*self_p)
        return;
    xtb_client_t *self = *self_p;
    zpoller_destroy(&self->sub_poller);
    zsock_destroy(&self->sub);
    zpoller_destroy(&self->dealer_poller);
    zsock_destroy(&self->dealer);
    if (self->subs) {
        char *s;
        while ((s = (char *)zlist_pop(self->subs)))
            free(s);
        zlist_destroy(&self->subs);
    }
    if (self->pending) {
        pending_event_t *p;
        while ((p = (pending_event_t *)zlist_pop(self->pending)))
            pending_free(&p);
        zlist_destroy(&self->pending);
    }
    zhashx_destroy(&self->last_seq);
    free(self->routing_id);
    free(self->client_name);
    free(self->pub_endpoint);
    free(self->router_endpoint);
    zcert_destroy(&self->curve_cert);
    free(self->curve_server);
    free(self);
    *self_p = NULL;
}

/* Remaining ms until deadline (-1 = forever, 0 = expired). */
static int remaining_ms(int64_t deadline) {
    if (deadline < 0)
        return -1;
    int64_t left = deadline - zclock_mono();
    return left > 0 ? (int)left : 0;
}

int xtb_client_recv_reply(xtb_client_t *self, const char *request_id, int timeout_ms,
                          Xtbridge__Reply **reply_out) {
    *reply_out = NULL;
    int64_t deadline = timeout_ms < 0 ? -1 : zclock_mono() + timeout_ms;
    while (true) {
        void *which = zpoller_wait(self->dealer_poller, remaining_ms(deadline));
        if (!which) {
            if (zpoller_terminated(self->dealer_poller)) {
                set_error(self, XTB_CLIENT_TRANSPORT, "interrupted waiting for reply to %s",
                          request_id);
                return -1;
            }
            if (remaining_ms(deadline) == 0) {
                set_error(self, XTB_CLIENT_TIMEOUT, "timeout: no reply to %s within %d ms",
                          request_id, timeout_ms);
                return -1;
            }
            continue; /* spurious wakeup */
        }
        zmsg_t *msg = zmsg_recv(self->dealer);
        if (!msg) {
            set_error(self, XTB_CLIENT_TRANSPORT, "receive failed: %s", zmq_strerror(errno));
            return -1;
        }
        /* A reply is one frame; tolerate leading delimiter frames (REQ-style peers). */
        zframe_t *last = zmsg_last(msg);
        Xtbridge__Reply *reply =
            last ? xtbridge__reply__unpack(NULL, zframe_size(last), zframe_data(last)) : NULL;
        zmsg_destroy(&msg);
        if (!reply) {
            self->stale++; /* undecodable: cannot be ours, keep waiting */
            continue;
        }
        if (reply->request_id && strcmp(reply->request_id, request_id) == 0) {
            *reply_out = reply;
            return 0;
        }
        /* Late reply to a call that timed out earlier. */
        self->stale++;
        xtbridge__reply__free_unpacked(reply, NULL);
    }
}

int xtb_client_call(xtb_client_t *self, Xtbridge__Request *req, int timeout_ms,
                    Xtbridge__Reply **reply_out) {
    if (!reply_out)
        return -1;
    *reply_out = NULL;
    clear_error(self);
    if (!req) {
        set_error(self, XTB_CLIENT_INVALID, "no request");
        return -1;
    }
    if (req->request_id && *req->request_id)
        snprintf(self->last_request_id, sizeof self->last_request_id, "%s", req->request_id);
    else
        snprintf(self->last_request_id, sizeof self->last_request_id, "%s-%" PRIu64,
                 self->id_prefix, ++self->next_id);

    /* Pack with our id without touching the caller's request. */
    char *saved = req->request_id;
    req->request_id = self->last_request_id;
    size_t len = protobuf_c_message_get_packed_size(&req->base);
    zframe_t *frame = zframe_new(NULL, len);
    protobuf_c_message_pack(&req->base, zframe_data(frame));
    req->request_id = saved;

    int sndtimeo = timeout_ms < 0 ? -1 : timeout_ms;
    zsock_set_sndtimeo(self->dealer, sndtimeo);
    if (zframe_send(&frame, self->dealer, 0) != 0) {
        int err = errno;
        zframe_destroy(&frame);
        if (err == EAGAIN)
            set_error(self, XTB_CLIENT_TIMEOUT, "timeout: could not send %s within %d ms",
                      self->last_request_id, timeout_ms);
        else
            set_error(self, XTB_CLIENT_TRANSPORT, "send failed: %s", zmq_strerror(err));
        return -1;
    }
    return xtb_client_recv_reply(self, self->last_request_id, timeout_ms, reply_out);
}

int xtb_client_call_ok(xtb_client_t *self, Xtbridge__Request *req, int timeout_ms,
                       Xtbridge__Reply **reply_out) {
    if (xtb_client_call(self, req, timeout_ms, reply_out) != 0)
        return -1;
    Xtbridge__Reply *reply = *reply_out;
    int code = reply->error ? (int)reply->error->code : 0;
    if (code != XTBRIDGE__ERROR_CODE__OK) {
        set_error(self, XTB_CLIENT_OK, "%s: %s", xtb_error_code_name(code),
                  reply->error->message ? reply->error->message : "");
        return -1;
    }
    return 0;
}

int xtb_client_send_raw(xtb_client_t *self, const void *const *frames, const size_t *sizes,
                        size_t nframes) {
    clear_error(self);
    zmsg_t *msg = zmsg_new();
    for (size_t i = 0; i < nframes; i++)
        zmsg_addmem(msg, frames[i], sizes[i]);
    zsock_set_sndtimeo(self->dealer, 1000);
    if (zmsg_send(&msg, self->dealer) != 0) {
        zmsg_destroy(&msg);
        set_error(self, XTB_CLIENT_TRANSPORT, "send failed: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

int xtb_client_hello(xtb_client_t *self, int timeout_ms, Xtbridge__Reply **reply_out) {
    if (reply_out)
        *reply_out = NULL;
    Xtbridge__Request *req = xtb_req_hello(self->client_name);
    Xtbridge__Reply *reply = NULL;
    int rc = xtb_client_call_ok(self, req, timeout_ms, &reply);
    xtb_request_destroy(&req);
    if (rc == 0 && reply->result_case != XTBRIDGE__REPLY__RESULT_HELLO) {
        set_error(self, XTB_CLIENT_INVALID, "hello reply without hello result");
        rc = -1;
    }
    if (rc == 0 && !self->epoch)
        self->epoch = reply->hello->bridge_epoch; /* the seqs we will track belong to it */
    if (rc == 0 && reply->hello->heartbeat_ms > 0)
        self->heartbeat_ms = (uint32_t)reply->hello->heartbeat_ms;
    if (rc == 0 && !self->sub) {
        /* Remember the PUB endpoints unless the SUB is already connected or the user gave
           them. */
        Xtbridge__HelloReply *hello = reply->hello;
        char *joined = NULL;
        for (size_t i = 0; i < hello->n_pub_endpoints && !self->pub_override; i++) {
            char *ep = xtb_pub_endpoint_for(hello->pub_endpoints[i], self->router_endpoint);
            char *next = joined ? zsys_sprintf("%s,%s", joined, ep) : strdup(ep);
            free(ep);
            free(joined);
            joined = next;
        }
        if (joined) {
            free(self->pub_endpoint);
            self->pub_endpoint = joined;
        }
    }
    if (reply_out)
        *reply_out = reply;
    else
        xtb_reply_destroy(&reply);
    return rc;
}

/* Host part of the first tcp:// endpoint in a czmq endpoint list ("tcp://10.0.0.5:58610"
   -> "10.0.0.5", "tcp://[::1]:1" -> "[::1]", a "source;" prefix skipped), in buf; "" when
   there is none. */
static void router_host(const char *router_endpoint, char *buf, size_t len) {
    buf[0] = '\0';
    for (const char *tok = router_endpoint; tok && *tok;) {
        const char *end = strchr(tok, ',');
        size_t n = end ? (size_t)(end - tok) : strlen(tok);
        while (n && (*tok == '@' || *tok == '>' || *tok == ' '))
            tok++, n--;
        if (n > 6 && strncmp(tok, "tcp://", 6) == 0) {
            const char *host = tok + 6, *stop = tok + n;
            for (const char *p = host; p < stop; p++)
                if (*p == ';')
                    host = p + 1;
            const char *colon = NULL;
            for (const char *p = host; p < stop; p++)
                if (*p == ':' && (host[0] != '[' || (p > host && p[-1] == ']')))
                    colon = p;
            if (colon && colon > host) {
                snprintf(buf, len, "%.*s", (int)(colon - host), host);
                return;
            }
        }
        tok = end ? end + 1 : NULL;
    }
}

char *xtb_pub_endpoint_for(const char *announced, const char *router_endpoint) {
    if (!announced)
        return NULL;
    const char *colon = strrchr(announced, ':');
    const char *host = announced + 6;
    if (strncmp(announced, "tcp://", 6) != 0 || !colon || colon < host)
        return strdup(announced);
    size_t hlen = (size_t)(colon - host);
    bool wildcard = (hlen == 1 && *host == '*') || (hlen == 7 && !strncmp(host, "0.0.0.0", 7)) ||
                    (hlen == 4 && !strncmp(host, "[::]", 4)) ||
                    (hlen == 3 && !strncmp(host, "[*]", 3));
    if (!wildcard)
        return strdup(announced);
    char rhost[256];
    router_host(router_endpoint ? router_endpoint : "", rhost, sizeof rhost);
    /* no tcp ROUTER endpoint (ipc://): the bridge runs on this machine */
    return zsys_sprintf("tcp://%s%s", *rhost ? rhost : "127.0.0.1", colon);
}

static int ensure_sub(xtb_client_t *self) {
    if (self->sub)
        return 0;
    if (!self->pub_endpoint && xtb_client_hello(self, self->hello_timeout_ms, NULL) != 0)
        return -1;
    if (!self->pub_endpoint || !*self->pub_endpoint) {
        set_error(self, XTB_CLIENT_INVALID,
                  "the bridge announced no PUB endpoint (its PUB connects out to a proxy and "
                  "no --pub-advertise is set): give the client the PUB endpoint "
                  "(option pub_endpoint)");
        return -1;
    }
    self->sub = zsock_new(ZMQ_SUB);
    if (!self->sub) {
        set_error(self, XTB_CLIENT_TRANSPORT, "cannot create SUB socket");
        return -1;
    }
    zsock_set_linger(self->sub, 0);
    /* by default as deep as the bridge's PUB queue (100,000): a burst of fills waits here
       instead of being dropped while the application is busy; what overflows both is
       found by seq and replayed */
    zsock_set_rcvhwm(self->sub, self->sub_rcvhwm ? self->sub_rcvhwm : 100000);
    apply_curve(self, self->sub);
    if (zsock_attach(self->sub, self->pub_endpoint, false) != 0) {
        set_error(self, XTB_CLIENT_INVALID, "cannot connect SUB to %s", self->pub_endpoint);
        zsock_destroy(&self->sub);
        return -1;
    }
    self->sub_poller = zpoller_new(self->sub, NULL);
    /* heartbeats feed the watchdog (bridge gone, bridge restarted); the user sees them only
       when subscribed to them */
    if (!self->raw_events)
        zsock_set_subscribe(self->sub, "heartbeat.");
    return 0;
}

int xtb_client_subscribe(xtb_client_t *self, const char *topic_prefix) {
    clear_error(self);
    if (!topic_prefix)
        topic_prefix = "";
    if (ensure_sub(self) != 0)
        return -1;
    zsock_set_subscribe(self->sub, topic_prefix);
    zlist_append(self->subs, strdup(topic_prefix));
    return 0;
}

int xtb_client_unsubscribe(xtb_client_t *self, const char *topic_prefix) {
    clear_error(self);
    if (!topic_prefix)
        topic_prefix = "";
    char *s;
    for (s = (char *)zlist_first(self->subs); s; s = (char *)zlist_next(self->subs))
        if (strcmp(s, topic_prefix) == 0)
            break;
    if (!s || !self->sub) {
        set_error(self, XTB_CLIENT_INVALID, "not subscribed to \"%s\"", topic_prefix);
        return -1;
    }
    zlist_remove(self->subs, s);
    free(s);
    zsock_set_unsubscribe(self->sub, topic_prefix);
    return 0;
}

static bool user_wants(xtb_client_t *self, const char *topic) {
    for (char *s = (char *)zlist_first(self->subs); s; s = (char *)zlist_next(self->subs))
        if (strncmp(topic, s, strlen(s)) == 0)
            return true;
    return false;
}

/* One push from the SUB socket, skipping undecodable ones. */
static int recv_sub(xtb_client_t *self, int64_t deadline, int timeout_ms, char **topic_out,
                    Xtbridge__Event **event_out) {
    while (true) {
        void *which = zpoller_wait(self->sub_poller, remaining_ms(deadline));
        if (!which) {
            if (zpoller_terminated(self->sub_poller)) {
                set_error(self, XTB_CLIENT_TRANSPORT, "interrupted waiting for a push");
                return -1;
            }
            if (remaining_ms(deadline) == 0) {
                set_error(self, XTB_CLIENT_TIMEOUT, "timeout: no push within %d ms", timeout_ms);
                return -1;
            }
            continue;
        }
        zmsg_t *msg = zmsg_recv(self->sub);
        if (!msg) {
            set_error(self, XTB_CLIENT_TRANSPORT, "receive failed: %s", zmq_strerror(errno));
            return -1;
        }
        if (zmsg_size(msg) != 2) {
            zmsg_destroy(&msg);
            continue;
        }
        zframe_t *tf = zmsg_first(msg);
        zframe_t *ef = zmsg_next(msg);
        Xtbridge__Event *event = xtbridge__event__unpack(NULL, zframe_size(ef), zframe_data(ef));
        if (!event) {
            zmsg_destroy(&msg);
            continue;
        }
        *topic_out = zframe_strdup(tf);
        *event_out = event;
        zmsg_destroy(&msg);
        return 0;
    }
}

int xtb_client_sync_subscriptions(xtb_client_t *self, int timeout_ms) {
    clear_error(self);
    if (ensure_sub(self) != 0)
        return -1;
    zsock_set_subscribe(self->sub, "heartbeat.");
    int64_t deadline = timeout_ms < 0 ? -1 : zclock_mono() + timeout_ms;
    int rc = -1;
    while (true) {
        char *topic = NULL;
        Xtbridge__Event *event = NULL;
        if (recv_sub(self, deadline, timeout_ms, &topic, &event) != 0)
            break;
        bool heartbeat = event->body_case == XTBRIDGE__EVENT__BODY_HEARTBEAT &&
                         strncmp(topic, "heartbeat.", 10) == 0;
        if (user_wants(self, topic)) {
            pending_event_t *p = (pending_event_t *)zmalloc(sizeof *p);
            p->topic = topic;
            p->event = event;
            zlist_append(self->pending, p);
        } else {
            free(topic);
            xtb_event_destroy(&event);
        }
        if (heartbeat) {
            rc = 0;
            break;
        }
    }
    /* libzmq also filters on the SUB side, so heartbeats in flight stop here. */
    zsock_set_unsubscribe(self->sub, "heartbeat.");
    if (rc != 0 && self->errkind == XTB_CLIENT_TIMEOUT)
        set_error(self, XTB_CLIENT_TIMEOUT, "timeout: no heartbeat within %d ms", timeout_ms);
    return rc;
}

/* --- recovery: what the Python client does, so every client hides the bus the same way.
   Per topic the last seq delivered; a push at or below it is a duplicate (a second PUB
   endpoint, a replay overlapping live pushes) and is dropped; one above last+1 means pushes
   were lost (slow consumer past the HWM, a reconnect): the gap is replayed from the
   bridge's journal, page by page, and delivered in seq order before that push. Heartbeats
   watch the bridge: after a silence of 3 intervals, or a new instance (a restart), every
   tracked topic is replayed from its last seq, so a quiet topic's missed pushes come too.
   A new journal epoch (the bridge's data dir was replaced) resets the tracking. */

static bool no_replay_topic(const char *topic) {
    return strncmp(topic, "heartbeat.", 10) == 0 || strncmp(topic, "connected.", 10) == 0 ||
           strncmp(topic, "disconnected.", 13) == 0;
}

static uint64_t *tracked(xtb_client_t *self, const char *topic) {
    return (uint64_t *)zhashx_lookup(self->last_seq, topic);
}

static void track(xtb_client_t *self, const char *topic, uint64_t seq) {
    uint64_t *last = tracked(self, topic);
    if (!last) {
        last = (uint64_t *)zmalloc(sizeof *last);
        zhashx_insert(self->last_seq, topic, last);
    }
    *last = seq;
}

typedef struct {
    zlist_t *events; /* pending_event_t *, in replay order */
} collect_t;

static int collect_event(const Xtbridge__Event *ev, void *arg) {
    collect_t *c = (collect_t *)arg;
    size_t size = xtbridge__event__get_packed_size(ev);
    uint8_t *buf = (uint8_t *)malloc(size ? size : 1);
    if (!buf)
        return 1;
    xtbridge__event__pack(ev, buf);
    pending_event_t *p = (pending_event_t *)zmalloc(sizeof *p);
    p->event = xtbridge__event__unpack(NULL, size, buf);
    free(buf);
    p->topic = strdup(ev->topic ? ev->topic : "");
    p->recovered = true;
    if (!p->event) {
        free(p->topic);
        free(p);
        return 1;
    }
    zlist_append(c->events, p);
    return 0;
}

/* Replay `topic` after `after` and put what comes back at the front of the pending list,
   ahead of `then` (the push that showed the gap, may be NULL). Keeps the client's error
   state: a failed replay is counted, not reported as the receive's failure. */
static void recover(xtb_client_t *self, const char *topic, uint64_t after, pending_event_t *then) {
    collect_t c = {zlist_new()};
    xtb_client_errkind_t kind = self->errkind;
    char error[sizeof self->error];
    memcpy(error, self->error, sizeof error);
    size_t pages = self->replay_requests;
    const char *topics[] = {topic};
    if (xtb_client_replay(self, topic, topics, &after, 1, self->hello_timeout_ms, collect_event,
                          &c) < 0)
        self->recovery.failed_replays++;
    self->recovery.replays++;
    self->replay_requests = pages;
    self->errkind = kind;
    memcpy(self->error, error, sizeof error);
    /* front of the pending list: the replayed events, then `then`, then what was there */
    zlist_t *rest = self->pending;
    self->pending = c.events;
    self->recovery.replayed_events += zlist_size(c.events);
    if (then)
        zlist_append(self->pending, then);
    pending_event_t *p;
    while ((p = (pending_event_t *)zlist_pop(rest)))
        zlist_append(self->pending, p);
    zlist_destroy(&rest);
}

/* A heartbeat: note it; after a silence or a restart, replay every tracked topic. */
static void watch_heartbeat(xtb_client_t *self, const Xtbridge__Event *ev) {
    const Xtbridge__Heartbeat *hb = ev->heartbeat;
    int64_t now = zclock_mono();
    if (hb && hb->interval_ms)
        self->heartbeat_ms = hb->interval_ms;
    bool restarted =
        hb && hb->instance_id && *self->instance && strcmp(hb->instance_id, self->instance) != 0;
    bool silent = self->last_heartbeat_ms && self->heartbeat_ms &&
                  now - self->last_heartbeat_ms > 3 * (int64_t)self->heartbeat_ms;
    if (hb && hb->instance_id)
        snprintf(self->instance, sizeof self->instance, "%s", hb->instance_id);
    self->last_heartbeat_ms = now;
    if (!restarted && !silent)
        return;
    self->recovery.catch_ups++;
    /* recover() only queues events: the table is not changed while we walk it */
    for (uint64_t *seq = (uint64_t *)zhashx_first(self->last_seq); seq;
         seq = (uint64_t *)zhashx_next(self->last_seq)) {
        const char *topic = (const char *)zhashx_cursor(self->last_seq);
        if (!no_replay_topic(topic))
            recover(self, topic, *seq, NULL);
    }
}

/* Whether `p` goes to the user now. May replay (then p is queued behind the replayed
   events and false is returned: the caller takes the next pending event). Takes p. */
static bool accept_event(xtb_client_t *self, pending_event_t *p, bool *deliver) {
    *deliver = false;
    Xtbridge__Event *ev = p->event;
    if (self->raw_events) {
        *deliver = true;
        return true;
    }
    if (ev->body_case == XTBRIDGE__EVENT__BODY_HEARTBEAT && !p->recovered)
        watch_heartbeat(self, ev);
    if (ev->bridge_epoch && self->epoch && ev->bridge_epoch != self->epoch) {
        /* the journal was replaced: the seqs we hold mean nothing there */
        self->recovery.epoch_changes++;
        zhashx_purge(self->last_seq);
    }
    if (ev->bridge_epoch)
        self->epoch = ev->bridge_epoch;
    uint64_t *last = tracked(self, p->topic);
    if (last && ev->seq && ev->seq <= *last) {
        self->recovery.duplicates++;
        pending_free(&p);
        return true;
    }
    if (last && ev->seq > *last + 1 && !p->recovered && !no_replay_topic(p->topic)) {
        self->recovery.gaps++;
        p->recovered = true; /* whatever the replay brings, this one is not a gap again */
        recover(self, p->topic, *last, p);
        return false;
    }
    if (last && ev->seq > *last + 1 && p->recovered && !no_replay_topic(p->topic))
        self->recovery.unrecovered += ev->seq - *last - 1; /* pruned, or the replay failed */
    if (ev->seq)
        track(self, p->topic, ev->seq);
    *deliver = user_wants(self, p->topic);
    if (!*deliver)
        pending_free(&p);
    return true;
}

int xtb_client_recv_event(xtb_client_t *self, int timeout_ms, char **topic,
                          Xtbridge__Event **event) {
    clear_error(self);
    if (topic)
        *topic = NULL;
    if (event)
        *event = NULL;
    if (!self->sub && zlist_size(self->pending) == 0) {
        set_error(self, XTB_CLIENT_INVALID, "nothing subscribed");
        return -1;
    }
    int64_t deadline = timeout_ms < 0 ? -1 : zclock_mono() + timeout_ms;
    while (true) {
        pending_event_t *p = (pending_event_t *)zlist_pop(self->pending);
        if (!p) {
            p = (pending_event_t *)zmalloc(sizeof *p);
            if (recv_sub(self, deadline, timeout_ms, &p->topic, &p->event) != 0) {
                free(p);
                return -1;
            }
        }
        bool deliver = false;
        bool done = accept_event(self, p, &deliver);
        if (!done || !deliver)
            continue;
        if (topic)
            *topic = p->topic;
        else
            free(p->topic);
        if (event)
            *event = p->event;
        else
            xtb_event_destroy(&p->event);
        free(p);
        return 0;
    }
}

void xtb_client_recovery(xtb_client_t *self, xtb_client_recovery_t *out) {
    *out = self->recovery;
}

/* The after map of a replay, kept in the request itself so that each page's request is
   the previous one with updated values. `index` finds a topic's entry; entries are owned
   by the request. */
typedef struct {
    Xtbridge__ReplayRequest *body;
    size_t cap;
    zhashx_t *index; /* topic -> Xtbridge__ReplayRequest__AfterEntry * */
} after_map_t;

/* The entry of `topic`, added with value 0 if missing; NULL if out of memory. */
static Xtbridge__ReplayRequest__AfterEntry *after_entry(after_map_t *map, const char *topic) {
    Xtbridge__ReplayRequest__AfterEntry *e =
        (Xtbridge__ReplayRequest__AfterEntry *)zhashx_lookup(map->index, topic);
    if (e)
        return e;
    Xtbridge__ReplayRequest *m = map->body;
    if (m->n_after == map->cap) {
        size_t cap = map->cap ? map->cap * 2 : 8;
        void *grown = realloc(m->after, cap * sizeof *m->after);
        if (!grown)
            return NULL;
        m->after = (Xtbridge__ReplayRequest__AfterEntry **)grown;
        map->cap = cap;
    }
    e = (Xtbridge__ReplayRequest__AfterEntry *)zmalloc(sizeof *e);
    xtbridge__replay_request__after_entry__init(e);
    e->key = strdup(topic);
    m->after[m->n_after++] = e;
    zhashx_insert(map->index, topic, e);
    return e;
}

int xtb_client_replay_max(xtb_client_t *self, const char *topic_prefix, const char *const *topics,
                          const uint64_t *seqs, size_t n, uint32_t max_events, int timeout_ms,
                          xtb_event_fn *fn, void *arg) {
    clear_error(self);
    self->replay_requests = 0;
    if (n > 0 && (!topics || !seqs)) {
        set_error(self, XTB_CLIENT_INVALID, "replay: %zu after entries without arrays", n);
        return -1;
    }
    Xtbridge__Request *req = xtb_req_replay(topic_prefix, NULL, NULL, 0, max_events);
    after_map_t map = {.body = req->replay, .cap = 0, .index = zhashx_new()};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        Xtbridge__ReplayRequest__AfterEntry *e = after_entry(&map, topics[i] ? topics[i] : "");
        if (e)
            e->value = seqs[i];
        else {
            set_error(self, XTB_CLIENT_INVALID, "replay: out of memory");
            rc = -1;
        }
    }
    int count = 0;
    uint64_t epoch = 0;
    while (rc == 0) {
        /* req->request_id stays empty: every page is a new request with a new id. */
        Xtbridge__Reply *reply = NULL;
        rc = xtb_client_call_ok(self, req, timeout_ms, &reply);
        if (rc == 0)
            self->replay_requests++;
        if (rc == 0 && reply->result_case != XTBRIDGE__REPLY__RESULT_REPLAY) {
            set_error(self, XTB_CLIENT_INVALID, "replay reply without replay result");
            rc = -1;
        }
        const Xtbridge__ReplayReply *page = rc == 0 ? reply->replay : NULL;
        if (page && epoch && page->bridge_epoch && page->bridge_epoch != epoch) {
            set_error(self, XTB_CLIENT_INVALID,
                      "replay: the bridge's journal was reset meanwhile (epoch %" PRIu64
                      " -> %" PRIu64 ")",
                      epoch, page->bridge_epoch);
            rc = -1;
            page = NULL;
        }
        if (page && page->bridge_epoch)
            epoch = page->bridge_epoch;
        bool progressed = false, stop = false;
        for (size_t i = 0; page && i < page->n_events && !stop; i++) {
            const Xtbridge__Event *ev = page->events[i];
            Xtbridge__ReplayRequest__AfterEntry *e = after_entry(&map, ev->topic ? ev->topic : "");
            if (!e) {
                set_error(self, XTB_CLIENT_INVALID, "replay: out of memory");
                rc = -1;
                break;
            }
            if (ev->seq <= e->value)
                continue; /* already passed to fn, or not after the caller's after */
            e->value = ev->seq;
            progressed = true;
            count++;
            if (fn && fn(ev, arg) != 0)
                stop = true;
        }
        bool more = page && page->more;
        xtb_reply_destroy(&reply);
        if (rc != 0 || stop || !more)
            break;
        if (!progressed) {
            set_error(self, XTB_CLIENT_INVALID,
                      "replay: the bridge said more but sent no new event");
            rc = -1;
        }
    }
    zhashx_destroy(&map.index);
    xtb_request_destroy(&req);
    return rc == 0 ? count : -1;
}

int xtb_client_replay(xtb_client_t *self, const char *topic_prefix, const char *const *topics,
                      const uint64_t *seqs, size_t n, int timeout_ms, xtb_event_fn *fn, void *arg) {
    return xtb_client_replay_max(self, topic_prefix, topics, seqs, n, 0, timeout_ms, fn, arg);
}

size_t xtb_client_replay_requests(xtb_client_t *self) {
    return self->replay_requests;
}

xtb_client_errkind_t xtb_client_errkind(xtb_client_t *self) {
    return self->errkind;
}
const char *xtb_client_error(xtb_client_t *self) {
    return self->error;
}
const char *xtb_client_routing_id(xtb_client_t *self) {
    return self->routing_id;
}
const char *xtb_client_last_request_id(xtb_client_t *self) {
    return self->last_request_id;
}
const char *xtb_client_pub_endpoint(xtb_client_t *self) {
    return self->pub_endpoint;
}
size_t xtb_client_stale_replies(xtb_client_t *self) {
    return self->stale;
}

void xtb_reply_destroy(Xtbridge__Reply **reply_p) {
    if (reply_p && *reply_p) {
        xtbridge__reply__free_unpacked(*reply_p, NULL);
        *reply_p = NULL;
    }
}

void xtb_event_destroy(Xtbridge__Event **event_p) {
    if (event_p && *event_p) {
        xtbridge__event__free_unpacked(*event_p, NULL);
        *event_p = NULL;
    }
}

/* ---------------------------------------------------------------------------------------
   Request builders: heap trees with every string strdup'ed, so protobuf-c's
   free_unpacked (default allocator = malloc/free) releases them.                        */

static Xtbridge__Request *req_new(void) {
    Xtbridge__Request *req = (Xtbridge__Request *)zmalloc(sizeof *req);
    xtbridge__request__init(req);
    return req;
}

static char *dup_str(const char *s) {
    return strdup(s ? s : "");
}

static Xtbridge__Account *account_new(const char *account_id) {
    if (!account_id || !*account_id)
        return NULL;
    Xtbridge__Account *acc = (Xtbridge__Account *)zmalloc(sizeof *acc);
    xtbridge__account__init(acc);
    acc->account_id = strdup(account_id);
    return acc;
}

Xtbridge__Request *xtb_req_hello(const char *client_name) {
    Xtbridge__HelloRequest *m = (Xtbridge__HelloRequest *)zmalloc(sizeof *m);
    xtbridge__hello_request__init(m);
    m->client_name = dup_str(client_name ? client_name : "xtbclient");
    m->client_version = dup_str("0.1.0");
    m->protocol_version = 2; /* pull-based replay */
    Xtbridge__Request *req = req_new();
    req->body_case = XTBRIDGE__REQUEST__BODY_HELLO;
    req->hello = m;
    return req;
}

Xtbridge__Request *xtb_req_ping(int64_t client_time_ns) {
    Xtbridge__PingRequest *m = (Xtbridge__PingRequest *)zmalloc(sizeof *m);
    xtbridge__ping_request__init(m);
    m->client_time_ns = client_time_ns;
    Xtbridge__Request *req = req_new();
    req->body_case = XTBRIDGE__REQUEST__BODY_PING;
    req->ping = m;
    return req;
}

Xtbridge__Request *xtb_req_stats(void) {
    Xtbridge__StatsRequest *m = (Xtbridge__StatsRequest *)zmalloc(sizeof *m);
    xtbridge__stats_request__init(m);
    Xtbridge__Request *req = req_new();
    req->body_case = XTBRIDGE__REQUEST__BODY_STATS;
    req->stats = m;
    return req;
}

Xtbridge__Request *xtb_req_order(const char *account_id, const char *stock_code, int32_t order_type,
                                 int64_t volume, int32_t price_type, double price,
                                 const char *strategy, const char *remark, bool async) {
    Xtbridge__OrderStockRequest *m = (Xtbridge__OrderStockRequest *)zmalloc(sizeof *m);
    xtbridge__order_stock_request__init(m);
    m->account = account_new(account_id);
    m->stock_code = dup_str(stock_code);
    m->order_type = order_type;
    m->order_volume = volume;
    m->price_type = price_type;
    m->price = price;
    m->strategy_name = dup_str(strategy);
    m->order_remark = dup_str(remark);
    Xtbridge__Request *req = req_new();
    if (async) {
        req->body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC;
        req->order_stock_async = m;
    } else {
        req->body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK;
        req->order_stock = m;
    }
    return req;
}

Xtbridge__Request *xtb_req_cancel(const char *account_id, int64_t order_id, bool async) {
    Xtbridge__CancelOrderStockRequest *m = (Xtbridge__CancelOrderStockRequest *)zmalloc(sizeof *m);
    xtbridge__cancel_order_stock_request__init(m);
    m->account = account_new(account_id);
    m->order_id = order_id;
    Xtbridge__Request *req = req_new();
    if (async) {
        req->body_case = XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_ASYNC;
        req->cancel_order_stock_async = m;
    } else {
        req->body_case = XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK;
        req->cancel_order_stock = m;
    }
    return req;
}

Xtbridge__Request *xtb_req_cancel_sysid(const char *account_id, int32_t market,
                                        const char *order_sysid, bool async) {
    Xtbridge__CancelOrderStockSysidRequest *m =
        (Xtbridge__CancelOrderStockSysidRequest *)zmalloc(sizeof *m);
    xtbridge__cancel_order_stock_sysid_request__init(m);
    m->account = account_new(account_id);
    m->market = market;
    m->order_sysid = dup_str(order_sysid);
    Xtbridge__Request *req = req_new();
    if (async) {
        req->body_case = XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID_ASYNC;
        req->cancel_order_stock_sysid_async = m;
    } else {
        req->body_case = XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID;
        req->cancel_order_stock_sysid = m;
    }
    return req;
}

/* Whether `body` is a Request case carrying a message of type `desc`. */
static bool body_has_type(Xtbridge__Request__BodyCase body,
                          const ProtobufCMessageDescriptor *desc) {
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(&xtbridge__request__descriptor, (unsigned)body);
    return fd && (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && fd->type == PROTOBUF_C_TYPE_MESSAGE &&
           fd->descriptor == desc;
}

/* Store a body message in the request's oneof: every oneof member is a pointer at the same
   offset, so the field descriptor's offset works for any case. */
static void set_body(Xtbridge__Request *req, Xtbridge__Request__BodyCase body, void *msg) {
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(&xtbridge__request__descriptor, (unsigned)body);
    *(void **)((char *)req + fd->offset) = msg;
    req->body_case = body;
}

Xtbridge__Request *xtb_req_account(Xtbridge__Request__BodyCase body, const char *account_id) {
    if (!body_has_type(body, &xtbridge__account_request__descriptor))
        return NULL;
    Xtbridge__AccountRequest *m = (Xtbridge__AccountRequest *)zmalloc(sizeof *m);
    xtbridge__account_request__init(m);
    m->account = account_new(account_id);
    Xtbridge__Request *req = req_new();
    set_body(req, body, m);
    return req;
}

Xtbridge__Request *xtb_req_noargs(Xtbridge__Request__BodyCase body) {
    if (!body_has_type(body, &xtbridge__no_args_request__descriptor))
        return NULL;
    Xtbridge__NoArgsRequest *m = (Xtbridge__NoArgsRequest *)zmalloc(sizeof *m);
    xtbridge__no_args_request__init(m);
    Xtbridge__Request *req = req_new();
    set_body(req, body, m);
    return req;
}

Xtbridge__Request *xtb_req_query_order(const char *account_id, int64_t order_id) {
    Xtbridge__QueryStockOrderRequest *m = (Xtbridge__QueryStockOrderRequest *)zmalloc(sizeof *m);
    xtbridge__query_stock_order_request__init(m);
    m->account = account_new(account_id);
    m->order_id = order_id;
    Xtbridge__Request *req = req_new();
    req->body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDER;
    req->query_stock_order = m;
    return req;
}

Xtbridge__Request *xtb_req_query_orders(const char *account_id, bool cancelable_only) {
    Xtbridge__QueryStockOrdersRequest *m = (Xtbridge__QueryStockOrdersRequest *)zmalloc(sizeof *m);
    xtbridge__query_stock_orders_request__init(m);
    m->account = account_new(account_id);
    m->cancelable_only = cancelable_only;
    Xtbridge__Request *req = req_new();
    req->body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDERS;
    req->query_stock_orders = m;
    return req;
}

Xtbridge__Request *xtb_req_query_position(const char *account_id, const char *stock_code) {
    Xtbridge__QueryStockPositionRequest *m =
        (Xtbridge__QueryStockPositionRequest *)zmalloc(sizeof *m);
    xtbridge__query_stock_position_request__init(m);
    m->account = account_new(account_id);
    m->stock_code = dup_str(stock_code);
    Xtbridge__Request *req = req_new();
    req->body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITION;
    req->query_stock_position = m;
    return req;
}

Xtbridge__Request *xtb_req_replay(const char *topic_prefix, const char *const *topics,
                                  const uint64_t *seqs, size_t n, uint32_t max_events) {
    Xtbridge__ReplayRequest *m = (Xtbridge__ReplayRequest *)zmalloc(sizeof *m);
    xtbridge__replay_request__init(m);
    m->topic_prefix = dup_str(topic_prefix);
    m->max_events = max_events;
    if (n > 0) {
        m->n_after = n;
        m->after = (Xtbridge__ReplayRequest__AfterEntry **)zmalloc(n * sizeof *m->after);
        for (size_t i = 0; i < n; i++) {
            Xtbridge__ReplayRequest__AfterEntry *e =
                (Xtbridge__ReplayRequest__AfterEntry *)zmalloc(sizeof *e);
            xtbridge__replay_request__after_entry__init(e);
            e->key = dup_str(topics[i]);
            e->value = seqs[i];
            m->after[i] = e;
        }
    }
    Xtbridge__Request *req = req_new();
    req->body_case = XTBRIDGE__REQUEST__BODY_REPLAY;
    req->replay = m;
    return req;
}

Xtbridge__Request *xtb_req_sim_set_price(const char *stock_code, double last_price,
                                         double pre_close, int64_t liquidity) {
    Xtbridge__SimSetPriceRequest *m = (Xtbridge__SimSetPriceRequest *)zmalloc(sizeof *m);
    xtbridge__sim_set_price_request__init(m);
    m->stock_code = dup_str(stock_code);
    m->last_price = last_price;
    m->pre_close = pre_close;
    m->liquidity = liquidity;
    Xtbridge__Request *req = req_new();
    req->body_case = XTBRIDGE__REQUEST__BODY_SIM_SET_PRICE;
    req->sim_set_price = m;
    return req;
}

Xtbridge__Request *xtb_req_sim_tick(const char *stock_code, double last_price) {
    Xtbridge__SimTickRequest *m = (Xtbridge__SimTickRequest *)zmalloc(sizeof *m);
    xtbridge__sim_tick_request__init(m);
    m->stock_code = dup_str(stock_code);
    m->last_price = last_price;
    Xtbridge__Request *req = req_new();
    req->body_case = XTBRIDGE__REQUEST__BODY_SIM_TICK;
    req->sim_tick = m;
    return req;
}

Xtbridge__Request *xtb_req_sim_next_day(void) {
    Xtbridge__SimNextDayRequest *m = (Xtbridge__SimNextDayRequest *)zmalloc(sizeof *m);
    xtbridge__sim_next_day_request__init(m);
    Xtbridge__Request *req = req_new();
    req->body_case = XTBRIDGE__REQUEST__BODY_SIM_NEXT_DAY;
    req->sim_next_day = m;
    return req;
}

Xtbridge__Request *xtb_req_sim_set_account_status(const char *account_id, int32_t status) {
    Xtbridge__SimSetAccountStatusRequest *m =
        (Xtbridge__SimSetAccountStatusRequest *)zmalloc(sizeof *m);
    xtbridge__sim_set_account_status_request__init(m);
    m->account = account_new(account_id);
    m->status = status;
    Xtbridge__Request *req = req_new();
    req->body_case = XTBRIDGE__REQUEST__BODY_SIM_SET_ACCOUNT_STATUS;
    req->sim_set_account_status = m;
    return req;
}

Xtbridge__Request *xtb_req_sim_set_session(bool connected) {
    Xtbridge__SimSetSessionRequest *m = (Xtbridge__SimSetSessionRequest *)zmalloc(sizeof *m);
    xtbridge__sim_set_session_request__init(m);
    m->connected = connected;
    Xtbridge__Request *req = req_new();
    req->body_case = XTBRIDGE__REQUEST__BODY_SIM_SET_SESSION;
    req->sim_set_session = m;
    return req;
}

Xtbridge__Request *xtb_req_risk_kill_switch(const char *account_id, bool engaged,
                                            bool cancel_open) {
    Xtbridge__RiskKillSwitchRequest *m = (Xtbridge__RiskKillSwitchRequest *)zmalloc(sizeof *m);
    xtbridge__risk_kill_switch_request__init(m);
    if (account_id && *account_id)
        m->account = account_new(account_id);
    m->engaged = engaged;
    m->cancel_open = cancel_open;
    Xtbridge__Request *req = req_new();
    req->body_case = XTBRIDGE__REQUEST__BODY_RISK_KILL_SWITCH;
    req->risk_kill_switch = m;
    return req;
}

int xtb_request_set_id(Xtbridge__Request *req, const char *request_id) {
    if (!req || !request_id)
        return -1;
    char *copy = strdup(request_id);
    if (!copy)
        return -1;
    if (req->request_id && req->request_id != (char *)&protobuf_c_empty_string)
        free(req->request_id);
    req->request_id = copy;
    return 0;
}

void xtb_request_destroy(Xtbridge__Request **req_p) {
    if (req_p && *req_p) {
        protobuf_c_message_free_unpacked(&(*req_p)->base, NULL);
        *req_p = NULL;
    }
}

/* ---------------------------------------------------------------------------------------
   Names.                                                                                */

const char *xtb_error_code_name(int code) {
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&xtbridge__error_code__descriptor, code);
    if (v)
        return v->name;
    static char buf[32];
    snprintf(buf, sizeof buf, "UNKNOWN(%d)", code);
    return buf;
}

const char *xtb_request_body_name(Xtbridge__Request__BodyCase body) {
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(&xtbridge__request__descriptor, (unsigned)body);
    return fd && (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? fd->name : NULL;
}

const char *xtb_event_body_name(Xtbridge__Event__BodyCase body) {
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(&xtbridge__event__descriptor, (unsigned)body);
    return fd && (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? fd->name : NULL;
}

const char *xtb_order_status_name(int32_t status) {
    switch (status) {
    case 48:
        return "ORDER_UNREPORTED";
    case 49:
        return "ORDER_WAIT_REPORTING";
    case 50:
        return "ORDER_REPORTED";
    case 51:
        return "ORDER_REPORTED_CANCEL";
    case 52:
        return "ORDER_PARTSUCC_CANCEL";
    case 53:
        return "ORDER_PART_CANCEL";
    case 54:
        return "ORDER_CANCELED";
    case 55:
        return "ORDER_PART_SUCC";
    case 56:
        return "ORDER_SUCCEEDED";
    case 57:
        return "ORDER_JUNK";
    case 255:
        return "ORDER_UNKNOWN";
    default:
        return NULL;
    }
}

const char *xtb_order_type_name(int32_t order_type) {
    switch (order_type) {
    case 23:
        return "STOCK_BUY";
    case 24:
        return "STOCK_SELL";
    case 27:
        return "CREDIT_FIN_BUY";
    case 28:
        return "CREDIT_SLO_SELL";
    case 29:
        return "CREDIT_BUY_SECU_REPAY";
    case 30:
        return "CREDIT_DIRECT_SECU_REPAY";
    case 31:
        return "CREDIT_SELL_SECU_REPAY";
    case 32:
        return "CREDIT_DIRECT_CASH_REPAY";
    default:
        return NULL;
    }
}

const char *xtb_price_type_name(int32_t price_type) {
    switch (price_type) {
    case 5:
        return "LATEST_PRICE";
    case 11:
        return "FIX_PRICE";
    case 42:
        return "MARKET_SH_CONVERT_5_CANCEL";
    case 43:
        return "MARKET_SH_CONVERT_5_LIMIT";
    case 44:
        return "MARKET_PEER_PRICE_FIRST";
    case 45:
        return "MARKET_MINE_PRICE_FIRST";
    case 46:
        return "MARKET_SZ_INSTBUSI_RESTCANCEL";
    case 47:
        return "MARKET_SZ_CONVERT_5_CANCEL";
    case 48:
        return "MARKET_SZ_FULL_OR_CANCEL";
    /* the counter's own codes, which XtOrder.price_type reports (protocol.md §5.4); they
       never collide with the codes an order is sent with */
    case 49:
        return "BROKER_PRICE_ANY";
    case 50:
        return "BROKER_PRICE_LIMIT";
    case 51:
        return "BROKER_PRICE_BEST";
    default:
        return NULL;
    }
}

/* ---------------------------------------------------------------------------------------
   Reflection printer: walks protobuf-c descriptors, so every message of the contract
   (and any added later) prints without per-message code.                               */

typedef enum { FMT_JSON, FMT_TEXT } fmt_t;

static void print_message(FILE *f, const ProtobufCMessage *msg, fmt_t fmt, bool skip_defaults);

static void print_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void print_text_string(FILE *f, const char *s) {
    s = s ? s : "";
    if (*s && !strpbrk(s, " \t\n\r\"=,{}[]"))
        fputs(s, f);
    else
        print_json_string(f, s);
}

static void print_double(FILE *f, double d, fmt_t fmt) {
    if (isnan(d) || isinf(d))
        fputs(fmt == FMT_JSON ? "null" : (isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf")), f);
    else
        fprintf(f, "%.15g", d);
}

size_t xtb_field_element_size(ProtobufCType type) {
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static bool value_is_default(const ProtobufCFieldDescriptor *fd, const void *p) {
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return *(const uint32_t *)p == 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)p == 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)p == 0.0f;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)p == 0.0;
    case PROTOBUF_C_TYPE_BOOL:
        return !*(const protobuf_c_boolean *)p;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(const void *const *)p == NULL;
    }
    return true;
}

/*  The xtconstant name of an int32 field that holds one (order_type, order_status,
    price_type), for people reading the text form; NULL to print the number. The codes
    stay plain int32 on the wire and in JSON (protocol.md, "Numeric codes"). */
static const char *xtconstant_name(const char *field, int32_t value) {
    if (strcmp(field, "order_type") == 0)
        return xtb_order_type_name(value);
    if (strcmp(field, "order_status") == 0)
        return xtb_order_status_name(value);
    if (strcmp(field, "price_type") == 0 || strcmp(field, "requested_price_type") == 0)
        return xtb_price_type_name(value);
    return NULL;
}

static void print_value(FILE *f, const ProtobufCFieldDescriptor *fd, const void *p, fmt_t fmt,
                        bool skip_defaults) {
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
        const char *name = fmt == FMT_TEXT ? xtconstant_name(fd->name, *(const int32_t *)p) : NULL;
        if (name)
            fputs(name, f);
        else
            fprintf(f, "%" PRId32, *(const int32_t *)p);
        break;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        fprintf(f, "%" PRIu32, *(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        fprintf(f, "%" PRId64, *(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        fprintf(f, "%" PRIu64, *(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        print_double(f, *(const float *)p, fmt);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        print_double(f, *(const double *)p, fmt);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        fputs(*(const protobuf_c_boolean *)p ? "true" : "false", f);
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
            (const ProtobufCEnumDescriptor *)fd->descriptor, v);
        if (ev && fmt == FMT_JSON)
            print_json_string(f, ev->name);
        else if (ev)
            fputs(ev->name, f);
        else
            fprintf(f, "%d", v);
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        if (fmt == FMT_JSON)
            print_json_string(f, s);
        else
            print_text_string(f, s);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = (const ProtobufCBinaryData *)p;
        fputc('"', f);
        for (size_t i = 0; i < b->len; i++)
            fprintf(f, "%02x", b->data[i]);
        fputc('"', f);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(const ProtobufCMessage *const *)p;
        if (m)
            print_message(f, m, fmt, skip_defaults);
        else
            fputs(fmt == FMT_JSON ? "null" : "{}", f);
        break;
    }
    }
}

/* protobuf-c has no map flag: a map field is a repeated XxxEntry{key, value}. */
static bool is_map_field(const ProtobufCFieldDescriptor *fd) {
    if (fd->type != PROTOBUF_C_TYPE_MESSAGE || fd->label != PROTOBUF_C_LABEL_REPEATED)
        return false;
    const ProtobufCMessageDescriptor *d = (const ProtobufCMessageDescriptor *)fd->descriptor;
    size_t len = strlen(d->name);
    return d->n_fields == 2 && len > 5 && strcmp(d->name + len - 5, "Entry") == 0 &&
           strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

static void print_map(FILE *f, const ProtobufCFieldDescriptor *fd, size_t n,
                      const ProtobufCMessage *const *entries, fmt_t fmt, bool skip_defaults) {
    const ProtobufCMessageDescriptor *d = (const ProtobufCMessageDescriptor *)fd->descriptor;
    const ProtobufCFieldDescriptor *kf = &d->fields[0], *vf = &d->fields[1];
    fputc('{', f);
    for (size_t i = 0; i < n; i++) {
        const char *e = (const char *)entries[i];
        if (i)
            fputc(fmt == FMT_JSON ? ',' : ' ', f);
        if (fmt == FMT_JSON && kf->type != PROTOBUF_C_TYPE_STRING) {
            fputc('"', f);
            print_value(f, kf, e + kf->offset, FMT_TEXT, skip_defaults);
            fputc('"', f);
        } else
            print_value(f, kf, e + kf->offset, fmt, skip_defaults);
        fputc(fmt == FMT_JSON ? ':' : '=', f);
        print_value(f, vf, e + vf->offset, fmt, skip_defaults);
    }
    fputc('}', f);
}

static void print_message(FILE *f, const ProtobufCMessage *msg, fmt_t fmt, bool skip_defaults) {
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const char *base = (const char *)msg;
    bool first = true;
    fputc('{', f);
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &desc->fields[i];
        const void *member = base + fd->offset;
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (*(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
                continue;
        } else if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            if (skip_defaults && *(const size_t *)(base + fd->quantifier_offset) == 0)
                continue;
        } else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset &&
                   fd->type != PROTOBUF_C_TYPE_MESSAGE && fd->type != PROTOBUF_C_TYPE_STRING) {
            if (!*(const protobuf_c_boolean *)(base + fd->quantifier_offset))
                continue;
        } else if (skip_defaults && value_is_default(fd, member))
            continue;
        if (!first)
            fputc(fmt == FMT_JSON ? ',' : ' ', f);
        first = false;
        if (fmt == FMT_JSON) {
            print_json_string(f, fd->name);
            fputc(':', f);
        } else
            fprintf(f, "%s=", fd->name);
        if (fd->label == PROTOBUF_C_LABEL_REPEATED && !(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
            size_t n = *(const size_t *)(base + fd->quantifier_offset);
            const char *arr = *(const char *const *)member;
            if (is_map_field(fd)) {
                print_map(f, fd, n, (const ProtobufCMessage *const *)arr, fmt, skip_defaults);
                continue;
            }
            size_t es = xtb_field_element_size(fd->type);
            fputc('[', f);
            for (size_t k = 0; k < n; k++) {
                if (k)
                    fputc(',', f);
                print_value(f, fd, arr + k * es, fmt, skip_defaults);
            }
            fputc(']', f);
        } else
            print_value(f, fd, member, fmt, skip_defaults);
    }
    fputc('}', f);
}

static char *print_to_string(const ProtobufCMessage *msg, fmt_t fmt, bool skip_defaults) {
    xtb_memstream_t ms;
    if (xtb_memstream_open(&ms))
        return NULL;
    if (msg)
        print_message(ms.f, msg, fmt, skip_defaults);
    else
        fputs(fmt == FMT_JSON ? "null" : "{}", ms.f);
    return xtb_memstream_close(&ms);
}

char *xtb_message_to_json(const ProtobufCMessage *msg, bool skip_defaults) {
    return print_to_string(msg, FMT_JSON, skip_defaults);
}

char *xtb_message_to_text(const ProtobufCMessage *msg) {
    char *s = print_to_string(msg, FMT_TEXT, true);
    /* Drop the outer braces: "k=v k=v" reads better on one line. */
    size_t len = s ? strlen(s) : 0;
    if (len >= 2 && s[0] == '{' && s[len - 1] == '}') {
        memmove(s, s + 1, len - 2);
        s[len - 2] = '\0';
    }
    return s;
}
