/*
 * fuzz_json_request.c — libFuzzer target: JSON request bodies.
 *
 * The input is the body of an application/json evaluation request (single
 * or batch) and of a weight-map request. A body that parses must hold
 * what request.h promises (cases with non-empty masks, at least one spec,
 * specs in range and unique, valid run and item names), and its masks are
 * then decoded under a small pixel cap, so mutations reach base64, PNG
 * and .npy decoding through the request path. A body that does not parse
 * leaves the request empty, with a message. The body is not
 * NUL-terminated, as it is not when it comes off the network.
 *
 * Each body is parsed a second time in place (a writable copy, long
 * strings lifted out before cJSON and masks decoded in the copy), which
 * must agree with the first parse: the same status and message, the same
 * masks byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"
#include "service/request.h"

#define INPUT_CAP (1u << 20)

static void same_mask(const req_mask *a, const req_mask *b)
{
	FZ_ASSERT(a->len == b->len);
	FZ_ASSERT(a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
	FZ_ASSERT(a->kind == b->kind && a->channel_axis == b->channel_axis);
	FZ_ASSERT((a->annot == NULL) == (b->annot == NULL));
}

/* The in-place parse of a copy agrees with the parse by copy (st, e, r). */
static void inplace_agrees(const uint8_t *data, size_t size, seg_status st, const seg_error *e, const req_eval *r)
{
	uint8_t *copy = malloc(size ? size : 1);
	req_eval b;
	seg_error eb;

	if (copy == NULL)
		return;
	memcpy(copy, data, size);
	seg_error_clear(&eb);
	seg_status sb = req_parse_eval_inplace("application/json", copy, size, MCO_DEFAULT_MAX_CLASSES, &b, &eb);
	FZ_ASSERT(sb == st);
	if (st != SEG_OK) {
		FZ_ASSERT(strcmp(e->msg, eb.msg) == 0);
	} else {
		FZ_ASSERT(b.ncases == r->ncases && b.nspecs == r->nspecs && b.nmaps == r->nmaps);
		for (size_t i = 0; i < b.ncases; i++) {
			same_mask(&r->cases[i].target, &b.cases[i].target);
			same_mask(&r->cases[i].prediction, &b.cases[i].prediction);
			FZ_ASSERT(strcmp(r->cases[i].item, b.cases[i].item) == 0);
		}
		for (size_t i = 0; i < b.nspecs; i++)
			FZ_ASSERT(strcmp(r->specs[i].key, b.specs[i].key) == 0);
	}
	req_eval_release(&b);
	free(copy);
}

static void inplace_agrees_wmap(const uint8_t *data, size_t size, seg_status st, const seg_error *e,
				const req_wmap *w)
{
	uint8_t *copy = malloc(size ? size : 1);
	req_wmap b;
	seg_error eb;

	if (copy == NULL)
		return;
	memcpy(copy, data, size);
	seg_error_clear(&eb);
	seg_status sb = req_parse_wmap_inplace("application/json", copy, size, MCO_DEFAULT_MAX_CLASSES, &b, &eb);
	FZ_ASSERT(sb == st);
	if (st != SEG_OK)
		FZ_ASSERT(strcmp(e->msg, eb.msg) == 0);
	else
		same_mask(&w->target, &b.target);
	req_wmap_release(&b);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	req_eval r;
	req_wmap w;
	seg_error e;
	seg_status st;

	if (size > INPUT_CAP)
		return 0;

	seg_error_clear(&e);
	st = req_parse_eval("application/json", data, size, &r, &e);
	fz_check_error(st, &e);
	inplace_agrees(data, size, st, &e, &r);
	FZ_ASSERT(st != SEG_EUNSUPPORTED);
	if (st == SEG_OK) {
		FZ_ASSERT(r.json != NULL);
		fz_check_eval(&r);
	} else {
		FZ_ASSERT(r.json == NULL && r.cases == NULL && r.ncases == 0);
	}
	req_eval_release(&r);
	req_eval_release(&r);

	seg_error_clear(&e);
	st = req_parse_wmap("application/json; charset=utf-8", data, size, &w, &e);
	fz_check_error(st, &e);
	inplace_agrees_wmap(data, size, st, &e, &w);
	FZ_ASSERT(st != SEG_EUNSUPPORTED);
	if (st == SEG_OK) {
		FZ_ASSERT(w.json != NULL);
		fz_check_wmap(&w);
	} else {
		FZ_ASSERT(w.json == NULL && w.target.data == NULL);
	}
	req_wmap_release(&w);
	req_wmap_release(&w);
	return 0;
}
