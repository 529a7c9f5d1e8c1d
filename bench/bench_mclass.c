/*
 * bench_mclass.c — single-threaded timings of multi-class evaluation.
 *
 *   bench_mclass [--quick] [--dir DIR]
 *
 * 1. Label maps, 2048×1024, 19 classes (a Cityscapes-like frame: bands of
 *    road, building and sky, with objects of the other classes; the
 *    prediction moves boundaries and adds and drops objects): every
 *    region metric per class with the confusion matrix; then per-class
 *    hausdorff95.
 * 2. Per-class float32 probabilities, 19×512×1024 (40 MB): cross_entropy
 *    + dice, beside one vectorised read of the same array (the floor: a
 *    sum of every value), also on two threads (the pass split as the
 *    daemon splits it when its pool is idle, wall time); lovasz_softmax
 *    on its own.
 * Every figure is the median of several runs on generated inputs (fixed
 * seed). With --dir the inputs are written there as .npy and the figures
 * as mclass.json, so bench/py_mclass.py can time NumPy and PyTorch on the
 * very same arrays.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mclass.h"
#include "core/mceval.h"
#include "core/spec.h"
#include "pool/par.h"

static uint64_t rng = 77;

static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) * 0x1.0p-53;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median seconds of reps runs of stmt after one warm-up. */
#define TIME_MEDIAN(reps, stmt)                                  \
	({                                                       \
		double t_[32];                                   \
		int r_ = (reps) < 32 ? (reps) : 32;              \
		stmt;                                            \
		for (int i_ = 0; i_ < r_; i_++) {                \
			double t0_ = now();                      \
			stmt;                                    \
			t_[i_] = now() - t0_;                    \
		}                                                \
		qsort(t_, (size_t)r_, sizeof(double), cmp_d);    \
		r_ % 2 ? t_[r_ / 2] : 0.5 * (t_[r_ / 2 - 1] + t_[r_ / 2]); \
	})

enum { C = 19 };

/* A street scene: sky, building, road bands, and objects of the other classes. */
static void make_scene(uint16_t *t, uint16_t *p, int w, int h)
{
	for (int y = 0; y < h; y++) {
		int band = y < h / 4 ? 10 : y < h / 2 ? 2 : 0;
		int shift = (int)(8 * sin(y * 0.01));
		for (int x = 0; x < w; x++) {
			t[(size_t)y * w + x] = (uint16_t)band;
			int pb = (y + shift) < h / 4 ? 10 : (y + shift) < h / 2 ? 2 : 0;
			p[(size_t)y * w + x] = (uint16_t)pb;
		}
	}
	for (int k = 0; k < 400; k++) {
		int cls = 1 + (int)(urand() * (C - 1));
		if (cls == 2 || cls == 10)
			cls = 13;
		int cx = (int)(urand() * w), cy = h / 3 + (int)(urand() * h * 2 / 3), r = 4 + (int)(urand() * 40);
		int dx = (int)(urand() * 9) - 4, dy = (int)(urand() * 9) - 4, drop = urand() < 0.1;
		int pcls = urand() < 0.15 ? 1 + (int)(urand() * (C - 1)) : cls;
		for (int y = cy - r; y <= cy + r; y++) {
			for (int x = cx - r; x <= cx + r; x++) {
				if (x < 0 || y < 0 || x >= w || y >= h || (x - cx) * (x - cx) + (y - cy) * (y - cy) > r * r)
					continue;
				t[(size_t)y * w + x] = (uint16_t)cls;
				int px = x + dx, py = y + dy;
				if (!drop && px >= 0 && py >= 0 && px < w && py < h)
					p[(size_t)py * w + px] = (uint16_t)pcls;
			}
		}
	}
	/* A void strip (Cityscapes' ego vehicle) that the ignore label removes. */
	for (int y = h - h / 16; y < h; y++)
		for (int x = 0; x < w; x++)
			t[(size_t)y * w + x] = SEG_IGNORE;
}

/* Softmax of noisy logits that favour the target's class. */
static void make_probs(const uint16_t *t, float *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double e[C], s = 0.0;
		int y = t[i] == SEG_IGNORE ? 0 : t[i];
		for (int c = 0; c < C; c++) {
			e[c] = exp(2.0 * urand() + (c == y ? 2.5 : 0.0));
			s += e[c];
		}
		for (int c = 0; c < C; c++)
			v[(size_t)c * n + i] = (float)(e[c] / s);
	}
}

/* The floor: one vectorised pass that reads every value (a sum in float lanes). */
static double __attribute__((noinline)) read_all(const float *v, size_t n)
{
	float sum = 0.0f;

#pragma omp simd reduction(+ : sum)
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	return (double)sum;
}

static void write_npy(const char *dir, const char *name, const char *descr, const void *data, size_t bytes,
		      const char *shape)
{
	char path[512], dict[160];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return;
	int n = snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
	size_t pad = (64 - (10 + (size_t)n + 1) % 64) % 64, hlen = (size_t)n + pad + 1;
	uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(hlen & 0xff), (uint8_t)(hlen >> 8)};
	fwrite(pre, 1, 10, f);
	fwrite(dict, 1, (size_t)n, f);
	for (size_t k = 0; k < pad; k++)
		fputc(' ', f);
	fputc('\n', f);
	fwrite(data, 1, bytes, f);
	fclose(f);
}

static spec parse(spec_kind kind, const char *text)
{
	spec s;
	seg_error err;
	if (spec_parse(text, kind, &s, &err) != SEG_OK) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	return s;
}

int main(int argc, char **argv)
{
	int quick = 0, reps;
	const char *dir = NULL;
	FILE *json = NULL;
	char names[C][8];
	const char *np[C];
	seg_error err;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = 1;
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
	}
	reps = quick ? 3 : 9;
	for (int c = 0; c < C; c++) {
		snprintf(names[c], sizeof(names[c]), "%d", c);
		np[c] = names[c];
	}
	if (dir) {
		char path[512];
		snprintf(path, sizeof(path), "%s/mclass.json", dir);
		json = fopen(path, "w");
		if (json)
			fputs("{", json);
	}

	/* ---- 1. label maps 2048x1024 ---- */
	int w = 2048, h = 1024;
	size_t n = (size_t)w * h;
	uint16_t *t = malloc(n * sizeof(*t)), *p = malloc(n * sizeof(*p));
	make_scene(t, p, w, h);
	seg_labels tl = {w, h, t};
	spec region[7] = {parse(SPEC_METRIC, "dice"),	     parse(SPEC_METRIC, "iou"),
			  parse(SPEC_METRIC, "precision"),   parse(SPEC_METRIC, "recall"),
			  parse(SPEC_METRIC, "specificity"), parse(SPEC_METRIC, "accuracy"),
			  parse(SPEC_METRIC, "pixel_accuracy")};
	spec hd = parse(SPEC_METRIC, "hausdorff95");
	mce_opts o = {C, -1, -1, NULL, MCE_MACRO, NULL, np};
	mce_result r;
	mce_result_init(&r, 7, C, &err);
	double t_region = TIME_MEDIAN(reps, mce_run(&tl, p, NULL, region, 7, &o, &r, NULL, &err));
	double miou = r.value[1];
	mce_result_release(&r);
	mce_result_init(&r, 1, C, &err);
	double t_hd = TIME_MEDIAN(quick ? 1 : 3, mce_run(&tl, p, NULL, &hd, 1, &o, &r, NULL, &err));
	double hd95 = r.value[0];
	mce_result_release(&r);
	printf("label maps 2048x1024, C=19 (1 thread)\n");
	printf("  7 region metrics per class + confusion  %8.2f ms   (goal <= 15 ms)  mIoU %.4f\n", t_region * 1e3, miou);
	printf("  hausdorff95 per class                   %8.2f ms   (goal <= 250 ms) mean %.4f\n", t_hd * 1e3, hd95);
	if (dir) {
		uint8_t *t8 = malloc(n), *p8 = malloc(n);
		for (size_t i = 0; i < n; i++) {
			t8[i] = t[i] == SEG_IGNORE ? 255 : (uint8_t)t[i];
			p8[i] = (uint8_t)p[i];
		}
		write_npy(dir, "mc_target.npy", "|u1", t8, n, "(1024, 2048)");
		write_npy(dir, "mc_pred.npy", "|u1", p8, n, "(1024, 2048)");
		free(t8);
		free(p8);
	}
	if (json)
		fprintf(json, "\"mc_region_s\": %.9g, \"mc_hd95_s\": %.9g, \"mc_miou\": %.17g, \"mc_hd95\": %.17g", t_region,
			t_hd, miou, hd95);

	/* ---- 2. probabilities 19x512x1024 ---- */
	int pw = 1024, ph = 512;
	size_t pn = (size_t)pw * ph;
	uint16_t *pt = malloc(pn * sizeof(*pt)), *pp = malloc(pn * sizeof(*pp)), *hard = malloc(pn * sizeof(*hard));
	float *v = malloc(pn * C * sizeof(float));
	make_scene(pt, pp, pw, ph);
	make_probs(pt, v, pn);
	seg_scores sc = {pw, ph, C, 0, v};
	seg_labels ptl = {pw, ph, pt};
	mc_argmax(&sc, NULL, hard);
	spec soft[2] = {parse(SPEC_LOSS, "cross_entropy"), parse(SPEC_LOSS, "dice")};
	spec lov = parse(SPEC_LOSS, "lovasz_softmax");
	volatile double sink = 0;
	double t_read = TIME_MEDIAN(reps, sink += read_all(v, pn * C));
	mce_result_init(&r, 2, C, &err);
	double t_soft = TIME_MEDIAN(reps, mce_run(&ptl, hard, &sc, soft, 2, &o, &r, NULL, &err));
	double ce = r.value[0], dl = r.value[1];
	par_exec *px = par_new(1, &err);
	seg_par par = par_handle(px);
	double t_soft2 = px ? TIME_MEDIAN(reps, mce_run(&ptl, hard, &sc, soft, 2, &o, &r, &par, &err)) : NAN;
	if (px && (r.value[0] != ce || r.value[1] != dl)) {
		fprintf(stderr, "bench_mclass: two threads gave other values (%.17g, %.17g)\n", r.value[0], r.value[1]);
		return 1;
	}
	par_free(px);
	mce_result_release(&r);
	mce_result_init(&r, 1, C, &err);
	double t_lov = TIME_MEDIAN(quick ? 1 : 3, mce_run(&ptl, hard, &sc, &lov, 1, &o, &r, NULL, &err));
	double lv = r.value[0];
	mce_result_release(&r);
	double t_argmax = TIME_MEDIAN(reps, mc_argmax(&sc, NULL, hard));
	printf("probabilities 19x512x1024 float32, 40 MB (1 thread)\n");
	printf("  one vectorised read of the array        %8.2f ms\n", t_read * 1e3);
	printf("  cross_entropy + dice                    %8.2f ms   %.2fx the read (goal <= 3x)  ce %.6f dice %.6f\n",
	       t_soft * 1e3, t_soft / t_read, ce, dl);
	printf("  cross_entropy + dice, 2 threads         %8.2f ms   (wall time, same values)\n", t_soft2 * 1e3);
	printf("  argmax (hard prediction)                %8.2f ms\n", t_argmax * 1e3);
	printf("  lovasz_softmax                          %8.2f ms   %.6f\n", t_lov * 1e3, lv);
	if (dir) {
		uint8_t *t8 = malloc(pn);
		for (size_t i = 0; i < pn; i++)
			t8[i] = pt[i] == SEG_IGNORE ? 255 : (uint8_t)pt[i];
		write_npy(dir, "mc_probs_target.npy", "|u1", t8, pn, "(512, 1024)");
		write_npy(dir, "mc_probs.npy", "<f4", v, pn * C * sizeof(float), "(19, 512, 1024)");
		free(t8);
	}
	if (json) {
		fprintf(json, ", \"mc_read_s\": %.9g, \"mc_soft_s\": %.9g, \"mc_soft2_s\": %.9g, \"mc_lovasz_s\": %.9g, "
			      "\"mc_ce\": %.17g, \"mc_dice\": %.17g, \"mc_lovasz\": %.17g}\n",
			t_read, t_soft, t_soft2, t_lov, ce, dl, lv);
		fclose(json);
	}
	(void)sink;
	free(t);
	free(p);
	free(pt);
	free(pp);
	free(hard);
	free(v);
	return 0;
}
