/*
 * fuzz_spec.c — libFuzzer target: loss, metric and map specs.
 *
 * The input is parsed as command-line text ("focal:alpha=0.5,as=f") as a
 * loss, a metric and a map, and as JSON through wire_parse_spec: the value
 * itself, or the first MAX_ITEMS elements of an array, again as each
 * kind. Every spec that parses must name a catalogue function of its
 * kind, carry a valid key, and hold parameters within the ranges the
 * catalogue declares. All parsed specs then go to spec_check_unique,
 * whose verdict must match a plain pairwise comparison of kinds and keys.
 */
#include <string.h>

#include <cJSON.h>

#include "fuzzutil.h"
#include "wire/wire.h"

#define INPUT_CAP 4096
#define MAX_SPECS 64
#define MAX_ITEMS 16 /* of a JSON array: each unknown name costs a "did you mean" search */

static spec specs[MAX_SPECS];
static size_t nspecs;

static void keep(const spec *s)
{
	if (nspecs < MAX_SPECS)
		specs[nspecs++] = *s;
}

static void parse_text(const char *text)
{
	static const spec_kind kinds[] = {SPEC_LOSS, SPEC_METRIC, SPEC_MAP};

	for (size_t k = 0; k < 3; k++) {
		spec s;
		seg_error e;
		seg_status st;

		seg_error_clear(&e);
		st = spec_parse(text, kinds[k], &s, &e);
		fz_check_error(st, &e);
		FZ_ASSERT(st == SEG_OK || st == SEG_EINVAL);
		if (st == SEG_OK) {
			fz_check_spec(&s, kinds[k]);
			keep(&s);
		}
	}
}

static void parse_json(const cJSON *item)
{
	static const spec_kind kinds[] = {SPEC_LOSS, SPEC_METRIC, SPEC_MAP};

	for (size_t k = 0; k < 3; k++) {
		spec s;
		seg_error e;
		seg_status st;

		seg_error_clear(&e);
		st = wire_parse_spec(item, kinds[k], NULL, &s, &e);
		fz_check_error(st, &e);
		FZ_ASSERT(st == SEG_OK || st == SEG_EINVAL);
		if (st == SEG_OK) {
			fz_check_spec(&s, kinds[k]);
			keep(&s);
		}
	}
}

/* spec_check_unique against the pairwise definition. */
static void check_unique(void)
{
	int dup = 0;
	seg_error e;
	seg_status st;

	for (size_t i = 0; i < nspecs; i++)
		for (size_t j = i + 1; j < nspecs; j++)
			if (spec_info_of(specs[i].fn)->kind == spec_info_of(specs[j].fn)->kind &&
			    strcmp(specs[i].key, specs[j].key) == 0)
				dup = 1;
	seg_error_clear(&e);
	st = spec_check_unique(specs, nspecs, &e);
	fz_check_error(st, &e);
	FZ_ASSERT(st == (dup ? SEG_EINVAL : SEG_OK));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[INPUT_CAP + 1];
	cJSON *json;

	if (size > INPUT_CAP)
		return 0;
	nspecs = 0;
	memcpy(text, data, size);
	text[size] = '\0';
	parse_text(text);

	json = cJSON_ParseWithLength((const char *)data, size);
	if (cJSON_IsArray(json)) {
		const cJSON *item;
		int k = 0;

		cJSON_ArrayForEach(item, json)
		{
			if (k++ == MAX_ITEMS)
				break;
			parse_json(item);
		}
	} else if (json != NULL) {
		parse_json(json);
	}
	cJSON_Delete(json);
	check_unique();
	return 0;
}
