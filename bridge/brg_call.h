/*  brg_call.h - one request in flight between the router and a session backend.

    The router decodes a Request, wraps it in a brg_call_t and hands it to the backend's
    `handle` op. The backend fills the reply (result case + fields) with memory taken from
    the call's arena (brg_call_alloc / brg_call_strdup), so it never frees anything itself:
    everything is released when the router destroys the call after sending the reply.
    A backend that answers later (its own thread, a real terminal) keeps the call and
    finishes it with brg_call_complete() on the loop thread.
*/
#ifndef BRG_CALL_H_INCLUDED
#define BRG_CALL_H_INCLUDED

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xtbridge.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct brg_call brg_call_t;

/* Called by brg_call_complete(); set by the router. */
typedef void(brg_call_done_fn)(brg_call_t *call, void *arg);

/*  Create a call for a decoded request. Takes ownership of `request` (freed with
    protobuf-c's unpack allocator on destroy). `client` is the stable client key, copied.
    The reply starts with request_id copied and error OK. */
brg_call_t *brg_call_new(Xtbridge__Request *request, const char *client);
/*  Create a call by decoding `size` bytes of a packed Request into the call's own arena
    (no allocation per field, nothing to free field by field). NULL when the bytes are not
    a Request. `client` as for brg_call_new. */
brg_call_t *brg_call_decode(const uint8_t *data, size_t size, const char *client);
void brg_call_destroy(brg_call_t **self_p);

/*  The decoded request; owned by the call. */
const Xtbridge__Request *brg_call_request(brg_call_t *self);
/*  The reply being built; owned by the call. */
Xtbridge__Reply *brg_call_reply(brg_call_t *self);
/*  The client key the request came from (routing id or CURVE key); owned by the call. */
const char *brg_call_client(brg_call_t *self);

/*  Zeroed memory that lives as long as the call. Never NULL (aborts on OOM, as czmq). */
void *brg_call_alloc(brg_call_t *self, size_t size);
/*  Copy of `s` (NULL gives "") that lives as long as the call. */
char *brg_call_strdup(brg_call_t *self, const char *s);
/*  Arena copy of a message: packs and unpacks `msg` so the copy owns all its strings and
    submessages; the copy is freed with the call. Returns NULL only if msg is NULL. */
ProtobufCMessage *brg_call_copy_message(brg_call_t *self, const ProtobufCMessage *msg);

/*  Set the reply's error (code + printf message) and clear any result. */
void brg_call_fail(brg_call_t *self, Xtbridge__ErrorCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*  A result the backend packed itself, for a list too long to build as messages in one
    loop turn (the sim's query of 100,000 orders, packed a slice at a time): `bytes` is the
    packed body of the reply's `result` field (for QUERY_STOCK_ORDERS, an OrdersReply) and
    is taken over (malloc'd). The reply's result_case is cleared; the router packs the rest
    of the reply and appends this as that field. brg_call_fail drops it. */
void brg_call_set_packed_result(brg_call_t *self, Xtbridge__Reply__ResultCase result,
                                uint8_t *bytes, size_t len);
/*  Whether the backend may do that: set by the router for a call whose reply it packs
    and sends; a call made inside the bridge (the risk module's resync) reads the reply's
    messages and must get them. */
void brg_call_allow_packed(brg_call_t *self);
bool brg_call_packed_allowed(brg_call_t *self);
/*  The packed result, now the caller's to free, or NULL when there is none. */
uint8_t *brg_call_take_packed_result(brg_call_t *self, Xtbridge__Reply__ResultCase *result,
                                     size_t *len);

/*  Name of the request's body ("order_stock", ...) or "none". Static string. */
const char *brg_call_name(brg_call_t *self);
/*  Name of any Request body case, or NULL for an unknown case. Static string. */
const char *brg_call_body_name(Xtbridge__Request__BodyCase body);

/*  For backends that answer later: the router sets where completion goes. */
void brg_call_set_done(brg_call_t *self, brg_call_done_fn *done, void *arg);
/*  Finish a pending call: the router sends the reply and destroys the call. Loop thread. */
void brg_call_complete(brg_call_t *self);

/*  Router bookkeeping: opaque user data (the reply routing frames). */
void brg_call_set_user(brg_call_t *self, void *user, void (*user_free)(void **));
void *brg_call_user(brg_call_t *self);

#ifdef __cplusplus
}
#endif
#endif
