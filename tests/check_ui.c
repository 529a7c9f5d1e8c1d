/*
 * check_ui.c — the web page compiled into seglossd (src/http/ui.c).
 *
 * The generated table: every file of ui/ is there, its gzip form inflates
 * back to it, its ETag is its SHA-256 prefix, every file the page links
 * or imports is in the table, and no file names another origin. The
 * serving: GET / and /ui/{file} over a real socket with the page's
 * headers (CSP, ETag, Vary), gzip only when asked, 304 on a matching
 * ETag, HEAD, 404s, the page open while /v1 needs a key, and --ui off.
 * The header parsers: Accept-Encoding q-values, If-None-Match lists.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cJSON.h>

#include "http/http.h"
#include "http/ui.h"
#include "httpclient.h"
#include "testutil.h"

static http_server *srv;
static int port;

static void start(int ui, const char *key)
{
	http_config cfg;
	seg_error err = {0};

	http_config_default(&cfg);
	cfg.bind = "127.0.0.1";
	cfg.port = 0;
	cfg.workers = 1;
	cfg.db = ":memory:";
	cfg.ui = ui;
	cfg.api_key = key;
	srv = http_start(&cfg, &err);
	ck_assert_msg(srv != NULL, "%s", err.msg);
	port = http_port(srv);
}

static void stop(void)
{
	ck_assert_int_eq(http_drain(srv, 0, 10), 0);
	http_free(srv);
	srv = NULL;
}

static const ui_asset *asset(const char *name)
{
	for (size_t i = 0; i < ui_assets_count; i++)
		if (strcmp(ui_assets[i].name, name) == 0)
			return &ui_assets[i];
	return NULL;
}

/* Inflates a gzip member; returns the length, or -1. */
static long gunzip(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
	z_stream z = {0};
	long len = -1;

	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (inflate(&z, Z_FINISH) == Z_STREAM_END)
		len = (long)z.total_out;
	inflateEnd(&z);
	return len;
}

static void header_is(const hc_response *r, const char *name, const char *want)
{
	char got[1024];
	ck_assert_msg(hc_header(r, name, got, sizeof(got)) == 0, "no %s header", name);
	ck_assert_str_eq(got, want);
}

/* ---- the generated table ------------------------------------------------------- */

START_TEST(test_table)
{
	static const char *const needed[] = {"index.html", "app.js", "app.css", "lib.js", "evaluate.js", "viewer.js",
					     "runs.js", "jobs.js", "npy.js", "icon.svg"};
	size_t total = 0;

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		ck_assert_msg(asset(needed[i]) != NULL, "ui/%s is not compiled in", needed[i]);
	for (size_t i = 0; i < ui_assets_count; i++) {
		const ui_asset *a = &ui_assets[i];
		char path[128];
		size_t len;
		uint8_t *file;

		total += a->len;
		ck_assert_ptr_null(strchr(a->name, '/'));
		/* The bytes are the file's. */
		snprintf(path, sizeof(path), "ui/%s", a->name);
		file = tu_read_file(path, &len);
		ck_assert_msg(file != NULL && len == a->len && memcmp(file, a->data, len) == 0, "%s differs from the file",
			      path);
		free(file);
		/* The ETag: 16 hex digits in quotes, and the gzip form's with -gz. */
		ck_assert_uint_eq(strlen(a->etag), 18);
		ck_assert_int_eq(a->etag[0], '"');
		ck_assert_uint_eq(strspn(a->etag + 1, "0123456789abcdef"), 16);
		ck_assert_int_eq(strncmp(a->etag_gz, a->etag, 17), 0);
		ck_assert_str_eq(a->etag_gz + 17, "-gz\"");
		if (a->gz) {
			unsigned char *back = malloc(a->len + 1);
			ck_assert_uint_lt(a->gz_len, a->len);
			ck_assert_int_eq(gunzip(a->gz, a->gz_len, back, a->len + 1), (long)a->len);
			ck_assert_int_eq(memcmp(back, a->data, a->len), 0);
			free(back);
		}
		/* No URL of another origin: the only "http" is the SVG namespace name, which loads nothing. */
		for (const char *p = (const char *)a->data; (p = strstr(p, "http")) != NULL; p += 4)
			ck_assert_msg(strncmp(p, "http://www.w3.org/2000/svg", 26) == 0, "%s names another origin: %.40s",
				      a->name, p);
		ck_assert_ptr_null(strstr((const char *)a->data, "//cdn"));
	}
	ck_assert_msg(total <= 300 * 1024, "the page's files hold %zu bytes, over 300 KiB", total);
}
END_TEST

/* Every /ui/ file index.html links and every module a script imports is compiled in. */
START_TEST(test_links_resolve)
{
	for (size_t i = 0; i < ui_assets_count; i++) {
		const char *text = (const char *)ui_assets[i].data;
		static const char *const refs[] = {"\"/ui/", "from './", "import('./"};
		for (size_t k = 0; k < 3; k++) {
			for (const char *p = text; (p = strstr(p, refs[k])) != NULL; p++) {
				char name[64];
				const char *s = p + strlen(refs[k]);
				size_t n = strcspn(s, "\"'");
				ck_assert_uint_lt(n, sizeof(name));
				memcpy(name, s, n);
				name[n] = '\0';
				ck_assert_msg(asset(name) != NULL, "%s refers to %s, which is not in ui/", ui_assets[i].name,
					      name);
			}
		}
	}
}
END_TEST

/* ---- serving ---------------------------------------------------------------------- */

START_TEST(test_serving)
{
	const ui_asset *index = asset("index.html"), *js = asset("app.js");
	char etag[64], hdr[160];
	hc_response r;

	start(1, NULL);
	ck_assert_int_eq(hc_request(port, "GET", "/", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	header_is(&r, "Content-Type", "text/html; charset=utf-8");
	header_is(&r, "Content-Security-Policy", UI_CSP);
	header_is(&r, "ETag", index->etag);
	header_is(&r, "Vary", "Accept-Encoding");
	header_is(&r, "Cache-Control", "no-cache");
	header_is(&r, "X-Content-Type-Options", "nosniff");
	ck_assert_int_ne(hc_header(&r, "Content-Encoding", etag, sizeof(etag)), 0);
	ck_assert_uint_eq(r.body_len, index->len);
	ck_assert_int_eq(memcmp(r.body, index->data, index->len), 0);
	hc_free(&r);

	/* gzip when asked, with its own ETag; identity when gzip is refused. */
	ck_assert_ptr_nonnull(js->gz);
	ck_assert_int_eq(hc_request(port, "GET", "/ui/app.js", "Accept-Encoding: br, gzip\r\n", NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	header_is(&r, "Content-Type", "text/javascript; charset=utf-8");
	header_is(&r, "Content-Encoding", "gzip");
	header_is(&r, "ETag", js->etag_gz);
	ck_assert_uint_eq(r.body_len, js->gz_len);
	ck_assert_int_eq(memcmp(r.body, js->gz, js->gz_len), 0);
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "GET", "/ui/app.js", "Accept-Encoding: gzip;q=0, *\r\n", NULL, 0, &r), 0);
	ck_assert_uint_eq(r.body_len, js->len);
	header_is(&r, "ETag", js->etag);
	hc_free(&r);

	/* A matching ETag: 304 without a body; the other representation's does not match. */
	snprintf(hdr, sizeof(hdr), "If-None-Match: W/\"0\", %s\r\n", js->etag);
	ck_assert_int_eq(hc_request(port, "GET", "/ui/app.js", hdr, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 304);
	ck_assert_uint_eq(r.body_len, 0);
	header_is(&r, "ETag", js->etag);
	hc_free(&r);
	snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", js->etag_gz);
	ck_assert_int_eq(hc_request(port, "GET", "/ui/app.js", hdr, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);

	ck_assert_int_eq(hc_request(port, "HEAD", "/ui/app.css", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	header_is(&r, "Content-Type", "text/css; charset=utf-8");
	ck_assert_uint_eq(r.body_len, 0);
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "GET", "/ui/icon.svg", NULL, NULL, 0, &r), 0);
	header_is(&r, "Content-Type", "image/svg+xml");
	hc_free(&r);

	/* What is not a file of the page. */
	static const char *const missing[] = {"/ui/nope.js", "/ui/", "/ui", "/index.html", "/ui/../Makefile", "/ui/x/app.js"};
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		ck_assert_int_eq(hc_request(port, "GET", missing[i], NULL, NULL, 0, &r), 0);
		ck_assert_msg(r.status == 404, "%s: %d", missing[i], r.status);
		header_is(&r, "Content-Type", "application/problem+json");
		hc_free(&r);
	}
	ck_assert_int_eq(hc_request(port, "POST", "/", NULL, "x", 1, &r), 0);
	ck_assert_int_eq(r.status, 405);
	header_is(&r, "Allow", "GET, HEAD");
	hc_free(&r);
	stop();
}
END_TEST

/* With API keys the page itself stays open: it asks for the key the API needs. */
START_TEST(test_open_with_keys)
{
	hc_response r;

	start(1, "page-test-key");
	ck_assert_int_eq(hc_request(port, "GET", "/", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "GET", "/ui/app.js", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "GET", "/v1/losses", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 401);
	hc_free(&r);
	stop();
}
END_TEST

START_TEST(test_ui_off)
{
	hc_response r;
	cJSON *p;

	start(0, NULL);
	ck_assert_int_eq(hc_request(port, "GET", "/", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 404);
	p = cJSON_Parse(r.body);
	ck_assert_str_eq(cJSON_GetObjectItem(p, "detail")->valuestring, "no route for '/' (the web page is off: --ui off)");
	cJSON_Delete(p);
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "GET", "/ui/app.js", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 404);
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "GET", "/healthz", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	stop();
}
END_TEST

/* ---- header parsing ------------------------------------------------------------- */

START_TEST(test_accept_encoding)
{
	static const struct {
		const char *h;
		int gzip;
	} v[] = {
		{NULL, 0},
		{"", 0},
		{"gzip", 1},
		{"GZIP", 1},
		{"br, gzip, deflate", 1},
		{"gzip;q=0.5", 1},
		{"gzip ; q=0.001", 1},
		{"gzip;q=0", 0},
		{"gzip; q=0.000", 0},
		{"deflate, gzip;q=0", 0},
		{"*", 1},
		{"*;q=0", 0},
		{"*, gzip;q=0", 0},
		{"gzip;q=0, *", 0},
		{"identity", 0},
		{"x-gzip", 0},
		{"gzipx", 0},
		{"br;q=1.0, gzip;q=0.8, *;q=0.1", 1},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_msg(ui_accepts_gzip(v[i].h) == v[i].gzip, "'%s': want %d", v[i].h ? v[i].h : "(null)", v[i].gzip);
}
END_TEST

START_TEST(test_if_none_match)
{
	const char *e = "\"0123456789abcdef\"";

	ck_assert_int_eq(ui_etag_matches(NULL, e), 0);
	ck_assert_int_eq(ui_etag_matches("*", e), 1);
	ck_assert_int_eq(ui_etag_matches("\"0123456789abcdef\"", e), 1);
	ck_assert_int_eq(ui_etag_matches("W/\"0123456789abcdef\"", e), 1);
	ck_assert_int_eq(ui_etag_matches("\"x\", \"y\",W/\"0123456789abcdef\"", e), 1);
	ck_assert_int_eq(ui_etag_matches("\"0123456789abcdef-gz\"", e), 0);
	ck_assert_int_eq(ui_etag_matches("\"0123456789abcde\"", e), 0);
	ck_assert_int_eq(ui_etag_matches("0123456789abcdef", e), 0);
	ck_assert_int_eq(ui_etag_matches("", e), 0);
	ck_assert_ptr_eq(ui_find("/"), asset("index.html"));
	ck_assert_ptr_eq(ui_find("/ui/app.js"), asset("app.js"));
	ck_assert_ptr_null(ui_find("/app.js"));
	ck_assert_ptr_null(ui_find(NULL));
	ck_assert_str_eq(ui_content_type("x.bin"), "application/octet-stream");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ui");
	TCase *tc = tcase_create("page");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_links_resolve);
	tcase_add_test(tc, test_serving);
	tcase_add_test(tc, test_open_with_keys);
	tcase_add_test(tc, test_ui_off);
	tcase_add_test(tc, test_accept_encoding);
	tcase_add_test(tc, test_if_none_match);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
