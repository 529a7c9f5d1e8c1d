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
 */
#include "fuzzutil.h"
#include "service/request.h"

#define INPUT_CAP (1u << 20)

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
