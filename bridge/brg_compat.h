/*  brg_compat.h - the few operating-system services the bridge uses that differ between
    Linux and Windows (the mingw-w64 cross-build, scripts/build-windows.sh), in one place so
    the rest of the code has no #ifdefs:

      - the data-dir lock (flock on Linux; LockFileEx on Windows),
      - reserving a file's blocks so a writable map never covers a hole (posix_fallocate;
        on Windows the allocation size of the file),
      - a file's size as 64 bits (Windows' stat is 32-bit),
      - a fixed-size file mapped shared and writable, with its blocks reserved first (the
        store's redo log: mmap; on Windows a file mapping),
      - the reload signal (SIGHUP through a signalfd on Linux; Windows has none) and the stop
        request (czmq handles SIGINT/SIGTERM and Ctrl-C; on Windows closing the console,
        logging off and shutting down also stop the bridge cleanly),
      - which transports there are (no ipc:// on Windows: tcp only),
      - strndup, timegm, realpath, mkdir's mode and creating a file without following a
        symlink (spelled differently, or missing, in the Windows C runtime).
*/
#ifndef BRG_COMPAT_H_INCLUDED
#define BRG_COMPAT_H_INCLUDED

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  An exclusive lock on a file held for the life of the process (one bridge per data dir).
    The file holds the holder's pid, for the next one's message. */
typedef struct brg_compat_lock brg_compat_lock_t;

/*  Lock `path` (created when missing). Returns 0 and *lock_p; 1 when another process holds
    it (its pid text, possibly "", in `holder`); -1 on any other failure (errno set). */
int brg_compat_lock(const char *path, brg_compat_lock_t **lock_p, char *holder, size_t holderlen);
/*  Release and free; NULLs the pointer. */
void brg_compat_unlock(brg_compat_lock_t **lock_p);

/*  Make sure the first `bytes` of the open file are backed by disk blocks. Returns 0; ENOSPC
    when the disk cannot give them; EOPNOTSUPP when the filesystem has no such thing (the
    caller goes on without a reservation). */
int brg_compat_reserve(mdb_filehandle_t fd, uint64_t bytes);

/*  A file of a fixed size mapped shared and writable. What is stored into the map is the
    file's (the OS page cache holds it if the process dies); brg_compat_map_sync puts a range
    on disk. */
typedef struct brg_compat_map brg_compat_map_t;
/*  Open or create `path`, make it `bytes` long with its blocks reserved (so a store into the
    map never meets a full disk), and map it. Returns the map and its address in *addr, or
    NULL with errno (ENOSPC when the disk cannot give the blocks). The owner closes it. */
brg_compat_map_t *brg_compat_map_open(const char *path, size_t bytes, uint8_t **addr);
/*  Write [offset, offset + len) of the map to disk before returning. 0, or -1 with errno. */
int brg_compat_map_sync(brg_compat_map_t *map, size_t offset, size_t len);
/*  Unmap, close and free; NULLs the pointer. */
void brg_compat_map_close(brg_compat_map_t **map_p);

/*  Size of the file at `path`, 0 when it does not exist. */
uint64_t brg_compat_file_size(const char *path);

/*  The reload request (SIGHUP) as a descriptor for zloop: call before any thread starts
    (it blocks the signal so threads inherit that). Returns -1 where there is none
    (Windows). */
int brg_compat_reload_fd(void);
/*  After the descriptor polled readable: 1 when a reload was requested, 0 if not. */
int brg_compat_reload_take(int fd);
/*  Close the descriptor (when >= 0). */
void brg_compat_reload_close(int fd);

/*  Stop requests beyond czmq's (which covers SIGINT/SIGTERM and Ctrl-C/Ctrl-Break): on
    Windows, closing the console window, logging off and shutting down set zsys_interrupted
    too, and hold the process until brg_compat_stop_done() so the store closes cleanly.
    Call after zsys_init(). Nothing to do on Linux. */
void brg_compat_stop_handler_install(void);
/*  The bridge has shut down: a pending console-close may let Windows end the process. */
void brg_compat_stop_done(void);

/*  False where libzmq offers no ipc:// transport (Windows). */
bool brg_compat_have_ipc(void);

/*  strndup, which the Windows C runtime lacks. */
char *brg_compat_strndup(const char *text, size_t len);
/*  timegm: broken-down UTC time to time_t (normalising it, as mktime does). */
time_t brg_compat_timegm(struct tm *tm);
/*  mkdir (mode 0755 where there are modes). 0, or -1 with errno. */
int brg_compat_mkdir(const char *path);
/*  The absolute path of an existing `path`, malloc'd; NULL with errno. */
char *brg_compat_realpath(const char *path);
/*  Create or truncate `path` for writing, binary, refusing to follow a symlink at `path`
    (where there are such); NULL with errno. */
FILE *brg_compat_create_file(const char *path);

#ifdef __cplusplus
}
#endif
#endif
