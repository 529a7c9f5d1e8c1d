/*
 * log.h — one-line logs on stderr, as text or JSON.
 *
 * Each call writes one whole line with a single stdio call, so lines from
 * different threads never interleave. Fields are key/value pairs; in JSON
 * mode values are escaped, in text mode they are quoted when they hold a
 * space.
 */
#ifndef LOG_H
#define LOG_H

typedef enum log_format {
	LOG_TEXT,
	LOG_JSON,
} log_format;

/* Sets the output format (default text). Call before starting threads. */
void log_set_format(log_format f);

/* Parses "text" or "json"; returns -1 on anything else. */
int log_parse_format(const char *s, log_format *out);

/*
 * Writes a line: time, level, msg, then nkv key/value string pairs from kv
 * (borrowed; a NULL value is skipped). level is "info", "warn" or "error".
 */
void log_line(const char *level, const char *msg, const char *const *kv, int nkv);

/* printf-style convenience for messages without fields. */
void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
