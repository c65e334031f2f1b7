/*  brg_call.c - one request in flight: decoded request, reply under construction, and an
    arena that owns every allocation the backend makes for the reply, so backends build
    replies without tracking frees. See brg_call.h.
*/
#include "brg_call.h"

#include <czmq.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The arena: blocks freed together, filled by bumping a pointer. The first lives in the
   call itself, so a usual request (its decoded fields and its reply) costs no allocation
   beyond the call's. */
typedef struct block {
    struct block *next;
    size_t used, cap;
    uint8_t *data; /* max_align_t-aligned */
} block_t;

/* A heap block's header, rounded up so its data stays aligned. */
#define BLOCK_HEADER                                                                               \
    ((sizeof(block_t) + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t))

#define FIRST_BLOCK 1024
#define NEXT_BLOCK 4096

struct brg_call {
    Xtbridge__Request *request;
    bool request_in_arena; /* decoded by brg_call_decode: no free_unpacked */
    Xtbridge__Reply reply;
    Xtbridge__Error error;
    char *client;
    block_t *blocks; /* newest first; the last is `first` */
    brg_call_done_fn *done;
    void *done_arg;
    void *user;
    void (*user_free)(void **);
    /* a result the backend packed itself (brg_call_set_packed_result), or NULL */
    uint8_t *packed;
    size_t packed_len;
    Xtbridge__Reply__ResultCase packed_case;
    bool packed_allowed; /* the reply goes to the wire, not to a caller that reads it */
    block_t first;
    max_align_t first_data[FIRST_BLOCK / sizeof(max_align_t)];
};

/* A call is made and destroyed for every request, one after the other: the last one
   destroyed is kept for the next, which then costs no calloc of the 1 KB arena and no
   free. One slot, taken and given back atomically, whatever thread does it. */
static _Atomic(brg_call_t *) spare_call;

static brg_call_t *call_new(const char *client) {
    brg_call_t *self = atomic_exchange(&spare_call, NULL);
    if (self)
        memset(self, 0, offsetof(brg_call_t, first_data)); /* the arena's bytes need not be */
    else
        self = (brg_call_t *)zmalloc(sizeof(brg_call_t));
    self->first.cap = FIRST_BLOCK;
    self->first.data = (uint8_t *)self->first_data;
    self->blocks = &self->first;
    self->client = strdup(client ? client : "");
    xtbridge__reply__init(&self->reply);
    xtbridge__error__init(&self->error);
    self->reply.error = &self->error;
    self->error.code = XTBRIDGE__ERROR_CODE__OK;
    self->error.message = (char *)"";
    return self;
}

static void set_request(brg_call_t *self, Xtbridge__Request *request) {
    self->request = request;
    self->reply.request_id =
        brg_call_strdup(self, request && request->request_id ? request->request_id : "");
}

/* protobuf-c allocator backed by the call arena: frees are no-ops, the arena frees all. */
static void *arena_alloc(void *data, size_t size) {
    return brg_call_alloc((brg_call_t *)data, size);
}
static void arena_free(void *data, void *ptr) {
    (void)data;
    (void)ptr;
}

brg_call_t *brg_call_decode(const uint8_t *data, size_t size, const char *client) {
    brg_call_t *self = call_new(client);
    ProtobufCAllocator allocator = {arena_alloc, arena_free, self};
    Xtbridge__Request *request = xtbridge__request__unpack(&allocator, size, data);
    if (!request) {
        brg_call_destroy(&self);
        return NULL;
    }
    self->request_in_arena = true;
    set_request(self, request);
    return self;
}

brg_call_t *brg_call_new(Xtbridge__Request *request, const char *client) {
    brg_call_t *self = call_new(client);
    set_request(self, request);
    return self;
}

void brg_call_destroy(brg_call_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_call_t *self = *self_p;
    if (self->user_free && self->user)
        self->user_free(&self->user);
    if (self->request && !self->request_in_arena)
        xtbridge__request__free_unpacked(self->request, NULL);
    free(self->packed);
    for (block_t *block = self->blocks; block;) {
        block_t *next = block->next;
        if (block != &self->first)
            free(block);
        block = next;
    }
    free(self->client);
    brg_call_t *empty = NULL;
    if (!atomic_compare_exchange_strong(&spare_call, &empty, self))
        free(self);
    *self_p = NULL;
}

const Xtbridge__Request *brg_call_request(brg_call_t *self) {
    return self->request;
}

Xtbridge__Reply *brg_call_reply(brg_call_t *self) {
    return &self->reply;
}

const char *brg_call_client(brg_call_t *self) {
    return self->client;
}

void *brg_call_alloc(brg_call_t *self, size_t size) {
    size_t need = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (need == 0)
        need = sizeof(max_align_t);
    block_t *block = self->blocks;
    if (block->cap - block->used < need) {
        size_t cap = need > NEXT_BLOCK ? need : NEXT_BLOCK;
        block = (block_t *)malloc(BLOCK_HEADER + cap);
        if (!block) {
            fprintf(stderr, "xtbridge: out of memory\n");
            abort();
        }
        block->cap = cap;
        block->used = 0;
        block->data = (uint8_t *)block + BLOCK_HEADER;
        /* a big block goes behind the current one, which keeps its free room */
        if (cap > NEXT_BLOCK) {
            block->next = self->blocks->next;
            self->blocks->next = block;
        } else {
            block->next = self->blocks;
            self->blocks = block;
        }
    }
    void *at = block->data + block->used;
    block->used += need;
    memset(at, 0, need);
    return at;
}

char *brg_call_strdup(brg_call_t *self, const char *s) {
    if (!s)
        s = "";
    size_t len = strlen(s);
    char *copy = (char *)brg_call_alloc(self, len + 1);
    memcpy(copy, s, len + 1);
    return copy;
}

ProtobufCMessage *brg_call_copy_message(brg_call_t *self, const ProtobufCMessage *msg) {
    if (!msg)
        return NULL;
    size_t size = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = (uint8_t *)brg_call_alloc(self, size);
    protobuf_c_message_pack(msg, buf);
    ProtobufCAllocator allocator = {arena_alloc, arena_free, self};
    return protobuf_c_message_unpack(msg->descriptor, &allocator, size, buf);
}

void brg_call_fail(brg_call_t *self, Xtbridge__ErrorCode code, const char *fmt, ...) {
    char text[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    self->error.code = code;
    self->error.message = brg_call_strdup(self, text);
    /* An error reply carries no result: a half-built one would read as success. */
    self->reply.result_case = XTBRIDGE__REPLY__RESULT__NOT_SET;
    free(self->packed);
    self->packed = NULL;
}

void brg_call_set_packed_result(brg_call_t *self, Xtbridge__Reply__ResultCase result,
                                uint8_t *bytes, size_t len) {
    free(self->packed);
    self->packed = bytes;
    self->packed_len = len;
    self->packed_case = result;
    self->reply.result_case = XTBRIDGE__REPLY__RESULT__NOT_SET;
}

void brg_call_allow_packed(brg_call_t *self) {
    self->packed_allowed = true;
}

bool brg_call_packed_allowed(brg_call_t *self) {
    return self->packed_allowed;
}

uint8_t *brg_call_take_packed_result(brg_call_t *self, Xtbridge__Reply__ResultCase *result,
                                     size_t *len) {
    uint8_t *bytes = self->packed;
    *result = self->packed_case;
    *len = self->packed_len;
    self->packed = NULL;
    return bytes;
}

const char *brg_call_body_name(Xtbridge__Request__BodyCase body) {
    if (body == XTBRIDGE__REQUEST__BODY__NOT_SET)
        return NULL;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field(&xtbridge__request__descriptor, (unsigned)body);
    /* request_id is field 1, not a body */
    if (!field || field->id == 1)
        return NULL;
    return field->name;
}

const char *brg_call_name(brg_call_t *self) {
    const char *name = self->request ? brg_call_body_name(self->request->body_case) : NULL;
    return name ? name : "none";
}

void brg_call_set_done(brg_call_t *self, brg_call_done_fn *done, void *arg) {
    self->done = done;
    self->done_arg = arg;
}

void brg_call_complete(brg_call_t *self) {
    if (self->done)
        self->done(self, self->done_arg);
}

void brg_call_set_user(brg_call_t *self, void *user, void (*user_free)(void **)) {
    self->user = user;
    self->user_free = user_free;
}

void *brg_call_user(brg_call_t *self) {
    return self->user;
}
