/*
 * fuzz_annot.c — libFuzzer target: MASK objects (src/wire/annot.c) from
 * JSON text.
 *
 * The input is parsed with small caps. A refusal must be one of the
 * statuses annot.h names, leave the image empty and carry a message. An
 * accepted image must be within the caps; its map may only hold instance
 * numbers 1..count; the instances' pixel counts must add up to the
 * pixels the map covers; the target conversion must mark exactly those
 * pixels and keep the map as its labels (one object too); and a
 * class map built with a lookup that always answers must give each
 * pixel its instance's class.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"
#include "wire/annot.h"

#define INPUT_CAP (1u << 16)

/* Class of an instance: its id when it has one, else the length of its name, else 7. */
static seg_status any_class(void *ctx, const annot_instance *inst, uint32_t *cls, seg_error *err)
{
	(void)ctx;
	(void)err;
	if (inst->category_id != ANNOT_NO_ID)
		*cls = (uint32_t)inst->category_id;
	else if (inst->category)
		*cls = (uint32_t)strlen(inst->category);
	else
		*cls = 7;
	return SEG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	annot_opts o;
	annot_image a;
	seg_target t;
	seg_error e;
	seg_status st;
	size_t n, covered = 0;
	uint64_t sum = 0;
	uint32_t *cls, *want;

	if (size > INPUT_CAP)
		return 0;
	annot_opts_init(&o);
	o.max_pixels = FZ_MAX_PIXELS;
	o.max_objects = 64;
	o.max_vertices = 4096;
	if (size > 0 && data[0] == ' ') /* a leading space asks for the other threshold */
		o.ls_threshold = 1;
	seg_error_clear(&e);
	st = annot_parse_json((const char *)data, size, &o, &a, &e);
	fz_check_error(st, &e);
	if (st != SEG_OK) {
		FZ_ASSERT(st == SEG_EINVAL || st == SEG_EDECODE || st == SEG_ETOOBIG);
		FZ_ASSERT(a.map == NULL && a.inst == NULL && a.count == 0);
		return 0;
	}
	FZ_ASSERT(a.width >= 1 && a.height >= 1);
	n = (size_t)a.width * (size_t)a.height;
	FZ_ASSERT(n <= FZ_MAX_PIXELS && a.count <= 64);
	FZ_ASSERT(a.warnings.count >= 0 && a.warnings.count <= EVAL_WARN_MAX);
	for (size_t i = 0; i < n; i++) {
		FZ_ASSERT(a.map[i] <= a.count);
		covered += a.map[i] != 0;
	}
	for (size_t k = 0; k < a.count; k++) {
		sum += a.inst[k].pixels;
		FZ_ASSERT(a.inst[k].crowd == 0 || a.inst[k].crowd == 1);
	}
	FZ_ASSERT(sum == covered);
	FZ_ASSERT(annot_to_target(&a, &t, &e) == SEG_OK);
	FZ_ASSERT(t.width == a.width && t.height == a.height);
	/* Every object is an instance, also a lone one: the labels are always the map. */
	FZ_ASSERT(t.labels != NULL);
	for (size_t i = 0; i < n; i++) {
		FZ_ASSERT(t.fg[i] == (a.map[i] != 0));
		FZ_ASSERT(t.labels[i] == a.map[i]);
	}
	seg_target_release(&t);
	cls = malloc(n * sizeof(*cls));
	want = malloc((a.count ? a.count : 1) * sizeof(*want));
	FZ_ASSERT(cls && want);
	for (size_t k = 0; k < a.count; k++)
		any_class(NULL, &a.inst[k], &want[k], NULL);
	FZ_ASSERT(annot_to_classes(&a, any_class, NULL, 99, cls, &e) == SEG_OK);
	for (size_t i = 0; i < n; i++)
		FZ_ASSERT(cls[i] == (a.map[i] ? want[a.map[i] - 1] : 99));
	free(cls);
	free(want);
	annot_image_release(&a);
	return 0;
}
