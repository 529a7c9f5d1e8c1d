/*
 * service.c — evaluation and weight-map requests, end to end: parse,
 * decode (PNG/.npy, pixel-capped), compute with the core, encode.
 *
 * Each stage is timed so the response can say where its time went
 * (timing_ms) and the metrics can show it. The response JSON is built
 * with cJSON; maps are float32 .npy or heatmap PNG files in base64.
 */
#include "service/service.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cJSON.h>

#include "codec/b64.h"
#include "codec/mask.h"
#include "codec/npy.h"
#include "codec/pngio.h"
#include "core/eval.h"
#include "core/wmap.h"
#include "service/request.h"
#include "wire/wire.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *svc_decode_error_kind(const seg_error *err)
{
	const char *m = err->msg;

	if (err->status != SEG_EDECODE && err->status != SEG_ETOOBIG)
		return NULL;
	if (strstr(m, "png:"))
		return "png";
	if (strstr(m, "npy:"))
		return "npy";
	if (strstr(m, "base64"))
		return "base64";
	if (strstr(m, "JSON"))
		return "json";
	if (strstr(m, "multipart"))
		return "multipart";
	return NULL;
}

static void map_stats(const float *v, size_t n, double *lo, double *hi, double *mean)
{
	double a = INFINITY, b = -INFINITY, s = 0.0;

	for (size_t i = 0; i < n; i++) {
		a = v[i] < a ? v[i] : a;
		b = v[i] > b ? v[i] : b;
		s += v[i];
	}
	*lo = a;
	*hi = b;
	*mean = s / (double)n;
}

/* Base64 of raw (borrowed) as a new cJSON string, built without an intermediate copy. */
static cJSON *b64_string(const buf *raw)
{
	size_t n = b64_encoded_len(raw->len);
	char *text = malloc(n + 1);
	cJSON *s;

	if (text == NULL)
		return NULL;
	b64_encode(raw->data, raw->len, text);
	s = cJSON_CreateString(text);
	free(text);
	return s;
}

static seg_status encode_map(const float *v, int w, int h, int png, cJSON *into, const char *key, seg_error *err)
{
	buf raw;
	cJSON *obj = NULL, *data = NULL;
	double lo, hi, mean;
	seg_status st;

	buf_init(&raw, 0);
	st = png ? pngio_encode_heatmap(v, w, h, &raw, err) : npy_encode_f32(v, w, h, &raw, err);
	if (st != SEG_OK)
		goto out;
	map_stats(v, (size_t)w * (size_t)h, &lo, &hi, &mean);
	obj = cJSON_CreateObject();
	data = b64_string(&raw);
	if (obj == NULL || data == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory encoding map '%s'", key);
		goto out;
	}
	cJSON_AddStringToObject(obj, "format", png ? "png" : "npy");
	cJSON_AddStringToObject(obj, "dtype", png ? "uint8" : "float32");
	int shape3[3] = {h, w, 3};
	cJSON_AddItemToObject(obj, "shape", cJSON_CreateIntArray(shape3, png ? 3 : 2));
	cJSON_AddNumberToObject(obj, "min", lo);
	cJSON_AddNumberToObject(obj, "max", hi);
	cJSON_AddNumberToObject(obj, "mean", mean);
	cJSON_AddItemToObject(obj, "data", data);
	data = NULL;
	cJSON_AddItemToObject(into, key, obj);
	obj = NULL;
out:
	cJSON_Delete(data);
	cJSON_Delete(obj);
	buf_release(&raw);
	return st;
}

static void add_timing(cJSON *root, const svc_timing *t)
{
	cJSON *tm = cJSON_AddObjectToObject(root, "timing_ms");

	cJSON_AddNumberToObject(tm, "receive", round(t->receive * 1e6) / 1e3);
	cJSON_AddNumberToObject(tm, "base64", round(t->base64 * 1e6) / 1e3);
	cJSON_AddNumberToObject(tm, "decode", round(t->decode * 1e6) / 1e3);
	cJSON_AddNumberToObject(tm, "compute", round(t->compute * 1e6) / 1e3);
	cJSON_AddNumberToObject(tm, "encode", round(t->encode * 1e6) / 1e3);
	double total = t->receive + t->base64 + t->decode + t->compute + t->encode;
	cJSON_AddNumberToObject(tm, "total", round(total * 1e6) / 1e3);
}

/* Serialises root into out->body as JSON. */
static seg_status reply_json(cJSON *root, svc_reply *out, seg_error *err)
{
	char *text = cJSON_PrintUnformatted(root);
	seg_status st;

	if (text == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory writing the response");
	buf_init(&out->body, 0);
	st = buf_append(&out->body, text, strlen(text));
	cJSON_free(text);
	out->content_type = "application/json";
	return st == SEG_OK ? SEG_OK : seg_fail(err, st, "out of memory writing the response");
}

seg_status svc_evaluate(const svc_limits *lim, const char *content_type, const uint8_t *body, size_t len,
			svc_reply *out, svc_timing *t, seg_error *err)
{
	req_eval req;
	seg_target tgt = {0};
	seg_pred pred = {0};
	eval_warnings *warn = NULL;
	double values[REQ_MAX_SPECS];
	float *map = NULL;
	cJSON *root = NULL, *maps = NULL;
	seg_status st;

	buf_init(&out->body, 0);
	st = req_parse_eval(content_type, body, len, &req, err);
	t->base64 = req.base64_seconds;
	if (st != SEG_OK)
		goto out;
	double t1 = now();
	st = mask_decode_target(req.target.data, req.target.len, lim->max_pixels, &tgt, err);
	if (st == SEG_OK)
		st = mask_decode_pred(req.prediction.data, req.prediction.len, lim->max_pixels, req.logits, &pred, err);
	if (st == SEG_OK)
		st = mask_check_sizes(&tgt, &pred, err);
	double t2 = now();
	t->decode = t2 - t1;
	if (st != SEG_OK)
		goto out;

	warn = malloc(sizeof(*warn));
	root = cJSON_CreateObject();
	if (warn == NULL || root == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	st = eval_run(&tgt, &pred, req.specs, req.nspecs, values, warn, err);
	if (st != SEG_OK)
		goto out;
	size_t n = (size_t)tgt.width * (size_t)tgt.height;
	if (req.nmaps > 0) {
		map = malloc(n * sizeof(*map));
		maps = cJSON_CreateObject();
		if (map == NULL || maps == NULL) {
			st = seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d map", tgt.width, tgt.height);
			goto out;
		}
	}
	double t3 = now();
	t->compute = t3 - t2;
	for (size_t i = 0; i < req.nmaps; i++) {
		double c0 = now();
		st = eval_map(&tgt, &pred, &req.maps[i], map, err);
		double c1 = now();
		t->compute += c1 - c0;
		if (st == SEG_OK)
			st = encode_map(map, tgt.width, tgt.height, req.map_format == REQ_MAP_PNG, maps, req.maps[i].key, err);
		t->encode += now() - c1;
		if (st != SEG_OK)
			goto out;
	}
	double t4 = now();
	cJSON_AddNumberToObject(root, "width", tgt.width);
	cJSON_AddNumberToObject(root, "height", tgt.height);
	st = wire_add_results(root, req.specs, values, req.nspecs, warn);
	if (st != SEG_OK) {
		seg_fail(err, st, "out of memory");
		goto out;
	}
	if (maps) {
		cJSON_AddItemToObject(root, "maps", maps);
		maps = NULL;
	} else {
		cJSON_AddObjectToObject(root, "maps");
	}
	t->encode += now() - t4;
	add_timing(root, t);
	double t5 = now();
	st = reply_json(root, out, err);
	t->encode += now() - t5;
out:
	cJSON_Delete(maps);
	cJSON_Delete(root);
	free(map);
	free(warn);
	seg_target_release(&tgt);
	seg_pred_release(&pred);
	req_eval_release(&req);
	if (st != SEG_OK)
		buf_release(&out->body);
	return st;
}

/* The q-value of media type `type` in an Accept header, 0 when absent (wildcards count). */
static double accept_q(const char *accept, const char *type)
{
	double best = 0.0;
	const char *p = accept;
	size_t tlen = strlen(type);
	const char *slash = strchr(type, '/');

	while (p && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t n = strcspn(p, ",;");
		double q = 1.0;
		const char *params = p + n;
		if (*params == ';') {
			const char *qp = strstr(params, "q=");
			const char *next = strchr(params, ',');
			if (qp && (next == NULL || qp < next))
				q = atof(qp + 2);
		}
		int match = (n == tlen && strncasecmp(p, type, n) == 0) || (n == 3 && strncmp(p, "*/*", 3) == 0) ||
			    (slash && n == (size_t)(slash - type) + 2 && strncasecmp(p, type, (size_t)(slash - type) + 1) == 0 &&
			     p[n - 1] == '*');
		/* Wildcards count for a little less than an exact match. */
		if (match) {
			double v = (p[n - 1] == '*') ? q * 0.999 : q;
			best = v > best ? v : best;
		}
		p = strchr(p, ',');
	}
	return best;
}

const char *svc_negotiate_wmap(const char *accept)
{
	static const char *const types[] = {"application/json", "application/x-npy", "image/png"};
	const char *best = types[0];
	double best_q = 0.0;

	if (accept == NULL || *accept == '\0')
		return types[0];
	for (int i = 0; i < 3; i++) {
		double q = accept_q(accept, types[i]);
		if (q > best_q) {
			best_q = q;
			best = types[i];
		}
	}
	return best;
}

seg_status svc_weight_map(const svc_limits *lim, const char *content_type, const char *accept,
			  const uint8_t *body, size_t len, svc_reply *out, svc_timing *t, seg_error *err)
{
	req_wmap req;
	seg_target tgt = {0};
	float *w = NULL;
	buf raw;
	cJSON *root = NULL;
	const char *type = svc_negotiate_wmap(accept);
	seg_status st;

	buf_init(&out->body, 0);
	buf_init(&raw, 0);
	st = req_parse_wmap(content_type, body, len, &req, err);
	t->base64 = req.base64_seconds;
	if (st != SEG_OK)
		goto out;
	double t1 = now();
	st = mask_decode_target(req.target.data, req.target.len, lim->max_pixels, &tgt, err);
	double t2 = now();
	t->decode = t2 - t1;
	if (st != SEG_OK)
		goto out;
	size_t n = (size_t)tgt.width * (size_t)tgt.height;
	w = malloc(n * sizeof(*w));
	if (w == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d weight map", tgt.width, tgt.height);
		goto out;
	}
	wmap_info info;
	st = wmap_compute(&tgt, &req.params.par.wm, w, &info, err);
	double t3 = now();
	t->compute = t3 - t2;
	if (st != SEG_OK)
		goto out;
	if (strcmp(type, "image/png") == 0) {
		st = pngio_encode_heatmap(w, tgt.width, tgt.height, &out->body, err);
		out->content_type = "image/png";
	} else if (strcmp(type, "application/x-npy") == 0) {
		st = npy_encode_f32(w, tgt.width, tgt.height, &out->body, err);
		out->content_type = "application/x-npy";
	} else {
		double lo, hi, mean;
		st = npy_encode_f32(w, tgt.width, tgt.height, &raw, err);
		if (st != SEG_OK)
			goto out;
		map_stats(w, n, &lo, &hi, &mean);
		root = cJSON_CreateObject();
		cJSON *data = b64_string(&raw);
		if (root == NULL || data == NULL) {
			cJSON_Delete(data);
			st = seg_fail(err, SEG_ENOMEM, "out of memory");
			goto out;
		}
		cJSON_AddNumberToObject(root, "width", tgt.width);
		cJSON_AddNumberToObject(root, "height", tgt.height);
		cJSON_AddNumberToObject(root, "instances", info.instances);
		cJSON_AddNumberToObject(root, "min", lo);
		cJSON_AddNumberToObject(root, "max", hi);
		cJSON_AddNumberToObject(root, "mean", mean);
		cJSON_AddStringToObject(root, "format", "npy");
		cJSON_AddStringToObject(root, "dtype", "float32");
		int shape[2] = {tgt.height, tgt.width};
		cJSON_AddItemToObject(root, "shape", cJSON_CreateIntArray(shape, 2));
		cJSON_AddItemToObject(root, "data", data);
		t->encode = now() - t3;
		add_timing(root, t);
		st = reply_json(root, out, err);
	}
	t->encode = now() - t3;
out:
	cJSON_Delete(root);
	buf_release(&raw);
	free(w);
	seg_target_release(&tgt);
	req_wmap_release(&req);
	if (st != SEG_OK)
		buf_release(&out->body);
	return st;
}
