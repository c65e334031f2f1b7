/*  brg_pbenc.c - see brg_pbenc.h. Each field is written with the rules of protobuf-c 1.x's
    pack: fields in descriptor order (by number); a proto3 field is left out when it is
    "zeroish" (0, 0.0 or -0.0, false, NULL or "" for a string, length 0 for bytes, NULL for
    a message); an optional scalar when its has_ flag is false, an optional string or message
    when it is NULL or the default; a oneof member only when the case names it and, for a
    string or message, it is neither NULL nor the default; a NULL string or message in a
    required field is an empty one; a nested message is packed after one byte of room for
    its length and moved when the length needs more bytes.
*/
#include "brg_pbenc.h"

#include "brg_plans.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Fixed-width values are copied from memory: little-endian hosts only (x86, ARM). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#define PBENC_BIG_ENDIAN 1
#else
#define PBENC_BIG_ENDIAN 0
#endif

/* room for a tag (a field number below 2^29: 5 bytes) and any scalar (10) */
#define SCALAR_ROOM 15

/* A message type's fields as the encoder walks them: what protobuf-c's pack decides per
   field from the label, the flags and the type (two switches and a varint for the tag)
   is decided once per type, so that a field costs one switch. */
enum kind {
    K_INT32, /* int32 and enum: a negative value is sign-extended to 10 bytes */
    K_UINT32,
    K_SINT32,
    K_INT64, /* int64 and uint64 */
    K_SINT64,
    K_FIXED32, /* fixed32, sfixed32 */
    K_FLOAT,
    K_FIXED64, /* fixed64, sfixed64 */
    K_DOUBLE,
    K_BOOL,
    K_STRING,
    K_BYTES,
    K_MESSAGE,
};

enum presence {
    P_REQUIRED, /* always written (a NULL string or message as an empty one) */
    P_NONZERO,  /* proto3: left out when zeroish */
    P_HAS,      /* optional scalar or bytes: its has_ flag */
    P_POINTER,  /* optional string or message: neither NULL nor the default */
    P_ONEOF,    /* the case names it (and a string or message is not NULL/the default) */
    P_REPEATED, /* left to protobuf-c unless empty */
};

/* The commonest steps, proto3 scalars and strings left out when zeroish, each one case
   of the loop's first switch: an event or record is mostly these, and most of them are
   zero. The rest (OP_ANY) take the general path of presence, then kind. */
enum op {
    OP_ANY,
    OP_INT32_NZ,
    OP_INT64_NZ,
    OP_DOUBLE_NZ,
    OP_STRING_NZ,
};

typedef struct {
    uint32_t offset, qoffset, id;
    uint8_t kind, presence, taglen, op;
    uint8_t tag[5];
    uint32_t group; /* P_ONEOF: this member and the next group - 1 are one oneof */
    const void *defval;
    const ProtobufCMessageDescriptor *sub;
} step_t;

typedef struct {
    brg_plan_head_t head; /* first: brg_plans finds the plan by it */
    step_t steps[];
} plan_t;

static inline size_t varint_put(uint8_t *out, uint64_t v) {
    if (v < 0x80) { /* tags, lengths, most ids and flags: one byte */
        out[0] = (uint8_t)v;
        return 1;
    }
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static inline size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void *plan_build(const ProtobufCMessageDescriptor *d) {
    plan_t *p = (plan_t *)malloc(sizeof(plan_t) + d->n_fields * sizeof(step_t));
    if (!p)
        return NULL;
    p->head.desc = d;
    p->head.n = d->n_fields;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        step_t *s = &p->steps[i];
        s->offset = f->offset;
        s->qoffset = f->quantifier_offset;
        s->id = f->id;
        s->defval = f->default_value;
        s->sub = (const ProtobufCMessageDescriptor *)f->descriptor;
        int wire = PROTOBUF_C_WIRE_TYPE_VARINT;
        switch (f->type) {
        case PROTOBUF_C_TYPE_ENUM:
        case PROTOBUF_C_TYPE_INT32:
            s->kind = K_INT32;
            break;
        case PROTOBUF_C_TYPE_UINT32:
            s->kind = K_UINT32;
            break;
        case PROTOBUF_C_TYPE_SINT32:
            s->kind = K_SINT32;
            break;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_UINT64:
            s->kind = K_INT64;
            break;
        case PROTOBUF_C_TYPE_SINT64:
            s->kind = K_SINT64;
            break;
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_FIXED32:
            s->kind = K_FIXED32;
            wire = PROTOBUF_C_WIRE_TYPE_32BIT;
            break;
        case PROTOBUF_C_TYPE_FLOAT:
            s->kind = K_FLOAT;
            wire = PROTOBUF_C_WIRE_TYPE_32BIT;
            break;
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_FIXED64:
            s->kind = K_FIXED64;
            wire = PROTOBUF_C_WIRE_TYPE_64BIT;
            break;
        case PROTOBUF_C_TYPE_DOUBLE:
            s->kind = K_DOUBLE;
            wire = PROTOBUF_C_WIRE_TYPE_64BIT;
            break;
        case PROTOBUF_C_TYPE_BOOL:
            s->kind = K_BOOL;
            break;
        case PROTOBUF_C_TYPE_STRING:
            s->kind = K_STRING;
            wire = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
            break;
        case PROTOBUF_C_TYPE_BYTES:
            s->kind = K_BYTES;
            wire = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
            break;
        case PROTOBUF_C_TYPE_MESSAGE:
            s->kind = K_MESSAGE;
            wire = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
            break;
        default: /* a type this encoder does not know: protobuf-c packs this message */
            free(p);
            return NULL;
        }
        bool pointer = f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING;
        if (f->label == PROTOBUF_C_LABEL_REQUIRED)
            s->presence = P_REQUIRED;
        else if ((f->label == PROTOBUF_C_LABEL_OPTIONAL || f->label == PROTOBUF_C_LABEL_NONE) &&
                 (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            s->presence = P_ONEOF;
        else if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
            s->presence = pointer ? P_POINTER : P_HAS;
        else if (f->label == PROTOBUF_C_LABEL_NONE)
            s->presence = P_NONZERO;
        else
            s->presence = P_REPEATED;
        s->taglen = (uint8_t)varint_put(s->tag, ((uint64_t)f->id << 3) | (uint64_t)wire);
        s->op = OP_ANY;
        if (s->presence == P_NONZERO)
            s->op = s->kind == K_INT32    ? OP_INT32_NZ
                    : s->kind == K_INT64  ? OP_INT64_NZ
                    : s->kind == K_DOUBLE ? OP_DOUBLE_NZ
                    : s->kind == K_STRING ? OP_STRING_NZ
                                          : OP_ANY;
    }
    /* a oneof's members follow each other (an Event's 13 bodies): one step finds the one
       its case names instead of each member testing the case */
    for (unsigned i = 0; i < p->head.n;) {
        unsigned j = i + 1;
        if (p->steps[i].presence == P_ONEOF)
            while (j < p->head.n && p->steps[j].presence == P_ONEOF &&
                   p->steps[j].qoffset == p->steps[i].qoffset)
                j++;
        p->steps[i].group = j - i;
        i = j;
    }
    return p;
}

/* Plans by descriptor, built at a type's first pack (brg_plans); with more types than
   slots, protobuf-c packs the rest. */
#define PLAN_SLOTS 1024
static _Atomic(void *) plans[PLAN_SLOTS];

static const plan_t *plan_of(const ProtobufCMessageDescriptor *d) {
    return (const plan_t *)brg_plans_of(plans, PLAN_SLOTS, d, plan_build);
}

static size_t pack_message(const ProtobufCMessage *msg, uint8_t *out, size_t cap) {
    if (PBENC_BIG_ENDIAN || msg->n_unknown_fields)
        return SIZE_MAX;
    const plan_t *plan = plan_of(msg->descriptor);
    if (!plan)
        return SIZE_MAX;
    const char *base = (const char *)msg;
    size_t at = 0;
    for (const step_t *it = plan->steps, *end = it + plan->head.n; it < end; it++) {
        const step_t *s = it;
        const char *m = base + s->offset;
        uint64_t v;
        switch ((enum op)s->op) {
        case OP_INT32_NZ:
            if (!*(const int32_t *)m)
                continue;
            v = (uint64_t)(int64_t) * (const int32_t *)m;
            goto put_varint;
        case OP_INT64_NZ:
            if (!(v = *(const uint64_t *)m))
                continue;
            goto put_varint;
        case OP_DOUBLE_NZ:
            if (*(const double *)m == 0)
                continue;
            if (cap - at < SCALAR_ROOM)
                return SIZE_MAX;
            memcpy(out + at, s->tag, 5);
            memcpy(out + at + s->taglen, m, 8);
            at += s->taglen + 8;
            continue;
        case OP_STRING_NZ: {
            const char *str = *(const char *const *)m;
            if (!str || !*str)
                continue;
            size_t len = strlen(str);
            if (cap - at < SCALAR_ROOM || cap - at - SCALAR_ROOM < len)
                return SIZE_MAX;
            uint8_t *o = out + at;
            memcpy(o, s->tag, 5);
            size_t n = s->taglen + varint_put(o + s->taglen, len);
            memcpy(o + n, str, len);
            at += n + len;
            continue;
        }
        case OP_ANY:
            break;
        }
        bool nonzero = s->presence == P_NONZERO;
        if (s->presence > P_NONZERO) {
            const char *q = base + s->qoffset;
            switch (s->presence) {
            case P_ONEOF: {
                const step_t *last = it + it->group - 1;
                uint32_t which = *(const uint32_t *)q;
                s = NULL;
                for (const step_t *t = it; t <= last; t++)
                    if (t->id == which) {
                        s = t;
                        break;
                    }
                it = last; /* the loop goes on after the oneof */
                if (!s)
                    continue;
                m = base + s->offset;
                if (s->kind == K_STRING || s->kind == K_MESSAGE) {
                    const void *p = *(const void *const *)m;
                    if (!p || p == s->defval)
                        continue;
                }
                break;
            }
            case P_HAS:
                if (!*(const protobuf_c_boolean *)q)
                    continue;
                break;
            case P_POINTER: {
                const void *p = *(const void *const *)m;
                if (!p || p == s->defval)
                    continue;
                break;
            }
            default: /* P_REPEATED: protobuf-c writes nothing for an empty one */
                if (*(const size_t *)q == 0)
                    continue;
                return SIZE_MAX;
            }
        }
        if (cap - at < SCALAR_ROOM)
            return SIZE_MAX;
        uint8_t *o = out + at;
        size_t n = s->taglen;
        switch (s->kind) {
        case K_INT32:
            if (nonzero && !*(const int32_t *)m)
                continue;
            v = (uint64_t)(int64_t) * (const int32_t *)m;
            break;
        case K_UINT32:
            if (nonzero && !*(const uint32_t *)m)
                continue;
            v = *(const uint32_t *)m;
            break;
        case K_SINT32: {
            int32_t x = *(const int32_t *)m;
            if (nonzero && !x)
                continue;
            v = ((uint32_t)x << 1) ^ (uint32_t)(x >> 31);
            break;
        }
        case K_INT64:
            if (nonzero && !*(const uint64_t *)m)
                continue;
            v = *(const uint64_t *)m;
            break;
        case K_SINT64: {
            int64_t x = *(const int64_t *)m;
            if (nonzero && !x)
                continue;
            v = ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
            break;
        }
        case K_BOOL:
            if (nonzero && !*(const protobuf_c_boolean *)m)
                continue;
            v = *(const protobuf_c_boolean *)m ? 1 : 0;
            break;
        case K_FIXED32:
        case K_FLOAT:
            if (nonzero && (s->kind == K_FLOAT ? *(const float *)m == 0 : !*(const uint32_t *)m))
                continue;
            memcpy(o, s->tag, 5);
            memcpy(o + n, m, 4);
            at += n + 4;
            continue;
        case K_FIXED64:
        case K_DOUBLE:
            if (nonzero && (s->kind == K_DOUBLE ? *(const double *)m == 0 : !*(const uint64_t *)m))
                continue;
            memcpy(o, s->tag, 5);
            memcpy(o + n, m, 8);
            at += n + 8;
            continue;
        case K_STRING: {
            const char *str = *(const char *const *)m;
            if (nonzero && (!str || !*str))
                continue;
            size_t len = str ? strlen(str) : 0;
            if (cap - at - SCALAR_ROOM < len)
                return SIZE_MAX;
            memcpy(o, s->tag, 5);
            n += varint_put(o + n, len);
            if (len)
                memcpy(o + n, str, len);
            at += n + len;
            continue;
        }
        case K_BYTES: {
            /* protobuf-c's zeroish test reads the first word of ProtobufCBinaryData: len */
            const ProtobufCBinaryData *b = (const ProtobufCBinaryData *)m;
            if (nonzero && !b->len)
                continue;
            if (cap - at - SCALAR_ROOM < b->len)
                return SIZE_MAX;
            memcpy(o, s->tag, 5);
            n += varint_put(o + n, b->len);
            if (b->len)
                memcpy(o + n, b->data, b->len);
            at += n + b->len;
            continue;
        }
        default: { /* K_MESSAGE */
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)m;
            if (nonzero && !sub)
                continue;
            memcpy(o, s->tag, 5);
            if (!sub) {
                o[n] = 0;
                at += n + 1;
                continue;
            }
            /* packed one byte after the tag, then moved when its length takes more */
            size_t room = cap - at - n - 1;
            size_t len = pack_message(sub, o + n + 1, room);
            if (len == SIZE_MAX || len > UINT32_MAX)
                return SIZE_MAX;
            size_t ll = varint_len(len);
            if (ll > 1) {
                if (room - len < ll - 1)
                    return SIZE_MAX;
                memmove(o + n + ll, o + n + 1, len);
            }
            varint_put(o + n, len);
            at += n + ll + len;
            continue;
        }
        }
    put_varint:
        if (cap - at < SCALAR_ROOM)
            return SIZE_MAX;
        memcpy(out + at, s->tag, 5);
        at += s->taglen + varint_put(out + at + s->taglen, v);
    }
    return at;
}

size_t brg_pbenc_len_prefix(uint8_t *out, uint32_t field, size_t len) {
    size_t n = varint_put(out, ((uint64_t)field << 3) | 2);
    return n + varint_put(out + n, len);
}

size_t brg_pbenc_pack(const ProtobufCMessage *msg, uint8_t *out, size_t cap) {
    return pack_message(msg, out, cap);
}

size_t brg_pbenc_pack_alloc(const ProtobufCMessage *msg, uint8_t **buf, size_t *cap) {
    if (*buf) {
        size_t n = pack_message(msg, *buf, *cap);
        if (n != SIZE_MAX)
            return n;
    }
    size_t size = protobuf_c_message_get_packed_size(msg);
    if (!*buf || *cap < size) {
        size_t want = size ? size : 1;
        uint8_t *grown = (uint8_t *)realloc(*buf, want);
        if (!grown)
            return SIZE_MAX;
        *buf = grown;
        *cap = want;
    }
    return protobuf_c_message_pack(msg, *buf);
}
