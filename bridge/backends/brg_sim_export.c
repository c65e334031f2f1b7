/*  brg_sim_export.c - export_data / query_data files of the sim. See brg_sim_export.h.

    Columns follow the xttrader structures' attribute names (the vendor doc's query_data
    example prints account_id, account_Type, stock_code, order_type, ...: its spelling of
    the account type column is kept).
*/
#include "brg_sim_export.h"

#include "brg_compat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int brg_sim_export_kind(const char *data_type) {
    if (!data_type)
        return -1;
    if (strcmp(data_type, "deal") == 0)
        return BRG_SIM_EXPORT_DEAL;
    if (strcmp(data_type, "order") == 0)
        return BRG_SIM_EXPORT_ORDER;
    if (strcmp(data_type, "position") == 0)
        return BRG_SIM_EXPORT_POSITION;
    return -1;
}

int brg_sim_export_file_name(const char *result_path, char *name, size_t len, char *err,
                             size_t errlen) {
    const char *path = result_path ? result_path : "";
    const char *base = path;
    for (const char *s = path; *s; s++)
        if (*s == '/' || *s == '\\')
            base = s + 1;
    size_t n = strlen(base);
    bool ok =
        n > 4 && n < len && n <= 128 && base[0] != '.' && strcasecmp(base + n - 4, ".csv") == 0;
    for (size_t i = 0; ok && i < n; i++) {
        char c = base[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    }
    if (!ok) {
        snprintf(err, errlen,
                 "result_path '%.80s' must end in a file name like deal.csv (letters, digits, "
                 ". _ -; the bridge writes it in its own export directory)",
                 path);
        return -1;
    }
    memcpy(name, base, n + 1);
    return 0;
}

FILE *brg_sim_export_open(const char *data_dir, const char *name, char *path, size_t pathlen,
                          char *err, size_t errlen) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/export", data_dir && *data_dir ? data_dir : ".");
    if (brg_compat_mkdir(dir) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the export directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    char *real = brg_compat_realpath(dir);
    snprintf(path, pathlen, "%s/%s", real ? real : dir, name);
    free(real);
    FILE *f = brg_compat_create_file(path); /* never through a symlink */
    if (!f)
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return f;
}

/* One CSV cell: quoted when it holds a comma, quote or line break. */
static void cell(FILE *out, const char *text, bool last) {
    const char *s = text ? text : "";
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
    fputc(last ? '\n' : ',', out);
}

static void cell_int(FILE *out, int64_t v, bool last) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    cell(out, buf, last);
}

static void cell_num(FILE *out, double v, bool last) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.2f", v);
    cell(out, buf, last);
}

static void cell_price(FILE *out, double v, bool last) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.4f", v);
    cell(out, buf, last);
}

static const char *const deal_columns =
    "account_id,account_Type,stock_code,order_type,traded_id,traded_time,traded_price,"
    "traded_volume,traded_amount,order_id,order_sysid,strategy_name,order_remark,direction,"
    "offset_flag,commission\n";
static const char *const order_columns =
    "account_id,account_Type,stock_code,order_id,order_sysid,order_time,order_type,"
    "order_volume,price_type,price,traded_volume,traded_price,order_status,status_msg,"
    "strategy_name,order_remark,direction,offset_flag\n";
static const char *const position_columns =
    "account_id,account_Type,stock_code,volume,can_use_volume,open_price,market_value,"
    "frozen_volume,on_road_volume,yesterday_volume,avg_price,direction\n";

void brg_sim_export_header(FILE *out, brg_sim_export_kind_t kind) {
    fputs(kind == BRG_SIM_EXPORT_DEAL    ? deal_columns
          : kind == BRG_SIM_EXPORT_ORDER ? order_columns
                                         : position_columns,
          out);
}

void brg_sim_export_trade(FILE *out, const Xtbridge__XtTrade *t) {
    cell(out, t->account_id, false);
    cell_int(out, t->account_type, false);
    cell(out, t->stock_code, false);
    cell_int(out, t->order_type, false);
    cell(out, t->traded_id, false);
    cell_int(out, t->traded_time, false);
    cell_price(out, t->traded_price, false);
    cell_int(out, t->traded_volume, false);
    cell_num(out, t->traded_amount, false);
    cell_int(out, t->order_id, false);
    cell(out, t->order_sysid, false);
    cell(out, t->strategy_name, false);
    cell(out, t->order_remark, false);
    cell_int(out, t->direction, false);
    cell_int(out, t->offset_flag, false);
    cell_num(out, t->commission, true);
}

void brg_sim_export_order(FILE *out, const Xtbridge__XtOrder *o) {
    cell(out, o->account_id, false);
    cell_int(out, o->account_type, false);
    cell(out, o->stock_code, false);
    cell_int(out, o->order_id, false);
    cell(out, o->order_sysid, false);
    cell_int(out, o->order_time, false);
    cell_int(out, o->order_type, false);
    cell_int(out, o->order_volume, false);
    cell_int(out, o->price_type, false);
    cell_price(out, o->price, false);
    cell_int(out, o->traded_volume, false);
    cell_price(out, o->traded_price, false);
    cell_int(out, o->order_status, false);
    cell(out, o->status_msg, false);
    cell(out, o->strategy_name, false);
    cell(out, o->order_remark, false);
    cell_int(out, o->direction, false);
    cell_int(out, o->offset_flag, true);
}

void brg_sim_export_position(FILE *out, const Xtbridge__XtPosition *p) {
    cell(out, p->account_id, false);
    cell_int(out, p->account_type, false);
    cell(out, p->stock_code, false);
    cell_int(out, p->volume, false);
    cell_int(out, p->can_use_volume, false);
    cell_price(out, p->open_price, false);
    cell_num(out, p->market_value, false);
    cell_int(out, p->frozen_volume, false);
    cell_int(out, p->on_road_volume, false);
    cell_int(out, p->yesterday_volume, false);
    cell_price(out, p->avg_price, false);
    cell_int(out, p->direction, true);
}

/* --- reading back ------------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t size, capacity;
} text_t;

static void put(text_t *t, const char *s, size_t n) {
    if (t->size + n + 1 > t->capacity) {
        t->capacity = (t->size + n + 1) * 2;
        t->data = (char *)realloc(t->data, t->capacity);
        if (!t->data)
            abort();
    }
    memcpy(t->data + t->size, s, n);
    t->size += n;
    t->data[t->size] = 0;
}

static void puts_text(text_t *t, const char *s) {
    put(t, s, strlen(s));
}

/* Whether s is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)? */
static bool json_number(const char *s) {
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == 0;
}

static void json_string(text_t *t, const char *s) {
    put(t, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            put(t, esc, 2);
        } else if (c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            puts_text(t, esc);
        } else {
            put(t, (const char *)&c, 1);
        }
    }
    put(t, "\"", 1);
}

/*  Split one CSV record starting at *p into cells (malloc'd, NULL-terminated array);
    advances *p past its line end. NULL at the end of the text. */
static char **csv_record(const char **p, size_t *ncells) {
    const char *s = *p;
    if (!*s)
        return NULL;
    char **cells = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        text_t c = {0};
        put(&c, "", 0);
        if (*s == '"') {
            s++;
            while (*s && !(*s == '"' && s[1] != '"')) {
                if (*s == '"')
                    s++; /* doubled quote */
                put(&c, s, 1);
                s++;
            }
            if (*s == '"')
                s++;
        } else {
            while (*s && *s != ',' && *s != '\n' && *s != '\r') {
                put(&c, s, 1);
                s++;
            }
        }
        if (n + 2 > cap) {
            cap = cap ? cap * 2 : 16;
            cells = (char **)realloc(cells, cap * sizeof(char *));
            if (!cells)
                abort();
        }
        cells[n++] = c.data;
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\r')
            s++;
        if (*s == '\n')
            s++;
        break;
    }
    cells[n] = NULL;
    *ncells = n;
    *p = s;
    return cells;
}

static void cells_free(char **cells) {
    for (size_t i = 0; cells && cells[i]; i++)
        free(cells[i]);
    free(cells);
}

char *brg_sim_export_read_json(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    text_t file = {0};
    char buf[4096];
    size_t n;
    put(&file, "", 0);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        put(&file, buf, n);
    fclose(f);
    const char *p = file.data;
    size_t nheader = 0, ncells = 0;
    char **header = csv_record(&p, &nheader);
    text_t json = {0};
    puts_text(&json, "[");
    char **row;
    bool first = true;
    while (header && (row = csv_record(&p, &ncells)) != NULL) {
        puts_text(&json, first ? "{" : ",{");
        first = false;
        for (size_t i = 0; i < nheader; i++) {
            if (i)
                puts_text(&json, ",");
            json_string(&json, header[i]);
            puts_text(&json, ":");
            const char *v = i < ncells ? row[i] : "";
            if (json_number(v))
                puts_text(&json, v);
            else
                json_string(&json, v);
        }
        puts_text(&json, "}");
        cells_free(row);
    }
    puts_text(&json, "]");
    cells_free(header);
    free(file.data);
    return json.data;
}
