/*  brg_pbenc.c - see brg_pbenc.h. Each field is written with the rules of protobuf-c 1.x's
    pack: fields in descriptor order (by number); a proto3 field is left out when it is
    "zeroish" (0, 0.0 or -0.0, false, NULL or "" for a string, NULL for bytes and
    messages); an optional scalar when its has_ flag is false, an optional string or message
    when it is NULL or the default; a oneof member only when the case names it and, for a
    string or message, it is neither NULL nor the default; a NULL string or message in a
    required field is an empty one; a nested message is packed after one byte of room for
    its length and moved when the length needs more bytes.
*/
#include "brg_pbenc.h"

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

static inline size_t varint_put(uint8_t *out, uint64_t v) {
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

static bool zeroish(const ProtobufCFieldDescriptor *f, const void *m) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)m == 0;
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
        return *(const uint32_t *)m == 0;
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)m == 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)m == 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)m == 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)m;
        return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(const void *const *)m == NULL;
    }
    return true;
}

static size_t pack_message(const ProtobufCMessage *msg, uint8_t *out, size_t cap);

/* One present field, tag included; SIZE_MAX when it does not fit. */
static size_t pack_field(const ProtobufCFieldDescriptor *f, const void *m, uint8_t *out,
                         size_t cap) {
    uint64_t tag = (uint64_t)f->id << 3;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)m;
        size_t len = s ? strlen(s) : 0;
        if (cap < SCALAR_ROOM || cap - SCALAR_ROOM < len)
            return SIZE_MAX;
        size_t n = varint_put(out, tag | PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
        n += varint_put(out + n, len);
        if (len)
            memcpy(out + n, s, len);
        return n + len;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = (const ProtobufCBinaryData *)m;
        if (cap < SCALAR_ROOM || cap - SCALAR_ROOM < b->len)
            return SIZE_MAX;
        size_t n = varint_put(out, tag | PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
        n += varint_put(out + n, b->len);
        if (b->len)
            memcpy(out + n, b->data, b->len);
        return n + b->len;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)m;
        if (cap < SCALAR_ROOM)
            return SIZE_MAX;
        size_t n = varint_put(out, tag | PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
        if (!sub) {
            out[n] = 0;
            return n + 1;
        }
        /* packed one byte after the tag, then moved when its length takes more */
        size_t len = pack_message(sub, out + n + 1, cap - n - 1);
        if (len == SIZE_MAX || len > UINT32_MAX)
            return SIZE_MAX;
        size_t ll = varint_len(len);
        if (ll > 1) {
            if (cap - n - 1 - len < ll - 1)
                return SIZE_MAX;
            memmove(out + n + ll, out + n + 1, len);
        }
        varint_put(out + n, len);
        return n + ll + len;
    }
    default:
        break;
    }
    if (cap < SCALAR_ROOM)
        return SIZE_MAX;
    size_t n;
    switch (f->type) {
    case PROTOBUF_C_TYPE_SINT32: {
        int32_t v = *(const int32_t *)m;
        n = varint_put(out, tag | PROTOBUF_C_WIRE_TYPE_VARINT);
        return n + varint_put(out + n, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
    }
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_INT32: /* negative: sign-extended to 64 bits, 10 bytes */
        n = varint_put(out, tag | PROTOBUF_C_WIRE_TYPE_VARINT);
        return n + varint_put(out + n, (uint64_t)(int64_t) * (const int32_t *)m);
    case PROTOBUF_C_TYPE_UINT32:
        n = varint_put(out, tag | PROTOBUF_C_WIRE_TYPE_VARINT);
        return n + varint_put(out + n, *(const uint32_t *)m);
    case PROTOBUF_C_TYPE_SINT64: {
        int64_t v = *(const int64_t *)m;
        n = varint_put(out, tag | PROTOBUF_C_WIRE_TYPE_VARINT);
        return n + varint_put(out + n, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
        n = varint_put(out, tag | PROTOBUF_C_WIRE_TYPE_VARINT);
        return n + varint_put(out + n, *(const uint64_t *)m);
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        n = varint_put(out, tag | PROTOBUF_C_WIRE_TYPE_32BIT);
        memcpy(out + n, m, 4);
        return n + 4;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        n = varint_put(out, tag | PROTOBUF_C_WIRE_TYPE_64BIT);
        memcpy(out + n, m, 8);
        return n + 8;
    case PROTOBUF_C_TYPE_BOOL:
        n = varint_put(out, tag | PROTOBUF_C_WIRE_TYPE_VARINT);
        out[n] = *(const protobuf_c_boolean *)m ? 1 : 0;
        return n + 1;
    default:
        return SIZE_MAX; /* a type this encoder does not know: protobuf-c's business */
    }
}

static size_t pack_message(const ProtobufCMessage *msg, uint8_t *out, size_t cap) {
    if (PBENC_BIG_ENDIAN || msg->n_unknown_fields)
        return SIZE_MAX;
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    size_t at = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const void *m = (const char *)msg + f->offset;
        const void *q = (const char *)msg + f->quantifier_offset;
        bool pointer = f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING;
        switch (f->label) {
        case PROTOBUF_C_LABEL_REQUIRED:
            break;
        case PROTOBUF_C_LABEL_OPTIONAL:
        case PROTOBUF_C_LABEL_NONE:
            if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                if (*(const uint32_t *)q != f->id)
                    continue;
                if (pointer) {
                    const void *p = *(const void *const *)m;
                    if (!p || p == f->default_value)
                        continue;
                }
            } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
                if (pointer) {
                    const void *p = *(const void *const *)m;
                    if (!p || p == f->default_value)
                        continue;
                } else if (!*(const protobuf_c_boolean *)q)
                    continue;
            } else if (zeroish(f, m))
                continue;
            break;
        case PROTOBUF_C_LABEL_REPEATED:
            if (*(const size_t *)q == 0)
                continue; /* protobuf-c writes nothing for an empty repeated field */
            return SIZE_MAX;
        default:
            return SIZE_MAX;
        }
        size_t n = pack_field(f, m, out + at, cap - at);
        if (n == SIZE_MAX)
            return SIZE_MAX;
        at += n;
    }
    return at;
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
