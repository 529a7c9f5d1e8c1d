/*
 * request.c — request bodies into request structs: the JSON form, and
 * what each field means in either form.
 *
 * JSON: the body is parsed once with cJSON (whose nesting limit bounds
 * recursion); each mask's base64 text is decoded in place in the string
 * cJSON allocated, so the decoded bytes live as long as the parsed tree,
 * which the request owns. When the caller lets the body be overwritten
 * (req_parse_eval_inplace), long strings are lifted out before cJSON
 * sees the body and masks are decoded in the body itself (jsonlift.h).
 * Unknown top-level fields are rejected with a suggestion, so a typo
 * ("lossses") is an error and not a silent default.
 *
 * Multipart bodies are reqform.c's; the meaning of each field (a spec, a
 * map, a run's name, ...) is here, shared with it through req_int.h.
 */
#include "service/request.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "codec/b64.h"
#include "codec/buf.h"
#include "codec/npy.h"
#include "wire/annot.h"
#include "service/jsonlift.h"
#include "service/req_int.h"
#include "wire/wire.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void req_eval_release(req_eval *r)
{
	if (r == NULL)
		return;
	cJSON_Delete(r->json);
	free(r->cases);
	mco_release(&r->mc);
	memset(r, 0, sizeof(*r));
}

seg_status req_check_run(const char *name, seg_error *err)
{
	size_t n = strlen(name);

	if (n == 0 || n > REQ_RUN_MAX)
		return seg_fail(err, SEG_EINVAL, "run name must be 1 to %d characters, got %zu", REQ_RUN_MAX, n);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return seg_fail(err, SEG_EINVAL, "run name may hold only A-Za-z0-9._- (character %zu is not)",
					i + 1);
	}
	return SEG_OK;
}

seg_status req_check_item(const char *s, size_t len, seg_error *err)
{
	const unsigned char *p = (const unsigned char *)s;

	if (len == 0 || len > REQ_ITEM_MAX)
		return seg_fail(err, SEG_EINVAL, "item must be 1 to %d bytes of UTF-8, got %zu bytes", REQ_ITEM_MAX, len);
	for (size_t i = 0; i < len;) {
		unsigned c = p[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (c < 0x20 || c == 0x7f)
			return seg_fail(err, SEG_EINVAL, "item holds a control character at byte %zu", i);
		if (n == 0 || i + n > len || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4))
			return seg_fail(err, SEG_EINVAL, "item is not valid UTF-8 at byte %zu", i);
		for (size_t k = 1; k < n; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return seg_fail(err, SEG_EINVAL, "item is not valid UTF-8 at byte %zu", i);
		/* Overlong three-byte forms and UTF-16 surrogates. */
		if (n == 3 && ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0)))
			return seg_fail(err, SEG_EINVAL, "item is not valid UTF-8 at byte %zu", i);
		if (n == 4 && ((c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] >= 0x90)))
			return seg_fail(err, SEG_EINVAL, "item is not valid UTF-8 at byte %zu", i);
		i += n;
	}
	return SEG_OK;
}

void req_wmap_release(req_wmap *r)
{
	if (r == NULL)
		return;
	cJSON_Delete(r->json);
	mco_release(&r->mc);
	memset(r, 0, sizeof(*r));
}

typedef enum body_kind {
	BODY_JSON,
	BODY_MULTIPART,
} body_kind;

static seg_status body_kind_of(const char *ct, body_kind *kind, seg_error *err)
{
	size_t n;

	if (ct == NULL || *ct == '\0')
		return seg_fail(err, SEG_EUNSUPPORTED,
				"missing Content-Type: send application/json or multipart/form-data");
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0) {
		*kind = BODY_JSON;
		return SEG_OK;
	}
	if (n == 19 && strncasecmp(ct, "multipart/form-data", 19) == 0) {
		*kind = BODY_MULTIPART;
		return SEG_OK;
	}
	return seg_fail(err, SEG_EUNSUPPORTED,
			"unsupported Content-Type '%.*s': send application/json or multipart/form-data",
			(int)(n < 80 ? n : 80), ct);
}

/*
 * Decodes a mask's base64 string in place: in the string cJSON made, or,
 * for a string lifted out of the body (lf), in the body where its text
 * was. The decoded bytes replace the text.
 */
static seg_status decode_b64_inplace(const cJSON *v, const jl_lifted *lf, const char *role, req_mask *out,
				     double *seconds, seg_error *err)
{
	size_t n = 0, len;
	char *text = jl_text(v, lf, &len);
	double t0 = now();
	seg_status st = b64_decode(text, len, (uint8_t *)text, &n, err);

	*seconds += now() - t0;
	if (st != SEG_OK) {
		char msg[SEG_ERRMSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
		return seg_fail(err, st, "%s: %s", role, msg);
	}
	if (n == 0)
		return seg_fail(err, SEG_EINVAL, "%s is empty", role);
	out->data = (const uint8_t *)text;
	out->len = n;
	return SEG_OK;
}

/* A mask's "channel_axis": 0 (C, H, W), -1 or 2 (H, W, C). */
static seg_status parse_axis(const cJSON *v, const char *role, int *out, seg_error *err)
{
	if (!cJSON_IsNumber(v) || (v->valuedouble != 0 && v->valuedouble != -1 && v->valuedouble != 2))
		return seg_fail(err, SEG_EINVAL, "\"%s.channel_axis\" must be 0 (C, H, W) or -1 (H, W, C)", role);
	*out = v->valuedouble == 0 ? 0 : 2;
	return SEG_OK;
}

/*
 * MASK: a base64 string (data: URL allowed), or {"png": b64} / {"npy":
 * b64} with optional "kind" and, for a prediction, "channel_axis" and
 * "logits".
 */
static seg_status parse_mask(cJSON *v, const jl_lifted *lf, const char *role, int is_target, req_mask *out,
			     int *logits, int *logits_set, double *seconds, seg_error *err)
{
	cJSON *field;
	cJSON *text = NULL;
	seg_status st;

	out->kind = INP_AUTO;
	out->channel_axis = NPY_AXIS_AUTO;
	out->annot = NULL;
	if (v == NULL)
		return seg_fail(err, SEG_EINVAL, "missing \"%s\"", role);
	if (cJSON_IsString(v))
		return decode_b64_inplace(v, lf, role, out, seconds, err);
	if (annot_is_mask(v)) {
		/* An annotation tool's export: read when the classes are known (service/inputs.c). */
		out->annot = v;
		return SEG_OK;
	}
	if (!cJSON_IsObject(v))
		return seg_fail(err, SEG_EINVAL,
				"\"%s\" must be a base64 string, an object {\"png\": ...} or {\"npy\": ...}, or an "
				"annotation ({\"coco_rle\"}, {\"coco_polygons\"}, {\"coco\"}, {\"labelstudio\"}, {\"cvat\"})",
				role);
	cJSON_ArrayForEach(field, v)
	{
		if (strcmp(field->string, "png") == 0 || strcmp(field->string, "npy") == 0) {
			if (!cJSON_IsString(field))
				return seg_fail(err, SEG_EINVAL, "\"%s.%s\" must be a base64 string", role, field->string);
			if (text)
				return seg_fail(err, SEG_EINVAL, "\"%s\" must hold one of \"png\" or \"npy\", not both",
						role);
			text = field;
		} else if (strcmp(field->string, "kind") == 0) {
			if (!cJSON_IsString(field))
				return seg_fail(err, SEG_EINVAL, "\"%s.kind\" must be a string", role);
			st = inp_kind_parse(field->valuestring, is_target, &out->kind, err);
			if (st != SEG_OK)
				return st;
		} else if (strcmp(field->string, "channel_axis") == 0 && !is_target) {
			st = parse_axis(field, role, &out->channel_axis, err);
			if (st != SEG_OK)
				return st;
		} else if (strcmp(field->string, "logits") == 0 && logits != NULL) {
			if (!cJSON_IsBool(field))
				return seg_fail(err, SEG_EINVAL, "\"%s.logits\" must be true or false", role);
			*logits = cJSON_IsTrue(field);
			*logits_set = 1;
		} else {
			return seg_fail(err, SEG_EINVAL, "unknown field \"%.64s\" in \"%s\" (expected \"png\" or \"npy\", "
					"\"kind\"%s)", field->string, role, is_target ? "" : ", \"channel_axis\" and \"logits\"");
		}
	}
	if (text == NULL)
		return seg_fail(err, SEG_EINVAL, "\"%s\" needs \"png\" or \"npy\"", role);
	return decode_b64_inplace(text, lf, role, out, seconds, err);
}

/*
 * "logits": true means kind logits, and "logits": false that the
 * prediction is not logits: refuse the two when they disagree.
 */
seg_status req_apply_logits(req_mask *pred, int logits, int logits_set, const char *role, seg_error *err)
{
	if (!logits_set)
		return SEG_OK;
	if (!logits) {
		if (pred->kind == INP_LOGITS)
			return seg_fail(err, SEG_EINVAL,
					"\"logits\": false says %s is not logits, but its kind is logits: drop one of them",
					role);
		return SEG_OK;
	}
	if (pred->kind == INP_AUTO)
		pred->kind = INP_LOGITS;
	else if (pred->kind != INP_LOGITS)
		return seg_fail(err, SEG_EINVAL, "\"logits\": true means %s kind logits, but its kind is %s", role,
				inp_kind_name(pred->kind));
	return SEG_OK;
}

seg_status req_add_spec(req_eval *r, const cJSON *item, spec_kind kind, seg_error *err)
{
	if (r->nspecs == REQ_MAX_SPECS)
		return seg_fail(err, SEG_EINVAL, "at most %d losses and metrics per request", REQ_MAX_SPECS);
	const char *profile = r->mc.multi ? r->mc.profile->name : NULL;
	seg_status st = wire_parse_spec(item, kind, profile, &r->specs[r->nspecs], err);
	if (st == SEG_OK)
		r->nspecs++;
	return st;
}

/* A heatmap's colour scale: two finite numbers, low < high; what names the field in messages. */
static seg_status check_range(double lo, double hi, const char *what, double out[2], seg_error *err)
{
	if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
		return seg_fail(err, SEG_EINVAL, "%s must be [low, high], two finite numbers with low < high, got [%g, %g]",
				what, lo, hi);
	out[0] = lo;
	out[1] = hi;
	return SEG_OK;
}

static seg_status range_from_json(const cJSON *v, const char *what, double out[2], seg_error *err)
{
	const cJSON *a = cJSON_GetArrayItem(v, 0), *b = cJSON_GetArrayItem(v, 1);

	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 || !cJSON_IsNumber(a) || !cJSON_IsNumber(b))
		return seg_fail(err, SEG_EINVAL, "%s must be [low, high], a list of two numbers", what);
	return check_range(a->valuedouble, b->valuedouble, what, out, err);
}

/* "[low,high]" as typed in a form field or a spec string. */
seg_status req_range_from_text(const char *text, const char *what, double out[2], seg_error *err)
{
	char *end = NULL;
	const char *p = text + strspn(text, " ");
	double lo, hi;

	if (*p++ != '[')
		goto bad;
	lo = strtod(p, &end);
	if (end == p)
		goto bad;
	p = end + strspn(end, " ");
	if (*p++ != ',')
		goto bad;
	hi = strtod(p, &end);
	if (end == p)
		goto bad;
	p = end + strspn(end, " ");
	if (*p++ != ']' || p[strspn(p, " ")] != '\0')
		goto bad;
	return check_range(lo, hi, what, out, err);
bad:
	return seg_fail(err, SEG_EINVAL, "%s must be [low, high], two numbers, got '%.40s'", what, text);
}

/*
 * Takes "range" out of a map spec string ("weight:range=[0,12],w0=5"):
 * rest receives the spec without it ("weight:w0=5"), *has whether it was
 * there. Parameters are cut at commas outside brackets, as spec_parse does.
 */
static seg_status split_range(const char *text, char *rest, size_t cap, double range[2], int *has, seg_error *err)
{
	const char *colon = strchr(text, ':');
	const char *p;
	size_t used;

	*has = 0;
	if (strlen(text) >= cap)
		return seg_fail(err, SEG_EINVAL, "a map spec is longer than %zu characters", cap - 1);
	if (colon == NULL) {
		memcpy(rest, text, strlen(text) + 1);
		return SEG_OK;
	}
	used = (size_t)(colon - text);
	memcpy(rest, text, used);
	rest[used] = '\0';
	for (p = colon + 1; *p;) {
		const char *q = p;
		int depth = 0;
		while (*q && (depth > 0 || *q != ',')) {
			depth += *q == '[' ? 1 : *q == ']' && depth > 0 ? -1 : 0;
			q++;
		}
		size_t n = (size_t)(q - p);
		if (n > 6 && strncmp(p, "range=", 6) == 0) {
			char value[96];
			snprintf(value, sizeof(value), "%.*s", (int)(n - 6 < 95 ? n - 6 : 95), p + 6);
			seg_status st = req_range_from_text(value, "\"range\"", range, err);
			if (st != SEG_OK)
				return st;
			*has = 1;
		} else if (n > 0) {
			size_t len = strlen(rest);
			snprintf(rest + len, cap - len, "%c%.*s", strchr(rest, ':') ? ',' : ':', (int)n, p);
		}
		p = *q ? q + 1 : q;
	}
	return SEG_OK;
}

seg_status req_add_map(req_eval *r, const cJSON *item, seg_error *err)
{
	cJSON *copy = NULL;
	double *range = r->map_range[r->nmaps];
	int has = 0;
	seg_status st = SEG_OK;

	if (r->nmaps == REQ_MAX_MAPS)
		return seg_fail(err, SEG_EINVAL, "at most %d maps per request", REQ_MAX_MAPS);
	/* "range" is the heatmap's, not the map function's: parse it apart and pass the rest on. */
	if (cJSON_IsObject(item) && cJSON_GetObjectItemCaseSensitive(item, "range")) {
		st = range_from_json(cJSON_GetObjectItemCaseSensitive(item, "range"), "\"range\"", range, err);
		copy = st == SEG_OK ? cJSON_Duplicate(item, 1) : NULL;
		if (st == SEG_OK && copy == NULL)
			st = seg_fail(err, SEG_ENOMEM, "out of memory");
		if (copy)
			cJSON_DeleteItemFromObjectCaseSensitive(copy, "range");
		has = 1;
	} else if (cJSON_IsString(item) && strstr(item->valuestring, "range=")) {
		char rest[1024];
		st = split_range(item->valuestring, rest, sizeof(rest), range, &has, err);
		copy = st == SEG_OK ? cJSON_CreateString(rest) : NULL;
		if (st == SEG_OK && copy == NULL)
			st = seg_fail(err, SEG_ENOMEM, "out of memory");
	}
	if (st == SEG_OK)
		st = wire_parse_spec(copy ? copy : item, SPEC_MAP, NULL, &r->maps[r->nmaps], err);
	cJSON_Delete(copy);
	if (st == SEG_OK)
		r->map_has_range[r->nmaps++] = has;
	return st;
}

seg_status req_parse_map_format(const char *v, req_eval *r, seg_error *err)
{
	if (strcmp(v, "npy") == 0)
		r->map_format = REQ_MAP_NPY;
	else if (strcmp(v, "png") == 0)
		r->map_format = REQ_MAP_PNG;
	else if (strcmp(v, "coco_rle") == 0)
		r->map_format = REQ_MAP_COCO_RLE;
	else
		return seg_fail(err, SEG_EINVAL, "map_format must be \"npy\", \"png\" or \"coco_rle\", got \"%.32s\"", v);
	return SEG_OK;
}

/* Rejects a field not in known[], suggesting the closest. */
seg_status req_unknown_field(const char *name, const char *const *known, seg_error *err)
{
	const char *best = NULL;
	int best_d = 3;

	for (int i = 0; known[i]; i++) {
		int d = spec_edit_distance(name, known[i]);
		if (d < best_d) {
			best_d = d;
			best = known[i];
		}
	}
	if (best)
		return seg_fail(err, SEG_EINVAL, "unknown field \"%.64s\" (did you mean \"%s\"?)", name, best);
	return seg_fail(err, SEG_EINVAL, "unknown field \"%.64s\"", name);
}

seg_status req_eval_finish(req_eval *r, seg_error *err)
{
	seg_status st;

	for (size_t i = 0; i < r->nmaps; i++) {
		int categorical = r->maps[i].fn == FN_MAP_MASK || r->maps[i].fn == FN_MAP_ERRORS;
		if (r->map_has_range[i] && categorical)
			return seg_fail(err, SEG_EINVAL,
					"map '%s' has no colour scale: \"range\" is for the float maps weight and bce",
					r->maps[i].key);
		if (r->map_has_range[i] && r->map_format != REQ_MAP_PNG)
			return seg_fail(err, SEG_EINVAL,
					"map '%s': \"range\" sets the colour scale of a heatmap; it needs \"map_format\": "
					"\"png\"",
					r->maps[i].key);
		if (r->map_format == REQ_MAP_COCO_RLE && !categorical)
			return seg_fail(err, SEG_EINVAL,
					"map '%s' holds floats, which have no COCO RLE form: \"map_format\": \"coco_rle\" is "
					"for the maps mask and errors",
					r->maps[i].key);
		if (r->mc.multi && !categorical)
			return seg_fail(err, SEG_EINVAL,
					"map '%s' is for binary requests: a multi-class request takes the maps mask and "
					"errors (for a label map's weight map use /v1/weight-map with \"classes\")",
					r->maps[i].key);
		if (r->mc.multi && spec_is_set(&r->maps[i], "threshold"))
			return seg_fail(err, SEG_EINVAL,
					"parameter 'threshold' of map '%s' applies to binary requests: a multi-class "
					"prediction's classes are its labels or the argmax of its scores",
					r->maps[i].key);
	}
	if (r->nspecs == 0)
		r->nspecs = r->mc.multi ? spec_defaults_multi(r->specs, REQ_MAX_SPECS)
					: spec_defaults(r->specs, REQ_MAX_SPECS);
	st = mco_finish(&r->mc, r->specs, r->nspecs, err);
	if (st == SEG_OK)
		st = spec_check_unique(r->specs, r->nspecs, err);
	if (st == SEG_OK)
		st = spec_check_unique(r->maps, r->nmaps, err);
	return st;
}

/* Sets r->run from a JSON value (string). */
seg_status req_set_run(req_eval *r, const char *v, seg_error *err)
{
	seg_status st = req_check_run(v, err);

	if (st == SEG_OK)
		memcpy(r->run, v, strlen(v) + 1); /* checked: at most REQ_RUN_MAX */
	return st;
}

seg_status req_set_item(req_case *c, const char *v, size_t len, seg_error *err)
{
	seg_status st = req_check_item(v, len, err);

	if (st == SEG_OK) {
		memcpy(c->item, v, len);
		c->item[len] = '\0';
	}
	return st;
}

seg_status req_alloc_cases(req_eval *r, size_t n, seg_error *err)
{
	r->cases = calloc(n, sizeof(*r->cases));
	if (r->cases == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory");
	r->ncases = n;
	return SEG_OK;
}

/* keep_masks keeps an item's masks in its run: there must be one. */
seg_status req_keep_needs_run(const req_eval *r, seg_error *err)
{
	if (r->keep_masks && r->run[0] == '\0')
		return seg_fail(err, SEG_EINVAL, "\"keep_masks\" needs a \"run\" to keep the masks in");
	return SEG_OK;
}

/* The fields of a single or batch request that are not masks. */
static seg_status parse_lists(cJSON *root, req_eval *r, int batch, seg_error *err)
{
	static const struct {
		const char *field;
		spec_kind kind;
	} lists[] = {{"losses", SPEC_LOSS}, {"metrics", SPEC_METRIC}, {"maps", SPEC_MAP}};
	cJSON *field, *item;
	seg_status st;

	/* The multi-class fields first: a spec's errors name the profile in force. */
	cJSON_ArrayForEach(field, root)
	{
		if (!mco_owns(field->string))
			continue;
		st = mco_set(&r->mc, field->string, field, err);
		if (st != SEG_OK)
			return st;
	}
	for (size_t l = 0; l < 3; l++) {
		field = cJSON_GetObjectItemCaseSensitive(root, lists[l].field);
		if (field == NULL)
			continue;
		if (batch && lists[l].kind == SPEC_MAP)
			return seg_fail(err, SEG_EINVAL, "\"maps\" are not available in batch requests");
		if (!cJSON_IsArray(field))
			return seg_fail(err, SEG_EINVAL, "\"%s\" must be an array of names or objects", lists[l].field);
		cJSON_ArrayForEach(item, field)
		{
			st = lists[l].kind == SPEC_MAP ? req_add_map(r, item, err) : req_add_spec(r, item, lists[l].kind, err);
			if (st != SEG_OK)
				return st;
		}
	}
	field = cJSON_GetObjectItemCaseSensitive(root, "map_format");
	if (field) {
		if (!cJSON_IsString(field))
			return seg_fail(err, SEG_EINVAL, "map_format must be \"npy\", \"png\" or \"coco_rle\"");
		st = req_parse_map_format(field->valuestring, r, err);
		if (st != SEG_OK)
			return st;
	}
	field = cJSON_GetObjectItemCaseSensitive(root, "logits");
	if (field) {
		if (!cJSON_IsBool(field))
			return seg_fail(err, SEG_EINVAL, "\"logits\" must be true or false");
		r->logits = cJSON_IsTrue(field);
		r->logits_set = 1;
	}
	field = cJSON_GetObjectItemCaseSensitive(root, "run");
	if (field) {
		if (!cJSON_IsString(field))
			return seg_fail(err, SEG_EINVAL, "\"run\" must be a string");
		st = req_set_run(r, field->valuestring, err);
		if (st != SEG_OK)
			return st;
	}
	field = cJSON_GetObjectItemCaseSensitive(root, "keep_masks");
	if (field) {
		if (!cJSON_IsBool(field))
			return seg_fail(err, SEG_EINVAL, "\"keep_masks\" must be true or false");
		r->keep_masks = cJSON_IsTrue(field);
	}
	return req_keep_needs_run(r, err);
}

static seg_status reject_unknown(cJSON *obj, const char *const *known, seg_error *err)
{
	cJSON *field;

	cJSON_ArrayForEach(field, obj)
	{
		int i;
		for (i = 0; known[i] && strcmp(known[i], field->string) != 0; i++)
			;
		if (known[i] == NULL)
			return req_unknown_field(field->string, known, err);
	}
	return SEG_OK;
}

/* target, prediction and item of one case, from a JSON object. */
static seg_status parse_case(cJSON *obj, const char *where, req_eval *r, req_case *c, seg_error *err)
{
	char role[64];
	cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "item");
	seg_status st;

	c->logits = r->logits;
	c->logits_set = r->logits_set;
	snprintf(role, sizeof(role), "%starget", where);
	st = parse_mask(cJSON_GetObjectItemCaseSensitive(obj, "target"), r->lift, role, 1, &c->target, NULL, NULL,
			&r->base64_seconds, err);
	if (st != SEG_OK)
		return st;
	snprintf(role, sizeof(role), "%sprediction", where);
	st = parse_mask(cJSON_GetObjectItemCaseSensitive(obj, "prediction"), r->lift, role, 0, &c->prediction,
			&c->logits, &c->logits_set, &r->base64_seconds, err);
	if (st == SEG_OK)
		st = req_apply_logits(&c->prediction, c->logits, c->logits_set, role, err);
	if (st != SEG_OK)
		return st;
	if (item) {
		if (!cJSON_IsString(item))
			return seg_fail(err, SEG_EINVAL, "%s\"item\" must be a string", where);
		st = req_set_item(c, item->valuestring, strlen(item->valuestring), err);
	}
	return st;
}

static seg_status eval_from_json(cJSON *root, req_eval *r, seg_error *err)
{
	static const char *const single[] = {"target", "prediction", "losses", "metrics", "maps", "map_format",
					     "logits", "run", "item", "keep_masks", MCO_FIELDS, NULL};
	static const char *const batch[] = {"items", "losses", "metrics", "logits", "run", "keep_masks", MCO_FIELDS, NULL};
	static const char *const entry[] = {"target", "prediction", "item", NULL};
	cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items"), *it;
	seg_status st;

	r->batch = items != NULL;
	st = reject_unknown(root, r->batch ? batch : single, err);
	if (st == SEG_OK)
		st = parse_lists(root, r, r->batch, err);
	if (st != SEG_OK)
		return st;
	if (!r->batch) {
		st = req_alloc_cases(r, 1, err);
		if (st == SEG_OK)
			st = parse_case(root, "", r, &r->cases[0], err);
		if (st == SEG_OK && r->run[0] == '\0' && r->cases[0].item[0])
			return seg_fail(err, SEG_EINVAL, "\"item\" needs a \"run\" to record it in");
		return st == SEG_OK ? req_eval_finish(r, err) : st;
	}
	if (!cJSON_IsArray(items) || cJSON_GetArraySize(items) == 0)
		return seg_fail(err, SEG_EINVAL, "\"items\" must be a non-empty array of {\"target\", \"prediction\", \"item\"}");
	if (cJSON_GetArraySize(items) > REQ_MAX_ITEMS)
		return seg_fail(err, SEG_EINVAL, "at most %d items per batch, got %d", REQ_MAX_ITEMS,
				cJSON_GetArraySize(items));
	st = req_alloc_cases(r, (size_t)cJSON_GetArraySize(items), err);
	size_t k = 0;
	cJSON_ArrayForEach(it, items)
	{
		char where[48];
		if (st != SEG_OK)
			break;
		snprintf(where, sizeof(where), "items[%zu].", k);
		if (!cJSON_IsObject(it))
			return seg_fail(err, SEG_EINVAL, "items[%zu] must be an object", k);
		st = reject_unknown(it, entry, err);
		if (st == SEG_OK)
			st = parse_case(it, where, r, &r->cases[k], err);
		/* Items of a recorded batch need names: they are what a run is made of. */
		if (st == SEG_OK && r->run[0] && r->cases[k].item[0] == '\0')
			st = seg_fail(err, SEG_EINVAL, "items[%zu] needs an \"item\" name to be recorded in run '%s'", k,
				      r->run);
		for (size_t j = 0; st == SEG_OK && r->cases[k].item[0] && j < k; j++)
			if (strcmp(r->cases[j].item, r->cases[k].item) == 0)
				st = seg_fail(err, SEG_EINVAL, "items[%zu] repeats the item name of items[%zu]", k, j);
		k++;
	}
	return st == SEG_OK ? req_eval_finish(r, err) : st;
}










seg_status req_parse_eval(const char *content_type, const uint8_t *body, size_t len, req_eval *out,
			  seg_error *err)
{
	return req_parse_eval_capped(content_type, body, len, MCO_DEFAULT_MAX_CLASSES, out, err);
}

/* Either form; lf (not NULL) lifts a JSON body's long strings, decoding masks in place in the body. */
static seg_status parse_eval(const char *content_type, const uint8_t *body, size_t len, int max_classes,
			     jl_lifted *lf, req_eval *out, seg_error *err)
{
	body_kind kind;
	seg_status st;

	memset(out, 0, sizeof(*out));
	mco_init(&out->mc, max_classes);
	st = body_kind_of(content_type, &kind, err);
	if (st != SEG_OK)
		return st;
	if (kind == BODY_JSON) {
		st = jl_parse(body, len, lf, 1, 1, &out->json, err);
		out->lift = lf;
		if (st == SEG_OK)
			st = eval_from_json(out->json, out, err);
		out->lift = NULL;
	} else {
		st = reqform_eval(content_type, body, len, out, err);
	}
	if (st != SEG_OK)
		req_eval_release(out);
	return st;
}

seg_status req_parse_eval_capped(const char *content_type, const uint8_t *body, size_t len, int max_classes,
				 req_eval *out, seg_error *err)
{
	return parse_eval(content_type, body, len, max_classes, NULL, out, err);
}

seg_status req_parse_eval_inplace(const char *content_type, uint8_t *body, size_t len, int max_classes,
				  req_eval *out, seg_error *err)
{
	jl_lifted lf = {0};
	seg_status st = parse_eval(content_type, body, len, max_classes, &lf, out, err);

	jl_release(&lf);
	return st;
}

/* Sets one weight-map parameter from a JSON value. */
static seg_status wmap_param_json(spec *s, const cJSON *v, seg_error *err)
{
	const char *k = v->string;

	if (cJSON_IsNumber(v))
		return spec_set_number(s, k, v->valuedouble, err);
	if (cJSON_IsString(v))
		return spec_set_string(s, k, v->valuestring, err); /* names only: numbers are JSON numbers */
	if (cJSON_IsArray(v)) {
		const cJSON *a = cJSON_GetArrayItem(v, 0), *b = cJSON_GetArrayItem(v, 1);
		if (cJSON_GetArraySize(v) != 2 || !cJSON_IsNumber(a) || !cJSON_IsNumber(b))
			return seg_fail(err, SEG_EINVAL, "\"%.64s\" must be a list of two numbers", k);
		return spec_set_pair(s, k, a->valuedouble, b->valuedouble, err);
	}
	return seg_fail(err, SEG_EINVAL, "\"%.64s\" has an unsupported JSON type", k);
}

seg_status req_parse_wmap(const char *content_type, const uint8_t *body, size_t len, req_wmap *out,
			  seg_error *err)
{
	return req_parse_wmap_capped(content_type, body, len, MCO_DEFAULT_MAX_CLASSES, out, err);
}

/* The multi-class fields a weight map takes (its class_weights stay the map's own parameter). */
int req_wmap_mco_field(const char *name)
{
	return strcmp(name, "classes") == 0 || strcmp(name, "ignore_index") == 0 || strcmp(name, "background") == 0;
}

static seg_status parse_wmap(const char *content_type, const uint8_t *body, size_t len, int max_classes,
			     jl_lifted *lf, req_wmap *out, seg_error *err)
{
	body_kind kind;
	seg_status st;

	memset(out, 0, sizeof(*out));
	mco_init(&out->mc, max_classes);
	spec_init(&out->params, SPEC_MAP, "weight", NULL);
	st = body_kind_of(content_type, &kind, err);
	if (st != SEG_OK)
		return st;
	if (kind == BODY_JSON) {
		cJSON *field;
		st = jl_parse(body, len, lf, 0, 0, &out->json, err);
		if (st != SEG_OK)
			goto out;
		out->lift = lf;
		cJSON_ArrayForEach(field, out->json)
		{
			if (strcmp(field->string, "target") == 0)
				continue;
			if (strcmp(field->string, "range") == 0) {
				st = range_from_json(field, "\"range\"", out->range, err);
				out->has_range = 1;
			} else if (req_wmap_mco_field(field->string)) {
				st = mco_set(&out->mc, field->string, field, err);
			} else {
				st = wmap_param_json(&out->params, field, err);
			}
			if (st != SEG_OK)
				goto out;
		}
		st = parse_mask(cJSON_GetObjectItemCaseSensitive(out->json, "target"), out->lift, "target", 1, &out->target,
				NULL, NULL, &out->base64_seconds, err);
	} else {
		st = reqform_wmap(content_type, body, len, out, err);
	}
	if (st == SEG_OK)
		st = mco_finish(&out->mc, NULL, 0, err);
	if (st == SEG_OK && out->mc.multi && out->params.par.wm.instances == WMAP_INST_LABELS)
		st = seg_fail(err, SEG_EINVAL, "with \"classes\" the instances are each class's connected components: "
			      "\"instances\" must be auto or components");
out:
	out->lift = NULL;
	if (st != SEG_OK)
		req_wmap_release(out);
	return st;
}

seg_status req_parse_wmap_capped(const char *content_type, const uint8_t *body, size_t len, int max_classes,
				 req_wmap *out, seg_error *err)
{
	return parse_wmap(content_type, body, len, max_classes, NULL, out, err);
}

seg_status req_parse_wmap_inplace(const char *content_type, uint8_t *body, size_t len, int max_classes,
				  req_wmap *out, seg_error *err)
{
	jl_lifted lf = {0};
	seg_status st = parse_wmap(content_type, body, len, max_classes, &lf, out, err);

	jl_release(&lf);
	return st;
}
