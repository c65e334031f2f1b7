/*  brg_compat.c - operating-system services that differ between Linux and Windows (see
    brg_compat.h). The only file of the bridge with platform #ifdefs: one block per
    platform, the same behaviour behind the same calls.
*/
#ifndef _WIN32
#define _GNU_SOURCE /* signalfd, O_CLOEXEC */
#endif
#include "brg_compat.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *brg_compat_strndup(const char *text, size_t len) {
    size_t n = 0;
    while (n < len && text[n])
        n++;
    char *copy = (char *)malloc(n + 1);
    if (copy) {
        memcpy(copy, text, n);
        copy[n] = 0;
    }
    return copy;
}

#ifdef _WIN32
/* ------------------------------------------------------------------ Windows --------- */
#include <direct.h>
#include <windows.h>

time_t brg_compat_timegm(struct tm *tm) {
    return _mkgmtime(tm);
}

int brg_compat_mkdir(const char *path) {
    return _mkdir(path);
}

char *brg_compat_realpath(const char *path) {
    char *full = _fullpath(NULL, path, 0);
    if (full && GetFileAttributesA(full) == INVALID_FILE_ATTRIBUTES) {
        free(full);
        errno = ENOENT;
        return NULL;
    }
    return full;
}

FILE *brg_compat_create_file(const char *path) {
    /* a reparse point (symlink, junction) at the path is refused like O_NOFOLLOW does */
    DWORD attrs = GetFileAttributesA(path);
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_REPARSE_POINT)) {
        errno = ELOOP;
        return NULL;
    }
    return fopen(path, "wb");
}

struct brg_compat_lock {
    HANDLE file;
};

/* The lock covers one byte far past the pid text: Windows locks are mandatory, and the
   next bridge must still be able to read who holds the data dir. */
#define LOCK_OFFSET 0x40000000u

int brg_compat_lock(const char *path, brg_compat_lock_t **lock_p, char *holder, size_t holderlen) {
    *lock_p = NULL;
    if (holderlen)
        holder[0] = 0;
    HANDLE file = CreateFileA(path, GENERIC_READ | GENERIC_WRITE,
                              FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                              OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (file == INVALID_HANDLE_VALUE) {
        errno = GetLastError() == ERROR_ACCESS_DENIED ? EACCES : ENOENT;
        return -1;
    }
    OVERLAPPED at = {0};
    at.Offset = LOCK_OFFSET;
    if (!LockFileEx(file, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &at)) {
        DWORD err = GetLastError();
        if (err == ERROR_LOCK_VIOLATION || err == ERROR_IO_PENDING) {
            DWORD got = 0;
            if (holderlen > 1 && ReadFile(file, holder, (DWORD)holderlen - 1, &got, NULL)) {
                holder[got] = 0;
                holder[strcspn(holder, "\r\n")] = 0;
            }
            CloseHandle(file);
            return 1;
        }
        CloseHandle(file);
        errno = EIO;
        return -1;
    }
    char text[32];
    int len = snprintf(text, sizeof text, "%lu\n", (unsigned long)GetCurrentProcessId());
    DWORD wrote = 0;
    SetFilePointer(file, 0, NULL, FILE_BEGIN);
    /* the pid is a courtesy for the next one's message: failures do not matter */
    if (SetEndOfFile(file))
        WriteFile(file, text, (DWORD)len, &wrote, NULL);
    brg_compat_lock_t *lock = (brg_compat_lock_t *)zmalloc(sizeof *lock);
    lock->file = file;
    *lock_p = lock;
    return 0;
}

void brg_compat_unlock(brg_compat_lock_t **lock_p) {
    if (!lock_p || !*lock_p)
        return;
    CloseHandle((*lock_p)->file); /* releases the lock */
    free(*lock_p);
    *lock_p = NULL;
}

int brg_compat_reserve(mdb_filehandle_t fd, uint64_t bytes) {
    /* NTFS files are not sparse unless asked to be; setting the allocation size claims the
       clusters now, so a full disk shows here and not as a fault inside the map. */
    FILE_ALLOCATION_INFO info;
    info.AllocationSize.QuadPart = (LONGLONG)bytes;
    if (SetFileInformationByHandle(fd, FileAllocationInfo, &info, sizeof info))
        return 0;
    DWORD err = GetLastError();
    return err == ERROR_DISK_FULL || err == ERROR_HANDLE_DISK_FULL ? ENOSPC : EOPNOTSUPP;
}

struct brg_compat_map {
    HANDLE file, mapping;
    uint8_t *addr;
};

brg_compat_map_t *brg_compat_map_open(const char *path, size_t bytes, uint8_t **addr) {
    HANDLE file = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, NULL,
                              OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (file == INVALID_HANDLE_VALUE) {
        errno = GetLastError() == ERROR_ACCESS_DENIED ? EACCES : ENOENT;
        return NULL;
    }
    int rc = brg_compat_reserve(file, bytes);
    if (rc == ENOSPC) {
        CloseHandle(file);
        errno = ENOSPC;
        return NULL;
    }
    /* the mapping object sets the file's length to its size */
    HANDLE mapping = CreateFileMappingA(file, NULL, PAGE_READWRITE, (DWORD)((uint64_t)bytes >> 32),
                                        (DWORD)bytes, NULL);
    uint8_t *view = mapping ? (uint8_t *)MapViewOfFile(mapping, FILE_MAP_WRITE, 0, 0, bytes) : NULL;
    if (!view) {
        DWORD err = GetLastError();
        if (mapping)
            CloseHandle(mapping);
        CloseHandle(file);
        errno = err == ERROR_DISK_FULL ? ENOSPC : EIO;
        return NULL;
    }
    brg_compat_map_t *map = (brg_compat_map_t *)zmalloc(sizeof *map);
    map->file = file;
    map->mapping = mapping;
    map->addr = view;
    *addr = view;
    return map;
}

int brg_compat_map_sync(brg_compat_map_t *map, size_t offset, size_t len) {
    if (!FlushViewOfFile(map->addr + offset, len) || !FlushFileBuffers(map->file)) {
        errno = EIO;
        return -1;
    }
    return 0;
}

void brg_compat_map_close(brg_compat_map_t **map_p) {
    if (!map_p || !*map_p)
        return;
    brg_compat_map_t *map = *map_p;
    UnmapViewOfFile(map->addr);
    CloseHandle(map->mapping);
    CloseHandle(map->file);
    free(map);
    *map_p = NULL;
}

uint64_t brg_compat_file_size(const char *path) {
    WIN32_FILE_ATTRIBUTE_DATA data;
    if (!GetFileAttributesExA(path, GetFileExInfoStandard, &data))
        return 0;
    return ((uint64_t)data.nFileSizeHigh << 32) | data.nFileSizeLow;
}

int brg_compat_reload_fd(void) {
    return -1; /* no SIGHUP: restart the bridge to reload client certs */
}

int brg_compat_reload_take(int fd) {
    (void)fd;
    return 0;
}

void brg_compat_reload_close(int fd) {
    (void)fd;
}

static volatile LONG s_stopped = 0;

/* czmq's own handler takes Ctrl-C and Ctrl-Break; this one the events after which Windows
   ends the process as soon as the handler returns: it waits (Windows allows about 5 s)
   until main has closed the store. */
static BOOL WINAPI stop_handler(DWORD event) {
    if (event != CTRL_CLOSE_EVENT && event != CTRL_LOGOFF_EVENT && event != CTRL_SHUTDOWN_EVENT)
        return FALSE;
    zsys_interrupted = 1;
    for (int i = 0; i < 90 && !InterlockedCompareExchange(&s_stopped, 0, 0); i++)
        Sleep(50);
    return TRUE;
}

void brg_compat_stop_handler_install(void) {
    SetConsoleCtrlHandler(stop_handler, TRUE);
}

void brg_compat_stop_done(void) {
    InterlockedExchange(&s_stopped, 1);
}

bool brg_compat_have_ipc(void) {
    return false;
}

#else
/* ------------------------------------------------------------------ Linux ----------- */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

time_t brg_compat_timegm(struct tm *tm) {
    return timegm(tm);
}

int brg_compat_mkdir(const char *path) {
    return mkdir(path, 0755);
}

char *brg_compat_realpath(const char *path) {
    return realpath(path, NULL);
}

FILE *brg_compat_create_file(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f && fd >= 0) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    return f;
}

struct brg_compat_lock {
    int fd;
};

int brg_compat_lock(const char *path, brg_compat_lock_t **lock_p, char *holder, size_t holderlen) {
    *lock_p = NULL;
    if (holderlen)
        holder[0] = 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        if (errno != EWOULDBLOCK) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (holderlen > 1) {
            ssize_t n = pread(fd, holder, holderlen - 1, 0);
            holder[n > 0 ? n : 0] = 0;
            holder[strcspn(holder, "\n")] = 0;
        }
        close(fd);
        return 1;
    }
    char text[32];
    int len = snprintf(text, sizeof text, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, text, (size_t)len, 0) < 0)
        (void)0; /* the pid is a courtesy for the next one's message */
    brg_compat_lock_t *lock = (brg_compat_lock_t *)zmalloc(sizeof *lock);
    lock->fd = fd;
    *lock_p = lock;
    return 0;
}

void brg_compat_unlock(brg_compat_lock_t **lock_p) {
    if (!lock_p || !*lock_p)
        return;
    close((*lock_p)->fd); /* releases the flock */
    free(*lock_p);
    *lock_p = NULL;
}

int brg_compat_reserve(mdb_filehandle_t fd, uint64_t bytes) {
    int rc = posix_fallocate(fd, 0, (off_t)bytes);
    /* EINVAL: a filesystem that cannot (some report it instead of EOPNOTSUPP) */
    return rc == EINVAL ? EOPNOTSUPP : rc;
}

struct brg_compat_map {
    int fd;
    uint8_t *addr;
    size_t bytes;
};

brg_compat_map_t *brg_compat_map_open(const char *path, size_t bytes, uint8_t **addr) {
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return NULL;
    /* posix_fallocate also makes the file that long; without reservations, ftruncate */
    int rc = brg_compat_reserve(fd, bytes);
    if (rc == EOPNOTSUPP && ftruncate(fd, (off_t)bytes) == 0)
        rc = 0;
    void *view = MAP_FAILED;
    if (rc == 0)
        view = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (view == MAP_FAILED) {
        int saved = rc ? rc : errno;
        close(fd);
        errno = saved;
        return NULL;
    }
    brg_compat_map_t *map = (brg_compat_map_t *)zmalloc(sizeof *map);
    map->fd = fd;
    map->addr = (uint8_t *)view;
    map->bytes = bytes;
    *addr = map->addr;
    return map;
}

int brg_compat_map_sync(brg_compat_map_t *map, size_t offset, size_t len) {
    /* msync wants a page-aligned start */
    size_t page = (size_t)sysconf(_SC_PAGESIZE), start = offset / page * page;
    return msync(map->addr + start, offset + len - start, MS_SYNC);
}

void brg_compat_map_close(brg_compat_map_t **map_p) {
    if (!map_p || !*map_p)
        return;
    brg_compat_map_t *map = *map_p;
    munmap(map->addr, map->bytes);
    close(map->fd);
    free(map);
    *map_p = NULL;
}

uint64_t brg_compat_file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int brg_compat_reload_fd(void) {
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hup, NULL);
    return signalfd(-1, &hup, SFD_CLOEXEC | SFD_NONBLOCK);
}

int brg_compat_reload_take(int fd) {
    struct signalfd_siginfo info;
    return read(fd, &info, sizeof info) == (ssize_t)sizeof info;
}

void brg_compat_reload_close(int fd) {
    if (fd >= 0)
        close(fd);
}

void brg_compat_stop_handler_install(void) {}

void brg_compat_stop_done(void) {}

bool brg_compat_have_ipc(void) {
    return true;
}
#endif
