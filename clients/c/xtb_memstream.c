/*  xtb_memstream.c - a FILE * that collects output into a string (see xtb_memstream.h). */
#ifndef _WIN32
#define _GNU_SOURCE /* open_memstream */
#endif
#include "xtb_memstream.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>

int xtb_memstream_open(xtb_memstream_t *ms) {
    memset(ms, 0, sizeof *ms);
    char dir[MAX_PATH], path[MAX_PATH];
    DWORD n = GetTempPathA(sizeof dir, dir);
    if (n == 0 || n >= sizeof dir || !GetTempFileNameA(dir, "xtb", 0, path))
        return -1;
    /* msvcrt's "T": keep it in memory when it can, "D": delete the file when closed */
    ms->f = fopen(path, "w+bTD");
    if (!ms->f) {
        DeleteFileA(path);
        return -1;
    }
    return 0;
}

char *xtb_memstream_close(xtb_memstream_t *ms) {
    if (!ms->f)
        return NULL;
    char *text = NULL;
    long len;
    if (fflush(ms->f) == 0 && (len = ftell(ms->f)) >= 0 && fseek(ms->f, 0, SEEK_SET) == 0 &&
        (text = (char *)malloc((size_t)len + 1)) != NULL) {
        size_t got = fread(text, 1, (size_t)len, ms->f);
        text[got] = 0;
    }
    fclose(ms->f);
    ms->f = NULL;
    return text;
}

#else
int xtb_memstream_open(xtb_memstream_t *ms) {
    memset(ms, 0, sizeof *ms);
    ms->f = open_memstream(&ms->buf, &ms->len);
    return ms->f ? 0 : -1;
}

char *xtb_memstream_close(xtb_memstream_t *ms) {
    if (!ms->f)
        return NULL;
    int rc = fclose(ms->f);
    ms->f = NULL;
    char *text = ms->buf;
    ms->buf = NULL;
    if (rc != 0) {
        free(text);
        return NULL;
    }
    return text;
}
#endif
