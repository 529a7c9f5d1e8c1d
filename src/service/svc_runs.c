/*
 * svc_runs.c — the run routes: list, aggregates, items (paged and
 * ordered), kept masks, comparison and deletion.
 *
 * Every answer that reads a run carries a weak ETag made of the store's
 * data version and the request's query, so a dashboard polling an
 * unchanged run gets a 304 without the store being read again. The
 * aggregates of multi-class runs (per class and pooled) are assembled by
 * runagg.c from the keys the store keeps.
 */
#include "service/service.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core/classes.h"
#include "core/spec.h"
#include "service/kept.h"
#include "service/request.h"
#include "service/runagg.h"
#include "service/svc_int.h"
#include "wire/wire.h"

seg_status svc_need_store(const svc_ctx *ctx, seg_error *err)
{
	if (ctx->store == NULL)
		return seg_fail(err, SEG_ESTORE, "runs and jobs are not available: the daemon has no store");
	return SEG_OK;
}

/* 64-bit FNV-1a, for ETags and body fingerprints (not a security boundary). */
uint64_t svc_fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t svc_fnv_str(uint64_t h, const char *s)
{
	return s ? svc_fnv1a(h, s, strlen(s) + 1) : svc_fnv1a(h, "", 1);
}

/*
 * Sets the reply's ETag from a data version and the request's query; when
 * the client's If-None-Match names it, the reply is 304 and *fresh is 1.
 */
static void set_etag(const svc_request *rq, int64_t version, svc_reply *out, int *fresh)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = svc_fnv_str(h, rq->param[0]);
	h = svc_fnv_str(h, rq->param[1]);
	h = svc_fnv_str(h, rq->after);
	h = svc_fnv_str(h, rq->limit);
	h = svc_fnv_str(h, rq->order_by);
	h = svc_fnv_str(h, rq->order);
	h = svc_fnv_str(h, rq->percentiles);
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
	svc_reply_init(out);
	st = svc_need_store(ctx, err);
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
		st = svc_reply_json(root, 200, out, err);
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
	svc_reply_init(out);
	/* percentiles=false: what the store keeps as items are written, in constant time per key. */
	int percentiles = rq->percentiles == NULL || strcmp(rq->percentiles, "true") == 0;
	st = svc_need_store(ctx, err);
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
	root = cJSON_CreateObject();
	agg_ctx ac = {cJSON_CreateObject(), cJSON_CreateObject(), ragg_new(), percentiles};
	if (root == NULL || ac.losses == NULL || ac.metrics == NULL || ac.mc == NULL)
		st = seg_fail(err, SEG_ENOMEM, "out of memory");
	/* The count, the aggregates and the ETag from one read: other writers may have come since the version's. */
	if (st == SEG_OK)
		st = store_run_summary(ctx->store, rq->param[0], percentiles, &run, add_agg, &ac, err);
	if (st == SEG_OK) {
		run_json(root, &run);
		cJSON_AddItemToObject(root, "losses", ac.losses);
		cJSON_AddItemToObject(root, "metrics", ac.metrics);
		ac.losses = ac.metrics = NULL; /* root's now */
		set_etag(rq, run.version, out, &fresh);
	}
	if (st == SEG_OK && ragg_json(ac.mc, root) != SEG_OK)
		st = seg_fail(err, SEG_ENOMEM, "out of memory");
	if (st == SEG_OK && !fresh)
		st = svc_reply_json(root, 200, out, err);
	ragg_free(ac.mc);
	cJSON_Delete(ac.losses);
	cJSON_Delete(ac.metrics);
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

seg_status svc_parse_long(const char *name, const char *v, long long lo, long long hi, long long *out,
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
	svc_reply_init(out);
	st = svc_need_store(ctx, err);
	if (st == SEG_OK)
		st = check_run_param(rq, 0, err);
	if (st == SEG_OK && rq->after && (st = svc_parse_long("after", rq->after, 0, INT64_MAX, &v, err)) == SEG_OK)
		q.after = v;
	if (st == SEG_OK && rq->limit && (st = svc_parse_long("limit", rq->limit, 1, 1000, &v, err)) == SEG_OK)
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
		st = svc_reply_json(root, 200, out, err);
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
 * GET /v1/runs/{run}/items/{seq}/target, .../prediction and .../options:
 * what the item kept (keep_masks), by its current sequence number (names
 * may hold '/'). The ETag follows the run's version, as for the run's
 * other routes.
 */
static seg_status run_item_mask(const svc_ctx *ctx, const svc_request *rq, int which, svc_reply *out, seg_error *err)
{
	const char *p = rq->param[1];
	svc_request tagged = *rq;
	long long seq = 0;
	int64_t version;
	int fresh;
	seg_status st;

	svc_reply_init(out);
	st = svc_need_store(ctx, err);
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
	/* The target, the prediction and the options of one item are three resources: their ETags differ. */
	tagged.order = which == 2 ? "options" : which ? "prediction" : "target";
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

seg_status svc_run_item_options(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t,
				seg_error *err)
{
	(void)t;
	return run_item_mask(ctx, rq, 2, out, err);
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
	svc_reply_init(out);
	st = svc_need_store(ctx, err);
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
		st = svc_reply_json(root, 200, out, err);
out:
	cJSON_Delete(root);
	free(c.keys);
	return st;
}

seg_status svc_run_delete(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err)
{
	seg_status st;

	(void)t;
	svc_reply_init(out);
	st = svc_need_store(ctx, err);
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
