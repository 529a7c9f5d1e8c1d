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
 */
#include "service/service.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
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
#include "service/runagg.h"
#include "wire/problem.h"
#include "wire/wire.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t now_ms(void)
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
static seg_status reply_json(cJSON *root, int status, svc_reply *out, seg_error *err)
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

static void reply_init(svc_reply *out)
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
	double t1 = now();

	*obj = NULL;
	/* Target and prediction side by side when the lanes are free (the daemon's par runs inline when busy). */
	st = inp_decode_pair_par(&tm, &pm, rq->mc.multi ? &rq->mc.classes : NULL, ctx->lim.max_pixels, ctx->par, &in,
				 err);
	seg_target tgt = in.target;
	seg_pred pred = in.pred;
	double t2 = now();
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
		t->compute += now() - t2;
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
	t->compute += now() - t2;
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
	double t4 = now();
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
	t->encode += now() - t4;
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
	double t0 = now();
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
	st = kept_record(ctx, rq, c, item, now_ms(), cJSON_GetObjectItem(obj, "width")->valueint,
			 cJSON_GetObjectItem(obj, "height")->valueint, scores, n, obj, err);
out:
	t->store += now() - t0;
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
	double t0 = now();

	reply_init(out);
	if (rq->body_rw)
		st = req_parse_eval_inplace(rq->content_type, rq->body_rw, rq->body_len, ctx->lim.max_classes, &req, err);
	else
		st = req_parse_eval_capped(rq->content_type, rq->body, rq->body_len, ctx->lim.max_classes, &req, err);
	t->base64 = now() - t0;
	if (st == SEG_OK)
		st = eval_request(ctx, &req, rq->request_id, NULL, NULL, &result, NULL, t, err);
	if (st == SEG_OK) {
		double t5 = now();
		add_timing(result, t);
		st = reply_json(result, 200, out, err);
		t->encode += now() - t5;
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
	double t1 = now();

	*out = NULL;
	st = inp_decode_target(&m, rq->mc.multi ? &rq->mc.classes : NULL, ctx->lim.max_pixels, &tgt, &cls, err);
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
	t->compute = now() - t2;
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
	double t0 = now();

	reply_init(out);
	if (type == NULL) /* the HTTP layer has answered 406 before: this is for other callers */
		type = "application/json";
	buf_init(&raw, 0);
	if (rq->body_rw)
		st = req_parse_wmap_inplace(rq->content_type, rq->body_rw, rq->body_len, ctx->lim.max_classes, &req, err);
	else
		st = req_parse_wmap_capped(rq->content_type, rq->body, rq->body_len, ctx->lim.max_classes, &req, err);
	t->base64 = now() - t0;
	if (st == SEG_OK && req.has_range && strcmp(type, "image/png") != 0)
		st = seg_fail(err, SEG_EINVAL,
			      "\"range\" sets the colour scale of a heatmap: ask for one with Accept: image/png (this "
			      "answer would be %s)",
			      type);
	if (st == SEG_OK)
		st = svc_wmap_compute(ctx, &req, &w, &tgt.width, &tgt.height, &info, t, err);
	double t3 = now();
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
		t->encode = now() - t3;
		add_timing(root, t);
		st = reply_json(root, 200, out, err);
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

/* ---- runs ----------------------------------------------------------------------------- */

static seg_status need_store(const svc_ctx *ctx, seg_error *err)
{
	if (ctx->store == NULL)
		return seg_fail(err, SEG_ESTORE, "runs and jobs are not available: the daemon has no store");
	return SEG_OK;
}

/* 64-bit FNV-1a, for ETags and body fingerprints (not a security boundary). */
static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return s ? fnv1a(h, s, strlen(s) + 1) : fnv1a(h, "", 1);
}

/*
 * Sets the reply's ETag from a data version and the request's query; when
 * the client's If-None-Match names it, the reply is 304 and *fresh is 1.
 */
static void set_etag(const svc_request *rq, int64_t version, svc_reply *out, int *fresh)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = fnv_str(h, rq->param[0]);
	h = fnv_str(h, rq->param[1]);
	h = fnv_str(h, rq->after);
	h = fnv_str(h, rq->limit);
	h = fnv_str(h, rq->order_by);
	h = fnv_str(h, rq->order);
	h = fnv_str(h, rq->percentiles);
	snprintf(out->etag, sizeof(out->etag), "W/\"%lld-%08x\"", (long long)version, (unsigned)(h ^ (h >> 32)));
	*fresh = 0;
	if (rq->if_none_match && (strstr(rq->if_none_match, out->etag) || strcmp(rq->if_none_match, "*") == 0)) {
		out->status = 304;
		*fresh = 1;
	}
}

static void run_json(cJSON *o, const store_run *r)
{
	cJSON_AddStringToObject(o, "name", r->name);
	cJSON_AddNumberToObject(o, "count", (double)r->count);
	wire_add_time(o, "created", r->created);
	wire_add_time(o, "updated", r->updated);
}

static void add_run(void *ctx, const store_run *r)
{
	cJSON *o = cJSON_CreateObject();

	run_json(o, r);
	cJSON_AddItemToArray(ctx, o);
}

seg_status svc_runs_list(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err)
{
	int64_t version;
	int fresh;
	cJSON *root;
	seg_status st;

	(void)t;
	reply_init(out);
	st = need_store(ctx, err);
	if (st == SEG_OK)
		st = store_version(ctx->store, NULL, &version, err);
	if (st != SEG_OK)
		return st;
	set_etag(rq, version, out, &fresh);
	if (fresh)
		return SEG_OK;
	root = cJSON_CreateObject();
	cJSON *runs = cJSON_AddArrayToObject(root, "runs");
	st = store_list_runs(ctx->store, add_run, runs, err);
	if (st == SEG_OK)
		st = reply_json(root, 200, out, err);
	cJSON_Delete(root);
	return st;
}

static seg_status check_run_param(const svc_request *rq, int i, seg_error *err)
{
	return req_check_run(rq->param[i], err);
}

typedef struct agg_ctx {
	cJSON *losses, *metrics;
	ragg *mc; /* per-class and pooled aggregates of multi-class runs */
	int percentiles;
} agg_ctx;

static void add_agg(void *opaque, const store_agg *a)
{
	agg_ctx *c = opaque;

	if (a->kind != STORE_LOSS && a->kind != STORE_METRIC) {
		ragg_add(c->mc, a);
		return;
	}
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "count", (double)a->count);
	cJSON_AddItemToObject(o, "mean", wire_number(a->mean));
	cJSON_AddItemToObject(o, "std", wire_number(a->std));
	cJSON_AddItemToObject(o, "min", wire_number(a->min));
	cJSON_AddItemToObject(o, "max", wire_number(a->max));
	if (c->percentiles) {
		cJSON_AddItemToObject(o, "median", wire_number(a->median));
		cJSON_AddItemToObject(o, "p05", wire_number(a->p05));
		cJSON_AddItemToObject(o, "p95", wire_number(a->p95));
	}
	cJSON_AddItemToObject(a->kind == 0 ? c->losses : c->metrics, a->key, o);
}

seg_status svc_run_get(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err)
{
	store_run run;
	int64_t version;
	int fresh;
	cJSON *root = NULL;
	seg_status st;

	(void)t;
	reply_init(out);
	/* percentiles=false: what the store keeps as items are written, in constant time per key. */
	int percentiles = rq->percentiles == NULL || strcmp(rq->percentiles, "true") == 0;
	st = need_store(ctx, err);
	if (st == SEG_OK)
		st = check_run_param(rq, 0, err);
	if (st == SEG_OK && !percentiles && strcmp(rq->percentiles, "false") != 0)
		st = seg_fail(err, SEG_EINVAL, "percentiles must be true or false, got '%.16s'", rq->percentiles);
	if (st == SEG_OK)
		st = store_version(ctx->store, rq->param[0], &version, err);
	if (st != SEG_OK)
		return st;
	if (version == 0)
		return seg_fail(err, SEG_ENOTFOUND, "no run '%s'", rq->param[0]);
	set_etag(rq, version, out, &fresh);
	if (fresh)
		return SEG_OK;
	st = store_get_run(ctx->store, rq->param[0], &run, err);
	if (st != SEG_OK)
		return st;
	root = cJSON_CreateObject();
	run_json(root, &run);
	agg_ctx ac = {cJSON_AddObjectToObject(root, "losses"), cJSON_AddObjectToObject(root, "metrics"), ragg_new(),
		      percentiles};
	if (ac.mc == NULL)
		st = seg_fail(err, SEG_ENOMEM, "out of memory");
	if (st == SEG_OK)
		st = percentiles ? store_aggregates(ctx->store, rq->param[0], add_agg, &ac, err)
				 : store_aggregates_kept(ctx->store, rq->param[0], add_agg, &ac, err);
	if (st == SEG_OK && ragg_json(ac.mc, root) != SEG_OK)
		st = seg_fail(err, SEG_ENOMEM, "out of memory");
	if (st == SEG_OK)
		st = reply_json(root, 200, out, err);
	ragg_free(ac.mc);
	cJSON_Delete(root);
	return st;
}

static void scores_json(cJSON *o, const store_score *s, size_t n)
{
	cJSON *losses = cJSON_AddObjectToObject(o, "losses");
	cJSON *metrics = cJSON_AddObjectToObject(o, "metrics");

	for (size_t i = 0; i < n; i++)
		if (s[i].kind == STORE_LOSS || s[i].kind == STORE_METRIC)
			cJSON_AddItemToObject(s[i].kind == STORE_LOSS ? losses : metrics, s[i].key, wire_number(s[i].value));
	ragg_item_json(o, s, n);
}

static void add_item(void *ctx, const store_item *it)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "seq", (double)it->seq);
	cJSON_AddStringToObject(o, "item", it->item);
	wire_add_time(o, "time", it->time);
	cJSON_AddNumberToObject(o, "width", it->width);
	cJSON_AddNumberToObject(o, "height", it->height);
	scores_json(o, it->scores, it->nscores);
	cJSON_AddItemToArray(ctx, o);
}

static seg_status parse_long(const char *name, const char *v, long long lo, long long hi, long long *out,
			     seg_error *err)
{
	char *end = NULL;
	long long n = strtoll(v, &end, 10);

	if (end == v || *end != '\0' || n < lo || n > hi)
		return seg_fail(err, SEG_EINVAL, "query argument '%s' must be an integer in [%lld, %lld], got '%.32s'", name,
				lo, hi, v);
	*out = n;
	return SEG_OK;
}

/*
 * What order_by asks for against the run's keys: whether it is there, the
 * closest (edit distance of the key, plus one across kinds, at most 2),
 * and the keys to list when it is not.
 */
typedef struct order_keys {
	int kind;
	const char *key;
	int found;
	int best_d;
	char best[SPEC_KEY_MAX + CLS_KEY_MAX + 16];
	char list[112];
	int more;
} order_keys;

static void on_order_key(void *opaque, int kind, const char *key)
{
	order_keys *o = opaque;
	char full[SPEC_KEY_MAX + CLS_KEY_MAX + 16];
	int d = spec_edit_distance(o->key, key) + (kind != o->kind);
	size_t n = strlen(o->list);

	if (kind == STORE_COUNTS) /* class counts feed the pooled scores; items are not sorted by them */
		return;
	snprintf(full, sizeof(full), "%s.%s", kind == STORE_LOSS ? "losses" : kind == STORE_METRIC ? "metrics" : "per_class",
		 key);
	if (kind == o->kind && strcmp(key, o->key) == 0)
		o->found = 1;
	if (d < o->best_d) {
		o->best_d = d;
		snprintf(o->best, sizeof(o->best), "%s", full);
	}
	if (n + strlen(full) + 3 < sizeof(o->list))
		snprintf(o->list + n, sizeof(o->list) - n, "%s%s", n ? ", " : "", full);
	else
		o->more++;
}

/* SEG_EINVAL unless the run has a score named by order_by: a typo should not sort by nothing. */
static seg_status check_order_key(const svc_ctx *ctx, const svc_request *rq, int kind, const char *key,
				  seg_error *err)
{
	order_keys o = {kind, key, 0, 3, "", "", 0};
	char hint[SPEC_KEY_MAX + CLS_KEY_MAX + 48] = "", more[32] = "";
	seg_status st = store_run_keys(ctx->store, rq->param[0], on_order_key, &o, err);

	if (st != SEG_OK || o.found)
		return st;
	if (o.best[0])
		snprintf(hint, sizeof(hint), " (did you mean '%s'?)", o.best);
	if (o.more)
		snprintf(more, sizeof(more), " and %d more", o.more);
	return seg_fail(err, SEG_EINVAL, "order_by '%.72s' names no score of this run%s; it has %s%s", rq->order_by, hint,
			o.list[0] ? o.list : "none", more);
}

seg_status svc_run_items(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err)
{
	store_items_query q = {0, 100, 0, NULL, 0};
	char order_key[SPEC_KEY_MAX + CLS_KEY_MAX + 2];
	long long v;
	int64_t version, next = 0;
	int fresh;
	cJSON *root = NULL;
	seg_status st;

	(void)t;
	reply_init(out);
	st = need_store(ctx, err);
	if (st == SEG_OK)
		st = check_run_param(rq, 0, err);
	if (st == SEG_OK && rq->after && (st = parse_long("after", rq->after, 0, INT64_MAX, &v, err)) == SEG_OK)
		q.after = v;
	if (st == SEG_OK && rq->limit && (st = parse_long("limit", rq->limit, 1, 1000, &v, err)) == SEG_OK)
		q.limit = (int)v;
	if (st == SEG_OK && rq->order_by) {
		const char *dot = strchr(rq->order_by, '.');
		size_t klen = dot ? strlen(dot + 1) : 0;
		if (dot && (size_t)(dot - rq->order_by) == 6 && strncmp(rq->order_by, "losses", 6) == 0)
			q.order_kind = STORE_LOSS;
		else if (dot && (size_t)(dot - rq->order_by) == 7 && strncmp(rq->order_by, "metrics", 7) == 0)
			q.order_kind = STORE_METRIC;
		else if (dot && (size_t)(dot - rq->order_by) == 9 && strncmp(rq->order_by, "per_class", 9) == 0 &&
			 strchr(dot + 1, '.'))
			q.order_kind = STORE_PER_CLASS; /* per_class.METRIC.CLASS, stored as "METRIC.CLASS" */
		else
			st = seg_fail(err, SEG_EINVAL,
				      "order_by must be losses.KEY, metrics.KEY or per_class.METRIC.CLASS, got '%.64s'",
				      rq->order_by);
		if (st == SEG_OK && (klen == 0 || klen >= sizeof(order_key)))
			st = seg_fail(err, SEG_EINVAL, "order_by names no key");
		if (st == SEG_OK) {
			memcpy(order_key, dot + 1, klen + 1);
			q.order_key = order_key;
		}
	}
	if (st == SEG_OK && rq->order) {
		if (strcmp(rq->order, "desc") == 0)
			q.desc = 1;
		else if (strcmp(rq->order, "asc") != 0)
			st = seg_fail(err, SEG_EINVAL, "order must be asc or desc, got '%.16s'", rq->order);
	}
	if (st == SEG_OK)
		st = store_version(ctx->store, rq->param[0], &version, err);
	if (st != SEG_OK)
		return st;
	if (version == 0)
		return seg_fail(err, SEG_ENOTFOUND, "no run '%s'", rq->param[0]);
	if (q.order_key) {
		st = check_order_key(ctx, rq, q.order_kind, q.order_key, err);
		if (st != SEG_OK)
			return st;
	}
	set_etag(rq, version, out, &fresh);
	if (fresh)
		return SEG_OK;
	root = cJSON_CreateObject();
	cJSON *items = cJSON_AddArrayToObject(root, "items");
	st = store_items(ctx->store, rq->param[0], &q, add_item, items, &next, err);
	cJSON_AddNumberToObject(root, "next", (double)next);
	if (st == SEG_OK)
		st = reply_json(root, 200, out, err);
	cJSON_Delete(root);
	return st;
}

/* Comparison: per (kind, key), both means and the paired differences of items present in both runs. */
typedef struct cmp_change {
	char item[REQ_ITEM_MAX + 1];
	double a, b, d; /* d = b - a */
} cmp_change;

typedef struct cmp_key {
	int kind;
	char key[SPEC_KEY_MAX + CLS_KEY_MAX + 2]; /* "metric.class" for a per-class key */
	int64_t n;         /* paired items with both values */
	double sum;        /* of b - a */
	cmp_change top[10]; /* largest |b - a| */
	int ntop;
} cmp_key;

typedef struct cmp_ctx {
	cmp_key *keys;
	size_t n, cap;
	int oom;
} cmp_ctx;

static cmp_key *cmp_find(cmp_ctx *c, int kind, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->keys[i].kind == kind && strcmp(c->keys[i].key, key) == 0)
			return &c->keys[i];
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 16;
		cmp_key *t = realloc(c->keys, nc * sizeof(*t));
		if (t == NULL) {
			c->oom = 1;
			return NULL;
		}
		c->keys = t;
		c->cap = nc;
	}
	cmp_key *k = &c->keys[c->n++];
	memset(k, 0, sizeof(*k));
	k->kind = kind;
	snprintf(k->key, sizeof(k->key), "%s", key);
	return k;
}

static void add_pair(void *opaque, const store_pair *p)
{
	cmp_ctx *c = opaque;
	cmp_key *k = p->kind == STORE_COUNTS ? NULL : cmp_find(c, p->kind, p->key);

	if (k == NULL || !isfinite(p->a) || !isfinite(p->b))
		return;
	double d = p->b - p->a;
	k->n++;
	k->sum += d;
	/* Keep the ten largest |d|: replace the smallest kept when this one is larger. */
	int slot = k->ntop < 10 ? k->ntop++ : -1;
	if (slot < 0) {
		int min = 0;
		for (int i = 1; i < 10; i++)
			if (fabs(k->top[i].d) < fabs(k->top[min].d))
				min = i;
		if (fabs(d) <= fabs(k->top[min].d))
			return;
		slot = min;
	}
	snprintf(k->top[slot].item, sizeof(k->top[slot].item), "%s", p->item);
	k->top[slot].a = p->a;
	k->top[slot].b = p->b;
	k->top[slot].d = d;
}

static void add_agg_key(void *opaque, const store_agg *a)
{
	if (a->kind != STORE_COUNTS)
		cmp_find(opaque, a->kind, a->key);
}

/* Where a compared key goes: losses, metrics, or per_class → metric → class (split at the last '.'). */
static void add_compared(cJSON *const sec[3], const cmp_key *k, cJSON *o)
{
	const char *dot = strrchr(k->key, '.');
	char metric[SPEC_KEY_MAX];

	if (k->kind != STORE_PER_CLASS || dot == NULL || (size_t)(dot - k->key) >= sizeof(metric)) {
		cJSON_AddItemToObject(sec[k->kind == STORE_LOSS ? 0 : 1], k->key, o);
		return;
	}
	memcpy(metric, k->key, (size_t)(dot - k->key));
	metric[dot - k->key] = '\0';
	cJSON *m = cJSON_GetObjectItemCaseSensitive(sec[2], metric);
	if (m == NULL)
		m = cJSON_AddObjectToObject(sec[2], metric);
	cJSON_AddItemToObject(m, dot + 1, o);
}

/* Largest |difference| first. */
static int cmp_top(const void *x, const void *y)
{
	double a = fabs(((const cmp_change *)x)->d), b = fabs(((const cmp_change *)y)->d);

	return (a < b) - (a > b);
}

/*
 * GET /v1/runs/{run}/items/{seq}/target and .../prediction: what the item
 * kept (keep_masks), by its current sequence number (names may hold '/').
 * The ETag follows the run's version, as for the run's other routes.
 */
static seg_status run_item_mask(const svc_ctx *ctx, const svc_request *rq, int which, svc_reply *out, seg_error *err)
{
	const char *p = rq->param[1];
	svc_request tagged = *rq;
	long long seq = 0;
	int64_t version;
	int fresh;
	seg_status st;

	reply_init(out);
	st = need_store(ctx, err);
	if (st == SEG_OK)
		st = check_run_param(rq, 0, err);
	if (st == SEG_OK && (p[0] < '1' || p[0] > '9' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 18))
		st = seg_fail(err, SEG_EINVAL, "seq must be an item's sequence number (a positive integer), got '%.32s'", p);
	if (st == SEG_OK)
		seq = strtoll(p, NULL, 10);
	if (st == SEG_OK)
		st = store_version(ctx->store, rq->param[0], &version, err);
	if (st != SEG_OK)
		return st;
	/* The target and the prediction of one item are two resources: their ETags differ. */
	tagged.order = which ? "prediction" : "target";
	set_etag(&tagged, version, out, &fresh);
	if (fresh && version > 0)
		return SEG_OK;
	out->status = 200;
	return kept_reply(ctx->store, rq->param[0], (int64_t)seq, which, out, err);
}

seg_status svc_run_item_target(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t,
			       seg_error *err)
{
	(void)t;
	return run_item_mask(ctx, rq, 0, out, err);
}

seg_status svc_run_item_prediction(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t,
				   seg_error *err)
{
	(void)t;
	return run_item_mask(ctx, rq, 1, out, err);
}


seg_status svc_run_compare(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t,
			   seg_error *err)
{
	int64_t va, vb;
	int fresh;
	cmp_ctx c = {NULL, 0, 0, 0};
	cJSON *root = NULL;
	seg_status st;

	(void)t;
	reply_init(out);
	st = need_store(ctx, err);
	if (st == SEG_OK)
		st = check_run_param(rq, 0, err);
	if (st == SEG_OK)
		st = check_run_param(rq, 1, err);
	if (st == SEG_OK)
		st = store_version(ctx->store, rq->param[0], &va, err);
	if (st == SEG_OK)
		st = store_version(ctx->store, rq->param[1], &vb, err);
	if (st != SEG_OK)
		return st;
	if (va == 0 || vb == 0)
		return seg_fail(err, SEG_ENOTFOUND, "no run '%s'", va == 0 ? rq->param[0] : rq->param[1]);
	/* Each run's version grows with its every change (never in step with the other's on PostgreSQL): the sum does too. */
	set_etag(rq, va + vb, out, &fresh);
	if (fresh)
		return SEG_OK;
	/* Every key either run has, then the pairs. */
	st = store_aggregates(ctx->store, rq->param[0], add_agg_key, &c, err);
	if (st == SEG_OK)
		st = store_aggregates(ctx->store, rq->param[1], add_agg_key, &c, err);
	if (st == SEG_OK)
		st = store_compare(ctx->store, rq->param[0], rq->param[1], add_pair, &c, err);
	if (st == SEG_OK && c.oom)
		st = seg_fail(err, SEG_ENOMEM, "out of memory");
	if (st != SEG_OK)
		goto out;
	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "a", rq->param[0]);
	cJSON_AddStringToObject(root, "b", rq->param[1]);
	cJSON *sec[3] = {cJSON_AddObjectToObject(root, "losses"), cJSON_AddObjectToObject(root, "metrics"),
			 cJSON_CreateObject()};
	for (size_t i = 0; i < c.n && st == SEG_OK; i++) {
		cmp_key *k = &c.keys[i];
		double ma, mb;
		int64_t na, nb;
		st = store_key_mean(ctx->store, rq->param[0], k->kind, k->key, &ma, &na, err);
		if (st == SEG_OK)
			st = store_key_mean(ctx->store, rq->param[1], k->kind, k->key, &mb, &nb, err);
		if (st != SEG_OK)
			break;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "a_mean", wire_number(ma));
		cJSON_AddItemToObject(o, "b_mean", wire_number(mb));
		cJSON_AddItemToObject(o, "difference", wire_number(mb - ma));
		cJSON *paired = cJSON_AddObjectToObject(o, "paired");
		cJSON_AddNumberToObject(paired, "count", (double)k->n);
		cJSON_AddItemToObject(paired, "mean_difference", wire_number(k->n ? k->sum / (double)k->n : NAN));
		qsort(k->top, (size_t)k->ntop, sizeof(k->top[0]), cmp_top);
		cJSON *changed = cJSON_AddArrayToObject(paired, "most_changed");
		for (int j = 0; j < k->ntop; j++) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "item", k->top[j].item);
			cJSON_AddNumberToObject(e, "a", k->top[j].a);
			cJSON_AddNumberToObject(e, "b", k->top[j].b);
			cJSON_AddNumberToObject(e, "difference", k->top[j].d);
			cJSON_AddItemToArray(changed, e);
		}
		add_compared(sec, k, o);
	}
	if (cJSON_GetArraySize(sec[2]) > 0) {
		cJSON_AddItemToObject(root, "per_class", sec[2]);
		sec[2] = NULL;
	}
	cJSON_Delete(sec[2]);
	if (st == SEG_OK)
		st = reply_json(root, 200, out, err);
out:
	cJSON_Delete(root);
	free(c.keys);
	return st;
}

seg_status svc_run_delete(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err)
{
	seg_status st;

	(void)t;
	reply_init(out);
	st = need_store(ctx, err);
	if (st == SEG_OK)
		st = check_run_param(rq, 0, err);
	if (st == SEG_OK)
		st = store_delete_run(ctx->store, rq->param[0], err);
	if (st == SEG_OK) {
		out->status = 204;
		out->content_type = "application/json";
	}
	return st;
}

/* ---- jobs ------------------------------------------------------------------------------ */

/* A job as JSON; without its result in a listing (GET /v1/jobs/{id} has it). */
static void job_json(cJSON *o, const store_job *j, int with_result)
{
	cJSON_AddStringToObject(o, "id", j->id);
	cJSON_AddStringToObject(o, "status", store_job_status_name(j->status));
	cJSON *p = cJSON_AddObjectToObject(o, "progress");
	cJSON_AddNumberToObject(p, "done", j->done);
	cJSON_AddNumberToObject(p, "total", j->total);
	wire_add_time(o, "created", j->created);
	if (j->started)
		wire_add_time(o, "started", j->started);
	if (j->finished)
		wire_add_time(o, "finished", j->finished);
	if (with_result && j->status == JOB_DONE && j->result)
		cJSON_AddItemToObject(o, "result", cJSON_CreateRaw(j->result));
	if (j->status == JOB_FAILED) {
		cJSON *e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddNumberToObject(e, "status", j->error_status);
		cJSON_AddStringToObject(e, "detail", j->error ? j->error : "");
	}
}

static void job_to_json(void *ctx, const store_job *j)
{
	job_json(ctx, j, 1);
}

static void job_to_list(void *ctx, const store_job *j)
{
	cJSON *o = cJSON_CreateObject();

	job_json(o, j, 0);
	cJSON_AddItemToArray(ctx, o);
}

/* The status filter of GET /v1/jobs: comma-separated status names into a bit mask. */
static seg_status parse_statuses(const char *v, unsigned *mask, seg_error *err)
{
	const char *p = v;

	*mask = 0;
	for (;;) {
		size_t n = strcspn(p, ",");
		int k;
		for (k = 0; k < JOB_STATUS_COUNT; k++)
			if (strlen(store_job_status_name((store_job_status)k)) == n &&
			    strncmp(p, store_job_status_name((store_job_status)k), n) == 0)
				break;
		if (k == JOB_STATUS_COUNT) {
			char word[40], hint[48] = "";
			int best_d = 3;
			snprintf(word, sizeof(word), "%.*s", (int)(n < 32 ? n : 32), p);
			for (int i = 0; i < JOB_STATUS_COUNT; i++) {
				int d = spec_edit_distance(word, store_job_status_name((store_job_status)i));
				if (d < best_d) {
					best_d = d;
					snprintf(hint, sizeof(hint), " (did you mean '%s'?)",
						 store_job_status_name((store_job_status)i));
				}
			}
			return seg_fail(err, SEG_EINVAL,
					"status must be queued, running, done, failed or canceled, or several of them "
					"comma-separated, got '%s'%s",
					word, hint);
		}
		*mask |= 1u << k;
		if (p[n] == '\0')
			return SEG_OK;
		p += n + 1;
	}
}

seg_status svc_jobs_list(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err)
{
	store_jobs_query q = {(1u << JOB_STATUS_COUNT) - 1, 0, 100};
	int64_t next = 0;
	long long v;
	cJSON *root;
	seg_status st;

	(void)t;
	reply_init(out);
	st = need_store(ctx, err);
	if (st == SEG_OK && rq->status)
		st = parse_statuses(rq->status, &q.status_mask, err);
	if (st == SEG_OK && rq->after && (st = parse_long("after", rq->after, 0, INT64_MAX, &v, err)) == SEG_OK)
		q.before = v;
	if (st == SEG_OK && rq->limit && (st = parse_long("limit", rq->limit, 1, 1000, &v, err)) == SEG_OK)
		q.limit = (int)v;
	if (st != SEG_OK)
		return st;
	root = cJSON_CreateObject();
	cJSON *jobs = cJSON_AddArrayToObject(root, "jobs");
	st = store_jobs_list(ctx->store, &q, job_to_list, jobs, &next, err);
	cJSON_AddItemToObject(root, "next", next ? cJSON_CreateNumber((double)next) : cJSON_CreateNull());
	if (st == SEG_OK)
		st = reply_json(root, 200, out, err);
	cJSON_Delete(root);
	return st;
}

/* A fingerprint of what a job was asked to do: content type and body. */
static void body_hash(const svc_request *rq, char out[40])
{
	uint64_t a = fnv1a(fnv_str(0xcbf29ce484222325ULL, rq->content_type), rq->body, rq->body_len);
	uint64_t b = fnv1a(fnv_str(0x84222325cbf29ce4ULL, rq->content_type), rq->body, rq->body_len);

	snprintf(out, 40, "%016llx%016llx", (unsigned long long)a, (unsigned long long)(b * 0x9e3779b97f4a7c15ULL));
}

static seg_status check_idem_key(const char *k, seg_error *err)
{
	size_t n = strlen(k);

	if (n == 0 || n > 255)
		return seg_fail(err, SEG_EINVAL, "Idempotency-Key must be 1 to 255 characters");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
			return seg_fail(err, SEG_EINVAL, "Idempotency-Key must be printable ASCII without spaces");
	return SEG_OK;
}

seg_status svc_job_submit(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err)
{
	req_eval req;
	store_job j;
	char hash[40], existing[40];
	int same = 0;
	uint8_t rnd[16];
	seg_status st;
	double t0 = now();

	reply_init(out);
	st = need_store(ctx, err);
	if (st == SEG_OK && rq->idempotency_key)
		st = check_idem_key(rq->idempotency_key, err);
	if (st != SEG_OK)
		return st;
	/* Refuse what could never run now, not later: parse (no decoding) before accepting. */
	st = req_parse_eval_capped(rq->content_type, rq->body, rq->body_len, ctx->lim.max_classes, &req, err);
	t->base64 = now() - t0;
	if (st != SEG_OK)
		return st;
	memset(&j, 0, sizeof(j));
	j.total = (int)req.ncases;
	req_eval_release(&req);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return seg_fail(err, SEG_EINTERNAL, "no randomness for a job id");
	for (int i = 0; i < 16; i++)
		snprintf(j.id + 2 * i, 3, "%02x", rnd[i]);
	j.created = now_ms();
	j.content_type = rq->content_type;
	j.body = rq->body;
	j.body_len = rq->body_len;
	body_hash(rq, hash);
	double t1 = now();
	st = store_job_insert(ctx->store, &j, rq->idempotency_key, hash, existing, &same, err);
	t->store = now() - t1;
	if (st != SEG_OK)
		return st;
	if (existing[0] && !same)
		return seg_fail(err, SEG_EINVAL, "Idempotency-Key '%.64s' was already used with a different body",
				rq->idempotency_key);
	cJSON *root = cJSON_CreateObject();
	if (existing[0]) {
		st = store_job_get(ctx->store, existing, 0, job_to_json, root, err);
	} else {
		cJSON_AddStringToObject(root, "id", j.id);
		cJSON_AddStringToObject(root, "status", "queued");
		if (ctx->job_queued)
			ctx->job_queued(ctx->job_queued_arg);
	}
	if (st == SEG_OK)
		st = reply_json(root, 202, out, err);
	snprintf(out->location, sizeof(out->location), "/v1/jobs/%s", existing[0] ? existing : j.id);
	out->retry_after = 1;
	cJSON_Delete(root);
	return st;
}

static seg_status check_job_id(const char *id, seg_error *err)
{
	size_t n = strlen(id);

	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			n = 0;
	if (n != 32)
		return seg_fail(err, SEG_ENOTFOUND, "no job '%.40s'", id);
	return SEG_OK;
}

seg_status svc_job_get(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err)
{
	cJSON *root;
	seg_status st;

	(void)t;
	reply_init(out);
	st = need_store(ctx, err);
	if (st == SEG_OK)
		st = check_job_id(rq->param[0], err);
	if (st != SEG_OK)
		return st;
	root = cJSON_CreateObject();
	st = store_job_get(ctx->store, rq->param[0], 0, job_to_json, root, err);
	if (st == SEG_OK) {
		const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(root, "status"));
		if (status && (strcmp(status, "queued") == 0 || strcmp(status, "running") == 0))
			out->retry_after = 1;
		st = reply_json(root, 200, out, err);
	}
	cJSON_Delete(root);
	return st;
}

seg_status svc_job_cancel(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t,
			  seg_error *err)
{
	store_job_status was;
	seg_status st;

	(void)t;
	reply_init(out);
	st = need_store(ctx, err);
	if (st == SEG_OK)
		st = check_job_id(rq->param[0], err);
	if (st == SEG_OK)
		st = store_job_cancel(ctx->store, rq->param[0], &was, err);
	if (st != SEG_OK)
		return st;
	if (was != JOB_QUEUED && was != JOB_RUNNING)
		return seg_fail(err, SEG_ECONFLICT, "job '%s' is already %s", rq->param[0], store_job_status_name(was));
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "id", rq->param[0]);
	/* A queued job is canceled at once; a running one stops after its current item. */
	cJSON_AddStringToObject(root, "status", was == JOB_QUEUED ? "canceled" : "canceling");
	st = reply_json(root, was == JOB_QUEUED ? 200 : 202, out, err);
	cJSON_Delete(root);
	return st;
}
