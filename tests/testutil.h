/*  testutil.h - helpers shared by the Criterion test binaries.

    xtbt_bridge_t runs the real `xtbridge` binary (XTB_BRIDGE_BIN) as a child process on
    unique ipc:// endpoints in a fresh temporary data directory, optionally with a config
    text written to a file, and waits (bounded) until it answers ping. Tests then drive it
    with the C client (xtbt_bridge_client) and stop it with SIGTERM to check the exit status.

    XTB_BRIDGE_CMD runs the bridge through a launcher instead (e.g. the Windows build under
    Wine) and XTB_TRANSPORT=tcp puts it on loopback tcp:// endpoints (see testutil.c).

    The other helpers wrap common assertions: call-and-expect-OK, and wait-for-a-push with a
    topic prefix and body kind, skipping heartbeats and anything else.
*/
#ifndef XTBT_TESTUTIL_H_INCLUDED
#define XTBT_TESTUTIL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xtb_client.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    pid_t pid;
    char router_ep[256]; /* ipc://<tmpdir>/xtbt-<pid>-<n>-router */
    char pub_ep[256];
    char data_dir[256];     /* fresh temp dir, removed by stop */
    char config_path[300];  /* "" when started without config */
    char log_path[300];     /* bridge stdout+stderr */
    char curve_cert[300];   /* CURVE bridges: the client cert used to wait for it ("" = plain) */
    char curve_server[300]; /* and the bridge's public cert */
} xtbt_bridge_t;

/*  Where tests put data dirs, sockets and logs: $XTB_TMPDIR when set (scripts/test.sh sets
    it to build-test/tmp, relative to the repository, which keeps ipc:// paths short), else
    <build dir>/tmp. Created on first use. Static string. */
const char *xtbt_tmpdir(void);

/*  A unique endpoint "ipc://<tmpdir>/xtbt-<pid>-<n>-<what>" in buf, or with
    XTB_TRANSPORT=tcp "tcp://127.0.0.1:<free port>". Returns buf. */
char *xtbt_endpoint(char *buf, size_t len, const char *what);

/*  The command that runs the bridge: XTB_BRIDGE_CMD split at spaces (a launcher and the
    binary), else XTB_BRIDGE_BIN. Fills at most `max` of argv (pointers into a static copy);
    returns how many. */
int xtbt_bridge_command(const char **argv, int max);
/*  In a forked child: exec that command followed by `args` (NULL-terminated). Does not
    return (exit 127 when the exec fails). */
void xtbt_bridge_exec(const char *const *args);

/*  Start xtbridge --backend sim on fresh endpoints and data dir, heartbeat 50 ms, with
    `config_text` (NULL = none) as --config and `extra_args` (NULL-terminated, may be NULL)
    appended. Waits up to 10 s for a ping reply. Returns NULL (and prints the bridge log)
    if it did not come up. Caller owns the result; free it with xtbt_bridge_stop. */
xtbt_bridge_t *xtbt_bridge_start(const char *config_text, const char *const *extra_args);
/*  The same on the given --router / --pub endpoints (NULL = a fresh ipc:// one), e.g.
    tcp:// on a second loopback address for the remote-endpoint tests. */
xtbt_bridge_t *xtbt_bridge_start_on(const char *router_ep, const char *pub_ep,
                                    const char *config_text, const char *const *extra_args);
/*  The same for a bridge run with CURVE (extra_args carry --curve-secret/--clients): the
    readiness ping, and xtbt_bridge_client, use `client_cert` (a cert allowed by the
    bridge, secret part) and `server_cert` (the bridge's public cert). */
xtbt_bridge_t *xtbt_bridge_start_curve(const char *config_text, const char *const *extra_args,
                                       const char *client_cert, const char *server_cert);
/*  Restart a stopped bridge's process on the same endpoints and data dir (for durability
    tests). Returns 0 when it answers ping. */
int xtbt_bridge_restart(xtbt_bridge_t *self, const char *const *extra_args);
/*  The signal that asks the bridge to stop: SIGTERM, or SIGINT with
    XTB_BRIDGE_STOP_SIGNAL=INT (a bridge under Wine, where SIGINT is the console's Ctrl-C). */
int xtbt_stop_signal(void);
/*  SIGTERM the bridge (SIGINT with XTB_BRIDGE_STOP_SIGNAL=INT) and wait up to 10 s (then SIGKILL).
   Returns the exit status (0..255), 128+signal if killed by a signal, -1 if it was not running.
   Keeps the data dir. */
int xtbt_bridge_kill(xtbt_bridge_t *self);
/*  Kill (if running), remove the temp dir and free; NULLs the pointer. Returns the exit
    status as xtbt_bridge_kill (or -1 if it was already stopped). */
int xtbt_bridge_stop(xtbt_bridge_t **self_p);
/*  Print the bridge's log to stderr (on failures). */
void xtbt_bridge_dump_log(xtbt_bridge_t *self);

/*  A new client on the bridge's router endpoint; caller owns it. Never NULL (asserts). */
xtb_client_t *xtbt_bridge_client(xtbt_bridge_t *self);

/*  Send `req` (ownership taken, destroyed), assert a reply within 5 s with error OK and the
    given result case (0 = any). Returns the reply (caller frees with xtb_reply_destroy). */
Xtbridge__Reply *xtbt_call_ok(xtb_client_t *client, Xtbridge__Request *req,
                              Xtbridge__Reply__ResultCase expect);
/*  Send `req` (ownership taken), assert a reply within 5 s; any error code. */
Xtbridge__Reply *xtbt_call(xtb_client_t *client, Xtbridge__Request *req);

/*  Wait up to timeout_ms for a push whose topic starts with `topic_prefix` and whose body
    is `body` (0 = any); others are dropped. Returns the event (caller frees with
    xtb_event_destroy) or NULL on timeout. */
Xtbridge__Event *xtbt_wait_event(xtb_client_t *client, const char *topic_prefix,
                                 Xtbridge__Event__BodyCase body, int timeout_ms);

/*  Money comparison: |a - b| < 0.005 (values are rounded to cents). */
bool xtbt_money_eq(double a, double b);

#ifdef __cplusplus
}
#endif
#endif
