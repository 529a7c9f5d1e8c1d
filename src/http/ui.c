/*
 * ui.c — serves the web page: GET / and GET /ui/{file}.
 *
 * The files of ui/ are compiled in by make (build/gen/ui_data.c): each
 * file's bytes, its gzip -9 form when that is smaller, and a strong ETag
 * from its SHA-256, computed once at build time. Nothing is read from
 * disk and nothing is compressed per request: an answer is a pointer to
 * static bytes (MHD_RESPMEM_PERSISTENT), so serving the page costs the
 * polling thread no more than /healthz.
 *
 * Every answer carries a strict Content-Security-Policy (UI_CSP): the
 * page loads scripts, styles and images from this origin alone and calls
 * only this origin's API, so it works offline and with CORS off. The
 * gzip and identity forms are two representations with two ETags
 * (RFC 9110 §8.8.3), and Vary: Accept-Encoding tells caches so; every
 * load revalidates (no-cache), which the ETag makes a 304 without a body.
 */
#include "http/ui.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const ui_asset *ui_find(const char *path)
{
	const char *name;

	if (path == NULL)
		return NULL;
	if (strcmp(path, "/") == 0)
		name = "index.html";
	else if (strncmp(path, "/ui/", 4) == 0)
		name = path + 4;
	else
		return NULL;
	for (size_t i = 0; i < ui_assets_count; i++)
		if (strcmp(ui_assets[i].name, name) == 0)
			return &ui_assets[i];
	return NULL;
}

const char *ui_content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".json", "application/json"},
		{".txt", "text/plain; charset=utf-8"},
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Skips optional whitespace (RFC 9110 OWS). */
static const char *ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int ui_accepts_gzip(const char *ae)
{
	int gzip = -1, star = -1; /* -1: not listed; else whether its q-value is above 0 */

	while (ae && *ae) {
		const char *end = strchr(ae, ',');
		size_t len = end ? (size_t)(end - ae) : strlen(ae);
		char el[128];

		if (len < sizeof(el)) {
			char *p, *param;
			size_t n;
			int ok = 1;

			memcpy(el, ae, len);
			el[len] = '\0';
			p = (char *)ows(el);
			n = strcspn(p, " \t;");
			/* Parameters after ';': only q matters, and q=0 (0.0, 0.000) refuses the coding. */
			for (param = strchr(p + n, ';'); param; param = strchr(param + 1, ';')) {
				const char *q = ows(param + 1);
				if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
					ok = strtod(q + 2, NULL) > 0;
			}
			if (n == 4 && strncasecmp(p, "gzip", 4) == 0)
				gzip = ok;
			else if (n == 1 && p[0] == '*')
				star = ok;
		}
		ae = end ? end + 1 : NULL;
	}
	return gzip >= 0 ? gzip : star > 0;
}

int ui_etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);

	if (inm == NULL)
		return 0;
	while (*inm) {
		const char *tok = ows(inm), *end;

		if (*tok == '*')
			return 1;
		if (strncmp(tok, "W/", 2) == 0)
			tok += 2;
		end = tok;
		if (*end == '"') {
			end = strchr(end + 1, '"');
			end = end ? end + 1 : tok + strlen(tok);
		}
		if ((size_t)(end - tok) == n && memcmp(tok, etag, n) == 0)
			return 1;
		end = strchr(end, ',');
		if (end == NULL)
			break;
		inm = end + 1;
	}
	return 0;
}

struct MHD_Response *ui_response(const ui_asset *a, const char *accept_encoding, const char *if_none_match,
				 int *status, size_t *bytes)
{
	int gz = a->gz != NULL && ui_accepts_gzip(accept_encoding);
	const char *etag = gz ? a->etag_gz : a->etag;
	int fresh = ui_etag_matches(if_none_match, etag);
	struct MHD_Response *resp;

	*status = fresh ? 304 : 200;
	*bytes = fresh ? 0 : gz ? a->gz_len : a->len;
	resp = MHD_create_response_from_buffer(*bytes, fresh ? (void *)"" : gz ? (void *)a->gz : (void *)a->data,
					       MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return NULL;
	if (!fresh) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ui_content_type(a->name));
		if (gz)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, "Content-Security-Policy", UI_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
	return resp;
}
