/*
 * b64.c — base64 (RFC 4648 §4, standard alphabet, '=' padding).
 *
 * Decoding is table-driven: one 256-entry table maps each byte to its
 * sextet (0..63) or to a class with a high bit set (whitespace, '=',
 * invalid), so a single OR over a group tells whether the group is plain
 * alphabet. The fast path takes 8 characters at a time (6 bytes out, one
 * 64-bit store) while there is no whitespace, padding or stray byte; the
 * careful path takes one character at a time through a small state
 * machine (sextets in the current group, padding seen) and hands back to
 * the fast path at the next group boundary. MIME-style line breaks thus
 * cost one slow step per line.
 *
 * In-place decoding works because output never overtakes input: after
 * reading i characters at most 3i/4 bytes were written, and the wide
 * store of the fast path covers out[o..o+8) with o <= i, i.e. only bytes
 * already read. Offsets in error messages count from the start of the
 * caller's input, data: prefix included.
 */
#include "codec/b64.h"

#include <string.h>

#define XX 0x80 /* not base64 */
#define WS 0x40 /* ASCII whitespace: skipped */
#define PD 0x41 /* '=' */

static const uint8_t b64_dec[256] = {
	XX, XX, XX, XX, XX, XX, XX, XX, XX, WS, WS, WS, WS, WS, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	WS, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, 62, XX, XX, XX, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, XX, XX, XX, PD, XX, XX,
	XX, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, XX, XX, XX, XX, XX,
	XX, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
};

static const char b64_enc[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static const char data_scheme[] = "data:";
static const char data_marker[] = ";base64,";

size_t b64_decoded_max(size_t len)
{
	return len / 4 * 3 + len % 4 * 3 / 4;
}

size_t b64_encoded_len(size_t n)
{
	/* Saturate below SIZE_MAX so that the caller's "+ 1" cannot wrap to 0. */
	if (n / 3 >= (SIZE_MAX - 1) / 4 - 1)
		return SIZE_MAX - 1;
	return (n / 3 + (n % 3 != 0)) * 4;
}

/* Length of a leading "data:...;base64," prefix, or 0 when there is none. */
static size_t data_prefix_len(const char *in, size_t len)
{
	size_t mlen = sizeof(data_marker) - 1;
	size_t i;

	if (len < sizeof(data_scheme) - 1 || memcmp(in, data_scheme, sizeof(data_scheme) - 1) != 0)
		return 0;
	for (i = sizeof(data_scheme) - 1; len - i >= mlen; i++) {
		if (in[i] == ';' && memcmp(in + i, data_marker, mlen) == 0)
			return i + mlen;
	}
	return 0; /* no marker: decode as is, which fails at the ':' */
}

/* Stores the low 48 bits of x big-endian at p (writes 8 bytes: p[6], p[7] are scratch). */
static inline void store48(uint8_t *p, uint64_t x)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	x = __builtin_bswap64(x << 16);
	memcpy(p, &x, 8);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x <<= 16;
	memcpy(p, &x, 8);
#else
	for (int k = 0; k < 6; k++)
		p[k] = (uint8_t)(x >> (40 - 8 * k));
#endif
}

/*
 * Decodes whole groups of plain alphabet from s[*pi..len) into out[o..cap)
 * and returns the new o; stops at the first group holding anything else.
 */
static size_t decode_fast(const uint8_t *s, size_t *pi, size_t len, uint8_t *out, size_t o,
			  size_t cap)
{
	const uint8_t *d = b64_dec;
	size_t i = *pi;

	while (len - i >= 8 && cap - o >= 8) {
		uint64_t a = d[s[i]], b = d[s[i + 1]], c = d[s[i + 2]], e = d[s[i + 3]];
		uint64_t f = d[s[i + 4]], g = d[s[i + 5]], h = d[s[i + 6]], k = d[s[i + 7]];

		if (((a | b | c | e | f | g | h | k) & 0xC0) != 0)
			break;
		store48(out + o, a << 42 | b << 36 | c << 30 | e << 24 | f << 18 | g << 12 | h << 6 | k);
		i += 8;
		o += 6;
	}
	while (len - i >= 4) {
		uint32_t a = d[s[i]], b = d[s[i + 1]], c = d[s[i + 2]], e = d[s[i + 3]];
		uint32_t x;

		if (((a | b | c | e) & 0xC0) != 0)
			break;
		x = a << 18 | b << 12 | c << 6 | e;
		out[o] = (uint8_t)(x >> 16);
		out[o + 1] = (uint8_t)(x >> 8);
		out[o + 2] = (uint8_t)x;
		i += 4;
		o += 3;
	}
	*pi = i;
	return o;
}

seg_status b64_decode(const char *in, size_t len, uint8_t *out, size_t *outlen, seg_error *err)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t cap = b64_decoded_max(len);
	size_t i;
	size_t o = 0;
	size_t last = 0;    /* offset of the last sextet read */
	size_t pad_at = 0;  /* offset of a lone '=' still waiting for its pair */
	uint32_t acc = 0;   /* sextets of the current group */
	unsigned q = 0;     /* how many */
	int pad = 0;        /* 0: none yet, 1: "xx=" needs one more '=', 2: done */
	size_t bad;

	*outlen = 0;
	i = data_prefix_len(in, len);
	while (i < len) {
		uint8_t v;

		if (q == 0 && pad == 0) {
			o = decode_fast(s, &i, len, out, o, cap);
			if (i >= len)
				break;
		}
		v = b64_dec[s[i]];
		if (v < 64) {
			if (pad != 0) {
				bad = i; /* data after the padding */
				goto fail;
			}
			acc = acc << 6 | v;
			last = i;
			if (++q == 4) {
				out[o] = (uint8_t)(acc >> 16);
				out[o + 1] = (uint8_t)(acc >> 8);
				out[o + 2] = (uint8_t)acc;
				o += 3;
				q = 0;
				acc = 0;
			}
		} else if (v == PD) {
			if (pad == 1) {
				pad = 2;
			} else if (pad == 2 || q < 2) {
				bad = i; /* a third '=', or '=' where a sextet belongs */
				goto fail;
			} else if (q == 2) {
				if ((acc & 0xF) != 0) {
					bad = last; /* bits set that the padding drops */
					goto fail;
				}
				out[o++] = (uint8_t)(acc >> 4);
				pad = 1;
				pad_at = i;
				q = 0;
			} else {
				if ((acc & 0x3) != 0) {
					bad = last;
					goto fail;
				}
				out[o] = (uint8_t)(acc >> 10);
				out[o + 1] = (uint8_t)(acc >> 2);
				o += 2;
				pad = 2;
				q = 0;
			}
		} else if (v != WS) {
			bad = i;
			goto fail;
		}
		i++;
	}

	if (pad == 1) {
		bad = pad_at; /* "xx=" without its second '=' */
		goto fail;
	}
	if (q == 1) {
		bad = last; /* a dangling sextet cannot make a byte */
		goto fail;
	}
	if (q == 2) {
		if ((acc & 0xF) != 0) {
			bad = last;
			goto fail;
		}
		out[o++] = (uint8_t)(acc >> 4);
	} else if (q == 3) {
		if ((acc & 0x3) != 0) {
			bad = last;
			goto fail;
		}
		out[o] = (uint8_t)(acc >> 10);
		out[o + 1] = (uint8_t)(acc >> 2);
		o += 2;
	}
	*outlen = o;
	return SEG_OK;

fail:
	return seg_fail(err, SEG_EDECODE, "invalid base64 at offset %zu", bad);
}

size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i = 0;
	size_t o = 0;

	for (; n - i >= 3; i += 3) {
		uint32_t x = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o] = b64_enc[x >> 18];
		out[o + 1] = b64_enc[x >> 12 & 63];
		out[o + 2] = b64_enc[x >> 6 & 63];
		out[o + 3] = b64_enc[x & 63];
		o += 4;
	}
	if (n - i == 1) {
		uint32_t x = (uint32_t)in[i] << 16;

		out[o] = b64_enc[x >> 18];
		out[o + 1] = b64_enc[x >> 12 & 63];
		out[o + 2] = '=';
		out[o + 3] = '=';
		o += 4;
	} else if (n - i == 2) {
		uint32_t x = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o] = b64_enc[x >> 18];
		out[o + 1] = b64_enc[x >> 12 & 63];
		out[o + 2] = b64_enc[x >> 6 & 63];
		out[o + 3] = '=';
		o += 4;
	}
	out[o] = '\0';
	return o;
}
