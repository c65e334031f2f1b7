/*  brg_jetstream.c - see brg_jetstream.h. The actor's loop: read a page of committed events
    after the cursor, publish them one by one (a synchronous publish keeps the stream in
    journal order even when one fails: nothing after it goes out before it), advance the
    cursor on each ack, save it now and then; when there is nothing new, wait on the pipe
    (a stop) for IDLE_MS. A failed publish leaves the cursor where it was and backs off.
*/
#include "brg_jetstream.h"

#include <ctype.h>
#include <czmq.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brg_log.h"

bool brg_jetstream_url_ok(const char *url) {
    return url && (strncmp(url, "nats://", 7) == 0 || strncmp(url, "tls://", 6) == 0);
}

bool brg_jetstream_stream_ok(const char *name) {
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-'))
            return false;
    return true;
}

#ifdef XTB_HAVE_JETSTREAM
#include <nats/nats.h>

#define PAGE 256           /* events read per journal transaction */
#define IDLE_MS 20         /* how long to wait for new events when caught up */
#define BACKOFF_MIN_MS 100 /* first wait after a failed publish, doubling */
#define BACKOFF_MAX_MS 2000
#define PUBLISH_WAIT_MS 2000 /* one publish's ack timeout */
#define SAVE_EVERY_MS 200    /* cursor file written at most this often while busy */

struct brg_jetstream {
    brg_jetstream_args_t args;
    char *url, *stream, *cursor_path;
    zactor_t *actor;
    pthread_mutex_t lock; /* guards stats */
    brg_jetstream_stats_t stats;
};

/* One event copied out of the read transaction. */
typedef struct {
    char topic[256];
    uint64_t seq;
    uint8_t *data;
    size_t size;
} item_t;

typedef struct {
    item_t items[PAGE];
    size_t count;
} page_t;

/* The forwarder's own state (actor thread only). */
typedef struct {
    brg_jetstream_t *self;
    zhash_t *cursor; /* topic -> uint64_t* last acknowledged seq */
    bool cursor_dirty;
    int64_t saved_ms;
    natsConnection *nc;
    jsCtx *js;
    bool stream_ready;
    uint64_t epoch;
} forwarder_t;

static void set_error(brg_jetstream_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(brg_jetstream_t *self, const char *fmt, ...) {
    char text[256];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    pthread_mutex_lock(&self->lock);
    bool changed = strcmp(self->stats.last_error, text) != 0;
    snprintf(self->stats.last_error, sizeof self->stats.last_error, "%s", text);
    self->stats.failures++;
    pthread_mutex_unlock(&self->lock);
    if (changed) /* once per distinct cause, not once per retry */
        brg_warn("jetstream: %s (the journal keeps the events; retrying)", text);
}

static void published(brg_jetstream_t *self) {
    pthread_mutex_lock(&self->lock);
    bool was_failing = self->stats.last_error[0] != 0;
    self->stats.published++;
    self->stats.last_error[0] = 0;
    pthread_mutex_unlock(&self->lock);
    if (was_failing)
        brg_info("jetstream: publishing again");
}

static void on_connection(natsConnection *nc, void *closure, bool up) {
    (void)nc;
    brg_jetstream_t *self = (brg_jetstream_t *)closure;
    pthread_mutex_lock(&self->lock);
    self->stats.connected = up;
    pthread_mutex_unlock(&self->lock);
    brg_info("jetstream: %s %s", up ? "connected to" : "lost", self->url);
}
static void on_up(natsConnection *nc, void *closure) {
    on_connection(nc, closure, true);
}
static void on_down(natsConnection *nc, void *closure) {
    on_connection(nc, closure, false);
}

/* --- cursor file: "xtbridge-jetstream-cursor 1 <epoch> <stream>\n" then "<seq> <topic>\n" */

static uint64_t cursor_of(forwarder_t *f, const char *topic) {
    uint64_t *seq = (uint64_t *)zhash_lookup(f->cursor, topic);
    return seq ? *seq : 0;
}

static void cursor_set(forwarder_t *f, const char *topic, uint64_t seq) {
    uint64_t *have = (uint64_t *)zhash_lookup(f->cursor, topic);
    if (!have) {
        have = (uint64_t *)zmalloc(sizeof *have);
        zhash_insert(f->cursor, topic, have);
        zhash_freefn(f->cursor, topic, free);
    }
    *have = seq;
    f->cursor_dirty = true;
}

static void cursor_load(forwarder_t *f) {
    FILE *file = fopen(f->self->cursor_path, "r");
    if (!file)
        return; /* first start: everything the journal holds goes out */
    char line[600], stream[256];
    unsigned long long epoch = 0;
    if (!fgets(line, sizeof line, file) ||
        sscanf(line, "xtbridge-jetstream-cursor 1 %llu %255s", &epoch, stream) != 2 ||
        epoch != f->epoch || strcmp(stream, f->self->stream) != 0) {
        /* another store (new epoch) or another stream: its positions mean nothing here */
        brg_info("jetstream: cursor %s is for another store or stream; starting from the "
                 "journal's beginning",
                 f->self->cursor_path);
        fclose(file);
        return;
    }
    while (fgets(line, sizeof line, file)) {
        unsigned long long seq;
        char topic[256];
        if (sscanf(line, "%llu %255s", &seq, topic) == 2)
            cursor_set(f, topic, seq);
    }
    fclose(file);
    f->cursor_dirty = false;
}

static void cursor_save(forwarder_t *f) {
    if (!f->cursor_dirty)
        return;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->self->cursor_path);
    FILE *file = fopen(tmp, "w");
    if (!file) {
        set_error(f->self, "cannot write %s", tmp);
        return;
    }
    fprintf(file, "xtbridge-jetstream-cursor 1 %llu %s\n", (unsigned long long)f->epoch,
            f->self->stream);
    for (uint64_t *seq = (uint64_t *)zhash_first(f->cursor); seq;
         seq = (uint64_t *)zhash_next(f->cursor))
        fprintf(file, "%llu %s\n", (unsigned long long)*seq, zhash_cursor(f->cursor));
    /* rename: a crash leaves the old cursor or the new one, never half of one (an old one
       only means resending what the stream drops as duplicates) */
    if (fclose(file) == 0 && rename(tmp, f->self->cursor_path) == 0) {
        f->cursor_dirty = false;
        f->saved_ms = zclock_mono();
    }
}

/* --- NATS ------------------------------------------------------------------------- */

/* "order.1000000365." -> "xtb.order.1000000365"; "connected." -> "xtb.connected". Bytes a
   subject cannot hold ('.', '*', '>', spaces) inside a part become '_'. */
static void subject_of(const char *topic, char *buf, size_t len) {
    size_t at = (size_t)snprintf(buf, len, "xtb");
    bool part = false;
    for (const char *p = topic; *p && at + 2 < len; p++) {
        if (*p == '.') {
            part = false;
            continue;
        }
        if (!part) {
            buf[at++] = '.';
            part = true;
        }
        char c = *p;
        buf[at++] =
            (c == '*' || c == '>' || c == ' ' || c == '\t' || (unsigned char)c < 32) ? '_' : c;
    }
    buf[at] = 0;
}

static bool ensure_stream(forwarder_t *f) {
    jsStreamInfo *info = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&info, f->js, f->self->stream, NULL, &jerr);
    if (s == NATS_OK) {
        jsStreamInfo_Destroy(info);
        return true;
    }
    if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
        set_error(f->self, "stream %s: %s", f->self->stream, natsStatus_GetText(s));
        return false;
    }
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char *subjects[] = {"xtb.>"};
    cfg.Name = f->self->stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    s = js_AddStream(&info, f->js, &cfg, NULL, &jerr);
    if (s != NATS_OK && jerr != JSStreamNameExistErr) {
        set_error(f->self, "cannot create stream %s: %s (%d)", f->self->stream,
                  natsStatus_GetText(s), (int)jerr);
        return false;
    }
    jsStreamInfo_Destroy(info);
    brg_info("jetstream: stream %s holds subjects xtb.>", f->self->stream);
    return true;
}

static int publish(forwarder_t *f, const item_t *item) {
    char subject[300], id[400], seq[32], epoch[32];
    subject_of(item->topic, subject, sizeof subject);
    snprintf(id, sizeof id, "%llu:%s:%llu", (unsigned long long)f->epoch, item->topic,
             (unsigned long long)item->seq);
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)item->seq);
    snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)f->epoch);
    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, subject, NULL, (const char *)item->data, (int)item->size);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, "Xtb-Topic", item->topic);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, "Xtb-Seq", seq);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, "Xtb-Epoch", epoch);
    jsPubOptions opts;
    jsPubOptions_Init(&opts);
    opts.MsgId = id;
    opts.MaxWait = PUBLISH_WAIT_MS;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    if (s == NATS_OK)
        s = js_PublishMsg(&ack, f->js, msg, &opts, &jerr);
    natsMsg_Destroy(msg);
    jsPubAck_Destroy(ack);
    if (s != NATS_OK) {
        set_error(f->self, "publish %s seq %llu to %s: %s%s", item->topic,
                  (unsigned long long)item->seq, subject, natsStatus_GetText(s),
                  s == NATS_NO_RESPONDERS ? " (no stream holds xtb.>?)" : "");
        if (s == NATS_NO_RESPONDERS || jerr)
            f->stream_ready = false; /* look for (or create) the stream again */
        return -1;
    }
    return 0;
}

/* --- journal -------------------------------------------------------------------- */

static uint64_t after_fn(void *arg, const char *topic) {
    return cursor_of((forwarder_t *)arg, topic);
}

static int copy_fn(void *arg, const char *topic, uint64_t seq, const uint8_t *data, size_t size) {
    page_t *page = (page_t *)arg;
    item_t *item = &page->items[page->count];
    snprintf(item->topic, sizeof item->topic, "%s", topic);
    item->seq = seq;
    item->data = (uint8_t *)malloc(size ? size : 1);
    if (!item->data)
        return 1;
    memcpy(item->data, data, size);
    item->size = size;
    page->count++;
    return 0;
}

static void page_clear(page_t *page) {
    for (size_t i = 0; i < page->count; i++)
        free(page->items[i].data);
    page->count = 0;
}

/* Wait up to ms for a message on the pipe; true when the actor must stop. */
static bool wait_pipe(zpoller_t *poller, zsock_t *pipe, int ms) {
    if (zpoller_wait(poller, ms)) {
        char *command = zstr_recv(pipe);
        bool stop = !command || streq(command, "$TERM");
        free(command);
        return stop;
    }
    return zpoller_terminated(poller);
}

static void forwarder(zsock_t *pipe, void *arg) {
    brg_jetstream_t *self = (brg_jetstream_t *)arg;
    forwarder_t f = {self, zhash_new(), false, 0,
                     NULL, NULL,        false, brg_store_epoch(self->args.store)};
    cursor_load(&f);
    natsOptions *opts = NULL;
    jsOptions jsopts;
    jsOptions_Init(&jsopts);
    jsopts.Wait = PUBLISH_WAIT_MS;
    /* connect in the background and keep reconnecting for ever: trading never waits */
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, self->url);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, 250);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, 2000);
    if (s == NATS_OK)
        s = natsOptions_SetRetryOnFailedConnect(opts, true, on_up, self);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(opts, on_up, self);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(opts, on_down, self);
    if (s == NATS_OK) {
        s = natsConnection_Connect(&f.nc, opts);
        if (s == NATS_OK)
            on_up(f.nc, self);
        else if (s == NATS_NOT_YET_CONNECTED)
            s = NATS_OK; /* on_up says when */
    }
    if (s == NATS_OK)
        s = natsConnection_JetStream(&f.js, f.nc, &jsopts);
    if (s != NATS_OK)
        set_error(self, "cannot set up NATS for %s: %s", self->url, natsStatus_GetText(s));
    zsock_signal(pipe, 0);

    zpoller_t *poller = zpoller_new(pipe, NULL); /* the actor's only wait: for a stop */
    page_t *page = (page_t *)calloc(1, sizeof(page_t));
    int backoff = BACKOFF_MIN_MS;
    bool stop = s != NATS_OK && wait_pipe(poller, pipe, -1); /* broken setup: only wait for $TERM */
    while (!stop) {
        if (!f.stream_ready && !(f.stream_ready = ensure_stream(&f))) {
            stop = wait_pipe(poller, pipe, backoff);
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        bool more = false;
        int read = brg_store_journal_read_mt(self->args.store, "", after_fn, &f, PAGE, copy_fn,
                                             page, &more);
        if (read < 0) {
            set_error(self, "cannot read the journal");
            page_clear(page);
            stop = wait_pipe(poller, pipe, BACKOFF_MAX_MS);
            continue;
        }
        bool failed = false;
        for (size_t i = 0; i < page->count && !failed; i++) {
            const item_t *item = &page->items[i];
            if (strncmp(item->topic, "heartbeat.", 10) != 0) {
                if (publish(&f, item)) {
                    failed = true;
                    break;
                }
                published(self);
            }
            cursor_set(&f, item->topic, item->seq);
        }
        bool idle = page->count == 0;
        page_clear(page);
        if (failed) {
            cursor_save(&f);
            stop = wait_pipe(poller, pipe, backoff);
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        backoff = BACKOFF_MIN_MS;
        if (idle || zclock_mono() - f.saved_ms >= SAVE_EVERY_MS)
            cursor_save(&f);
        if (idle)
            stop = wait_pipe(poller, pipe, IDLE_MS);
        else if (zsock_events(pipe) & ZMQ_POLLIN)
            stop = wait_pipe(poller, pipe, 0);
    }
    cursor_save(&f);
    zpoller_destroy(&poller);
    free(page);
    jsCtx_Destroy(f.js);
    natsConnection_Destroy(f.nc);
    natsOptions_Destroy(opts);
    zhash_destroy(&f.cursor);
}

bool brg_jetstream_available(void) {
    return true;
}

brg_jetstream_t *brg_jetstream_new(const brg_jetstream_args_t *args, char *err, size_t errlen) {
    if (!args || !args->url || !*args->url || !args->store || !args->data_dir) {
        snprintf(err, errlen, "jetstream: a NATS url, the store and the data dir are needed");
        return NULL;
    }
    const char *stream = args->stream && *args->stream ? args->stream : "XTB";
    if (!brg_jetstream_stream_ok(stream)) {
        snprintf(err, errlen, "bad jetstream stream name '%s' (letters, digits, _ and -)", stream);
        return NULL;
    }
    if (!brg_jetstream_url_ok(args->url)) {
        snprintf(err, errlen, "bad jetstream url '%s' (want nats://HOST:PORT)", args->url);
        return NULL;
    }
    brg_jetstream_t *self = (brg_jetstream_t *)zmalloc(sizeof(brg_jetstream_t));
    self->args = *args;
    self->url = strdup(args->url);
    self->stream = strdup(stream);
    self->cursor_path = zsys_sprintf("%s/jetstream.cursor", args->data_dir);
    pthread_mutex_init(&self->lock, NULL);
    self->actor = zactor_new(forwarder, self);
    if (!self->actor) {
        snprintf(err, errlen, "jetstream: cannot start the forwarder thread");
        brg_jetstream_destroy(&self);
        return NULL;
    }
    brg_info("jetstream: forwarding the journal to stream %s at %s", self->stream, self->url);
    return self;
}

void brg_jetstream_destroy(brg_jetstream_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_jetstream_t *self = *self_p;
    zactor_destroy(&self->actor);
    /* the library's own threads and buffers: gone with the only connection it served */
    nats_Close();
    pthread_mutex_destroy(&self->lock);
    free(self->url);
    free(self->stream);
    free(self->cursor_path);
    free(self);
    *self_p = NULL;
}

void brg_jetstream_stats(brg_jetstream_t *self, brg_jetstream_stats_t *out) {
    pthread_mutex_lock(&self->lock);
    *out = self->stats;
    pthread_mutex_unlock(&self->lock);
}

#else /* no libnats in this build */

bool brg_jetstream_available(void) {
    return false;
}

brg_jetstream_t *brg_jetstream_new(const brg_jetstream_args_t *args, char *err, size_t errlen) {
    (void)args;
    snprintf(err, errlen, "this xtbridge was built without JetStream support (libnats-dev)");
    return NULL;
}

void brg_jetstream_destroy(brg_jetstream_t **self_p) {
    if (self_p)
        *self_p = NULL;
}

void brg_jetstream_stats(brg_jetstream_t *self, brg_jetstream_stats_t *out) {
    (void)self;
    memset(out, 0, sizeof *out);
}

#endif
