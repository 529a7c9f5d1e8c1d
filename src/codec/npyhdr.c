/*
 * npyhdr.c — the .npy header: magic, version, length and the dict of
 * 'descr', 'fortran_order' and 'shape' (see npy.c for the format), read
 * by a small recursive-descent reader over a bounded (NPY_HEADER_MAX)
 * string that never allocates, and the checks of a shape against the
 * caps and the data length.
 */
#include "codec/npy_int.h"
#include "codec/npy.h"

#include <stdio.h>
#include <string.h>

const uint8_t npyh_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

int npyh_host_big_endian(void)
{
	const uint16_t probe = 1;
	uint8_t first;

	memcpy(&first, &probe, 1);
	return first == 0;
}

/* ---- dtype ------------------------------------------------------------- */

static const struct npy_dtype npy_dtypes[] = {
	{'b', 1, 0, "bool"},   {'u', 1, 0, "uint8"},  {'i', 1, 0, "int8"},
	{'u', 2, 0, "uint16"}, {'i', 2, 0, "int16"},  {'u', 4, 0, "uint32"},
	{'i', 4, 0, "int32"},  {'u', 8, 0, "uint64"}, {'i', 8, 0, "int64"},
	{'f', 2, 0, "float16"}, {'f', 4, 0, "float32"}, {'f', 8, 0, "float64"},
};

/* Looks descr ("<f4", "|u1", "=i8", ...) up; 0 on success. */
static int dtype_of(const char *descr, struct npy_dtype *dt)
{
	char order;
	int size;
	int big;

	if (strlen(descr) != 3 || descr[2] < '1' || descr[2] > '9')
		return -1;
	order = descr[0];
	size = descr[2] - '0';
	if (order == '|' && size != 1)
		return -1;
	if (order == '<' || order == '|')
		big = 0;
	else if (order == '>')
		big = 1;
	else if (order == '=')
		big = npyh_host_big_endian();
	else
		return -1;
	for (size_t k = 0; k < sizeof(npy_dtypes) / sizeof(npy_dtypes[0]); k++) {
		if (npy_dtypes[k].kind == descr[1] && npy_dtypes[k].size == size) {
			*dt = npy_dtypes[k];
			dt->swap = size > 1 && big != npyh_host_big_endian();
			return 0;
		}
	}
	return -1;
}

/* ---- header ------------------------------------------------------------ */

struct cursor {
	const char *s;
	size_t n;
	size_t i;
};

static void skip_ws(struct cursor *c)
{
	while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' ||
			       c->s[c->i] == '\r' || c->s[c->i] == '\f' || c->s[c->i] == '\v'))
		c->i++;
}

/* Consumes ch after optional whitespace; 1 if it was there. */
static int accept(struct cursor *c, char ch)
{
	skip_ws(c);
	if (c->i < c->n && c->s[c->i] == ch) {
		c->i++;
		return 1;
	}
	return 0;
}

static seg_status malformed(seg_error *err, const struct cursor *c, const char *what)
{
	return seg_fail(err, SEG_EDECODE, "npy: malformed header at byte %zu: expected %s", c->i, what);
}

/* A quoted string without escapes into out (size outsz, truncated); -1 if unterminated or escaped. */
static int parse_string(struct cursor *c, char *out, size_t outsz, int *too_long)
{
	char quote;
	size_t k = 0;

	*too_long = 0;
	skip_ws(c);
	if (c->i >= c->n || (c->s[c->i] != '\'' && c->s[c->i] != '"'))
		return -1;
	quote = c->s[c->i++];
	while (c->i < c->n && c->s[c->i] != quote) {
		char ch = c->s[c->i++];

		if (ch == '\\' || ch == '\n' || ch == '\0')
			return -1;
		if (k + 1 < outsz)
			out[k++] = ch;
		else
			*too_long = 1;
	}
	if (c->i >= c->n)
		return -1;
	c->i++;
	out[k] = '\0';
	return 0;
}

static int accept_word(struct cursor *c, const char *word)
{
	size_t len = strlen(word);

	skip_ws(c);
	if (c->n - c->i >= len && memcmp(c->s + c->i, word, len) == 0) {
		c->i += len;
		return 1;
	}
	return 0;
}

/* Writes "(a, b)" or "(a,)" into h->shape_text. */
static void format_shape(struct npy_header *h)
{
	size_t off = 0;
	size_t cap = sizeof(h->shape_text);

	off += (size_t)snprintf(h->shape_text, cap, "(");
	for (int k = 0; k < h->ndim && off < cap; k++)
		off += (size_t)snprintf(h->shape_text + off, cap - off, "%s%llu", k > 0 ? ", " : "",
					(unsigned long long)h->shape[k]);
	if (off < cap)
		snprintf(h->shape_text + off, cap - off, "%s)", h->ndim == 1 ? "," : "");
}

/* A tuple of non-negative integers: "()", "(3,)", "(3, 4)", "(3, 4,)". */
static seg_status parse_shape(struct cursor *c, struct npy_header *h, seg_error *err)
{
	int trailing_comma = 0;

	if (!accept(c, '('))
		return malformed(err, c, "a shape tuple");
	h->ndim = 0;
	for (;;) {
		uint64_t v = 0;
		size_t digits = 0;

		if (accept(c, ')'))
			break;
		if (h->ndim > 0 && !trailing_comma)
			return malformed(err, c, "',' or ')' in the shape");
		if (h->ndim == NPY_MAX_DIMS)
			return seg_fail(err, SEG_EINVAL, "npy: shape has more than %d dimensions",
					NPY_MAX_DIMS);
		skip_ws(c);
		while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
			if (v > (UINT64_MAX - 9) / 10)
				return seg_fail(err, SEG_ETOOBIG, "npy: shape dimension at byte %zu is too large",
						c->i);
			v = v * 10 + (uint64_t)(c->s[c->i] - '0');
			c->i++;
			digits++;
		}
		if (digits == 0)
			return malformed(err, c, "a non-negative integer in the shape");
		if (c->i < c->n && (c->s[c->i] == 'L' || c->s[c->i] == 'l'))
			c->i++; /* Python 2 long */
		h->shape[h->ndim++] = v;
		trailing_comma = accept(c, ',');
	}
	if (h->ndim == 1 && !trailing_comma)
		return seg_fail(err, SEG_EDECODE, "npy: shape is not a tuple (a 1-tuple needs a comma)");
	format_shape(h);
	return SEG_OK;
}

/* Parses the dict in text[0..n) into h->descr, h->fortran and h->shape. */
static seg_status parse_dict(const char *text, size_t n, struct npy_header *h, seg_error *err)
{
	struct cursor c = {text, n, 0};
	int have_descr = 0;
	int have_fortran = 0;
	int have_shape = 0;
	seg_status st;

	if (!accept(&c, '{'))
		return seg_fail(err, SEG_EDECODE, "npy: header is not a dict");
	for (;;) {
		char key[32];
		int too_long;

		if (accept(&c, '}'))
			break;
		if (parse_string(&c, key, sizeof(key), &too_long) != 0)
			return malformed(err, &c, "a quoted key or '}'");
		if (!accept(&c, ':'))
			return malformed(err, &c, "':'");
		if (!too_long && strcmp(key, "descr") == 0) {
			if (have_descr++)
				return seg_fail(err, SEG_EDECODE, "npy: duplicate key 'descr' in header");
			skip_ws(&c);
			if (c.i < c.n && c.s[c.i] == '[')
				return seg_fail(err, SEG_EINVAL, "npy: structured dtypes are not supported");
			if (parse_string(&c, h->descr, sizeof(h->descr), &too_long) != 0)
				return malformed(err, &c, "a quoted descr");
			if (too_long || dtype_of(h->descr, &h->dt) != 0)
				return seg_fail(err, SEG_EINVAL, "npy: unsupported dtype '%s%s'", h->descr,
						too_long ? "..." : "");
		} else if (!too_long && strcmp(key, "fortran_order") == 0) {
			if (have_fortran++)
				return seg_fail(err, SEG_EDECODE, "npy: duplicate key 'fortran_order' in header");
			if (accept_word(&c, "True"))
				h->fortran = 1;
			else if (accept_word(&c, "False"))
				h->fortran = 0;
			else
				return malformed(err, &c, "True or False");
		} else if (!too_long && strcmp(key, "shape") == 0) {
			if (have_shape++)
				return seg_fail(err, SEG_EDECODE, "npy: duplicate key 'shape' in header");
			st = parse_shape(&c, h, err);
			if (st != SEG_OK)
				return st;
		} else {
			return seg_fail(err, SEG_EDECODE, "npy: unknown key '%s%s' in header", key,
					too_long ? "..." : "");
		}
		if (!accept(&c, ',')) {
			if (!accept(&c, '}'))
				return malformed(err, &c, "',' or '}'");
			break;
		}
	}
	skip_ws(&c);
	if (c.i < c.n)
		return seg_fail(err, SEG_EDECODE, "npy: unexpected bytes after the header dict at byte %zu",
				c.i);
	if (!have_descr)
		return seg_fail(err, SEG_EDECODE, "npy: header has no 'descr'");
	if (!have_fortran)
		return seg_fail(err, SEG_EDECODE, "npy: header has no 'fortran_order'");
	if (!have_shape)
		return seg_fail(err, SEG_EDECODE, "npy: header has no 'shape'");
	return SEG_OK;
}

/* Reads the preamble and the header dict of data[0..len). */
seg_status npyh_read(const uint8_t *data, size_t len, struct npy_header *h, seg_error *err)
{
	size_t start;
	uint32_t hlen;
	seg_status st;

	memset(h, 0, sizeof(*h));
	if (!npy_is_npy(data, len)) {
		if (len < sizeof(npyh_magic) && (len == 0 || memcmp(data, npyh_magic, len) == 0))
			return seg_fail(err, SEG_EDECODE, "npy: truncated file (%zu bytes)", len);
		return seg_fail(err, SEG_EDECODE, "npy: not a .npy file (bad magic)");
	}
	if (len < 8)
		return seg_fail(err, SEG_EDECODE, "npy: truncated file (%zu bytes)", len);
	if (data[6] < 1 || data[6] > 3 || data[7] != 0)
		return seg_fail(err, SEG_EDECODE, "npy: unsupported format version %u.%u", data[6], data[7]);
	start = data[6] == 1 ? 10 : 12;
	if (len < start)
		return seg_fail(err, SEG_EDECODE, "npy: truncated file (%zu bytes)", len);
	hlen = (uint32_t)data[8] | (uint32_t)data[9] << 8;
	if (data[6] > 1)
		hlen |= (uint32_t)data[10] << 16 | (uint32_t)data[11] << 24;
	if (hlen > NPY_HEADER_MAX)
		return seg_fail(err, SEG_EDECODE, "npy: header length %lu is over the limit of %u",
				(unsigned long)hlen, NPY_HEADER_MAX);
	if (len - start < hlen)
		return seg_fail(err, SEG_EDECODE, "npy: truncated header (%zu of %lu bytes)", len - start,
				(unsigned long)hlen);
	st = parse_dict((const char *)data + start, hlen, h, err);
	if (st != SEG_OK)
		return st;
	h->data_off = start + hlen;
	return SEG_OK;
}

/* Reads the header and checks the shape is a 2-D mask. */
seg_status npyh_read_mask(const uint8_t *data, size_t len, struct npy_header *h, seg_error *err)
{
	seg_status st = npyh_read(data, len, h, err);

	if (st != SEG_OK)
		return st;
	if (h->ndim == 2) {
		h->height = h->shape[0];
		h->width = h->shape[1];
	} else if (h->ndim == 3 && h->shape[0] == 1) {
		h->height = h->shape[1];
		h->width = h->shape[2];
	} else if (h->ndim == 3 && h->shape[2] == 1) {
		h->height = h->shape[0];
		h->width = h->shape[1];
	} else {
		return seg_fail(err, SEG_EINVAL,
				"npy: shape %s is not a mask; expected (H, W), (1, H, W) or (H, W, 1)",
				h->shape_text);
	}
	return SEG_OK;
}

/*
 * Checks size caps and the exact data length for height*width pixels of
 * per elements each (1 for a mask, the class count for per-class scores).
 */
seg_status npyh_check_data(size_t len, uint64_t max_pixels, const struct npy_header *h, uint64_t per,
			   seg_error *err)
{
	uint64_t npix;
	uint64_t need;

	if (h->height == 0 || h->width == 0)
		return seg_fail(err, SEG_EINVAL, "npy: shape %s has no pixels", h->shape_text);
	if (h->height > SEG_MAX_SIDE || h->width > SEG_MAX_SIDE)
		return seg_fail(err, SEG_ETOOBIG, "npy: shape %s is over the limit of %d pixels a side",
				h->shape_text, SEG_MAX_SIDE);
	npix = h->height * h->width;
	if (npix > max_pixels)
		return seg_fail(err, SEG_ETOOBIG, "npy: shape %s has %llu pixels, over the limit of %llu",
				h->shape_text, (unsigned long long)npix, (unsigned long long)max_pixels);
	need = npix * per * (uint64_t)h->dt.size; /* npix <= 2^40 and per < 2^16: no overflow */
	if ((uint64_t)(len - h->data_off) != need || need > SIZE_MAX)
		return seg_fail(err, SEG_EDECODE, "npy: data is %zu bytes but shape %s of %s needs %llu",
				len - h->data_off, h->shape_text, h->dt.name, (unsigned long long)need);
	return SEG_OK;
}
