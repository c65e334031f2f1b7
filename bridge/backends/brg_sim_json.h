/*  brg_sim_json.h - a small reader for the flat JSON objects of the vendor API's dict
    arguments (sync_transaction_from_external's deals, smt dict_param): one object whose
    values are strings, numbers, true/false or null. Nested objects and arrays are refused
    (no vendor dict of these calls has them), as is anything that is not strict JSON, so
    a client learns what was wrong instead of seeing a field silently ignored.
*/
#ifndef BRG_SIM_JSON_H_INCLUDED
#define BRG_SIM_JSON_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { BRG_JSON_STRING, BRG_JSON_NUMBER, BRG_JSON_BOOL, BRG_JSON_NULL } brg_json_type_t;

/*  One member: `text` is the decoded string (STRING), else the literal; `number` is set for
    NUMBER and BOOL (1/0). Return non-zero to stop with that value. */
typedef int(brg_json_member_fn)(void *arg, const char *key, brg_json_type_t type, const char *text,
                                double number);

/*  Visit every member of the object in `json`. 0, the visitor's non-zero value, or -1
    with the reason in err. */
int brg_sim_json_object(const char *json, brg_json_member_fn *fn, void *arg, char *err,
                        size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
