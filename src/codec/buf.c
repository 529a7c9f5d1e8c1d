/*
 * buf.c — a growable, capped byte buffer.
 *
 * Design: data grows by doubling (starting at 64 bytes) so n appends cost
 * O(n) amortised, and always keeps one spare byte so it stays
 * NUL-terminated past len; text built with buf_printf can be handed out
 * as a C string. The cap (max) is checked against len + n before any
 * allocation, and the doubling is clamped to max + 1 so a capped buffer
 * never allocates more than it may hold. Arithmetic on sizes is checked
 * for overflow, so a hostile n cannot wrap the computation. Not
 * thread-safe: a buffer belongs to one request at a time.
 */
#include "codec/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_CAP 64

void buf_init(buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_release(buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

seg_status buf_reserve(buf *b, size_t n)
{
	size_t need;
	size_t newcap;
	uint8_t *p;

	/* need = len + n + 1 (the NUL), without wrapping. */
	if (n > SIZE_MAX - 1 - b->len)
		return SEG_ETOOBIG;
	if (b->max != 0 && b->len + n > b->max)
		return SEG_ETOOBIG;
	need = b->len + n + 1;
	if (need <= b->cap)
		return SEG_OK;

	newcap = b->cap != 0 ? b->cap : BUF_MIN_CAP;
	while (newcap < need) {
		if (newcap > SIZE_MAX / 2) {
			newcap = need;
			break;
		}
		newcap *= 2;
	}
	if (b->max != 0 && newcap > b->max + 1)
		newcap = b->max + 1; /* max + 1 >= need here, since len + n <= max */
	p = realloc(b->data, newcap);
	if (p == NULL)
		return SEG_ENOMEM;
	if (b->data == NULL)
		p[0] = '\0';
	b->data = p;
	b->cap = newcap;
	return SEG_OK;
}

seg_status buf_append(buf *b, const void *src, size_t n)
{
	seg_status st;

	st = buf_reserve(b, n);
	if (st != SEG_OK)
		return st;
	if (n > 0)
		memcpy(b->data + b->len, src, n);
	b->len += n;
	b->data[b->len] = '\0';
	return SEG_OK;
}

seg_status buf_puts(buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

seg_status buf_printf(buf *b, const char *fmt, ...)
{
	va_list ap;
	va_list ap2;
	int n;
	seg_status st;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		st = SEG_EINTERNAL; /* an invalid format or encoding error */
		goto out;
	}
	st = buf_reserve(b, (size_t)n);
	if (st != SEG_OK)
		goto out;
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
	b->len += (size_t)n;
out:
	va_end(ap2);
	return st;
}

uint8_t *buf_detach(buf *b, size_t *len)
{
	uint8_t *data = b->data;

	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return data;
}
