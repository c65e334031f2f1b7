/*  brg_jetstream.h - cluster fan-out: a forwarder that copies every journaled event into a
    NATS JetStream stream (--jetstream nats://HOST:PORT), so research jobs on any machine
    consume fills with durable consumers, replay from any point, and keep working while the
    bridge is down.

    The journal is the source: the forwarder runs in its own thread (a czmq actor), reads
    committed events through brg_store_journal_read_mt (an LMDB read transaction, which
    never blocks the loop's writer), and publishes each one synchronously, in journal order,
    as `xtb.<kind>.<account>` (`xtb.<kind>` for events without an account) with the Event
    protobuf as payload, headers Xtb-Topic / Xtb-Seq / Xtb-Epoch, and the JetStream message
    id "<epoch>:<topic>:<seq>", so a resend after a lost ack is dropped by the stream as a
    duplicate. Heartbeats are not forwarded (they say the bridge is alive now, which a
    stream cannot).

    Its cursor (per topic, the last seq the stream acknowledged) lives in
    <data>/jetstream.cursor. When NATS is down the bridge keeps trading; the forwarder retries
    with backoff and, once NATS is back, catches the stream up from the cursor. Nothing on
    the request path waits for NATS.
*/
#ifndef BRG_JETSTREAM_H_INCLUDED
#define BRG_JETSTREAM_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brg_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct brg_jetstream brg_jetstream_t;

typedef struct {
    const char *url;      /* nats://HOST:PORT (comma list of servers allowed) */
    const char *stream;   /* stream name; created (subjects "xtb.>", file storage) if absent */
    const char *data_dir; /* where the cursor file lives */
    brg_store_t *store;   /* borrowed; must outlive the forwarder */
} brg_jetstream_args_t;

typedef struct {
    bool connected;       /* the NATS connection is up */
    uint64_t published;   /* events the stream acknowledged since start */
    uint64_t failures;    /* publish attempts that failed (and were retried) */
    char last_error[256]; /* "" when the last attempt worked */
} brg_jetstream_stats_t;

/*  The forms brg_jetstream_new accepts (the config checks them at parse time too): a url
    nats://... or tls://..., a stream name of letters, digits, _ and - (not empty). */
bool brg_jetstream_url_ok(const char *url);
bool brg_jetstream_stream_ok(const char *name);

/*  Whether this build has JetStream support (libnats). */
bool brg_jetstream_available(void);

/*  Start the forwarder thread. Does not wait for NATS: an unreachable server is retried.
    NULL + err only on a bad argument or a build without libnats. Caller owns the result. */
brg_jetstream_t *brg_jetstream_new(const brg_jetstream_args_t *args, char *err, size_t errlen);
/*  Stop the thread (it saves its cursor) and free; NULLs the pointer. Safe on NULL. */
void brg_jetstream_destroy(brg_jetstream_t **self_p);
/*  A consistent copy of the counters; any thread. */
void brg_jetstream_stats(brg_jetstream_t *self, brg_jetstream_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif
