/*  test_config.c - unit tests of brg_config: protocol-page defaults, the config file's
    bridge section, flags overriding the file, --help/--version, and bad input rejected
    with a message instead of a crash.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <string.h>
#include <unistd.h>

#include "brg_config.h"
#include "testutil.h"

static int parse(brg_config_t *config, char *err, int argc, ...) {
    char *argv[16] = {(char *)"xtbridge"};
    va_list args;
    va_start(args, argc);
    for (int i = 1; i < argc; i++)
        argv[i] = va_arg(args, char *);
    va_end(args);
    return brg_config_parse_args(config, argc, argv, err, 256);
}

Test(config, defaults_from_protocol_page) {
    brg_config_t *config = brg_config_new();
    char err[256];
    cr_assert_eq(parse(config, err, 1), 0);
    cr_assert_str_eq(brg_config_router(config), "tcp://127.0.0.1:58610");
    cr_assert_str_eq(brg_config_pub(config), "tcp://127.0.0.1:58611");
    cr_assert_str_eq(brg_config_pub_advertise(config), "");
    cr_assert_str_eq(brg_config_backend(config), "sim");
    cr_assert_eq(brg_config_heartbeat_ms(config), 1000);
    cr_assert_eq(brg_config_max_msg_size(config), 1048576);
    cr_assert(brg_config_colocate(config));
    cr_assert_null(brg_config_tree(config));
    brg_config_destroy(&config);
    cr_assert_null(config);
}

Test(config, file_then_flags) {
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/xtbt-config-%d.cfg", xtbt_tmpdir(), getpid());
    FILE *file = fopen(path, "w");
    fputs("bridge\n    router = ipc://xtbt-from-file\n    heartbeat_ms = 250\n"
          "    pub_advertise = tcp://bridge.example:58611,tcp://203.0.113.7:1234\n"
          "sim\n    account\n        id = 42\n",
          file);
    fclose(file);
    brg_config_t *config = brg_config_new();
    cr_assert_eq(parse(config, err, 5, "--pub", "ipc://xtbt-flag-pub", "--config", path), 0, "%s",
                 err);
    cr_assert_str_eq(brg_config_router(config), "ipc://xtbt-from-file");
    cr_assert_str_eq(brg_config_pub(config), "ipc://xtbt-flag-pub");
    cr_assert_eq(brg_config_heartbeat_ms(config), 250);
    cr_assert_str_eq(brg_config_pub_advertise(config),
                     "tcp://bridge.example:58611,tcp://203.0.113.7:1234");
    cr_assert_str_eq(zconfig_get(brg_config_tree(config), "sim/account/id", ""), "42");
    brg_config_destroy(&config);

    /* a flag wins over the file even when it comes first */
    config = brg_config_new();
    cr_assert_eq(parse(config, err, 7, "--router", "ipc://xtbt-flag", "--pub-advertise",
                       "tcp://*:6000", "--config", path),
                 0, "%s", err);
    cr_assert_str_eq(brg_config_router(config), "ipc://xtbt-flag");
    cr_assert_str_eq(brg_config_pub_advertise(config), "tcp://*:6000");
    brg_config_destroy(&config);
    unlink(path);
}

Test(config, colocate_auto_or_off) {
    brg_config_t *config = brg_config_new();
    char err[256];
    cr_assert_eq(parse(config, err, 3, "--colocate", "off"), 0, "%s", err);
    cr_assert_not(brg_config_colocate(config));
    cr_assert_eq(parse(config, err, 3, "--colocate", "auto"), 0, "%s", err);
    cr_assert(brg_config_colocate(config));
    brg_config_destroy(&config);
}

Test(config, help_and_version_exit_zero) {
    brg_config_t *config = brg_config_new();
    char err[256];
    cr_assert_eq(parse(config, err, 2, "--version"), 1);
    cr_assert_eq(parse(config, err, 2, "--help"), 1);
    brg_config_destroy(&config);
}

Test(config, bad_input_is_an_error_with_a_reason) {
    char err[256];
    const char *cases[][3] = {
        {"--heartbeat-ms", "0", "heartbeat"},
        {"--heartbeat-ms", "abc", "heartbeat"},
        {"--log-level", "loud", "log level"},
        {"--max-msg-size", "-1", "max message"},
        {"--config", "/nonexistent.cfg", "not found"},
        {"--bogus", "1", "unknown"},
        {"--pub-advertise", "bridge.example:58611", "bad pub_advertise"},
        {"--pub-advertise", ">tcp://proxy:5557", "bad pub_advertise"},
        {"--pub-advertise", "tcp://a:1,,tcp://b:2", "bad pub_advertise"},
        {"--pub-advertise", "tcp://", "bad pub_advertise"},
        {"--colocate", "on", "bad colocate 'on' (auto|off)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        brg_config_t *config = brg_config_new();
        err[0] = 0;
        cr_assert_eq(parse(config, err, 3, cases[i][0], cases[i][1]), -1, "%s %s", cases[i][0],
                     cases[i][1]);
        cr_assert(strstr(err, cases[i][2]), "'%s' lacks '%s'", err, cases[i][2]);
        brg_config_destroy(&config);
    }
    brg_config_t *config = brg_config_new();
    cr_assert_eq(parse(config, err, 2, "stray"), -1);
    cr_assert(strstr(err, "unexpected argument"));
    cr_assert_eq(parse(config, err, 2, "--router"), -1);
    brg_config_destroy(&config);
}

Test(config, loopback_endpoints) {
    cr_assert(brg_endpoint_is_loopback("tcp://127.0.0.1:58610"));
    cr_assert(brg_endpoint_is_loopback("tcp://127.0.0.2:1"));
    cr_assert(brg_endpoint_is_loopback("tcp://127.255.255.254:*"));
    cr_assert(brg_endpoint_is_loopback("tcp://[::1]:58610"));
    cr_assert(brg_endpoint_is_loopback("tcp://localhost:58610"));
    cr_assert(brg_endpoint_is_loopback("ipc://xtbt-x,inproc://y"));
    cr_assert(brg_endpoint_is_loopback("@tcp://127.0.0.1:1,>ipc://xtbt-z"));
    cr_assert_not(brg_endpoint_is_loopback("tcp://*:58610"));
    cr_assert_not(brg_endpoint_is_loopback("tcp://0.0.0.0:58610"));
    cr_assert_not(brg_endpoint_is_loopback("tcp://192.168.1.5:58610"));
    cr_assert_not(brg_endpoint_is_loopback("tcp://eth0:58610"));
    cr_assert_not(brg_endpoint_is_loopback("tcp://127.0.0.1.evil:1"));
    cr_assert_not(brg_endpoint_is_loopback("tcp://1270.0.0.1:1"));
    cr_assert_not(brg_endpoint_is_loopback("tcp://127.0.0.1;10.0.0.1:1"));
    cr_assert_not(brg_endpoint_is_loopback("ipc://xtbt-x,tcp://*:1"));
    cr_assert_not(brg_endpoint_is_loopback("ws://127.0.0.1:1"));
    cr_assert_not(brg_endpoint_is_loopback("tcp://[::]:1"));
}

Test(config, curve_flags) {
    brg_config_t *config = brg_config_new();
    char err[256];
    cr_assert_null(brg_config_curve_secret(config));
    cr_assert_not(brg_config_insecure(config));
    cr_assert_eq(parse(config, err, 5, "--curve-secret", "/k/server.cert", "--clients", "/k/c"), 0,
                 "%s", err);
    cr_assert_str_eq(brg_config_curve_secret(config), "/k/server.cert");
    cr_assert_str_eq(brg_config_clients(config), "/k/c");
    brg_config_destroy(&config);

    config = brg_config_new();
    cr_assert_eq(parse(config, err, 2, "--insecure"), 0, "%s", err);
    cr_assert(brg_config_insecure(config));
    brg_config_destroy(&config);

    /* the same from the config file's bridge section */
    char path[256];
    snprintf(path, sizeof path, "%s/xtbt-config-curve-%d.cfg", xtbt_tmpdir(), getpid());
    FILE *file = fopen(path, "w");
    fputs("bridge\n    curve_secret = /f/server.cert\n    clients = /f/clients\n"
          "    insecure = true\n",
          file);
    fclose(file);
    config = brg_config_new();
    cr_assert_eq(parse(config, err, 3, "--config", path), 0, "%s", err);
    cr_assert_str_eq(brg_config_curve_secret(config), "/f/server.cert");
    cr_assert_str_eq(brg_config_clients(config), "/f/clients");
    cr_assert(brg_config_insecure(config));
    brg_config_destroy(&config);
    file = fopen(path, "w");
    fputs("bridge\n    insecure = yes\n", file);
    fclose(file);
    config = brg_config_new();
    cr_assert_eq(parse(config, err, 3, "--config", path), -1);
    cr_assert_str_eq(err, "bad insecure 'yes' (true|false)");
    brg_config_destroy(&config);
    unlink(path);

    config = brg_config_new();
    cr_assert_eq(parse(config, err, 3, "--clients", "/k/c"), -1);
    cr_assert_str_eq(err, "--curve-secret and --clients go together (the bridge's cert and the "
                          "allowed client certs)");
    brg_config_destroy(&config);
}
