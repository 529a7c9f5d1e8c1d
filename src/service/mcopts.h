/*
 * mcopts.h — the request fields of multi-class evaluation and profiles:
 * "classes", "ignore_index", "include_background", "background",
 * "class_weights", "average", "profile", "confusion".
 *
 * JSON values, multipart text fields and command-line options all go
 * through mco_set (text is first read as JSON when it looks like JSON, as
 * a number, or as a comma-separated list), so every form accepts the same
 * values and gives the same errors.
 */
#ifndef MCOPTS_H
#define MCOPTS_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "core/classes.h"
#include "core/mceval.h"
#include "core/profile.h"
#include "core/seg.h"
#include "core/spec.h"

#define MCO_DEFAULT_MAX_CLASSES 1024

/* The field names, for lists of known fields. */
#define MCO_FIELDS "classes", "ignore_index", "include_background", "background", "class_weights", "average", \
		   "profile", "confusion"

typedef struct mco_opts {
	int multi;                 /* "classes" was given: the request is multi-class */
	cls_table classes;
	int ignore_set;            /* ignore_index was given (null: none) */
	int has_ignore;
	int64_t ignore_index;
	int include_background;    /* -1: the profile's */
	int64_t background;        /* -1: the class with id 0, if any */
	double *class_weights;     /* owned; nweights entries */
	int nweights;
	int average;               /* mce_average, or -1: macro */
	const prof_info *profile;  /* never NULL: segloss unless given */
	int confusion;             /* answer the confusion matrix */
	int max_classes;           /* the daemon's cap on "classes" */
} mco_opts;

/* Starts with no classes, the segloss profile and the cap max_classes. */
void mco_init(mco_opts *o, int max_classes);
void mco_release(mco_opts *o);

/* 1 when name is one of the fields above. name borrowed. */
int mco_owns(const char *name);

/*
 * Sets field name from a JSON value (both borrowed). SEG_EINVAL naming
 * the field and what it takes; "classes" is checked against the cap
 * before anything is allocated for it.
 */
seg_status mco_set(mco_opts *o, const char *name, const cJSON *v, seg_error *err);

/* The same from text: a number, true/false, a word, "a,b,c", or JSON. name, text borrowed. */
seg_status mco_set_text(mco_opts *o, const char *name, const char *text, seg_error *err);

/*
 * Completes the options once every field is read: checks what only
 * multi-class requests take, the class weights' length, the background,
 * and the specs (borrowed, modified): each takes the profile's defaults
 * for the parameters it was not given, and binary-only parameters set
 * in a multi-class request (threshold; focal's alpha unless the
 * profile's focal loss has one) are SEG_EINVAL, as is a parameter the
 * profile's library does not take (class_weights, label_smoothing),
 * with a message naming the profile, the loss and the parameter.
 */
seg_status mco_finish(mco_opts *o, spec *specs, size_t n, seg_error *err);

/*
 * The core's options for o (multi-class): names (caller-owned, classes
 * pointers into o) is filled; out borrows it, o and o's profile.
 */
void mco_core_opts(const mco_opts *o, mce_opts *out, const char **names);

#endif
