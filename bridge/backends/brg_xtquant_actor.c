/*  brg_xtquant_actor.c - the actor thread that owns CPython and the XtQuantTrader (see
    brg_xtquant_actor.h for the pipe protocol).

    Conversions are descriptor-driven: an Xt* object becomes the protobuf message whose
    field names are the attribute names (proto/xtbridge.proto keeps the vendor's names), so
    one function serves every structure. A missing or ill-typed attribute leaves its field
    unset and is counted; nothing in a conversion can crash the bridge.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "brg_xtquant_actor.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "brg_log.h"
#include "xtbridge.pb-c.h"

typedef struct {
    zsock_t *pipe;
    brg_xtquant_actor_args_t *args;
    long session_id;
    bool connected;
    PyThreadState *tstate; /* saved while the GIL is released */
    PyObject *trader;      /* current XtQuantTrader, or NULL */
    PyObject *trader_cls;
    PyObject *account_cls; /* xtquant.xttype.StockAccount */
    PyObject *callback;
    zsock_t *push; /* used only under the GIL */
    char accounts[1024];
} actor_t;

static actor_t *s_actor; /* for the _xtbridge module (one xtquant backend per process) */
static atomic_ulong s_missing, s_ill_typed;

unsigned long brg_xtquant_actor_missing_attributes(void) {
    return atomic_load(&s_missing);
}

unsigned long brg_xtquant_actor_ill_typed_attributes(void) {
    return atomic_load(&s_ill_typed);
}

/* --- Python -> protobuf -------------------------------------------------------------- */

/*  Fields the bridge adds to a structure that no terminal object has: never looked up,
    never counted missing. XtOrder.requested_price_type: a terminal reports only the
    counter's code in price_type (passed through untouched), not what was sent. */
static bool bridge_extension(const ProtobufCMessageDescriptor *d, const char *field) {
    return d == &xtbridge__xt_order__descriptor && strcmp(field, "requested_price_type") == 0;
}

/* Fill `msg` (initialised) from obj's same-named attributes. Strings are malloc'd, so the
   message is freed with protobuf_c_message_free_unpacked(msg, NULL). */
static void fill_message(ProtobufCMessage *msg, PyObject *obj) {
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    unsigned bad = 0, missing = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label == PROTOBUF_C_LABEL_REPEATED || f->type == PROTOBUF_C_TYPE_MESSAGE ||
            bridge_extension(d, f->name))
            continue;
        PyObject *v = PyObject_GetAttrString(obj, f->name);
        if (!v) {
            PyErr_Clear();
            missing++;
            continue;
        }
        void *at = (char *)msg + f->offset;
        switch (f->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_INT64: {
            long long n = PyFloat_Check(v) ? -1 : PyLong_AsLongLong(v);
            if (PyFloat_Check(v) || (n == -1 && PyErr_Occurred())) {
                PyErr_Clear();
                bad++;
            } else if (f->type == PROTOBUF_C_TYPE_INT32)
                *(int32_t *)at = (int32_t)n;
            else
                *(int64_t *)at = (int64_t)n;
            break;
        }
        case PROTOBUF_C_TYPE_DOUBLE: {
            double x = PyFloat_AsDouble(v);
            if (x == -1.0 && PyErr_Occurred()) {
                PyErr_Clear();
                bad++;
            } else
                *(double *)at = x;
            break;
        }
        case PROTOBUF_C_TYPE_BOOL:
            *(protobuf_c_boolean *)at = PyObject_IsTrue(v) == 1;
            break;
        case PROTOBUF_C_TYPE_STRING: {
            const char *s = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
            if (!s) {
                PyErr_Clear();
                bad++;
            } else
                *(char **)at = strdup(s);
            break;
        }
        default:
            bad++;
            break;
        }
        Py_DECREF(v);
    }
    /* An older terminal lacks the later additions (stock_code1, secu_account, ...) on
       every object: missing ones are only counted (and logged at debug), a wrong type is
       a surprise worth a warning. */
    if (missing) {
        atomic_fetch_add(&s_missing, missing);
        brg_debug("xtquant: %u attribute(s) of a %s missing: left unset", missing, d->short_name);
    }
    if (bad) {
        atomic_fetch_add(&s_ill_typed, bad);
        brg_warn("xtquant: %u attribute(s) of a %s ill-typed: left unset", bad, d->short_name);
    }
}

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d) {
    ProtobufCMessage *m = (ProtobufCMessage *)zmalloc(d->sizeof_message);
    protobuf_c_message_init(d, m);
    return m;
}

/* Set the oneof member `f` of a message (Event body / Reply result) to `sub`. */
static void set_oneof(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                      ProtobufCMessage *sub) {
    *(ProtobufCMessage **)((char *)msg + f->offset) = sub;
    *(uint32_t *)((char *)msg + f->quantifier_offset) = f->id;
}

/* Send [kind, account, packed event] on the push socket. GIL held. */
static void send_event(actor_t *self, const char *kind, const char *account,
                       Xtbridge__Event *event) {
    size_t size = xtbridge__event__get_packed_size(event);
    zframe_t *frame = zframe_new(NULL, size);
    xtbridge__event__pack(event, zframe_data(frame));
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, kind);
    zmsg_addstr(msg, account ? account : "");
    zmsg_append(msg, &frame);
    zmsg_send(&msg, self->push);
}

/* _xtbridge.push(kind, obj): called by the callback object on xtquant's thread. */
static PyObject *py_push(PyObject *module, PyObject *args) {
    (void)module;
    const char *kind;
    PyObject *obj;
    if (!PyArg_ParseTuple(args, "sO", &kind, &obj))
        return NULL;
    actor_t *self = s_actor;
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    if (strcmp(kind, "disconnected") == 0) {
        Xtbridge__Disconnected down = XTBRIDGE__DISCONNECTED__INIT;
        char reason[128];
        snprintf(reason, sizeof reason, "xtquant on_disconnected (session %ld)", self->session_id);
        down.reason = reason;
        event.body_case = XTBRIDGE__EVENT__BODY_DISCONNECTED;
        event.disconnected = &down;
        send_event(self, kind, NULL, &event);
        Py_RETURN_NONE;
    }
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(&xtbridge__event__descriptor, kind);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE) {
        brg_warn("xtquant: push of unknown kind '%s' dropped", kind);
        Py_RETURN_NONE;
    }
    ProtobufCMessage *body = new_message((const ProtobufCMessageDescriptor *)f->descriptor);
    fill_message(body, obj);
    set_oneof(&event.base, f, body);
    const ProtobufCFieldDescriptor *acc =
        protobuf_c_message_descriptor_get_field_by_name(body->descriptor, "account_id");
    const char *account = acc ? *(char **)((char *)body + acc->offset) : NULL;
    send_event(self, kind, account, &event);
    protobuf_c_message_free_unpacked(body, NULL);
    Py_RETURN_NONE;
}

static PyMethodDef s_methods[] = {
    {"push", py_push, METH_VARARGS, "publish one xtquant push: push(kind, obj)"},
    {NULL, NULL, 0, NULL}};
static struct PyModuleDef s_module = {
    PyModuleDef_HEAD_INIT, "_xtbridge", NULL, -1, s_methods, NULL, NULL, NULL, NULL};
static PyObject *init_module(void) {
    return PyModule_Create(&s_module);
}

/* Every callback of the vendor doc -> the push kind (Event body name) it publishes. */
static const char s_callback_py[] =
    "import _xtbridge\n"
    "from xtquant.xttrader import XtQuantTraderCallback\n"
    "class BridgeCallback(XtQuantTraderCallback):\n"
    "    def on_connected(self): pass\n"
    "    def on_disconnected(self): _xtbridge.push('disconnected', None)\n"
    "    def on_account_status(self, o): _xtbridge.push('account_status', o)\n"
    "    def on_stock_asset(self, o): _xtbridge.push('asset', o)\n"
    "    def on_stock_order(self, o): _xtbridge.push('order', o)\n"
    "    def on_stock_trade(self, o): _xtbridge.push('trade', o)\n"
    "    def on_stock_position(self, o): _xtbridge.push('position', o)\n"
    "    def on_order_error(self, o): _xtbridge.push('order_error', o)\n"
    "    def on_cancel_error(self, o): _xtbridge.push('cancel_error', o)\n"
    "    def on_order_stock_async_response(self, o): _xtbridge.push('order_async', o)\n"
    "    def on_cancel_order_stock_async_response(self, o): _xtbridge.push('cancel_async', o)\n"
    "    def on_smt_appointment_async_response(self, o): _xtbridge.push('smt_appointment', o)\n";

/* The pending Python exception as "Type: text" into buf; clears it. */
static void exception_text(char *buf, size_t len) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *s = value ? PyObject_Str(value) : NULL;
    const char *text = s ? PyUnicode_AsUTF8(s) : NULL;
    snprintf(buf, len, "%s: %s", type ? ((PyTypeObject *)type)->tp_name : "exception",
             text ? text : "?");
    PyErr_Clear();
    Py_XDECREF(s);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

/* --- session ------------------------------------------------------------------------- */

static void drop_trader(actor_t *self) {
    if (!self->trader)
        return;
    PyObject *r = PyObject_CallMethod(self->trader, "stop", NULL);
    if (!r)
        PyErr_Clear();
    Py_XDECREF(r);
    Py_CLEAR(self->trader);
}

/* New trader on self->session_id: register_callback, start, connect, subscribe. GIL held.
   Returns 0 when connected. */
static int session_connect(actor_t *self) {
    char text[512];
    drop_trader(self);
    self->trader =
        PyObject_CallFunction(self->trader_cls, "sl", self->args->qmt_path, self->session_id);
    PyObject *r = NULL;
    if (self->trader)
        r = PyObject_CallMethod(self->trader, "register_callback", "O", self->callback);
    Py_XDECREF(r);
    r = self->trader && !PyErr_Occurred() ? PyObject_CallMethod(self->trader, "start", NULL) : NULL;
    Py_XDECREF(r);
    r = r ? PyObject_CallMethod(self->trader, "connect", NULL) : NULL;
    if (!r) {
        exception_text(text, sizeof text);
        brg_warn("xtquant: session %ld: %s", self->session_id, text);
        return -1;
    }
    long result = PyLong_AsLong(r);
    Py_DECREF(r);
    if (result != 0) {
        PyErr_Clear();
        brg_warn("xtquant: connect() on session %ld returned %ld", self->session_id, result);
        return -1;
    }
    /* the accounts: configured, or what the terminal lists */
    self->accounts[0] = 0;
    if (self->args->accounts)
        snprintf(self->accounts, sizeof self->accounts, "%s", self->args->accounts);
    else {
        PyObject *infos = PyObject_CallMethod(self->trader, "query_account_infos", NULL);
        PyObject *seq = infos ? PySequence_Fast(infos, "not a list") : NULL;
        for (Py_ssize_t i = 0; seq && i < PySequence_Fast_GET_SIZE(seq); i++) {
            PyObject *id = PyObject_GetAttrString(PySequence_Fast_GET_ITEM(seq, i), "account_id");
            const char *s = id && PyUnicode_Check(id) ? PyUnicode_AsUTF8(id) : NULL;
            if (s) {
                size_t used = strlen(self->accounts);
                snprintf(self->accounts + used, sizeof self->accounts - used, "%s%s",
                         used ? "," : "", s);
            }
            Py_XDECREF(id);
        }
        if (PyErr_Occurred()) {
            exception_text(text, sizeof text);
            brg_warn("xtquant: query_account_infos: %s", text);
        }
        Py_XDECREF(seq);
        Py_XDECREF(infos);
    }
    char list[sizeof self->accounts];
    memcpy(list, self->accounts, sizeof list);
    for (char *save = NULL, *id = strtok_r(list, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        PyObject *account = PyObject_CallFunction(self->account_cls, "s", id);
        PyObject *res =
            account ? PyObject_CallMethod(self->trader, "subscribe", "O", account) : NULL;
        if (!res) {
            exception_text(text, sizeof text);
            brg_warn("xtquant: subscribe %s: %s", id, text);
        } else if (PyLong_Check(res) && PyLong_AsLong(res) != 0)
            brg_warn("xtquant: subscribe %s returned %ld", id, PyLong_AsLong(res));
        Py_XDECREF(res);
        Py_XDECREF(account);
    }
    brg_info("xtquant: connected, session %ld, accounts %s", self->session_id, self->accounts);
    return 0;
}

/* --- calls --------------------------------------------------------------------------- */

static PyObject *account_arg(actor_t *self, const Xtbridge__Account *a) {
    if (!a || !a->account_id || !*a->account_id) {
        PyErr_SetString(PyExc_ValueError, "account is required");
        return NULL;
    }
    return PyObject_CallFunction(self->account_cls, "si", a->account_id,
                                 a->account_type ? a->account_type : 2);
}

/* The Python call for a request; NULL with an exception set on failure. */
static PyObject *call_python(actor_t *self, const Xtbridge__Request *req, bool *invalid) {
    PyObject *t = self->trader, *acc = NULL, *r = NULL;
    *invalid = false;
#define ACC(a)                                                                                     \
    do {                                                                                           \
        if (!(acc = account_arg(self, (a)))) {                                                     \
            *invalid = true;                                                                       \
            return NULL;                                                                           \
        }                                                                                          \
    } while (0)
    switch (req->body_case) {
    case XTBRIDGE__REQUEST__BODY_ORDER_STOCK:
    case XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC: {
        const Xtbridge__OrderStockRequest *o = req->body_case == XTBRIDGE__REQUEST__BODY_ORDER_STOCK
                                                   ? req->order_stock
                                                   : req->order_stock_async;
        if (!o)
            break;
        ACC(o->account);
        r = PyObject_CallMethod(
            t,
            req->body_case == XTBRIDGE__REQUEST__BODY_ORDER_STOCK ? "order_stock"
                                                                  : "order_stock_async",
            "OsiLidss", acc, o->stock_code, o->order_type, (long long)o->order_volume,
            o->price_type, o->price, o->strategy_name, o->order_remark);
        break;
    }
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_ASYNC: {
        bool async = req->body_case == XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_ASYNC;
        const Xtbridge__CancelOrderStockRequest *c =
            async ? req->cancel_order_stock_async : req->cancel_order_stock;
        if (!c)
            break;
        ACC(c->account);
        r = PyObject_CallMethod(t, async ? "cancel_order_stock_async" : "cancel_order_stock", "OL",
                                acc, (long long)c->order_id);
        break;
    }
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID_ASYNC: {
        bool async = req->body_case == XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID_ASYNC;
        const Xtbridge__CancelOrderStockSysidRequest *c =
            async ? req->cancel_order_stock_sysid_async : req->cancel_order_stock_sysid;
        if (!c)
            break;
        ACC(c->account);
        r = PyObject_CallMethod(
            t, async ? "cancel_order_stock_sysid_async" : "cancel_order_stock_sysid", "Ois", acc,
            c->market, c->order_sysid);
        break;
    }
    case XTBRIDGE__REQUEST__BODY_SUBSCRIBE:
    case XTBRIDGE__REQUEST__BODY_UNSUBSCRIBE:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITIONS: {
        /* every AccountRequest body shares one layout; take it by the descriptor */
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
            &xtbridge__request__descriptor, (unsigned)req->body_case);
        const Xtbridge__AccountRequest *a =
            *(Xtbridge__AccountRequest *const *)((const char *)req + f->offset);
        if (!a)
            break;
        ACC(a->account);
        r = PyObject_CallMethod(t, f->name, "O", acc);
        break;
    }
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDER:
        if (!req->query_stock_order)
            break;
        ACC(req->query_stock_order->account);
        r = PyObject_CallMethod(t, "query_stock_order", "OL", acc,
                                (long long)req->query_stock_order->order_id);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDERS:
        if (!req->query_stock_orders)
            break;
        ACC(req->query_stock_orders->account);
        r = PyObject_CallMethod(t, "query_stock_orders", "OO", acc,
                                req->query_stock_orders->cancelable_only ? Py_True : Py_False);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITION:
        if (!req->query_stock_position)
            break;
        ACC(req->query_stock_position->account);
        r = PyObject_CallMethod(t, "query_stock_position", "Os", acc,
                                req->query_stock_position->stock_code);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_INFOS:
        r = PyObject_CallMethod(t, "query_account_infos", NULL);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_STATUS:
        r = PyObject_CallMethod(t, "query_account_status", NULL);
        break;
    default:
        PyErr_Format(PyExc_NotImplementedError, "xtquant backend does not serve %d",
                     (int)req->body_case);
        *invalid = true;
        return NULL;
    }
#undef ACC
    Py_XDECREF(acc);
    if (!r && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "request body is missing");
        *invalid = true;
    }
    return r;
}

/* The Python result -> the reply's result message, by the shape of its descriptor:
   {found, obj} for "object or None", a repeated message for lists, else one integer. */
static ProtobufCMessage *result_message(const ProtobufCMessageDescriptor *d, PyObject *r, char *err,
                                        size_t errlen) {
    ProtobufCMessage *m = new_message(d);
    const ProtobufCFieldDescriptor *f0 = &d->fields[0];
    if (f0->type == PROTOBUF_C_TYPE_BOOL && strcmp(f0->name, "found") == 0 && d->n_fields == 2) {
        if (r != Py_None) {
            *(protobuf_c_boolean *)((char *)m + f0->offset) = 1;
            ProtobufCMessage *sub = new_message(d->fields[1].descriptor);
            fill_message(sub, r);
            *(ProtobufCMessage **)((char *)m + d->fields[1].offset) = sub;
        }
    } else if (f0->label == PROTOBUF_C_LABEL_REPEATED && f0->type == PROTOBUF_C_TYPE_MESSAGE) {
        PyObject *seq = PySequence_Fast(r, "result is not a list");
        if (!seq) {
            exception_text(err, errlen);
            protobuf_c_message_free_unpacked(m, NULL);
            return NULL;
        }
        size_t n = (size_t)PySequence_Fast_GET_SIZE(seq);
        ProtobufCMessage **items = (ProtobufCMessage **)zmalloc((n + 1) * sizeof *items);
        for (size_t i = 0; i < n; i++) {
            items[i] = new_message(f0->descriptor);
            fill_message(items[i], PySequence_Fast_GET_ITEM(seq, (Py_ssize_t)i));
        }
        Py_DECREF(seq);
        *(size_t *)((char *)m + f0->quantifier_offset) = n;
        *(ProtobufCMessage ***)((char *)m + f0->offset) = items;
    } else {
        long long n = PyLong_Check(r) ? PyLong_AsLongLong(r) : 0;
        if (!PyLong_Check(r) || PyErr_Occurred()) {
            PyErr_Clear();
            snprintf(err, errlen, "xtquant returned %s where an integer was expected",
                     Py_TYPE(r)->tp_name);
            protobuf_c_message_free_unpacked(m, NULL);
            return NULL;
        }
        if (f0->type == PROTOBUF_C_TYPE_INT32)
            *(int32_t *)((char *)m + f0->offset) = (int32_t)n;
        else
            *(int64_t *)((char *)m + f0->offset) = (int64_t)n;
    }
    return m;
}

static void send_reply(actor_t *self, const char *id, Xtbridge__Reply *reply) {
    size_t size = xtbridge__reply__get_packed_size(reply);
    zframe_t *frame = zframe_new(NULL, size);
    xtbridge__reply__pack(reply, zframe_data(frame));
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, "REPLY");
    zmsg_addstr(msg, id);
    zmsg_append(msg, &frame);
    zmsg_send(&msg, self->pipe);
}

static void reply_error(actor_t *self, const char *id, Xtbridge__ErrorCode code, const char *text) {
    Xtbridge__Reply reply = XTBRIDGE__REPLY__INIT;
    Xtbridge__Error error = XTBRIDGE__ERROR__INIT;
    error.code = code;
    error.message = (char *)text;
    reply.error = &error;
    send_reply(self, id, &reply);
}

static void serve_call(actor_t *self, const char *id, zframe_t *body) {
    Xtbridge__Request *req =
        body ? xtbridge__request__unpack(NULL, zframe_size(body), zframe_data(body)) : NULL;
    if (!req) {
        reply_error(self, id, XTBRIDGE__ERROR_CODE__MALFORMED, "request did not decode");
        return;
    }
    if (!self->connected || !self->trader) {
        reply_error(self, id, XTBRIDGE__ERROR_CODE__NOT_CONNECTED, "xtquant session is down");
        xtbridge__request__free_unpacked(req, NULL);
        return;
    }
    char text[600];
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
        &xtbridge__reply__descriptor, (unsigned)req->body_case);
    PyEval_RestoreThread(self->tstate);
    bool invalid = false;
    PyObject *r = call_python(self, req, &invalid);
    ProtobufCMessage *result = NULL;
    Xtbridge__ErrorCode code = XTBRIDGE__ERROR_CODE__OK;
    if (!r) {
        char exc[480];
        exception_text(exc, sizeof exc);
        snprintf(text, sizeof text, "%s%s", invalid ? "" : "xtquant raised ", exc);
        code =
            invalid ? XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT : XTBRIDGE__ERROR_CODE__BACKEND_ERROR;
    } else if (!f) {
        code = XTBRIDGE__ERROR_CODE__UNKNOWN_CALL;
        snprintf(text, sizeof text, "no reply for this call");
    } else if (!(result = result_message(f->descriptor, r, text, sizeof text)))
        code = XTBRIDGE__ERROR_CODE__BACKEND_ERROR;
    Py_XDECREF(r);
    self->tstate = PyEval_SaveThread();
    if (code != XTBRIDGE__ERROR_CODE__OK)
        reply_error(self, id, code, text);
    else {
        Xtbridge__Reply reply = XTBRIDGE__REPLY__INIT;
        Xtbridge__Error error = XTBRIDGE__ERROR__INIT;
        reply.error = &error;
        set_oneof(&reply.base, f, result);
        send_reply(self, id, &reply);
        protobuf_c_message_free_unpacked(result, NULL);
    }
    xtbridge__request__free_unpacked(req, NULL);
}

/* --- the actor ----------------------------------------------------------------------- */

static void push_connected(actor_t *self) {
    Xtbridge__Connected up = XTBRIDGE__CONNECTED__INIT;
    up.backend = "xtquant";
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_CONNECTED;
    event.connected = &up;
    send_event(self, "connected", self->accounts, &event);
}

/*  Every account's status from query_account_status, published as account_status pushes
    after a (re)connect: on_account_status is only a change push, so this is how the bridge
    (and its subscribers) learn the state of a new session. GIL held. */
static void push_statuses(actor_t *self) {
    PyObject *list = PyObject_CallMethod(self->trader, "query_account_status", NULL);
    PyObject *seq = list ? PySequence_Fast(list, "query_account_status: not a list") : NULL;
    for (Py_ssize_t i = 0; seq && i < PySequence_Fast_GET_SIZE(seq); i++) {
        Xtbridge__XtAccountStatus *msg =
            (Xtbridge__XtAccountStatus *)new_message(&xtbridge__xt_account_status__descriptor);
        fill_message(&msg->base, PySequence_Fast_GET_ITEM(seq, i));
        Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
        event.body_case = XTBRIDGE__EVENT__BODY_ACCOUNT_STATUS;
        event.account_status = msg;
        if (msg->account_id && *msg->account_id)
            send_event(self, "account_status", msg->account_id, &event);
        protobuf_c_message_free_unpacked(&msg->base, NULL);
    }
    if (PyErr_Occurred()) {
        char text[480];
        exception_text(text, sizeof text);
        brg_warn("xtquant: query_account_status after connect: %s", text);
    }
    Py_XDECREF(seq);
    Py_XDECREF(list);
}

/*  The interpreter, with `home` as PYTHONHOME when given (the terminal's bundled Python:
    its standard library must match the xtquant it ships). PYTHONPATH is honoured. Python
    installs no signal handlers: the bridge owns them. 0, or -1 with err (a bad home is
    refused here, not a process abort). */
static int start_python(const char *home, char *err, size_t errlen) {
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = 0;
    PyStatus status = PyStatus_Ok();
    if (home)
        status = PyConfig_SetBytesString(&config, &config.home, home);
    if (!PyStatus_Exception(status))
        status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        snprintf(err, errlen, "cannot start Python%s%s: %s", home ? " with python_home " : "",
                 home ? home : "", status.err_msg ? status.err_msg : "failed");
        return -1;
    }
    return 0;
}

/* Start-up under the GIL: import xtquant, build the callback, first connect. */
static int setup(actor_t *self, char *err, size_t errlen) {
    PyObject *xttrader = PyImport_ImportModule("xtquant.xttrader");
    PyObject *xttype = xttrader ? PyImport_ImportModule("xtquant.xttype") : NULL;
    if (!xttype) {
        char exc[400];
        exception_text(exc, sizeof exc);
        snprintf(err, errlen,
                 "cannot import xtquant (is the terminal's package on PYTHONPATH?): %s", exc);
        Py_XDECREF(xttrader);
        return -1;
    }
    self->trader_cls = PyObject_GetAttrString(xttrader, "XtQuantTrader");
    self->account_cls = PyObject_GetAttrString(xttype, "StockAccount");
    Py_DECREF(xttrader);
    Py_DECREF(xttype);
    PyObject *globals = PyDict_New();
    PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
    PyObject *run = PyRun_String(s_callback_py, Py_file_input, globals, globals);
    PyObject *cls = run ? PyDict_GetItemString(globals, "BridgeCallback") : NULL;
    self->callback = cls ? PyObject_CallNoArgs(cls) : NULL;
    Py_XDECREF(run);
    Py_DECREF(globals);
    if (!self->trader_cls || !self->account_cls || !self->callback) {
        char exc[400];
        exception_text(exc, sizeof exc);
        snprintf(err, errlen, "xtquant lacks XtQuantTrader/StockAccount/callback: %s", exc);
        return -1;
    }
    self->connected = session_connect(self) == 0;
    if (self->connected)
        push_statuses(self); /* after the bridge's own connected. (the loop reads them later) */
    return 0;
}

/* Reconnect with backoff, a new session id each time (a terminal never reuses one). Answers
   calls that were already queued with NOT_CONNECTED. Returns -1 on $TERM. */
static int reconnect(actor_t *self) {
    int backoff = self->args->reconnect_ms;
    zpoller_t *poller = zpoller_new(self->pipe, NULL);
    while (!self->connected) {
        zsock_t *which = (zsock_t *)zpoller_wait(poller, backoff);
        if (which) {
            zmsg_t *msg = zmsg_recv(self->pipe);
            char *cmd = msg ? zmsg_popstr(msg) : NULL;
            bool term = !cmd || streq(cmd, "$TERM");
            if (cmd && streq(cmd, "CALL")) {
                char *id = zmsg_popstr(msg);
                reply_error(self, id ? id : "", XTBRIDGE__ERROR_CODE__NOT_CONNECTED,
                            "xtquant session is down, reconnecting");
                free(id);
            }
            free(cmd);
            zmsg_destroy(&msg);
            if (term) {
                zpoller_destroy(&poller);
                return -1;
            }
            continue;
        }
        if (zpoller_terminated(poller))
            break;
        PyEval_RestoreThread(self->tstate);
        self->session_id++; /* under the GIL: the callback thread reads it */
        self->connected = session_connect(self) == 0;
        if (self->connected) {
            push_connected(self);
            push_statuses(self);
        }
        self->tstate = PyEval_SaveThread();
        if (backoff < 10000)
            backoff *= 2;
    }
    zpoller_destroy(&poller);
    return self->connected ? 0 : -1;
}

void brg_xtquant_actor(zsock_t *pipe, void *arg) {
    actor_t self_ = {0}, *self = &self_;
    self->pipe = pipe;
    self->args = (brg_xtquant_actor_args_t *)arg;
    self->session_id = self->args->session_id;
    s_actor = self;
    self->push = zsock_new_push(self->args->push_endpoint);
    zsock_set_sndtimeo(self->push, -1);

    PyImport_AppendInittab("_xtbridge", init_module);
    char err[600] = "";
    int rc = start_python(self->args->python_home, err, sizeof err);
    if (rc == 0) {
        rc = setup(self, err, sizeof err);
        self->tstate = PyEval_SaveThread();
    }
    zsock_signal(pipe, 0); /* zactor_new returns once this is sent; READY follows */
    if (rc == 0) {
        char session[32];
        snprintf(session, sizeof session, "%ld", self->session_id);
        zstr_sendx(pipe, "READY", "ok", self->connected ? "1" : "0", self->accounts, session, NULL);
    } else
        zstr_sendx(pipe, "READY", "error", err, NULL);
    bool running = rc == 0;
    if (running && !self->connected)
        running = reconnect(self) == 0;
    while (running) {
        zmsg_t *msg = zmsg_recv(pipe);
        char *cmd = msg ? zmsg_popstr(msg) : NULL;
        if (!cmd || streq(cmd, "$TERM"))
            running = false;
        else if (streq(cmd, "CALL")) {
            char *id = zmsg_popstr(msg);
            zframe_t *body = zmsg_pop(msg);
            serve_call(self, id ? id : "", body);
            zframe_destroy(&body);
            free(id);
        } else if (streq(cmd, "RECONNECT")) {
            self->connected = false;
            running = reconnect(self) == 0;
        }
        free(cmd);
        zmsg_destroy(&msg);
    }
    if (self->tstate) {
        PyEval_RestoreThread(self->tstate);
        drop_trader(self);
        Py_CLEAR(self->callback);
        Py_CLEAR(self->trader_cls);
        Py_CLEAR(self->account_cls);
        Py_FinalizeEx();
    }
    zsock_destroy(&self->push);
    s_actor = NULL;
}
