/*
 * service.c — the work behind each route: parse, decode (PNG/.npy,
 * pixel-capped), compute with the core, record in the store, encode.
 *
 * An evaluation request is one case (a target and a prediction) or a
 * batch of cases; both go through eval_request, which the synchronous
 * route and the job runner share, so a job's result is exactly what the
 * same body would have answered on /v1/evaluate. With a run, each case's
 * scores are recorded (store_record replaces an item posted again, and
 * aggregates are computed from the stored items, so they stay exact).
 *
 * Each stage is timed so responses can say where their time went
 * (timing_ms) and the metrics can show it. Responses are built with
 * cJSON; maps are float32 .npy or heatmap PNG files in base64.
 *
 * This file holds evaluation and weight maps, and the reply helpers the
 * route files share (svc_int.h); the run routes are in svc_runs.c, the
 * job routes in svc_jobs.c.
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
#include "core/mclass.h"
#include "core/mceval.h"
#include "core/wmap.h"
#include "service/inputs.h"
#include "service/kept.h"
#include "service/maps.h"
#include "service/request.h"
#include "service/svc_int.h"
#include "wire/problem.h"
#include "wire/wire.h"

double svc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int64_t svc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static double ms(double seconds)
{
	return round(seconds * 1e6) / 1e3;
}

static void add_timing(cJSON *root, const svc_timing *t)
{
	cJSON *tm = cJSON_AddObjectToObject(root, "timing_ms");

	cJSON_AddNumberToObject(tm, "receive", ms(t->receive));
	cJSON_AddNumberToObject(tm, "base64", ms(t->base64));
	cJSON_AddNumberToObject(tm, "decode", ms(t->decode));
	cJSON_AddNumberToObject(tm, "compute", ms(t->compute));
	cJSON_AddNumberToObject(tm, "encode", ms(t->encode));
	if (t->store > 0)
		cJSON_AddNumberToObject(tm, "store", ms(t->store));
	cJSON_AddNumberToObject(tm, "total",
				ms(t->receive + t->base64 + t->decode + t->compute + t->encode + t->store));
}

/* Serialises root into out->body as JSON with the given status. */
seg_status svc_reply_json(cJSON *root, int status, svc_reply *out, seg_error *err)
{
	char *text = cJSON_PrintUnformatted(root);
	seg_status st;

	if (text == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory writing the response");
	buf_release(&out->body);
	buf_init(&out->body, 0);
	st = buf_append(&out->body, text, strlen(text));
	cJSON_free(text);
	out->status = status;
	out->content_type = "application/json";
	return st == SEG_OK ? SEG_OK : seg_fail(err, st, "out of memory writing the response");
}

void svc_reply_init(svc_reply *out)
{
	memset(out, 0, sizeof(*out));
	buf_init(&out->body, 0);
}

/* ---- evaluation ------------------------------------------------------------------ */

/*
 * One case: decode, evaluate, maps. *obj receives {"width", "height",
 * "losses", "metrics", "warnings"[, "maps"]}; values (nspecs) the numbers
 * for recording. where prefixes decode errors in batches ("items[3].").
 */
/* The multi-class scores of a decoded pair into root; values receives the averages for recording. */
static seg_status eval_multi(const svc_ctx *ctx, const req_eval *rq, const inp_pair *in, cJSON *root, double *values,
			     mce_result *res, seg_error *err)
{
	int C = rq->mc.classes.count;
	const char **names = malloc((size_t)C * sizeof(*names));
	mce_opts o;
	seg_status st;

	if (names == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	mco_core_opts(&rq->mc, &o, names);
	st = mce_result_init(res, rq->nspecs, C, err);
	if (st == SEG_OK)
		st = mce_run(&in->labels, in->hard, in->scores.v ? &in->scores : NULL, rq->specs, rq->nspecs, &o, res,
			     ctx->par, err);
	if (st != SEG_OK)
		goto out;
	memcpy(values, res->value, rq->nspecs * sizeof(*values));
	cJSON_AddNumberToObject(root, "width", in->labels.width);
	cJSON_AddNumberToObject(root, "height", in->labels.height);
	st = wire_add_mc_results(root, &rq->mc.classes, rq->specs, rq->nspecs, res, &o, rq->mc.confusion,
				 (const char (*)[EVAL_WARN_LEN])in->notes, in->nnotes);
	if (st != SEG_OK)
		st = seg_fail(err, st, "out of memory");
out:
	free(names);
	return st;
}

static seg_status eval_case(const svc_ctx *ctx, const req_eval *rq, const req_case *c, const char *where,
			    cJSON **obj, double *values, mce_result *res, svc_timing *t, seg_error *err)
{
	inp_pair in;
	inp_mask tm = {c->target.data, c->target.len, c->target.kind, c->target.channel_axis, c->target.annot};
	inp_mask pm = {c->prediction.data, c->prediction.len, c->prediction.kind, c->prediction.channel_axis,
		       c->prediction.annot};
	eval_warnings *warn = NULL;
	cJSON *root = NULL, *maps = NULL;
	seg_status st;
	double t1 = svc_now();

	*obj = NULL;
	/* Target and prediction side by side when the lanes are free (the daemon's par runs inline when busy). */
	st = inp_decode_pair_par(&tm, &pm, rq->mc.multi ? &rq->mc.classes : NULL, ctx->lim.max_pixels, ctx->par, &in,
				 err);
	seg_target tgt = in.target;
	seg_pred pred = in.pred;
	double t2 = svc_now();
	t->decode += t2 - t1;
	if (st != SEG_OK) {
		if (where[0]) {
			char msg[SEG_ERRMSG_MAX];
			snprintf(msg, sizeof(msg), "%s", err->msg);
			seg_fail(err, st, "%s%s", where, msg);
		}
		goto out;
	}
	warn = malloc(sizeof(*warn));
	root = cJSON_CreateObject();
	if (warn == NULL || root == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	if (in.multi) {
		st = eval_multi(ctx, rq, &in, root, values, res, err);
		t->compute += svc_now() - t2;
		if (st == SEG_OK && !rq->batch) {
			maps = cJSON_CreateObject();
			st = maps == NULL ? seg_fail(err, SEG_ENOMEM, "out of memory") : maps_add(rq, &in, maps, t, err);
			if (st == SEG_OK) {
				cJSON_AddItemToObject(root, "maps", maps);
				maps = NULL;
			}
		}
		if (st != SEG_OK)
			goto out;
		*obj = root;
		root = NULL;
		goto out;
	}
	st = eval_run(&tgt, &pred, rq->specs, rq->nspecs, values, warn, ctx->par, err);
	t->compute += svc_now() - t2;
	if (st != SEG_OK)
		goto out;
	for (int i = 0; i < in.nnotes; i++)
		eval_warn(warn, "%s", in.notes[i]);
	if (rq->nmaps > 0) {
		maps = cJSON_CreateObject();
		st = maps == NULL ? seg_fail(err, SEG_ENOMEM, "out of memory") : maps_add(rq, &in, maps, t, err);
		if (st != SEG_OK)
			goto out;
	}
	double t4 = svc_now();
	cJSON_AddNumberToObject(root, "width", tgt.width);
	cJSON_AddNumberToObject(root, "height", tgt.height);
	st = wire_add_results(root, rq->specs, values, rq->nspecs, warn);
	if (st != SEG_OK) {
		seg_fail(err, st, "out of memory");
		goto out;
	}
	if (!rq->batch) {
		if (maps == NULL)
			maps = cJSON_CreateObject();
		cJSON_AddItemToObject(root, "maps", maps);
		maps = NULL;
	}
	t->encode += svc_now() - t4;
	*obj = root;
	root = NULL;
out:
	cJSON_Delete(maps);
	cJSON_Delete(root);

	free(warn);
	inp_pair_release(&in);
	return st;
}

/* A key "metric.class" or "count.class", kept beside the scores that borrow it. */
typedef char score_key[SPEC_KEY_MAX + CLS_KEY_MAX + 2];

/*
 * Records one case. A multi-class case (res not NULL with classes) also
 * records each metric per class (STORE_PER_CLASS, "iou.car") and each
 * class's counts (STORE_COUNTS: "tp.car", "fp.car", "fn.car" and
 * "valid"), from which a run's dataset-pooled scores are summed.
 */
static seg_status record_case(const svc_ctx *ctx, const req_eval *rq, const req_case *c, const char *item, cJSON *obj,
			      const double *values, const mce_result *res, svc_timing *t, seg_error *err)
{
	int C = rq->mc.multi ? rq->mc.classes.count : 0;
	size_t cap = rq->nspecs * (size_t)(1 + C) + 3 * (size_t)C + 1, n = 0;
	store_score *scores = malloc(cap * sizeof(*scores));
	score_key *keys = C ? malloc(cap * sizeof(*keys)) : NULL;
	double t0 = svc_now();
	seg_status st;

	if (scores == NULL || (C && keys == NULL)) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < rq->nspecs; i++) {
		scores[n].kind = spec_info_of(rq->specs[i].fn)->kind == SPEC_LOSS ? STORE_LOSS : STORE_METRIC;
		scores[n].key = rq->specs[i].key;
		scores[n++].value = values[i];
	}
	for (size_t i = 0; C && i < rq->nspecs; i++) {
		const spec_info *info = spec_info_of(rq->specs[i].fn);
		if (info->kind != SPEC_METRIC || rq->specs[i].fn == FN_M_PIXEL_ACCURACY)
			continue;
		for (int k = 0; k < C; k++) {
			double v = res->per_class[i * (size_t)C + k];
			if (isnan(v))
				continue; /* null, or a class the metric leaves out */
			snprintf(keys[n], sizeof(keys[n]), "%s.%s", rq->specs[i].key, rq->mc.classes.key[k]);
			scores[n] = (store_score){STORE_PER_CLASS, keys[n], v};
			n++;
		}
	}
	if (C) {
		double valid = 0.0;
		for (int k = 0; k < C; k++) {
			metric_counts m;
			static const char *const names[3] = {"tp", "fp", "fn"};
			mc_class_counts(res->confusion, C, k, &m);
			double v[3] = {m.tp, m.fp, m.fn};
			valid += m.tp + m.fn;
			for (int j = 0; j < 3; j++) {
				snprintf(keys[n], sizeof(keys[n]), "%s.%s", names[j], rq->mc.classes.key[k]);
				scores[n] = (store_score){STORE_COUNTS, keys[n], v[j]};
				n++;
			}
		}
		scores[n++] = (store_score){STORE_COUNTS, "valid", valid};
	}
	st = kept_record(ctx, rq, c, item, svc_now_ms(), cJSON_GetObjectItem(obj, "width")->valueint,
			 cJSON_GetObjectItem(obj, "height")->valueint, scores, n, obj, err);
out:
	t->store += svc_now() - t0;
	free(scores);
	free(keys);
	return st;
}

/* Per-key means over a batch's successful items (nulls not counted). */
typedef struct means {
	double sum[REQ_MAX_SPECS];
	int64_t count[REQ_MAX_SPECS];
} means;

static void add_means(cJSON *root, const req_eval *rq, const means *m)
{
	cJSON *obj = cJSON_AddObjectToObject(root, "means");
	cJSON *losses = cJSON_AddObjectToObject(obj, "losses");
	cJSON *metrics = cJSON_AddObjectToObject(obj, "metrics");

	for (size_t i = 0; i < rq->nspecs; i++) {
		cJSON *dst = spec_info_of(rq->specs[i].fn)->kind == SPEC_LOSS ? losses : metrics;
		cJSON_AddItemToObject(dst, rq->specs[i].key,
				      wire_number(m->count[i] ? m->sum[i] / (double)m->count[i] : NAN));
	}
}

/*
 * Computes a parsed request: one case (the result is that case's object)
 * or a batch ({"count", "failed", "items", "means"}). Cases are recorded
 * in rq->run when it is set; default_item names a single case that has no
 * item. progress may be NULL; it is called after each case and stops the
 * batch when it returns non-zero.
 */
static seg_status eval_request(const svc_ctx *ctx, const req_eval *rq, const char *default_item,
			       int (*progress)(void *arg, int done), void *arg, cJSON **result, int *canceled,
			       svc_timing *t, seg_error *err)
{
	double values[REQ_MAX_SPECS];
	cJSON *root = NULL, *items = NULL;
	means *m = NULL;
	mce_result res = {0};
	int failed = 0;
	seg_status st = SEG_OK;

	*result = NULL;
	if (canceled)
		*canceled = 0;
	if (rq->run[0] && ctx->store == NULL)
		return seg_fail(err, SEG_ESTORE, "recording runs is not available: the daemon has no store");
	if (!rq->batch) {
		const req_case *c = &rq->cases[0];
		const char *item = c->item[0] ? c->item : default_item;
		st = eval_case(ctx, rq, c, "", &root, values, &res, t, err);
		if (st == SEG_OK && rq->run[0]) {
			st = record_case(ctx, rq, c, item, root, values, &res, t, err);
			if (st == SEG_OK) {
				cJSON_AddStringToObject(root, "run", rq->run);
				cJSON_AddStringToObject(root, "item", item);
			}
		}
		mce_result_release(&res);
		if (progress && st == SEG_OK)
			progress(arg, 1);
		if (st != SEG_OK) {
			cJSON_Delete(root);
			return st;
		}
		*result = root;
		return SEG_OK;
	}

	root = cJSON_CreateObject();
	items = cJSON_CreateArray();
	m = calloc(1, sizeof(*m));
	if (root == NULL || items == NULL || m == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < rq->ncases; k++) {
		const req_case *c = &rq->cases[k];
		char where[48];
		cJSON *obj = NULL;
		seg_error item_err = {0};
		snprintf(where, sizeof(where), "items[%zu]: ", k);
		seg_status cs = eval_case(ctx, rq, c, where, &obj, values, &res, t, &item_err);
		if (cs == SEG_ENOMEM) {
			mce_result_release(&res);
			st = seg_fail(err, cs, "%s", item_err.msg);
			goto out;
		}
		if (cs != SEG_OK) {
			/* One bad upload does not sink the batch: its entry carries the error. */
			obj = cJSON_CreateObject();
			cJSON *e = cJSON_AddObjectToObject(obj, "error");
			cJSON_AddNumberToObject(e, "status", problem_status_of(cs));
			cJSON_AddStringToObject(e, "detail", item_err.msg);
			failed++;
		} else {
			for (size_t i = 0; i < rq->nspecs; i++) {
				if (isfinite(values[i])) {
					m->sum[i] += values[i];
					m->count[i]++;
				}
			}
			if (rq->run[0]) {
				st = record_case(ctx, rq, c, c->item, obj, values, &res, t, err);
				if (st != SEG_OK) {
					mce_result_release(&res);
					cJSON_Delete(obj);
					goto out;
				}
			}
		}
		mce_result_release(&res);
		if (c->item[0])
			cJSON_AddStringToObject(obj, "item", c->item);
		cJSON_AddItemToArray(items, obj);
		if (progress && progress(arg, (int)k + 1)) {
			if (canceled)
				*canceled = 1;
			break;
		}
	}
	cJSON_AddNumberToObject(root, "count", cJSON_GetArraySize(items));
	cJSON_AddNumberToObject(root, "failed", failed);
	if (rq->run[0])
		cJSON_AddStringToObject(root, "run", rq->run);
	add_means(root, rq, m);
	cJSON_AddItemToObject(root, "items", items);
	items = NULL;
	*result = root;
	root = NULL;
out:
	free(m);
	cJSON_Delete(items);
	cJSON_Delete(root);
	return st;
}

seg_status svc_evaluate(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err)
{
	req_eval req;
	cJSON *result = NULL;
	seg_status st;
	double t0 = svc_now();

	svc_reply_init(out);
	if (rq->body_rw)
		st = req_parse_eval_inplace(rq->content_type, rq->body_rw, rq->body_len, ctx->lim.max_classes, &req, err);
	else
		st = req_parse_eval_capped(rq->content_type, rq->body, rq->body_len, ctx->lim.max_classes, &req, err);
	t->base64 = svc_now() - t0;
	if (st == SEG_OK)
		st = eval_request(ctx, &req, rq->request_id, NULL, NULL, &result, NULL, t, err);
	if (st == SEG_OK) {
		double t5 = svc_now();
		add_timing(result, t);
		st = svc_reply_json(result, 200, out, err);
		t->encode += svc_now() - t5;
	}
	cJSON_Delete(result);
	req_eval_release(&req);
	if (st != SEG_OK)
		buf_release(&out->body);
	return st;
}

seg_status svc_eval_one(const svc_ctx *ctx, const req_eval *rq, cJSON **obj, seg_error *err)
{
	svc_timing t = {0};
	seg_status st = eval_request(ctx, rq, NULL, NULL, NULL, obj, NULL, &t, err);

	/* The command line has no maps: the answer is the rest of /v1/evaluate's. */
	if (st == SEG_OK && !rq->batch && rq->nmaps == 0)
		cJSON_DeleteItemFromObjectCaseSensitive(*obj, "maps");
	return st;
}

seg_status svc_run_job(const svc_ctx *ctx, const char *job_id, const char *content_type, const uint8_t *body,
		       size_t len, int (*progress)(void *arg, int done), void *arg, char **result, int *canceled,
		       seg_error *err)
{
	req_eval req;
	cJSON *obj = NULL;
	svc_timing t = {0};
	seg_status st;

	*result = NULL;
	st = req_parse_eval_capped(content_type, body, len, ctx->lim.max_classes, &req, err);
	if (st == SEG_OK)
		st = eval_request(ctx, &req, job_id, progress, arg, &obj, canceled, &t, err);
	if (st == SEG_OK) {
		add_timing(obj, &t);
		*result = cJSON_PrintUnformatted(obj);
		if (*result == NULL)
			st = seg_fail(err, SEG_ENOMEM, "out of memory writing the job's result");
	}
	cJSON_Delete(obj);
	req_eval_release(&req);
	return st;
}

/* ---- weight maps ------------------------------------------------------------------- */

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
			double v = (n > 0 && p[n - 1] == '*') ? q * 0.999 : q;
			best = v > best ? v : best;
		}
		p = strchr(p, ',');
	}
	return best;
}

const char *svc_negotiate_wmap(const char *accept)
{
	static const char *const types[] = {"application/json", "application/x-npy", "image/png"};
	const char *best = NULL;
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

/*
 * w_c per pixel for a class map: balanced over the C classes (the rarest
 * present class 1, class c min_k n_k / n_c; ignored pixels 0), none (1),
 * or [background, others] from the spec's fixed pair.
 */
static void class_weight_map(const uint16_t *cls, size_t n, int C, int bg, const wmap_params *p, float *cw,
			     double *counts)
{
	double lo = INFINITY;

	memset(counts, 0, (size_t)C * sizeof(*counts));
	for (size_t i = 0; i < n; i++)
		if (cls[i] != SEG_IGNORE)
			counts[cls[i]] += 1.0;
	for (int k = 0; k < C; k++)
		if (counts[k] > 0.0 && counts[k] < lo)
			lo = counts[k];
	for (size_t i = 0; i < n; i++) {
		uint16_t k = cls[i];
		if (k == SEG_IGNORE)
			cw[i] = 0.0f;
		else if (p->class_mode == WMAP_CLASS_FIXED)
			cw[i] = (float)p->class_w[k == bg ? 0 : 1];
		else if (p->class_mode == WMAP_CLASS_BALANCED)
			cw[i] = (float)(lo / counts[k]);
		else
			cw[i] = 1.0f;
	}
}

seg_status svc_wmap_compute(const svc_ctx *ctx, const req_wmap *rq, float **out, int *width, int *height,
			    wmap_info *info, svc_timing *t, seg_error *err)
{
	seg_target tgt = {0};
	uint16_t *cls = NULL;
	float *w = NULL, *cw = NULL;
	double *counts = NULL;
	inp_mask m = {rq->target.data, rq->target.len, rq->target.kind, NPY_AXIS_AUTO, rq->target.annot};
	seg_status st;
	double t1 = svc_now();

	*out = NULL;
	st = inp_decode_target(&m, rq->mc.multi ? &rq->mc.classes : NULL, ctx->lim.max_pixels, &tgt, &cls, err);
	double t2 = svc_now();
	t->decode = t2 - t1;
	if (st != SEG_OK)
		goto out;
	size_t n = (size_t)tgt.width * (size_t)tgt.height;
	w = malloc(n * sizeof(*w));
	if (w == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d weight map", tgt.width, tgt.height);
		goto out;
	}
	if (cls) {
		wmap_params p = rq->params.par.wm;
		int C = rq->mc.classes.count;
		cw = malloc(n * sizeof(*cw));
		counts = malloc((size_t)C * sizeof(*counts));
		if (cw == NULL || counts == NULL) {
			st = seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d weight map", tgt.width, tgt.height);
			goto out;
		}
		class_weight_map(cls, n, C, rq->mc.classes.background, &p, cw, counts);
		p.instances = WMAP_INST_LABELS;
		st = wmap_run(&tgt, &p, cw, ctx->par, w, info, err);
	} else {
		st = wmap_run(&tgt, &rq->params.par.wm, NULL, ctx->par, w, info, err);
	}
	t->compute = svc_now() - t2;
	if (st == SEG_OK) {
		*out = w;
		w = NULL;
		*width = tgt.width;
		*height = tgt.height;
	}
out:
	free(w);
	free(cw);
	free(counts);
	free(cls);
	seg_target_release(&tgt);
	return st;
}

seg_status svc_weight_map(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err)
{
	req_wmap req;
	seg_target tgt = {0};
	float *w = NULL;
	buf raw;
	cJSON *root = NULL;
	const char *type = svc_negotiate_wmap(rq->accept);
	wmap_info info;
	seg_status st;
	double t0 = svc_now();

	svc_reply_init(out);
	if (type == NULL) /* the HTTP layer has answered 406 before: this is for other callers */
		type = "application/json";
	buf_init(&raw, 0);
	if (rq->body_rw)
		st = req_parse_wmap_inplace(rq->content_type, rq->body_rw, rq->body_len, ctx->lim.max_classes, &req, err);
	else
		st = req_parse_wmap_capped(rq->content_type, rq->body, rq->body_len, ctx->lim.max_classes, &req, err);
	t->base64 = svc_now() - t0;
	if (st == SEG_OK && req.has_range && strcmp(type, "image/png") != 0)
		st = seg_fail(err, SEG_EINVAL,
			      "\"range\" sets the colour scale of a heatmap: ask for one with Accept: image/png (this "
			      "answer would be %s)",
			      type);
	if (st == SEG_OK)
		st = svc_wmap_compute(ctx, &req, &w, &tgt.width, &tgt.height, &info, t, err);
	double t3 = svc_now();
	if (st != SEG_OK)
		goto out;
	size_t n = (size_t)tgt.width * (size_t)tgt.height;
	out->status = 200;
	if (strcmp(type, "image/png") == 0) {
		double scale[2];
		st = pngio_encode_heatmap_range(w, tgt.width, tgt.height, req.has_range ? req.range : NULL, &out->body,
						scale, err);
		out->content_type = "image/png";
		if (st == SEG_OK) {
			pngio_format_number(scale[0], out->map_min);
			pngio_format_number(scale[1], out->map_max);
		}
	} else if (strcmp(type, "application/x-npy") == 0) {
		st = npy_encode_f32(w, tgt.width, tgt.height, &out->body, err);
		out->content_type = "application/x-npy";
	} else {
		double lo, hi, mean;
		st = npy_encode_f32(w, tgt.width, tgt.height, &raw, err);
		if (st != SEG_OK)
			goto out;
		maps_stats(w, n, &lo, &hi, &mean);
		root = cJSON_CreateObject();
		cJSON *data = maps_b64(&raw);
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
		t->encode = svc_now() - t3;
		add_timing(root, t);
		st = svc_reply_json(root, 200, out, err);
	}
	t->encode = svc_now() - t3;
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
