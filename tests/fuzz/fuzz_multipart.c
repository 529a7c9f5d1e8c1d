/*
 * fuzz_multipart.c — libFuzzer target: multipart/form-data bodies.
 *
 * The boundary is "XyZbOuNdArY" unless the input starts with "--": then it
 * is the rest of the first line (up to 70 bytes, trailing blanks left as
 * padding), so the fuzzer varies the boundary along with the body. The Content-Type is built around it,
 * quoted when it holds a space, tab or ';', which also exercises
 * mp_boundary.
 *
 * mp_parse must return parts that lie inside the body, in order, each
 * followed by CRLF and the delimiter, with NUL-terminated names that
 * mp_find resolves to the first part of that name. The same body then goes
 * through req_parse_eval and req_parse_wmap as a multipart request: masks
 * must point into the body, and are decoded under a small pixel cap.
 */
#include <stdio.h>
#include <string.h>

#include "fuzzutil.h"
#include "http/multipart.h"
#include "service/request.h"

#define INPUT_CAP (1u << 20)
#define DEFAULT_BOUNDARY "XyZbOuNdArY"
#define BOUNDARY_MAX 70 /* RFC 2046 */

/* The boundary: from a first line "--<boundary>", else the default. */
static void boundary_of(const uint8_t *data, size_t size, char *out)
{
	size_t n = 0;

	if (size < 2 || data[0] != '-' || data[1] != '-') {
		snprintf(out, BOUNDARY_MAX + 1, "%s", DEFAULT_BOUNDARY);
		return;
	}
	for (; 2 + n < size && n < BOUNDARY_MAX; n++) {
		uint8_t c = data[2 + n];

		if (c == '\r' || c == '\n' || c == '\0')
			break;
		out[n] = (char)c;
	}
	/* Trailing blanks are transport padding: a boundary never ends in one (RFC 2046). */
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
}

/* True when m (borrowed) points into the body. */
static int inside(const req_mask *m, const uint8_t *body, size_t size)
{
	return m->data >= body && m->len <= size && m->data - body <= (ptrdiff_t)(size - m->len);
}

static void check_form(const mp_form *f, const uint8_t *body, size_t size, const char *boundary)
{
	const uint8_t *prev_end = body;
	size_t blen = strlen(boundary);

	FZ_ASSERT(f->count >= 1 && f->count <= MP_MAX_PARTS);
	for (int i = 0; i < f->count; i++) {
		const mp_part *p = &f->parts[i];
		const mp_part *first = NULL;
		size_t at;

		FZ_ASSERT(memchr(p->name, '\0', sizeof(p->name)) != NULL);
		FZ_ASSERT(p->has_filename == 0 || p->has_filename == 1);
		FZ_ASSERT(p->data >= prev_end && p->data <= body + size);
		at = (size_t)(p->data - body);
		FZ_ASSERT(p->len <= size - at);
		/* The data ends at CRLF "--" boundary. */
		FZ_ASSERT(size - at - p->len >= 4 + blen);
		FZ_ASSERT(memcmp(p->data + p->len, "\r\n--", 4) == 0);
		FZ_ASSERT(memcmp(p->data + p->len + 4, boundary, blen) == 0);
		prev_end = p->data + p->len;
		for (int j = 0; j <= i && first == NULL; j++)
			if (strcmp(f->parts[j].name, p->name) == 0)
				first = &f->parts[j];
		FZ_ASSERT(mp_find(f, p->name) == first);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static mp_form form; /* 64 parts: too big for the fuzzer's stack */
	char boundary[BOUNDARY_MAX + 1];
	char parsed[80];
	char ct[160];
	req_eval r;
	req_wmap w;
	seg_error e;
	seg_status st;

	if (size > INPUT_CAP)
		return 0;
	boundary_of(data, size, boundary);
	if (boundary[strcspn(boundary, " \t;")] != '\0' && strchr(boundary, '"') == NULL)
		snprintf(ct, sizeof(ct), "multipart/form-data; boundary=\"%s\"", boundary);
	else
		snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", boundary);

	seg_error_clear(&e);
	st = mp_boundary(ct, parsed, sizeof(parsed), &e);
	fz_check_error(st, &e);
	if (st == SEG_OK)
		FZ_ASSERT(strlen(parsed) >= 1 && strlen(parsed) <= BOUNDARY_MAX);

	if (boundary[0] != '\0') {
		seg_error_clear(&e);
		st = mp_parse(data, size, boundary, &form, &e);
		fz_check_error(st, &e);
		if (st == SEG_OK)
			check_form(&form, data, size, boundary);
	}

	seg_error_clear(&e);
	st = req_parse_eval(ct, data, size, &r, &e);
	fz_check_error(st, &e);
	FZ_ASSERT(st != SEG_EUNSUPPORTED);
	if (st == SEG_OK) {
		FZ_ASSERT(r.json == NULL && r.ncases == 1 && !r.batch);
		FZ_ASSERT(inside(&r.cases[0].target, data, size));
		FZ_ASSERT(inside(&r.cases[0].prediction, data, size));
		fz_check_eval(&r);
	} else {
		FZ_ASSERT(r.cases == NULL && r.ncases == 0);
	}
	req_eval_release(&r);

	seg_error_clear(&e);
	st = req_parse_wmap(ct, data, size, &w, &e);
	fz_check_error(st, &e);
	if (st == SEG_OK) {
		FZ_ASSERT(inside(&w.target, data, size));
		fz_check_wmap(&w);
	} else {
		FZ_ASSERT(w.target.data == NULL);
	}
	req_wmap_release(&w);
	return 0;
}
