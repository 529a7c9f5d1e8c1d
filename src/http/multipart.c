/*
 * multipart.c — a strict, allocation-free multipart/form-data splitter.
 *
 * The body is scanned for "--boundary" delimiters; each part's headers
 * (up to the blank line) are read for Content-Disposition's name and
 * filename, and the part's data runs to the CRLF before the next
 * delimiter. Everything is bounds-checked against the body length; part
 * data is never copied. Header lines are capped at 1 KiB each and 8 KiB
 * in total per part so a hostile body cannot make header scanning costly.
 */
#include "http/multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HEADER_LINE_MAX 1024
#define HEADERS_MAX 8192

seg_status mp_boundary(const char *ct, char *out, size_t cap, seg_error *err)
{
	const char *p = ct;
	size_t n = 0;

	/* Find "boundary=" as a parameter (case-insensitive). */
	for (;;) {
		p = strchr(p, ';');
		if (p == NULL)
			return seg_fail(err, SEG_EDECODE, "multipart: Content-Type has no boundary");
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary=", 9) == 0)
			break;
	}
	p += 9;
	if (*p == '"') {
		p++;
		while (p[n] && p[n] != '"')
			n++;
		if (p[n] != '"')
			return seg_fail(err, SEG_EDECODE, "multipart: unterminated quoted boundary");
	} else {
		while (p[n] && p[n] != ';' && p[n] != ' ' && p[n] != '\t')
			n++;
	}
	if (n == 0 || n > MP_BOUNDARY_MAX || n + 1 > cap)
		return seg_fail(err, SEG_EDECODE, "multipart: boundary must be 1 to %d characters", MP_BOUNDARY_MAX);
	memcpy(out, p, n);
	out[n] = '\0';
	return SEG_OK;
}

/* Finds needle (nlen bytes) in hay[0..hlen), or NULL. */
static const uint8_t *find(const uint8_t *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (nlen == 0 || hlen < nlen)
		return NULL;
	const uint8_t *end = hay + hlen - nlen + 1;
	while (hay < end) {
		const uint8_t *c = memchr(hay, (unsigned char)needle[0], (size_t)(end - hay));
		if (c == NULL)
			return NULL;
		if (memcmp(c, needle, nlen) == 0)
			return c;
		hay = c + 1;
	}
	return NULL;
}

/* Copies the value of param (e.g. "name") from a Content-Disposition line into out. */
static int disposition_param(const char *line, size_t len, const char *param, char *out, size_t cap)
{
	size_t plen = strlen(param);

	for (size_t i = 0; i + plen + 1 < len; i++) {
		/* The parameter must start after ';' or whitespace, so "filename" does not match "name". */
		if ((i == 0 || line[i - 1] == ';' || line[i - 1] == ' ' || line[i - 1] == '\t') &&
		    strncasecmp(line + i, param, plen) == 0 && line[i + plen] == '=') {
			size_t j = i + plen + 1, n = 0;
			int quoted = j < len && line[j] == '"';
			if (quoted)
				j++;
			while (j < len && (quoted ? line[j] != '"' : (line[j] != ';' && line[j] != ' '))) {
				if (n + 1 < cap)
					out[n++] = line[j];
				else
					return -1; /* too long */
				j++;
			}
			out[n] = '\0';
			return 1;
		}
	}
	return 0;
}

static seg_status parse_headers(const uint8_t *h, size_t len, mp_part *part, seg_error *err)
{
	size_t pos = 0;
	int have_disposition = 0;

	while (pos < len) {
		const uint8_t *eol = find(h + pos, len - pos, "\r\n", 2);
		size_t llen = eol ? (size_t)(eol - (h + pos)) : len - pos;
		if (llen > HEADER_LINE_MAX)
			return seg_fail(err, SEG_EDECODE, "multipart: part header line longer than %d bytes",
					HEADER_LINE_MAX);
		const char *line = (const char *)h + pos;
		if (llen >= 20 && strncasecmp(line, "Content-Disposition:", 20) == 0) {
			char tmp[8];
			int r = disposition_param(line + 20, llen - 20, "name", part->name, sizeof(part->name));
			if (r < 0)
				return seg_fail(err, SEG_EDECODE, "multipart: field name longer than %d bytes",
						MP_NAME_MAX - 1);
			if (r == 0)
				return seg_fail(err, SEG_EDECODE, "multipart: a part has no field name");
			part->has_filename = disposition_param(line + 20, llen - 20, "filename", tmp, sizeof(tmp)) != 0;
			have_disposition = 1;
		}
		pos += llen + 2;
	}
	if (!have_disposition)
		return seg_fail(err, SEG_EDECODE, "multipart: a part has no Content-Disposition header");
	return SEG_OK;
}

seg_status mp_parse(const uint8_t *body, size_t len, const char *boundary, mp_form *form, seg_error *err)
{
	char delim[80];
	size_t dlen;
	const uint8_t *p, *end = body + len;

	form->count = 0;
	/* RFC 2046: 1 to 70 characters; mp_boundary enforces it, this keeps delim whole for any caller. */
	if (boundary[0] == '\0' || strlen(boundary) > MP_BOUNDARY_MAX)
		return seg_fail(err, SEG_EDECODE, "multipart: boundary must be 1 to %d characters", MP_BOUNDARY_MAX);
	dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	/* The first delimiter may be preceded by a preamble; later ones follow a CRLF. */
	p = find(body, len, delim, dlen);
	if (p == NULL)
		return seg_fail(err, SEG_EDECODE, "multipart: body does not contain the boundary");
	for (;;) {
		p += dlen;
		if ((size_t)(end - p) >= 2 && p[0] == '-' && p[1] == '-')
			return form->count > 0 ? SEG_OK : seg_fail(err, SEG_EDECODE, "multipart: no parts");
		/* Transport padding, then CRLF. */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) < 2 || p[0] != '\r' || p[1] != '\n')
			return seg_fail(err, SEG_EDECODE, "multipart: malformed delimiter line");
		p += 2;
		const uint8_t *hend = find(p, (size_t)(end - p) < HEADERS_MAX + 4 ? (size_t)(end - p) : HEADERS_MAX + 4,
					   "\r\n\r\n", 4);
		if (hend == NULL)
			return seg_fail(err, SEG_EDECODE, "multipart: part headers are unterminated or longer than %d bytes",
					HEADERS_MAX);
		if (form->count == MP_MAX_PARTS)
			return seg_fail(err, SEG_ETOOBIG, "multipart: more than %d parts", MP_MAX_PARTS);
		mp_part *part = &form->parts[form->count];
		memset(part, 0, sizeof(*part));
		seg_status st = parse_headers(p, (size_t)(hend - p) + 2, part, err);
		if (st != SEG_OK)
			return st;
		const uint8_t *data = hend + 4;
		/* The part ends at CRLF + delimiter. */
		char next[84];
		size_t nlen = (size_t)snprintf(next, sizeof(next), "\r\n%s", delim);
		const uint8_t *stop = find(data, (size_t)(end - data), next, nlen);
		if (stop == NULL)
			return seg_fail(err, SEG_EDECODE, "multipart: no closing boundary");
		part->data = data;
		part->len = (size_t)(stop - data);
		form->count++;
		p = stop + 2;
	}
}

const mp_part *mp_find(const mp_form *form, const char *name)
{
	for (int i = 0; i < form->count; i++)
		if (strcmp(form->parts[i].name, name) == 0)
			return &form->parts[i];
	return NULL;
}
