/*
 * wire.c — cJSON encoders for the catalogue and results, and the JSON
 * form of a spec.
 *
 * Numbers are written by cJSON with up to 17 significant digits, so a
 * double survives the round trip exactly; NaN (our "undefined") becomes
 * null. The catalogue is generated from the static table in core/spec.c.
 * Times are given twice, as epoch milliseconds (for arithmetic) and as
 * ISO 8601 UTC text (for people and dashboards).
 */
#include "wire/wire.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

cJSON *wire_number(double v)
{
	return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

void wire_iso8601(int64_t ms, char out[32])
{
	int64_t ms_part = ms % 1000 < 0 ? ms % 1000 + 1000 : ms % 1000;
	time_t sec = (time_t)((ms - ms_part) / 1000);
	struct tm tm;
	size_t n;

	if (gmtime_r(&sec, &tm) == NULL) {
		snprintf(out, 32, "%s", "1970-01-01T00:00:00.000Z");
		return;
	}
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)ms_part);
}

void wire_add_time(cJSON *obj, const char *key, int64_t ms)
{
	char iso[32], name[48];

	wire_iso8601(ms, iso);
	snprintf(name, sizeof(name), "%s_iso", key);
	cJSON_AddNumberToObject(obj, key, (double)ms);
	cJSON_AddStringToObject(obj, name, iso);
}

static const char *ptype_name(spec_ptype t)
{
	switch (t) {
	case SPEC_P_NUMBER:
		return "number";
	case SPEC_P_NULLABLE:
		return "number or null";
	case SPEC_P_CHOICE:
		return "enum";
	case SPEC_P_INT:
		return "integer enum";
	case SPEC_P_PAIR:
		return "[number, number]";
	case SPEC_P_CLASSW:
		return "enum or [number, number]";
	}
	return "?";
}

static cJSON *param_json(const spec_param *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *vals;
	char range[96];

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "type", ptype_name(p->type));
	switch (p->type) {
	case SPEC_P_NUMBER:
	case SPEC_P_NULLABLE:
	case SPEC_P_PAIR:
	case SPEC_P_CLASSW:
		if (p->type == SPEC_P_PAIR) {
			double d[2] = {p->def, p->def};
			cJSON_AddItemToObject(o, "default", cJSON_CreateDoubleArray(d, 2));
		} else if (p->type == SPEC_P_CLASSW) {
			cJSON_AddStringToObject(o, "default", p->choices[0]);
		} else {
			cJSON_AddItemToObject(o, "default", wire_number(p->def));
		}
		cJSON_AddNumberToObject(o, "minimum", p->min);
		cJSON_AddNumberToObject(o, "maximum", p->max);
		cJSON_AddBoolToObject(o, "exclusive_minimum", (p->flags & SPEC_MIN_OPEN) != 0);
		cJSON_AddBoolToObject(o, "exclusive_maximum", (p->flags & SPEC_MAX_OPEN) != 0);
		snprintf(range, sizeof(range), "%c%g, %g%c", (p->flags & SPEC_MIN_OPEN) ? '(' : '[', p->min,
			 p->max, (p->flags & SPEC_MAX_OPEN) ? ')' : ']');
		cJSON_AddStringToObject(o, "range", range);
		if (p->type == SPEC_P_CLASSW) {
			vals = cJSON_AddArrayToObject(o, "values");
			for (int i = 0; p->choices[i]; i++)
				cJSON_AddItemToArray(vals, cJSON_CreateString(p->choices[i]));
		}
		break;
	case SPEC_P_CHOICE:
		cJSON_AddStringToObject(o, "default", p->choices[0]);
		vals = cJSON_AddArrayToObject(o, "values");
		for (int i = 0; p->choices[i]; i++)
			cJSON_AddItemToArray(vals, cJSON_CreateString(p->choices[i]));
		break;
	case SPEC_P_INT:
		cJSON_AddNumberToObject(o, "default", p->def);
		vals = cJSON_AddArrayToObject(o, "values");
		for (int i = 0; p->choices[i]; i++)
			cJSON_AddItemToArray(vals, cJSON_CreateNumber(atof(p->choices[i])));
		break;
	}
	cJSON_AddStringToObject(o, "description", p->doc);
	return o;
}

static const char *const conventions[][2] = {
	{"target", "a pixel is foreground when its value is non-zero: grey level, palette index, or any of "
		   "R, G, B (alpha ignored); .npy targets are bool or integer"},
	{"prediction", "binary: a probability per pixel, grey PNG value / (2^bitdepth - 1) or .npy float in [0, 1] "
		       "(logits: a sigmoid first), or a hard mask (kind mask; a 0/1 grey PNG, a one-colour PNG, an "
		       "integer .npy with one non-zero value, an annotation export); multi-class: a label map or "
		       "per-class probabilities or logits; NaN, infinity and values outside [0, 1] are rejected"},
	{"kinds", "a mask may say what it holds with kind (probability, logits, mask, labels, probabilities; "
		  "targets mask, instances, labels); without one, the rule in docs/losses.md reads it and warns or "
		  "refuses where it could mean two things"},
	{"precision", "predictions are held as float32; every sum and mean is accumulated in double"},
	{"clipping", "log terms use p^ = clip(p, eps, 1 - eps), eps = 1e-7 by default (the Keras convention)"},
	{"threshold", "hard metrics count a pixel as predicted foreground when p >= threshold (default 0.5)"},
	{"boundary", "a boundary pixel is a foreground pixel with a 4-neighbour outside the mask; the image "
		     "border counts as outside"},
	{"distances", "Euclidean distances between pixel centres, rows spacing[0] apart and columns "
		      "spacing[1] apart (default [1, 1])"},
	{"null", "a value that is undefined for the input (0/0, empty masks) is null, and a warning says why"},
};

cJSON *wire_catalogue(void)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *lists[3];
	cJSON *conv;

	if (root == NULL)
		return NULL;
	lists[SPEC_LOSS] = cJSON_AddArrayToObject(root, "losses");
	lists[SPEC_METRIC] = cJSON_AddArrayToObject(root, "metrics");
	lists[SPEC_MAP] = cJSON_AddArrayToObject(root, "maps");
	for (int fn = 0; fn < FN_COUNT; fn++) {
		const spec_info *info = spec_info_of((spec_fn)fn);
		cJSON *o = cJSON_CreateObject();
		cJSON *params;
		if (o == NULL)
			goto fail;
		cJSON_AddItemToArray(lists[info->kind], o);
		cJSON_AddStringToObject(o, "name", info->name);
		cJSON_AddStringToObject(o, "formula", info->formula);
		cJSON_AddStringToObject(o, "edge_cases", info->edge);
		cJSON *modes = cJSON_AddArrayToObject(o, "requests");
		if (info->modes & SPEC_BINARY)
			cJSON_AddItemToArray(modes, cJSON_CreateString("binary"));
		if (info->modes & SPEC_MULTI)
			cJSON_AddItemToArray(modes, cJSON_CreateString("multiclass"));
		if (info->multi_formula)
			cJSON_AddStringToObject(o, "multiclass_formula", info->multi_formula);
		params = cJSON_AddArrayToObject(o, "parameters");
		for (const spec_param *p = info->params; p->name; p++)
			cJSON_AddItemToArray(params, param_json(p));
	}
	conv = cJSON_AddObjectToObject(root, "conventions");
	for (size_t i = 0; i < sizeof(conventions) / sizeof(conventions[0]); i++)
		cJSON_AddStringToObject(conv, conventions[i][0], conventions[i][1]);
	{
		spec d[8];
		size_t nd = spec_defaults(d, 8);
		cJSON *def = cJSON_AddObjectToObject(root, "defaults");
		cJSON *dl = cJSON_AddArrayToObject(def, "losses");
		cJSON *dm = cJSON_AddArrayToObject(def, "metrics");
		for (size_t i = 0; i < nd; i++)
			cJSON_AddItemToArray(spec_info_of(d[i].fn)->kind == SPEC_LOSS ? dl : dm,
					     cJSON_CreateString(d[i].key));
	}
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

/* A "warnings" array of warn's messages (warn may be NULL: an empty array). */
static seg_status add_warnings(cJSON *obj, const eval_warnings *warn)
{
	cJSON *warnings = cJSON_AddArrayToObject(obj, "warnings");

	if (warnings == NULL)
		return SEG_ENOMEM;
	for (int i = 0; warn && i < warn->count; i++)
		if (!cJSON_AddItemToArray(warnings, cJSON_CreateString(warn->msg[i])))
			return SEG_ENOMEM;
	if (warn && warn->dropped) {
		char msg[64];
		snprintf(msg, sizeof(msg), "%d more warnings not shown", warn->dropped);
		if (!cJSON_AddItemToArray(warnings, cJSON_CreateString(msg)))
			return SEG_ENOMEM;
	}
	return SEG_OK;
}

/* One metric's conventions as JSON (the names say what mcconv.h's fields mean). */
static cJSON *metric_conv_json(const mce_mconv *m, spec_fn fn)
{
	static const char *const undef[] = {"null", "nan", "inf"};
	static const char *const ratio[] = {"plain", "recall", "tp/(union+1e-7)", "f1 with ties (keras)"};
	static const char *const rule[] = {"segloss", "monai", "smp", "torchmetrics classification",
					   "torchmetrics segmentation", "torchmetrics sum/count", "nanmean",
					   "keras mean iou", "keras f1"};
	static const char *const avg[] = {"macro", "micro", "weighted", "none"};
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	cJSON_AddBoolToObject(o, "include_background", !m->no_background);
	cJSON_AddStringToObject(o, "average", avg[m->average]);
	cJSON_AddStringToObject(o, "averaging", rule[m->avg]);
	if (fn <= FN_M_ACCURACY) {
		cJSON_AddStringToObject(o, "absent_from_both", m->scored ? "scored" : "null");
		cJSON_AddBoolToObject(o, "absent_from_target_nan", m->empty_target);
		cJSON_AddStringToObject(o, "zero_over_zero", undef[m->zero]); /* zero_division, when set, wins */
		cJSON_AddStringToObject(o, "ratio", ratio[m->ratio]);
	} else {
		cJSON_AddStringToObject(o, "one_mask_empty", fn == FN_M_SURFACE_DICE ? "0" : undef[m->one_empty]);
		cJSON_AddStringToObject(o, "both_masks_empty", undef[m->both_empty]);
		if (fn == FN_M_HAUSDORFF95)
			cJSON_AddStringToObject(o, "percentile", m->hd_pooled ? "both directions pooled"
									       : "per direction, then the larger");
	}
	return o;
}

/* One loss's conventions as JSON. */
static cJSON *loss_conv_json(const mce_lconv *l, spec_fn fn)
{
	static const char *const form[] = {"segloss's formula", "divided by every pixel", "keras (renormalised, / valid pixels)",
					   "monai softmax focal", "keras categorical focal", "sigmoid focal, summed over classes",
					   "sigmoid focal, mean over pixels and classes", "sigmoid dice pooled over classes"};
	static const struct {
		unsigned flag;
		const char *name;
	} flags[] = {{MCE_LC_ZERO_ABSENT, "absent_class_scores_0"},
		     {MCE_LC_POW_AFTER_MEAN, "power_after_class_mean"},
		     {MCE_LC_POOLED, "pooled_over_classes"},
		     {MCE_LC_HALF_SMOOTH, "jaccard_(2I+s)/(2U+s)"},
		     {MCE_LC_ALPHA_ON_FN, "alpha_on_false_negatives"},
		     {MCE_LC_MEAN_OVER_N, "weighted_mean_over_n"},
		     {MCE_LC_NONE_ZERO, "no_class_present_gives_0"},
		     {MCE_LC_NAN_EMPTY, "all_ignored_gives_nan"},
		     {MCE_LC_TAKES_ALPHA, "takes_alpha"}};
	cJSON *o = cJSON_CreateObject(), *f;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "form", form[l->form]);
	f = cJSON_AddArrayToObject(o, "conventions");
	for (size_t i = 0; f && i < sizeof(flags) / sizeof(flags[0]); i++)
		if (l->flags & flags[i].flag)
			cJSON_AddItemToArray(f, cJSON_CreateString(flags[i].name));
	cJSON_AddBoolToObject(o, "class_weights", !(l->flags & MCE_LC_NO_WEIGHTS));
	if (fn == FN_CROSS_ENTROPY)
		cJSON_AddBoolToObject(o, "label_smoothing", !(l->flags & MCE_LC_NO_SMOOTHING));
	if (l->den_eps > 0.0)
		cJSON_AddNumberToObject(o, "denominator_eps", l->den_eps);
	if (l->den_floor > 0.0)
		cJSON_AddNumberToObject(o, "denominator_floor", l->den_floor);
	return o;
}

cJSON *wire_profiles(void)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(root, "profiles");

	if (list == NULL)
		goto fail;
	for (int i = 0; i < PROF_COUNT; i++) {
		const prof_info *p = prof_get((prof_id)i);
		cJSON *o = cJSON_CreateObject(), *cv, *defs, *ms, *ls;
		if (o == NULL || !cJSON_AddItemToArray(list, o))
			goto fail;
		cJSON_AddStringToObject(o, "name", p->name);
		cJSON_AddStringToObject(o, "library", p->library);
		cJSON_AddStringToObject(o, "source", p->source);
		cJSON_AddStringToObject(o, "summary", p->summary);
		cv = cJSON_AddObjectToObject(o, "conventions");
		if (cv == NULL)
			goto fail;
		if (p->has_ignore)
			cJSON_AddNumberToObject(cv, "ignore_index", (double)p->ignore_index);
		else
			cJSON_AddNullToObject(cv, "ignore_index");
		ms = cJSON_AddObjectToObject(cv, "metrics");
		ls = cJSON_AddObjectToObject(cv, "losses");
		if (ms == NULL || ls == NULL)
			goto fail;
		for (int fn = FN_M_DICE; fn <= FN_M_SURFACE_DICE; fn++) {
			cJSON *m = metric_conv_json(mce_metric_conv(p->conv, (spec_fn)fn), (spec_fn)fn);
			if (m == NULL || !cJSON_AddItemToObject(ms, spec_info_of((spec_fn)fn)->name, m))
				goto fail;
		}
		for (int fn = 0; fn < MCE_NLOSSES; fn++) {
			if (!(spec_info_of((spec_fn)fn)->modes & SPEC_MULTI))
				continue;
			cJSON *l = loss_conv_json(mce_loss_conv(p->conv, (spec_fn)fn), (spec_fn)fn);
			if (l == NULL || !cJSON_AddItemToObject(ls, spec_info_of((spec_fn)fn)->name, l))
				goto fail;
		}
		defs = cJSON_AddArrayToObject(o, "defaults");
		if (defs == NULL)
			goto fail;
		for (const prof_default *d = p->defaults; d->param; d++) {
			const spec_info *info = spec_info_of(d->fn);
			cJSON *e = cJSON_CreateObject();
			if (e == NULL || !cJSON_AddItemToArray(defs, e))
				goto fail;
			cJSON_AddStringToObject(e, "function", info->name);
			cJSON_AddStringToObject(e, "kind", spec_kind_name(info->kind));
			cJSON_AddStringToObject(e, "parameter", d->param);
			cJSON_AddNumberToObject(e, "value", d->value);
		}
	}
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

seg_status wire_add_results(cJSON *obj, const spec *specs, const double *values, size_t n,
			    const eval_warnings *warn)
{
	cJSON *losses = cJSON_AddObjectToObject(obj, "losses");
	cJSON *metrics = cJSON_AddObjectToObject(obj, "metrics");

	if (losses == NULL || metrics == NULL)
		return SEG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		cJSON *dst = spec_info_of(specs[i].fn)->kind == SPEC_LOSS ? losses : metrics;
		cJSON *num = wire_number(values[i]);
		if (num == NULL || !cJSON_AddItemToObject(dst, specs[i].key, num)) {
			cJSON_Delete(num);
			return SEG_ENOMEM;
		}
	}
	return add_warnings(obj, warn);
}

seg_status wire_add_mc_results(cJSON *obj, const cls_table *classes, const spec *specs, size_t n,
			       const mce_result *r, const mce_opts *o, int confusion, const char (*notes)[EVAL_WARN_LEN],
			       int nnotes)
{
	cJSON *cl = cJSON_AddArrayToObject(obj, "classes");
	cJSON *losses = cJSON_AddObjectToObject(obj, "losses");
	cJSON *metrics = cJSON_AddObjectToObject(obj, "metrics");
	cJSON *per = cJSON_AddObjectToObject(obj, "per_class");
	int C = classes->count;

	if (cl == NULL || losses == NULL || metrics == NULL || per == NULL)
		return SEG_ENOMEM;
	for (int k = 0; k < C; k++) {
		cJSON *e = cJSON_CreateObject();
		if (e == NULL || !cJSON_AddItemToArray(cl, e))
			return SEG_ENOMEM;
		cJSON_AddNumberToObject(e, "id", classes->id[k]);
		cJSON_AddStringToObject(e, "name", classes->key[k]);
		if (classes->colored) {
			char hex[8];
			snprintf(hex, sizeof(hex), "#%06x", (unsigned)classes->color[k]);
			cJSON_AddStringToObject(e, "color", hex);
		}
	}
	for (size_t i = 0; i < n; i++) {
		spec_kind kind = spec_info_of(specs[i].fn)->kind;
		if (kind == SPEC_LOSS) {
			if (!cJSON_AddItemToObject(losses, specs[i].key, wire_number(r->value[i])))
				return SEG_ENOMEM;
			continue;
		}
		if (specs[i].fn == FN_M_PIXEL_ACCURACY) {
			if (!cJSON_AddItemToObject(metrics, specs[i].key, wire_number(r->value[i])))
				return SEG_ENOMEM;
			continue;
		}
		if (o->average != MCE_NONE && !cJSON_AddItemToObject(metrics, specs[i].key, wire_number(r->value[i])))
			return SEG_ENOMEM;
		/* Every class: include_background only decides what the average reads. */
		cJSON *pm = cJSON_AddObjectToObject(per, specs[i].key);
		if (pm == NULL)
			return SEG_ENOMEM;
		for (int k = 0; k < C; k++)
			if (!cJSON_AddItemToObject(pm, classes->key[k], wire_number(r->per_class[i * (size_t)C + k])))
				return SEG_ENOMEM;
	}
	if (confusion) {
		cJSON *cf = cJSON_AddObjectToObject(obj, "confusion");
		cJSON *names = cJSON_AddArrayToObject(cf, "classes");
		cJSON *m = cJSON_AddArrayToObject(cf, "matrix");
		if (cf == NULL || names == NULL || m == NULL)
			return SEG_ENOMEM;
		for (int k = 0; k < C; k++) {
			cJSON *row = cJSON_CreateArray();
			cJSON_AddItemToArray(names, cJSON_CreateString(classes->key[k]));
			if (row == NULL || !cJSON_AddItemToArray(m, row))
				return SEG_ENOMEM;
			for (int j = 0; j < C; j++)
				cJSON_AddItemToArray(row, cJSON_CreateNumber((double)r->confusion[(size_t)k * C + j]));
		}
	}
	eval_warnings all = r->warn;
	for (int i = 0; i < nnotes; i++)
		eval_warn(&all, "%s", notes[i]);
	return add_warnings(obj, &all);
}

seg_status wire_parse_spec(const cJSON *item, spec_kind kind, const char *profile, spec *out, seg_error *err)
{
	const cJSON *name, *field;
	seg_status st;

	if (cJSON_IsString(item))
		return spec_parse(item->valuestring, kind, out, err);
	if (!cJSON_IsObject(item))
		return seg_fail(err, SEG_EINVAL, "a %s must be a name or an object with \"name\"",
				spec_kind_name(kind));
	name = cJSON_GetObjectItemCaseSensitive(item, "name");
	if (!cJSON_IsString(name))
		return seg_fail(err, SEG_EINVAL, "a %s object needs a string \"name\"", spec_kind_name(kind));
	st = spec_init(out, kind, name->valuestring, err);
	if (st != SEG_OK)
		return st;
	cJSON_ArrayForEach(field, item)
	{
		const char *key = field->string, *owner;
		if (strcmp(key, "name") == 0)
			continue;
		owner = strcmp(key, "as") == 0 ? NULL : spec_param_elsewhere(out, key);
		if (owner)
			return seg_fail(err, SEG_EINVAL, "%s%s%s%s '%s' takes no parameter '%.64s' (it is %s's)",
					profile ? "profile '" : "", profile ? profile : "", profile ? "': " : "",
					spec_kind_name(kind), out->key, key, owner);
		if (strcmp(key, "as") == 0) {
			if (!cJSON_IsString(field))
				return seg_fail(err, SEG_EINVAL, "\"as\" must be a string");
			st = spec_set_alias(out, field->valuestring, err);
		} else if (cJSON_IsNumber(field)) {
			st = spec_set_number(out, key, field->valuedouble, err);
		} else if (cJSON_IsString(field)) {
			st = spec_set_string(out, key, field->valuestring, err);
		} else if (cJSON_IsNull(field)) {
			st = spec_set_null(out, key, err);
		} else if (cJSON_IsArray(field)) {
			const cJSON *a = cJSON_GetArrayItem(field, 0), *b = cJSON_GetArrayItem(field, 1);
			if (cJSON_GetArraySize(field) != 2 || !cJSON_IsNumber(a) || !cJSON_IsNumber(b))
				return seg_fail(err, SEG_EINVAL, "parameter '%.64s' of '%s': a list must hold two numbers",
						key, out->key);
			st = spec_set_pair(out, key, a->valuedouble, b->valuedouble, err);
		} else {
			return seg_fail(err, SEG_EINVAL, "parameter '%.64s' of '%s' has an unsupported JSON type", key,
					out->key);
		}
		if (st != SEG_OK)
			return st;
	}
	return SEG_OK;
}
