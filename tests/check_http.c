/*
 * check_http.c — the daemon over real sockets.
 *
 * In-process: http_start on an ephemeral loopback port, a plain socket
 * client (httpclient.c): every route, JSON and multipart, Accept
 * negotiation, each error class with its status and problem+json, a full
 * queue. Out of process: 64 concurrent clients against the seglossd
 * binary, whose numbers must equal the segloss CLI's; and SIGTERM with
 * requests in flight, which must all complete before a clean exit.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cJSON.h>

#include "codec/b64.h"
#include "codec/buf.h"
#include "codec/npy.h"
#include "codec/pngio.h"
#include "core/wmap.h"
#include "http/cors.h"
#include "http/http.h"
#include "http/multipart.h"
#include "httpclient.h"
#include "testpg.h"
#include "testutil.h"

#define FIX "tests/fixtures/"

static http_server *srv;
static int port;

static const char *api_keys_file; /* set by the auth test */
static const char *api_key;
static const char *cors_origins; /* set by the CORS test */
static uint64_t keep_item_cap, keep_run_cap; /* set by the keep_masks test (0: the defaults) */
static char pg_dsn[512]; /* the postgres case's database (empty: SQLite in memory) */

static void start_server(int workers, int queue, size_t max_body, uint64_t max_pixels)
{
	http_config cfg;
	seg_error err = {0};

	http_config_default(&cfg);
	cfg.api_keys_file = api_keys_file;
	cfg.api_key = api_key;
	cfg.cors_origins = cors_origins;
	if (keep_item_cap)
		cfg.keep_masks_item = keep_item_cap;
	if (keep_run_cap)
		cfg.keep_masks_run = keep_run_cap;
	cfg.bind = "127.0.0.1";
	cfg.port = 0;
	cfg.workers = workers;
	cfg.queue = queue;
	cfg.max_body = max_body;
	cfg.max_pixels = max_pixels;
	cfg.db = pg_dsn[0] ? pg_dsn : ":memory:";
	srv = http_start(&cfg, &err);
	ck_assert_msg(srv != NULL, "%s", err.msg);
	port = http_port(srv);
	ck_assert_int_gt(port, 0);
}

static void setup(void)
{
	start_server(2, 16, 8u << 20, 1u << 22);
}

static void teardown(void)
{
	ck_assert_int_eq(http_drain(srv, 0, 10), 0);
	http_free(srv);
	srv = NULL;
}

/* The same server on a fresh PostgreSQL database (make check-pg). */
static void setup_pg(void)
{
	ck_assert_int_eq(tpg_create(pg_dsn, sizeof(pg_dsn)), 0);
	setup();
}

static void teardown_pg(void)
{
	teardown();
	tpg_drop(pg_dsn);
	pg_dsn[0] = '\0';
}

/* Base64 of a fixture file (caller frees). */
static char *b64_file(const char *path)
{
	size_t len;
	uint8_t *data = tu_read_file(path, &len);
	ck_assert_msg(data != NULL, "cannot read %s", path);
	char *text = malloc(b64_encoded_len(len) + 1);
	b64_encode(data, len, text);
	free(data);
	return text;
}

/* printf into a new string (caller frees). */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	char *s = malloc((size_t)n + 1);
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

static hc_response post_json(const char *path, const char *json)
{
	hc_response r;
	ck_assert_int_eq(hc_request(port, "POST", path, "Content-Type: application/json\r\n", json, strlen(json), &r),
			 0);
	return r;
}

/* The problem+json of a response: status, type and detail (prefix) are as expected. */
static void expect_problem(hc_response *r, int status, const char *detail_prefix)
{
	char ct[128];

	ck_assert_msg(r->status == status, "status %d, wanted %d: %s", r->status, status, r->body);
	ck_assert_int_eq(hc_header(r, "Content-Type", ct, sizeof(ct)), 0);
	ck_assert_str_eq(ct, "application/problem+json");
	cJSON *p = cJSON_Parse(r->body);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(cJSON_GetObjectItem(p, "status")->valueint, status);
	ck_assert_ptr_nonnull(cJSON_GetStringValue(cJSON_GetObjectItem(p, "type")));
	ck_assert_ptr_nonnull(cJSON_GetStringValue(cJSON_GetObjectItem(p, "title")));
	const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(p, "detail"));
	ck_assert_ptr_nonnull(detail);
	ck_assert_msg(strncmp(detail, detail_prefix, strlen(detail_prefix)) == 0, "detail \"%s\"\nwanted \"%s\"",
		      detail, detail_prefix);
	cJSON_Delete(p);
	hc_free(r);
}

/* Multipart body with parts (name, filename or NULL, data, len). */
typedef struct part {
	const char *name;
	const char *filename;
	const void *data;
	size_t len;
} part;

static void multipart(const part *parts, int n, buf *out)
{
	buf_init(out, 0);
	for (int i = 0; i < n; i++) {
		buf_printf(out, "--XyZbOuNdArY\r\nContent-Disposition: form-data; name=\"%s\"", parts[i].name);
		if (parts[i].filename)
			buf_printf(out, "; filename=\"%s\"\r\nContent-Type: application/octet-stream", parts[i].filename);
		buf_puts(out, "\r\n\r\n");
		buf_append(out, parts[i].data, parts[i].len);
		buf_puts(out, "\r\n");
	}
	buf_puts(out, "--XyZbOuNdArY--\r\n");
}

static double num(cJSON *root, const char *section, const char *key)
{
	cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(root, section), key);
	ck_assert_msg(cJSON_IsNumber(v), "%s.%s is not a number", section, key);
	return v->valuedouble;
}

/* ---- routes ------------------------------------------------------------------ */

START_TEST(test_health_ready_catalogue_spec_metrics)
{
	hc_response r;
	char v[256];

	ck_assert_int_eq(hc_request(port, "GET", "/healthz", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "GET", "/readyz", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "GET", "/v1/losses", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	cJSON *cat = cJSON_Parse(r.body);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cat, "losses")), 18);
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(cat, "conventions"));
	cJSON_Delete(cat);
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "GET", "/v1/openapi.yaml", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "openapi: 3.1"));
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "GET", "/metrics", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_header(&r, "Content-Type", v, sizeof(v));
	ck_assert_str_eq(v, "text/plain; version=0.0.4; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(r.body, "segloss_http_requests_total{route=\"healthz\",code=\"200\"} 1"));
	ck_assert_ptr_nonnull(strstr(r.body, "segloss_build_info{version="));
	ck_assert_ptr_nonnull(strstr(r.body, "process_resident_memory_bytes "));
	ck_assert_ptr_nonnull(strstr(r.body, "segloss_workers 2"));
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "HEAD", "/healthz", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 0);
	hc_free(&r);
}
END_TEST

START_TEST(test_request_id)
{
	hc_response r;
	char id[128];

	ck_assert_int_eq(hc_request(port, "GET", "/healthz", "X-Request-Id: trace-42.a\r\n", NULL, 0, &r), 0);
	hc_header(&r, "X-Request-Id", id, sizeof(id));
	ck_assert_str_eq(id, "trace-42.a");
	hc_free(&r);
	/* Absent or unusable ids are replaced by a generated one. */
	ck_assert_int_eq(hc_request(port, "GET", "/healthz", "X-Request-Id: has space\r\n", NULL, 0, &r), 0);
	ck_assert_int_eq(hc_header(&r, "X-Request-Id", id, sizeof(id)), 0);
	ck_assert_uint_eq(strlen(id), 16);
	hc_free(&r);
}
END_TEST

START_TEST(test_evaluate_json_forms_agree)
{
	char *t = b64_file(FIX "blobs_soft8/target.png");
	char *p = b64_file(FIX "blobs_soft8/prediction.png");
	/* The same request three ways: bare base64, {"png": ...} objects, data: URLs. */
	char *bodies[3] = {
		fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"bce\", {\"name\": \"focal\", "
		    "\"gamma\": 3, \"as\": \"f3\"}], \"metrics\": [\"dice\", \"hausdorff95\"]}",
		    t, p),
		fmt("{\"target\": {\"png\": \"%s\"}, \"prediction\": {\"png\": \"%s\"}, \"losses\": [\"bce\", "
		    "\"focal:gamma=3,as=f3\"], \"metrics\": [\"dice\", \"hausdorff95\"]}",
		    t, p),
		fmt("{\"target\": \"data:image/png;base64,%s\", \"prediction\": \"data:image/png;base64,%s\", "
		    "\"losses\": [\"bce\", \"focal:gamma=3,as=f3\"], \"metrics\": [\"dice\", \"hausdorff95\"]}",
		    t, p),
	};
	double first[4] = {0};

	for (int f = 0; f < 3; f++) {
		char *body = bodies[f];
		hc_response r = post_json("/v1/evaluate", body);
		ck_assert_msg(r.status == 200, "%s", r.body);
		cJSON *j = cJSON_Parse(r.body);
		double v[4] = {num(j, "losses", "bce"), num(j, "losses", "f3"), num(j, "metrics", "dice"),
			       num(j, "metrics", "hausdorff95")};
		ck_assert_int_eq(cJSON_GetObjectItem(j, "width")->valueint, 64);
		ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "timing_ms"), "compute"));
		for (int k = 0; k < 4; k++) {
			if (f == 0)
				first[k] = v[k];
			ck_assert_double_eq(v[k], first[k]);
		}
		cJSON_Delete(j);
		hc_free(&r);
		free(body);
	}
	free(t);
	free(p);
}
END_TEST

/* The default set, and the same numbers as the CLI on the same files. */
START_TEST(test_evaluate_matches_cli)
{
	char *t = b64_file(FIX "inst16_touching/target.png");
	char *p = b64_file(FIX "inst16_touching/prediction.png");
	char *body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\"}", t, p);
	hc_response r = post_json("/v1/evaluate", body);
	ck_assert_int_eq(r.status, 200);
	cJSON *got = cJSON_Parse(r.body);

	const char *cli = getenv("SEGLOSS_BIN");
	char *out, *err;
	const char *argv[] = {cli ? cli : "build/release/segloss", "eval", "--target", FIX "inst16_touching/target.png",
			      "--prediction", FIX "inst16_touching/prediction.png", NULL};
	ck_assert_int_eq(tu_run((char *const *)argv, &out, &err), 0);
	cJSON *want = cJSON_Parse(out);
	const char *sections[] = {"losses", "metrics"};
	for (int s = 0; s < 2; s++) {
		cJSON *item;
		ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(got, sections[s])),
				 cJSON_GetArraySize(cJSON_GetObjectItem(want, sections[s])));
		cJSON_ArrayForEach(item, cJSON_GetObjectItem(want, sections[s]))
			ck_assert_double_eq(num(got, sections[s], item->string), item->valuedouble);
	}
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(got, "losses")), 4);
	cJSON_Delete(got);
	cJSON_Delete(want);
	free(out);
	free(err);
	hc_free(&r);
	free(body);
	free(t);
	free(p);
}
END_TEST

START_TEST(test_evaluate_multipart_and_maps)
{
	size_t tl, pl;
	uint8_t *t = tu_read_file(FIX "blobs_soft8/target.png", &tl);
	uint8_t *p = tu_read_file(FIX "blobs_soft8/prediction.png", &pl);
	part parts[] = {
		{"target", "t.png", t, tl},
		{"prediction", "p.png", p, pl},
		{"losses", NULL, "bce,focal:alpha=0.5,gamma=3", 27},
		{"metrics", NULL, "[\"dice\", {\"name\": \"iou\", \"threshold\": 0.3}]", 44},
		{"maps", NULL, "weight,bce", 10},
	};
	buf body;
	hc_response r;

	multipart(parts, 5, &body);
	ck_assert_int_eq(hc_request(port, "POST", "/v1/evaluate",
				    "Content-Type: multipart/form-data; boundary=XyZbOuNdArY\r\n", body.data, body.len, &r),
			 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	cJSON *j = cJSON_Parse(r.body);
	ck_assert(num(j, "losses", "focal") > 0);
	ck_assert(num(j, "metrics", "iou") > 0);
	/* The weight map equals the core's. */
	cJSON *w = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "maps"), "weight");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(w, "format")), "npy");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(w, "dtype")), "float32");
	const char *data = cJSON_GetStringValue(cJSON_GetObjectItem(w, "data"));
	size_t n = strlen(data), dl = 0;
	uint8_t *npy = malloc(b64_decoded_max(n));
	ck_assert_int_eq(b64_decode(data, n, npy, &dl, NULL), SEG_OK);
	ck_assert_int_eq(tu_write_file("/tmp/check_http_w.npy", npy, dl), 0);
	int ww, hh;
	double *got = tu_read_npy_f64("/tmp/check_http_w.npy", &ww, &hh);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(ww, 64);
	double *ref = tu_read_npy_f64(FIX "blobs_soft8/wmap.npy", &ww, &hh);
	for (int i = 0; i < ww * hh; i++)
		ck_assert_double_le(fabs(got[i] - ref[i]), 1e-5);
	free(got);
	free(ref);
	free(npy);
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "maps"), "bce"));
	cJSON_Delete(j);
	hc_free(&r);
	buf_release(&body);

	/* map_format png gives a PNG heatmap. */
	part parts2[] = {{"target", "t.png", t, tl}, {"prediction", "p.png", p, pl}, {"maps", NULL, "weight", 6},
			 {"map_format", NULL, "png", 3}};
	multipart(parts2, 4, &body);
	ck_assert_int_eq(hc_request(port, "POST", "/v1/evaluate",
				    "Content-Type: multipart/form-data; boundary=XyZbOuNdArY\r\n", body.data, body.len, &r),
			 0);
	ck_assert_int_eq(r.status, 200);
	j = cJSON_Parse(r.body);
	w = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "maps"), "weight");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(w, "format")), "png");
	data = cJSON_GetStringValue(cJSON_GetObjectItem(w, "data"));
	npy = malloc(b64_decoded_max(strlen(data)));
	ck_assert_int_eq(b64_decode(data, strlen(data), npy, &dl, NULL), SEG_OK);
	ck_assert(pngio_is_png(npy, dl));
	free(npy);
	cJSON_Delete(j);
	hc_free(&r);
	buf_release(&body);
	free(t);
	free(p);
}
END_TEST

/* Comma-separated specs in a form field: commas inside [...] belong to the list, as on the command line. */
START_TEST(test_multipart_lists_with_brackets)
{
	size_t tl, pl;
	uint8_t *t = tu_read_file(FIX "inst16_touching/target.png", &tl);
	uint8_t *p = tu_read_file(FIX "inst16_touching/prediction.png", &pl);
	const char *metrics = "iou,hausdorff95:spacing=[0.5,0.5],percentile=90,assd:spacing=[2,1]";
	const char *maps = "weight:class_weights=[1,3],w0=5,bce";
	part parts[] = {
		{"target", "t.png", t, tl}, {"prediction", "p.png", p, pl}, {"losses", NULL, "dice", 4},
		{"metrics", NULL, metrics, strlen(metrics)}, {"maps", NULL, maps, strlen(maps)},
	};
	buf body;
	hc_response r;

	multipart(parts, 5, &body);
	ck_assert_int_eq(hc_request(port, "POST", "/v1/evaluate",
				    "Content-Type: multipart/form-data; boundary=XyZbOuNdArY\r\n", body.data, body.len, &r),
			 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	cJSON *form = cJSON_Parse(r.body);
	hc_free(&r);
	buf_release(&body);
	/* The same request as JSON objects: the same numbers and maps. */
	char *tb = b64_file(FIX "inst16_touching/target.png"), *pb = b64_file(FIX "inst16_touching/prediction.png");
	char *js = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"dice\"], \"metrics\": [\"iou\", "
		       "{\"name\": \"hausdorff95\", \"spacing\": [0.5, 0.5], \"percentile\": 90}, "
		       "{\"name\": \"assd\", \"spacing\": [2, 1]}], "
		       "\"maps\": [{\"name\": \"weight\", \"class_weights\": [1, 3], \"w0\": 5}, \"bce\"]}",
		       tb, pb);
	r = post_json("/v1/evaluate", js);
	ck_assert_msg(r.status == 200, "%s", r.body);
	cJSON *ref = cJSON_Parse(r.body);
	hc_free(&r);
	const char *keys[] = {"iou", "hausdorff95", "assd"};
	for (int i = 0; i < 3; i++)
		ck_assert_msg(num(form, "metrics", keys[i]) == num(ref, "metrics", keys[i]), "%s: %.17g vs %.17g", keys[i],
			      num(form, "metrics", keys[i]), num(ref, "metrics", keys[i]));
	const char *mapkeys[] = {"weight", "bce"};
	for (int i = 0; i < 2; i++) {
		cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(form, "maps"), mapkeys[i]);
		cJSON *b = cJSON_GetObjectItem(cJSON_GetObjectItem(ref, "maps"), mapkeys[i]);
		ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(a, "data")),
				 cJSON_GetStringValue(cJSON_GetObjectItem(b, "data")));
	}
	cJSON_Delete(form);
	cJSON_Delete(ref);
	free(js);
	/* An unclosed list is one piece, refused with the spec's own message. */
	part bad[] = {{"target", "t.png", t, tl}, {"prediction", "p.png", p, pl}, {"metrics", NULL, "hausdorff95:spacing=[0.5,0.5", 28}};
	multipart(bad, 3, &body);
	ck_assert_int_eq(hc_request(port, "POST", "/v1/evaluate",
				    "Content-Type: multipart/form-data; boundary=XyZbOuNdArY\r\n", body.data, body.len, &r),
			 0);
	ck_assert_int_eq(r.status, 422);
	hc_free(&r);
	buf_release(&body);
	free(tb);
	free(pb);
	free(t);
	free(p);
}
END_TEST

START_TEST(test_weight_map_accept)
{
	size_t tl;
	uint8_t *t = tu_read_file(FIX "inst16_touching/target.png", &tl);
	part parts[] = {{"target", "t.png", t, tl}, {"w0", NULL, "5", 1}, {"class_weights", NULL, "none", 4}};
	buf body;
	hc_response r;
	char ct[128];

	multipart(parts, 3, &body);
	const char *accepts[] = {"Accept: application/x-npy\r\n", "Accept: image/png\r\n",
				 "Accept: application/json\r\n", "Accept: image/png;q=0.5, application/x-npy\r\n", ""};
	const char *types[] = {"application/x-npy", "image/png", "application/json", "application/x-npy",
			       "application/json"};
	for (int i = 0; i < 5; i++) {
		char headers[256];
		snprintf(headers, sizeof(headers), "Content-Type: multipart/form-data; boundary=XyZbOuNdArY\r\n%s",
			 accepts[i]);
		ck_assert_int_eq(hc_request(port, "POST", "/v1/weight-map", headers, body.data, body.len, &r), 0);
		ck_assert_msg(r.status == 200, "%s", r.body);
		hc_header(&r, "Content-Type", ct, sizeof(ct));
		ck_assert_str_eq(ct, types[i]);
		if (i == 0)
			ck_assert_int_eq(memcmp(r.body, "\x93NUMPY", 6), 0);
		if (i == 1)
			ck_assert(pngio_is_png((const uint8_t *)r.body, r.body_len));
		if (i == 2) {
			cJSON *j = cJSON_Parse(r.body);
			ck_assert_int_eq(cJSON_GetObjectItem(j, "width")->valueint, 96);
			ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "format")), "npy");
			/* class_weights none: the minimum weight is 1 (foreground and far background). */
			ck_assert_double_eq_tol(cJSON_GetObjectItem(j, "min")->valuedouble, 1.0, 1e-6);
			cJSON_Delete(j);
		}
		hc_free(&r);
	}
	/* Nothing offered is acceptable: 406 naming the types there are (a wildcard or q > 0 makes one acceptable). */
	const char *refused[] = {"Accept: text/csv\r\n", "Accept: image/png;q=0, text/*\r\n",
				 "Accept: application/problem+json\r\n"};
	for (int i = 0; i < 3; i++) {
		char headers[256];
		snprintf(headers, sizeof(headers), "Content-Type: multipart/form-data; boundary=XyZbOuNdArY\r\n%s", refused[i]);
		ck_assert_int_eq(hc_request(port, "POST", "/v1/weight-map", headers, body.data, body.len, &r), 0);
		expect_problem(&r, 406, "cannot answer in any type of Accept '");
		ck_assert_int_eq(hc_request(port, "POST", "/v1/weight-map", headers, body.data, body.len, &r), 0);
		ck_assert_ptr_nonnull(strstr(r.body, "/problems/not-acceptable"));
		ck_assert_ptr_nonnull(strstr(r.body, ": POST /v1/weight-map answers application/json, application/x-npy, image/png\""));
		hc_free(&r);
	}
	ck_assert_int_eq(hc_request(port, "POST", "/v1/weight-map",
				    "Content-Type: multipart/form-data; boundary=XyZbOuNdArY\r\nAccept: text/csv, */*;q=0.1\r\n",
				    body.data, body.len, &r),
			 0);
	ck_assert_int_eq(r.status, 200);
	hc_header(&r, "Content-Type", ct, sizeof(ct));
	ck_assert_str_eq(ct, "application/json");
	hc_free(&r);
	buf_release(&body);
	/* JSON form with parameters. */
	char *tb = b64_file(FIX "inst16_touching/target.png");
	char *js = fmt("{\"target\": \"%s\", \"sigma\": 3, \"class_weights\": [1, 2], \"connectivity\": 4}", tb);
	r = post_json("/v1/weight-map", js);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	free(js);
	js = fmt("{\"target\": \"%s\", \"sigma\": 0}", tb);
	r = post_json("/v1/weight-map", js);
	expect_problem(&r, 422, "parameter 'sigma' of map 'weight' must be in (0, 1e+06], got 0");
	free(js);
	free(tb);
	free(t);
}
END_TEST

/* hc_header, asserting the header is there. */
static void header_is(hc_response *r, const char *name, const char *want)
{
	char v[256];

	ck_assert_msg(hc_header(r, name, v, sizeof(v)) == 0, "no %s header", name);
	ck_assert_str_eq(v, want);
}

/* The text of tEXt chunk key in a PNG (a walk over its chunks), copied into out; 0 when found. */
static int png_text(const uint8_t *png, size_t len, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);

	for (size_t at = 8; at + 12 <= len;) {
		size_t n = ((size_t)png[at] << 24) | ((size_t)png[at + 1] << 16) | ((size_t)png[at + 2] << 8) | png[at + 3];
		const uint8_t *data = png + at + 8;
		if (at + 12 + n > len)
			break;
		if (memcmp(png + at + 4, "tEXt", 4) == 0 && n > klen && memcmp(data, key, klen) == 0 && data[klen] == 0) {
			snprintf(out, cap, "%.*s", (int)(n - klen - 1), (const char *)data + klen + 1);
			return 0;
		}
		at += 12 + n;
	}
	return -1;
}

/* A heatmap states its scale (X-Map-Min/Max, tEXt, "range" in JSON) and takes a fixed one. */
START_TEST(test_heatmap_scale)
{
	char *t = b64_file(FIX "inst16_touching/target.png"), *t2 = b64_file(FIX "blobs_soft8/target.png");
	char *p = b64_file(FIX "inst16_touching/prediction.png");
	const char *png_json = "Content-Type: application/json\r\nAccept: image/png\r\n";
	char lo[64], hi[64], text[64];
	hc_response r;

	/* The data's extremes: the headers, the tEXt chunks and the JSON answer's min and max agree. */
	char *body = fmt("{\"target\": \"%s\"}", t);
	ck_assert_int_eq(hc_request(port, "POST", "/v1/weight-map", png_json, body, strlen(body), &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(hc_header(&r, "X-Map-Min", lo, sizeof(lo)), 0);
	ck_assert_int_eq(hc_header(&r, "X-Map-Max", hi, sizeof(hi)), 0);
	ck_assert_int_eq(png_text((const uint8_t *)r.body, r.body_len, "map_min", text, sizeof(text)), 0);
	ck_assert_str_eq(text, lo);
	ck_assert_int_eq(png_text((const uint8_t *)r.body, r.body_len, "map_max", text, sizeof(text)), 0);
	ck_assert_str_eq(text, hi);
	ck_assert_int_eq(png_text((const uint8_t *)r.body, r.body_len, "colormap", text, sizeof(text)), 0);
	ck_assert_str_eq(text, "viridis");
	hc_free(&r);
	/*
	 * The headers round-trip exactly; cJSON may print a number in 15
	 * digits that reads back a few ulps off, hence the tolerance against
	 * the JSON answer.
	 */
	hc_response j = post_json("/v1/weight-map", body);
	cJSON *wj = cJSON_Parse(j.body);
	ck_assert_double_eq_tol(strtod(lo, NULL), cJSON_GetObjectItem(wj, "min")->valuedouble, 1e-14);
	ck_assert_double_eq_tol(strtod(hi, NULL), cJSON_GetObjectItem(wj, "max")->valuedouble, 1e-14 * 16);
	ck_assert_int_eq(hc_header(&j, "X-Map-Min", text, sizeof(text)), -1); /* JSON: no colours, no scale */
	cJSON_Delete(wj);
	hc_free(&j);
	free(body);

	/* A fixed range: two targets, one scale, the same bytes for the same colours. */
	for (int k = 0; k < 2; k++) {
		body = fmt("{\"target\": \"%s\", \"range\": [0, 20]}", k ? t2 : t);
		ck_assert_int_eq(hc_request(port, "POST", "/v1/weight-map", png_json, body, strlen(body), &r), 0);
		ck_assert_msg(r.status == 200, "%s", r.body);
		header_is(&r, "X-Map-Min", "0");
		header_is(&r, "X-Map-Max", "20");
		ck_assert_int_eq(png_text((const uint8_t *)r.body, r.body_len, "map_max", text, sizeof(text)), 0);
		ck_assert_str_eq(text, "20");
		hc_free(&r);
		free(body);
	}
	/* Multipart: the range as text. */
	size_t tl;
	uint8_t *traw = tu_read_file(FIX "inst16_touching/target.png", &tl);
	part parts[] = {{"target", "t.png", traw, tl}, {"range", NULL, "[-1, 2.5]", 9}};
	buf form;
	multipart(parts, 2, &form);
	ck_assert_int_eq(hc_request(port, "POST", "/v1/weight-map",
				    "Content-Type: multipart/form-data; boundary=XyZbOuNdArY\r\nAccept: image/png\r\n", form.data,
				    form.len, &r),
			 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	header_is(&r, "X-Map-Min", "-1");
	header_is(&r, "X-Map-Max", "2.5");
	hc_free(&r);
	buf_release(&form);
	free(traw);
	/* A range asks for colours: refused for a JSON or .npy answer, and when it is no range. */
	body = fmt("{\"target\": \"%s\", \"range\": [0, 20]}", t);
	r = post_json("/v1/weight-map", body);
	expect_problem(&r, 422, "\"range\" sets the colour scale of a heatmap: ask for one with Accept: image/png");
	free(body);
	const char *bad[] = {"[5, 1]", "[0, 0]", "[1]", "[0, \"x\"]", "3"};
	for (int i = 0; i < 5; i++) {
		body = fmt("{\"target\": \"%s\", \"range\": %s}", t, bad[i]);
		ck_assert_int_eq(hc_request(port, "POST", "/v1/weight-map", png_json, body, strlen(body), &r), 0);
		expect_problem(&r, 422, "\"range\" must be [low, high]");
		free(body);
	}

	/* Evaluations: each PNG map states its scale in "range", the data's extremes unless given. */
	body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"map_format\": \"png\", \"maps\": "
		   "[{\"name\": \"weight\", \"range\": [0, 12]}, \"bce:range=[0,3],eps=0.01\", \"bce:as=b2\"]}",
		   t, p);
	r = post_json("/v1/evaluate", body);
	ck_assert_msg(r.status == 200, "%s", r.body);
	cJSON *ev = cJSON_Parse(r.body), *maps = cJSON_GetObjectItem(ev, "maps");
	const char *keys[] = {"weight", "bce", "b2"};
	double want[3][2] = {{0, 12}, {0, 3}, {NAN, NAN}};
	for (int k = 0; k < 3; k++) {
		cJSON *m = cJSON_GetObjectItem(maps, keys[k]), *range = cJSON_GetObjectItem(m, "range");
		ck_assert_int_eq(cJSON_GetArraySize(range), 2);
		double a = cJSON_GetArrayItem(range, 0)->valuedouble, b = cJSON_GetArrayItem(range, 1)->valuedouble;
		if (k < 2)
			ck_assert(a == want[k][0] && b == want[k][1]);
		else
			ck_assert(a == cJSON_GetObjectItem(m, "min")->valuedouble && b == cJSON_GetObjectItem(m, "max")->valuedouble);
		/* The PNG inside says the same. */
		const char *data = cJSON_GetStringValue(cJSON_GetObjectItem(m, "data"));
		size_t dl = 0;
		uint8_t *png = malloc(b64_decoded_max(strlen(data)));
		ck_assert_int_eq(b64_decode(data, strlen(data), png, &dl, NULL), SEG_OK);
		ck_assert_int_eq(png_text(png, dl, "map_max", text, sizeof(text)), 0);
		ck_assert_double_eq_tol(strtod(text, NULL), b, 1e-14 * fabs(b));
		free(png);
	}
	/* The eps is still applied: bce with eps 0.01 tops out at -ln(0.01), not at the default's 16.1. */
	ck_assert_double_lt(cJSON_GetObjectItem(cJSON_GetObjectItem(maps, "bce"), "max")->valuedouble, 4.61);
	cJSON_Delete(ev);
	hc_free(&r);
	free(body);
	body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"maps\": [\"weight:range=[0,12]\"]}", t, p);
	r = post_json("/v1/evaluate", body);
	expect_problem(&r, 422, "map 'weight': \"range\" sets the colour scale of a heatmap; it needs \"map_format\": \"png\"");
	free(body);
	body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"map_format\": \"png\", \"maps\": [\"weight:range=[3,1]\"]}", t, p);
	r = post_json("/v1/evaluate", body);
	expect_problem(&r, 422, "\"range\" must be [low, high], two finite numbers with low < high, got [3, 1]");
	free(body);
	free(t);
	free(t2);
	free(p);
}
END_TEST

/* ---- errors ------------------------------------------------------------------- */

START_TEST(test_errors)
{
	char *t = b64_file(FIX "blobs_soft8/target.png");
	char *p = b64_file(FIX "bin01_nonsquare/prediction.png");
	hc_response r;
	char *body;

	r = post_json("/v1/evaluate", "{\"target\": ");
	expect_problem(&r, 400, "invalid JSON at byte");
	r = post_json("/v1/evaluate", "[1, 2]");
	expect_problem(&r, 422, "the request body must be a JSON object");
	r = post_json("/v1/evaluate", "{\"target\": \"QUJD$\", \"prediction\": \"QUJD\"}");
	expect_problem(&r, 400, "target: invalid base64 at offset 4");
	r = post_json("/v1/evaluate", "{\"target\": \"QUJDRA==\", \"prediction\": \"QUJDRA==\"}");
	expect_problem(&r, 415, "target is neither a PNG nor a .npy file");
	/* A JPEG (FF D8 FF E0 ... JFIF) is named as one. */
	r = post_json("/v1/evaluate", "{\"target\": \"/9j/4AAQSkZJRg==\", \"prediction\": \"QUJDRA==\"}");
	expect_problem(&r, 415, "target is a JPEG image, not a PNG or a .npy file");
	body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\"}", t, p);
	r = post_json("/v1/evaluate", body);
	expect_problem(&r, 422, "prediction is 80x48 but target is 64x64");
	free(body);
	body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"dcie\"]}", t, t);
	r = post_json("/v1/evaluate", body);
	expect_problem(&r, 422, "unknown loss 'dcie' (did you mean 'dice'?)");
	free(body);
	body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [{\"name\": \"focal\", \"alpha\": 2}]}",
		   t, t);
	r = post_json("/v1/evaluate", body);
	expect_problem(&r, 422, "parameter 'alpha' of loss 'focal' must be in [0, 1], got 2");
	free(body);
	body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"dice\", \"dice:gamma=1\"]}", t, t);
	r = post_json("/v1/evaluate", body);
	expect_problem(&r, 422, "duplicate loss key 'dice'");
	free(body);
	body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"lossses\": []}", t, t);
	r = post_json("/v1/evaluate", body);
	expect_problem(&r, 422, "unknown field \"lossses\" (did you mean \"losses\"?)");
	free(body);
	r = post_json("/v1/evaluate", "{\"prediction\": \"QUJD\"}");
	expect_problem(&r, 422, "missing \"target\"");

	/* A corrupted PNG: flip a byte inside the IDAT data. */
	size_t len;
	uint8_t *png = tu_read_file(FIX "blobs_soft8/prediction.png", &len);
	png[len - 20] ^= 0x55;
	char *bad = malloc(b64_encoded_len(len) + 1);
	b64_encode(png, len, bad);
	body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\"}", t, bad);
	r = post_json("/v1/evaluate", body);
	expect_problem(&r, 400, "prediction: png: CRC error in IDAT");
	free(body);
	free(bad);
	free(png);

	ck_assert_int_eq(hc_request(port, "POST", "/v1/evaluate", "Content-Type: text/plain\r\n", "x", 1, &r), 0);
	expect_problem(&r, 415, "unsupported Content-Type 'text/plain'");
	ck_assert_int_eq(hc_request(port, "GET", "/v2/nothing", NULL, NULL, 0, &r), 0);
	expect_problem(&r, 404, "no route for '/v2/nothing'");
	ck_assert_int_eq(hc_request(port, "DELETE", "/v1/losses", NULL, NULL, 0, &r), 0);
	char allow[64];
	hc_header(&r, "Allow", allow, sizeof(allow));
	ck_assert_str_eq(allow, "GET, HEAD");
	expect_problem(&r, 405, "DELETE is not allowed on '/v1/losses' (allowed: GET, HEAD)");
	free(t);
	free(p);
}
END_TEST

START_TEST(test_limits)
{
	hc_response r;
	/* The server under test allows 8 MiB bodies and 4 Mpx masks. */
	size_t big = (9u << 20);
	char *body = malloc(big);
	memset(body, ' ', big);
	ck_assert_int_eq(hc_request(port, "POST", "/v1/evaluate", "Content-Type: application/json\r\n", body, big, &r),
			 0);
	expect_problem(&r, 413, "request body of 9437184 bytes is over the limit of 8388608 bytes");
	free(body);
	/* A PNG header claiming 4096x4096 (16 Mpx) is refused before its pixels are allocated. */
	uint8_t *g = calloc(4096 * 4096, 1);
	buf png;
	buf_init(&png, 0);
	ck_assert_int_eq(pngio_encode_gray(g, 4096, 4096, 8, &png, NULL), SEG_OK);
	free(g);
	char *b = malloc(b64_encoded_len(png.len) + 1);
	b64_encode(png.data, png.len, b);
	body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\"}", b, b);
	r = post_json("/v1/evaluate", body);
	expect_problem(&r, 413, "target: png: image is 4096x4096 (16777216 pixels), over the limit of 4194304");
	free(body);
	free(b);
	buf_release(&png);
}
END_TEST

typedef struct post_arg {
	const char *body;
	hc_response r;
} post_arg;

static void *post_thread(void *opaque)
{
	post_arg *a = opaque;

	if (hc_request(port, "POST", "/v1/evaluate", "Content-Type: application/json\r\n", a->body, strlen(a->body),
		       &a->r) != 0)
		a->r.status = 0;
	return NULL;
}

/* Polls /metrics until the gauge (key with its "\n" before it) reads want; a generous deadline, then a failure. */
static void wait_gauge(const char *key, int want)
{
	int got = -1;

	for (double t0 = tu_now(); tu_now() - t0 < 60.0; usleep(5000)) {
		hc_response r;
		ck_assert_int_eq(hc_request(port, "GET", "/metrics", NULL, NULL, 0, &r), 0);
		const char *p = strstr(r.body, key);
		got = p ? atoi(p + strlen(key)) : -1;
		hc_free(&r);
		if (got == want)
			return;
	}
	ck_abort_msg("%s stayed %d, not %d, for 60 s", key + 1, got, want);
}

/* A queue of one and one worker: with the worker busy and the queue full, the next request gets 503. */
START_TEST(test_queue_full_is_503)
{
	enum { N = 6 };
	pthread_t th[N];
	post_arg args[N];
	uint8_t *g = calloc(1536 * 1536, 1);
	buf png;
	int ok = 0, busy = 0;

	teardown();
	start_server(1, 1, 64u << 20, 1u << 24);
	for (int i = 0; i < 1536 * 1536; i++)
		g[i] = (uint8_t)(((i % 1536) / 7 + (i / 1536) / 5) % 3 == 0 ? 255 : 0);
	buf_init(&png, 0);
	pngio_encode_gray(g, 1536, 1536, 8, &png, NULL);
	free(g);
	char *b = malloc(b64_encoded_len(png.len) + 1);
	b64_encode(png.data, png.len, b);
	/* hausdorff_dt and boundary at 1536x1536 keep the worker busy for a while. */
	char *body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"hausdorff_dt\", \"boundary\"]}", b,
			 b);
	/*
	 * The first is computed, the second waits in the queue (each seen on
	 * /metrics before the next is sent, not assumed after a pause); the
	 * rest arrive while both are taken.
	 */
	for (int i = 0; i < N; i++) {
		args[i].body = body;
		pthread_create(&th[i], NULL, post_thread, &args[i]);
		if (i == 0)
			wait_gauge("\nsegloss_workers_busy ", 1);
		if (i == 1)
			wait_gauge("\nsegloss_queue_depth ", 1);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < N; i++) {
		char ra[16];
		if (args[i].r.status == 200)
			ok++;
		if (args[i].r.status == 503) {
			busy++;
			ck_assert_int_eq(hc_header(&args[i].r, "Retry-After", ra, sizeof(ra)), 0);
			ck_assert_ptr_nonnull(strstr(args[i].r.body, "the work queue is full"));
		}
		hc_free(&args[i].r);
	}
	ck_assert_int_ge(ok, 2);
	ck_assert_int_ge(busy, 1);
	ck_assert_int_eq(ok + busy, N);
	free(body);
	free(b);
	buf_release(&png);
}
END_TEST

/*
 * A raw request, for what the client helper will not send (chunked
 * bodies, no Content-Length); the whole answer lands in text (cap bytes).
 * Returns the status, -1 without one.
 */
static int raw_request(const char *request, char *text, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(text, 0, cap);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	send(fd, request, strlen(request), MSG_NOSIGNAL);
	ssize_t n = recv(fd, text, cap - 1, MSG_WAITALL);
	close(fd);
	return n > 12 ? atoi(text + 9) : -1;
}

static int raw_status(const char *request)
{
	char text[4096];

	return raw_request(request, text, sizeof(text));
}

/* A POST without a body (curl -X POST: no Content-Length, no Transfer-Encoding) is told so, with 400. */
START_TEST(test_empty_post)
{
	static const char *const routes[] = {"/v1/evaluate", "/v1/weight-map", "/v1/jobs"};
	char text[4096], want[160];

	for (int i = 0; i < 3; i++) {
		char req[256];
		snprintf(want, sizeof(want),
			 "\"detail\":\"empty body: POST %s needs a JSON (application/json) or multipart/form-data body\"",
			 routes[i]);
		/* As curl -X POST sends it, then with Content-Length: 0 and a Content-Type. */
		snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nConnection: close\r\n\r\n", routes[i]);
		ck_assert_int_eq(raw_request(req, text, sizeof(text)), 400);
		ck_assert_msg(strstr(text, want) != NULL, "%s", text);
		snprintf(req, sizeof(req),
			 "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 0\r\n"
			 "Connection: close\r\n\r\n",
			 routes[i]);
		ck_assert_int_eq(raw_request(req, text, sizeof(text)), 400);
		ck_assert_msg(strstr(text, want) != NULL, "%s", text);
	}
}
END_TEST

START_TEST(test_chunked_body_needs_length)
{
	int st = raw_status("POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
	ck_assert_int_eq(st, 411);
}
END_TEST

START_TEST(test_api_keys)
{
	char path[] = "/tmp/check_http_keysXXXXXX";
	int fd = mkstemp(path);
	hc_response r;
	char v[256];
	seg_error err = {0};

	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(write(fd, "# team keys\nkey-one\n\n  key-two  \n", 34), 0);
	close(fd);
	teardown();
	api_keys_file = path;
	api_key = "env-key";
	start_server(1, 4, 1u << 20, 1u << 20);
	api_keys_file = NULL;
	api_key = NULL;

	/* Open: liveness, readiness, metrics. */
	const char *open_paths[] = {"/healthz", "/readyz", "/metrics"};
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(hc_request(port, "GET", open_paths[i], NULL, NULL, 0, &r), 0);
		ck_assert_int_eq(r.status, 200);
		hc_free(&r);
	}
	/* /v1 needs a key. */
	ck_assert_int_eq(hc_request(port, "GET", "/v1/losses", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(hc_header(&r, "WWW-Authenticate", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "Bearer realm=\"segloss\"");
	expect_problem(&r, 401, "an API key is required");
	ck_assert_int_eq(hc_request(port, "GET", "/v1/losses", "Authorization: Bearer key-on\r\n", NULL, 0, &r), 0);
	hc_header(&r, "WWW-Authenticate", v, sizeof(v));
	ck_assert_str_eq(v, "Bearer realm=\"segloss\", error=\"invalid_token\"");
	expect_problem(&r, 401, "the bearer token is not a valid API key");
	/* Another scheme is no bearer token: the plain challenge (RFC 6750 §3.1). */
	ck_assert_int_eq(hc_request(port, "GET", "/v1/losses", "Authorization: Basic a2V5LW9uZQ==\r\n", NULL, 0, &r), 0);
	hc_header(&r, "WWW-Authenticate", v, sizeof(v));
	ck_assert_str_eq(v, "Bearer realm=\"segloss\"");
	hc_header(&r, "Cache-Control", v, sizeof(v));
	ck_assert_str_eq(v, "no-store");
	expect_problem(&r, 401, "an API key is required");
	/* A POST without a key is refused before its body is read. */
	ck_assert_int_eq(hc_request(port, "POST", "/v1/evaluate", "Content-Type: application/json\r\n", "{}", 2, &r), 0);
	expect_problem(&r, 401, "an API key is required");
	const char *good[] = {"Authorization: Bearer key-one\r\n", "Authorization: Bearer key-two\r\n",
			      "Authorization: bearer env-key\r\n"};
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(hc_request(port, "GET", "/v1/losses", good[i], NULL, 0, &r), 0);
		ck_assert_msg(r.status == 200, "%s: %d", good[i], r.status);
		hc_free(&r);
	}
	/* Reload: key-one is revoked, key-three added; the single key stays. */
	FILE *f = fopen(path, "w");
	fputs("key-two\nkey-three\n", f);
	fclose(f);
	ck_assert_int_eq(http_reload_keys(srv, &err), 3);
	ck_assert_int_eq(hc_request(port, "GET", "/v1/losses", good[0], NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 401);
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "GET", "/v1/losses", "Authorization: Bearer key-three\r\n", NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	/* A broken file keeps the old keys. */
	f = fopen(path, "w");
	fputs("a key with spaces\n", f);
	fclose(f);
	ck_assert_int_eq(http_reload_keys(srv, &err), -1);
	ck_assert_str_eq(err.msg, "API keys file line 1: keys are printable ASCII without spaces");
	ck_assert_int_eq(hc_request(port, "GET", "/v1/losses", "Authorization: Bearer key-three\r\n", NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	unlink(path);
}
END_TEST

START_TEST(test_cors_origins_parse)
{
	cors *c = NULL;
	seg_error err = {0};

	ck_assert_int_eq(cors_new(NULL, &c, &err), SEG_OK);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(cors_new(" , ", &c, &err), SEG_OK);
	ck_assert_ptr_null(c);
	ck_assert_ptr_null(cors_allow(NULL, "http://a.example"));

	ck_assert_int_eq(cors_new(" https://a.example , http://127.0.0.1:8081,http://[::1]:9000 ", &c, &err), SEG_OK);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(cors_varies(c), 1);
	ck_assert_str_eq(cors_allow(c, "https://a.example"), "https://a.example");
	ck_assert_str_eq(cors_allow(c, "http://127.0.0.1:8081"), "http://127.0.0.1:8081");
	ck_assert_str_eq(cors_allow(c, "http://[::1]:9000"), "http://[::1]:9000");
	ck_assert_ptr_null(cors_allow(c, "http://a.example"));   /* scheme differs */
	ck_assert_ptr_null(cors_allow(c, "https://a.example:443")); /* exact match only */
	ck_assert_ptr_null(cors_allow(c, NULL));
	cors_free(c);

	ck_assert_int_eq(cors_new("*", &c, &err), SEG_OK);
	ck_assert_int_eq(cors_varies(c), 0);
	ck_assert_str_eq(cors_allow(c, "http://anything.example"), "*");
	cors_free(c);

	const char *bad[] = {"https://a.example/", "a.example", "ftp://a.example", "https://a.example/path",
			     "http://a.example:123456", "http://", "https://a b.example"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(cors_new(bad[i], &c, &err) == SEG_EINVAL, "%s accepted", bad[i]);
		ck_assert_ptr_null(c);
		ck_assert_msg(strstr(err.msg, "is not scheme://host[:port]") != NULL, "%s", err.msg);
	}
	ck_assert_int_eq(cors_new("*, https://a.example", &c, &err), SEG_EINVAL);
	ck_assert_str_eq(err.msg, "CORS origins: '*' allows every origin and cannot be listed with others");

	/* 64 origins are taken, the 65th is refused. */
	char list[65 * 32] = "";
	for (int i = 0; i < 65; i++) {
		char one[32];
		snprintf(one, sizeof(one), "%shttp://h%d.example", i ? "," : "", i);
		strcat(list, one);
		if (i == 63) {
			ck_assert_int_eq(cors_new(list, &c, &err), SEG_OK);
			ck_assert_str_eq(cors_allow(c, "http://h63.example"), "http://h63.example");
			cors_free(c);
		}
	}
	ck_assert_int_eq(cors_new(list, &c, &err), SEG_EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err.msg, "at most 64 CORS origins");
}
END_TEST

START_TEST(test_cors)
{
	hc_response r;
	char v[256];
	const char *pre = "Origin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n"
			  "Access-Control-Request-Headers: authorization, content-type\r\n";

	/* CORS off (the default): no headers, and OPTIONS is just another method. */
	ck_assert_int_eq(hc_request(port, "GET", "/v1/losses", "Origin: https://app.example\r\n", NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_ne(hc_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)), 0);
	ck_assert_int_ne(hc_header(&r, "Vary", v, sizeof(v)), 0);
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "OPTIONS", "/v1/evaluate", pre, NULL, 0, &r), 0);
	expect_problem(&r, 405, "OPTIONS is not allowed");

	teardown();
	cors_origins = "https://app.example";
	api_key = "k";
	start_server(1, 4, 1u << 20, 1u << 20);
	cors_origins = NULL;
	api_key = NULL;

	/* A preflight needs no key: 204 with what the path allows. */
	ck_assert_int_eq(hc_request(port, "OPTIONS", "/v1/evaluate", pre, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 204);
	header_is(&r, "Access-Control-Allow-Origin", "https://app.example");
	header_is(&r, "Access-Control-Allow-Methods", "POST");
	header_is(&r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
	header_is(&r, "Access-Control-Max-Age", CORS_MAX_AGE);
	header_is(&r, "Vary", "Origin");
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "OPTIONS", "/v1/runs/r1",
				    "Origin: https://app.example\r\nAccess-Control-Request-Method: DELETE\r\n", NULL, 0,
				    &r),
			 0);
	ck_assert_int_eq(r.status, 204);
	header_is(&r, "Access-Control-Allow-Methods", "GET, HEAD, DELETE");
	hc_free(&r);
	/* Another origin, or an unknown path: a problem, and no grant. */
	ck_assert_int_eq(hc_request(port, "OPTIONS", "/v1/evaluate",
				    "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n", NULL, 0,
				    &r),
			 0);
	ck_assert_int_ne(hc_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)), 0);
	expect_problem(&r, 403, "origin 'https://evil.example' may not call this API from a browser");
	ck_assert_int_eq(hc_request(port, "OPTIONS", "/v1/evaluate", "Access-Control-Request-Method: POST\r\n", NULL, 0,
				    &r),
			 0);
	expect_problem(&r, 403, "origin '(none)' may not call this API from a browser");
	ck_assert_int_eq(hc_request(port, "OPTIONS", "/v1/nope", pre, NULL, 0, &r), 0);
	expect_problem(&r, 404, "no route for '/v1/nope'");
	/* An OPTIONS that is no preflight is a request like any other: the key first. */
	ck_assert_int_eq(hc_request(port, "OPTIONS", "/v1/evaluate", NULL, NULL, 0, &r), 0);
	expect_problem(&r, 401, "an API key is required");

	/* Actual requests: the grant and the exposed headers on successes and errors alike. */
	ck_assert_int_eq(hc_request(port, "GET", "/v1/losses", "Origin: https://app.example\r\nAuthorization: Bearer k\r\n",
				    NULL, 0, &r),
			 0);
	ck_assert_int_eq(r.status, 200);
	header_is(&r, "Access-Control-Allow-Origin", "https://app.example");
	header_is(&r, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
	header_is(&r, "Vary", "Origin");
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "GET", "/v1/losses", "Origin: https://app.example\r\n", NULL, 0, &r), 0);
	header_is(&r, "Access-Control-Allow-Origin", "https://app.example");
	expect_problem(&r, 401, "an API key is required");
	ck_assert_int_eq(hc_request(port, "GET", "/healthz", "Origin: https://evil.example\r\n", NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_ne(hc_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)), 0);
	header_is(&r, "Vary", "Origin");
	hc_free(&r);
}
END_TEST

/* Run and item names are bound as SQL parameters and never become paths: hostile ones are data or 422s. */
/* GET path and expect a problem with exactly this detail. */
static void get_problem(const char *method, const char *path, int status, const char *detail)
{
	hc_response r;
	cJSON *p;

	ck_assert_int_eq(hc_request(port, method, path, NULL, NULL, 0, &r), 0);
	ck_assert_msg(r.status == status, "%s %s: %d %s", method, path, r.status, r.body);
	if (strcmp(method, "HEAD") != 0) {
		p = cJSON_Parse(r.body);
		ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "detail")), detail);
		cJSON_Delete(p);
	}
	hc_free(&r);
}

/* Query parameters a route does not read, and an order_by key the run does not have, are 422s that say so. */
START_TEST(test_unknown_query_and_order_key)
{
	char *t = b64_file(FIX "blobs_soft8/target.png");
	char *body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"bce\", \"dice\"], "
			 "\"metrics\": [\"iou\"], \"run\": \"q\", \"item\": \"a\"}",
			 t, t);
	hc_response r = post_json("/v1/evaluate", body);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);

	get_problem("GET", "/v1/runs/q/items?sort=losses.bce", 422,
		    "unknown query parameter 'sort': GET /v1/runs/q/items takes after, limit, order_by, order");
	get_problem("GET", "/v1/runs/q/items?limt=5&after=0", 422,
		    "unknown query parameter 'limt' (did you mean 'limit'?): GET /v1/runs/q/items takes after, limit, "
		    "order_by, order");
	get_problem("HEAD", "/v1/runs/q/items?ordr=desc", 422, NULL);
	get_problem("GET", "/v1/runs/q/compare/q?limit=2", 422,
		    "unknown query parameter 'limit': GET /v1/runs/q/compare/q takes none");
	get_problem("GET", "/v1/runs?x=1&y=", 422, "unknown query parameters 'x', 'y': GET /v1/runs takes none");
	get_problem("GET", "/v1/losses?format=json", 422, "unknown query parameter 'format': GET /v1/losses takes none");
	get_problem("GET", "/v1/runs/nothere/items?order_by=losses.bce&sort=1", 422,
		    "unknown query parameter 'sort': GET /v1/runs/nothere/items takes after, limit, order_by, order");
	/* Outside /v1, probes ignore queries (cache busters). */
	ck_assert_int_eq(hc_request(port, "GET", "/healthz?ts=1", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);

	/* order_by a key the run does not have: a typo is named, with the keys there are. */
	get_problem("GET", "/v1/runs/q/items?order_by=losses.bec", 422,
		    "order_by 'losses.bec' names no score of this run (did you mean 'losses.bce'?); it has losses.bce, "
		    "losses.dice, metrics.iou");
	get_problem("GET", "/v1/runs/q/items?order_by=losses.iou", 422,
		    "order_by 'losses.iou' names no score of this run (did you mean 'metrics.iou'?); it has losses.bce, "
		    "losses.dice, metrics.iou");
	get_problem("GET", "/v1/runs/q/items?order_by=metrics.hausdorff", 422,
		    "order_by 'metrics.hausdorff' names no score of this run; it has losses.bce, losses.dice, metrics.iou");
	/* The run is looked up first: an unknown run is a 404 whatever order_by names. */
	get_problem("GET", "/v1/runs/nothere/items?order_by=losses.bec", 404, "no run 'nothere'");
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs/q/items?order_by=losses.bce&order=desc", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	free(body);
	free(t);
}
END_TEST

START_TEST(test_hostile_names)
{
	char *t = b64_file(FIX "blobs_soft8/target.png");
	char *p = b64_file(FIX "blobs_soft8/prediction.png");
	const char *bad_runs[] = {"../../etc/passwd", "run name", "x'; DROP TABLE runs; --", "", "r\u00e9sultat"};
	for (int i = 0; i < 5; i++) {
		char *body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"run\": \"%s\", \"item\": \"a\"}", t, p,
				 bad_runs[i]);
		hc_response r = post_json("/v1/evaluate", body);
		expect_problem(&r, 422, "run name ");
		free(body);
	}
	/* As JSON string contents: SQL, a path, JSON escapes for é中😀, an escaped quote, percent signs. */
	const char *items[] = {"'); DELETE FROM items; --", "../../../../tmp/x", "\\u00e9\\u4e2d\\ud83d\\ude00",
			       "quote\\\"inside", "%00%2e%2e"};
	for (int i = 0; i < 5; i++) {
		char *body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"run\": \"hostile\", \"item\": \"%s\"}",
				 t, p, items[i]);
		hc_response r = post_json("/v1/evaluate", body);
		ck_assert_msg(r.status == 200, "%s: %s", items[i], r.body);
		hc_free(&r);
		free(body);
	}
	hc_response r = post_json("/v1/evaluate", "{\"target\": \"QUJD\", \"prediction\": \"QUJD\", \"run\": \"h\", "
						  "\"item\": \"tab\\there\"}");
	expect_problem(&r, 422, "item holds a control character");
	/* A NUL escape would cut the name short: refused, not truncated. */
	r = post_json("/v1/evaluate", "{\"target\": \"QUJD\", \"prediction\": \"QUJD\", \"run\": \"n1\\u0000zz\"}");
	expect_problem(&r, 422, "JSON strings may not contain \\u0000");
	/* An escaped backslash before u0000 is text, not a NUL. */
	r = post_json("/v1/evaluate", "{\"target\": \"QUJD\", \"prediction\": \"QUJD\", \"run\": \"h2\", \"item\": \"a\\\\u0000\"}");
	expect_problem(&r, 415, "target is neither");
	/* The same request gets the same ETag, and If-None-Match with it gets 304. */
	char e1[128], e2[128], hdr[200];
	for (int k = 0; k < 2; k++) {
		const char *path = k ? "/v1/runs/hostile" : "/v1/runs";
		ck_assert_int_eq(hc_request(port, "GET", path, NULL, NULL, 0, &r), 0);
		hc_header(&r, "ETag", e1, sizeof(e1));
		hc_free(&r);
		ck_assert_int_eq(hc_request(port, "GET", path, NULL, NULL, 0, &r), 0);
		hc_header(&r, "ETag", e2, sizeof(e2));
		hc_free(&r);
		ck_assert_str_eq(e1, e2);
		snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", e1);
		ck_assert_int_eq(hc_request(port, "GET", path, hdr, NULL, 0, &r), 0);
		ck_assert_int_eq(r.status, 304);
		hc_free(&r);
	}
	/* An Idempotency-Key longer than 255 characters is refused, not cut. */
	char key[400];
	memset(key, 'k', 300);
	snprintf(key + 300, sizeof(key) - 300, "\r\n");
	char longhdr[500];
	snprintf(longhdr, sizeof(longhdr), "Content-Type: application/json\r\nIdempotency-Key: %s", key);
	ck_assert_int_eq(hc_request(port, "POST", "/v1/jobs", longhdr, "{}", 2, &r), 0);
	expect_problem(&r, 422, "Idempotency-Key must be 1 to 255 characters");
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs/hostile/items?limit=10", NULL, NULL, 0, &r), 0);
	cJSON *j = cJSON_Parse(r.body), *it;
	int n = 0, found = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items"))
	{
		n++;
		found += strcmp(cJSON_GetObjectItem(it, "item")->valuestring, "'); DELETE FROM items; --") == 0;
		found += strcmp(cJSON_GetObjectItem(it, "item")->valuestring, "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80") == 0;
	}
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(found, 2);
	cJSON_Delete(j);
	hc_free(&r);
	/* The path parameter is checked too: a hostile name in the URL is a 422, not a lookup. */
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs/x%27%3B%20DROP%20TABLE%20runs", NULL, NULL, 0, &r), 0);
	expect_problem(&r, 422, "run name may hold only");
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs", NULL, NULL, 0, &r), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "\"hostile\""));
	hc_free(&r);
	free(t);
	free(p);
}
END_TEST

/* mp_parse on its own: parts in order, and a boundary over 70 characters refused, not overrun. */
START_TEST(test_multipart_parser)
{
	static const char body[] = "preamble\r\n--b1\r\nContent-Disposition: form-data; name=\"target\"\r\n\r\n"
				   "T\r\n--b1\r\nContent-Disposition: form-data; name=\"prediction\"\r\n\r\nPP\r\n--b1--\r\n";
	char longb[MP_BOUNDARY_MAX + 2];
	char out[MP_BOUNDARY_MAX + 1];
	const mp_part *field;
	mp_form form;
	seg_error err = {0};

	ck_assert_int_eq(mp_parse((const uint8_t *)body, sizeof(body) - 1, "b1", &form, &err), SEG_OK);
	ck_assert_uint_eq(form.count, 2);
	field = mp_find(&form, "prediction");
	ck_assert_ptr_nonnull(field);
	ck_assert_uint_eq(field->len, 2);
	ck_assert_int_eq(memcmp(field->data, "PP", 2), 0);

	memset(longb, 'b', sizeof(longb) - 1);
	longb[sizeof(longb) - 1] = '\0';
	ck_assert_int_eq(mp_parse((const uint8_t *)body, sizeof(body) - 1, longb, &form, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "multipart: boundary must be 1 to 70 characters");
	ck_assert_int_eq(mp_parse((const uint8_t *)body, sizeof(body) - 1, "", &form, &err), SEG_EDECODE);
	longb[MP_BOUNDARY_MAX] = '\0'; /* 70 characters: allowed, just absent from this body */
	ck_assert_int_eq(mp_parse((const uint8_t *)body, sizeof(body) - 1, longb, &form, &err), SEG_EDECODE);
	ck_assert_str_eq(err.msg, "multipart: body does not contain the boundary");
	ck_assert_int_eq(mp_boundary("multipart/form-data; boundary=x", out, sizeof(out), &err), SEG_OK);
	ck_assert_str_eq(out, "x");
}
END_TEST

/* The bytes of a GET, whose status must be 200 and Content-Type type; caller frees r. */
static void get_kept(const char *path, const char *type, hc_response *r)
{
	char ct[64];

	ck_assert_int_eq(hc_request(port, "GET", path, NULL, NULL, 0, r), 0);
	ck_assert_msg(r->status == 200, "%s: %d %s", path, r->status, r->body);
	ck_assert_int_eq(hc_header(r, "Content-Type", ct, sizeof(ct)), 0);
	ck_assert_str_eq(ct, type);
}

/*
 * keep_masks: what was uploaded comes back byte for byte by the item's
 * seq (multipart files, base64, an annotation export as JSON text), for
 * single and batch requests; without a run it is a 422; over the
 * per-item cap the scores are recorded and a warning says why the masks
 * were not; ETags tell the target from the prediction.
 */
START_TEST(test_keep_masks)
{
	size_t tlen, plen;
	uint8_t *t = tu_read_file(FIX "blobs_soft8/target.png", &tlen);
	uint8_t *p = tu_read_file(FIX "blobs_soft8/prediction.png", &plen);
	char *tb = b64_file(FIX "blobs_soft8/target.png"), *pb = b64_file(FIX "blobs_soft8/prediction.png");
	char etag_t[64], etag_p[64], hdr[128];
	hc_response r;
	buf body;
	cJSON *o;

	/* Multipart files, with an item name holding '/'. */
	part parts[] = {{"target", "t.png", t, tlen}, {"prediction", "p.png", p, plen}, {"run", NULL, "kept", 4},
			{"item", NULL, "scans/0001", 10}, {"keep_masks", NULL, "true", 4}};
	multipart(parts, 5, &body);
	ck_assert_int_eq(hc_request(port, "POST", "/v1/evaluate", "Content-Type: multipart/form-data; boundary=XyZbOuNdArY\r\n",
				    body.data, body.len, &r), 0);
	ck_assert_msg(r.status == 200, "%s", r.body);
	o = cJSON_Parse(r.body);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(o, "masks_kept")));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "warnings")), 0);
	cJSON_Delete(o);
	hc_free(&r);
	buf_release(&body);
	get_kept("/v1/runs/kept/items/1/target", "image/png", &r);
	ck_assert_uint_eq(r.body_len, tlen);
	ck_assert_int_eq(memcmp(r.body, t, tlen), 0);
	ck_assert_int_eq(hc_header(&r, "ETag", etag_t, sizeof(etag_t)), 0);
	hc_free(&r);
	get_kept("/v1/runs/kept/items/1/prediction", "image/png", &r);
	ck_assert_uint_eq(r.body_len, plen);
	ck_assert_int_eq(memcmp(r.body, p, plen), 0);
	ck_assert_int_eq(hc_header(&r, "ETag", etag_p, sizeof(etag_p)), 0);
	ck_assert_str_ne(etag_t, etag_p);
	hc_free(&r);
	snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", etag_t);
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs/kept/items/1/target", hdr, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 304);
	hc_free(&r);
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs/kept/items/1/prediction", hdr, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);

	/* JSON: the base64's bytes are kept. */
	char *json = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"run\": \"kept\", \"item\": \"b64\", \"keep_masks\": true}",
		   tb, pb);
	r = post_json("/v1/evaluate", json);
	ck_assert_msg(r.status == 200, "%s", r.body);
	hc_free(&r);
	free(json);
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs/kept/items?limit=10", NULL, NULL, 0, &r), 0);
	o = cJSON_Parse(r.body);
	hc_free(&r);
	int64_t seq_b64 = 0;
	cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "items"))
	if (strcmp(cJSON_GetObjectItem(it, "item")->valuestring, "b64") == 0)
		seq_b64 = (int64_t)cJSON_GetObjectItem(it, "seq")->valuedouble;
	cJSON_Delete(o);
	ck_assert_int_gt(seq_b64, 1);
	char *path = fmt("/v1/runs/kept/items/%lld/prediction", (long long)seq_b64);
	get_kept(path, "image/png", &r);
	ck_assert_uint_eq(r.body_len, plen);
	ck_assert_int_eq(memcmp(r.body, p, plen), 0);
	hc_free(&r);
	free(path);

	/* An annotation export (a hard mask) as the prediction: kept as compact JSON. */
	json = fmt("{\"target\": \"%s\", \"prediction\": {\"coco_rle\": {\"size\": [64, 64], \"counts\": [0, 4096]}}, "
		   "\"run\": \"kept\", \"item\": \"rle\", \"keep_masks\": true}",
		   tb);
	r = post_json("/v1/evaluate", json);
	ck_assert_msg(r.status == 200, "%s", r.body);
	hc_free(&r);
	free(json);
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs/kept/items?after=0&limit=100", NULL, NULL, 0, &r), 0);
	o = cJSON_Parse(r.body);
	hc_free(&r);
	int64_t seq_rle = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "items"))
	if (strcmp(cJSON_GetObjectItem(it, "item")->valuestring, "rle") == 0)
		seq_rle = (int64_t)cJSON_GetObjectItem(it, "seq")->valuedouble;
	cJSON_Delete(o);
	path = fmt("/v1/runs/kept/items/%lld/prediction", (long long)seq_rle);
	get_kept(path, "application/json", &r);
	ck_assert_str_eq(r.body, "{\"coco_rle\":{\"size\":[64,64],\"counts\":[0,4096]}}");
	hc_free(&r);
	free(path);

	/* A batch keeps each item's masks. */
	json = fmt("{\"items\": [{\"target\": \"%s\", \"prediction\": \"%s\", \"item\": \"x1\"}], \"run\": \"kept-batch\", "
		   "\"keep_masks\": true}",
		   tb, pb);
	r = post_json("/v1/evaluate", json);
	ck_assert_msg(r.status == 200, "%s", r.body);
	o = cJSON_Parse(r.body);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "items"), 0), "masks_kept")));
	cJSON_Delete(o);
	hc_free(&r);
	free(json);
	get_kept("/v1/runs/kept-batch/items/1/target", "image/png", &r);
	ck_assert_uint_eq(r.body_len, tlen);
	hc_free(&r);

	/* Refusals and what is missing. */
	json = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"keep_masks\": true}", tb, pb);
	r = post_json("/v1/evaluate", json);
	expect_problem(&r, 422, "\"keep_masks\" needs a \"run\" to keep the masks in");
	free(json);
	json = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"run\": \"kept\", \"keep_masks\": 1}", tb, pb);
	r = post_json("/v1/evaluate", json);
	expect_problem(&r, 422, "\"keep_masks\" must be true or false");
	free(json);
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs/kept/items/999/target", NULL, NULL, 0, &r), 0);
	expect_problem(&r, 404, "run 'kept' has no item with seq 999");
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs/nothing/items/1/target", NULL, NULL, 0, &r), 0);
	expect_problem(&r, 404, "no run 'nothing'");
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs/kept/items/-1/target", NULL, NULL, 0, &r), 0);
	expect_problem(&r, 422, "seq must be an item's sequence number (a positive integer), got '-1'");
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs/kept/items/1/target?x=1", NULL, NULL, 0, &r), 0);
	expect_problem(&r, 422, "unknown query parameter 'x'");

	/* Over the per-item cap: scores recorded, masks not, and the warning says why. */
	teardown();
	keep_item_cap = 1000;
	setup();
	keep_item_cap = 0;
	json = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"run\": \"capped\", \"item\": \"a\", \"keep_masks\": true}",
		   tb, pb);
	r = post_json("/v1/evaluate", json);
	ck_assert_msg(r.status == 200, "%s", r.body);
	o = cJSON_Parse(r.body);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(o, "masks_kept")));
	char *want = fmt("masks not kept: the target and the prediction hold %zu bytes, over the per-item cap of 1000 bytes "
			 "(--keep-masks-max-item)",
			 tlen + plen);
	ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "warnings"), 0)->valuestring, want);
	free(want);
	cJSON_Delete(o);
	hc_free(&r);
	free(json);
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs/capped/items/1/target", NULL, NULL, 0, &r), 0);
	expect_problem(&r, 404, "item 'a' (seq 1) of run 'capped' was recorded without its masks");

	/*
	 * The run's cap: room for two items' masks and a half. The third item
	 * would pass it: its scores are recorded, its masks not, and the
	 * warning says what the run holds; another run has its own cap, and
	 * an item posted again frees what its old masks held.
	 */
	size_t size = tlen + plen;
	teardown();
	keep_run_cap = 2 * size + size / 2;
	setup();
	keep_run_cap = 0;
	static const char *const runcap[][3] = {
		{"runcap", "a", "t"}, {"runcap", "b", "t"}, {"runcap", "c", "f"}, {"other", "c", "t"}, {"runcap", "a", "t"},
	};
	for (size_t i = 0; i < sizeof(runcap) / sizeof(runcap[0]); i++) {
		json = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"run\": \"%s\", \"item\": \"%s\", "
			   "\"keep_masks\": true}",
			   tb, pb, runcap[i][0], runcap[i][1]);
		r = post_json("/v1/evaluate", json);
		ck_assert_msg(r.status == 200, "%s", r.body);
		o = cJSON_Parse(r.body);
		cJSON *warnings = cJSON_GetObjectItem(o, "warnings");
		if (runcap[i][2][0] == 't') {
			ck_assert_msg(cJSON_IsTrue(cJSON_GetObjectItem(o, "masks_kept")), "%s %s: %s", runcap[i][0], runcap[i][1],
				      r.body);
			ck_assert_int_eq(cJSON_GetArraySize(warnings), 0);
		} else {
			ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(o, "masks_kept")));
			want = fmt("masks not kept: run 'runcap' keeps %zu bytes of masks, and these %zu bytes would pass its "
				   "cap of %zu bytes (--keep-masks-max-run)",
				   2 * size, size, 2 * size + size / 2);
			ck_assert_int_eq(cJSON_GetArraySize(warnings), 1);
			ck_assert_str_eq(cJSON_GetArrayItem(warnings, 0)->valuestring, want);
			free(want);
		}
		cJSON_Delete(o);
		hc_free(&r);
		free(json);
	}
	/* c's scores are there (seq 3), its masks not; a's new version (seq 4) kept its masks. */
	ck_assert_int_eq(hc_request(port, "GET", "/v1/runs/runcap/items/3/prediction", NULL, NULL, 0, &r), 0);
	expect_problem(&r, 404, "item 'c' (seq 3) of run 'runcap' was recorded without its masks");
	get_kept("/v1/runs/runcap/items/4/prediction", "image/png", &r);
	ck_assert_uint_eq(r.body_len, plen);
	hc_free(&r);
	free(t);
	free(p);
	free(tb);
	free(pb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("in-process"), *pg;
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_health_ready_catalogue_spec_metrics);
	tcase_add_test(tc, test_request_id);
	tcase_add_test(tc, test_evaluate_json_forms_agree);
	tcase_add_test(tc, test_evaluate_matches_cli);
	tcase_add_test(tc, test_evaluate_multipart_and_maps);
	tcase_add_test(tc, test_multipart_lists_with_brackets);
	tcase_add_test(tc, test_weight_map_accept);
	tcase_add_test(tc, test_heatmap_scale);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_queue_full_is_503);
	tcase_add_test(tc, test_chunked_body_needs_length);
	tcase_add_test(tc, test_empty_post);
	tcase_add_test(tc, test_api_keys);
	tcase_add_test(tc, test_cors_origins_parse);
	tcase_add_test(tc, test_cors);
	tcase_add_test(tc, test_unknown_query_and_order_key);
	tcase_add_test(tc, test_hostile_names);
	tcase_add_test(tc, test_multipart_parser);
	tcase_add_test(tc, test_keep_masks);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	if (tpg_server()) {
		/* The routes that read or write runs, on PostgreSQL (the rest never touch the store). */
		pg = tcase_create("postgres"); /* only when it runs: a TCase left out of the suite is never freed */
		tcase_add_checked_fixture(pg, setup_pg, teardown_pg);
		tcase_add_test(pg, test_unknown_query_and_order_key);
		tcase_add_test(pg, test_hostile_names);
		tcase_add_test(pg, test_keep_masks);
		tcase_set_timeout(pg, 120);
		suite_add_tcase(s, pg);
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
