/*
 * runagg.c — per-class and pooled run aggregates from the store's
 * per-key aggregates.
 *
 * Per-class metrics are stored under "metric.class" (a class key never
 * holds '.', so the last dot splits them); counts under "tp.class",
 * "fp.class", "fn.class" and "valid" (pixels not ignored). Pooled scores
 * come from the sums of those counts over the run's items, which the
 * store keeps exact under replacement (an item posted again replaces its
 * rows): per class IoU = ΣTP/(ΣTP + ΣFP + ΣFN), Dice = 2ΣTP/(2ΣTP + ΣFP +
 * ΣFN), recall = ΣTP/(ΣTP + ΣFN) (mmsegmentation's per-class Acc),
 * precision = ΣTP/(ΣTP + ΣFP); a 0/0 is null and left out of the means
 * (mmsegmentation's nanmean); pixel_accuracy = ΣTP over all classes /
 * Σvalid (its aAcc).
 */
#include "service/runagg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

typedef struct pooled_class {
	char key[STORE_ITEM_MAX];
	double tp, fp, fn;
} pooled_class;

struct ragg {
	cJSON *per_class; /* built as aggregates arrive */
	pooled_class *pc;
	size_t npc, cap;
	double valid;
	int have_counts;
	int oom;
};

ragg *ragg_new(void)
{
	ragg *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->per_class = cJSON_CreateObject();
	if (r->per_class == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

void ragg_free(ragg *r)
{
	if (r == NULL)
		return;
	cJSON_Delete(r->per_class);
	free(r->pc);
	free(r);
}

static pooled_class *class_of(ragg *r, const char *key)
{
	for (size_t i = 0; i < r->npc; i++)
		if (strcmp(r->pc[i].key, key) == 0)
			return &r->pc[i];
	if (r->npc == r->cap) {
		size_t nc = r->cap ? 2 * r->cap : 32;
		pooled_class *t = realloc(r->pc, nc * sizeof(*t));
		if (t == NULL) {
			r->oom = 1;
			return NULL;
		}
		r->pc = t;
		r->cap = nc;
	}
	pooled_class *c = &r->pc[r->npc++];
	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "%s", key);
	return c;
}

/* The object under parent's key, created when absent. */
static cJSON *child(cJSON *parent, const char *key)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, key);

	return o ? o : cJSON_AddObjectToObject(parent, key);
}

void ragg_add(ragg *r, const store_agg *a)
{
	if (a->kind == STORE_PER_CLASS) {
		const char *dot = strrchr(a->key, '.');
		char metric[STORE_ITEM_MAX];
		if (dot == NULL || (size_t)(dot - a->key) >= sizeof(metric))
			return;
		memcpy(metric, a->key, (size_t)(dot - a->key));
		metric[dot - a->key] = '\0';
		cJSON *m = child(r->per_class, metric), *o = cJSON_CreateObject();
		if (m == NULL || o == NULL) {
			cJSON_Delete(o);
			r->oom = 1;
			return;
		}
		cJSON_AddNumberToObject(o, "count", (double)a->count);
		cJSON_AddItemToObject(o, "mean", wire_number(a->mean));
		cJSON_AddItemToObject(o, "std", wire_number(a->std));
		cJSON_AddItemToObject(o, "min", wire_number(a->min));
		cJSON_AddItemToObject(o, "max", wire_number(a->max));
		cJSON_AddItemToObject(m, dot + 1, o);
		return;
	}
	if (a->kind != STORE_COUNTS)
		return;
	r->have_counts = 1;
	if (strcmp(a->key, "valid") == 0) {
		r->valid = a->sum;
		return;
	}
	const char *dot = strchr(a->key, '.');
	if (dot == NULL)
		return;
	pooled_class *c = class_of(r, dot + 1);
	if (c == NULL)
		return;
	if (strncmp(a->key, "tp.", 3) == 0)
		c->tp = a->sum;
	else if (strncmp(a->key, "fp.", 3) == 0)
		c->fp = a->sum;
	else if (strncmp(a->key, "fn.", 3) == 0)
		c->fn = a->sum;
}

static double ratio(double num, double den)
{
	return den > 0.0 ? num / den : NAN;
}

seg_status ragg_json(const ragg *r, cJSON *root)
{
	static const char *const names[4] = {"iou", "dice", "precision", "recall"};
	double sum[4] = {0}, tp_all = 0.0;
	int count[4] = {0};

	if (r->oom)
		return SEG_ENOMEM;
	if (cJSON_GetArraySize(r->per_class) > 0)
		cJSON_AddItemToObject(root, "per_class", cJSON_Duplicate(r->per_class, 1));
	if (!r->have_counts)
		return SEG_OK;
	cJSON *pooled = cJSON_AddObjectToObject(root, "pooled");
	cJSON *classes = cJSON_AddObjectToObject(pooled, "classes");
	if (pooled == NULL || classes == NULL)
		return SEG_ENOMEM;
	for (size_t i = 0; i < r->npc; i++) {
		const pooled_class *c = &r->pc[i];
		double v[4] = {ratio(c->tp, c->tp + c->fp + c->fn), ratio(2.0 * c->tp, 2.0 * c->tp + c->fp + c->fn),
			       ratio(c->tp, c->tp + c->fp), ratio(c->tp, c->tp + c->fn)};
		cJSON *o = cJSON_AddObjectToObject(classes, c->key);
		if (o == NULL)
			return SEG_ENOMEM;
		cJSON_AddNumberToObject(o, "tp", c->tp);
		cJSON_AddNumberToObject(o, "fp", c->fp);
		cJSON_AddNumberToObject(o, "fn", c->fn);
		for (int k = 0; k < 4; k++) {
			cJSON_AddItemToObject(o, names[k], wire_number(v[k]));
			if (!isnan(v[k])) {
				sum[k] += v[k];
				count[k]++;
			}
		}
		tp_all += c->tp;
	}
	for (int k = 0; k < 4; k++)
		cJSON_AddItemToObject(pooled, names[k], wire_number(count[k] ? sum[k] / count[k] : NAN));
	cJSON_AddItemToObject(pooled, "pixel_accuracy", wire_number(ratio(tp_all, r->valid)));
	return SEG_OK;
}

void ragg_item_json(cJSON *o, const store_score *s, size_t n)
{
	cJSON *per = NULL;

	for (size_t i = 0; i < n; i++) {
		if (s[i].kind != STORE_PER_CLASS)
			continue;
		const char *dot = strrchr(s[i].key, '.');
		char metric[STORE_ITEM_MAX];
		if (dot == NULL || (size_t)(dot - s[i].key) >= sizeof(metric))
			continue;
		if (per == NULL && (per = cJSON_AddObjectToObject(o, "per_class")) == NULL)
			return;
		memcpy(metric, s[i].key, (size_t)(dot - s[i].key));
		metric[dot - s[i].key] = '\0';
		cJSON *m = child(per, metric);
		if (m)
			cJSON_AddItemToObject(m, dot + 1, wire_number(s[i].value));
	}
}
