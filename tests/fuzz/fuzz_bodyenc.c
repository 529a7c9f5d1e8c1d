/*
 * fuzz_bodyenc.c — libFuzzer target: compressed request bodies (gzip, zstd).
 *
 * The first byte picks the coding and the cap; the rest is inflated as
 * it comes (any bytes: truncated streams, bad checksums, bombs, trailing
 * garbage). It must succeed within the cap or fail with a 413 or a 400
 * and a message, leaving nothing allocated. The rest is also compressed
 * (as one or two gzip members, or zstd frames) and must inflate back to
 * itself exactly, and be refused as too big under a cap one byte short.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "codec/buf.h"
#include "fuzzutil.h"
#include "http/bodyenc.h"

#define INPUT_CAP (1u << 18)

/* The coding's output for data (caller frees *out), as gzip members or zstd frames, split at half when two. */
static size_t compress_with(bodyenc e, const uint8_t *data, size_t n, int two, int level, uint8_t **out)
{
	size_t parts = two && n > 1 ? 2 : 1, total = 0, bound = 64;
	size_t cut[3] = {0, parts == 2 ? n / 2 : n, n};

	for (size_t k = 0; k < parts; k++)
		bound += e == BODYENC_ZSTD ? ZSTD_compressBound(cut[k + 1] - cut[k]) : compressBound((uLong)(cut[k + 1] - cut[k])) + 32;
	*out = malloc(bound);
	FZ_ASSERT(*out != NULL);
	for (size_t k = 0; k < parts; k++) {
		const uint8_t *src = data + cut[k];
		size_t len = cut[k + 1] - cut[k];
		if (e == BODYENC_ZSTD) {
			size_t r = ZSTD_compress(*out + total, bound - total, src, len, level % 6);
			FZ_ASSERT(!ZSTD_isError(r));
			total += r;
			continue;
		}
		z_stream zs;
		memset(&zs, 0, sizeof(zs));
		FZ_ASSERT(deflateInit2(&zs, level % 10, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
		zs.next_in = (Bytef *)(uintptr_t)src;
		zs.avail_in = (uInt)len;
		zs.next_out = *out + total;
		zs.avail_out = (uInt)(bound - total);
		FZ_ASSERT(deflate(&zs, Z_FINISH) == Z_STREAM_END);
		total += zs.total_out;
		deflateEnd(&zs);
	}
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	seg_error e;
	seg_status st;
	buf out;

	if (size < 1 || size > INPUT_CAP)
		return 0;
	bodyenc enc = data[0] % 3 == 0 ? BODYENC_GZIP : data[0] % 3 == 1 ? BODYENC_ZSTD : BODYENC_IDENTITY;
	size_t cap = (size_t)1 << (8 + (data[0] >> 4)); /* 256 B to 8 MiB */
	const uint8_t *rest = data + 1;
	size_t n = size - 1;

	/* As it comes. */
	buf_init(&out, 0);
	seg_error_clear(&e);
	st = bodyenc_decode(enc, rest, n, cap, &out, &e);
	fz_check_error(st, &e);
	FZ_ASSERT(st == SEG_OK || st == SEG_ETOOBIG || st == SEG_EDECODE);
	if (st == SEG_OK)
		FZ_ASSERT(out.len <= cap && (n > 0));
	else
		FZ_ASSERT(out.data == NULL && out.len == 0);
	buf_release(&out);

	/* Compressed, then inflated back. */
	if (enc == BODYENC_IDENTITY || n == 0)
		return 0;
	uint8_t *packed = NULL;
	size_t plen = compress_with(enc, rest, n, data[0] & 8, data[0] >> 3, &packed);
	buf_init(&out, 0);
	seg_error_clear(&e);
	st = bodyenc_decode(enc, packed, plen, n, &out, &e);
	FZ_ASSERT(st == SEG_OK);
	FZ_ASSERT(out.len == n && memcmp(out.data, rest, n) == 0);
	buf_release(&out);
	seg_error_clear(&e);
	st = bodyenc_decode(enc, packed, plen, n - 1, &out, &e);
	FZ_ASSERT(st == SEG_ETOOBIG);
	FZ_ASSERT(out.data == NULL);
	/* Cut short by one byte: never accepted as the whole body. */
	seg_error_clear(&e);
	st = bodyenc_decode(enc, packed, plen - 1, n, &out, &e);
	FZ_ASSERT(st == SEG_EDECODE || (st == SEG_OK && out.len < n));
	buf_release(&out);
	free(packed);
	return 0;
}
