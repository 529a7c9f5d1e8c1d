/*
 * seg.h — types shared by every layer of segloss: the status enum, the
 * error record that carries a message with a request, and the two mask
 * types the loss core reads.
 *
 * The core is pure: it includes only libc and <math.h>. Nothing in here
 * does I/O or knows about threads.
 */
#ifndef SEG_H
#define SEG_H

#include <stddef.h>
#include <stdint.h>

/*
 * One status enum for the whole program. The HTTP layer maps it to a
 * status code in exactly one function (problem_status_of, src/wire/problem.c).
 */
typedef enum seg_status {
	SEG_OK = 0,
	SEG_EINVAL,       /* well-formed but invalid: size mismatch, unknown name, range (422) */
	SEG_EDECODE,      /* malformed bytes: PNG, .npy, base64, JSON (400) */
	SEG_ETOOBIG,      /* over a configured cap: body, pixels (413) */
	SEG_EUNSUPPORTED, /* unsupported media or content type (415) */
	SEG_ENOMEM,       /* allocation failed (503) */
	SEG_ENOTFOUND,    /* no such route, run or job (404) */
	SEG_EMETHOD,      /* method not allowed on a route (405) */
	SEG_ECONFLICT,    /* the resource's state forbids it: a finished job cannot be canceled (409) */
	SEG_EBUSY,        /* work queue full or draining (503) */
	SEG_ESTORE,       /* the store failed to read or write (503) */
	SEG_EIO,          /* file or socket I/O failed (500) */
	SEG_EINTERNAL,    /* a bug: an invariant did not hold (500) */
	SEG_STATUS_COUNT
} seg_status;

/* Static, lowercase name of a status, e.g. "decode error". Never NULL. */
const char *seg_strerror(seg_status st);

/*
 * An error travels with the request that caused it: never a global.
 * msg is lowercase, error first, subject quoted:
 *   "prediction is 256x256 but target is 512x512".
 */
#define SEG_ERRMSG_MAX 256
typedef struct seg_error {
	seg_status status;
	char msg[SEG_ERRMSG_MAX];
} seg_error;

/*
 * Records st and a printf-style message in err (err may be NULL) and
 * returns st, so callers write `return seg_fail(err, SEG_EINVAL, ...)`.
 * If err already holds a message it is overwritten.
 */
seg_status seg_fail(seg_error *err, seg_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Clears err to SEG_OK and an empty message. err may be NULL. */
void seg_error_clear(seg_error *err);

/* Largest width or height accepted anywhere (keeps w*h in size_t and int math safe). */
#define SEG_MAX_SIDE (1 << 20)

/*
 * A target mask.
 *   fg[i]     1 where pixel i is foreground (its source value is non-zero), else 0.
 *   labels[i] the source value (grey level, palette index, packed 0xRRGGBB,
 *             .npy integer, or an annotation's object number), used as
 *             instance id; NULL when the target holds at most one distinct
 *             non-zero value (then fg says it all). A source whose
 *             instances are given rather than read off values (an
 *             annotation export) keeps labels even for one instance, so
 *             that instance is never split into connected components.
 *   fg_value  when labels is NULL, the source value of every foreground
 *             pixel (0 when there is none), so the values can be rebuilt.
 * Both arrays are row-major, width*height long, owned by the struct:
 * seg_target_release frees them.
 */
typedef struct seg_target {
	int width;
	int height;
	uint8_t *fg;
	uint32_t *labels;
	uint32_t fg_value;
} seg_target;

/*
 * A prediction: p[i] in [0, 1], the probability that pixel i is
 * foreground, row-major, width*height long, owned by the struct.
 */
typedef struct seg_pred {
	int width;
	int height;
	float *p;
} seg_pred;

/*
 * A class map, for multi-class requests: cls[i] is the dense index
 * (0..classes-1) of pixel i's class, or SEG_IGNORE where the pixel counts
 * nowhere (the target's ignore label). Row-major, width*height long,
 * owned by the struct.
 */
#define SEG_IGNORE 0xffffu
#define SEG_MAX_CLASSES 65534 /* dense indexes stay below two reserved values */
typedef struct seg_labels {
	int width;
	int height;
	uint16_t *cls;
} seg_labels;

/*
 * Per-class scores of a multi-class prediction, class-major: v[c*N + i]
 * is class c's score at pixel i (N = width*height). Probabilities (each
 * pixel's scores sum to 1) or, when logits is set, logits whose softmax
 * gives them. Owned by the struct.
 */
typedef struct seg_scores {
	int width;
	int height;
	int classes;
	int logits;
	float *v;
} seg_scores;

/* Frees the arrays and zeroes the struct; safe on a zeroed or released struct, and on NULL. */
void seg_target_release(seg_target *t);
void seg_pred_release(seg_pred *p);
void seg_labels_release(seg_labels *l);
void seg_scores_release(seg_scores *s);

#endif
