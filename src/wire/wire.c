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
	{"prediction", "a probability per pixel: grey PNG value / (2^bitdepth - 1), or .npy float32/float64 "
		       "in [0, 1] (with logits=true a sigmoid is applied first); colour and palette PNGs, "
		       "NaN, infinity and values outside [0, 1] are rejected"},
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

cJSON *wire_profiles(void)
{
	static const char *const hd[] = {"per direction, then the larger (MONAI, segloss)", "both directions pooled (medpy)"};
	static const char *const assd[] = {"both directions pooled", "prediction to target only (MONAI's default)",
					   "mean of the two directed means (medpy)"};
	cJSON *root = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(root, "profiles");

	if (list == NULL)
		goto fail;
	for (int i = 0; i < PROF_COUNT; i++) {
		const prof_info *p = prof_get((prof_id)i);
		cJSON *o = cJSON_CreateObject(), *cv, *defs;
		if (o == NULL || !cJSON_AddItemToArray(list, o))
			goto fail;
		cJSON_AddStringToObject(o, "name", p->name);
		cJSON_AddStringToObject(o, "library", p->library);
		cJSON_AddStringToObject(o, "source", p->source);
		cJSON_AddStringToObject(o, "summary", p->summary);
		cv = cJSON_AddObjectToObject(o, "conventions");
		if (cv == NULL)
			goto fail;
		cJSON_AddBoolToObject(cv, "absent_class_scored", p->conv.absent_scored);
		cJSON_AddBoolToObject(cv, "empty_target_null", p->conv.empty_target_null);
		cJSON_AddBoolToObject(cv, "surface_empty_zero", p->conv.surface_empty_zero);
		cJSON_AddStringToObject(cv, "hausdorff95", hd[p->conv.hd]);
		cJSON_AddStringToObject(cv, "assd", assd[p->conv.assd]);
		cJSON_AddBoolToObject(cv, "region_loss_absent_zero", p->conv.region_absent_zero);
		cJSON_AddBoolToObject(cv, "include_background", p->include_background);
		cJSON_AddBoolToObject(cv, "include_background_surface", p->include_background_surface);
		if (p->has_ignore)
			cJSON_AddNumberToObject(cv, "ignore_index", (double)p->ignore_index);
		else
			cJSON_AddNullToObject(cv, "ignore_index");
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

static int is_surface(spec_fn fn)
{
	return fn >= FN_M_HAUSDORFF && fn <= FN_M_SURFACE_DICE;
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
		const uint8_t *inc = is_surface(specs[i].fn) && o->include_surface ? o->include_surface : o->include;
		cJSON *pm = cJSON_AddObjectToObject(per, specs[i].key);
		if (pm == NULL)
			return SEG_ENOMEM;
		for (int k = 0; k < C; k++)
			if ((inc == NULL || inc[k]) &&
			    !cJSON_AddItemToObject(pm, classes->key[k], wire_number(r->per_class[i * (size_t)C + k])))
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

seg_status wire_parse_spec(const cJSON *item, spec_kind kind, spec *out, seg_error *err)
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
		const char *key = field->string;
		if (strcmp(key, "name") == 0)
			continue;
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
