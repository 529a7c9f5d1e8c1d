/*
 * fuzz_b64.c — libFuzzer target: base64 decoding and encoding.
 *
 * The input is decoded as base64 text into a buffer of exactly
 * b64_decoded_max bytes (so the sanitizer sees any write past it), then
 * again in place over a copy: both must give the same status, length and
 * bytes, since in-place decoding is how requests decode their masks. A
 * failure must name an offset inside the input. Decoded bytes must encode
 * and decode back to themselves.
 *
 * The input is also taken as binary data: its encoding must decode back
 * to it exactly, and so must the same text as clients send it, with MIME
 * line breaks, without padding, and behind a data: URL prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/b64.h"
#include "fuzzutil.h"

#define INPUT_CAP (1u << 18)

/* Decodes text out of place and in place; checks they agree and returns the bytes (caller frees). */
static uint8_t *decode_twice(const char *text, size_t len, seg_status *status, size_t *outlen)
{
	size_t cap = b64_decoded_max(len);
	uint8_t *out = malloc(cap); /* exactly: a write past the bound is the sanitizer's to see */
	uint8_t *copy = malloc(len);
	size_t n = 1;
	size_t m = 1;
	seg_error e;
	seg_status st;
	seg_status st2;

	FZ_ASSERT((out != NULL || cap == 0) && (copy != NULL || len == 0));
	FZ_ASSERT(cap <= len);
	seg_error_clear(&e);
	st = b64_decode(text, len, out, &n, &e);
	fz_check_error(st, &e);
	FZ_ASSERT(st == SEG_OK || st == SEG_EDECODE);
	if (st == SEG_OK) {
		FZ_ASSERT(n <= cap);
	} else {
		size_t at = len;

		FZ_ASSERT(n == 0);
		FZ_ASSERT(sscanf(e.msg, "invalid base64 at offset %zu", &at) == 1);
		FZ_ASSERT(at < len);
	}

	if (len > 0)
		memcpy(copy, text, len);
	seg_error_clear(&e);
	st2 = b64_decode((const char *)copy, len, copy, &m, &e);
	fz_check_error(st2, &e);
	FZ_ASSERT(st2 == st && m == n);
	FZ_ASSERT(n == 0 || memcmp(copy, out, n) == 0);
	free(copy);
	*status = st;
	*outlen = n;
	return out;
}

/* Encodes n bytes into a new NUL-terminated string of exactly b64_encoded_len(n) characters. */
static char *encode(const uint8_t *in, size_t n, size_t *len)
{
	size_t want = b64_encoded_len(n);
	char *text = malloc(want + 1);
	size_t got;

	FZ_ASSERT(text != NULL);
	got = b64_encode(in, n, text);
	FZ_ASSERT(got == want && text[got] == '\0');
	FZ_ASSERT(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == got);
	*len = got;
	return text;
}

/* Checks that text decodes to exactly the n bytes of want. */
static void expect_decodes_to(const char *text, size_t len, const uint8_t *want, size_t n)
{
	seg_status st;
	size_t got = 0;
	uint8_t *out = decode_twice(text, len, &st, &got);

	FZ_ASSERT(st == SEG_OK);
	FZ_ASSERT(got == n);
	FZ_ASSERT(n == 0 || memcmp(out, want, n) == 0);
	free(out);
}

/* The encoding of data decodes back to it, plain and in the forms clients send. */
static void round_trip(const uint8_t *data, size_t size)
{
	size_t len;
	char *text = encode(data, size, &len);
	char *alt = malloc(len + len / 76 * 2 + 64);
	size_t k = 0;

	FZ_ASSERT(alt != NULL);
	expect_decodes_to(text, len, data, size);

	/* MIME: CRLF every 76 characters. */
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && i % 76 == 0) {
			alt[k++] = '\r';
			alt[k++] = '\n';
		}
		alt[k++] = text[i];
	}
	expect_decodes_to(alt, k, data, size);

	/* Padding dropped. */
	k = len;
	while (k > 0 && text[k - 1] == '=')
		k--;
	expect_decodes_to(text, k, data, size);

	/* A data: URL. */
	k = (size_t)snprintf(alt, 64, "data:application/octet-stream;base64,");
	memcpy(alt + k, text, len);
	expect_decodes_to(alt, k + len, data, size);

	free(alt);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	seg_status st;
	size_t n = 0;
	uint8_t *out;

	if (size > INPUT_CAP)
		return 0;
	out = decode_twice((const char *)data, size, &st, &n);
	if (st == SEG_OK) {
		size_t len;
		char *text = encode(out, n, &len);

		expect_decodes_to(text, len, out, n);
		free(text);
	}
	free(out);
	round_trip(data, size);
	return 0;
}
