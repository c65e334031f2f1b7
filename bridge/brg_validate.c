/*  brg_validate.c - strict UTF-8 and length limits on every string of a Request, found by
    walking the protobuf-c descriptors (see brg_validate.h).

    The walk is generic on purpose: a call or field added to proto/xtbridge.proto is
    covered without touching this file. Only the limits that differ from the generic cap
    are listed, by descriptor and field name.
*/
#include "brg_validate.h"

#include "brg_plans.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* Request messages are not recursive today; the cap keeps a future recursive message
   from turning a deep request into a deep C stack. protobuf-c's own unpack recursion
   bounds what can arrive anyway. */
#define MAX_DEPTH 32

typedef enum {
    UNIT_BYTES, /* UTF-8 bytes */
    UNIT_WIDTH  /* the vendor's "English characters": ASCII 1, anything else 2 */
} unit_t;

typedef struct {
    const ProtobufCMessageDescriptor *message;
    const char *field;
    size_t max;
    unit_t unit;
} limit_t;

static const limit_t limits[] = {
    {&xtbridge__request__descriptor, "request_id", BRG_VALIDATE_MAX_REQUEST_ID, UNIT_BYTES},
    {&xtbridge__order_stock_request__descriptor, "order_remark", BRG_VALIDATE_MAX_REMARK,
     UNIT_WIDTH},
    {&xtbridge__sync_transaction_from_external_request__descriptor, "deal_list_json",
     BRG_VALIDATE_MAX_JSON, UNIT_BYTES},
    {&xtbridge__export_data_request__descriptor, "user_param_json", BRG_VALIDATE_MAX_JSON,
     UNIT_BYTES},
    {&xtbridge__export_data_request__descriptor, "result_path", BRG_VALIDATE_MAX_PATH, UNIT_BYTES},
    {&xtbridge__smt_negotiate_order_async_request__descriptor, "dict_param_json",
     BRG_VALIDATE_MAX_JSON, UNIT_BYTES},
};

bool brg_validate_utf8(const char *str, size_t len, size_t *bad_at) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1; /* C0, C1 would be overlong ASCII */
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates U+D800..U+DFFF */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            goto bad; /* stray continuation, C0/C1, F5..FF */
        }
        if (len - i - 1 < need)
            goto bad; /* truncated */
        if (s[i + 1] < lo || s[i + 1] > hi)
            goto bad;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                goto bad;
        i += need + 1;
    }
    return true;
bad:
    if (bad_at)
        *bad_at = i;
    return false;
}

/* Width in the vendor's unit; the string is already known to be valid UTF-8. */
static size_t width_of(const char *str, size_t len) {
    size_t width = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)str[i];
        if (c < 0x80)
            width += 1;
        else if (c >= 0xC0)
            width += 2; /* a lead byte: one non-ASCII character */
    }
    return width;
}

static const limit_t *limit_for(const ProtobufCMessageDescriptor *message, const char *field) {
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
        if (limits[i].message == message && strcmp(limits[i].field, field) == 0)
            return &limits[i];
    return NULL;
}

/* Where a value sits, as a chain up to the request: formatted only when it fails, since
   validation runs on every request and almost every request passes. */
typedef struct path {
    const struct path *parent;
    const char *name;
    size_t index;
    bool indexed; /* an element of a repeated field: name[index] */
} path_t;

static size_t format_path(const path_t *path, char *buf, size_t len) {
    if (!path)
        return 0;
    size_t at = format_path(path->parent, buf, len);
    int n = path->indexed
                ? snprintf(buf + at, len - at, "%s%s[%zu]", at ? "." : "", path->name, path->index)
                : snprintf(buf + at, len - at, "%s%s", at ? "." : "", path->name);
    at += n > 0 ? (size_t)n : 0;
    return at < len ? at : len - 1;
}

static int check_string(const path_t *where, const char *value, const limit_t *limit, char *err,
                        size_t errlen) {
    if (!value)
        return 0;
    char path[256];
    size_t len = strlen(value);
    size_t max_bytes = BRG_VALIDATE_MAX_STRING;
    if (limit && limit->unit == UNIT_BYTES)
        max_bytes = limit->max;
    if (len > max_bytes) {
        if (err) {
            format_path(where, path, sizeof path);
            snprintf(err, errlen, "%s is %zu bytes long; the limit is %zu bytes", path, len,
                     max_bytes);
        }
        return -1;
    }
    size_t bad_at = 0;
    if (!brg_validate_utf8(value, len, &bad_at)) {
        if (err) {
            format_path(where, path, sizeof path);
            snprintf(err, errlen, "%s is not valid UTF-8 (byte 0x%02x at offset %zu)", path,
                     (unsigned char)value[bad_at], bad_at);
        }
        return -1;
    }
    if (limit && limit->unit == UNIT_WIDTH) {
        size_t width = width_of(value, len);
        if (width > limit->max) {
            if (err) {
                format_path(where, path, sizeof path);
                snprintf(err, errlen,
                         "%s is %zu characters wide; the limit is %zu (an ASCII character "
                         "counts 1, any other 2)",
                         path, width, limit->max);
            }
            return -1;
        }
    }
    return 0;
}

static int walk(const ProtobufCMessage *msg, const path_t *where, int depth, char *err,
                size_t errlen);

/* One value of a field: a string is checked, a message walked, anything else passes. */
static int check_value(const ProtobufCFieldDescriptor *field, const limit_t *limit,
                       const void *slot, const path_t *where, int depth, char *err, size_t errlen) {
    if (field->type == PROTOBUF_C_TYPE_STRING)
        return check_string(where, *(char *const *)slot, limit, err, errlen);
    if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)slot;
        return sub ? walk(sub, where, depth + 1, err, errlen) : 0;
    }
    return 0;
}

/* A message type's fields as the walk visits them, built at the type's first request:
   its string and message fields outside a oneof, with their limits, and each oneof once
   (only the member its case names is set). The Request has a field per call, all but
   the request id in one oneof: looking at each of them for every request was most of
   the validation's cost (~1,100 of ~2,000 instructions per order). */
typedef struct {
    const ProtobufCFieldDescriptor *field; /* NULL: a oneof, by its case's offset */
    const limit_t *limit;
    unsigned qoffset;
} step_t;

typedef struct {
    brg_plan_head_t head; /* first: brg_plans finds the plan by it */
    step_t steps[];
} plan_t;

static void *plan_build(const ProtobufCMessageDescriptor *desc) {
    plan_t *p = (plan_t *)malloc(sizeof(plan_t) + desc->n_fields * sizeof(step_t));
    if (!p)
        return NULL;
    p->head.desc = desc;
    p->head.n = 0;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            bool seen = false;
            for (unsigned k = 0; k < p->head.n && !seen; k++)
                seen = !p->steps[k].field && p->steps[k].qoffset == field->quantifier_offset;
            if (!seen)
                p->steps[p->head.n++] = (step_t){NULL, NULL, field->quantifier_offset};
        } else if (field->type == PROTOBUF_C_TYPE_STRING ||
                   field->type == PROTOBUF_C_TYPE_MESSAGE) {
            p->steps[p->head.n++] = (step_t){field, limit_for(desc, field->name), 0};
        }
    }
    return p;
}

/* Plans by descriptor, built at a type's first request (brg_plans). */
#define PLAN_SLOTS 512
static _Atomic(void *) plans[PLAN_SLOTS];

static const plan_t *plan_of(const ProtobufCMessageDescriptor *desc) {
    return (const plan_t *)brg_plans_of(plans, PLAN_SLOTS, desc, plan_build);
}

/* One field of msg (not a oneof member the case does not name). */
static int walk_field(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field,
                      const limit_t *limit, const path_t *where, int depth, char *err,
                      size_t errlen) {
    const char *base = (const char *)msg;
    path_t here = {where, field->name, 0, false};
    if (field->label != PROTOBUF_C_LABEL_REPEATED)
        return check_value(field, limit, base + field->offset, &here, depth, err, errlen);
    size_t n = *(const size_t *)(base + field->quantifier_offset);
    const char *items = *(const char *const *)(base + field->offset);
    here.indexed = true;
    for (size_t k = 0; k < n; k++) {
        here.index = k;
        if (check_value(field, limit, items + k * sizeof(void *), &here, depth, err, errlen))
            return -1;
    }
    return 0;
}

static int walk(const ProtobufCMessage *msg, const path_t *where, int depth, char *err,
                size_t errlen) {
    if (depth > MAX_DEPTH) {
        if (err) {
            char path[256];
            format_path(where, path, sizeof path);
            snprintf(err, errlen, "%s is nested more than %d levels deep", path, MAX_DEPTH);
        }
        return -1;
    }
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const plan_t *plan = plan_of(desc);
    if (!plan) { /* no memory for it (the slots outnumber the proto's types) */
        if (err)
            snprintf(err, errlen, "out of memory while checking the request");
        return -1;
    }
    for (unsigned i = 0; i < plan->head.n; i++) {
        const step_t *step = &plan->steps[i];
        const ProtobufCFieldDescriptor *field = step->field;
        const limit_t *limit = step->limit;
        if (!field) {
            uint32_t which = *(const uint32_t *)((const char *)msg + step->qoffset);
            field = which ? protobuf_c_message_descriptor_get_field(desc, which) : NULL;
            if (!field ||
                (field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE))
                continue;
            limit = limit_for(desc, field->name);
        }
        if (walk_field(msg, field, limit, where, depth, err, errlen))
            return -1;
    }
    return 0;
}

int brg_validate_request(const Xtbridge__Request *req, char *err, size_t errlen) {
    if (!req)
        return 0;
    return walk(&req->base, NULL, 0, err, errlen);
}

int brg_validate_request_id(const char *request_id, char *err, size_t errlen) {
    path_t where = {NULL, "request_id", 0, false};
    return check_string(&where, request_id, limit_for(&xtbridge__request__descriptor, "request_id"),
                        err, errlen);
}
