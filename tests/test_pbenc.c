/*  test_pbenc.c - brg_pbenc against protobuf-c itself: every message type reachable from
    Request, Reply, Event and the sim's state records, filled at random from its
    descriptor (zeros, negatives, -0.0, NULL and empty strings, strings long enough for a
    two-byte length, nested messages past 127 bytes, every oneof member), must pack to
    exactly the bytes protobuf_c_message_pack writes; a buffer too short is refused
    without a write past its end (ASan); what the encoder leaves to protobuf-c (repeated
    elements, unknown fields) is refused and packed by brg_pbenc_pack_alloc's fallback.
*/
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "brg_pbenc.h"
#include "xtbridge.pb-c.h"
#include "xtbridge_state.pb-c.h"

/* every allocation of a random message, freed at the end of the test */
static void *pool[1 << 16];
static size_t npool;

static void *keep(void *p) {
    cr_assert(npool < sizeof pool / sizeof *pool);
    pool[npool++] = p;
    return p;
}

static void pool_free(void) {
    while (npool)
        free(pool[--npool]);
}

static uint64_t rnd64(void) {
    return ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
}

/* a value of each kind, often one protobuf-c treats specially */
static uint64_t rnd_int(void) {
    switch (rand() % 6) {
    case 0:
        return 0;
    case 1:
        return (uint64_t) - (int64_t)(1 + rand() % 1000); /* negative */
    case 2:
        return (uint64_t)(rand() % 128);
    case 3:
        return UINT64_MAX;
    default:
        return rnd64() >> (rand() % 64);
    }
}

static char *rnd_string(void) {
    static char none[] = "";
    switch (rand() % 5) {
    case 0:
        return NULL;
    case 1:
        return none;
    default: {
        size_t len = rand() % 3 == 0 ? 128 + (size_t)(rand() % 300) : (size_t)(rand() % 20);
        char *s = (char *)keep(malloc(len + 1));
        for (size_t i = 0; i < len; i++)
            s[i] = (char)('a' + rand() % 26);
        s[len] = 0;
        return s;
    }
    }
}

static ProtobufCMessage *rnd_message(const ProtobufCMessageDescriptor *d, int depth);

static void rnd_value(const ProtobufCFieldDescriptor *f, void *m, int depth) {
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)m = rand() % 2;
        break;
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
        *(uint32_t *)m = (uint32_t)rnd_int();
        break;
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
        *(uint64_t *)m = rnd_int();
        break;
    case PROTOBUF_C_TYPE_FLOAT: {
        static const float v[] = {0.0f, -0.0f, 1.5f, -3.25e7f};
        *(float *)m = v[rand() % 4];
        break;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        static const double v[] = {0.0, -0.0, 10.52, -1e300, 4.9e-324};
        *(double *)m = v[rand() % 5];
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        *(char **)m = rnd_string();
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = (ProtobufCBinaryData *)m;
        b->len = rand() % 3 ? (size_t)(rand() % 200) : 0;
        b->data = (uint8_t *)keep(malloc(b->len + 1));
        for (size_t i = 0; i < b->len; i++)
            b->data[i] = (uint8_t)rand();
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        *(ProtobufCMessage **)m =
            depth < 3 && rand() % 4
                ? rnd_message((const ProtobufCMessageDescriptor *)f->descriptor, depth + 1)
                : NULL;
        break;
    }
}

/* A message of type d with random fields; repeated fields stay empty. */
static ProtobufCMessage *rnd_message(const ProtobufCMessageDescriptor *d, int depth) {
    ProtobufCMessage *msg = (ProtobufCMessage *)keep(calloc(1, d->sizeof_message));
    protobuf_c_message_init(d, msg);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        void *m = (char *)msg + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* the members share storage: the last one chosen is the case and the value */
            if (rand() % 3 == 0) {
                *(uint32_t *)((char *)msg + f->quantifier_offset) = (uint32_t)f->id;
                rnd_value(f, m, depth);
            }
            continue;
        }
        rnd_value(f, m, depth);
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
            f->type != PROTOBUF_C_TYPE_MESSAGE)
            *(protobuf_c_boolean *)((char *)msg + f->quantifier_offset) = rand() % 2;
    }
    return msg;
}

/* descriptors reachable from the roots, each once */
static const ProtobufCMessageDescriptor *types[512];
static size_t ntypes;

static void collect(const ProtobufCMessageDescriptor *d) {
    for (size_t i = 0; i < ntypes; i++)
        if (types[i] == d)
            return;
    cr_assert(ntypes < sizeof types / sizeof *types);
    types[ntypes++] = d;
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
            collect((const ProtobufCMessageDescriptor *)d->fields[i].descriptor);
}

static void collect_all(void) {
    ntypes = 0;
    const ProtobufCMessageDescriptor *roots[] = {
        &xtbridge__request__descriptor,
        &xtbridge__reply__descriptor,
        &xtbridge__event__descriptor,
        &xtbridge__state__sim_counters__descriptor,
        &xtbridge__state__sim_account__descriptor,
        &xtbridge__state__sim_quote__descriptor,
        &xtbridge__state__sim_position__descriptor,
        &xtbridge__state__sim_order__descriptor,
        &xtbridge__state__sim_trade__descriptor,
        &xtbridge__state__sim_credit__descriptor,
        &xtbridge__state__sim_transfer__descriptor,
        &xtbridge__state__sim_futures_book__descriptor,
    };
    for (size_t i = 0; i < sizeof roots / sizeof *roots; i++)
        collect(roots[i]);
}

/* brg_pbenc_pack gives protobuf-c's bytes whenever it answers, always with the packed size +
   15 bytes of room (its per-field worst case), never with less than the packed size, and
   never writes past the end of the buffer (each cap is a malloc of exactly that size, for
   ASan) */
static void check_same(const ProtobufCMessage *msg) {
    size_t size = protobuf_c_message_get_packed_size(msg);
    uint8_t *want = (uint8_t *)malloc(size + 1);
    cr_assert_eq(protobuf_c_message_pack(msg, want), size);
    size_t caps[] = {size + 15, size + 14, size + 1, size, size ? size - 1 : 0, size / 2, 0};
    for (size_t i = 0; i < sizeof caps / sizeof *caps; i++) {
        size_t cap = caps[i];
        uint8_t *got = (uint8_t *)malloc(cap ? cap : 1);
        size_t n = brg_pbenc_pack(msg, got, cap);
        if (i == 0)
            cr_assert_eq(n, size, "%s: %zu bytes, protobuf-c %zu", msg->descriptor->name, n, size);
        if (cap < size)
            cr_assert_eq(n, SIZE_MAX, "%s: %zu bytes fit %zu", msg->descriptor->name, size, cap);
        if (n != SIZE_MAX) {
            cr_assert_eq(n, size, "%s: %zu bytes, protobuf-c %zu", msg->descriptor->name, n, size);
            cr_assert_eq(memcmp(got, want, size), 0, "%s: bytes differ", msg->descriptor->name);
        }
        free(got);
    }
    free(want);
}

Test(pbenc, every_type_random_as_protobuf_c) {
    collect_all();
    cr_assert_gt(ntypes, 100, "%zu message types reached", ntypes);
    srand(20261130);
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < ntypes; i++) {
            check_same(rnd_message(types[i], 0));
            pool_free();
        }
    }
}

/* The pushes of a fill as the sim makes them, every body kind of Event. */
Test(pbenc, every_event_body) {
    srand(7);
    const ProtobufCMessageDescriptor *d = &xtbridge__event__descriptor;
    int bodies = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        bodies++;
        for (int round = 0; round < 100; round++) {
            Xtbridge__Event e = XTBRIDGE__EVENT__INIT;
            e.topic = (char *)"order.55009999.";
            e.seq = (uint64_t)round * 1000;
            e.bridge_epoch = 0x8000000000000001ULL;
            e.time_ns = 1764480000123456789LL;
            e.body_case = (Xtbridge__Event__BodyCase)f->id;
            *(ProtobufCMessage **)((char *)&e + f->offset) =
                rnd_message((const ProtobufCMessageDescriptor *)f->descriptor, 1);
            check_same(&e.base);
            pool_free();
        }
    }
    cr_assert_eq(bodies, 13);
}

Test(pbenc, oneof_and_defaults) {
    /* a case without its member, a member without its case: nothing of the body */
    Xtbridge__Event e = XTBRIDGE__EVENT__INIT;
    e.body_case = XTBRIDGE__EVENT__BODY_ORDER;
    check_same(&e.base);
    Xtbridge__XtOrder o = XTBRIDGE__XT_ORDER__INIT;
    e.body_case = XTBRIDGE__EVENT__BODY__NOT_SET;
    e.order = &o;
    check_same(&e.base);
    uint8_t out[64];
    cr_assert_eq(brg_pbenc_pack(&e.base, out, sizeof out), 0, "an all-default Event is empty");
    /* an empty body is still there: tag and a zero length */
    e.body_case = XTBRIDGE__EVENT__BODY_ORDER;
    cr_assert_eq(brg_pbenc_pack(&e.base, out, sizeof out), 2);
    cr_assert_eq(out[0], (10 << 3) | 2);
    cr_assert_eq(out[1], 0);
    check_same(&e.base);
}

Test(pbenc, repeated_and_unknown_fields_fall_back) {
    Xtbridge__State__SimCompact c = XTBRIDGE__STATE__SIM_COMPACT__INIT;
    Xtbridge__State__SimCompact *list[] = {&c};
    Xtbridge__State__SimCredit credit = XTBRIDGE__STATE__SIM_CREDIT__INIT;
    uint8_t out[4096];
    cr_assert_neq(brg_pbenc_pack(&credit.base, out, sizeof out), SIZE_MAX,
                  "empty repeated fields are packed");
    credit.n_compacts = 1;
    credit.compacts = list;
    cr_assert_eq(brg_pbenc_pack(&credit.base, out, sizeof out), SIZE_MAX);
    size_t size = protobuf_c_message_get_packed_size(&credit.base);
    uint8_t want[4096];
    protobuf_c_message_pack(&credit.base, want);
    /* fallback into a buffer too small: grown to the size */
    uint8_t *buf = (uint8_t *)malloc(1);
    size_t cap = 1;
    cr_assert_eq(brg_pbenc_pack_alloc(&credit.base, &buf, &cap), size);
    cr_assert_geq(cap, size);
    cr_assert_eq(memcmp(buf, want, size), 0);
    free(buf);

    /* a message from unpack may carry fields this build does not know */
    uint8_t wire[] = {0x08, 0x05, 0xf8, 0x07, 0x2a}; /* field 1 = 5, field 127 = 42 */
    Xtbridge__XtAsset *a = xtbridge__xt_asset__unpack(NULL, sizeof wire, wire);
    cr_assert_not_null(a);
    cr_assert_eq(a->base.n_unknown_fields, 1);
    cr_assert_eq(brg_pbenc_pack(&a->base, out, sizeof out), SIZE_MAX);
    buf = NULL;
    cap = 0;
    cr_assert_eq(brg_pbenc_pack_alloc(&a->base, &buf, &cap), sizeof wire);
    cr_assert_eq(memcmp(buf, wire, sizeof wire), 0);
    free(buf);
    xtbridge__xt_asset__free_unpacked(a, NULL);
}

Test(pbenc, pack_alloc_grows_and_keeps) {
    Xtbridge__XtOrder o = XTBRIDGE__XT_ORDER__INIT;
    o.account_id = (char *)"55009999";
    o.order_id = 1000123;
    o.price = 10.52;
    size_t size = protobuf_c_message_get_packed_size(&o.base);
    uint8_t *buf = NULL;
    size_t cap = 0;
    cr_assert_eq(brg_pbenc_pack_alloc(&o.base, &buf, &cap), size, "a first buffer");
    cr_assert_eq(cap, size);
    uint8_t *kept = buf;
    o.order_id = 7; /* shorter: packed in place, the buffer kept */
    size_t smaller = protobuf_c_message_get_packed_size(&o.base);
    cr_assert_eq(brg_pbenc_pack_alloc(&o.base, &buf, &cap), smaller);
    cr_assert_eq(buf, kept);
    cr_assert_eq(cap, size);
    free(buf);
}

/* The bridge's protos use only bool, double, (u)int32/64, strings, enums and messages:
   the other types and labels are checked on a message type described here by hand, the
   way protoc-c would describe it (proto2 optional and required fields included). */
typedef struct {
    ProtobufCMessage base;
    int32_t s32;
    int64_t s64;
    uint32_t f32;
    int32_t sf32;
    uint64_t f64;
    int64_t sf64;
    float fl;
    ProtobufCBinaryData by;
    protobuf_c_boolean has_opt_by;
    ProtobufCBinaryData opt_by;
    protobuf_c_boolean has_opt_i32;
    int32_t opt_i32;
    char *opt_str;
    char *req_str;
    Xtbridge__XtAsset *req_msg;
    Xtbridge__XtAsset *opt_msg;
    protobuf_c_boolean has_opt_fl;
    float opt_fl;
} all_types_t;

static const ProtobufCMessageDescriptor all_types_descriptor;
static void all_types_init(ProtobufCMessage *m) {
    memset(m, 0, sizeof(all_types_t));
    m->descriptor = &all_types_descriptor;
}

#define FIELD(num, nm, lbl, typ, has, mem, desc)                                                   \
    {                                                                                              \
        nm, num, PROTOBUF_C_LABEL_##lbl, PROTOBUF_C_TYPE_##typ, has, offsetof(all_types_t, mem),   \
            desc, NULL, 0, 0, NULL, NULL                                                           \
    }
static const ProtobufCFieldDescriptor all_fields[] = {
    FIELD(1, "s32", NONE, SINT32, 0, s32, NULL),
    FIELD(2, "s64", NONE, SINT64, 0, s64, NULL),
    FIELD(3, "f32", NONE, FIXED32, 0, f32, NULL),
    FIELD(4, "sf32", NONE, SFIXED32, 0, sf32, NULL),
    FIELD(5, "f64", NONE, FIXED64, 0, f64, NULL),
    FIELD(6, "sf64", NONE, SFIXED64, 0, sf64, NULL),
    FIELD(7, "fl", NONE, FLOAT, 0, fl, NULL),
    FIELD(8, "by", NONE, BYTES, 0, by, NULL),
    FIELD(9, "opt_by", OPTIONAL, BYTES, offsetof(all_types_t, has_opt_by), opt_by, NULL),
    FIELD(10, "opt_i32", OPTIONAL, INT32, offsetof(all_types_t, has_opt_i32), opt_i32, NULL),
    FIELD(11, "opt_str", OPTIONAL, STRING, 0, opt_str, NULL),
    FIELD(12, "req_str", REQUIRED, STRING, 0, req_str, NULL),
    FIELD(13, "req_msg", REQUIRED, MESSAGE, 0, req_msg, &xtbridge__xt_asset__descriptor),
    FIELD(14, "opt_msg", OPTIONAL, MESSAGE, 0, opt_msg, &xtbridge__xt_asset__descriptor),
    /* a field number that takes a 3-byte tag */
    FIELD(20000, "opt_fl", OPTIONAL, FLOAT, offsetof(all_types_t, has_opt_fl), opt_fl, NULL),
};
static const unsigned all_by_name[] = {7, 2, 4, 6, 8, 14, 9, 13, 10, 12, 11, 0, 1, 3, 5};
static const ProtobufCIntRange all_ranges[] = {{1, 0}, {20000, 14}, {0, 15}};
static const ProtobufCMessageDescriptor all_types_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    "test.AllTypes",
    "AllTypes",
    "AllTypes",
    "test",
    sizeof(all_types_t),
    sizeof all_fields / sizeof *all_fields,
    all_fields,
    all_by_name,
    2,
    all_ranges,
    (ProtobufCMessageInit)all_types_init,
    NULL,
    NULL,
    NULL,
};

Test(pbenc, other_types_and_labels) {
    srand(11);
    for (int round = 0; round < 2000; round++) {
        all_types_t *m = (all_types_t *)rnd_message(&all_types_descriptor, 2);
        /* rnd_message gives strings and messages at random; a required message is often
           NULL, which protobuf-c writes as empty */
        check_same(&m->base);
        pool_free();
    }
    all_types_t m;
    memset(&m, 0, sizeof m);
    m.base.descriptor = &all_types_descriptor;
    m.fl = -0.0f; /* zeroish: left out, like 0 */
    m.s32 = -1;   /* zigzag: 1 */
    check_same(&m.base);
    uint8_t out[64];
    size_t n = brg_pbenc_pack(&m.base, out, sizeof out);
    /* s32 = -1 (zigzag 1), req_str NULL and req_msg NULL as empty */
    uint8_t want[] = {0x08, 0x01, 0x62, 0x00, 0x6a, 0x00};
    cr_assert_eq(n, sizeof want);
    cr_assert_eq(memcmp(out, want, sizeof want), 0);
}

/* The head of a length-delimited field spliced in by hand (the router's packed results,
   the sim's long lists): tag then length, both varints. */
Test(pbenc, len_prefix_is_tag_then_length) {
    uint8_t out[BRG_PBENC_LEN_PREFIX_MAX];
    cr_assert_eq(brg_pbenc_len_prefix(out, 1, 0), 2);
    cr_assert_eq(out[0], 0x0A);
    cr_assert_eq(out[1], 0x00);
    cr_assert_eq(brg_pbenc_len_prefix(out, 1, 300), 3);
    cr_assert_eq(out[0], 0x0A);
    cr_assert_eq(out[1], 0xAC);
    cr_assert_eq(out[2], 0x02);
    cr_assert_eq(brg_pbenc_len_prefix(out, 17, 127), 3);
    cr_assert_eq(out[0], 0x8A);
    cr_assert_eq(out[1], 0x01);
    cr_assert_eq(out[2], 0x7F);
}
