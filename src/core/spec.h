/*
 * spec.h — the catalogue of losses, metrics and maps, and the parsing of
 * a request for one of them ("dice", "focal:alpha=0.5,gamma=3", or the
 * same fields set one by one from JSON).
 *
 * The catalogue is a static table: name, kind, a one-line formula, the
 * edge-case convention, and each parameter with its type, default and
 * range. `segloss list`, GET /v1/losses and docs/losses.md are all read
 * from it, so the documentation cannot drift from the code.
 */
#ifndef SPEC_H
#define SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"
#include "core/wmap.h"

typedef enum spec_kind {
	SPEC_LOSS,
	SPEC_METRIC,
	SPEC_MAP,
} spec_kind;

typedef enum spec_fn {
	FN_BCE,
	FN_WEIGHTED_BCE,
	FN_BALANCED_BCE,
	FN_FOCAL,
	FN_DICE_LOSS,
	FN_JACCARD,
	FN_TVERSKY,
	FN_FOCAL_TVERSKY,
	FN_LOG_COSH_DICE,
	FN_SENS_SPEC,
	FN_COMBO,
	FN_EXP_LOG,
	FN_GENERALIZED_DICE,
	FN_HAUSDORFF_DT,
	FN_BOUNDARY,
	FN_SHAPE_AWARE,
	FN_CROSS_ENTROPY,
	FN_LOVASZ_SOFTMAX,
	FN_M_DICE,
	FN_M_IOU,
	FN_M_PRECISION,
	FN_M_RECALL,
	FN_M_SPECIFICITY,
	FN_M_ACCURACY,
	FN_M_HAUSDORFF,
	FN_M_HAUSDORFF95,
	FN_M_ASSD,
	FN_M_SURFACE_DICE,
	FN_M_PIXEL_ACCURACY,
	FN_MAP_WEIGHT,
	FN_MAP_BCE,
	FN_MAP_MASK,
	FN_MAP_ERRORS,
	FN_COUNT
} spec_fn;

/* Every parameter any function takes; each function reads its own. */
typedef struct spec_params {
	double eps;
	double alpha;
	double beta;
	double gamma;
	double smooth;
	double w;
	double w_dice;
	double w_cross;
	double gamma_dice;
	double gamma_cross;
	double threshold;
	double percentile;
	double tolerance;
	double zero_division; /* NAN stands for null */
	double label_smoothing;
	double spacing[2];    /* rows, columns */
	wmap_params wm;
} spec_params;

typedef enum spec_ptype {
	SPEC_P_NUMBER,   /* a finite number within its range */
	SPEC_P_NULLABLE, /* a number within its range, or null */
	SPEC_P_CHOICE,   /* one of choices[], stored as its index (int) */
	SPEC_P_INT,      /* one of the integers listed in choices[] ("4", "8"), stored as int */
	SPEC_P_PAIR,     /* two numbers within the range: [rows, columns] */
	SPEC_P_CLASSW,   /* "balanced", "none" or [background, foreground] */
} spec_ptype;

#define SPEC_MIN_OPEN 1u /* the minimum itself is excluded */
#define SPEC_MAX_OPEN 2u

typedef struct spec_param {
	const char *name;
	spec_ptype type;
	size_t offset; /* of the field in spec_params */
	double def;    /* NUMBER, NULLABLE (NAN = null), PAIR (both), INT */
	double min;
	double max;
	unsigned flags;
	const char *const *choices; /* CHOICE, INT: NULL-terminated; CHOICE default is choices[0] */
	const char *doc;
} spec_param;

/* Which requests a function serves: binary (no classes), multi-class, or both. */
#define SPEC_BINARY 1u
#define SPEC_MULTI 2u
#define SPEC_BOTH (SPEC_BINARY | SPEC_MULTI)

typedef struct spec_info {
	const char *name;
	spec_kind kind;
	const char *formula;
	const char *edge;
	const spec_param *params; /* terminated by an entry with name NULL */
	unsigned modes;           /* SPEC_BINARY, SPEC_MULTI or both */
	const char *multi_formula; /* the multi-class form, when it differs; NULL otherwise */
} spec_info;

#define SPEC_KEY_MAX 64

typedef struct spec {
	spec_fn fn;
	char key[SPEC_KEY_MAX]; /* the alias ("as"), or the name */
	spec_params par;
	uint32_t set; /* bit k: the function's k-th parameter was given explicitly */
} spec;

/* The catalogue entry of fn (static; never NULL for fn < FN_COUNT). */
const spec_info *spec_info_of(spec_fn fn);

/* "loss", "metric" or "map". */
const char *spec_kind_name(spec_kind kind);

/*
 * Starts a spec for the function called name of the given kind, with every
 * parameter at its default and key = name. SEG_EINVAL "unknown loss
 * 'dcie' (did you mean 'dice'?)". name borrowed.
 */
seg_status spec_init(spec *s, spec_kind kind, const char *name, seg_error *err);

/*
 * Sets the key to alias (borrowed): 1 to SPEC_KEY_MAX-1 characters of
 * A-Za-z0-9 . _ - : SEG_EINVAL otherwise.
 */
seg_status spec_set_alias(spec *s, const char *alias, seg_error *err);

/*
 * Typed setters (JSON values). name and strings borrowed. SEG_EINVAL with
 * a message naming the function, the parameter and the allowed range or
 * values: "unknown parameter 'gama' for loss 'dice' (did you mean
 * 'gamma'?)", "parameter 'alpha' of loss 'focal' must be in [0, 1], got 2".
 */
seg_status spec_set_number(spec *s, const char *name, double v, seg_error *err);
seg_status spec_set_string(spec *s, const char *name, const char *v, seg_error *err);
seg_status spec_set_pair(spec *s, const char *name, double a, double b, seg_error *err);
seg_status spec_set_null(spec *s, const char *name, seg_error *err);

/*
 * Sets a parameter from text, as given on the command line: a number,
 * a choice word, "null", or a list "[a,b]". name, text borrowed.
 */
seg_status spec_set_text(spec *s, const char *name, const char *text, seg_error *err);

/*
 * Parses "name" or "name:key=value,key=value" (the key "as" sets the
 * alias; list values are written [a,b]). text borrowed.
 */
seg_status spec_parse(const char *text, spec_kind kind, spec *s, seg_error *err);

/*
 * SEG_EINVAL "duplicate loss key 'dice': give one of them another name with
 * \"as\"" when two specs of the same kind share a key. specs borrowed.
 */
seg_status spec_check_unique(const spec *specs, size_t n, seg_error *err);

/*
 * Sets parameter name to v unless it was given explicitly (a profile's
 * default); a parameter the function does not take is left alone.
 * Returns 1 when it was set.
 */
int spec_default_number(spec *s, const char *name, double v);

/*
 * The name (static) of another function of s's kind that takes parameter
 * name when s's function does not (label_smoothing asked of dice is
 * cross_entropy's); NULL when s takes it or no function does. name
 * borrowed.
 */
const char *spec_param_elsewhere(const spec *s, const char *name);

/* 1 when parameter name of s was given explicitly. */
int spec_is_set(const spec *s, const char *name);

/* Writes the default losses and metrics (bce, weighted_bce, dice, shape_aware; dice, iou)
 * into out (capacity cap); returns how many were written. */
size_t spec_defaults(spec *out, size_t cap);

/* The same for multi-class requests (cross_entropy, dice; dice, iou). */
size_t spec_defaults_multi(spec *out, size_t cap);

/* The value of a CHOICE parameter as its name, e.g. "balanced". */
const char *spec_choice_name(const spec_param *p, int index);

/* Levenshtein distance between two short strings (capped at 8). */
int spec_edit_distance(const char *a, const char *b);

#endif
