/*
 * profile.h — profiles: every convention of one training library at once,
 * so a request can reproduce that library's numbers by name.
 *
 * A profile sets parameter defaults (smoothing, α, β, γ, zero_division...)
 * and the multi-class conventions of every metric and loss (mcconv.h:
 * empty classes, averaging, surface distances, include_background,
 * denominators, which parameters the library lacks) and the default
 * ignore label. Parameters given explicitly in a request always win.
 * The sources each profile follows, file and function, are in
 * docs/profiles.md and in the catalogue (GET /v1/profiles, `segloss
 * profiles`).
 */
#ifndef PROFILE_H
#define PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/mcconv.h"
#include "core/seg.h"
#include "core/spec.h"

typedef enum prof_id {
	PROF_SEGLOSS,
	PROF_MONAI,
	PROF_TORCHMETRICS,
	PROF_SMP,
	PROF_MMSEG,
	PROF_PYTORCH,
	PROF_KERAS,
	PROF_MEDPY,
	PROF_COUNT
} prof_id;

/* A parameter default of one function (param NULL ends a list). */
typedef struct prof_default {
	spec_fn fn;
	const char *param;
	double value;
} prof_default;

typedef struct prof_info {
	const char *name;
	const char *library;   /* the library and the version followed */
	const char *source;    /* the files and functions followed */
	const char *summary;   /* the conventions that differ from segloss's, in one paragraph */
	const mce_conv *conv;  /* every metric's and loss's conventions */
	int has_ignore;        /* a default ignore label */
	int64_t ignore_index;
	const prof_default *defaults;
} prof_info;

/* The profile (static; never NULL for id < PROF_COUNT). */
const prof_info *prof_get(prof_id id);

/* The profile called name, or NULL with SEG_EINVAL "unknown profile 'monia' (did you mean 'monai'?)". */
const prof_info *prof_find(const char *name, seg_error *err);

/* Sets each spec's parameters to the profile's defaults, except those given explicitly. specs borrowed. */
void prof_apply(const prof_info *p, spec *specs, size_t n);

#endif
