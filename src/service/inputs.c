/*
 * inputs.c — kinds of uploads, and the rule that reads a mask sent
 * without one.
 *
 * The rule (docs/losses.md, "What a mask holds"), binary requests:
 *   - a grey PNG prediction is a probability image, as it always was,
 *     except one whose every value is 0 or 1 at a bit depth above 1: that
 *     is a hard mask (a warning says so, and how to ask for probability);
 *     one whose every value is below 32 is still read as probabilities,
 *     with a warning suggesting classes or kind labels;
 *   - a colour or palette PNG, or an integer or bool .npy, prediction is a
 *     hard mask when it holds at most one non-zero value; more is refused
 *     with the values found and how to be explicit;
 *   - a float .npy is a probability image; a 3-D one needs classes.
 * Multi-class requests (classes given): the target is a label map; a PNG
 * or integer .npy prediction is a label map, a 3-D float .npy per-class
 * probabilities (logits with kind logits). Colour-coded label maps are
 * read through the classes' colours.
 *
 * Decoders do the byte work (codec/mask.c); this file only chooses which
 * to call and turns values into masks or classes.
 */
#include "service/inputs.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/mask.h"
#include "codec/npy.h"
#include "core/label.h"
#include "core/mclass.h"
#include "wire/annot.h"

static const char *const kind_names[INP_KIND_COUNT] = {
	"auto", "probability", "logits", "mask", "labels", "probabilities", "instances",
};

const char *inp_kind_name(inp_kind k)
{
	return (unsigned)k < INP_KIND_COUNT ? kind_names[k] : "auto";
}

seg_status inp_kind_parse(const char *name, int is_target, inp_kind *out, seg_error *err)
{
	for (int k = 1; k < INP_KIND_COUNT; k++) {
		if (strcmp(kind_names[k], name) != 0)
			continue;
		int ok = is_target ? (k == INP_MASK || k == INP_INSTANCES || k == INP_LABELS) : k != INP_INSTANCES;
		if (!ok)
			break;
		*out = (inp_kind)k;
		return SEG_OK;
	}
	if (is_target)
		return seg_fail(err, SEG_EINVAL, "target kind must be mask, instances or labels, got '%.32s'", name);
	return seg_fail(err, SEG_EINVAL,
			"prediction kind must be probability, logits, mask, labels or probabilities, got '%.32s'", name);
}

void inp_pair_release(inp_pair *p)
{
	if (p == NULL)
		return;
	seg_target_release(&p->target);
	seg_pred_release(&p->pred);
	seg_labels_release(&p->labels);
	seg_scores_release(&p->scores);
	free(p->hard);
	memset(p, 0, sizeof(*p));
}

static void note(inp_pair *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(inp_pair *p, const char *fmt, ...)
{
	va_list ap;

	if (p->nnotes >= INP_NOTES_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(p->notes[p->nnotes++], EVAL_WARN_LEN, fmt, ap);
	va_end(ap);
}

/* Up to 8 distinct values of v (n) into seen; returns how many distinct values were found (capped at 9). */
static int distinct(const uint32_t *v, size_t n, uint32_t seen[8])
{
	int k = 0;

	for (size_t i = 0; i < n && k < 9; i++) {
		int j;
		for (j = 0; j < k && j < 8 && seen[j] != v[i]; j++)
			;
		if (j == k) {
			if (k < 8)
				seen[k] = v[i];
			k++;
		}
	}
	return k;
}

/* A hard mask from values: at most one non-zero value, else refused naming the values. */
static seg_status values_to_mask(uint32_t *v, int w, int h, const char *what, int colours, seg_pred *out,
				 seg_error *err)
{
	size_t n = (size_t)w * (size_t)h;
	uint32_t seen[8];
	int k = distinct(v, n, seen), nonzero = 0;
	char list[96] = "";

	for (int j = 0; j < k && j < 8; j++)
		nonzero += seen[j] != 0;
	if (nonzero > 1) {
		size_t used = 0;
		for (int j = 0; j < k && j < 8 && used < sizeof(list); j++)
			used += (size_t)snprintf(list + used, sizeof(list) - used, colours ? "%s#%06x" : "%s%u", j ? ", " : "",
						 seen[j]);
		return seg_fail(err, SEG_EINVAL,
				"prediction is %s holding the %s %s%s: a label map? give \"classes\" to score it per "
				"class, or \"kind\": \"mask\" to read every non-zero value as foreground",
				what, colours ? "colours" : "values", list, k > 8 ? ", ..." : "");
	}
	out->width = w;
	out->height = h;
	out->p = malloc(n * sizeof(float));
	if (out->p == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d prediction", w, h);
	for (size_t i = 0; i < n; i++)
		out->p[i] = v[i] != 0 ? 1.0f : 0.0f;
	return SEG_OK;
}

/* Every value non-zero is foreground, whatever the format. */
static seg_status decode_mask(const inp_mask *m, const mask_probe *pr, uint64_t max_pixels, int check_values,
			      const char *what, seg_pred *out, seg_error *err)
{
	uint32_t *v = NULL;
	int w = 0, h = 0;
	seg_status st = mask_decode_values(m->data, m->len, max_pixels, "prediction", pr, 0, &v, &w, &h, err);

	if (st != SEG_OK)
		return st;
	if (!check_values) {
		size_t n = (size_t)w * (size_t)h;
		for (size_t i = 0; i < n; i++)
			v[i] = v[i] != 0;
	}
	st = values_to_mask(v, w, h, what, pr->format == MASK_FMT_PNG && (pr->color_type == 2 || pr->color_type == 6), out,
			    err);
	free(v);
	return st;
}

/* A grey PNG read as probabilities, with the two readings of the rule. */
static seg_status grey_png_auto(const inp_mask *m, const mask_probe *pr, uint64_t max_pixels, inp_pair *p,
				seg_error *err)
{
	seg_status st = mask_decode_pred(m->data, m->len, max_pixels, 0, &p->pred, err);
	size_t n;
	float mx = 0.0f;

	if (st != SEG_OK || pr->bit_depth <= 1)
		return st;
	n = (size_t)p->pred.width * (size_t)p->pred.height;
	for (size_t i = 0; i < n; i++)
		mx = p->pred.p[i] > mx ? p->pred.p[i] : mx;
	double levels = (double)((1u << pr->bit_depth) - 1);
	long top = lround((double)mx * levels);
	if (top == 1) {
		for (size_t i = 0; i < n; i++)
			p->pred.p[i] = p->pred.p[i] > 0.0f ? 1.0f : 0.0f;
		note(p, "prediction holds only the values 0 and 1: read as a hard mask (1 = foreground); send "
			"\"kind\": \"probability\" to read it as p = value/%s", pr->bit_depth == 16 ? "65535" : pr->bit_depth == 8 ? "255" : "(2^depth - 1)");
	} else if (top >= 2 && top < 32 && pr->bit_depth >= 8) {
		note(p, "prediction's values are all below 32: read as probabilities p = value/%s; if it is a label map, "
			"give \"classes\" or \"kind\": \"labels\"", pr->bit_depth == 16 ? "65535" : "255");
	}
	return SEG_OK;
}

/* ---- annotation tools' exports (wire/annot.h) ---- */

/* JSON text: the first non-blank byte opens an object. */
static int looks_json(const uint8_t *d, size_t n)
{
	size_t i = 0;

	while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
		i++;
	return i < n && d[i] == '{';
}

static int is_annot(const inp_mask *m)
{
	return m->annot != NULL || (m->data != NULL && looks_json(m->data, m->len));
}

/* The annotation image of m, its warnings added to the pair's notes under the role. */
static seg_status read_annot(const inp_mask *m, uint64_t max_pixels, const char *role, inp_pair *p, annot_image *a,
			     seg_error *err)
{
	annot_opts o;
	seg_error inner = {SEG_OK, ""};
	seg_status st;

	annot_opts_init(&o);
	o.max_pixels = max_pixels;
	st = m->annot ? annot_parse(m->annot, &o, a, &inner)
		      : annot_parse_json((const char *)m->data, m->len, &o, a, &inner);
	if (st != SEG_OK)
		return seg_fail(err, st, "%s: %s", role, inner.msg);
	if (m->kind == INP_PROBABILITY || m->kind == INP_LOGITS || m->kind == INP_PROBABILITIES) {
		annot_image_release(a);
		return seg_fail(err, SEG_EINVAL, "%s is an annotation (hard shapes), not of kind %s", role,
				inp_kind_name(m->kind));
	}
	for (int i = 0; p && i < a->warnings.count; i++)
		note(p, "%s: %s", role, a->warnings.msg[i]);
	return SEG_OK;
}

/* Each pixel's dense class: an instance's category through the classes, the background class elsewhere. */
static seg_status annot_classes(const annot_image *a, const cls_table *cl, const char *role, uint16_t **out,
				seg_error *err)
{
	size_t n = (size_t)a->width * (size_t)a->height;
	annot_class *e = NULL;
	uint32_t *v = NULL;
	seg_error inner = {SEG_OK, ""};
	seg_status st = SEG_OK;

	*out = NULL;
	if (cl->background < 0)
		return seg_fail(err, SEG_EINVAL,
				"%s is an annotation, whose pixels outside every object need a background class: add "
				"{\"id\": 0, \"name\": \"background\"} to \"classes\", or set \"background\"",
				role);
	e = malloc((size_t)cl->count * sizeof(*e));
	v = malloc(n * sizeof(*v));
	*out = malloc(n * sizeof(**out));
	if (e == NULL || v == NULL || *out == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	/* A category matches a class by id (COCO category_id, CVAT label_id) or by name (Label Studio, CVAT label). */
	for (int k = 0; k < cl->count; k++)
		e[k] = (annot_class){(int64_t)cl->id[k], cl->key[k], (uint32_t)k};
	annot_class_table table = {e, (size_t)cl->count};
	st = annot_to_classes(a, annot_class_lookup, &table, (uint32_t)cl->background, v, &inner);
	if (st != SEG_OK) {
		st = seg_fail(err, st, "%s: %s", role, inner.msg);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		(*out)[i] = (uint16_t)v[i];
out:
	free(e);
	free(v);
	if (st != SEG_OK) {
		free(*out);
		*out = NULL;
	}
	return st;
}

/* A binary prediction from an annotation: the union of its objects. */
static seg_status annot_pred(const inp_mask *m, uint64_t max_pixels, inp_pair *p, seg_error *err)
{
	annot_image a;
	seg_status st = read_annot(m, max_pixels, "prediction", p, &a, err);
	size_t n;

	if (st != SEG_OK)
		return st;
	n = (size_t)a.width * (size_t)a.height;
	p->pred.p = malloc(n * sizeof(float));
	if (p->pred.p == NULL) {
		annot_image_release(&a);
		return seg_fail(err, SEG_ENOMEM, "out of memory");
	}
	p->pred.width = a.width;
	p->pred.height = a.height;
	for (size_t i = 0; i < n; i++)
		p->pred.p[i] = a.map[i] != 0 ? 1.0f : 0.0f;
	annot_image_release(&a);
	return SEG_OK;
}

/* A binary target from an annotation: the union, each object an instance. */
static seg_status annot_target(const inp_mask *m, uint64_t max_pixels, inp_pair *p, seg_target *out, seg_error *err)
{
	annot_image a;
	seg_error inner = {SEG_OK, ""};
	seg_status st = read_annot(m, max_pixels, "target", p, &a, err);

	if (st != SEG_OK)
		return st;
	st = annot_to_target(&a, out, &inner);
	annot_image_release(&a);
	return st == SEG_OK ? SEG_OK : seg_fail(err, st, "target: %s", inner.msg);
}

/* A multi-class label map from an annotation. */
static seg_status annot_labels(const inp_mask *m, const cls_table *cl, uint64_t max_pixels, const char *role,
			       inp_pair *p, seg_labels *out, seg_error *err)
{
	annot_image a;
	seg_status st = read_annot(m, max_pixels, role, p, &a, err);

	if (st != SEG_OK)
		return st;
	st = annot_classes(&a, cl, role, &out->cls, err);
	out->width = a.width;
	out->height = a.height;
	annot_image_release(&a);
	return st;
}

static seg_status binary_pred(const inp_mask *m, uint64_t max_pixels, inp_pair *p, seg_error *err)
{
	mask_probe pr;
	seg_status st;

	if (is_annot(m))
		return annot_pred(m, max_pixels, p, err);
	st = mask_probe_bytes(m->data, m->len, "prediction", &pr, err);
	if (st != SEG_OK)
		return st;
	switch (m->kind) {
	case INP_PROBABILITY:
		return mask_decode_pred(m->data, m->len, max_pixels, 0, &p->pred, err);
	case INP_LOGITS:
		return mask_decode_pred(m->data, m->len, max_pixels, 1, &p->pred, err);
	case INP_MASK:
		return decode_mask(m, &pr, max_pixels, 0, "", &p->pred, err);
	case INP_LABELS:
	case INP_PROBABILITIES:
		return seg_fail(err, SEG_EINVAL, "prediction kind '%s' needs \"classes\" (a multi-class request)",
				inp_kind_name(m->kind));
	default:
		break;
	}
	if (pr.format == MASK_FMT_PNG) {
		if (pr.color_type == 0 || pr.color_type == 4 || pr.bit_depth == 0)
			return grey_png_auto(m, &pr, max_pixels, p, err);
		return decode_mask(m, &pr, max_pixels, 1, pr.color_type == 3 ? "a palette PNG" : "a colour PNG", &p->pred,
				   err);
	}
	if (pr.npy.kind != 'f')
		return decode_mask(m, &pr, max_pixels, 1, "an integer .npy", &p->pred, err);
	if (pr.npy.ndim == 3 && pr.npy.shape[0] != 1 && pr.npy.shape[2] != 1)
		return seg_fail(err, SEG_EINVAL,
				"prediction has shape %s: per-class scores need \"classes\" (a multi-class request)",
				pr.npy.shape_text);
	return mask_decode_pred(m->data, m->len, max_pixels, 0, &p->pred, err);
}

/* A label map's values to dense classes: by colour for colour PNGs when the classes have colours. */
static seg_status decode_classes(const inp_mask *m, const mask_probe *pr, const cls_table *cl, uint64_t max_pixels,
				 const char *role, int allow_ignore, seg_labels *out, seg_error *err)
{
	uint32_t *v = NULL;
	int w = 0, h = 0, colour_png = pr->format == MASK_FMT_PNG && (pr->color_type == 2 || pr->color_type == 6);
	int by_color = cl->colored && (colour_png || (pr->format == MASK_FMT_PNG && pr->color_type == 3));
	seg_status st;

	if (colour_png && !cl->colored)
		return seg_fail(err, SEG_EINVAL,
				"%s is a colour PNG: give each class a \"color\" (\"#rrggbb\") to read it as a label map",
				role);
	if (pr->format == MASK_FMT_NPY && pr->npy.kind == 'f')
		return seg_fail(err, SEG_EINVAL, "%s .npy of labels must be bool or integer, got %s", role, pr->npy.dtype);
	st = mask_decode_values(m->data, m->len, max_pixels, role, pr, by_color, &v, &w, &h, err);
	if (st != SEG_OK)
		return st;
	out->cls = malloc((size_t)w * (size_t)h * sizeof(*out->cls));
	if (out->cls == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d label map", w, h);
		goto out;
	}
	out->width = w;
	out->height = h;
	st = cls_map_values(cl, v, w, h, by_color, allow_ignore, role, out->cls, err);
out:
	free(v);
	if (st != SEG_OK)
		seg_labels_release(out);
	return st;
}

/*
 * The prediction of a multi-class request, its size checked against the
 * target's (tw x th); the argmax of scores split through par (borrowed).
 */
static seg_status multi_pred(const inp_mask *m, const cls_table *cl, uint64_t max_pixels, int tw, int th,
			     const seg_par *par, inp_pair *p, seg_error *err)
{
	int pw = 0, ph = 0;
	mask_probe pr;
	seg_status st;
	inp_kind k = m->kind;

	if (is_annot(m)) {
		seg_labels l = {0, 0, NULL};
		st = annot_labels(m, cl, max_pixels, "prediction", p, &l, err);
		p->hard = l.cls;
		pw = l.width;
		ph = l.height;
		goto sizes;
	}
	st = mask_probe_bytes(m->data, m->len, "prediction", &pr, err);
	if (st != SEG_OK)
		return st;
	if (k == INP_PROBABILITY || k == INP_MASK)
		return seg_fail(err, SEG_EINVAL, "prediction kind '%s' is for binary requests; with \"classes\" send "
				"labels, probabilities or logits", inp_kind_name(k));
	if (k == INP_AUTO) {
		/* A 3-D uint8 array is quantised per-class probabilities; other integers are labels. */
		int quantised = pr.format == MASK_FMT_NPY && pr.npy.kind == 'u' && pr.npy.size == 1 && pr.npy.ndim == 3 &&
				pr.npy.shape[0] != 1 && pr.npy.shape[2] != 1;
		if (quantised)
			k = INP_PROBABILITIES;
		else if (pr.format == MASK_FMT_PNG || pr.npy.kind != 'f')
			k = INP_LABELS;
		else if (pr.npy.ndim == 3)
			k = INP_PROBABILITIES;
		else
			return seg_fail(err, SEG_EINVAL,
					"prediction has shape %s: with \"classes\" a prediction is a label map or "
					"per-class scores (C, H, W) or (H, W, C)", pr.npy.shape_text);
	}
	if (k == INP_LABELS) {
		seg_labels l = {0, 0, NULL};
		st = decode_classes(m, &pr, cl, max_pixels, "prediction", 0, &l, err);
		p->hard = l.cls;
		pw = l.width;
		ph = l.height;
		goto sizes;
	}
	if (pr.format != MASK_FMT_NPY)
		return seg_fail(err, SEG_EINVAL, "prediction of kind '%s' must be a .npy of shape (C, H, W) or (H, W, C)",
				inp_kind_name(k));
	seg_error inner = {SEG_OK, ""};
	st = npy_decode_scores(m->data, m->len, max_pixels, cl->count, m->channel_axis, k == INP_LOGITS, &p->scores,
			       &inner);
	if (st != SEG_OK)
		return strncmp(inner.msg, "prediction", 10) == 0 ? seg_fail(err, st, "%s", inner.msg)
								 : seg_fail(err, st, "prediction: %s", inner.msg);
	size_t n = (size_t)p->scores.width * (size_t)p->scores.height;
	p->hard = malloc(n * sizeof(*p->hard));
	if (p->hard == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory");
	mc_argmax(&p->scores, par, p->hard);
	pw = p->scores.width;
	ph = p->scores.height;
sizes:
	if (st == SEG_OK && (pw != tw || ph != th))
		return seg_fail(err, SEG_EINVAL, "prediction is %dx%d but target is %dx%d", pw, ph, tw, th);
	return st;
}

static seg_status target_kind_check(const inp_mask *t, const cls_table *cl, seg_error *err)
{
	if (cl == NULL && t->kind == INP_LABELS)
		return seg_fail(err, SEG_EINVAL, "target kind 'labels' needs \"classes\" (a multi-class request)");
	if (cl != NULL && (t->kind == INP_MASK || t->kind == INP_INSTANCES))
		return seg_fail(err, SEG_EINVAL,
				"with \"classes\" the target is a label map: its kind is labels, not %s",
				inp_kind_name(t->kind));
	return SEG_OK;
}

/* Target and prediction of a binary pair decoded side by side: task 0 the target, task 1 the prediction. */
typedef struct pair_job {
	const inp_mask *target, *pred;
	uint64_t max_pixels;
	inp_pair *out;
	seg_status st[2];
	seg_error err[2];
} pair_job;

static void pair_task(void *arg, size_t i)
{
	pair_job *j = arg;

	if (i == 0)
		j->st[0] = mask_decode_target(j->target->data, j->target->len, j->max_pixels, &j->out->target, &j->err[0]);
	else
		j->st[1] = binary_pred(j->pred, j->max_pixels, j->out, &j->err[1]);
}

seg_status inp_decode_pair(const inp_mask *target, const inp_mask *pred, const cls_table *classes,
			   uint64_t max_pixels, inp_pair *out, seg_error *err)
{
	return inp_decode_pair_par(target, pred, classes, max_pixels, NULL, out, err);
}

seg_status inp_decode_pair_par(const inp_mask *target, const inp_mask *pred, const cls_table *classes,
			       uint64_t max_pixels, const seg_par *par, inp_pair *out, seg_error *err)
{
	seg_status st;

	memset(out, 0, sizeof(*out));
	st = target_kind_check(target, classes, err);
	if (st != SEG_OK)
		return st;
	if (classes == NULL && par && par->width > 1 && !is_annot(target) && !is_annot(pred)) {
		/*
		 * Two lanes: the two decodes write apart (the target; the
		 * prediction and its notes), and the target's error comes first,
		 * as when they run one after the other.
		 */
		pair_job j = {target, pred, max_pixels, out, {SEG_OK, SEG_OK}, {{SEG_OK, ""}, {SEG_OK, ""}}};
		seg_par_for(par, 2, pair_task, &j);
		int k = j.st[0] != SEG_OK ? 0 : 1;
		st = j.st[k];
		if (st != SEG_OK && err)
			*err = j.err[k];
		if (st == SEG_OK)
			st = mask_check_sizes(&out->target, &out->pred, err);
	} else if (classes == NULL) {
		st = is_annot(target) ? annot_target(target, max_pixels, out, &out->target, err)
				      : mask_decode_target(target->data, target->len, max_pixels, &out->target, err);
		if (st == SEG_OK)
			st = binary_pred(pred, max_pixels, out, err);
		if (st == SEG_OK)
			st = mask_check_sizes(&out->target, &out->pred, err);
	} else {
		mask_probe pr;
		out->multi = 1;
		if (is_annot(target)) {
			st = annot_labels(target, classes, max_pixels, "target", out, &out->labels, err);
		} else {
			st = mask_probe_bytes(target->data, target->len, "target", &pr, err);
			if (st == SEG_OK)
				st = decode_classes(target, &pr, classes, max_pixels, "target", 1, &out->labels, err);
		}
		if (st == SEG_OK)
			st = multi_pred(pred, classes, max_pixels, out->labels.width, out->labels.height, par, out,
					err);
	}
	if (st != SEG_OK)
		inp_pair_release(out);
	return st;
}

/* A weight-map target from an annotation with classes: its objects are the instances, their categories the classes. */
static seg_status annot_instances_classes(const inp_mask *m, const cls_table *cl, uint64_t max_pixels, seg_target *out,
					  uint16_t **class_of, seg_error *err)
{
	annot_image a;
	seg_error inner = {SEG_OK, ""};
	seg_status st = read_annot(m, max_pixels, "target", NULL, &a, err);

	if (st != SEG_OK)
		return st;
	st = annot_classes(&a, cl, "target", class_of, err);
	if (st == SEG_OK && (st = annot_to_target(&a, out, &inner)) != SEG_OK)
		st = seg_fail(err, st, "target: %s", inner.msg);
	annot_image_release(&a);
	if (st != SEG_OK) {
		free(*class_of);
		*class_of = NULL;
	}
	return st;
}

seg_status inp_decode_target(const inp_mask *target, const cls_table *classes, uint64_t max_pixels,
			     seg_target *out, uint16_t **class_of, seg_error *err)
{
	seg_labels l = {0, 0, NULL};
	mask_probe pr;
	uint32_t count = 0;
	seg_status st;

	memset(out, 0, sizeof(*out));
	*class_of = NULL;
	st = target_kind_check(target, classes, err);
	if (st != SEG_OK)
		return st;
	if (classes == NULL)
		return is_annot(target) ? annot_target(target, max_pixels, NULL, out, err)
					: mask_decode_target(target->data, target->len, max_pixels, out, err);
	if (is_annot(target))
		return annot_instances_classes(target, classes, max_pixels, out, class_of, err);
	st = mask_probe_bytes(target->data, target->len, "target", &pr, err);
	if (st == SEG_OK)
		st = decode_classes(target, &pr, classes, max_pixels, "target", 1, &l, err);
	if (st != SEG_OK)
		return st;
	size_t n = (size_t)l.width * (size_t)l.height;
	uint16_t bg = classes->background >= 0 ? (uint16_t)classes->background : SEG_IGNORE;
	out->width = l.width;
	out->height = l.height;
	out->fg = malloc(n);
	out->labels = malloc(n * sizeof(*out->labels));
	if (out->fg == NULL || out->labels == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d target", l.width, l.height);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		out->fg[i] = l.cls[i] != bg && l.cls[i] != SEG_IGNORE;
	/* Instances: each class's connected components (8-connected, as the weight map's default). */
	st = label_components_classes(l.cls, bg, l.width, l.height, 8, out->labels, &count, err);
	if (st != SEG_OK)
		goto out;
	*class_of = l.cls;
	l.cls = NULL;
out:
	seg_labels_release(&l);
	if (st != SEG_OK)
		seg_target_release(out);
	return st;
}
