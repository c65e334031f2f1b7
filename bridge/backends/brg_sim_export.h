/*  brg_sim_export.h - the sim's export_data / query_data files: the CSV of deals, orders
    or positions that xttrader writes, kept under the bridge's own export directory
    (<data dir>/export) whatever path the client names, and read back as JSON rows.

    The client's result_path only names the file: its last component (after the last '/'
    or '\') must be a plain `name.csv` (letters, digits, '.', '_', '-'; not starting with
    '.'), so `..`, absolute and Windows paths cannot leave the directory; the file is
    opened without following a symlink.
*/
#ifndef BRG_SIM_EXPORT_H_INCLUDED
#define BRG_SIM_EXPORT_H_INCLUDED

#include <stddef.h>
#include <stdio.h>

#include "xtbridge.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    BRG_SIM_EXPORT_DEAL = 0,
    BRG_SIM_EXPORT_ORDER = 1,
    BRG_SIM_EXPORT_POSITION = 2,
} brg_sim_export_kind_t;

/*  The kind named by data_type ('deal', 'order', 'position'), or -1. */
int brg_sim_export_kind(const char *data_type);

/*  The file name result_path asks for (see above) into name. 0, or -1 with the reason. */
int brg_sim_export_file_name(const char *result_path, char *name, size_t len, char *err,
                             size_t errlen);

/*  Create <data_dir>/export if needed and open <that>/<name> for writing (truncated, never
    through a symlink). The full path goes into path. NULL with the reason on failure. */
FILE *brg_sim_export_open(const char *data_dir, const char *name, char *path, size_t pathlen,
                          char *err, size_t errlen);

/*  The CSV header line of a kind, then one line per record. */
void brg_sim_export_header(FILE *out, brg_sim_export_kind_t kind);
void brg_sim_export_trade(FILE *out, const Xtbridge__XtTrade *t);
void brg_sim_export_order(FILE *out, const Xtbridge__XtOrder *o);
void brg_sim_export_position(FILE *out, const Xtbridge__XtPosition *p);

/*  Read an exported CSV as a JSON array of objects keyed by the header (numbers as JSON
    numbers, the rest as strings). malloc'd text, or NULL with the reason. */
char *brg_sim_export_read_json(const char *path, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
