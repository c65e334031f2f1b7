/*  brg_validate.h - hostile-input checks on a decoded Request, before anything acts on it.

    protobuf-c does not check that `string` fields hold UTF-8, and nothing bounds their
    length but the frame size. A GBK `strategy_name` would be journaled and then break
    every Python subscriber (protobuf refuses to decode invalid UTF-8) and every later
    query of that account. So every string of a request - all nested messages, repeated
    strings and map keys/values, found generically through the protobuf-c descriptors -
    must be strict UTF-8 and within its length limit, or the whole request is refused
    (INVALID_ARGUMENT naming the field) before it is journaled or reaches a backend.

    Limits (docs/protocol.md §3 is the contract):
      - every string: at most BRG_VALIDATE_MAX_STRING bytes, unless listed below;
      - Request.request_id: BRG_VALIDATE_MAX_REQUEST_ID bytes;
      - free-form JSON (deal_list_json entries, user_param_json, dict_param_json):
        BRG_VALIDATE_MAX_JSON bytes each; ExportDataRequest.result_path:
        BRG_VALIDATE_MAX_PATH bytes;
      - OrderStockRequest.order_remark: BRG_VALIDATE_MAX_REMARK "English characters" as
        the vendor doc says (最大 24 个英文字符): an ASCII character counts 1, any other
        character 2 (its width in the counter's GBK), also at most the generic byte cap.
*/
#ifndef BRG_VALIDATE_H_INCLUDED
#define BRG_VALIDATE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "xtbridge.pb-c.h"

#define BRG_VALIDATE_MAX_STRING 256
#define BRG_VALIDATE_MAX_REQUEST_ID 128
#define BRG_VALIDATE_MAX_JSON 65536
#define BRG_VALIDATE_MAX_PATH 1024
#define BRG_VALIDATE_MAX_REMARK 24

/*  0 when every string field of `req` is valid UTF-8 within its limit; -1 otherwise, with
    err naming the first offending field by its path from the request
    ("order_stock.strategy_name is not valid UTF-8 (byte 0xb2 at offset 0)",
    "replay.after[0].key is 300 bytes long; the limit is 256 bytes"). */
int brg_validate_request(const Xtbridge__Request *req, char *err, size_t errlen);

/*  0 when `request_id` alone passes (UTF-8, at most BRG_VALIDATE_MAX_REQUEST_ID bytes):
    the router echoes request_id in replies only when it does. err may be NULL. */
int brg_validate_request_id(const char *request_id, char *err, size_t errlen);

/*  Strict UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800..U+DFFF), nothing
    above U+10FFFF, no truncated sequences. True when s[0..len) is valid; otherwise false
    and *bad_at (if not NULL) is the offset of the first byte that is not part of a valid
    sequence. */
bool brg_validate_utf8(const char *s, size_t len, size_t *bad_at);

#endif
