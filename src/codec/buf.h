/*
 * buf.h — a growable byte buffer for encoders and request bodies.
 *
 * The buffer owns data; buf_release frees it, buf_detach hands it over.
 * Every append checks a cap (max) before growing, so a buffer fed from
 * the network never outgrows its limit.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"

typedef struct buf {
	uint8_t *data; /* owned; NUL-terminated past len when non-NULL */
	size_t len;
	size_t cap;
	size_t max; /* 0 = no cap */
} buf;

/* Initialises an empty buffer that may grow to max bytes (0: unlimited). */
void buf_init(buf *b, size_t max);

/* Frees the data and returns the buffer to the empty state; idempotent, NULL-safe. */
void buf_release(buf *b);

/* Ensures room for n more bytes (plus a NUL). SEG_ETOOBIG past max, SEG_ENOMEM. */
seg_status buf_reserve(buf *b, size_t n);

/* Appends n bytes from src (borrowed). SEG_ETOOBIG past max, SEG_ENOMEM. */
seg_status buf_append(buf *b, const void *src, size_t n);

/* Appends a NUL-terminated string (borrowed). */
seg_status buf_puts(buf *b, const char *s);

/* printf-style append. */
seg_status buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Returns the data (NUL-terminated past *len), which the caller frees with
 * free(); NULL when nothing was ever reserved. The buffer is left empty
 * and keeps its limit (max). len may be NULL.
 */
uint8_t *buf_detach(buf *b, size_t *len);

#endif
