/*  brg_sim_json.c - flat JSON object reader (see brg_sim_json.h). Strings are decoded
    with their escapes (\uXXXX to UTF-8, surrogate pairs joined); numbers go through strtod
    after a strict syntax check. */
#include "brg_sim_json.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_TEXT_MAX 4096

typedef struct {
    const char *start;
    const char *p;
    char *err;
    size_t errlen;
} reader_t;

static void skip_ws(reader_t *r) {
    while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
        r->p++;
}

static int fail(reader_t *r, const char *what) {
    snprintf(r->err, r->errlen, "bad JSON at offset %d: %s", (int)(r->p - r->start), what);
    return -1;
}

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *out, unsigned cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string at r->p (on the opening quote) into out (JSON_TEXT_MAX). */
static int read_string(reader_t *r, char *out) {
    size_t n = 0;
    r->p++;
    for (;;) {
        unsigned char c = (unsigned char)*r->p;
        if (c == 0)
            return fail(r, "unterminated string");
        if (c < 0x20)
            return fail(r, "control character in a string");
        if (n + 5 >= JSON_TEXT_MAX)
            return fail(r, "string too long");
        r->p++;
        if (c == '"')
            break;
        if (c != '\\') {
            out[n++] = (char)c;
            continue;
        }
        char e = *r->p++;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            out[n++] = e;
            break;
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'u': {
            unsigned cp;
            if (hex4(r->p, &cp))
                return fail(r, "bad \\u escape");
            r->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (r->p[0] != '\\' || r->p[1] != 'u' || hex4(r->p + 2, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    return fail(r, "unpaired surrogate");
                r->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail(r, "unpaired surrogate");
            }
            n += put_utf8(out + n, cp);
            break;
        }
        default:
            return fail(r, "bad escape");
        }
    }
    out[n] = 0;
    return 0;
}

/* A number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int read_number(reader_t *r, char *out, double *value) {
    const char *s = r->p;
    const char *q = s;
    if (*q == '-')
        q++;
    if (*q == '0')
        q++;
    else if (isdigit((unsigned char)*q))
        while (isdigit((unsigned char)*q))
            q++;
    else
        return fail(r, "unexpected character");
    if (*q == '.') {
        q++;
        if (!isdigit((unsigned char)*q))
            return fail(r, "bad number");
        while (isdigit((unsigned char)*q))
            q++;
    }
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '+' || *q == '-')
            q++;
        if (!isdigit((unsigned char)*q))
            return fail(r, "bad number");
        while (isdigit((unsigned char)*q))
            q++;
    }
    size_t len = (size_t)(q - s);
    if (len >= 64)
        return fail(r, "number too long");
    memcpy(out, s, len);
    out[len] = 0;
    *value = strtod(out, NULL);
    r->p = q;
    return 0;
}

int brg_sim_json_object(const char *json, brg_json_member_fn *fn, void *arg, char *err,
                        size_t errlen) {
    reader_t r = {.start = json ? json : "", .p = json ? json : "", .err = err, .errlen = errlen};
    static char key[JSON_TEXT_MAX], text[JSON_TEXT_MAX];
    skip_ws(&r);
    if (*r.p != '{')
        return fail(&r, "expected an object");
    r.p++;
    skip_ws(&r);
    bool first = true;
    while (*r.p != '}') {
        if (!first) {
            if (*r.p != ',')
                return fail(&r, "expected ',' or '}'");
            r.p++;
            skip_ws(&r);
        }
        first = false;
        if (*r.p != '"')
            return fail(&r, "expected a key");
        if (read_string(&r, key))
            return -1;
        skip_ws(&r);
        if (*r.p != ':')
            return fail(&r, "expected ':'");
        r.p++;
        skip_ws(&r);
        brg_json_type_t type;
        double number = 0;
        if (*r.p == '"') {
            if (read_string(&r, text))
                return -1;
            type = BRG_JSON_STRING;
        } else if (strncmp(r.p, "true", 4) == 0 || strncmp(r.p, "false", 5) == 0) {
            bool t = *r.p == 't';
            snprintf(text, sizeof text, "%s", t ? "true" : "false");
            r.p += t ? 4 : 5;
            number = t;
            type = BRG_JSON_BOOL;
        } else if (strncmp(r.p, "null", 4) == 0) {
            snprintf(text, sizeof text, "null");
            r.p += 4;
            type = BRG_JSON_NULL;
        } else if (*r.p == '{' || *r.p == '[') {
            snprintf(err, errlen, "key '%.64s': nested objects and arrays are not supported", key);
            return -1;
        } else {
            if (read_number(&r, text, &number))
                return -1;
            type = BRG_JSON_NUMBER;
        }
        int rc = fn(arg, key, type, text, number);
        if (rc)
            return rc;
        skip_ws(&r);
    }
    r.p++;
    skip_ws(&r);
    if (*r.p)
        return fail(&r, "text after the object");
    return 0;
}
