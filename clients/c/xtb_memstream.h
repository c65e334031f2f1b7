/*  xtb_memstream.h - a FILE * that collects what is written into a malloc'd string, for the
    client's text and JSON printers: open_memstream on POSIX; Windows has none, so there it
    is a temporary file (deleted on close) read back when the stream is closed. Internal to
    libxtbclient.
*/
#ifndef XTB_MEMSTREAM_H_INCLUDED
#define XTB_MEMSTREAM_H_INCLUDED

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    FILE *f; /* print into this */
    char *buf;
    size_t len;
} xtb_memstream_t;

/*  Open ms->f. Returns 0, or -1 when no stream could be made. */
int xtb_memstream_open(xtb_memstream_t *ms);
/*  Close ms->f and return what was written, NUL-terminated (caller frees), or NULL on
    failure. */
char *xtb_memstream_close(xtb_memstream_t *ms);

#ifdef __cplusplus
}
#endif
#endif
