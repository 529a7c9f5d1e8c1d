/*
 * kept.c — keep_masks: the uploads of an item, kept beside its scores.
 *
 * What is kept is what the client sent (PNG, .npy, or an annotation
 * export as compact JSON text), not a re-encoding, so a person opening an
 * item sees the very file that was scored, and a script gets it back
 * byte for byte. Two caps bound the store: the per-item cap is checked
 * here before anything is written; the run's total is checked by the
 * store inside the transaction that records the item (store_record_masks),
 * so concurrent writers of one run cannot pass it together. Over a cap
 * the scores are recorded all the same and a warning says why the masks
 * were not: keeping pictures is a convenience that must not lose a score.
 *
 * The bytes alone do not say how they were read: logits, a threshold,
 * the kinds, the classes and the ignore label change what a pixel means.
 * Those options are kept with the masks as a JSON object of /v1/evaluate
 * form fields (GET .../items/{seq}/options), so the masks sent back with
 * them are read exactly as the item was.
 */
#include "service/kept.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/npy.h"

/* The bytes of a mask as uploaded; *owned is set when they were printed from JSON (caller frees). */
static const uint8_t *upload(const req_mask *m, size_t *len, char **owned)
{
	*owned = NULL;
	if (m->annot) {
		*owned = cJSON_PrintUnformatted(m->annot);
		*len = *owned ? strlen(*owned) : 0;
		return (const uint8_t *)*owned;
	}
	*len = m->len;
	return m->data;
}

static void warn(cJSON *obj, const char *text)
{
	cJSON *w = cJSON_GetObjectItemCaseSensitive(obj, "warnings");

	if (w == NULL)
		w = cJSON_AddArrayToObject(obj, "warnings");
	cJSON_AddItemToArray(w, cJSON_CreateString(text));
}

/* The threshold of the first metric or map that sets one: the one its hard prediction was read with. */
static int first_threshold(const req_eval *rq, double *t)
{
	for (size_t i = 0; i < rq->nspecs; i++)
		if (spec_is_set(&rq->specs[i], "threshold")) {
			*t = rq->specs[i].par.threshold;
			return 1;
		}
	for (size_t i = 0; i < rq->nmaps; i++)
		if (spec_is_set(&rq->maps[i], "threshold")) {
			*t = rq->maps[i].par.threshold;
			return 1;
		}
	return 0;
}

/* The classes as "classes" takes them: {"id"}, with "name" when the key is not the id, and "color". */
static void add_classes(cJSON *o, const cls_table *t)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "classes");
	char id[16], color[12];

	for (int k = 0; arr && k < t->count; k++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddNumberToObject(c, "id", t->id[k]);
		snprintf(id, sizeof(id), "%u", (unsigned)t->id[k]);
		if (strcmp(t->key[k], id) != 0)
			cJSON_AddStringToObject(c, "name", t->key[k]);
		if (t->color && t->color[k] >= 0) {
			snprintf(color, sizeof(color), "#%06x", (unsigned)t->color[k] & 0xffffffu);
			cJSON_AddStringToObject(c, "color", color);
		}
		cJSON_AddItemToArray(arr, c);
	}
}

char *kept_options(const req_eval *rq, const req_case *c)
{
	cJSON *o = cJSON_CreateObject();
	const mco_opts *mc = &rq->mc;
	double t;
	char *text;

	if (o == NULL)
		return NULL;
	if (c->prediction.kind == INP_LOGITS)
		cJSON_AddTrueToObject(o, "logits");
	else if (c->prediction.kind != INP_AUTO)
		cJSON_AddStringToObject(o, "prediction_kind", inp_kind_name(c->prediction.kind));
	if (c->target.kind != INP_AUTO)
		cJSON_AddStringToObject(o, "target_kind", inp_kind_name(c->target.kind));
	if (c->prediction.channel_axis != NPY_AXIS_AUTO)
		cJSON_AddNumberToObject(o, "channel_axis", c->prediction.channel_axis == 0 ? 0 : -1);
	if (first_threshold(rq, &t))
		cJSON_AddNumberToObject(o, "threshold", t);
	if (mc->multi) {
		add_classes(o, &mc->classes);
		if (mc->ignore_set && mc->has_ignore)
			cJSON_AddNumberToObject(o, "ignore_index", (double)mc->ignore_index);
		else if (mc->ignore_set)
			cJSON_AddNullToObject(o, "ignore_index");
		if (mc->include_background >= 0)
			cJSON_AddBoolToObject(o, "include_background", mc->include_background);
		if (mc->background >= 0)
			cJSON_AddNumberToObject(o, "background", (double)mc->background);
		if (mc->profile != prof_get(PROF_SEGLOSS))
			cJSON_AddStringToObject(o, "profile", mc->profile->name);
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

seg_status kept_record(const svc_ctx *ctx, const req_eval *rq, const req_case *c, const char *item, int64_t time_ms,
		       int width, int height, const store_score *scores, size_t nscores, cJSON *obj, seg_error *err)
{
	char *t_json = NULL, *p_json = NULL, *o_json = NULL, note[400];
	store_masks m = {0};
	uint64_t held = 0, size;
	int kept = 0;
	seg_status st;

	if (!rq->keep_masks)
		return store_record(ctx->store, rq->run, item, time_ms, width, height, scores, nscores,
				    err);
	m.target = upload(&c->target, &m.target_len, &t_json);
	m.prediction = upload(&c->prediction, &m.prediction_len, &p_json);
	m.options = o_json = kept_options(rq, c);
	if ((c->target.annot && t_json == NULL) || (c->prediction.annot && p_json == NULL) || o_json == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory keeping the masks");
		goto out;
	}
	size = (uint64_t)m.target_len + m.prediction_len;
	if (size > ctx->lim.keep_masks_item) {
		st = store_record(ctx->store, rq->run, item, time_ms, width, height, scores, nscores, err);
		snprintf(note, sizeof(note),
			 "masks not kept: the target and the prediction hold %llu bytes, over the per-item cap of %llu bytes (--keep-masks-max-item)",
			 (unsigned long long)size, (unsigned long long)ctx->lim.keep_masks_item);
	} else {
		st = store_record_masks(ctx->store, rq->run, item, time_ms, width, height, scores, nscores, &m,
					ctx->lim.keep_masks_run, &kept, &held, err);
		snprintf(note, sizeof(note),
			 "masks not kept: run '%s' keeps %llu bytes of masks, and these %llu bytes would pass its cap of %llu bytes (--keep-masks-max-run)",
			 rq->run, (unsigned long long)held, (unsigned long long)size,
			 (unsigned long long)ctx->lim.keep_masks_run);
	}
	if (st == SEG_OK) {
		if (!kept)
			warn(obj, note);
		cJSON_AddBoolToObject(obj, "masks_kept", kept);
	}
out:
	cJSON_free(t_json);
	cJSON_free(p_json);
	cJSON_free(o_json);
	return st;
}

typedef struct kept_copy {
	svc_reply *out;
	seg_status st;
	int options; /* the options' JSON text, not a mask */
} kept_copy;

static void copy_mask(void *opaque, const char *item, const uint8_t *data, size_t len)
{
	kept_copy *k = opaque;
	static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

	(void)item;
	if (k->options) {
		/* Masks kept before their options were: nothing is known beyond the defaults. */
		k->out->content_type = "application/json";
		k->st = len ? buf_append(&k->out->body, data, len) : buf_puts(&k->out->body, "{}");
		return;
	}
	k->out->content_type = len >= 8 && memcmp(data, png, 8) == 0		? "image/png"
			       : len >= 6 && memcmp(data, "\x93NUMPY", 6) == 0 ? "application/x-npy"
			       : len >= 1 && data[0] == '{'			? "application/json"
										: "application/octet-stream";
	k->st = buf_append(&k->out->body, data, len);
}

seg_status kept_reply(store *s, const char *run, int64_t seq, int which, svc_reply *out, seg_error *err)
{
	kept_copy k = {out, SEG_OK, which == 2};
	seg_status st = store_item_mask(s, run, seq, which, copy_mask, &k, err);

	if (st != SEG_OK)
		return st;
	if (k.st != SEG_OK)
		return seg_fail(err, k.st, "out of memory reading the kept %s",
				which == 2 ? "options" : which ? "prediction" : "target");
	out->status = 200;
	return SEG_OK;
}
