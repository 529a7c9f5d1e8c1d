/*
 * driver.c — the segloss side of `make bench-compare`: values and
 * single-threaded timings of the loss core on input files, for
 * bench/compare/compare.py to set beside NumPy/SciPy.
 *
 *   driver values TARGET PRED SPEC...         JSON: each spec's value (null + warning when undefined)
 *   driver time BUDGET TARGET PRED SPEC...    JSON: each spec's median time alone, and all together
 *   driver time-each BUDGET TARGET PRED SPEC...   the same without "all together"
 *   driver time-all BUDGET TARGET PRED SPEC...    only "all together"
 *   driver edt MASK WANT OUT.npy              writes the EDT (float64 .npy); WANT 0 = edt(fg), 1 = edt(~fg)
 *   driver edt-time BUDGET MASK WANT [THREADS]   JSON: median time; with THREADS > 1 the
 *                                             transform runs on that many lanes (seg_par from
 *                                             pool/par.c) and the clock is wall time
 *   driver wmap TARGET OUT.npy                writes the weight map (float32 .npy); JSON: instances, bands
 *   driver wmap-time BUDGET TARGET            JSON: median time
 *   driver wmap-rss TARGET                    JSON: peak resident memory of one weight map beyond its
 *                                             input and output, and the bound it should keep to
 *
 * TARGET is a .npy (bool/integer: binary mask or instance labels) or a
 * PNG; PRED a PNG (8-bit grey: p = v/255) or a float .npy; the format is
 * told by content, as everywhere in segloss. A SPEC is "loss:NAME[:k=v,...]"
 * or "metric:NAME[...]". Timings: one warm-up run, then as many runs as
 * fit in BUDGET seconds (at least 5, or 3 when one run takes over 0.5 s;
 * at most 101); the median is printed.
 * Each spec is timed in its own eval_run (no work shared with another
 * spec); "all" is one eval_run over every spec given, which shares the
 * fused pixel pass as a request for several losses does.
 */
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/mask.h"
#include "core/edt.h"
#include "core/eval.h"
#include "core/label.h"
#include "core/spec.h"
#include "core/wmap.h"
#include "pool/par.h"

#define MAX_PIXELS ((uint64_t)1 << 28)

#define MAX_SPECS 64

/*
 * CPU time of this (single-threaded) process, user + system: on an idle
 * machine the same as wall time, and not inflated by other work sharing
 * the cores.
 */
static int wall_clock; /* set by commands timing several threads: wall time then */

static double now(void)
{
	struct timespec ts;

	clock_gettime(wall_clock ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "driver: %s: %s\n", what, msg);
	exit(1);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		die(path, "cannot read");
	data = malloc((size_t)n + 1);
	if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n)
		die(path, "cannot read");
	fclose(f);
	*len = (size_t)n;
	return data;
}

static void load_target(const char *path, seg_target *t)
{
	seg_error err = {0};
	size_t len;
	uint8_t *data = read_file(path, &len);
	seg_status st = mask_decode_target(data, len, MAX_PIXELS, t, &err);

	free(data);
	if (st != SEG_OK)
		die(path, err.msg);
}

static void load_pred(const char *path, seg_pred *p)
{
	seg_error err = {0};
	size_t len;
	uint8_t *data = read_file(path, &len);
	seg_status st = mask_decode_pred(data, len, MAX_PIXELS, 0, p, &err);

	free(data);
	if (st != SEG_OK)
		die(path, err.msg);
}

/* "loss:focal:alpha=0.5" -> a spec; the key stays the text after the kind. */
static void parse_spec(const char *text, spec *s)
{
	seg_error err = {0};
	spec_kind kind;
	const char *rest;

	if (strncmp(text, "loss:", 5) == 0) {
		kind = SPEC_LOSS;
		rest = text + 5;
	} else if (strncmp(text, "metric:", 7) == 0) {
		kind = SPEC_METRIC;
		rest = text + 7;
	} else {
		die(text, "a spec starts with loss: or metric:");
	}
	if (spec_parse(rest, kind, s, &err) != SEG_OK)
		die(text, err.msg);
}

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

/* Median seconds of stmt over runs fitting in budget (one warm-up first). */
#define TIME_MEDIAN(budget, out_reps, stmt)                                   \
	({                                                                    \
		double w0_ = now();                                           \
		stmt;                                                         \
		double once_ = now() - w0_;                                   \
		int n_ = once_ > 0 ? (int)((budget) / once_) : 101;           \
		int min_ = once_ > 0.5 ? 3 : 5;                               \
		n_ = n_ < min_ ? min_ : n_ > 101 ? 101 : n_;                  \
		double t_[101];                                               \
		for (int i_ = 0; i_ < n_; i_++) {                             \
			double t0_ = now();                                   \
			stmt;                                                 \
			t_[i_] = now() - t0_;                                 \
		}                                                             \
		qsort(t_, (size_t)n_, sizeof(double), cmp_d);                 \
		*(out_reps) = n_;                                             \
		n_ % 2 ? t_[n_ / 2] : 0.5 * (t_[n_ / 2 - 1] + t_[n_ / 2]);    \
	})

static void check(seg_status st, const seg_error *err, const char *what)
{
	if (st != SEG_OK)
		die(what, err->msg);
}

static int cmd_values(int argc, char **argv)
{
	seg_target t = {0};
	seg_pred p = {0};
	spec s[MAX_SPECS];
	double v[MAX_SPECS];
	int n = argc - 2;
	eval_warnings *warn = calloc(1, sizeof(*warn));
	seg_error err = {0};

	if (n < 1 || n > MAX_SPECS)
		die("values", "usage: values TARGET PRED SPEC...");
	load_target(argv[0], &t);
	load_pred(argv[1], &p);
	for (int i = 0; i < n; i++)
		parse_spec(argv[2 + i], &s[i]);
	/* One spec per eval_run, as timed; the values are the same either way. */
	printf("{\"width\": %d, \"height\": %d, \"values\": {", t.width, t.height);
	for (int i = 0; i < n; i++) {
		check(eval_run(&t, &p, &s[i], 1, &v[i], warn, NULL, &err), &err, argv[2 + i]);
		printf("%s", i ? ", " : "");
		print_json_string(argv[2 + i]);
		if (isnan(v[i]))
			printf(": null");
		else
			printf(": %.17g", v[i]);
	}
	/* And all together, to check that sharing work changes nothing. */
	double *all = malloc(sizeof(double) * (size_t)n);
	check(eval_run(&t, &p, s, (size_t)n, all, warn, NULL, &err), &err, "all");
	printf("}, \"together\": {");
	for (int i = 0; i < n; i++) {
		printf("%s", i ? ", " : "");
		print_json_string(argv[2 + i]);
		if (isnan(all[i]))
			printf(": null");
		else
			printf(": %.17g", all[i]);
	}
	printf("}}\n");
	free(all);
	free(warn);
	seg_target_release(&t);
	seg_pred_release(&p);
	return 0;
}

static int cmd_time(int argc, char **argv, int together)
{
	seg_target t = {0};
	seg_pred p = {0};
	spec s[MAX_SPECS];
	double v[MAX_SPECS];
	int n = argc - 3, reps;
	double budget = atof(argv[0]);
	eval_warnings *warn = calloc(1, sizeof(*warn));

	if (n < 1 || n > MAX_SPECS)
		die("time", "usage: time BUDGET TARGET PRED SPEC...");
	load_target(argv[1], &t);
	load_pred(argv[2], &p);
	for (int i = 0; i < n; i++)
		parse_spec(argv[3 + i], &s[i]);
	printf("{\"times\": {");
	for (int i = 0; i < n && together < 2; i++) {
		double sec = TIME_MEDIAN(budget, &reps, eval_run(&t, &p, &s[i], 1, &v[i], warn, NULL, NULL));
		printf("%s", i ? ", " : "");
		print_json_string(argv[3 + i]);
		printf(": [%.9g, %d]", sec, reps);
		fflush(stdout);
	}
	if (together) {
		double sec = TIME_MEDIAN(budget, &reps, eval_run(&t, &p, s, (size_t)n, v, warn, NULL, NULL));
		printf("}, \"all\": [%.9g, %d]}\n", sec, reps);
	} else {
		printf("}}\n");
	}
	free(warn);
	seg_target_release(&t);
	seg_pred_release(&p);
	return 0;
}

/* A little-endian C-order .npy of h x w values (float64 when f64, else float32). */
static void write_npy(const char *path, const void *v, int w, int h, int f64)
{
	char hdr[128];
	FILE *f = fopen(path, "wb");
	int len = snprintf(hdr, sizeof(hdr), "{'descr': '<f%d', 'fortran_order': False, 'shape': (%d, %d), }",
			   f64 ? 8 : 4, h, w);
	int total = 10 + len + 1;
	int pad = (64 - total % 64) % 64;
	uint16_t hl = (uint16_t)(len + pad + 1);

	if (f == NULL)
		die(path, "cannot write");
	fwrite("\x93NUMPY\x01\x00", 1, 8, f);
	fputc(hl & 0xff, f);
	fputc(hl >> 8, f);
	fwrite(hdr, 1, (size_t)len, f);
	for (int i = 0; i < pad; i++)
		fputc(' ', f);
	fputc('\n', f);
	fwrite(v, f64 ? 8 : 4, (size_t)w * (size_t)h, f);
	if (fclose(f) != 0)
		die(path, "cannot write");
}

static int cmd_edt(int argc, char **argv, int timed)
{
	seg_target t = {0};
	seg_error err = {0};
	double budget = timed ? atof(argv[0]) : 0;
	const char *mask = argv[timed ? 1 : 0];
	int want = atoi(argv[timed ? 2 : 1]);
	int reps;

	int threads = timed && argc > 3 ? atoi(argv[3]) : 1;
	par_exec *px = threads > 1 ? par_new(threads - 1, &err) : NULL;
	seg_par par = par_handle(px);
	const seg_par *pp = px ? &par : NULL;

	if (threads > 1 && px == NULL)
		die("par", err.msg);
	wall_clock = threads > 1;
	load_target(mask, &t);
	double *out = malloc(sizeof(double) * (size_t)t.width * (size_t)t.height);
	if (!timed) {
		check(edt_dist(t.fg, t.width, t.height, want, NULL, out, NULL, &err), &err, "edt");
		write_npy(argv[2], out, t.width, t.height, 1);
		printf("{\"ok\": true}\n");
	} else {
		double sec = TIME_MEDIAN(budget, &reps, edt_dist(t.fg, t.width, t.height, want, NULL, out, pp, NULL));
		printf("{\"time\": [%.9g, %d], \"threads\": %d}\n", sec, reps, threads);
	}
	par_free(px);
	free(out);
	seg_target_release(&t);
	return 0;
}

/* The largest band (instance bounding box widened by the reach, clipped), in pixels. */
static size_t largest_band(const seg_target *t, const wmap_params *par, double reach)
{
	int W = t->width, H = t->height;
	size_t n = (size_t)W * (size_t)H, best = 0;
	uint32_t *inst = malloc(n * sizeof(uint32_t)), k = 0;
	seg_error err = {0};

	if (t->labels && par->instances != WMAP_INST_COMPONENTS)
		check(label_compact(t->labels, n, inst, &k, &err), &err, "label_compact");
	else
		check(label_components(t->fg, W, H, par->connectivity, inst, &k, &err), &err, "label");
	int *bx = malloc(4 * sizeof(int) * ((size_t)k + 1));
	for (uint32_t i = 0; i <= k; i++) {
		bx[4 * i] = W;
		bx[4 * i + 1] = H;
		bx[4 * i + 2] = -1;
		bx[4 * i + 3] = -1;
	}
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			uint32_t l = inst[(size_t)y * W + x];
			int *b = bx + 4 * l;
			if (l == 0)
				continue;
			if (x < b[0])
				b[0] = x;
			if (y < b[1])
				b[1] = y;
			if (x > b[2])
				b[2] = x;
			if (y > b[3])
				b[3] = y;
		}
	int r = (int)ceil(reach);
	for (uint32_t i = 1; i <= k; i++) {
		int *b = bx + 4 * i;
		int x0 = b[0] - r < 0 ? 0 : b[0] - r, y0 = b[1] - r < 0 ? 0 : b[1] - r;
		int x1 = b[2] + r >= W ? W - 1 : b[2] + r, y1 = b[3] + r >= H ? H - 1 : b[3] + r;
		size_t a = (size_t)(x1 - x0 + 1) * (size_t)(y1 - y0 + 1);
		if (a > best)
			best = a;
	}
	free(bx);
	free(inst);
	return best;
}

static long status_kb(const char *field)
{
	char line[256];
	long v = -1;
	size_t fl = strlen(field);
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':')
			v = atol(line + fl + 1);
	fclose(f);
	return v;
}

static int cmd_wmap(int argc, char **argv, int mode)
{
	seg_target t = {0};
	seg_error err = {0};
	wmap_params par;
	wmap_info info = {0};
	int reps;

	wmap_params_default(&par);
	load_target(argv[mode == 1 ? 1 : 0], &t);
	size_t n = (size_t)t.width * (size_t)t.height;
	float *w = malloc(n * sizeof(float));
	if (mode == 0) { /* values */
		check(wmap_compute(&t, &par, w, &info, &err), &err, "wmap");
		write_npy(argv[1], w, t.width, t.height, 0);
		printf("{\"instances\": %u, \"reach\": %.9g, \"band_pixels\": %zu, \"band_max\": %zu}\n",
		       info.instances, info.reach, info.band_pixels, largest_band(&t, &par, info.reach));
	} else if (mode == 1) { /* time */
		double sec = TIME_MEDIAN(atof(argv[0]), &reps, wmap_compute(&t, &par, w, NULL, NULL));
		printf("{\"time\": [%.9g, %d]}\n", sec, reps);
	} else { /* peak memory beyond the input and the output map */
		/* Touch the output first (not memset 0: the compiler may turn malloc + memset 0 into calloc). */
		for (size_t i = 0; i < n; i++)
			w[i] = 1.0f;
		/*
		 * One run first, so that code pages are in before the peak is reset;
		 * a fixed mmap threshold makes every large block go back to the
		 * system on free (glibc would otherwise raise the threshold and keep
		 * the warm-up's blocks resident in the heap).
		 */
		mallopt(M_MMAP_THRESHOLD, 128 * 1024);
		mallopt(M_TRIM_THRESHOLD, 128 * 1024);
		check(wmap_compute(&t, &par, w, &info, &err), &err, "wmap");
		FILE *f = fopen("/proc/self/clear_refs", "w");
		if (f == NULL || fputs("5", f) < 0 || fclose(f) != 0)
			die("/proc/self/clear_refs", "cannot reset the peak RSS");
		long base = status_kb("VmRSS");
		check(wmap_compute(&t, &par, w, &info, &err), &err, "wmap");
		long peak = status_kb("VmHWM");
		size_t band_max = largest_band(&t, &par, info.reach);
		printf("{\"pixels\": %zu, \"width\": %d, \"rss_base_kb\": %ld, \"rss_peak_kb\": %ld, "
		       "\"extra_bytes\": %ld, \"band_max\": %zu, \"instances\": %u}\n",
		       n, t.width, base, peak, (peak - base) * 1024, band_max, info.instances);
	}
	free(w);
	seg_target_release(&t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "values") == 0)
		return cmd_values(argc - 2, argv + 2);
	if (argc >= 6 && strcmp(argv[1], "time") == 0)
		return cmd_time(argc - 2, argv + 2, 1);
	if (argc >= 6 && strcmp(argv[1], "time-each") == 0)
		return cmd_time(argc - 2, argv + 2, 0);
	if (argc >= 6 && strcmp(argv[1], "time-all") == 0)
		return cmd_time(argc - 2, argv + 2, 2);
	if (argc == 5 && strcmp(argv[1], "edt") == 0)
		return cmd_edt(argc - 2, argv + 2, 0);
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "edt-time") == 0)
		return cmd_edt(argc - 2, argv + 2, 1);
	if (argc == 4 && strcmp(argv[1], "wmap") == 0)
		return cmd_wmap(argc - 2, argv + 2, 0);
	if (argc == 4 && strcmp(argv[1], "wmap-time") == 0)
		return cmd_wmap(argc - 2, argv + 2, 1);
	if (argc == 3 && strcmp(argv[1], "wmap-rss") == 0)
		return cmd_wmap(argc - 2, argv + 2, 2);
	fprintf(stderr, "usage: see the comment at the top of bench/compare/driver.c\n");
	return 2;
}
