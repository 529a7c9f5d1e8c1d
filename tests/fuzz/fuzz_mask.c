/*
 * fuzz_mask.c — libFuzzer target: uploads decoded by content (mask.h).
 *
 * The input is decoded as a target and as a prediction (with and without
 * logits) through mask_decode_*, which picks the decoder from the first
 * bytes. The result must be the one the chosen decoder gives on its own
 * (same status, same pixels), every error must name the role ("target",
 * "prediction") at its start, and input that is neither PNG nor .npy must
 * be refused as such. Decoded masks obey the usual invariants.
 */
#include <string.h>

#include "codec/mask.h"
#include "codec/npy.h"
#include "codec/pngio.h"
#include "fuzzutil.h"

#define INPUT_CAP (1u << 20)

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const uint8_t npy_sig[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

enum format { NEITHER, PNG, NPY };

/* What mask.h says decides the format: the signature, or a prefix of it for short input. */
static enum format format_of(const uint8_t *data, size_t size)
{
	if (size == 0)
		return NEITHER;
	if (memcmp(data, png_sig, size < sizeof(png_sig) ? size : sizeof(png_sig)) == 0)
		return PNG;
	if (memcmp(data, npy_sig, size < sizeof(npy_sig) ? size : sizeof(npy_sig)) == 0)
		return NPY;
	return NEITHER;
}

static void check_role(seg_status st, const seg_error *e, const char *role)
{
	size_t n = strlen(role);

	fz_check_error(st, e);
	if (st != SEG_OK)
		FZ_ASSERT(strncmp(e->msg, role, n) == 0 && (e->msg[n] == ' ' || e->msg[n] == ':'));
}

static void check_target(const uint8_t *data, size_t size, enum format fmt)
{
	seg_target t;
	seg_target u;
	seg_error e;
	seg_status st;
	seg_status direct;

	seg_error_clear(&e);
	st = mask_decode_target(data, size, FZ_MAX_PIXELS, &t, &e);
	check_role(st, &e, "target");
	if (fmt == NEITHER) {
		FZ_ASSERT(st == (size == 0 ? SEG_EDECODE : SEG_EUNSUPPORTED));
		return;
	}
	seg_error_clear(&e);
	direct = fmt == PNG ? pngio_decode_target(data, size, FZ_MAX_PIXELS, &u, &e)
			    : npy_decode_target(data, size, FZ_MAX_PIXELS, &u, &e);
	fz_check_error(direct, &e);
	FZ_ASSERT(st == direct);
	if (st == SEG_OK) {
		size_t n = (size_t)t.width * (size_t)t.height;

		fz_check_target(&t, FZ_MAX_PIXELS);
		FZ_ASSERT(t.width == u.width && t.height == u.height);
		FZ_ASSERT(memcmp(t.fg, u.fg, n) == 0);
		FZ_ASSERT((t.labels == NULL) == (u.labels == NULL));
		FZ_ASSERT(t.labels == NULL || memcmp(t.labels, u.labels, n * sizeof(uint32_t)) == 0);
	}
	seg_target_release(&t);
	seg_target_release(&u);
}

static void check_pred(const uint8_t *data, size_t size, enum format fmt, int logits)
{
	seg_pred p;
	seg_pred q;
	seg_error e;
	seg_status st;
	seg_status direct;

	seg_error_clear(&e);
	st = mask_decode_pred(data, size, FZ_MAX_PIXELS, logits, &p, &e);
	check_role(st, &e, "prediction");
	if (fmt == NEITHER) {
		FZ_ASSERT(st == (size == 0 ? SEG_EDECODE : SEG_EUNSUPPORTED));
		return;
	}
	if (fmt == PNG && logits) {
		FZ_ASSERT(st == SEG_EINVAL);
		return;
	}
	seg_error_clear(&e);
	direct = fmt == PNG ? pngio_decode_pred(data, size, FZ_MAX_PIXELS, &q, &e)
			    : npy_decode_pred(data, size, FZ_MAX_PIXELS, logits, &q, &e);
	fz_check_error(direct, &e);
	FZ_ASSERT(st == direct);
	if (st == SEG_OK) {
		fz_check_pred(&p, FZ_MAX_PIXELS);
		FZ_ASSERT(p.width == q.width && p.height == q.height);
		FZ_ASSERT(memcmp(p.p, q.p, (size_t)p.width * (size_t)p.height * sizeof(float)) == 0);
	}
	seg_pred_release(&p);
	seg_pred_release(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum format fmt;

	if (size > INPUT_CAP)
		return 0;
	fmt = format_of(data, size);
	check_target(data, size, fmt);
	check_pred(data, size, fmt, 0);
	check_pred(data, size, fmt, 1);
	return 0;
}
