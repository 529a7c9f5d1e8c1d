/*
 * ui.h — the web page seglossd serves at GET / and /ui/{file}: the files
 * of ui/, compiled into the binary by make (build/gen/ui_data.c), each
 * with its gzip form and an ETag.
 */
#ifndef UI_H
#define UI_H

#include <stddef.h>

/* One file of the page, as the generated table holds it; every pointer is static. */
typedef struct ui_asset {
	const char *name;        /* "index.html", "app.js", ... (no '/') */
	const unsigned char *data;
	size_t len;
	const unsigned char *gz; /* gzip -9 of data, or NULL when that is not smaller */
	size_t gz_len;
	const char *etag;        /* "\"<16 hex digits of the file's SHA-256>\"" */
	const char *etag_gz;     /* the same with "-gz": a strong ETag per representation */
} ui_asset;

/* The generated table (build/gen/ui_data.c). */
extern const ui_asset ui_assets[];
extern const size_t ui_assets_count;

/*
 * The page's Content-Security-Policy: scripts, styles, images and API
 * calls from this origin only (images also from blob: URLs the page
 * makes), no inline script or style, no plugins, frames, forms or base
 * URL, and no DOM string sinks (Trusted Types).
 */
#define UI_CSP                                                                                                    \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "    \
	"manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "                   \
	"require-trusted-types-for 'script'; trusted-types 'none'"

/*
 * The asset a request path names: "/" is index.html, "/ui/NAME" is NAME.
 * Returns a static entry, or NULL when there is none. path borrowed.
 */
const ui_asset *ui_find(const char *path);

struct MHD_Response;

/*
 * The answer to GET or HEAD of asset a (borrowed): 200 with the file,
 * gzip-encoded when accept_encoding takes gzip and that form is smaller,
 * or 304 with no body when if_none_match matches that representation's
 * ETag; either way with the page's headers (Content-Security-Policy,
 * ETag, Vary: Accept-Encoding, Cache-Control: no-cache, nosniff, no
 * referrer). *status receives 200 or 304, *bytes the body's length.
 * Caller queues the response and destroys it; NULL when out of memory.
 */
struct MHD_Response *ui_response(const ui_asset *a, const char *accept_encoding, const char *if_none_match,
				 int *status, size_t *bytes);

/* The Content-Type of an asset by its name's extension (static string). */
const char *ui_content_type(const char *name);

/*
 * Whether an Accept-Encoding header (borrowed, may be NULL) takes gzip:
 * a "gzip" or "*" coding whose q-value is not 0 (RFC 9110 §12.5.3).
 */
int ui_accepts_gzip(const char *accept_encoding);

/*
 * Whether an If-None-Match header (borrowed, may be NULL) matches etag:
 * "*", or any listed tag equal to it by the weak comparison (W/ ignored).
 */
int ui_etag_matches(const char *if_none_match, const char *etag);

#endif
