/*
 * mcopts.c — the multi-class request fields, from JSON values or text.
 *
 * Every field is checked where it is read (type, range, the class cap
 * before the class table is allocated); what depends on several fields
 * (weights against the class count, the ignore label against the class
 * ids, the background, binary-only parameters) is checked in mco_finish,
 * once all are known, so the order of fields in a body never matters.
 */
#include "service/mcopts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fields[] = {"classes",	      "ignore_index", "include_background", "background",
				     "class_weights", "average",      "profile",	    "confusion", NULL};

static const char *const averages[] = {"macro", "micro", "weighted", "none", NULL};

void mco_init(mco_opts *o, int max_classes)
{
	memset(o, 0, sizeof(*o));
	o->classes.background = -1;
	o->include_background = -1;
	o->background = -1;
	o->average = -1;
	o->profile = prof_get(PROF_SEGLOSS);
	o->max_classes = max_classes > 0 ? max_classes : MCO_DEFAULT_MAX_CLASSES;
}

void mco_release(mco_opts *o)
{
	if (o == NULL)
		return;
	cls_release(&o->classes);
	free(o->class_weights);
	o->class_weights = NULL;
	o->nweights = 0;
	o->multi = 0;
}

int mco_owns(const char *name)
{
	for (int i = 0; fields[i]; i++)
		if (strcmp(fields[i], name) == 0)
			return 1;
	return 0;
}

/* An integer JSON number within [lo, hi]. */
/* A short rendering of v (borrowed) for a message, in buf: "red", 70000, true, an array. */
static const char *json_text(const cJSON *v, char *buf, size_t size)
{
	if (cJSON_IsString(v))
		snprintf(buf, size, "'%.32s%s'", v->valuestring, strlen(v->valuestring) > 32 ? "..." : "");
	else if (cJSON_IsNumber(v))
		snprintf(buf, size, "%.17g", v->valuedouble);
	else if (cJSON_IsBool(v))
		snprintf(buf, size, "%s", cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsNull(v))
		snprintf(buf, size, "null");
	else
		snprintf(buf, size, "%s", cJSON_IsArray(v) ? "an array" : "an object");
	return buf;
}

static int json_int(const cJSON *v, double lo, double hi, int64_t *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
		return 0;
	*out = (int64_t)v->valuedouble;
	return 1;
}

/* "#rrggbb" to 0xRRGGBB, or -1. */
static int32_t parse_color(const char *s)
{
	int32_t v = 0;

	if (s[0] != '#' || strlen(s) != 7)
		return -1;
	for (int i = 1; i < 7; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static seg_status class_entry(mco_opts *o, int k, const cJSON *e, seg_error *err)
{
	const cJSON *f;
	int64_t id = k;
	const char *name = NULL;
	int32_t color = -1;
	char text[48];

	if (cJSON_IsString(e))
		return cls_set(&o->classes, k, (uint32_t)k, e->valuestring, -1, err);
	if (!cJSON_IsObject(e))
		return seg_fail(err, SEG_EINVAL, "classes[%d] must be a name or an object {\"id\", \"name\", \"color\"}", k);
	cJSON_ArrayForEach(f, e)
	{
		if (strcmp(f->string, "id") == 0) {
			if (!json_int(f, 0, 65535, &id))
				return seg_fail(err, SEG_EINVAL, "classes[%d].id must be an integer in [0, 65535], got %s", k,
						json_text(f, text, sizeof(text)));
		} else if (strcmp(f->string, "name") == 0) {
			if (!cJSON_IsString(f))
				return seg_fail(err, SEG_EINVAL, "classes[%d].name must be a string", k);
			name = f->valuestring;
		} else if (strcmp(f->string, "color") == 0) {
			if (!cJSON_IsString(f) || (color = parse_color(f->valuestring)) < 0)
				return seg_fail(err, SEG_EINVAL, "classes[%d].color must be \"#rrggbb\", got %s", k,
						json_text(f, text, sizeof(text)));
		} else {
			return seg_fail(err, SEG_EINVAL, "unknown field \"%.64s\" in classes[%d] (expected \"id\", \"name\", "
					"\"color\")", f->string, k);
		}
	}
	if (cJSON_GetObjectItemCaseSensitive(e, "id") == NULL && cJSON_GetObjectItemCaseSensitive(e, "name") == NULL)
		return seg_fail(err, SEG_EINVAL, "classes[%d] needs an \"id\" or a \"name\"", k);
	return cls_set(&o->classes, k, (uint32_t)id, name, color, err);
}

static seg_status set_classes(mco_opts *o, const cJSON *v, seg_error *err)
{
	int64_t count;
	seg_status st;

	cls_release(&o->classes);
	o->multi = 0;
	if (cJSON_IsNumber(v)) {
		if (!json_int(v, 1, 1e9, &count))
			return seg_fail(err, SEG_EINVAL, "\"classes\" must be a positive class count, a list of names, "
					"or a list of {\"id\", \"name\", \"color\"}");
		st = cls_alloc(&o->classes, count > INT32_MAX ? INT32_MAX : (int)count, o->max_classes, err);
	} else if (cJSON_IsArray(v)) {
		int n = cJSON_GetArraySize(v), k = 0;
		const cJSON *e;
		st = cls_alloc(&o->classes, n, o->max_classes, err);
		cJSON_ArrayForEach(e, v)
		{
			if (st != SEG_OK)
				break;
			st = class_entry(o, k++, e, err);
		}
	} else {
		return seg_fail(err, SEG_EINVAL, "\"classes\" must be a class count, a list of names, or a list of "
				"{\"id\", \"name\", \"color\"}");
	}
	if (st != SEG_OK) {
		cls_release(&o->classes);
		return st;
	}
	o->multi = 1;
	return SEG_OK;
}

static seg_status set_weights(mco_opts *o, const cJSON *v, seg_error *err)
{
	int n = cJSON_GetArraySize(v), k = 0;
	double sum = 0.0;
	const cJSON *e;

	if (!cJSON_IsArray(v) || n == 0)
		return seg_fail(err, SEG_EINVAL, "\"class_weights\" must be a list of numbers, one per class");
	if (n > SEG_MAX_CLASSES)
		return seg_fail(err, SEG_EINVAL, "\"class_weights\" has %d entries, more than any class count", n);
	free(o->class_weights);
	o->class_weights = malloc((size_t)n * sizeof(double));
	o->nweights = 0;
	if (o->class_weights == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory");
	cJSON_ArrayForEach(e, v)
	{
		if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) || e->valuedouble < 0)
			return seg_fail(err, SEG_EINVAL, "class_weights[%d] must be a number >= 0", k);
		o->class_weights[k++] = e->valuedouble;
		sum += e->valuedouble;
	}
	if (sum <= 0.0)
		return seg_fail(err, SEG_EINVAL, "\"class_weights\" must not all be 0");
	o->nweights = n;
	return SEG_OK;
}

static seg_status set_word(const cJSON *v, const char *name, const char *const *words, int *out, seg_error *err)
{
	if (cJSON_IsString(v))
		for (int i = 0; words[i]; i++)
			if (strcmp(words[i], v->valuestring) == 0) {
				*out = i;
				return SEG_OK;
			}
	return seg_fail(err, SEG_EINVAL, "\"%s\" must be one of %s, %s, %s or %s", name, words[0], words[1], words[2],
			words[3]);
}

seg_status mco_set(mco_opts *o, const char *name, const cJSON *v, seg_error *err)
{
	int64_t x;

	if (strcmp(name, "classes") == 0)
		return set_classes(o, v, err);
	if (strcmp(name, "ignore_index") == 0) {
		o->ignore_set = 1;
		o->has_ignore = !cJSON_IsNull(v);
		if (o->has_ignore && !json_int(v, INT32_MIN, UINT32_MAX, &o->ignore_index))
			return seg_fail(err, SEG_EINVAL, "\"ignore_index\" must be an integer (255, -100, ...) or null");
		return SEG_OK;
	}
	if (strcmp(name, "include_background") == 0) {
		if (!cJSON_IsBool(v))
			return seg_fail(err, SEG_EINVAL, "\"include_background\" must be true or false");
		o->include_background = cJSON_IsTrue(v);
		return SEG_OK;
	}
	if (strcmp(name, "background") == 0) {
		if (!json_int(v, 0, 65535, &x))
			return seg_fail(err, SEG_EINVAL, "\"background\" must be a class id in [0, 65535]");
		o->background = x;
		return SEG_OK;
	}
	if (strcmp(name, "class_weights") == 0)
		return set_weights(o, v, err);
	if (strcmp(name, "average") == 0)
		return set_word(v, "average", averages, &o->average, err);
	if (strcmp(name, "profile") == 0) {
		if (!cJSON_IsString(v))
			return seg_fail(err, SEG_EINVAL, "\"profile\" must be a name (segloss, monai, torchmetrics, smp, "
					"mmseg, pytorch, keras, medpy)");
		o->profile = prof_find(v->valuestring, err);
		return o->profile ? SEG_OK : SEG_EINVAL;
	}
	if (strcmp(name, "confusion") == 0) {
		if (!cJSON_IsBool(v))
			return seg_fail(err, SEG_EINVAL, "\"confusion\" must be true or false");
		o->confusion = cJSON_IsTrue(v);
		return SEG_OK;
	}
	return seg_fail(err, SEG_EINVAL, "unknown field \"%.64s\"", name);
}

/* Text as a JSON value: JSON itself, a number, true/false/null, a comma list, or a string. */
static cJSON *text_value(const char *name, const char *text)
{
	char *end = NULL;
	double d;

	if (text[0] == '[' || text[0] == '{')
		return cJSON_Parse(text);
	if (strcmp(text, "true") == 0)
		return cJSON_CreateTrue();
	if (strcmp(text, "false") == 0)
		return cJSON_CreateFalse();
	if (strcmp(text, "null") == 0)
		return cJSON_CreateNull();
	d = strtod(text, &end);
	if (end != text && *end == '\0')
		return cJSON_CreateNumber(d);
	if (strchr(text, ',') && (strcmp(name, "classes") == 0 || strcmp(name, "class_weights") == 0)) {
		cJSON *arr = cJSON_CreateArray();
		char piece[CLS_KEY_MAX + 8];
		const char *p = text;
		while (arr) {
			size_t n = strcspn(p, ",");
			while (n > 0 && *p == ' ') {
				p++;
				n--;
			}
			if (n >= sizeof(piece))
				n = sizeof(piece) - 1;
			memcpy(piece, p, n);
			piece[n] = '\0';
			d = strtod(piece, &end);
			cJSON_AddItemToArray(arr, strcmp(name, "class_weights") == 0 && end != piece && *end == '\0'
							  ? cJSON_CreateNumber(d)
							  : cJSON_CreateString(piece));
			p += strcspn(p, ",");
			if (*p == '\0')
				break;
			p++;
		}
		return arr;
	}
	return cJSON_CreateString(text);
}

seg_status mco_set_text(mco_opts *o, const char *name, const char *text, seg_error *err)
{
	cJSON *v = text_value(name, text);
	seg_status st;

	if (v == NULL)
		return seg_fail(err, SEG_EINVAL, "\"%s\": '%.64s' is not valid JSON", name, text);
	st = mco_set(o, name, v, err);
	cJSON_Delete(v);
	return st;
}

/* Whether some profile's loss fn takes class weights: only then is another profile worth suggesting. */
static int weights_elsewhere(spec_fn fn)
{
	for (int id = 0; id < PROF_COUNT; id++)
		if (!(mce_loss_conv(prof_get((prof_id)id)->conv, fn)->flags & MCE_LC_NO_WEIGHTS))
			return 1;
	return 0;
}

/* A loss parameter the profile's library lacks (its conventions say which) is refused, naming all three. */
static seg_status check_library(const mco_opts *o, const spec *sp, seg_error *err)
{
	const spec_info *info = spec_info_of(sp->fn);
	const mce_lconv *lc;
	const char *profile = o->profile->name;

	if (info->kind != SPEC_LOSS)
		return SEG_OK;
	lc = mce_loss_conv(o->profile->conv, sp->fn);
	if (sp->fn == FN_FOCAL && spec_is_set(sp, "alpha") && !(lc->flags & MCE_LC_TAKES_ALPHA))
		return seg_fail(err, SEG_EINVAL, "parameter 'alpha' of loss '%s' applies to binary requests under profile "
				"'%s' (its multi-class focal loss has no alpha): weigh classes with \"class_weights\"",
				sp->key, profile);
	if (o->class_weights && (lc->flags & MCE_LC_NO_WEIGHTS))
		return seg_fail(err, SEG_EINVAL, "profile '%s': loss '%s' takes no class_weights (%s has none); drop "
				"\"class_weights\"%s", profile, sp->key, lc->lib ? lc->lib : "the library's loss",
				weights_elsewhere(sp->fn) ? " or ask for this loss under another profile" : "");
	if (sp->par.label_smoothing > 0.0 && (lc->flags & MCE_LC_NO_SMOOTHING))
		return seg_fail(err, SEG_EINVAL, "profile '%s': loss '%s' takes no label_smoothing (%s has none)", profile,
				sp->key, lc->lib ? lc->lib : "the library's loss");
	return SEG_OK;
}

seg_status mco_finish(mco_opts *o, spec *specs, size_t n, seg_error *err)
{
	seg_status st;

	prof_apply(o->profile, specs, n);
	if (!o->multi) {
		const char *given = o->ignore_set ? "ignore_index"
				    : o->include_background >= 0 ? "include_background"
				    : o->background >= 0 ? "background"
				    : o->class_weights ? "class_weights"
				    : o->average >= 0 ? "average"
				    : o->confusion ? "confusion"
							  : NULL;
		if (given)
			return seg_fail(err, SEG_EINVAL, "\"%s\" needs \"classes\": it applies to multi-class requests", given);
		for (size_t i = 0; i < n; i++) {
			const spec_info *info = spec_info_of(specs[i].fn);
			if (!(info->modes & SPEC_BINARY))
				return seg_fail(err, SEG_EINVAL, "%s '%s' is for multi-class requests: give \"classes\"",
						spec_kind_name(info->kind), info->name);
		}
		return SEG_OK;
	}
	if (o->ignore_set) {
		o->classes.has_ignore = o->has_ignore;
		o->classes.ignore = (uint32_t)o->ignore_index;
	} else {
		o->classes.has_ignore = o->profile->has_ignore;
		o->classes.ignore = (uint32_t)o->profile->ignore_index;
	}
	st = cls_finish(&o->classes, o->background, err);
	if (st != SEG_OK)
		return st;
	for (int k = 0; o->classes.has_ignore && k < o->classes.count; k++) {
		if (o->classes.id[k] == o->classes.ignore)
			return seg_fail(err, SEG_EINVAL, "the ignore label %u is also the id of class '%s'", o->classes.ignore,
					o->classes.key[k]);
		/* A colour-coded map compares colours 0xRRGGBB with the ignore label too: refuse what could mean both. */
		if (o->classes.color[k] >= 0 && (uint32_t)o->classes.color[k] == o->classes.ignore)
			return seg_fail(err, SEG_EINVAL,
					"the ignore label %u reads as the colour #%06x of class '%s' in a colour-coded map; "
					"choose another ignore label",
					o->classes.ignore, (unsigned)o->classes.color[k], o->classes.key[k]);
	}
	if (o->class_weights && o->nweights != o->classes.count)
		return seg_fail(err, SEG_EINVAL, "\"class_weights\" has %d entries but there are %d classes", o->nweights,
				o->classes.count);
	for (size_t i = 0; i < n; i++) {
		const spec_info *info = spec_info_of(specs[i].fn);
		if (!(info->modes & SPEC_MULTI))
			return seg_fail(err, SEG_EINVAL, "%s '%s' is for binary requests: it has no multi-class form%s",
					spec_kind_name(info->kind), info->name,
					info->kind == SPEC_LOSS ? " (use cross_entropy, dice, focal, lovasz_softmax, ...)" : "");
		if (spec_is_set(&specs[i], "threshold"))
			return seg_fail(err, SEG_EINVAL, "parameter 'threshold' of %s '%s' applies to binary requests: a "
					"multi-class prediction's classes are its labels or the argmax of its scores",
					spec_kind_name(info->kind), specs[i].key);
		st = check_library(o, &specs[i], err);
		if (st != SEG_OK)
			return st;
	}
	return SEG_OK;
}

void mco_core_opts(const mco_opts *o, mce_opts *out, const char **names)
{
	for (int k = 0; k < o->classes.count; k++)
		names[k] = o->classes.key[k];
	memset(out, 0, sizeof(*out));
	out->classes = o->classes.count;
	out->background = o->classes.background;
	out->include_background = o->include_background;
	out->class_weights = o->class_weights;
	out->average = o->average;
	out->conv = o->profile->conv;
	out->names = names;
}
