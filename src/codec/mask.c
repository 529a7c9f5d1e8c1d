/*
 * mask.c — uploaded bytes to a target or a prediction, whatever the format.
 *
 * The format is told by the first bytes alone: the PNG signature or the
 * .npy magic (a short input that is a prefix of either goes to that
 * decoder, which then reports it as truncated). Decoders write their
 * errors in their own terms ("png: CRC error in IDAT"); this layer names
 * the upload by prefixing the role ("target: png: CRC error in IDAT"),
 * except for messages a decoder already wrote about the role itself
 * ("prediction has value 1.5 outside [0, 1] at row 3, column 7"). No
 * state, no allocation of its own: ownership of the arrays passes from
 * the decoder to the caller's struct.
 */
#include "codec/mask.h"

#include <string.h>

#include "codec/npy.h"
#include "codec/pngio.h"

enum mask_format { FMT_NONE, FMT_PNG, FMT_NPY };

static enum mask_format format_of(const uint8_t *data, size_t len)
{
	static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	static const uint8_t npy_sig[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

	if (len == 0)
		return FMT_NONE;
	if (memcmp(data, png_sig, len < sizeof(png_sig) ? len : sizeof(png_sig)) == 0)
		return FMT_PNG;
	if (memcmp(data, npy_sig, len < sizeof(npy_sig) ? len : sizeof(npy_sig)) == 0)
		return FMT_NPY;
	return FMT_NONE;
}

/* Copies a decoder's error into err, naming the role unless the message already does. */
static seg_status with_role(seg_error *err, const char *role, const seg_error *inner)
{
	size_t n = strlen(role);

	if (strncmp(inner->msg, role, n) == 0 && inner->msg[n] == ' ')
		return seg_fail(err, inner->status, "%s", inner->msg);
	return seg_fail(err, inner->status, "%s: %s", role, inner->msg);
}

static seg_status unknown_format(size_t len, const char *role, seg_error *err)
{
	if (len == 0)
		return seg_fail(err, SEG_EDECODE, "%s is empty", role);
	return seg_fail(err, SEG_EUNSUPPORTED, "%s is neither a PNG nor a .npy file", role);
}

seg_status mask_decode_target(const uint8_t *data, size_t len, uint64_t max_pixels,
			      seg_target *out, seg_error *err)
{
	seg_error inner;
	seg_status st;

	memset(out, 0, sizeof(*out));
	seg_error_clear(&inner);
	switch (format_of(data, len)) {
	case FMT_PNG:
		st = pngio_decode_target(data, len, max_pixels, out, &inner);
		break;
	case FMT_NPY:
		st = npy_decode_target(data, len, max_pixels, out, &inner);
		break;
	default:
		return unknown_format(len, "target", err);
	}
	if (st != SEG_OK)
		return with_role(err, "target", &inner);
	return SEG_OK;
}

seg_status mask_decode_pred(const uint8_t *data, size_t len, uint64_t max_pixels, int logits,
			    seg_pred *out, seg_error *err)
{
	seg_error inner;
	seg_status st;

	memset(out, 0, sizeof(*out));
	seg_error_clear(&inner);
	switch (format_of(data, len)) {
	case FMT_PNG:
		if (logits)
			return seg_fail(err, SEG_EINVAL,
					"prediction: logits apply to float .npy input, not to a PNG");
		st = pngio_decode_pred(data, len, max_pixels, out, &inner);
		break;
	case FMT_NPY:
		st = npy_decode_pred(data, len, max_pixels, logits, out, &inner);
		break;
	default:
		return unknown_format(len, "prediction", err);
	}
	if (st != SEG_OK)
		return with_role(err, "prediction", &inner);
	return SEG_OK;
}

seg_status mask_check_sizes(const seg_target *t, const seg_pred *p, seg_error *err)
{
	if (t->width != p->width || t->height != p->height)
		return seg_fail(err, SEG_EINVAL, "prediction is %dx%d but target is %dx%d", p->width,
				p->height, t->width, t->height);
	return SEG_OK;
}
