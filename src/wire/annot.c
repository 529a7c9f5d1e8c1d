/*
 * annot.c — the JSON forms of annotation-tool masks (cJSON) into an
 * annotation image, on top of the pure decoders in src/codec (coco.h,
 * lsbrush.h, cvat.h): which form a MASK is, and the image it gives.
 * Each form is read in its own file (annot_coco.c, annot_ls.c,
 * annot_cvat.c) onto the shared canvas of annot_canvas.c.
 *
 * Each form is read in two steps: a first look fixes the image size and
 * the number of objects and checks both against the caps (pixels,
 * objects); only then are the instance map (width*height uint32) and the
 * instance table allocated. The second step decodes every object and
 * paints it straight into the map: the decoders hand over spans of
 * pixels (vertical ones for COCO's column-major runs, horizontal ones
 * for CVAT), so no per-object mask is built; Label Studio streams are
 * decoded into one reused byte mask (the alpha threshold needs the
 * whole canvas anyway) and painted from it. Painting writes the
 * object's instance number over whatever was there; a pixel that held
 * another instance gets the top bit of the map set, so the pixels
 * covered more than once are counted once each, and a last pass clears
 * that bit while it counts each instance's pixels. Instance numbers
 * never reach 2^31 (max_objects is capped far below).
 *
 * Polygons share one walk budget and one vertex budget per MASK object,
 * so many small polygons cannot add up to more work than one big one is
 * allowed; likewise all objects share a budget of pixel writes (64 per
 * image pixel, at least 2^24), so thousands of full-image objects in a
 * small request are refused instead of painted. Error messages from the
 * decoders are prefixed with the JSON path of the field they came from.
 */
#include "wire/annot.h"

#include <stdlib.h>
#include <string.h>

#include "codec/lsbrush.h"
#include "wire/annot_int.h"

static const char *const format_keys[] = {"coco_rle", "coco_polygons", "coco", "labelstudio", "cvat"};
enum format { F_COCO_RLE, F_COCO_POLYGONS, F_COCO, F_LABELSTUDIO, F_CVAT, F_COUNT };

void annot_opts_init(annot_opts *o)
{
	o->min_score = 0.5;
	o->ls_threshold = LSB_DEFAULT_THRESHOLD;
	o->max_pixels = (uint64_t)1 << 26;
	o->max_vertices = (size_t)1 << 18;
	o->max_objects = (size_t)1 << 16;
}

void annot_image_release(annot_image *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; a->inst && i < a->count; i++)
		free(a->inst[i].category);
	free(a->inst);
	free(a->map);
	memset(a, 0, sizeof(*a));
}

int annot_is_mask(const cJSON *obj)
{
	if (!cJSON_IsObject(obj))
		return 0;
	for (int f = 0; f < F_COUNT; f++)
		if (cJSON_GetObjectItemCaseSensitive(obj, format_keys[f]) != NULL)
			return 1;
	return 0;
}

/* ---- entry points ----------------------------------------------------------- */

/* Checks the MASK object's keys; *fmt gets its format. */
static seg_status format_of(const cJSON *obj, enum format *fmt, seg_error *err)
{
	static const char *const extra[F_COUNT][3] = {
		[F_COCO_RLE] = {"width", "height", NULL},
		[F_COCO_POLYGONS] = {"width", "height", NULL},
		[F_COCO] = {NULL},
		[F_LABELSTUDIO] = {"threshold", NULL},
		[F_CVAT] = {NULL},
	};
	const cJSON *it;
	int found = -1;

	if (!cJSON_IsObject(obj))
		return seg_fail(err, SEG_EINVAL, "a MASK must be a JSON object");
	for (int f = 0; f < F_COUNT; f++) {
		if (cJSON_GetObjectItemCaseSensitive(obj, format_keys[f]) == NULL)
			continue;
		if (found >= 0)
			return seg_fail(err, SEG_EINVAL, "a MASK holds one format, but this one has both \"%s\" and \"%s\"",
					format_keys[found], format_keys[f]);
		found = f;
	}
	if (found < 0)
		return seg_fail(err, SEG_EINVAL,
				"a MASK needs one of \"coco_rle\", \"coco_polygons\", \"coco\", \"labelstudio\" or "
				"\"cvat\"");
	cJSON_ArrayForEach(it, obj)
	{
		int ok = strcmp(it->string, format_keys[found]) == 0;
		for (int k = 0; !ok && extra[found][k]; k++)
			ok = strcmp(it->string, extra[found][k]) == 0;
		if (!ok)
			return seg_fail(err, SEG_EINVAL, "unknown key \"%.64s\" beside \"%s\"", it->string,
					format_keys[found]);
	}
	*fmt = (enum format)found;
	return SEG_OK;
}

seg_status annot_parse(const cJSON *obj, const annot_opts *o, annot_image *out, seg_error *err)
{
	static const char *const rules[F_COUNT] = {
		[F_COCO_RLE] = "the later RLE in the list",
		[F_COCO_POLYGONS] = "the object",
		[F_COCO] = "the later annotation in the list",
		[F_LABELSTUDIO] = "the later result in the list",
		[F_CVAT] = "the shape with the higher z_order, then the later one in the list",
	};
	annot_opts def;
	annot_ctx c;
	enum format fmt = F_COCO_RLE;
	seg_status st;

	memset(out, 0, sizeof(*out));
	if (o == NULL) {
		annot_opts_init(&def);
		o = &def;
	}
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.a = out;
	c.err = err;
	st = format_of(obj, &fmt, err);
	if (st != SEG_OK)
		return st;
	if (o->ls_threshold < 1 || o->ls_threshold > 255)
		return seg_fail(err, SEG_EINVAL, "threshold %d is outside 1..255", o->ls_threshold);
	c.overlap_rule = rules[fmt];
	switch (fmt) {
	case F_COCO_RLE:
		st = annot_coco_rle(&c, obj);
		break;
	case F_COCO_POLYGONS:
		st = annot_coco_polygons(&c, obj);
		break;
	case F_COCO:
		st = annot_coco(&c, obj);
		break;
	case F_LABELSTUDIO:
		st = annot_labelstudio(&c, obj);
		break;
	default:
		st = annot_cvat(&c, obj);
		break;
	}
	free(c.scratch);
	if (st != SEG_OK) {
		annot_image_release(out);
		return st;
	}
	annot_finish(&c);
	return SEG_OK;
}

seg_status annot_parse_json(const char *text, size_t len, const annot_opts *o, annot_image *out,
			    seg_error *err)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	seg_status st;

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return seg_fail(err, SEG_EDECODE, "MASK is not valid JSON");
	st = annot_parse(root, o, out, err);
	cJSON_Delete(root);
	return st;
}

/* ---- conversions ------------------------------------------------------------ */

seg_status annot_to_target(const annot_image *a, seg_target *out, seg_error *err)
{
	size_t n = (size_t)a->width * (size_t)a->height;

	/*
	 * The labels are kept even for one object: an object is one instance
	 * whatever its shape (a crowd region, a polygon list, a stroke in two
	 * places), and without labels the weight map's `instances: auto`
	 * would split it into connected components.
	 */
	memset(out, 0, sizeof(*out));
	out->fg = malloc(n ? n : 1);
	out->labels = malloc((n ? n : 1) * sizeof(*out->labels));
	if (out->fg == NULL || out->labels == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++)
		out->fg[i] = a->map[i] != 0;
	memcpy(out->labels, a->map, n * sizeof(*out->labels));
	out->width = a->width;
	out->height = a->height;
	return SEG_OK;
oom:
	seg_target_release(out);
	return seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d target", a->width, a->height);
}

seg_status annot_to_classes(const annot_image *a, annot_class_fn fn, void *ctx, uint32_t background,
			    uint32_t *out, seg_error *err)
{
	size_t n = (size_t)a->width * (size_t)a->height;
	uint32_t *cls = malloc((a->count ? a->count : 1) * sizeof(*cls));
	seg_status st = SEG_OK;

	if (cls == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory for %zu classes", a->count);
	for (size_t k = 0; k < a->count; k++) {
		st = fn(ctx, &a->inst[k], &cls[k], err);
		if (st != SEG_OK)
			goto out;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = a->map[i] ? cls[a->map[i] - 1] : background;
out:
	free(cls);
	return st;
}

seg_status annot_class_lookup(void *ctx, const annot_instance *inst, uint32_t *cls, seg_error *err)
{
	const annot_class_table *t = ctx;

	for (size_t i = 0; i < t->n; i++) {
		const annot_class *e = &t->entries[i];
		if (e->id != ANNOT_NO_ID && inst->category_id != ANNOT_NO_ID && e->id == inst->category_id) {
			*cls = e->cls;
			return SEG_OK;
		}
	}
	for (size_t i = 0; inst->category && i < t->n; i++) {
		const annot_class *e = &t->entries[i];
		if (e->name && strcmp(e->name, inst->category) == 0) {
			*cls = e->cls;
			return SEG_OK;
		}
	}
	if (inst->category && inst->category_id != ANNOT_NO_ID)
		return seg_fail(err, SEG_EINVAL, "no class for category \"%.64s\" (id %lld)", inst->category,
				(long long)inst->category_id);
	if (inst->category)
		return seg_fail(err, SEG_EINVAL, "no class for category \"%.64s\"", inst->category);
	if (inst->category_id != ANNOT_NO_ID)
		return seg_fail(err, SEG_EINVAL, "no class for category id %lld", (long long)inst->category_id);
	return seg_fail(err, SEG_EINVAL, "an object has no category, so it has no class");
}
