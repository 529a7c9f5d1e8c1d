/*
 * log.c — formatting of log lines.
 *
 * The line is assembled in a stack buffer (truncated at 2 KiB, which no
 * access-log line reaches) and written with one fputs, which stdio locks.
 */
#include "log/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static log_format format = LOG_TEXT;

void log_set_format(log_format f)
{
	format = f;
}

int log_parse_format(const char *s, log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_JSON;
	else
		return -1;
	return 0;
}

typedef struct line {
	char buf[2048];
	size_t len;
} line;

static void put(line *l, const char *s, size_t n)
{
	if (l->len + n >= sizeof(l->buf) - 2)
		n = sizeof(l->buf) - 2 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void puts_(line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* JSON string body escaping (quotes not included). */
static void put_json(line *l, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(l, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(l, esc, 6);
		} else {
			put(l, (const char *)&c, 1);
		}
	}
}

/* Text values: quoted (with \" escaped) when they hold a space, quote or control character. */
static void put_text(line *l, const char *s)
{
	int quote = *s == '\0' || strpbrk(s, " \"=\t\n") != NULL;

	if (!quote) {
		puts_(l, s);
		return;
	}
	put(l, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			put(l, "\\", 1);
		if ((unsigned char)*s < 0x20)
			put(l, " ", 1);
		else
			put(l, s, 1);
	}
	put(l, "\"", 1);
}

void log_line(const char *level, const char *msg, const char *const *kv, int nkv)
{
	line l = {.len = 0};
	char ts[40];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);
	if (format == LOG_JSON) {
		puts_(&l, "{\"time\":\"");
		puts_(&l, ts);
		puts_(&l, "\",\"level\":\"");
		puts_(&l, level);
		puts_(&l, "\",\"msg\":\"");
		put_json(&l, msg);
		put(&l, "\"", 1);
		for (int i = 0; i + 1 < 2 * nkv; i += 2) {
			if (kv[i + 1] == NULL)
				continue;
			puts_(&l, ",\"");
			put_json(&l, kv[i]);
			puts_(&l, "\":\"");
			put_json(&l, kv[i + 1]);
			put(&l, "\"", 1);
		}
		put(&l, "}", 1);
	} else {
		puts_(&l, ts);
		put(&l, " ", 1);
		puts_(&l, level);
		put(&l, " ", 1);
		puts_(&l, msg);
		for (int i = 0; i + 1 < 2 * nkv; i += 2) {
			if (kv[i + 1] == NULL)
				continue;
			put(&l, " ", 1);
			puts_(&l, kv[i]);
			put(&l, "=", 1);
			put_text(&l, kv[i + 1]);
		}
	}
	l.buf[l.len++] = '\n';
	l.buf[l.len] = '\0';
	fputs(l.buf, stderr);
}

void log_msg(const char *level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_line(level, msg, NULL, 0);
}
