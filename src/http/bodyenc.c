/*
 * bodyenc.c — gzip (zlib's streaming inflate) and zstd (libzstd's
 * streaming decompression) for request bodies.
 *
 * A gzip body of one member is first tried with libdeflate in one call,
 * into a buffer the size its trailer announces (if that is within the
 * cap); anything that call does not take whole goes the streaming way.
 * Both streaming decoders write into one buffer that grows by doubling, from the
 * size the stream announces when it announces one (gzip's last ISIZE,
 * zstd's frame content size; only ever a hint, held to the cap), and
 * never past the cap. Once the buffer holds cap bytes, the decoder is
 * given one byte of scratch: if it writes it, the body inflates past the
 * cap and is refused then, without inflating further. zstd's window (the
 * memory its decoder allocates from the frame header) is held to the cap,
 * or to 8 MiB when the cap is smaller. Concatenated gzip members and zstd frames are one body, as the
 * RFCs say; anything after the last one that is not another is an error.
 */
#include "http/bodyenc.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

seg_status bodyenc_parse(const char *header, bodyenc *out, seg_error *err)
{
	size_t n, start;

	*out = BODYENC_IDENTITY;
	if (header == NULL)
		return SEG_OK;
	start = strspn(header, " \t");
	n = strlen(header + start);
	while (n > 0 && (header[start + n - 1] == ' ' || header[start + n - 1] == '\t'))
		n--;
	const char *h = header + start;
	if (n == 0 || (n == 8 && strncasecmp(h, "identity", 8) == 0))
		return SEG_OK;
	if ((n == 4 && strncasecmp(h, "gzip", 4) == 0) || (n == 6 && strncasecmp(h, "x-gzip", 6) == 0)) {
		*out = BODYENC_GZIP;
		return SEG_OK;
	}
	if (n == 4 && strncasecmp(h, "zstd", 4) == 0) {
		*out = BODYENC_ZSTD;
		return SEG_OK;
	}
	return seg_fail(err, SEG_EUNSUPPORTED, "unsupported Content-Encoding '%.*s': send the body as %s", (int)(n < 60 ? n : 60),
			h, BODYENC_NAMES);
}

const char *bodyenc_name(bodyenc e)
{
	return e == BODYENC_GZIP ? "gzip" : e == BODYENC_ZSTD ? "zstd" : "identity";
}

/*
 * Room for more output at out->data + out->len: doubling from 64 KiB (or
 * from what is there), never past cap. 0 when out already holds cap
 * bytes; (size_t)-1 when out of memory.
 */
static size_t room(buf *out, size_t cap)
{
	size_t want = out->len < ((size_t)64 << 10) ? (size_t)64 << 10 : out->len;

	if (out->len >= cap)
		return 0;
	if (want > cap - out->len)
		want = cap - out->len;
	if (out->cap > out->len + 1) /* what a hint reserved */
		return out->cap - 1 - out->len < want ? out->cap - 1 - out->len : want;
	if (buf_reserve(out, want) != SEG_OK)
		return (size_t)-1;
	return want;
}

/* A size hint: reserve min(n, cap) bytes up front. */
static void reserve_hint(buf *out, uint64_t n, size_t cap)
{
	if (n > 0)
		buf_reserve(out, n < cap ? (size_t)n : cap);
}

static seg_status too_big(bodyenc e, size_t cap, seg_error *err)
{
	return seg_fail(err, SEG_ETOOBIG, "the %s body inflates past the limit of %zu bytes", bodyenc_name(e), cap);
}

/*
 * One gzip member whose trailer's size (ISIZE, the last four bytes) is
 * its true size, inflated by libdeflate in one call into a buffer of that
 * size: two to three times zlib's speed. Returns 1 with the body in out,
 * -1 when it is over cap (413), and 0 when the body is anything else (more
 * members, an ISIZE that lies, corrupt data): the streaming path then
 * decides, from the start.
 */
static int inflate_gzip_whole(const uint8_t *in, size_t len, size_t cap, buf *out)
{
	struct libdeflate_decompressor *d;
	size_t in_used = 0, made = 0;
	int ok = 0;

	if (len < 18)
		return 0;
	const uint8_t *t = in + len - 4;
	size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
	if (isize > cap)
		return 0; /* the streaming path refuses it as it inflates, or finds the trailer wrong */
	if (buf_reserve(out, isize) != SEG_OK)
		return 0;
	d = libdeflate_alloc_decompressor();
	if (d == NULL)
		return 0;
	enum libdeflate_result r = libdeflate_gzip_decompress_ex(d, in, len, out->data, isize, &in_used, &made);
	libdeflate_free_decompressor(d);
	if (r == LIBDEFLATE_SUCCESS && in_used == len && made == isize) {
		out->len = made;
		out->data[made] = '\0';
		ok = 1;
	}
	return ok;
}

static seg_status inflate_gzip(const uint8_t *in, size_t len, size_t cap, buf *out, seg_error *err)
{
	z_stream zs;
	uint8_t scratch;
	size_t used = 0; /* input bytes handed to zlib */
	seg_status st = SEG_OK;
	int ret;

	memset(&zs, 0, sizeof(zs));
	/* 16 + MAX_WBITS: a gzip wrapper only (not zlib, not raw deflate). */
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return seg_fail(err, SEG_ENOMEM, "gzip: out of memory");
	if (len >= 18) {
		const uint8_t *t = in + len - 4;
		reserve_hint(out, (uint64_t)t[0] | (uint64_t)t[1] << 8 | (uint64_t)t[2] << 16 | (uint64_t)t[3] << 24, cap);
	}
	for (;;) {
		if (zs.avail_in == 0 && used < len) {
			size_t n = len - used < UINT_MAX ? len - used : UINT_MAX;
			zs.next_in = (Bytef *)(uintptr_t)(in + used);
			zs.avail_in = (uInt)n;
			used += n;
		}
		size_t r = room(out, cap);
		if (r == (size_t)-1) {
			st = seg_fail(err, SEG_ENOMEM, "gzip: out of memory for a %zu-byte body", out->len);
			break;
		}
		uInt give = r == 0 ? 1 : (uInt)(r < UINT_MAX ? r : UINT_MAX);
		zs.next_out = r == 0 ? &scratch : out->data + out->len;
		zs.avail_out = give;
		ret = inflate(&zs, Z_NO_FLUSH);
		size_t made = give - zs.avail_out;
		if (r == 0 && made > 0) {
			st = too_big(BODYENC_GZIP, cap, err);
			break;
		}
		out->len += made;
		size_t at = used - zs.avail_in; /* offset of the next input byte */
		if (ret == Z_STREAM_END) {
			if (at == len)
				break;
			/* Another member must follow, or the body is not gzip to its end. */
			if (len - at < 2 || in[at] != 0x1f || in[at + 1] != 0x8b) {
				st = seg_fail(err, SEG_EDECODE, "gzip: %zu bytes after the end of the stream, at byte %zu", len - at,
					      at);
				break;
			}
			inflateReset(&zs);
			continue;
		}
		if (ret == Z_MEM_ERROR) {
			st = seg_fail(err, SEG_ENOMEM, "gzip: out of memory");
			break;
		}
		if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT || ret == Z_STREAM_ERROR) {
			st = seg_fail(err, SEG_EDECODE, "gzip: invalid data at byte %zu (%s)", at, zs.msg ? zs.msg : "corrupt");
			break;
		}
		/* Z_OK or Z_BUF_ERROR: with all input given and output left unused, the stream is cut short. */
		if (at == len && zs.avail_out > 0) {
			st = seg_fail(err, SEG_EDECODE, "gzip: the stream ends early, after %zu bytes", len);
			break;
		}
	}
	inflateEnd(&zs);
	return st;
}

/*
 * The largest window a frame may ask for: the cap rounded up to a power
 * of two, or 8 MiB (2^23, the window zstd's own levels 1 to 9 use when
 * they do not know the size) when that is more, so that a small body
 * compressed as a stream still decodes under a small cap.
 */
static int window_log(size_t n)
{
	int lg = 23;

	while (lg < 30 && ((size_t)1 << lg) < n)
		lg++;
	return lg;
}

static seg_status inflate_zstd(const uint8_t *in, size_t len, size_t cap, buf *out, seg_error *err)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer ib = {in, len, 0};
	uint8_t scratch;
	seg_status st = SEG_OK;

	if (d == NULL)
		return seg_fail(err, SEG_ENOMEM, "zstd: out of memory");
	/* The decoder allocates the frame's window: no more than the body may hold (or 8 MiB). */
	ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, window_log(cap));
	unsigned long long announced = ZSTD_getFrameContentSize(in, len);
	if (announced != ZSTD_CONTENTSIZE_UNKNOWN && announced != ZSTD_CONTENTSIZE_ERROR) {
		if (announced > cap) {
			st = too_big(BODYENC_ZSTD, cap, err);
			goto out;
		}
		reserve_hint(out, announced, cap);
	}
	for (;;) {
		size_t r = room(out, cap);
		if (r == (size_t)-1) {
			st = seg_fail(err, SEG_ENOMEM, "zstd: out of memory for a %zu-byte body", out->len);
			break;
		}
		ZSTD_outBuffer ob = {r == 0 ? &scratch : out->data + out->len, r == 0 ? 1 : r, 0};
		size_t before = ib.pos;
		size_t ret = ZSTD_decompressStream(d, &ob, &ib);
		if (ZSTD_isError(ret)) {
			if (ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge)
				st = seg_fail(err, SEG_ETOOBIG, "zstd: the frame's window is larger than the limit of %zu bytes", cap);
			else
				st = seg_fail(err, SEG_EDECODE, "zstd: %s, at byte %zu", ZSTD_getErrorName(ret), ib.pos);
			break;
		}
		if (r == 0 && ob.pos > 0) {
			st = too_big(BODYENC_ZSTD, cap, err);
			break;
		}
		if (ob.pos == 0 && ib.pos == before && ib.pos < ib.size) {
			st = seg_fail(err, SEG_EDECODE, "zstd: no progress at byte %zu", ib.pos);
			break;
		}
		out->len += ob.pos;
		/* 0: a frame is decoded and flushed; done when no input is left (else another frame follows). */
		if (ret == 0 && ib.pos == ib.size)
			break;
		if (ib.pos == ib.size && ob.pos < ob.size) {
			/* All input read, room to spare, and the frame not done: cut short. */
			st = seg_fail(err, SEG_EDECODE, "zstd: the stream ends early, after %zu bytes", len);
			break;
		}
	}
out:
	ZSTD_freeDCtx(d);
	return st;
}

seg_status bodyenc_decode(bodyenc e, const uint8_t *in, size_t len, size_t cap, buf *out, seg_error *err)
{
	seg_status st;

	if (len == 0)
		st = seg_fail(err, SEG_EDECODE, "%s: the body is empty", bodyenc_name(e));
	else if (e == BODYENC_GZIP)
		st = inflate_gzip_whole(in, len, cap, out) ? SEG_OK : inflate_gzip(in, len, cap, out, err);
	else if (e == BODYENC_ZSTD)
		st = inflate_zstd(in, len, cap, out, err);
	else if (len > cap)
		st = seg_fail(err, SEG_ETOOBIG, "request body of %zu bytes is over the limit of %zu bytes", len, cap);
	else
		st = buf_append(out, in, len) == SEG_OK ? SEG_OK : seg_fail(err, SEG_ENOMEM, "out of memory");
	if (st != SEG_OK)
		buf_release(out);
	return st;
}
