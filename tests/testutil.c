/*  testutil.c - helpers shared by the Criterion test binaries (see testutil.h).

    The bridge child gets its own ipc:// endpoints and temp data dir so tests run in
    parallel (criterion -j) without touching each other or the default TCP ports. Readiness
    is a ping answered, not a sleep: the DEALER queues the request until the ipc socket
    exists, and each attempt is bounded so a bridge that died is noticed quickly.

    The same tests drive a bridge that runs elsewhere, e.g. the Windows build under Wine
    (scripts/test-windows.sh): XTB_BRIDGE_CMD is the command that runs it, split at spaces
    ("wine build-win/project/bin/xtbridge.exe"; default: XTB_BRIDGE_BIN), and
    XTB_TRANSPORT=tcp makes every endpoint a loopback tcp:// one on a free port (Windows has
    no ipc://). XTB_BRIDGE_STOP_SIGNAL=INT stops it with SIGINT instead of SIGTERM: Wine
    delivers SIGINT as the console's Ctrl-C (the Windows stop request) but ends the process
    outright on SIGTERM.
*/
#define _GNU_SOURCE
#include "testutil.h"

#include <criterion/criterion.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef XTB_BRIDGE_BIN
#error "XTB_BRIDGE_BIN must be defined by the build"
#endif

static int s_endpoint_counter = 0;

const char *xtbt_tmpdir(void) {
    /* short: ipc:// paths built on it must fit a unix socket path (108 bytes) */
    static char dir[160];
    if (!*dir) {
        const char *env = getenv("XTB_TMPDIR");
        snprintf(dir, sizeof dir, "%s", env && *env ? env : XTB_TEST_TMPDIR);
        zsys_dir_create("%s", dir);
    }
    return dir;
}

/* A loopback tcp port nothing listens on now, below Linux's ephemeral range (32768 up) so
   outgoing connections do not take it before the bridge binds it; random so parallel test
   processes do not pick the same one. */
static int free_tcp_port(void) {
    /* seeded per process: Criterion's forked workers must not share one sequence */
    static unsigned seed;
    static pid_t seeded_by;
    if (seeded_by != getpid()) {
        seeded_by = getpid();
        seed = (unsigned)getpid() ^ (unsigned)zclock_usecs();
    }
    for (int attempt = 0; attempt < 200; attempt++) {
        int port = 20000 + (int)(rand_r(&seed) % 12000);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            break;
        struct sockaddr_in addr = {0};
        addr.sin_family = AF_INET;
        addr.sin_port = htons((uint16_t)port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
        close(fd);
        if (rc == 0)
            return port;
    }
    cr_assert_fail("testutil: no free loopback tcp port");
    return -1;
}

char *xtbt_endpoint(char *buf, size_t len, const char *what) {
    const char *transport = getenv("XTB_TRANSPORT");
    if (transport && streq(transport, "tcp"))
        snprintf(buf, len, "tcp://127.0.0.1:%d", free_tcp_port());
    else
        snprintf(buf, len, "ipc://%s/xtbt-%d-%d-%s", xtbt_tmpdir(), (int)getpid(),
                 ++s_endpoint_counter, what);
    return buf;
}

int xtbt_bridge_command(const char **argv, int max) {
    /* XTB_BRIDGE_CMD: a launcher and the binary, split at spaces (argv points into a copy) */
    static char cmd[512];
    const char *launch = getenv("XTB_BRIDGE_CMD");
    snprintf(cmd, sizeof cmd, "%s", launch && *launch ? launch : XTB_BRIDGE_BIN);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(cmd, " ", &save); tok && n < max;
         tok = strtok_r(NULL, " ", &save))
        argv[n++] = tok;
    return n;
}

void xtbt_bridge_exec(const char *const *args) {
    const char *argv[64];
    int n = xtbt_bridge_command(argv, 8);
    for (int i = 0; args && args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static pid_t spawn_bridge(xtbt_bridge_t *self, const char *const *extra_args) {
    const char *argv[64];
    int n = xtbt_bridge_command(argv, 8);
    argv[n++] = "--backend";
    argv[n++] = "sim";
    argv[n++] = "--router";
    argv[n++] = self->router_ep;
    argv[n++] = "--pub";
    argv[n++] = self->pub_ep;
    argv[n++] = "--data";
    argv[n++] = self->data_dir;
    argv[n++] = "--heartbeat-ms";
    argv[n++] = "50";
    argv[n++] = "--log-level";
    argv[n++] = "debug";
    if (self->config_path[0]) {
        argv[n++] = "--config";
        argv[n++] = self->config_path;
    }
    for (int i = 0; extra_args && extra_args[i] && n < 63; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;

    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
#ifdef __linux__
        /* a test that fails half-way ends its process before it stops its bridge: the
           bridge goes with it instead of serving on until the suite ends */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127); /* the test was gone before the line above */
#else
        (void)parent;
#endif
        int fd = open(self->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Ping until answered (each attempt 250 ms), up to 10 s, noticing a dead child. */
static xtb_client_options_t client_options(xtbt_bridge_t *self) {
    xtb_client_options_t opts = {0};
    if (self->curve_cert[0]) {
        opts.curve_cert = self->curve_cert;
        opts.curve_server = self->curve_server;
    }
    return opts;
}

static int wait_ready(xtbt_bridge_t *self) {
    xtb_client_options_t opts = client_options(self);
    xtb_client_t *client = xtb_client_new(self->router_ep, &opts);
    if (!client)
        return -1;
    int64_t deadline = zclock_mono() + 10000;
    int rc = -1;
    while (zclock_mono() < deadline) {
        int status;
        if (waitpid(self->pid, &status, WNOHANG) == self->pid) {
            fprintf(stderr, "testutil: xtbridge exited early (status %d)\n", status);
            self->pid = 0;
            break;
        }
        Xtbridge__Request *req = xtb_req_ping(1);
        Xtbridge__Reply *reply = NULL;
        int got = xtb_client_call(client, req, 250, &reply);
        xtb_request_destroy(&req);
        bool ok = got == 0 && reply->error && reply->error->code == XTBRIDGE__ERROR_CODE__OK;
        xtb_reply_destroy(&reply);
        if (ok) {
            rc = 0;
            break;
        }
    }
    xtb_client_destroy(&client);
    return rc;
}

void xtbt_bridge_dump_log(xtbt_bridge_t *self) {
    FILE *f = fopen(self->log_path, "r");
    if (!f)
        return;
    fprintf(stderr, "---- xtbridge log %s ----\n", self->log_path);
    char line[1024];
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fprintf(stderr, "---- end of log ----\n");
    fclose(f);
}

static xtbt_bridge_t *start_bridge_impl(const char *router_ep, const char *pub_ep,
                                        const char *config_text, const char *const *extra_args,
                                        const char *client_cert, const char *server_cert);

xtbt_bridge_t *xtbt_bridge_start(const char *config_text, const char *const *extra_args) {
    return xtbt_bridge_start_on(NULL, NULL, config_text, extra_args);
}

xtbt_bridge_t *xtbt_bridge_start_curve(const char *config_text, const char *const *extra_args,
                                       const char *client_cert, const char *server_cert) {
    return start_bridge_impl(NULL, NULL, config_text, extra_args, client_cert, server_cert);
}

xtbt_bridge_t *xtbt_bridge_start_on(const char *router_ep, const char *pub_ep,
                                    const char *config_text, const char *const *extra_args) {
    return start_bridge_impl(router_ep, pub_ep, config_text, extra_args, NULL, NULL);
}

/* The bridge's log says a port it was given is taken. */
static bool log_says_in_use(xtbt_bridge_t *self) {
    FILE *f = fopen(self->log_path, "r");
    if (!f)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "Address in use") != NULL;
    fclose(f);
    return found;
}

static xtbt_bridge_t *start_bridge_impl(const char *router_ep, const char *pub_ep,
                                        const char *config_text, const char *const *extra_args,
                                        const char *client_cert, const char *server_cert) {
    xtbt_bridge_t *self = (xtbt_bridge_t *)calloc(1, sizeof *self);
    if (client_cert && server_cert) {
        snprintf(self->curve_cert, sizeof self->curve_cert, "%s", client_cert);
        snprintf(self->curve_server, sizeof self->curve_server, "%s", server_cert);
    }
    snprintf(self->data_dir, sizeof self->data_dir, "%s/xtbt-data-XXXXXX", xtbt_tmpdir());
    if (!mkdtemp(self->data_dir)) {
        free(self);
        return NULL;
    }
    if (router_ep)
        snprintf(self->router_ep, sizeof self->router_ep, "%s", router_ep);
    else
        xtbt_endpoint(self->router_ep, sizeof self->router_ep, "router");
    if (pub_ep)
        snprintf(self->pub_ep, sizeof self->pub_ep, "%s", pub_ep);
    else
        xtbt_endpoint(self->pub_ep, sizeof self->pub_ep, "pub");
    snprintf(self->log_path, sizeof self->log_path, "%s/bridge.log", self->data_dir);
    if (config_text) {
        snprintf(self->config_path, sizeof self->config_path, "%s/bridge.cfg", self->data_dir);
        FILE *f = fopen(self->config_path, "w");
        if (!f) {
            free(self);
            return NULL;
        }
        fputs(config_text, f);
        fclose(f);
    }
    /* tcp ports the harness picked were free when picked, but another process may take one
       before the bridge binds it (under Wine, a bridge stopped a moment ago may still hold
       its ports): on that failure alone, fresh ports, at most 3 times */
    for (int attempt = 1;; attempt++) {
        self->pid = spawn_bridge(self, extra_args);
        if (self->pid > 0 && wait_ready(self) == 0)
            return self;
        if (self->pid != 0 || router_ep || pub_ep || attempt > 3 ||
            strncmp(self->router_ep, "tcp://", 6) != 0 || !log_says_in_use(self))
            break;
        remove(self->log_path);
        xtbt_endpoint(self->router_ep, sizeof self->router_ep, "router");
        xtbt_endpoint(self->pub_ep, sizeof self->pub_ep, "pub");
    }
    xtbt_bridge_dump_log(self);
    xtbt_bridge_stop(&self);
    return NULL;
}

int xtbt_bridge_restart(xtbt_bridge_t *self, const char *const *extra_args) {
    if (self->pid > 0)
        xtbt_bridge_kill(self);
    self->pid = spawn_bridge(self, extra_args);
    if (self->pid <= 0 || wait_ready(self) != 0) {
        xtbt_bridge_dump_log(self);
        return -1;
    }
    return 0;
}

int xtbt_stop_signal(void) {
    const char *stop = getenv("XTB_BRIDGE_STOP_SIGNAL");
    return stop && streq(stop, "INT") ? SIGINT : SIGTERM;
}

int xtbt_bridge_kill(xtbt_bridge_t *self) {
    if (self->pid <= 0)
        return -1;
    kill(self->pid, xtbt_stop_signal());
    int status = 0;
    pid_t got = 0;
    /* Waiting for a process has no socket to poll: check every 5 ms, bounded. */
    for (int i = 0; i < 2000 && got == 0; i++) {
        got = waitpid(self->pid, &status, WNOHANG);
        if (got == 0)
            usleep(5000);
    }
    if (got == 0) {
        fprintf(stderr, "testutil: xtbridge %d ignored its stop signal for 10 s, killing\n",
                (int)self->pid);
        kill(self->pid, SIGKILL);
        waitpid(self->pid, &status, 0);
    }
    self->pid = 0;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

int xtbt_bridge_stop(xtbt_bridge_t **self_p) {
    if (!self_p || !*self_p)
        return -1;
    xtbt_bridge_t *self = *self_p;
    int status = xtbt_bridge_kill(self);
    if (!getenv("XTBT_KEEP"))
        nftw(self->data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    /* ipc endpoints leave socket files behind. */
    const char *eps[] = {self->router_ep, self->pub_ep};
    for (int i = 0; i < 2; i++)
        if (strncmp(eps[i], "ipc://", 6) == 0)
            unlink(eps[i] + 6);
    free(self);
    *self_p = NULL;
    return status;
}

xtb_client_t *xtbt_bridge_client(xtbt_bridge_t *self) {
    xtb_client_options_t opts = client_options(self);
    xtb_client_t *client = xtb_client_new(self->router_ep, &opts);
    cr_assert_not_null(client, "client on %s", self->router_ep);
    return client;
}

Xtbridge__Reply *xtbt_call(xtb_client_t *client, Xtbridge__Request *req) {
    cr_assert_not_null(req);
    Xtbridge__Reply *reply = NULL;
    int rc = xtb_client_call(client, req, 5000, &reply);
    const char *name = xtb_request_body_name(req->body_case);
    xtb_request_destroy(&req);
    cr_assert_eq(rc, 0, "%s: %s", name ? name : "?", xtb_client_error(client));
    cr_assert_not_null(reply->error, "%s: reply without error field", name ? name : "?");
    return reply;
}

Xtbridge__Reply *xtbt_call_ok(xtb_client_t *client, Xtbridge__Request *req,
                              Xtbridge__Reply__ResultCase expect) {
    const char *name = req ? xtb_request_body_name(req->body_case) : NULL;
    Xtbridge__Reply *reply = xtbt_call(client, req);
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK, "%s: %s: %s", name ? name : "?",
                 xtb_error_code_name(reply->error->code), reply->error->message);
    if (expect)
        cr_assert_eq(reply->result_case, expect, "%s: result case %d, expected %d",
                     name ? name : "?", reply->result_case, expect);
    return reply;
}

Xtbridge__Event *xtbt_wait_event(xtb_client_t *client, const char *topic_prefix,
                                 Xtbridge__Event__BodyCase body, int timeout_ms) {
    int64_t deadline = zclock_mono() + timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0)
            return NULL;
        char *topic = NULL;
        Xtbridge__Event *event = NULL;
        if (xtb_client_recv_event(client, (int)left, &topic, &event) != 0)
            return NULL;
        bool match = strncmp(topic, topic_prefix, strlen(topic_prefix)) == 0 &&
                     (body == 0 || event->body_case == body);
        free(topic);
        if (match)
            return event;
        xtb_event_destroy(&event);
    }
}

bool xtbt_money_eq(double a, double b) {
    return fabs(a - b) < 0.005;
}

/* libcriterion 2.4.1's runner process sometimes leaks one 48-byte block of its own when
   tests run in parallel (-j); LeakSanitizer would turn that into a failing exit status of
   a binary whose tests all passed. Suppress leaks whose stack is inside libcriterion only
   (hook read by the sanitizer runtime; harmless without sanitizers). */
__attribute__((used, visibility("default"))) const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
    return "leak:libcriterion.so\n";
}
