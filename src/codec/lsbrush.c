/*
 * lsbrush.c — Label Studio brush streams (rle-pack binary.ts decodeBinary;
 * label-studio-converter brush.py decode_rle, encode_rle, mask2rle).
 *
 * One decoder serves three outputs through a small sink: the words as
 * bytes (lsb_unpack), the RGBA canvas (the same bytes, count W*H*4), and
 * the alpha mask straight from the stream. For the mask, a repeated run
 * of words [i, j) covers the alpha bytes of pixels i/4 .. j/4 - 1 (alpha
 * byte 4p + 3 lies in [i, j) exactly then), so a run becomes one memset
 * of the mask and the 4-byte-per-pixel canvas is never built. Every
 * field is read with the widths the header gives; the bit reader checks
 * its bounds on every read, so a truncated stream stops at the record it
 * cuts, with the count of bytes decoded so far in the message.
 *
 * The encoder reproduces encode_rle bit for bit (it is what the
 * converter's users and our tests compare against), including its
 * quirks: a single word is a literal record with a 3-bit zero length,
 * runs over 65536 are cut into pieces of 65536, and the padding adds a
 * whole zero byte when the bits already end on a byte boundary.
 */
#include "codec/lsbrush.h"

#include <stdio.h>
#include <string.h>

/* ---- reading ------------------------------------------------------------- */

struct bitin {
	const uint8_t *p;
	uint64_t pos; /* bits read */
	uint64_t end; /* bits available */
};

/* Reads n (1..32) bits MSB first into *v; -1 when fewer than n remain. */
static int read_bits(struct bitin *b, int n, uint32_t *v)
{
	uint64_t acc = 0;
	size_t byte;
	int off, need;

	if (b->end - b->pos < (uint64_t)n)
		return -1;
	byte = (size_t)(b->pos >> 3);
	off = (int)(b->pos & 7);
	need = (off + n + 7) / 8;
	for (int i = 0; i < need; i++)
		acc = acc << 8 | b->p[byte + (size_t)i];
	acc >>= need * 8 - off - n;
	*v = (uint32_t)(acc & ((UINT64_C(1) << n) - 1));
	b->pos += (uint64_t)n;
	return 0;
}

seg_status lsb_read_header(const uint8_t *data, size_t len, lsb_header *hdr, seg_error *err)
{
	struct bitin b = {data, 0, (uint64_t)len * 8};
	uint32_t v;

	memset(hdr, 0, sizeof(*hdr));
	if ((uint64_t)len * 8 < LSB_HEADER_BITS)
		return seg_fail(err, SEG_EDECODE, "rle has %zu bytes; its header alone takes %d bits (7 bytes)", len,
				LSB_HEADER_BITS);
	read_bits(&b, 32, &v);
	hdr->count = v;
	read_bits(&b, 5, &v);
	hdr->word_bits = (int)v + 1;
	for (int i = 0; i < 4; i++) {
		read_bits(&b, 4, &v);
		hdr->run_bits[i] = (int)v + 1;
	}
	return SEG_OK;
}

enum sink_kind { SINK_BYTES, SINK_MASK };

struct sink {
	enum sink_kind kind;
	uint8_t *out; /* bytes (count) or mask (count / 4) */
	int threshold;
	lsb_stats stats;
};

static void sink_fill(struct sink *s, uint64_t i, uint64_t j, uint8_t v)
{
	uint64_t p0, p1;

	if (s->kind == SINK_BYTES) {
		memset(s->out + i, v, (size_t)(j - i));
		return;
	}
	p0 = i / 4;
	p1 = j / 4;
	if (p1 <= p0)
		return;
	memset(s->out + p0, v >= s->threshold, (size_t)(p1 - p0));
	if (v != 0)
		s->stats.nonzero += p1 - p0;
	if (v >= s->threshold)
		s->stats.kept += p1 - p0;
}

static void sink_put(struct sink *s, uint64_t i, uint8_t v)
{
	if (s->kind == SINK_BYTES) {
		s->out[i] = v;
		return;
	}
	if ((i & 3) != 3)
		return;
	s->out[i / 4] = v >= s->threshold;
	s->stats.nonzero += v != 0;
	s->stats.kept += v >= s->threshold;
}

static seg_status truncated(seg_error *err, const struct bitin *b, uint64_t done, uint64_t count)
{
	return seg_fail(err, SEG_EDECODE, "rle ends at bit %llu inside a record, with %llu of %llu values decoded",
			(unsigned long long)b->end, (unsigned long long)done, (unsigned long long)count);
}

static seg_status word_too_big(seg_error *err, uint32_t v, uint64_t i)
{
	return seg_fail(err, SEG_EDECODE, "rle value %u at index %llu does not fit in a byte (the canvas is 8-bit)",
			v, (unsigned long long)i);
}

static seg_status decode(const uint8_t *data, size_t len, uint64_t count, const char *what, struct sink *s,
			 seg_error *err)
{
	struct bitin b = {data, LSB_HEADER_BITS, (uint64_t)len * 8};
	lsb_header hdr;
	uint64_t i = 0;
	seg_status st = lsb_read_header(data, len, &hdr, err);

	if (st != SEG_OK)
		return st;
	if (hdr.count != count) {
		if (what == NULL)
			return seg_fail(err, SEG_EINVAL, "rle header counts %u values but %llu were expected",
					hdr.count, (unsigned long long)count);
		if ((uint64_t)hdr.count * 4 == count)
			return seg_fail(err, SEG_EINVAL,
					"rle header counts %u values, one per pixel, but a brush stream holds the "
					"%s canvas as RGBA: %llu bytes",
					hdr.count, what, (unsigned long long)count);
		return seg_fail(err, SEG_EINVAL,
				"rle header counts %u values but the %s canvas has %llu RGBA bytes (width x height x 4)",
				hdr.count, what, (unsigned long long)count);
	}
	if (hdr.word_bits > LSB_MAX_WORD_BITS)
		return seg_fail(err, SEG_EINVAL, "rle header has %d-bit words; at most %d are read", hdr.word_bits,
				LSB_MAX_WORD_BITS);
	while (i < count) {
		uint32_t flag, t, n, v;
		uint64_t j;

		if (read_bits(&b, 1, &flag) != 0 || read_bits(&b, 2, &t) != 0 ||
		    read_bits(&b, hdr.run_bits[t], &n) != 0)
			return truncated(err, &b, i, count);
		j = i + 1 + n;
		if (j > count)
			return seg_fail(err, SEG_EDECODE, "rle run of %llu at index %llu goes past the %llu values",
					(unsigned long long)(j - i), (unsigned long long)i,
					(unsigned long long)count);
		if (flag) {
			if (read_bits(&b, hdr.word_bits, &v) != 0)
				return truncated(err, &b, i, count);
			if (v > 255)
				return word_too_big(err, v, i);
			sink_fill(s, i, j, (uint8_t)v);
			i = j;
		} else {
			for (; i < j; i++) {
				if (read_bits(&b, hdr.word_bits, &v) != 0)
					return truncated(err, &b, i, count);
				if (v > 255)
					return word_too_big(err, v, i);
				sink_put(s, i, (uint8_t)v);
			}
		}
	}
	if (b.end - b.pos >= 16)
		return seg_fail(err, SEG_EDECODE, "rle has %llu bits after its last record (padding is under 16)",
				(unsigned long long)(b.end - b.pos));
	return SEG_OK;
}

seg_status lsb_unpack(const uint8_t *data, size_t len, uint64_t count, uint8_t *out, seg_error *err)
{
	struct sink s = {SINK_BYTES, out, 0, {0, 0}};

	return decode(data, len, count, NULL, &s, err);
}

/* "20x15" into name; SEG_ETOOBIG when w*h*4 does not fit the 32-bit header count. */
static seg_status canvas(int w, int h, char *name, size_t size, uint64_t *count, seg_error *err)
{
	snprintf(name, size, "%dx%d", w, h);
	*count = (uint64_t)w * (uint64_t)h * 4;
	if (w < 1 || h < 1)
		return seg_fail(err, SEG_EINVAL, "canvas %s is empty", name);
	if (*count > UINT32_MAX)
		return seg_fail(err, SEG_ETOOBIG, "canvas %s has more RGBA bytes than a 32-bit count holds", name);
	return SEG_OK;
}

seg_status lsb_decode_rgba(const uint8_t *data, size_t len, int w, int h, uint8_t *rgba, seg_error *err)
{
	struct sink s = {SINK_BYTES, rgba, 0, {0, 0}};
	char name[32];
	uint64_t count;
	seg_status st = canvas(w, h, name, sizeof(name), &count, err);

	if (st != SEG_OK)
		return st;
	return decode(data, len, count, name, &s, err);
}

static seg_status check_threshold(int threshold, seg_error *err)
{
	if (threshold < 1 || threshold > 255)
		return seg_fail(err, SEG_EINVAL, "threshold %d is outside 1..255", threshold);
	return SEG_OK;
}

seg_status lsb_alpha_mask(const uint8_t *rgba, size_t npix, int threshold, uint8_t *mask, seg_error *err)
{
	seg_status st = check_threshold(threshold, err);

	if (st != SEG_OK)
		return st;
	for (size_t i = 0; i < npix; i++)
		mask[i] = rgba[4 * i + 3] >= threshold;
	return SEG_OK;
}

seg_status lsb_decode_mask(const uint8_t *data, size_t len, int w, int h, int threshold, uint8_t *mask,
			   lsb_stats *stats, seg_error *err)
{
	struct sink s = {SINK_MASK, mask, threshold, {0, 0}};
	char name[32];
	uint64_t count;
	seg_status st = check_threshold(threshold, err);

	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (st == SEG_OK)
		st = canvas(w, h, name, sizeof(name), &count, err);
	if (st == SEG_OK)
		st = decode(data, len, count, name, &s, err);
	if (st == SEG_OK && stats)
		*stats = s.stats;
	return st;
}

/* ---- writing ------------------------------------------------------------- */

struct bitout {
	buf *b;
	uint64_t acc; /* pending bits, right-aligned */
	int nacc;
	uint64_t bits; /* written so far, pending included */
	seg_status st;
};

static void put_bits(struct bitout *o, uint32_t v, int n)
{
	o->acc = o->acc << n | (v & ((UINT64_C(1) << n) - 1));
	o->nacc += n;
	o->bits += (uint64_t)n;
	while (o->nacc >= 8 && o->st == SEG_OK) {
		uint8_t byte = (uint8_t)(o->acc >> (o->nacc - 8));
		o->st = buf_append(o->b, &byte, 1);
		o->nacc -= 8;
	}
}

/* One run of n equal words, as encode_rle writes it (word size 8, sizes [3, 4, 8, 16]). */
static void put_run(struct bitout *o, uint8_t value, uint64_t n)
{
	if (n == 1) {
		put_bits(o, 0, 1);
		put_bits(o, 0, 2);
		put_bits(o, 0, 3);
	} else if (n <= 8) {
		put_bits(o, 1, 1);
		put_bits(o, 0, 2);
		put_bits(o, (uint32_t)(n - 1), 3);
	} else if (n <= 16) {
		put_bits(o, 1, 1);
		put_bits(o, 1, 2);
		put_bits(o, (uint32_t)(n - 1), 4);
	} else if (n <= 256) {
		put_bits(o, 1, 1);
		put_bits(o, 2, 2);
		put_bits(o, (uint32_t)(n - 1), 8);
	} else {
		while (n > 65536) {
			put_bits(o, 1, 1);
			put_bits(o, 3, 2);
			put_bits(o, 65535, 16);
			put_bits(o, value, 8);
			n -= 65536;
		}
		put_bits(o, 1, 1);
		put_bits(o, 3, 2);
		put_bits(o, (uint32_t)(n - 1), 16);
	}
	put_bits(o, value, 8);
}

static void put_header(struct bitout *o, uint64_t count)
{
	put_bits(o, (uint32_t)count, 32);
	put_bits(o, 8 - 1, 5);
	put_bits(o, 3 - 1, 4);
	put_bits(o, 4 - 1, 4);
	put_bits(o, 8 - 1, 4);
	put_bits(o, 16 - 1, 4);
}

static seg_status finish(struct bitout *o, seg_error *err)
{
	put_bits(o, 0, 8 - (int)(o->bits % 8));
	if (o->st == SEG_ETOOBIG)
		return seg_fail(err, o->st, "brush stream is over the output limit");
	if (o->st != SEG_OK)
		return seg_fail(err, o->st, "out of memory for a brush stream");
	return SEG_OK;
}

seg_status lsb_encode(const uint8_t *words, size_t count, buf *out, seg_error *err)
{
	struct bitout o = {out, 0, 0, 0, SEG_OK};
	size_t i = 0;

	if ((uint64_t)count > UINT32_MAX)
		return seg_fail(err, SEG_ETOOBIG, "%zu values do not fit a 32-bit count", count);
	put_header(&o, count);
	while (i < count && o.st == SEG_OK) {
		size_t j = i + 1;
		while (j < count && words[j] == words[i])
			j++;
		put_run(&o, words[i], j - i);
		i = j;
	}
	return finish(&o, err);
}

seg_status lsb_encode_alpha(const uint8_t *alpha, size_t npix, buf *out, seg_error *err)
{
	struct bitout o = {out, 0, 0, 0, SEG_OK};
	size_t i = 0;

	if ((uint64_t)npix * 4 > UINT32_MAX)
		return seg_fail(err, SEG_ETOOBIG, "%zu pixels do not fit a 32-bit count of RGBA bytes", npix);
	put_header(&o, (uint64_t)npix * 4);
	while (i < npix && o.st == SEG_OK) {
		size_t j = i + 1;
		while (j < npix && alpha[j] == alpha[i])
			j++;
		put_run(&o, alpha[i], (uint64_t)(j - i) * 4);
		i = j;
	}
	return finish(&o, err);
}
