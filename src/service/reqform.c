/*
 * reqform.c — multipart/form-data request bodies into request structs.
 *
 * The body is split by http/multipart.c; masks point straight into the
 * body. Text fields take the forms a shell user types: a JSON array, or
 * comma-separated specs ("dice,focal:alpha=0.5,gamma=3" — a piece with
 * '=' and no ':' continues the spec before it; commas inside [...]
 * belong to a list value, "hausdorff95:spacing=[0.5,0.5]"). What a field
 * means is request.c's, shared through req_int.h, so a field reads the
 * same in either form.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "codec/npy.h"
#include "http/multipart.h"
#include "service/req_int.h"

/* Copies a text part into a NUL-terminated buffer without trailing whitespace. */
static seg_status part_text(const mp_part *p, char *out, size_t cap, seg_error *err)
{
	size_t n = p->len;

	if (n >= cap)
		return seg_fail(err, SEG_EINVAL, "form field \"%s\" is longer than %zu bytes", p->name, cap - 1);
	memcpy(out, p->data, n);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
	return SEG_OK;
}

/*
 * The next comma-separated piece of the text at *rest, cut in place; a
 * comma inside [...] belongs to a list value ("spacing=[0.5,0.5]"), as on
 * the command line. NULL once the text is used up.
 */
static char *next_piece(char **rest)
{
	char *start = *rest, *q;
	int depth = 0;

	if (start == NULL)
		return NULL;
	for (q = start; *q && (depth > 0 || *q != ','); q++) {
		if (*q == '[')
			depth++;
		else if (*q == ']' && depth > 0)
			depth--;
	}
	*rest = *q == ',' ? q + 1 : NULL;
	*q = '\0';
	return start;
}

/*
 * A list field: a JSON array, or comma-separated specs where a piece with
 * '=' and no ':' continues the previous spec's parameters.
 */
static seg_status parse_list_field(req_eval *r, const mp_part *p, spec_kind kind, seg_error *err)
{
	char text[8192];
	seg_status st = part_text(p, text, sizeof(text), err);

	if (st != SEG_OK)
		return st;
	if (text[0] == '[') {
		cJSON *arr = cJSON_Parse(text), *item;
		if (!cJSON_IsArray(arr)) {
			cJSON_Delete(arr);
			return seg_fail(err, SEG_EDECODE, "form field \"%s\" is not a valid JSON array", p->name);
		}
		cJSON_ArrayForEach(item, arr)
		{
			st = kind == SPEC_MAP ? req_add_map(r, item, err) : req_add_spec(r, item, kind, err);
			if (st != SEG_OK)
				break;
		}
		cJSON_Delete(arr);
		return st;
	}
	/* Comma-separated: rebuild whole specs, then parse each. */
	char specbuf[1024] = "";
	char *rest = text;
	for (char *tok = next_piece(&rest);; tok = next_piece(&rest)) {
		while (tok && (*tok == ' ' || *tok == '\t'))
			tok++;
		int continues = tok && strchr(tok, '=') && !strchr(tok, ':');
		if (continues && specbuf[0]) {
			size_t used = strlen(specbuf);
			if (used + strlen(tok) + 2 > sizeof(specbuf))
				return seg_fail(err, SEG_EINVAL, "form field \"%s\": a spec is too long", p->name);
			specbuf[used] = ',';
			strcpy(specbuf + used + 1, tok);
			continue;
		}
		if (specbuf[0]) {
			cJSON *s = cJSON_CreateString(specbuf);
			if (s == NULL)
				return seg_fail(err, SEG_ENOMEM, "out of memory");
			st = kind == SPEC_MAP ? req_add_map(r, s, err) : req_add_spec(r, s, kind, err);
			cJSON_Delete(s);
			if (st != SEG_OK)
				return st;
			specbuf[0] = '\0';
		}
		if (tok == NULL)
			break;
		if (*tok == '\0')
			continue;
		if (strlen(tok) >= sizeof(specbuf))
			return seg_fail(err, SEG_EINVAL, "form field \"%s\": a spec is too long", p->name);
		strcpy(specbuf, tok);
	}
	return SEG_OK;
}

static seg_status parse_bool_text(const mp_part *p, int *out, seg_error *err)
{
	char text[16];
	seg_status st = part_text(p, text, sizeof(text), err);

	if (st != SEG_OK)
		return st;
	if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
		*out = 1;
	else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
		*out = 0;
	else
		return seg_fail(err, SEG_EINVAL, "form field \"%s\" must be true or false", p->name);
	return SEG_OK;
}

/* A mask part: the PNG or .npy bytes themselves (told by content later). */
static seg_status mask_part(const mp_part *p, const char *role, req_mask *out, seg_error *err)
{
	if (p == NULL)
		return seg_fail(err, SEG_EINVAL, "missing form field \"%s\"", role);
	if (p->len == 0)
		return seg_fail(err, SEG_EINVAL, "form field \"%s\" is empty", role);
	out->data = p->data;
	out->len = p->len;
	out->kind = INP_AUTO;
	out->channel_axis = NPY_AXIS_AUTO;
	out->annot = NULL;
	return SEG_OK;
}

static seg_status split_form(const char *ct, const uint8_t *body, size_t len, mp_form **form, seg_error *err)
{
	char boundary[80];
	seg_status st = mp_boundary(ct, boundary, sizeof(boundary), err);

	if (st != SEG_OK)
		return st;
	*form = malloc(sizeof(**form));
	if (*form == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory");
	st = mp_parse(body, len, boundary, *form, err);
	if (st != SEG_OK) {
		free(*form);
		*form = NULL;
	}
	return st;
}

/* A mask part's kind from its form field (target_kind, prediction_kind). */
static seg_status kind_field(const mp_part *p, int is_target, req_mask *m, seg_error *err)
{
	char text[32];
	seg_status st = part_text(p, text, sizeof(text), err);

	return st == SEG_OK ? inp_kind_parse(text, is_target, &m->kind, err) : st;
}

/* A multi-class field given as text (classes, ignore_index, ...). */
static seg_status mco_field(mco_opts *o, const mp_part *p, seg_error *err)
{
	char text[8192];
	seg_status st = part_text(p, text, sizeof(text), err);

	return st == SEG_OK ? mco_set_text(o, p->name, text, err) : st;
}

static seg_status eval_from_form(const mp_form *f, req_eval *r, seg_error *err)
{
	static const char *const known[] = {"target", "prediction", "losses", "metrics", "maps", "map_format",
					    "logits", "run", "item", "target_kind", "prediction_kind", "channel_axis",
					    "keep_masks", MCO_FIELDS, NULL};
	seg_status st;

	st = req_alloc_cases(r, 1, err);
	if (st != SEG_OK)
		return st;
	for (int i = 0; i < f->count; i++) {
		int k;
		for (k = 0; known[k] && strcmp(known[k], f->parts[i].name) != 0; k++)
			;
		if (known[k] == NULL)
			return req_unknown_field(f->parts[i].name, known, err);
	}
	st = mask_part(mp_find(f, "target"), "target", &r->cases[0].target, err);
	if (st == SEG_OK)
		st = mask_part(mp_find(f, "prediction"), "prediction", &r->cases[0].prediction, err);
	/* The multi-class fields first: a spec's errors name the profile in force. */
	for (int i = 0; i < f->count && st == SEG_OK; i++)
		if (mco_owns(f->parts[i].name))
			st = mco_field(&r->mc, &f->parts[i], err);
	for (int i = 0; i < f->count && st == SEG_OK; i++) {
		const mp_part *p = &f->parts[i];
		if (mco_owns(p->name))
			continue;
		if (strcmp(p->name, "target_kind") == 0)
			st = kind_field(p, 1, &r->cases[0].target, err);
		else if (strcmp(p->name, "prediction_kind") == 0)
			st = kind_field(p, 0, &r->cases[0].prediction, err);
		else if (strcmp(p->name, "channel_axis") == 0) {
			char text[8];
			st = part_text(p, text, sizeof(text), err);
			if (st == SEG_OK && strcmp(text, "0") != 0 && strcmp(text, "-1") != 0 && strcmp(text, "2") != 0)
				st = seg_fail(err, SEG_EINVAL, "form field \"channel_axis\" must be 0 (C, H, W) or -1 (H, W, C)");
			if (st == SEG_OK)
				r->cases[0].prediction.channel_axis = strcmp(text, "0") == 0 ? 0 : 2;
		} else if (strcmp(p->name, "losses") == 0)
			st = parse_list_field(r, p, SPEC_LOSS, err);
		else if (strcmp(p->name, "metrics") == 0)
			st = parse_list_field(r, p, SPEC_METRIC, err);
		else if (strcmp(p->name, "maps") == 0)
			st = parse_list_field(r, p, SPEC_MAP, err);
		else if (strcmp(p->name, "logits") == 0) {
			st = parse_bool_text(p, &r->logits, err);
			r->logits_set = 1;
		}
		else if (strcmp(p->name, "keep_masks") == 0)
			st = parse_bool_text(p, &r->keep_masks, err);
		else if (strcmp(p->name, "map_format") == 0) {
			char text[16];
			st = part_text(p, text, sizeof(text), err);
			if (st == SEG_OK)
				st = req_parse_map_format(text, r, err);
		} else if (strcmp(p->name, "run") == 0) {
			char text[REQ_RUN_MAX + 2];
			st = part_text(p, text, sizeof(text), err);
			if (st == SEG_OK)
				st = req_set_run(r, text, err);
		} else if (strcmp(p->name, "item") == 0) {
			st = req_set_item(&r->cases[0], (const char *)p->data, p->len, err);
		}
	}
	if (st != SEG_OK)
		return st;
	r->cases[0].logits = r->logits;
	r->cases[0].logits_set = r->logits_set;
	st = req_apply_logits(&r->cases[0].prediction, r->logits, r->logits_set, "prediction", err);
	if (st != SEG_OK)
		return st;
	if (r->run[0] == '\0' && r->cases[0].item[0])
		return seg_fail(err, SEG_EINVAL, "\"item\" needs a \"run\" to record it in");
	st = req_keep_needs_run(r, err);
	return st == SEG_OK ? req_eval_finish(r, err) : st;
}

seg_status reqform_eval(const char *content_type, const uint8_t *body, size_t len, req_eval *r, seg_error *err)
{
	mp_form *form = NULL;
	seg_status st = split_form(content_type, body, len, &form, err);

	if (st == SEG_OK)
		st = eval_from_form(form, r, err);
	free(form);
	return st;
}

seg_status reqform_wmap(const char *content_type, const uint8_t *body, size_t len, req_wmap *out, seg_error *err)
{
	mp_form *form = NULL;
	seg_status st = split_form(content_type, body, len, &form, err);

	if (st != SEG_OK)
		return st;
	st = mask_part(mp_find(form, "target"), "target", &out->target, err);
	for (int i = 0; i < form->count && st == SEG_OK; i++) {
		const mp_part *p = &form->parts[i];
		char text[128];
		if (strcmp(p->name, "target") == 0)
			continue;
		if (req_wmap_mco_field(p->name)) {
			st = mco_field(&out->mc, p, err);
			continue;
		}
		if (strcmp(p->name, "target_kind") == 0) {
			st = kind_field(p, 1, &out->target, err);
			continue;
		}
		st = part_text(p, text, sizeof(text), err);
		if (st == SEG_OK && strcmp(p->name, "range") == 0) {
			st = req_range_from_text(text, "form field \"range\"", out->range, err);
			out->has_range = 1;
		} else if (st == SEG_OK) {
			st = spec_set_text(&out->params, p->name, text, err);
		}
	}
	free(form);
	return st;
}
