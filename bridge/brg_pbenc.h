/*  brg_pbenc.h - packs protobuf-c messages in one pass, byte for byte as
    protobuf_c_message_pack does. It exists because every push is packed on the bridge's
    loop thread: protobuf-c sizes a message (get_packed_size) and then packs it, each a
    walk of the descriptor costing ~2,000 instructions for an XtOrder, which made packing
    the largest part of a fill's four pushes and of the book's records. This encoder walks
    the fields once into a buffer the caller already has, checking room as it goes.

    It covers what the bridge's events and records hold: proto3 singular and optional
    fields of every scalar type, strings, bytes, oneofs and nested messages. A repeated
    field with elements or unknown fields (a message that came from unpack) are left to
    protobuf-c: the functions then answer SIZE_MAX, as they do when the buffer is too small,
    and brg_pbenc_pack_alloc falls back to get_packed_size + pack.
*/
#ifndef BRG_PBENC_H_INCLUDED
#define BRG_PBENC_H_INCLUDED

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Pack `msg` into out[0, cap): the same bytes protobuf_c_message_pack writes. Returns
    their number, or SIZE_MAX when msg holds something left to protobuf-c (see above) or
    cap is short; out's content is then undefined. Room is checked per field against its
    worst case (a tag and a 10-byte varint), so a cap below the packed size + 15 may be
    refused; nothing is ever written at or past out + cap. */
size_t brg_pbenc_pack(const ProtobufCMessage *msg, uint8_t *out, size_t cap);

/*  Pack `msg` into *buf (malloc'd, *cap bytes; NULL and 0 to allocate one), in one pass
    when it fits, else through protobuf-c into a buffer grown to the packed size (*buf and
    *cap updated). Returns the size, or SIZE_MAX when no memory could be had (*buf is then
    still the caller's to free). */
size_t brg_pbenc_pack_alloc(const ProtobufCMessage *msg, uint8_t **buf, size_t *cap);

/*  The head of a length-delimited field (a string, bytes, a message, one element of a
    repeated message) written at out: its tag, then `len` as a varint. Returns the bytes
    written, at most BRG_PBENC_LEN_PREFIX_MAX. For bytes packed apart and spliced in. */
#define BRG_PBENC_LEN_PREFIX_MAX 15
size_t brg_pbenc_len_prefix(uint8_t *out, uint32_t field, size_t len);

#ifdef __cplusplus
}
#endif

#endif
