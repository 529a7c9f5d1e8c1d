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

#include <stdlib.h>
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

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* IHDR's depth and colour type, and the PLTE entries, walking the chunks up to the first IDAT. */
static void probe_png(const uint8_t *data, size_t len, mask_probe *out)
{
	size_t pos = 8;

	if (len < 33 || memcmp(data + 12, "IHDR", 4) != 0)
		return;
	out->bit_depth = data[24];
	out->color_type = data[25];
	while (pos + 12 <= len) {
		uint32_t n = be32(data + pos);
		const uint8_t *type = data + pos + 4;
		if (n > len - pos - 12)
			return;
		if (memcmp(type, "IDAT", 4) == 0)
			return;
		if (memcmp(type, "PLTE", 4) == 0 && n % 3 == 0 && n / 3 <= 256) {
			const uint8_t *e = data + pos + 8;
			out->palette_len = (int)(n / 3);
			for (int i = 0; i < out->palette_len; i++)
				out->palette[i] = (uint32_t)e[3 * i] << 16 | (uint32_t)e[3 * i + 1] << 8 | e[3 * i + 2];
		}
		pos += 12 + (size_t)n;
	}
}

seg_status mask_probe_bytes(const uint8_t *data, size_t len, const char *role, mask_probe *out, seg_error *err)
{
	seg_error inner;

	memset(out, 0, sizeof(*out));
	seg_error_clear(&inner);
	switch (format_of(data, len)) {
	case FMT_PNG:
		out->format = MASK_FMT_PNG;
		probe_png(data, len, out);
		return SEG_OK;
	case FMT_NPY:
		out->format = MASK_FMT_NPY;
		if (npy_probe(data, len, &out->npy, &inner) != SEG_OK)
			return with_role(err, role, &inner);
		return SEG_OK;
	default:
		return unknown_format(data, len, role, err);
	}
}

seg_status mask_decode_values(const uint8_t *data, size_t len, uint64_t max_pixels, const char *role,
			      const mask_probe *probe, int by_palette_colour, uint32_t **values, int *width,
			      int *height, seg_error *err)
{
	seg_target t = {0};
	seg_error inner;
	uint32_t *v = NULL;
	seg_status st;

	*values = NULL;
	seg_error_clear(&inner);
	if (probe->format == MASK_FMT_NPY) {
		st = npy_decode_values(data, len, max_pixels, role, values, width, height, &inner);
		return st == SEG_OK ? SEG_OK : with_role(err, role, &inner);
	}
	st = pngio_decode_target(data, len, max_pixels, &t, &inner);
	if (st != SEG_OK)
		return with_role(err, role, &inner);
	size_t n = (size_t)t.width * (size_t)t.height;
	if (t.labels) {
		v = t.labels; /* the values themselves: take them over */
		t.labels = NULL;
	} else {
		v = malloc(n * sizeof(*v));
		if (v == NULL) {
			st = seg_fail(err, SEG_ENOMEM, "%s: out of memory for a %dx%d label map", role, t.width, t.height);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			v[i] = t.fg[i] ? t.fg_value : 0;
	}
	if (by_palette_colour && probe->color_type == 3) {
		for (size_t i = 0; i < n; i++)
			v[i] = v[i] < (uint32_t)probe->palette_len ? probe->palette[v[i]] : 0;
	}
	*width = t.width;
	*height = t.height;
	*values = v;
	v = NULL;
out:
	free(v);
	seg_target_release(&t);
	return st;
}

seg_status mask_check_sizes(const seg_target *t, const seg_pred *p, seg_error *err)
{
	if (t->width != p->width || t->height != p->height)
		return seg_fail(err, SEG_EINVAL, "prediction is %dx%d but target is %dx%d", p->width,
				p->height, t->width, t->height);
	return SEG_OK;
}
