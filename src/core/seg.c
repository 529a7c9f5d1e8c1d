/*
 * seg.c — the status names, the error record and the mask lifecycles.
 */
#include "seg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[SEG_STATUS_COUNT] = {
	[SEG_OK] = "ok",
	[SEG_EINVAL] = "invalid request",
	[SEG_EDECODE] = "malformed input",
	[SEG_ETOOBIG] = "too large",
	[SEG_EUNSUPPORTED] = "unsupported media type",
	[SEG_ENOMEM] = "out of memory",
	[SEG_ENOTFOUND] = "not found",
	[SEG_EMETHOD] = "method not allowed",
	[SEG_ECONFLICT] = "conflict",
	[SEG_EBUSY] = "busy",
	[SEG_ESTORE] = "store unavailable",
	[SEG_EIO] = "i/o error",
	[SEG_EINTERNAL] = "internal error",
};

const char *seg_strerror(seg_status st)
{
	if ((unsigned)st >= SEG_STATUS_COUNT)
		return "unknown error";
	return status_names[st];
}

seg_status seg_fail(seg_error *err, seg_status st, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return st;
	err->status = st;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return st;
}

void seg_error_clear(seg_error *err)
{
	if (err == NULL)
		return;
	err->status = SEG_OK;
	err->msg[0] = '\0';
}

void seg_target_release(seg_target *t)
{
	if (t == NULL)
		return;
	free(t->fg);
	free(t->labels);
	memset(t, 0, sizeof(*t));
}

void seg_pred_release(seg_pred *p)
{
	if (p == NULL)
		return;
	free(p->p);
	memset(p, 0, sizeof(*p));
}

void seg_labels_release(seg_labels *l)
{
	if (l == NULL)
		return;
	free(l->cls);
	memset(l, 0, sizeof(*l));
}

void seg_scores_release(seg_scores *s)
{
	if (s == NULL)
		return;
	free(s->v);
	memset(s, 0, sizeof(*s));
}
