/*
 * cvat.c — CVAT mask shapes: points (counts in the box, then the box) to
 * masks and back, and the XML attribute form.
 *
 * The box comes last but is read first: its four numbers are truncated
 * toward zero as CVAT does (numpy's astype(int)) and must lie inside the
 * image; then every count is checked and the total compared with the
 * box's area, all before a pixel is written. Decoding walks the counts
 * once, cutting each run of 1s at the box's row ends, and hands the
 * pieces (horizontal spans) to the caller. The encoder follows
 * cvat-sdk's encode_mask: runs of the box's pixels in row-major order,
 * starting with a (possibly empty) run of 0s.
 */
#include "codec/cvat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const box_names[4] = {"left", "top", "right", "bottom"};

seg_status cvat_check(const double *points, size_t n, int img_w, int img_h, cvat_box *box, seg_error *err)
{
	double v[4];
	cvat_box b;
	uint64_t sum = 0, area;

	if (box)
		memset(box, 0, sizeof(*box));
	if (n < 5)
		return seg_fail(err, SEG_EINVAL,
				"points has %zu numbers; a mask needs its counts, then left, top, right, bottom", n);
	for (int i = 0; i < 4; i++) {
		v[i] = points[n - 4 + (size_t)i];
		if (!isfinite(v[i]))
			return seg_fail(err, SEG_EINVAL, "points[%zu] (the box's %s) is not finite", n - 4 + (size_t)i,
					box_names[i]);
		v[i] = trunc(v[i]);
	}
	if (v[0] < 0 || v[1] < 0 || v[2] >= img_w || v[3] >= img_h || v[2] < v[0] || v[3] < v[1])
		return seg_fail(err, SEG_EINVAL,
				"box left %.0f, top %.0f, right %.0f, bottom %.0f (inclusive) is not inside the %dx%d "
				"image",
				v[0], v[1], v[2], v[3], img_w, img_h);
	b.left = (int)v[0];
	b.top = (int)v[1];
	b.right = (int)v[2];
	b.bottom = (int)v[3];
	area = (uint64_t)(b.right - b.left + 1) * (uint64_t)(b.bottom - b.top + 1);
	for (size_t i = 0; i + 4 < n; i++) {
		double c = points[i];

		if (!(c >= 0) || c != floor(c) || c > (double)UINT32_MAX)
			return seg_fail(err, SEG_EINVAL, "points[%zu] is %.17g: a count is a non-negative whole number", i,
					c);
		sum += (uint64_t)c;
		if (sum > area)
			return seg_fail(err, SEG_EINVAL,
					"counts are longer than the box: points[0..%zu] already cover %llu pixels but "
					"the %dx%d box has %llu",
					i, (unsigned long long)sum, b.right - b.left + 1, b.bottom - b.top + 1,
					(unsigned long long)area);
	}
	if (sum < area)
		return seg_fail(err, SEG_EINVAL, "counts cover %llu pixels but the %dx%d box has %llu",
				(unsigned long long)sum, b.right - b.left + 1, b.bottom - b.top + 1,
				(unsigned long long)area);
	if (box)
		*box = b;
	return SEG_OK;
}

/* Calls fn for the row pieces of every run of 1s; points already checked, b their box. */
static void emit_spans(const double *points, size_t n, int img_w, const cvat_box *b, cvat_span_fn fn, void *ctx)
{
	uint64_t bw = (uint64_t)(b->right - b->left + 1), pos = 0;

	for (size_t i = 0; i + 4 < n; i++) {
		uint64_t len = (uint64_t)points[i];

		if ((i & 1) == 0) {
			pos += len;
			continue;
		}
		while (len > 0) {
			uint64_t r = pos / bw, c = pos % bw;
			uint64_t take = bw - c < len ? bw - c : len;

			fn(ctx, (size_t)(((uint64_t)b->top + r) * (uint64_t)img_w + (uint64_t)b->left + c), 1,
			   (size_t)take);
			pos += take;
			len -= take;
		}
	}
}

seg_status cvat_spans(const double *points, size_t n, int img_w, int img_h, cvat_span_fn fn, void *ctx,
		      seg_error *err)
{
	cvat_box b;
	seg_status st = cvat_check(points, n, img_w, img_h, &b, err);

	if (st != SEG_OK)
		return st;
	emit_spans(points, n, img_w, &b, fn, ctx);
	return SEG_OK;
}

static void mask_span(void *ctx, size_t start, size_t step, size_t len)
{
	(void)step;
	memset((uint8_t *)ctx + start, 1, len);
}

seg_status cvat_decode(const double *points, size_t n, int img_w, int img_h, uint8_t *mask, seg_error *err)
{
	cvat_box b;
	seg_status st = cvat_check(points, n, img_w, img_h, &b, err);

	if (st != SEG_OK)
		return st;
	memset(mask, 0, (size_t)img_w * (size_t)img_h);
	emit_spans(points, n, img_w, &b, mask_span, mask);
	return SEG_OK;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A whole number that fits an int, for the XML attributes. */
static seg_status xml_int(double v, const char *name, int min, int *out, seg_error *err)
{
	if (!isfinite(v) || v != floor(v) || v < min || v > SEG_MAX_SIDE)
		return seg_fail(err, SEG_EINVAL, "%s is %.17g: a whole number from %d to %d is expected", name, v, min,
				SEG_MAX_SIDE);
	*out = (int)v;
	return SEG_OK;
}

seg_status cvat_points_from_xml(const char *rle, size_t rle_len, double left, double top, double width,
				double height, double **points, size_t *n, seg_error *err)
{
	int l, t, w, h;
	size_t cap = 1, k = 0, p = 0;
	double *out;
	seg_status st;

	*points = NULL;
	*n = 0;
	st = xml_int(left, "left", 0, &l, err);
	if (st == SEG_OK)
		st = xml_int(top, "top", 0, &t, err);
	if (st == SEG_OK)
		st = xml_int(width, "width", 1, &w, err);
	if (st == SEG_OK)
		st = xml_int(height, "height", 1, &h, err);
	if (st != SEG_OK)
		return st;
	for (size_t i = 0; i < rle_len; i++)
		cap += rle[i] == ',';
	out = malloc((cap + 4) * sizeof(*out));
	if (out == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory for %zu counts", cap);
	for (;;) {
		double v = 0;
		size_t digits = 0;

		while (p < rle_len && is_space(rle[p]))
			p++;
		while (p < rle_len && rle[p] >= '0' && rle[p] <= '9' && digits < 16) {
			v = v * 10 + (rle[p] - '0');
			digits++;
			p++;
		}
		if (digits == 0) {
			st = seg_fail(err, SEG_EINVAL,
				      "rle: expected a count at offset %zu (counts are decimal numbers separated by "
				      "commas)",
				      p);
			goto out;
		}
		if (p < rle_len && rle[p] >= '0' && rle[p] <= '9') {
			st = seg_fail(err, SEG_EINVAL, "rle: the count at offset %zu has more than 16 digits", p);
			goto out;
		}
		out[k++] = v;
		while (p < rle_len && is_space(rle[p]))
			p++;
		if (p == rle_len)
			break;
		if (rle[p] != ',') {
			st = seg_fail(err, SEG_EINVAL, "rle: unexpected character at offset %zu (counts are separated by commas)",
				      p);
			goto out;
		}
		p++;
	}
	out[k++] = l;
	out[k++] = t;
	out[k++] = (double)l + w - 1;
	out[k++] = (double)t + h - 1;
	*points = out;
	*n = k;
	out = NULL;
out:
	free(out);
	return st;
}

seg_status cvat_box_of(const uint8_t *mask, int img_w, int img_h, cvat_box *box, seg_error *err)
{
	cvat_box b = {img_w, img_h, -1, -1};

	for (int y = 0; y < img_h; y++) {
		const uint8_t *row = mask + (size_t)y * (size_t)img_w;
		for (int x = 0; x < img_w; x++) {
			if (!row[x])
				continue;
			if (x < b.left)
				b.left = x;
			if (x > b.right)
				b.right = x;
			if (y < b.top)
				b.top = y;
			b.bottom = y;
		}
	}
	if (b.right < 0)
		return seg_fail(err, SEG_EINVAL, "the mask is empty: a CVAT mask shape needs at least one pixel");
	*box = b;
	return SEG_OK;
}

seg_status cvat_encode(const uint8_t *mask, int img_w, int img_h, const cvat_box *box, double **points,
		       size_t *n, seg_error *err)
{
	const cvat_box *b = box;
	size_t runs = 1, k = 0;
	uint8_t prev = 0;
	double *out, c = 0;

	*points = NULL;
	*n = 0;
	if (b->left < 0 || b->top < 0 || b->right >= img_w || b->bottom >= img_h || b->right < b->left ||
	    b->bottom < b->top)
		return seg_fail(err, SEG_EINVAL, "box left %d, top %d, right %d, bottom %d is not inside the %dx%d image",
				b->left, b->top, b->right, b->bottom, img_w, img_h);
	for (int y = b->top; y <= b->bottom; y++)
		for (int x = b->left; x <= b->right; x++) {
			uint8_t v = mask[(size_t)y * (size_t)img_w + (size_t)x] != 0;
			if (v != prev) {
				runs++;
				prev = v;
			}
		}
	out = malloc((runs + 4) * sizeof(*out));
	if (out == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory for %zu counts", runs);
	prev = 0;
	for (int y = b->top; y <= b->bottom; y++)
		for (int x = b->left; x <= b->right; x++) {
			uint8_t v = mask[(size_t)y * (size_t)img_w + (size_t)x] != 0;
			if (v != prev) {
				out[k++] = c;
				c = 0;
				prev = v;
			}
			c++;
		}
	out[k++] = c;
	out[k++] = b->left;
	out[k++] = b->top;
	out[k++] = b->right;
	out[k++] = b->bottom;
	*points = out;
	*n = k;
	return SEG_OK;
}
