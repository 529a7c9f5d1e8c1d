/*
 * jsonlift.c — a JSON request body parsed by cJSON without copying its
 * long strings (see jsonlift.h).
 */
#include "service/jsonlift.h"

#include <stdlib.h>
#include <string.h>

#include "codec/buf.h"

/* A \u0000 escape would end a C string early and silently shorten a name: refuse it. */
static int has_nul_escape(const uint8_t *body, size_t len)
{
	const uint8_t *p = body, *end = body + len;

	/* memchr to each backslash: a body of base64 has almost none, so this costs next to nothing. */
	while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		size_t i = (size_t)(p++ - body);
		if (i + 6 > len)
			break;
		if ((body[i + 1] == 'u' || body[i + 1] == 'U') && memcmp(body + i + 2, "0000", 4) == 0) {
			/* Count the backslashes before it: an even number means this one is escaped itself. */
			size_t k = i;
			while (k > 0 && body[k - 1] == '\\')
				k--;
			if ((i - k) % 2 == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * Long strings lifted out of a writable JSON body. cJSON copies every
 * string into a string of its own, and a request is mostly two strings of
 * base64: hundreds of kilobytes copied byte by byte before they are even
 * decoded. When the body may be overwritten, value strings of at least
 * LIFT_MIN bytes without a backslash (their value is then exactly their
 * bytes, which is all cJSON would make of them) are cut out of a copy of
 * the body, the skeleton, leaving "" in their place, and cJSON parses the
 * skeleton: a few hundred bytes. A walk of the tree in document order
 * finds the value strings again by their rank among value strings; those
 * where a mask goes (the "target" and "prediction" of the request or of
 * an item, or their "png" and "npy") are marked with their place in the
 * body (valueint, 0 in every string cJSON makes) and base64-decoded there
 * in place, and every other one gets its text back, so the rest of the
 * parser sees what it always saw. Lifting changes neither what parses nor
 * where an error is: a lifted string holds no quote or backslash, and
 * error offsets in the skeleton are mapped back to the body.
 */
#define LIFT_MIN 256

struct jl_string {
	size_t skel;  /* offset of the opening quote in the skeleton */
	size_t at;    /* offset of the opening quote in the body */
	size_t len;   /* bytes between the quotes */
	size_t value; /* rank among the document's value strings (keys not counted) */
};
typedef struct jl_string lift;

/* What cJSON skips between tokens: every byte up to the space, not only JSON's four. */
static int json_ws(uint8_t c)
{
	return c <= ' ';
}

/* The skeleton of body into skel (NUL-terminated) and the lifted strings into lf. SEG_ENOMEM only. */
static seg_status lift_strings(uint8_t *body, size_t len, buf *skel, jl_lifted *lf)
{
	size_t i = 0, span = 0, values = 0, cap = 0;
	seg_status st = buf_reserve(skel, 4096);

	lf->body = body;
	while (st == SEG_OK && i < len) {
		const uint8_t *q = memchr(body + i, '"', len - i);
		if (q == NULL)
			break;
		size_t open = (size_t)(q - body), j = open + 1, close;
		int esc = 0;
		for (;;) {
			const uint8_t *c = memchr(body + j, '"', len - j);
			if (c == NULL)
				goto rest; /* unterminated: cJSON says where */
			close = (size_t)(c - body);
			size_t b = close;
			while (b > open + 1 && body[b - 1] == '\\')
				b--;
			if ((close - b) % 2 == 0)
				break;
			esc = 1; /* an escaped quote */
			j = close + 1;
		}
		size_t n = close - open - 1, k = close + 1;
		while (k < len && json_ws(body[k]))
			k++;
		if (k < len && body[k] == ':') { /* a key */
			i = close + 1;
			continue;
		}
		if (n >= LIFT_MIN && !esc && memchr(body + open + 1, '\\', n) == NULL) {
			if (lf->n == cap) {
				size_t more = cap ? cap * 2 : 8;
				lift *v = realloc(lf->v, more * sizeof(*v));
				if (v == NULL)
					return SEG_ENOMEM;
				lf->v = v;
				cap = more;
			}
			st = buf_append(skel, body + span, open + 1 - span);
			lf->v[lf->n++] = (lift){skel->len - 1, open, n, values};
			span = close;
		}
		values++;
		i = close + 1;
	}
rest:
	if (st == SEG_OK)
		st = buf_append(skel, body + span, len - span);
	return st;
}

/* A skeleton offset as an offset into the body. */
static size_t lift_offset(const jl_lifted *lf, size_t at)
{
	size_t shift = 0;

	for (size_t k = 0; k < lf->n && lf->v[k].skel < at; k++)
		shift = lf->v[k].at - lf->v[k].skel + lf->v[k].len;
	return at + shift;
}

/* Where a value string sits: a mask's base64 or anything else. */
typedef enum lift_where {
	LW_ROOT,
	LW_ITEMS,   /* the batch's "items" */
	LW_ITEM,    /* one item */
	LW_MASKOBJ, /* {"png": ..., "npy": ...} */
	LW_MASK,    /* a mask's base64 text */
	LW_OTHER,
} lift_where;

typedef struct lift_walk {
	const jl_lifted *lf;
	size_t value, next;
	int items; /* the batch form exists (evaluations) */
	int prediction;
} lift_walk;

static int mask_key(const lift_walk *w, const char *k)
{
	return k && (strcmp(k, "target") == 0 || (w->prediction && strcmp(k, "prediction") == 0));
}

static seg_status lift_visit(cJSON *node, lift_where where, lift_walk *w)
{
	if (cJSON_IsString(node)) {
		size_t rank = w->value++;
		if (w->next < w->lf->n && w->lf->v[w->next].value == rank) {
			const lift *l = &w->lf->v[w->next];
			if (where == LW_MASK) {
				node->valueint = (int)(w->next + 1);
			} else {
				char *text = cJSON_malloc(l->len + 1);
				if (text == NULL)
					return SEG_ENOMEM;
				memcpy(text, w->lf->body + l->at + 1, l->len);
				text[l->len] = '\0';
				cJSON_free(node->valuestring);
				node->valuestring = text;
			}
			w->next++;
		}
		return SEG_OK;
	}
	cJSON *c;
	cJSON_ArrayForEach(c, node)
	{
		lift_where cw = LW_OTHER;
		if ((where == LW_ROOT || where == LW_ITEM) && mask_key(w, c->string))
			cw = cJSON_IsObject(c) ? LW_MASKOBJ : LW_MASK;
		else if (where == LW_ROOT && w->items && c->string && strcmp(c->string, "items") == 0)
			cw = LW_ITEMS;
		else if (where == LW_ITEMS)
			cw = LW_ITEM;
		else if (where == LW_MASKOBJ && c->string && (strcmp(c->string, "png") == 0 || strcmp(c->string, "npy") == 0))
			cw = LW_MASK;
		seg_status st = lift_visit(c, cw, w);
		if (st != SEG_OK)
			return st;
	}
	return SEG_OK;
}

/*
 * Parses a JSON body; with lf (the body then writable), long value strings
 * are lifted out first (see above). items and prediction: whether the
 * batch form and a prediction are masks of this request.
 */
seg_status jl_parse(const uint8_t *body, size_t len, jl_lifted *lf, int items, int prediction, cJSON **out,
		    seg_error *err)
{
	const char *end = NULL;
	const char *text = (const char *)body;
	size_t tlen = len;
	buf skel;
	seg_status st = SEG_OK;

	*out = NULL;
	buf_init(&skel, 0);
	if (has_nul_escape(body, len))
		return seg_fail(err, SEG_EINVAL, "JSON strings may not contain \\u0000");
	if (lf) {
		if (lift_strings((uint8_t *)body, len, &skel, lf) != SEG_OK) {
			st = seg_fail(err, SEG_ENOMEM, "out of memory");
			goto out;
		}
		if (lf->n > 0) {
			text = (const char *)skel.data;
			tlen = skel.len;
		}
	}
	*out = cJSON_ParseWithLengthOpts(text, tlen, &end, 0);
	if (*out == NULL) {
		size_t at = end && end >= text ? (size_t)(end - text) : 0;
		const char *e = cJSON_GetErrorPtr();
		if (e && e >= text && e <= text + tlen)
			at = (size_t)(e - text);
		if (text != (const char *)body)
			at = lift_offset(lf, at);
		if (len == 0)
			st = seg_fail(err, SEG_EDECODE, "invalid JSON: the body is empty");
		else
			st = seg_fail(err, SEG_EDECODE, "invalid JSON at byte %zu (or nested deeper than %d)", at,
				      CJSON_NESTING_LIMIT);
		goto out;
	}
	if (!cJSON_IsObject(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		st = seg_fail(err, SEG_EINVAL, "the request body must be a JSON object");
		goto out;
	}
	if (lf && lf->n > 0) {
		lift_walk w = {lf, 0, 0, items, prediction};
		if (lift_visit(*out, LW_ROOT, &w) != SEG_OK) {
			cJSON_Delete(*out);
			*out = NULL;
			st = seg_fail(err, SEG_ENOMEM, "out of memory");
		}
	}
out:
	buf_release(&skel);
	return st;
}

void jl_release(jl_lifted *lf)
{
	free(lf->v);
	memset(lf, 0, sizeof(*lf));
}

char *jl_text(const cJSON *v, const jl_lifted *lf, size_t *len)
{
	if (lf && v->valueint > 0 && (size_t)v->valueint <= lf->n) {
		const lift *l = &lf->v[v->valueint - 1];
		char *text = (char *)lf->body + l->at + 1;
		/* A raw NUL ends the text, as it ends the C string cJSON would have made of it. */
		const char *nul = memchr(text, '\0', l->len);
		*len = nul ? (size_t)(nul - text) : l->len;
		return text;
	}
	*len = strlen(v->valuestring);
	return v->valuestring;
}
