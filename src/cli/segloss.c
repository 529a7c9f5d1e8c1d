/*
 * segloss.c — the command-line tool: losses, metrics and weight maps on
 * local files.
 *
 *   segloss eval --target T --prediction P [--loss SPEC]... [--metric SPEC]...
 *   segloss weight-map --target T [--w0 W] ... -o OUT.npy|OUT.png
 *   segloss list
 *
 * main parses the command, reads the files (capped), decodes them through
 * the codec (format told by content), runs the core and prints one JSON
 * object. Any failure prints one line "segloss: <message>" on stderr,
 * nothing on stdout, and exits 1 (2 for usage errors).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "codec/buf.h"
#include "codec/mask.h"
#include "codec/npy.h"
#include "codec/pngio.h"
#include "core/eval.h"
#include "core/spec.h"
#include "core/wmap.h"
#include "pool/par.h"
#include "wire/wire.h"

#define EXIT_USAGE 2
#define MAX_SPECS 64
#define DEFAULT_MAX_PIXELS (64ull * 1024 * 1024)
#define MAX_FILE_BYTES (2ull * 1024 * 1024 * 1024)

static const char usage_text[] =
	"usage: segloss eval --target T --prediction P [--loss SPEC]... [--metric SPEC]...\n"
	"                    [--logits] [--max-pixels N] [--pretty]\n"
	"       segloss weight-map --target T -o OUT.npy|OUT.png [--w0 W] [--sigma S]\n"
	"                    [--class-weights balanced|none|BG,FG] [--instances auto|labels|components]\n"
	"                    [--connectivity 8|4] [--max-pixels N]\n"
	"       segloss list [--pretty]\n"
	"\n"
	"Files are PNG or .npy, told by content. SPEC is NAME or NAME:key=value,key=value\n"
	"(as=ALIAS renames the result; lists are written [a,b]). With no --loss and no\n"
	"--metric, eval computes the losses bce, weighted_bce, dice, shape_aware and the\n"
	"metrics dice, iou. `segloss list` prints every loss, metric and parameter.\n";

static int fail(const seg_error *err)
{
	fprintf(stderr, "segloss: %s\n", err->msg[0] ? err->msg : seg_strerror(err->status));
	return EXIT_FAILURE;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "segloss: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see segloss --help)\n");
	return EXIT_USAGE;
}

/* Reads path into *out (caller frees with free()), at most MAX_FILE_BYTES. */
static seg_status read_file(const char *path, uint8_t **out, size_t *len, seg_error *err)
{
	FILE *f = NULL;
	buf b;
	seg_status st = SEG_OK;
	uint8_t chunk[65536];

	*out = NULL;
	*len = 0;
	buf_init(&b, MAX_FILE_BYTES);
	f = fopen(path, "rb");
	if (f == NULL) {
		st = seg_fail(err, SEG_EIO, "cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		size_t n = fread(chunk, 1, sizeof(chunk), f);
		if (n > 0) {
			st = buf_append(&b, chunk, n);
			if (st != SEG_OK) {
				seg_fail(err, st, "'%s' is larger than %llu bytes", path,
					 (unsigned long long)MAX_FILE_BYTES);
				goto out;
			}
		}
		if (n < sizeof(chunk)) {
			if (ferror(f)) {
				st = seg_fail(err, SEG_EIO, "cannot read '%s': %s", path, strerror(errno));
				goto out;
			}
			break;
		}
	}
	*out = buf_detach(&b, len);
out:
	buf_release(&b);
	if (f)
		fclose(f);
	return st;
}

static seg_status write_file(const char *path, const void *data, size_t n, seg_error *err)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return seg_fail(err, SEG_EIO, "cannot create '%s': %s", path, strerror(errno));
	ok = fwrite(data, 1, n, f) == n;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok)
		return seg_fail(err, SEG_EIO, "cannot write '%s': %s", path, strerror(errno));
	return SEG_OK;
}

static seg_status load_target(const char *path, uint64_t max_px, seg_target *t, seg_error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	seg_status st = read_file(path, &data, &len, err);

	if (st == SEG_OK)
		st = mask_decode_target(data, len, max_px, t, err);
	free(data);
	return st;
}

static seg_status load_pred(const char *path, uint64_t max_px, int logits, seg_pred *p, seg_error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	seg_status st = read_file(path, &data, &len, err);

	if (st == SEG_OK)
		st = mask_decode_pred(data, len, max_px, logits, p, err);
	free(data);
	return st;
}

static int parse_max_pixels(const char *arg, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || v == 0)
		return -1;
	*out = v;
	return 0;
}

/* Prints obj to stdout, compact or indented. */
static int print_json(cJSON *obj, int pretty)
{
	char *text = pretty ? cJSON_Print(obj) : cJSON_PrintUnformatted(obj);

	if (text == NULL) {
		fprintf(stderr, "segloss: out of memory\n");
		return EXIT_FAILURE;
	}
	puts(text);
	cJSON_free(text);
	return EXIT_SUCCESS;
}

static int cmd_eval(int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},  {"prediction", required_argument, NULL, 'p'},
		{"loss", required_argument, NULL, 'l'},    {"metric", required_argument, NULL, 'm'},
		{"logits", no_argument, NULL, 'g'},        {"max-pixels", required_argument, NULL, 'x'},
		{"pretty", no_argument, NULL, 'P'},        {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *target = NULL, *pred = NULL;
	int logits = 0, pretty = 0, c;
	uint64_t max_px = DEFAULT_MAX_PIXELS;
	spec specs[MAX_SPECS];
	double values[MAX_SPECS];
	size_t n = 0;
	seg_target t = {0};
	seg_pred p = {0};
	seg_error err = {0};
	eval_warnings *warn = NULL;
	cJSON *out = NULL;
	par_exec *px = NULL;
	int rc = EXIT_FAILURE;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			target = optarg;
			break;
		case 'p':
			pred = optarg;
			break;
		case 'l':
		case 'm':
			if (n == MAX_SPECS)
				return usage_error("at most %d losses and metrics", MAX_SPECS);
			if (spec_parse(optarg, c == 'l' ? SPEC_LOSS : SPEC_METRIC, &specs[n], &err) != SEG_OK)
				return fail(&err);
			n++;
			break;
		case 'g':
			logits = 1;
			break;
		case 'x':
			if (parse_max_pixels(optarg, &max_px))
				return usage_error("--max-pixels needs a positive integer, got '%s'", optarg);
			break;
		case 'P':
			pretty = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		default:
			return usage_error("%s", "bad option for eval");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (target == NULL || pred == NULL)
		return usage_error("%s", "eval needs --target and --prediction");
	if (n == 0)
		n = spec_defaults(specs, MAX_SPECS);
	if (spec_check_unique(specs, n, &err) != SEG_OK)
		return fail(&err);

	warn = malloc(sizeof(*warn));
	if (warn == NULL) {
		seg_fail(&err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	px = par_new(cores > 1 ? (int)cores - 1 : 0, NULL);
	seg_par par = par_handle(px);
	if (load_target(target, max_px, &t, &err) != SEG_OK || load_pred(pred, max_px, logits, &p, &err) != SEG_OK ||
	    mask_check_sizes(&t, &p, &err) != SEG_OK || eval_run(&t, &p, specs, n, values, warn, &par, &err) != SEG_OK)
		goto out;
	out = cJSON_CreateObject();
	if (out == NULL || !cJSON_AddNumberToObject(out, "width", t.width) ||
	    !cJSON_AddNumberToObject(out, "height", t.height) ||
	    wire_add_results(out, specs, values, n, warn) != SEG_OK) {
		seg_fail(&err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	rc = print_json(out, pretty);
out:
	if (rc != EXIT_SUCCESS && err.status != SEG_OK)
		fail(&err);
	cJSON_Delete(out);
	free(warn);
	par_free(px);
	seg_target_release(&t);
	seg_pred_release(&p);
	return rc;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* --class-weights: balanced, none, or BG,FG (brackets optional). */
static seg_status set_class_weights(spec *s, const char *arg, seg_error *err)
{
	char text[128];

	if (strchr(arg, ',') && arg[0] != '[') {
		snprintf(text, sizeof(text), "[%s]", arg);
		return spec_set_text(s, "class_weights", text, err);
	}
	return spec_set_text(s, "class_weights", arg, err);
}

static int cmd_weight_map(int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},       {"output", required_argument, NULL, 'o'},
		{"w0", required_argument, NULL, 'w'},           {"sigma", required_argument, NULL, 's'},
		{"class-weights", required_argument, NULL, 'c'}, {"instances", required_argument, NULL, 'i'},
		{"connectivity", required_argument, NULL, 'n'}, {"max-pixels", required_argument, NULL, 'x'},
		{"pretty", no_argument, NULL, 'P'},             {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *target = NULL, *output = NULL;
	uint64_t max_px = DEFAULT_MAX_PIXELS;
	int pretty = 0, c;
	spec s;
	seg_target t = {0};
	seg_error err = {0};
	seg_status st = SEG_OK;
	float *w = NULL;
	buf enc;
	wmap_info info;
	cJSON *out = NULL;
	int rc = EXIT_FAILURE;

	buf_init(&enc, 0);
	spec_init(&s, SPEC_MAP, "weight", NULL);
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			target = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'w':
			st = spec_set_text(&s, "w0", optarg, &err);
			break;
		case 's':
			st = spec_set_text(&s, "sigma", optarg, &err);
			break;
		case 'c':
			st = set_class_weights(&s, optarg, &err);
			break;
		case 'i':
			st = spec_set_text(&s, "instances", optarg, &err);
			break;
		case 'n':
			st = spec_set_text(&s, "connectivity", optarg, &err);
			break;
		case 'x':
			if (parse_max_pixels(optarg, &max_px))
				return usage_error("--max-pixels needs a positive integer, got '%s'", optarg);
			break;
		case 'P':
			pretty = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		default:
			return usage_error("%s", "bad option for weight-map");
		}
		if (st != SEG_OK)
			return fail(&err);
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (target == NULL || output == NULL)
		return usage_error("%s", "weight-map needs --target and -o OUT");
	if (!ends_with(output, ".npy") && !ends_with(output, ".png"))
		return usage_error("output '%s' must end in .npy or .png", output);

	if (load_target(target, max_px, &t, &err) != SEG_OK)
		goto out;
	w = malloc((size_t)t.width * (size_t)t.height * sizeof(*w));
	if (w == NULL) {
		seg_fail(&err, SEG_ENOMEM, "out of memory for a %dx%d weight map", t.width, t.height);
		goto out;
	}
	if (wmap_compute(&t, &s.par.wm, w, &info, &err) != SEG_OK)
		goto out;
	if (ends_with(output, ".npy"))
		st = npy_encode_f32(w, t.width, t.height, &enc, &err);
	else
		st = pngio_encode_heatmap(w, t.width, t.height, &enc, &err);
	if (st != SEG_OK || write_file(output, enc.data, enc.len, &err) != SEG_OK)
		goto out;

	size_t npx = (size_t)t.width * (size_t)t.height;
	double lo = INFINITY, hi = -INFINITY, sum = 0.0;
	for (size_t i = 0; i < npx; i++) {
		lo = w[i] < lo ? w[i] : lo;
		hi = w[i] > hi ? w[i] : hi;
		sum += w[i];
	}
	out = cJSON_CreateObject();
	if (out == NULL) {
		seg_fail(&err, SEG_ENOMEM, "out of memory");
		goto out;
	}
	cJSON_AddNumberToObject(out, "width", t.width);
	cJSON_AddNumberToObject(out, "height", t.height);
	cJSON_AddNumberToObject(out, "instances", info.instances);
	cJSON_AddNumberToObject(out, "min", lo);
	cJSON_AddNumberToObject(out, "max", hi);
	cJSON_AddNumberToObject(out, "mean", sum / (double)npx);
	cJSON_AddStringToObject(out, "output", output);
	rc = print_json(out, pretty);
out:
	if (rc != EXIT_SUCCESS && err.status != SEG_OK)
		fail(&err);
	cJSON_Delete(out);
	buf_release(&enc);
	free(w);
	seg_target_release(&t);
	return rc;
}

static int cmd_list(int argc, char **argv)
{
	int pretty = argc > 1 && strcmp(argv[1], "--pretty") == 0;
	cJSON *cat;
	int rc;

	if (argc > 1 + pretty)
		return usage_error("unexpected argument '%s'", argv[1 + pretty]);
	cat = wire_catalogue();
	if (cat == NULL) {
		fprintf(stderr, "segloss: out of memory\n");
		return EXIT_FAILURE;
	}
	rc = print_json(cat, pretty);
	cJSON_Delete(cat);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_SUCCESS;
	}
	/* Subcommands parse their own options from argv[1] on. */
	if (strcmp(argv[1], "eval") == 0)
		return cmd_eval(argc - 1, argv + 1);
	if (strcmp(argv[1], "weight-map") == 0)
		return cmd_weight_map(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", argv[1]);
}
