/*  brg_log.h - leveled logging to stderr for the bridge. One process-wide level, set from
    --log-level; messages below it cost one comparison. Thread-safe enough for the bridge:
    each message is one fprintf call.
*/
#ifndef BRG_LOG_H_INCLUDED
#define BRG_LOG_H_INCLUDED

typedef enum { BRG_LOG_ERROR = 0, BRG_LOG_WARN, BRG_LOG_INFO, BRG_LOG_DEBUG } brg_log_level_t;

/*  Parse "error", "warn", "info", "debug". Returns 0 and sets *level, or -1. */
int brg_log_parse_level(const char *text, brg_log_level_t *level);
void brg_log_set_level(brg_log_level_t level);
brg_log_level_t brg_log_level(void);
void brg_log(brg_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define brg_error(...) brg_log(BRG_LOG_ERROR, __VA_ARGS__)
#define brg_warn(...) brg_log(BRG_LOG_WARN, __VA_ARGS__)
#define brg_info(...) brg_log(BRG_LOG_INFO, __VA_ARGS__)
/* the arguments of a debug message are not even evaluated below debug level */
#define brg_debug(...)                                                                             \
    do {                                                                                           \
        if (brg_log_level() >= BRG_LOG_DEBUG)                                                      \
            brg_log(BRG_LOG_DEBUG, __VA_ARGS__);                                                   \
    } while (0)

#endif
