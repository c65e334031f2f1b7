/*  brg_xtquant_actor.h - the thread that owns the embedded CPython interpreter and the
    xtquant XtQuantTrader for the `xtquant` backend (brg_xtquant.c).

    Why a thread of its own: every xtquant call may block (a slow terminal, a hung call), and
    the bridge loop must keep serving hello/ping/replay meanwhile. The actor holds the GIL
    only while it calls Python.

    Pipe protocol (all frames are strings or bytes):
      loop -> actor  ["CALL", id, packed xtbridge.Request]   one call; answered by REPLY
                     ["RECONNECT"]                           the session dropped: reconnect
      actor -> loop  ["READY", "ok", connected "1"/"0", accounts "a,b", session id]
                     or ["READY", "error", text]             once, after start-up
                     ["REPLY", id, packed xtbridge.Reply]    result or error of a CALL
    Pushes (from xtquant's callback thread and the actor's session changes) go over a PUSH
    socket connected to `push_endpoint`, used only under the GIL (which serialises its use
    across threads): [kind, account_id, packed xtbridge.Event]. Session changes use kinds
    "connected" (account_id = the accounts, comma-separated) and "disconnected".
*/
#ifndef BRG_XTQUANT_ACTOR_H_INCLUDED
#define BRG_XTQUANT_ACTOR_H_INCLUDED

#include <czmq.h>

typedef struct {
    char *qmt_path;
    long session_id;
    char *accounts; /* comma-separated, or NULL: the accounts query_account_infos lists */
    int reconnect_ms;
    char *push_endpoint;
    char *python_home; /* PYTHONHOME of the embedded interpreter, or NULL: Python's default */
} brg_xtquant_actor_args_t;

/*  zactor body; `args` is a brg_xtquant_actor_args_t owned by the caller for the actor's
    whole life. */
void brg_xtquant_actor(zsock_t *pipe, void *args);

/*  Xt* attributes left unset since start: missing, and present with a wrong type. */
unsigned long brg_xtquant_actor_missing_attributes(void);
unsigned long brg_xtquant_actor_ill_typed_attributes(void);

#endif
