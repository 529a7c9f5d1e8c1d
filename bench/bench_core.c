/*
 * bench_core.c — single-threaded timings of the loss core and codecs.
 *
 *   bench_core [--quick] [--dir DIR]
 *
 * Prints, for 512² and 1024² (4096² for the distance work): each loss's
 * time, all per-pixel losses together, the EDT in Mpx/s, the weight map
 * at K = 10, 100 and 1,000 instances, the surface metrics, PNG decode.
 * Every figure is the median of several runs on generated inputs (fixed
 * seed). With --dir, the inputs are written there as .npy and the
 * figures as results.json, so bench/py_compare.py can time SciPy on the
 * very same masks and print the ratios side by side.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "codec/buf.h"
#include "codec/coco.h"
#include "codec/cvat.h"
#include "codec/lsbrush.h"
#include "codec/npy.h"
#include "codec/pngio.h"
#include "core/edt.h"
#include "core/eval.h"
#include "core/metric.h"
#include "core/spec.h"
#include "core/wmap.h"

static uint64_t rng = 2024;

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

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Times fn(arg) reps times (after one warm-up) and returns the median in seconds. */
#define TIME_MEDIAN(reps, stmt)                               \
	({                                                    \
		double t_[64];                                \
		int r_ = (reps) < 64 ? (reps) : 64;           \
		stmt;                                         \
		for (int i_ = 0; i_ < r_; i_++) {             \
			double t0_ = now();                   \
			stmt;                                 \
			t_[i_] = now() - t0_;                 \
		}                                             \
		median(t_, r_);                               \
	})

static FILE *results;
static int first_result = 1;

static void record(const char *key, double seconds)
{
	if (results == NULL)
		return;
	fprintf(results, "%s\n  \"%s\": %.9g", first_result ? "" : ",", key, seconds);
	first_result = 0;
}

/*
 * Non-touching discs: K instances of radius in [rmin, rmax], at least two
 * pixels apart, as labels 1..K (touching = 0) or merged into one value.
 */
static int make_discs(int w, int h, int k, double rmin, double rmax, uint32_t *lab, uint8_t *fg)
{
	int placed = 0;

	memset(lab, 0, sizeof(uint32_t) * (size_t)w * h);
	for (int tries = 0; placed < k && tries < k * 200; tries++) {
		double r = rmin + urand() * (rmax - rmin);
		double cx = r + 1 + urand() * (w - 2 * r - 2), cy = r + 1 + urand() * (h - 2 * r - 2);
		int x0 = (int)floor(cx - r - 2), x1 = (int)ceil(cx + r + 2);
		int y0 = (int)floor(cy - r - 2), y1 = (int)ceil(cy + r + 2);
		int clear = 1;
		for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < h && clear; y++)
			for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < w; x++)
				if (lab[(size_t)y * w + x]) {
					clear = 0;
					break;
				}
		if (!clear)
			continue;
		placed++;
		for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < h; y++)
			for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < w; x++)
				if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
					lab[(size_t)y * w + x] = (uint32_t)placed;
	}
	for (size_t i = 0; i < (size_t)w * h; i++)
		fg[i] = lab[i] != 0;
	return placed;
}

/* 8-bit soft prediction of a target: foreground mostly high, background mostly low. */
static void make_pred(const uint8_t *fg, size_t n, float *p)
{
	for (size_t i = 0; i < n; i++) {
		double u = urand();
		double v = fg[i] ? 0.35 + 0.65 * u : 0.6 * u * u;
		p[i] = (float)(round(v * 255.0) / 255.0);
	}
}

static void write_npy_u8(const char *dir, const char *name, const uint8_t *m, int w, int h)
{
	char path[512];
	float *f;
	buf b;

	if (dir == NULL)
		return;
	f = malloc(sizeof(float) * (size_t)w * h);
	for (size_t i = 0; i < (size_t)w * h; i++)
		f[i] = m[i];
	buf_init(&b, 0);
	if (npy_encode_f32(f, w, h, &b, NULL) == SEG_OK) {
		snprintf(path, sizeof(path), "%s/%s.npy", dir, name);
		FILE *out = fopen(path, "wb");
		if (out) {
			fwrite(b.data, 1, b.len, out);
			fclose(out);
		}
	}
	buf_release(&b);
	free(f);
}

static void bench_losses(int side, int reps)
{
	static const char *const names[] = {"bce", "weighted_bce", "balanced_bce", "focal", "dice", "jaccard",
					    "tversky", "focal_tversky", "log_cosh_dice", "sensitivity_specificity",
					    "combo", "exp_log", "generalized_dice", "hausdorff_dt", "boundary",
					    "shape_aware"};
	enum { NL = sizeof(names) / sizeof(names[0]) };
	size_t n = (size_t)side * side;
	uint32_t *lab = malloc(n * sizeof(uint32_t));
	uint8_t *fg = malloc(n);
	float *p = malloc(n * sizeof(float));
	seg_target t = {side, side, fg, NULL};
	seg_pred pr = {side, side, p};
	spec s[NL];
	double v[NL];
	eval_warnings *warn = malloc(sizeof(*warn));
	char key[96];

	make_discs(side, side, 40, side / 40.0, side / 16.0, lab, fg);
	make_pred(fg, n, p);
	printf("\nlosses at %dx%d (median of %d, ms)\n", side, side, reps);
	for (int i = 0; i < NL; i++) {
		spec_init(&s[i], SPEC_LOSS, names[i], NULL);
		double sec = TIME_MEDIAN(reps, eval_run(&t, &pr, &s[i], 1, &v[i], warn, NULL, NULL));
		printf("  %-26s %9.3f\n", names[i], sec * 1e3);
		snprintf(key, sizeof(key), "loss.%s.%d", names[i], side);
		record(key, sec);
	}
	/* The per-pixel losses together: one fused pass plus the few that need their own. */
	double sec = TIME_MEDIAN(reps, eval_run(&t, &pr, s, 13, v, warn, NULL, NULL));
	printf("  %-26s %9.3f\n", "all 13 per-pixel together", sec * 1e3);
	snprintf(key, sizeof(key), "loss.per_pixel_all.%d", side);
	record(key, sec);
	free(warn);
	free(lab);
	free(fg);
	free(p);
}

static void bench_edt(int side, int reps, const char *dir)
{
	size_t n = (size_t)side * side;
	uint32_t *lab = malloc(n * sizeof(uint32_t));
	uint8_t *fg = malloc(n);
	double *out = malloc(n * sizeof(double));
	char key[64], name[64];

	make_discs(side, side, 100, side / 64.0, side / 24.0, lab, fg);
	/* Distances inside the discs to the background, as scipy.ndimage.distance_transform_edt(fg). */
	double sec = TIME_MEDIAN(reps, edt_dist(fg, side, side, 0, NULL, out, NULL, NULL));
	/* Also the complement: distances of background to the discs (most pixels are far). */
	double sec2 = TIME_MEDIAN(reps, edt_dist(fg, side, side, 1, NULL, out, NULL, NULL));
	printf("  edt %4dx%-4d  fg->bg %8.2f ms %7.1f Mpx/s   bg->fg %8.2f ms %7.1f Mpx/s\n", side, side,
	       sec * 1e3, n / sec / 1e6, sec2 * 1e3, n / sec2 / 1e6);
	snprintf(key, sizeof(key), "edt.%d", side);
	record(key, sec);
	snprintf(key, sizeof(key), "edt_bg.%d", side);
	record(key, sec2);
	snprintf(name, sizeof(name), "edt_%d", side);
	write_npy_u8(dir, name, fg, side, side);
	free(lab);
	free(fg);
	free(out);
}

static void bench_wmap(int side, int k, int reps, const char *dir)
{
	size_t n = (size_t)side * side;
	uint32_t *lab = malloc(n * sizeof(uint32_t));
	uint8_t *fg = malloc(n);
	float *w = malloc(n * sizeof(float));
	seg_target t = {side, side, fg, NULL};
	wmap_params par;
	wmap_info info = {0};
	char key[64], name[64];
	double area = (double)side * side * 0.25 / k; /* a quarter of the image is foreground */
	double r = sqrt(area / M_PI);
	int placed = make_discs(side, side, k, r * 0.7, r * 1.3, lab, fg);

	wmap_params_default(&par);
	double sec = TIME_MEDIAN(reps, wmap_compute(&t, &par, w, &info, NULL));
	printf("  weight map %4dx%-4d K=%-5d (placed %d) %9.2f ms   bands %.1f Mpx\n", side, side, k, placed,
	       sec * 1e3, info.band_pixels / 1e6);
	snprintf(key, sizeof(key), "wmap.%d.%d", side, k);
	record(key, sec);
	snprintf(name, sizeof(name), "wmap_%d_%d", side, k);
	write_npy_u8(dir, name, fg, side, side);
	free(lab);
	free(fg);
	free(w);
}

static void bench_surface(int side, int reps, const char *dir)
{
	size_t n = (size_t)side * side;
	uint32_t *lab = malloc(n * sizeof(uint32_t));
	uint8_t *fg = malloc(n), *pm = malloc(n);
	float *p = malloc(n * sizeof(float));
	seg_target t = {side, side, fg, NULL};
	seg_pred pr = {side, side, p};
	spec s[4];
	double v[4];
	eval_warnings *warn = malloc(sizeof(*warn));
	char key[64], name[64];

	make_discs(side, side, 60, side / 50.0, side / 20.0, lab, fg);
	make_pred(fg, n, p);
	spec_init(&s[0], SPEC_METRIC, "hausdorff95", NULL);
	spec_init(&s[1], SPEC_METRIC, "hausdorff", NULL);
	spec_init(&s[2], SPEC_METRIC, "assd", NULL);
	spec_init(&s[3], SPEC_METRIC, "surface_dice", NULL);
	double sec = TIME_MEDIAN(reps, eval_run(&t, &pr, s, 1, v, warn, NULL, NULL));
	double all = TIME_MEDIAN(reps, eval_run(&t, &pr, s, 4, v, warn, NULL, NULL));
	printf("  hausdorff95 %4dx%-4d %8.2f ms   all four surface metrics %8.2f ms\n", side, side, sec * 1e3,
	       all * 1e3);
	snprintf(key, sizeof(key), "hd95.%d", side);
	record(key, sec);
	if (dir) {
		for (size_t i = 0; i < n; i++)
			pm[i] = p[i] >= 0.5f;
		snprintf(name, sizeof(name), "hd95_%d_target", side);
		write_npy_u8(dir, name, fg, side, side);
		snprintf(name, sizeof(name), "hd95_%d_pred", side);
		write_npy_u8(dir, name, pm, side, side);
	}
	free(warn);
	free(lab);
	free(fg);
	free(pm);
	free(p);
}

static void bench_png(int side, int reps)
{
	size_t n = (size_t)side * side;
	uint32_t *lab = malloc(n * sizeof(uint32_t));
	uint8_t *fg = malloc(n), *g8 = malloc(n);
	float *p = malloc(n * sizeof(float));
	buf bin, soft;
	seg_target t = {0};
	seg_pred pr = {0};
	char key[64];

	make_discs(side, side, 40, side / 40.0, side / 16.0, lab, fg);
	make_pred(fg, n, p);
	for (size_t i = 0; i < n; i++)
		g8[i] = fg[i] ? 255 : 0;
	buf_init(&bin, 0);
	buf_init(&soft, 0);
	pngio_encode_gray(g8, side, side, 8, &bin, NULL);
	for (size_t i = 0; i < n; i++)
		g8[i] = (uint8_t)lrintf(p[i] * 255.0f);
	pngio_encode_gray(g8, side, side, 8, &soft, NULL);
	double a = TIME_MEDIAN(reps, (pngio_decode_target(bin.data, bin.len, 1u << 30, &t, NULL), seg_target_release(&t)));
	double b = TIME_MEDIAN(reps, (pngio_decode_pred(soft.data, soft.len, 1u << 30, &pr, NULL), seg_pred_release(&pr)));
	printf("  png decode %4dx%-4d binary target %7.2f ms (%zu bytes)   8-bit prediction %7.2f ms (%zu bytes)\n",
	       side, side, a * 1e3, bin.len, b * 1e3, soft.len);
	snprintf(key, sizeof(key), "png_target.%d", side);
	record(key, a);
	snprintf(key, sizeof(key), "png_pred.%d", side);
	record(key, b);
	buf_release(&bin);
	buf_release(&soft);
	free(lab);
	free(fg);
	free(g8);
	free(p);
}

static void span_ones(void *ctx, size_t start, size_t step, size_t len)
{
	uint8_t *m = (uint8_t *)ctx + start;

	for (size_t k = 0; k < len; k++, m += step)
		*m = 1;
}

/*
 * Annotation-tool masks at side x side (40 discs): each format's encoded
 * form decoded to a mask, and polygons rasterised (goals: 1 ms per mask,
 * 2 ms for 100 polygons of 100 points).
 */
static void bench_formats(int side, int reps)
{
	size_t n = (size_t)side * side, nc = 0, np = 0;
	uint32_t *lab = malloc(n * sizeof(uint32_t)), *counts = NULL, *parsed = NULL;
	uint8_t *fg = malloc(n), *m = malloc(n), *alpha = malloc(n);
	double *points = NULL, *xy = malloc(100 * 200 * sizeof(double));
	char *str = NULL, key[64];
	size_t slen = 0, pn = 0;
	cvat_box box = {0, 0, side - 1, side - 1};
	buf ls;
	int ok = 1;

	make_discs(side, side, 40, side / 40.0, side / 16.0, lab, fg);
	for (size_t i = 0; i < n; i++)
		alpha[i] = fg[i] ? 255 : 0;
	buf_init(&ls, 0);
	ok &= coco_encode(fg, side, side, &counts, &nc, NULL) == SEG_OK;
	ok &= coco_to_string(counts, nc, &str, &slen, NULL) == SEG_OK;
	ok &= lsb_encode_alpha(alpha, n, &ls, NULL) == SEG_OK;
	ok &= cvat_encode(fg, side, side, &box, &points, &np, NULL) == SEG_OK;
	if (!ok) {
		printf("  (formats: encoding the test mask failed)\n");
		goto out;
	}
	double t_str = TIME_MEDIAN(reps, (coco_from_string(str, slen, &parsed, &pn, NULL),
					  coco_decode(parsed, pn, side, side, m, NULL), free(parsed)));
	double t_cnt = TIME_MEDIAN(reps, coco_decode(counts, nc, side, side, m, NULL));
	double t_ls = TIME_MEDIAN(reps, lsb_decode_mask(ls.data, ls.len, side, side, LSB_DEFAULT_THRESHOLD, m, NULL, NULL));
	double t_cvat = TIME_MEDIAN(reps, cvat_decode(points, np, side, side, m, NULL));
	printf("  %dx%d mask (40 discs) to a mask:  COCO string %6.3f ms (%zu chars)   COCO counts %6.3f ms (%zu)\n",
	       side, side, t_str * 1e3, slen, t_cnt * 1e3, nc);
	printf("  %*s  Label Studio %6.3f ms (%zu bytes)   CVAT points %6.3f ms (%zu)\n", (int)strlen("    x mask (40 discs) to a mask:") + 6, "",
	       t_ls * 1e3, ls.len, t_cvat * 1e3, np);
	snprintf(key, sizeof(key), "coco_string.%d", side);
	record(key, t_str);
	snprintf(key, sizeof(key), "coco_counts.%d", side);
	record(key, t_cnt);
	snprintf(key, sizeof(key), "labelstudio.%d", side);
	record(key, t_ls);
	snprintf(key, sizeof(key), "cvat.%d", side);
	record(key, t_cvat);

	/*
	 * 100 polygons of 100 points anywhere in the image: outlines of blobs of radius 20..60 px
	 * with a wavy edge (like traced objects), then the same with every point's radius drawn
	 * anew (jagged stars, whose boundaries are five times longer)
	 */
	for (int jagged = 0; jagged < 2; jagged++) {
		uint64_t area = 0;
		for (int p = 0; p < 100; p++) {
			double cx = 60 + urand() * (side - 120), cy = 60 + urand() * (side - 120);
			double r0 = 20 + urand() * 40, phase = urand() * 2 * M_PI;
			for (int k = 0; k < 100; k++) {
				double a = 2 * M_PI * k / 100;
				double r = jagged ? 20 + urand() * 40 : r0 * (1 + 0.2 * sin(3 * a + phase) + 0.05 * urand());
				xy[p * 200 + 2 * k] = cx + r * cos(a);
				xy[p * 200 + 2 * k + 1] = cy + r * sin(a);
			}
		}
		double t_poly = TIME_MEDIAN(reps, ({
			uint64_t budget = coco_poly_budget(side, side);
			memset(m, 0, n);
			for (int p = 0; p < 100; p++) {
				uint32_t *pc = NULL;
				size_t pcn = 0;
				if (coco_poly_to_counts(xy + p * 200, 200, side, side, 1000, &budget, &pc, &pcn, NULL) ==
				    SEG_OK)
					coco_spans(pc, pcn, side, side, span_ones, m, NULL);
				free(pc);
			}
		}));
		for (size_t i = 0; i < n; i++)
			area += m[i];
		printf("  100 %s polygons of 100 points rasterised into a %dx%d mask: %6.3f ms (%.1f%% covered)\n",
		       jagged ? "jagged" : "traced", side, side, t_poly * 1e3, 100.0 * (double)area / (double)n);
		snprintf(key, sizeof(key), "polygons_100x100%s.%d", jagged ? "_jagged" : "", side);
		record(key, t_poly);
	}
out:
	buf_release(&ls);
	free(counts);
	free(str);
	free(points);
	free(xy);
	free(lab);
	free(fg);
	free(m);
	free(alpha);
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	int quick = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = 1;
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else {
			fprintf(stderr, "usage: bench_core [--quick] [--dir DIR]\n");
			return 2;
		}
	}
	if (dir) {
		char path[512];
		mkdir(dir, 0755);
		snprintf(path, sizeof(path), "%s/results.json", dir);
		results = fopen(path, "w");
		if (results)
			fputs("{", results);
	}
	int reps = quick ? 3 : 9;
	printf("segloss core benchmark (single thread, median of %d runs)\n", reps);
	bench_losses(512, reps);
	bench_losses(1024, reps);
	printf("\ndistance transform\n");
	bench_edt(512, reps, dir);
	bench_edt(1024, reps, dir);
	bench_edt(4096, quick ? 1 : 3, dir);
	printf("\nU-Net weight map (w0 10, sigma 5, balanced, 8-connected)\n");
	bench_wmap(1024, 10, reps, dir);
	bench_wmap(1024, 100, reps, dir);
	bench_wmap(1024, 1000, reps, dir);
	bench_wmap(4096, 1000, quick ? 1 : 3, dir);
	printf("\nsurface metrics\n");
	bench_surface(512, reps, dir);
	bench_surface(1024, reps, dir);
	bench_surface(4096, quick ? 1 : 3, dir);
	printf("\ncodecs\n");
	bench_png(512, reps);
	bench_png(1024, reps);
	printf("\nannotation-tool masks\n");
	bench_formats(1024, reps);
	if (results) {
		fputs("\n}\n", results);
		fclose(results);
	}
	return 0;
}
