/*
 * segloss.c — the command-line tool: losses, metrics and weight maps on
 * local files.
 *
 *   segloss eval --target T --prediction P [--loss SPEC]... [--metric SPEC]...
 *   segloss weight-map --target T [--w0 W] ... -o OUT.npy|OUT.png
 *   segloss list
 *
 * main parses the command, reads the files (capped), decodes them through
 * the codec (PNG, .npy or an annotation export's JSON, told by content),
 * runs the core and prints one JSON object. Any failure prints one line
 * "segloss: <message>" on stderr, nothing on stdout, and exits 1 (2 for
 * usage errors).
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
#include "service/mcopts.h"
#include "service/request.h"
#include "service/service.h"
#include "wire/wire.h"

#define EXIT_USAGE 2
#define MAX_SPECS 64
#define DEFAULT_MAX_PIXELS (64ull * 1024 * 1024)
#define MAX_FILE_BYTES (2ull * 1024 * 1024 * 1024)

static const char usage_text[] =
	"usage: segloss eval --target T --prediction P [--loss SPEC]... [--metric SPEC]...\n"
	"                    [--logits] [--max-pixels N] [--pretty]\n"
	"                    [--target-kind mask|instances|labels]\n"
	"                    [--prediction-kind probability|logits|mask|labels|probabilities]\n"
	"                    [--classes N|NAME,NAME,...|JSON] [--ignore-index V] [--include-background true|false]\n"
	"                    [--background ID] [--class-weights W,W,...] [--average macro|micro|weighted|none]\n"
	"                    [--profile NAME] [--confusion] [--channel-axis 0|-1] [--max-classes N]\n"
	"       segloss weight-map --target T -o OUT.npy|OUT.png [--w0 W] [--sigma S]\n"
	"                    [--class-weights balanced|none|BG,FG] [--instances auto|labels|components]\n"
	"                    [--connectivity 8|4] [--max-pixels N]\n"
	"                    [--classes ...] [--ignore-index V] [--background ID] [--target-kind K]\n"
	"       segloss list [--pretty]\n"
	"       segloss profiles [--pretty]\n"
	"\n"
	"Files are PNG, .npy or an annotation tool's JSON export (a file whose first\n"
	"non-blank byte is '{': COCO RLE, polygons or annotations, Label Studio brush\n"
	"results, CVAT mask shapes; docs/formats.md), told by content. A Label Studio\n"
	"file sets its alpha threshold with \"threshold\" beside \"labelstudio\".\n"
	"\n"
	"SPEC is NAME or NAME:key=value,key=value (as=ALIAS renames the result; lists\n"
	"are written [a,b]). With no --loss and no --metric, eval computes the losses\n"
	"bce, weighted_bce, dice, shape_aware and the metrics dice, iou. `segloss list`\n"
	"prints every loss, metric and parameter.\n";

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

/* Writes data (n bytes), then more (m bytes; may be NULL), to a new file at path. */
static seg_status write_file(const char *path, const void *data, size_t n, const void *more, size_t m,
			      seg_error *err)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return seg_fail(err, SEG_EIO, "cannot create '%s': %s", path, strerror(errno));
	ok = fwrite(data, 1, n, f) == n && (m == 0 || fwrite(more, 1, m, f) == m);
	if (fclose(f) != 0)
		ok = 0;
	if (!ok)
		return seg_fail(err, SEG_EIO, "cannot write '%s': %s", path, strerror(errno));
	return SEG_OK;
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

/* The multi-class options of eval and weight-map, passed to the request's own parser as text. */
#define MC_OPTIONS                                                                                              \
	{"classes", required_argument, NULL, 1000}, {"ignore-index", required_argument, NULL, 1001},             \
		{"include-background", required_argument, NULL, 1002}, {"background", required_argument, NULL, 1003}, \
		{"average", required_argument, NULL, 1005}, {"profile", required_argument, NULL, 1006},               \
		{"confusion", no_argument, NULL, 1007}, {"target-kind", required_argument, NULL, 1010},               \
		{"prediction-kind", required_argument, NULL, 1011}, {"channel-axis", required_argument, NULL, 1012},  \
		{"max-classes", required_argument, NULL, 1013}

static const char *const mc_fields[] = {"classes", "ignore_index", "include_background", "background",
					"class_weights", "average", "profile", "confusion"};

static int cmd_eval(int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},  {"prediction", required_argument, NULL, 'p'},
		{"loss", required_argument, NULL, 'l'},    {"metric", required_argument, NULL, 'm'},
		{"logits", no_argument, NULL, 'g'},        {"max-pixels", required_argument, NULL, 'x'},
		{"pretty", no_argument, NULL, 'P'},        {"help", no_argument, NULL, 'h'},
		{"class-weights", required_argument, NULL, 1004}, MC_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const char *target = NULL, *pred = NULL;
	int pretty = 0, c;
	uint64_t max_px = DEFAULT_MAX_PIXELS;
	const char *mc_text[8] = {NULL};
	long max_classes = MCO_DEFAULT_MAX_CLASSES;
	req_eval r;
	req_case one;
	uint8_t *tdata = NULL, *pdata = NULL;
	size_t tlen = 0, plen = 0;
	seg_error err = {0};
	cJSON *out = NULL;
	par_exec *px = NULL;
	int rc = EXIT_FAILURE;

	memset(&r, 0, sizeof(r));
	memset(&one, 0, sizeof(one));
	one.prediction.channel_axis = NPY_AXIS_AUTO;
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
			if (r.nspecs == REQ_MAX_SPECS)
				return usage_error("at most %d losses and metrics", REQ_MAX_SPECS);
			if (spec_parse(optarg, c == 'l' ? SPEC_LOSS : SPEC_METRIC, &r.specs[r.nspecs], &err) != SEG_OK)
				return fail(&err);
			r.nspecs++;
			break;
		case 'g':
			r.logits = 1;
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
		case 1000: case 1001: case 1002: case 1003: case 1004: case 1005: case 1006:
			mc_text[c - 1000] = optarg;
			break;
		case 1007:
			mc_text[7] = "true";
			break;
		case 1010:
		case 1011:
			if (inp_kind_parse(optarg, c == 1010, c == 1010 ? &one.target.kind : &one.prediction.kind, &err) !=
			    SEG_OK)
				return fail(&err);
			break;
		case 1012:
			if (strcmp(optarg, "0") != 0 && strcmp(optarg, "-1") != 0 && strcmp(optarg, "2") != 0)
				return usage_error("--channel-axis is 0 (C, H, W) or -1 (H, W, C), got '%s'", optarg);
			one.prediction.channel_axis = strcmp(optarg, "0") == 0 ? 0 : 2;
			break;
		case 1013:
			errno = 0;
			max_classes = strtol(optarg, NULL, 10);
			if (errno || max_classes < 1 || max_classes > SEG_MAX_CLASSES)
				return usage_error("--max-classes needs an integer in [1, %d]", SEG_MAX_CLASSES);
			break;
		default:
			return usage_error("%s", "bad option for eval");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (target == NULL || pred == NULL)
		return usage_error("%s", "eval needs --target and --prediction");

	mco_init(&r.mc, (int)max_classes);
	r.cases = &one;
	r.ncases = 1;
	for (int i = 0; i < 8; i++)
		if (mc_text[i] && mco_set_text(&r.mc, mc_fields[i], mc_text[i], &err) != SEG_OK)
			goto out;
	if (r.logits) {
		if (one.prediction.kind != INP_AUTO && one.prediction.kind != INP_LOGITS) {
			seg_fail(&err, SEG_EINVAL, "--logits means the prediction's kind is logits, but --prediction-kind is %s",
				 inp_kind_name(one.prediction.kind));
			goto out;
		}
		one.prediction.kind = INP_LOGITS;
	}
	if (req_eval_finish(&r, &err) != SEG_OK)
		goto out;
	if (read_file(target, &tdata, &tlen, &err) != SEG_OK || read_file(pred, &pdata, &plen, &err) != SEG_OK)
		goto out;
	one.target.data = tdata;
	one.target.len = tlen;
	one.prediction.data = pdata;
	one.prediction.len = plen;

	int cpus = par_cpus();
	px = par_new(cpus > 1 ? cpus - 1 : 0, NULL);
	seg_par par = par_handle(px);
	svc_ctx ctx = {{.max_pixels = max_px, .max_classes = (int)max_classes}, &par, NULL, NULL, NULL};
	if (svc_eval_one(&ctx, &r, &out, &err) != SEG_OK)
		goto out;
	rc = print_json(out, pretty);
out:
	if (rc != EXIT_SUCCESS && err.status != SEG_OK)
		fail(&err);
	cJSON_Delete(out);
	par_free(px);
	free(tdata);
	free(pdata);
	r.cases = NULL; /* on the stack */
	req_eval_release(&r);
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

/* What is left once the map is computed: the file (task 0) and the map's summary (task 1). */
typedef struct wm_out {
	const char *path;
	const buf *head;   /* the file, or its .npy header when more is the map */
	const float *more; /* the map's floats after the header, or NULL */
	size_t more_bytes;
	const float *w;
	size_t n;
	seg_status st; /* task 0 */
	seg_error err;
	double lo, hi, sum; /* task 1 */
} wm_out;

static void wm_finish(void *arg, size_t i)
{
	wm_out *o = arg;

	if (i == 0) {
		o->st = write_file(o->path, o->head->data, o->head->len, o->more, o->more_bytes, &o->err);
		return;
	}
	/* Extremes in float lanes (exact); the sum in pixel order, as ever. */
	float flo = INFINITY, fhi = -INFINITY;
	double sum = 0.0;
#pragma omp simd reduction(min : flo) reduction(max : fhi)
	for (size_t k = 0; k < o->n; k++) {
		flo = o->w[k] < flo ? o->w[k] : flo;
		fhi = o->w[k] > fhi ? o->w[k] : fhi;
	}
	for (size_t k = 0; k < o->n; k++)
		sum += o->w[k];
	o->lo = flo;
	o->hi = fhi;
	o->sum = sum;
}

static int cmd_weight_map(int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},       {"output", required_argument, NULL, 'o'},
		{"w0", required_argument, NULL, 'w'},           {"sigma", required_argument, NULL, 's'},
		{"class-weights", required_argument, NULL, 'c'}, {"instances", required_argument, NULL, 'i'},
		{"connectivity", required_argument, NULL, 'n'}, {"max-pixels", required_argument, NULL, 'x'},
		{"pretty", no_argument, NULL, 'P'},             {"help", no_argument, NULL, 'h'},
		MC_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const char *target = NULL, *output = NULL;
	uint64_t max_px = DEFAULT_MAX_PIXELS;
	long max_classes = MCO_DEFAULT_MAX_CLASSES;
	const char *mc_text[8] = {NULL};
	int pretty = 0, c;
	req_wmap r;
	spec *sp = &r.params;
	seg_target t = {0};
	seg_error err = {0};
	seg_status st = SEG_OK;
	float *w = NULL;
	uint8_t *tdata = NULL;
	size_t tlen = 0;
	buf enc;
	par_exec *px = NULL;
	wmap_info info;
	svc_timing tm = {0};
	cJSON *out = NULL;
	int rc = EXIT_FAILURE;

	buf_init(&enc, 0);
	memset(&r, 0, sizeof(r));
	r.target.channel_axis = NPY_AXIS_AUTO;
	spec_init(sp, SPEC_MAP, "weight", NULL);
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			target = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'w':
			st = spec_set_text(sp, "w0", optarg, &err);
			break;
		case 's':
			st = spec_set_text(sp, "sigma", optarg, &err);
			break;
		case 'c':
			st = set_class_weights(sp, optarg, &err);
			break;
		case 'i':
			st = spec_set_text(sp, "instances", optarg, &err);
			break;
		case 'n':
			st = spec_set_text(sp, "connectivity", optarg, &err);
			break;
		case 1000: case 1001: case 1003:
			mc_text[c - 1000] = optarg;
			break;
		case 1010:
			st = inp_kind_parse(optarg, 1, &r.target.kind, &err);
			break;
		case 1013:
			errno = 0;
			max_classes = strtol(optarg, NULL, 10);
			if (errno || max_classes < 1 || max_classes > SEG_MAX_CLASSES)
				return usage_error("--max-classes needs an integer in [1, %d]", SEG_MAX_CLASSES);
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

	mco_init(&r.mc, (int)max_classes);
	for (int i = 0; i < 8; i++)
		if (mc_text[i] && mco_set_text(&r.mc, mc_fields[i], mc_text[i], &err) != SEG_OK)
			goto out;
	if (mco_finish(&r.mc, NULL, 0, &err) != SEG_OK || read_file(target, &tdata, &tlen, &err) != SEG_OK)
		goto out;
	if (r.mc.multi && sp->par.wm.instances == WMAP_INST_LABELS) {
		seg_fail(&err, SEG_EINVAL, "with --classes the instances are each class's connected components: "
			 "--instances must be auto or components");
		goto out;
	}
	r.target.data = tdata;
	r.target.len = tlen;
	/* Both cores (or however many this process may use) share the bands. */
	int cpus = par_cpus();
	px = par_new(cpus > 1 ? cpus - 1 : 0, NULL);
	seg_par par = par_handle(px);
	svc_ctx ctx = {{.max_pixels = max_px, .max_classes = (int)max_classes}, &par, NULL, NULL, NULL};
	if (svc_wmap_compute(&ctx, &r, &w, &t.width, &t.height, &info, &tm, &err) != SEG_OK)
		goto out;
	size_t npx = (size_t)t.width * (size_t)t.height;
	int raw = 0;
	if (ends_with(output, ".npy")) {
		/* The header, then the floats straight from the map: no second copy of it. */
		st = npy_header_f32(t.width, t.height, &enc, &raw, &err);
		if (st == SEG_OK && !raw) {
			enc.len = 0;
			st = npy_encode_f32(w, t.width, t.height, &enc, &err);
		}
	} else {
		st = pngio_encode_heatmap(w, t.width, t.height, &enc, &err);
	}
	if (st != SEG_OK)
		goto out;
	/* Writing the file and summarising the map read the map alone: one lane each. */
	wm_out wo = {output, &enc, raw ? w : NULL, raw ? npx * sizeof(*w) : 0, w, npx, SEG_OK, {SEG_OK, ""}, 0, 0, 0};
	seg_par_for(&par, 2, wm_finish, &wo);
	if (wo.st != SEG_OK) {
		err = wo.err;
		goto out;
	}
	double lo = wo.lo, hi = wo.hi, sum = wo.sum;
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
	par_free(px);
	free(w);
	free(tdata);
	mco_release(&r.mc);
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

static int cmd_profiles(int argc, char **argv)
{
	int pretty = argc > 1 && strcmp(argv[1], "--pretty") == 0;
	cJSON *p;
	int rc;

	if (argc > 1 + pretty)
		return usage_error("unexpected argument '%s'", argv[1 + pretty]);
	p = wire_profiles();
	if (p == NULL) {
		fprintf(stderr, "segloss: out of memory\n");
		return EXIT_FAILURE;
	}
	rc = print_json(p, pretty);
	cJSON_Delete(p);
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
	if (strcmp(argv[1], "profiles") == 0)
		return cmd_profiles(argc - 1, argv + 1);
	return usage_error("unknown command '%s'", argv[1]);
}
