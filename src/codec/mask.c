/*
 * mask.c — uploaded bytes to a target or a prediction, whatever the format.
 *
 * The format is told by the first bytes alone: the PNG signature or the
 * .npy magic (a short input that is a prefix of either goes to that
 * decoder, which then reports it as truncated). Decoders write their
 * errors in their own terms ("png: CRC error in IDAT"); this layer names
 * the upload by prefixing the role ("target: png: CRC error in IDAT"),
 * except for messages a decoder already wrote about the role itself
 * ("prediction has value 1.5 outside [0, 1] at row 3, column 7"). The
 * image formats people upload by mistake (JPEG, GIF, TIFF, WebP) are
 * named by their signatures, so the error says what was sent. No state,
 * no allocation of its own: ownership of the arrays passes from the
 * decoder to the caller's struct.
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

/*
 * The image formats people send by mistake, by their signatures: JPEG
 * (FF D8 FF), GIF (GIF87a, GIF89a), TIFF (II*\0, MM\0*, and BigTIFF's
 * II+\0, MM\0+), WebP (RIFF, a size, WEBP). NULL for anything else.
 */
static const char *other_image(const uint8_t *d, size_t len)
{
	if (len >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
		return "JPEG";
	if (len >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
		return "GIF";
	if (len >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0 || memcmp(d, "II+\0", 4) == 0 ||
			 memcmp(d, "MM\0+", 4) == 0))
		return "TIFF";
	if (len >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
		return "WebP";
	return NULL;
}

static seg_status unknown_format(const uint8_t *data, size_t len, const char *role, seg_error *err)
{
	const char *kind;

	if (len == 0)
		return seg_fail(err, SEG_EDECODE, "%s is empty", role);
	kind = other_image(data, len);
	if (kind && strcmp(kind, "JPEG") == 0)
		return seg_fail(err, SEG_EUNSUPPORTED,
				"%s is a JPEG image, not a PNG or a .npy file (JPEG's lossy compression changes a "
				"mask's values: save masks as PNG)",
				role);
	if (kind)
		return seg_fail(err, SEG_EUNSUPPORTED, "%s is a %s image, not a PNG or a .npy file", role, kind);
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
		return unknown_format(data, len, "target", err);
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
		return unknown_format(data, len, "prediction", err);
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
