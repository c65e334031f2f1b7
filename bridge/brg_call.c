/*  brg_call.c - one request in flight: decoded request, reply under construction, and an
    arena that owns every allocation the backend makes for the reply, so backends build
    replies without tracking frees. See brg_call.h.
*/
#include "brg_call.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arena chunk: a singly linked list of blocks freed together. */
typedef struct chunk {
    struct chunk *next;
    max_align_t data[];
} chunk_t;

struct brg_call {
    Xtbridge__Request *request;
    Xtbridge__Reply reply;
    Xtbridge__Error error;
    char *client;
    chunk_t *arena;
    brg_call_done_fn *done;
    void *done_arg;
    void *user;
    void (*user_free)(void **);
};

brg_call_t *brg_call_new(Xtbridge__Request *request, const char *client) {
    brg_call_t *self = (brg_call_t *)zmalloc(sizeof(brg_call_t));
    self->request = request;
    self->client = strdup(client ? client : "");
    xtbridge__reply__init(&self->reply);
    xtbridge__error__init(&self->error);
    self->reply.error = &self->error;
    self->error.code = XTBRIDGE__ERROR_CODE__OK;
    self->error.message = (char *)"";
    self->reply.request_id =
        brg_call_strdup(self, request && request->request_id ? request->request_id : "");
    return self;
}

void brg_call_destroy(brg_call_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_call_t *self = *self_p;
    if (self->user_free && self->user)
        self->user_free(&self->user);
    if (self->request)
        xtbridge__request__free_unpacked(self->request, NULL);
    while (self->arena) {
        chunk_t *next = self->arena->next;
        free(self->arena);
        self->arena = next;
    }
    free(self->client);
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
    chunk_t *chunk = (chunk_t *)calloc(1, sizeof(chunk_t) + (size ? size : 1));
    if (!chunk) {
        fprintf(stderr, "xtbridge: out of memory\n");
        abort();
    }
    chunk->next = self->arena;
    self->arena = chunk;
    return chunk->data;
}

char *brg_call_strdup(brg_call_t *self, const char *s) {
    if (!s)
        s = "";
    size_t len = strlen(s);
    char *copy = (char *)brg_call_alloc(self, len + 1);
    memcpy(copy, s, len + 1);
    return copy;
}

/* protobuf-c allocator backed by the call arena: frees are no-ops, the arena frees all. */
static void *arena_alloc(void *data, size_t size) {
    return brg_call_alloc((brg_call_t *)data, size);
}
static void arena_free(void *data, void *ptr) {
    (void)data;
    (void)ptr;
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
