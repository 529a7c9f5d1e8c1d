/*
 * fuzzutil.c — invariant checks shared by the fuzz targets.
 *
 * Each check restates a contract from a header (seg.h on masks, spec.h
 * on parameter ranges, request.h on what a parsed request holds) as code
 * that reads the result independently of the code that produced it: the
 * parameter ranges are re-read from the catalogue table, not from the
 * setters, and the weight-map parameters go through wmap_params_check.
 */
#include "fuzzutil.h"

#include "service/inputs.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec/mask.h"
#include "core/wmap.h"

void fz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void fz_check_error(seg_status st, const seg_error *err)
{
	FZ_ASSERT((unsigned)st < SEG_STATUS_COUNT);
	if (st == SEG_OK)
		return;
	FZ_ASSERT(err->status == st);
	FZ_ASSERT(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
	FZ_ASSERT(err->msg[0] != '\0');
}

/* The checks of fz_check_target; lone_ok lets labels hold a single instance (fz_check_given_target). */
static void check_target(const seg_target *t, uint64_t max_pixels, int lone_ok)
{
	size_t n;
	uint32_t first = 0;
	int many = 0;

	FZ_ASSERT(t->width >= 1 && t->width <= SEG_MAX_SIDE);
	FZ_ASSERT(t->height >= 1 && t->height <= SEG_MAX_SIDE);
	n = (size_t)t->width * (size_t)t->height;
	FZ_ASSERT(n <= max_pixels);
	FZ_ASSERT(t->fg != NULL);
	for (size_t i = 0; i < n; i++) {
		FZ_ASSERT(t->fg[i] <= 1);
		if (t->labels == NULL)
			continue;
		FZ_ASSERT((t->labels[i] != 0) == (t->fg[i] != 0));
		if (t->labels[i] != 0 && t->labels[i] != first) {
			if (first == 0)
				first = t->labels[i];
			else
				many = 1;
		}
	}
	/*
	 * seg.h: labels is NULL when the target holds at most one distinct
	 * non-zero value, unless the source names its instances.
	 */
	if (t->labels != NULL && !lone_ok)
		FZ_ASSERT(many);
}

void fz_check_target(const seg_target *t, uint64_t max_pixels)
{
	check_target(t, max_pixels, 0);
}

void fz_check_given_target(const seg_target *t, uint64_t max_pixels)
{
	check_target(t, max_pixels, 1);
	FZ_ASSERT(t->labels != NULL);
}

/* Whether m is an annotation tool's export, as inputs.c tells it: a parsed object, or text opening with '{'. */
static int is_export(const inp_mask *m)
{
	size_t i = 0;

	if (m->annot != NULL)
		return 1;
	while (m->data && i < m->len && (m->data[i] == ' ' || m->data[i] == '\t' || m->data[i] == '\r' || m->data[i] == '\n'))
		i++;
	return m->data && i < m->len && m->data[i] == '{';
}

void fz_check_pred(const seg_pred *p, uint64_t max_pixels)
{
	size_t n;

	FZ_ASSERT(p->width >= 1 && p->width <= SEG_MAX_SIDE);
	FZ_ASSERT(p->height >= 1 && p->height <= SEG_MAX_SIDE);
	n = (size_t)p->width * (size_t)p->height;
	FZ_ASSERT(n <= max_pixels);
	FZ_ASSERT(p->p != NULL);
	for (size_t i = 0; i < n; i++)
		FZ_ASSERT(p->p[i] >= 0.0f && p->p[i] <= 1.0f);
}

/* The range test of spec.c, restated from the descriptor. */
static int within(const spec_param *p, double v)
{
	if (!isfinite(v))
		return 0;
	if ((p->flags & SPEC_MIN_OPEN) ? !(v > p->min) : !(v >= p->min))
		return 0;
	if ((p->flags & SPEC_MAX_OPEN) ? !(v < p->max) : !(v <= p->max))
		return 0;
	return 1;
}

static int count_choices(const spec_param *p)
{
	int n = 0;

	while (p->choices[n])
		n++;
	return n;
}

static void check_param(const spec *s, const spec_param *p)
{
	const char *field = (const char *)&s->par + p->offset;
	double d[2];
	int iv;

	switch (p->type) {
	case SPEC_P_NUMBER:
		memcpy(d, field, sizeof(double));
		FZ_ASSERT(within(p, d[0]));
		break;
	case SPEC_P_NULLABLE:
		memcpy(d, field, sizeof(double));
		FZ_ASSERT(isnan(d[0]) || within(p, d[0]));
		break;
	case SPEC_P_PAIR:
		memcpy(d, field, sizeof(d));
		FZ_ASSERT(within(p, d[0]) && within(p, d[1]));
		break;
	case SPEC_P_INT: {
		int found = 0;

		memcpy(&iv, field, sizeof(iv));
		for (int k = 0; p->choices[k]; k++)
			found |= iv == atoi(p->choices[k]);
		FZ_ASSERT(found);
		break;
	}
	case SPEC_P_CHOICE:
		memcpy(&iv, field, sizeof(iv));
		FZ_ASSERT(iv >= 0 && iv < count_choices(p));
		break;
	case SPEC_P_CLASSW:
		memcpy(&iv, field, sizeof(iv));
		FZ_ASSERT(iv == WMAP_CLASS_BALANCED || iv == WMAP_CLASS_NONE || iv == WMAP_CLASS_FIXED);
		if (iv == WMAP_CLASS_FIXED)
			FZ_ASSERT(within(p, s->par.wm.class_w[0]) && within(p, s->par.wm.class_w[1]));
		break;
	default:
		fz_fail("parameter '%s' has unknown type %d", p->name, (int)p->type);
	}
}

void fz_check_spec(const spec *s, spec_kind kind)
{
	const spec_info *info;
	size_t n;
	seg_error e;

	FZ_ASSERT((unsigned)s->fn < FN_COUNT);
	info = spec_info_of(s->fn);
	FZ_ASSERT(info != NULL && info->kind == kind);
	n = strnlen(s->key, sizeof(s->key));
	FZ_ASSERT(n >= 1 && n < sizeof(s->key));
	for (size_t i = 0; i < n; i++) {
		char c = s->key[i];
		FZ_ASSERT((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '.' || c == '-');
	}
	for (const spec_param *p = info->params; p->name; p++)
		check_param(s, p);
	/* What the spec layer accepts, the weight map must accept too. */
	seg_error_clear(&e);
	FZ_ASSERT(wmap_params_check(&s->par.wm, &e) == SEG_OK);
}

/* Decodes one case's masks and checks them; the sizes may disagree (that is the evaluator's error). */
/*
 * Decodes a case through the kinds and classes of its request (what the
 * service does) and checks what comes out: binary masks as the decoders
 * promise, class maps within the classes.
 */
static void decode_case(const req_eval *r, const req_case *c)
{
	inp_pair in;
	seg_error e;
	seg_status st;
	inp_mask tm = {c->target.data, c->target.len, c->target.kind, c->target.channel_axis, c->target.annot};
	inp_mask pm = {c->prediction.data, c->prediction.len, c->prediction.kind, c->prediction.channel_axis,
		       c->prediction.annot};

	FZ_ASSERT((c->target.data != NULL && c->target.len > 0) || c->target.annot != NULL);
	FZ_ASSERT((c->prediction.data != NULL && c->prediction.len > 0) || c->prediction.annot != NULL);
	FZ_ASSERT(c->logits == 0 || c->logits == 1);
	FZ_ASSERT((unsigned)c->target.kind < INP_KIND_COUNT && (unsigned)c->prediction.kind < INP_KIND_COUNT);
	FZ_ASSERT(!c->logits || c->prediction.kind == INP_LOGITS);

	seg_error_clear(&e);
	st = inp_decode_pair(&tm, &pm, r->mc.multi ? &r->mc.classes : NULL, FZ_REQ_MAX_PIXELS, &in, &e);
	fz_check_error(st, &e);
	if (st != SEG_OK) {
		FZ_ASSERT(in.target.fg == NULL && in.pred.p == NULL && in.labels.cls == NULL && in.hard == NULL);
		return;
	}
	FZ_ASSERT(in.multi == r->mc.multi);
	if (!in.multi) {
		if (is_export(&tm))
			fz_check_given_target(&in.target, FZ_REQ_MAX_PIXELS);
		else
			fz_check_target(&in.target, FZ_REQ_MAX_PIXELS);
		fz_check_pred(&in.pred, FZ_REQ_MAX_PIXELS);
		FZ_ASSERT(in.target.width == in.pred.width && in.target.height == in.pred.height);
	} else {
		size_t n = (size_t)in.labels.width * (size_t)in.labels.height;
		int C = r->mc.classes.count;
		FZ_ASSERT(n >= 1 && n <= FZ_REQ_MAX_PIXELS);
		for (size_t i = 0; i < n; i++) {
			FZ_ASSERT(in.labels.cls[i] < C || in.labels.cls[i] == SEG_IGNORE);
			FZ_ASSERT(in.hard[i] < C);
		}
		if (in.scores.v)
			FZ_ASSERT(in.scores.classes == C && in.scores.width == in.labels.width &&
				  in.scores.height == in.labels.height);
	}
	inp_pair_release(&in);
}

void fz_check_eval(const req_eval *r)
{
	seg_error e;

	FZ_ASSERT(r->cases != NULL && r->ncases >= 1);
	FZ_ASSERT(r->batch ? r->ncases <= REQ_MAX_ITEMS : r->ncases == 1);
	FZ_ASSERT(r->nspecs >= 1 && r->nspecs <= REQ_MAX_SPECS);
	FZ_ASSERT(r->nmaps <= REQ_MAX_MAPS);
	FZ_ASSERT(!r->batch || r->nmaps == 0);
	FZ_ASSERT(r->map_format == REQ_MAP_NPY || r->map_format == REQ_MAP_PNG || r->map_format == REQ_MAP_COCO_RLE);
	FZ_ASSERT(r->logits == 0 || r->logits == 1);
	FZ_ASSERT(memchr(r->run, '\0', sizeof(r->run)) != NULL);
	if (r->run[0] != '\0')
		FZ_ASSERT(req_check_run(r->run, NULL) == SEG_OK);

	for (size_t i = 0; i < r->nspecs; i++) {
		spec_kind kind;

		FZ_ASSERT((unsigned)r->specs[i].fn < FN_COUNT);
		kind = spec_info_of(r->specs[i].fn)->kind;
		FZ_ASSERT(kind == SPEC_LOSS || kind == SPEC_METRIC);
		fz_check_spec(&r->specs[i], kind);
	}
	for (size_t i = 0; i < r->nmaps; i++)
		fz_check_spec(&r->maps[i], SPEC_MAP);
	seg_error_clear(&e);
	FZ_ASSERT(spec_check_unique(r->specs, r->nspecs, &e) == SEG_OK);
	FZ_ASSERT(spec_check_unique(r->maps, r->nmaps, &e) == SEG_OK);

	for (size_t k = 0; k < r->ncases; k++) {
		const req_case *c = &r->cases[k];
		size_t n;

		FZ_ASSERT(memchr(c->item, '\0', sizeof(c->item)) != NULL);
		n = strlen(c->item);
		if (n > 0)
			FZ_ASSERT(req_check_item(c->item, n, NULL) == SEG_OK);
		/* A named item is recorded, so it needs a run; a recorded batch names every item, once. */
		if (!r->batch && n > 0)
			FZ_ASSERT(r->run[0] != '\0');
		if (r->batch && r->run[0] != '\0') {
			FZ_ASSERT(n > 0);
			for (size_t j = 0; j < k; j++)
				FZ_ASSERT(strcmp(r->cases[j].item, c->item) != 0);
		}
		decode_case(r, c);
	}
}

void fz_check_wmap(const req_wmap *r)
{
	seg_target t;
	uint16_t *cls = NULL;
	seg_error e;
	seg_status st;
	inp_mask m = {r->target.data, r->target.len, r->target.kind, r->target.channel_axis, r->target.annot};

	FZ_ASSERT((r->target.data != NULL && r->target.len > 0) || r->target.annot != NULL);
	FZ_ASSERT(r->params.fn == FN_MAP_WEIGHT);
	fz_check_spec(&r->params, SPEC_MAP);

	/* Through kinds and classes, as the service decodes it. */
	seg_error_clear(&e);
	st = inp_decode_target(&m, r->mc.multi ? &r->mc.classes : NULL, FZ_REQ_MAX_PIXELS, &t, &cls, &e);
	fz_check_error(st, &e);
	if (st == SEG_OK) {
		/* An export's objects and a label map's components are instances given, one of them too. */
		if (is_export(&m) || r->mc.multi)
			fz_check_given_target(&t, FZ_REQ_MAX_PIXELS);
		else
			fz_check_target(&t, FZ_REQ_MAX_PIXELS);
		FZ_ASSERT((cls != NULL) == (r->mc.multi != 0));
		for (size_t i = 0; cls && i < (size_t)t.width * (size_t)t.height; i++)
			FZ_ASSERT(cls[i] < r->mc.classes.count || cls[i] == SEG_IGNORE);
	}
	free(cls);
	seg_target_release(&t);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint8_t *fz_png_repair(const uint8_t *data, size_t size, size_t *len)
{
	static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	int has_sig = size >= sizeof(signature) && memcmp(data, signature, sizeof(signature)) == 0;
	size_t off = has_sig ? 0 : sizeof(signature);
	size_t n = size + off;
	size_t pos = sizeof(signature);
	uint8_t *c = malloc(n);

	if (c == NULL)
		return NULL;
	memcpy(c, signature, off);
	memcpy(c + off, data, size);
	while (n - pos >= 12) {
		uint32_t clen = be32(c + pos);
		uint32_t crc;

		if (clen > n - pos - 12)
			break;
		crc = (uint32_t)crc32(0L, c + pos + 4, 4 + (uInt)clen);
		c[pos + 8 + clen] = (uint8_t)(crc >> 24);
		c[pos + 9 + clen] = (uint8_t)(crc >> 16);
		c[pos + 10 + clen] = (uint8_t)(crc >> 8);
		c[pos + 11 + clen] = (uint8_t)crc;
		pos += 12 + (size_t)clen;
	}
	*len = n;
	return c;
}
