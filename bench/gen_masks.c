/*
 * gen_masks.c — request bodies for the HTTP benchmarks.
 *
 *   gen_masks SIDE DIR [LOSSES]
 *
 * Writes into DIR a SIDE x SIDE binary target (random non-touching discs,
 * 8-bit PNG 0/255) and an 8-bit soft prediction PNG, and the two request
 * bodies that carry them: eval.json (base64 in JSON) and eval.multipart
 * (boundary "segbench"), both asking for LOSSES (default "bce,dice").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/b64.h"
#include "codec/buf.h"
#include "codec/pngio.h"

static uint64_t rng = 7;

static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) * 0x1.0p-53;
}

static int write_file(const char *dir, const char *name, const void *data, size_t n)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, n, f) != n) {
		perror(path);
		return -1;
	}
	return fclose(f);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: gen_masks SIDE DIR [LOSSES]\n");
		return 2;
	}
	int side = atoi(argv[1]);
	const char *dir = argv[2];
	const char *losses = argc > 3 ? argv[3] : "bce,dice";
	size_t n = (size_t)side * side;
	uint8_t *t = calloc(n, 1), *p = malloc(n);
	buf tp, pp, body;

	for (int k = 0; k < 40; k++) {
		double r = side / 40.0 + urand() * side / 16.0;
		double cx = urand() * side, cy = urand() * side;
		for (int y = 0; y < side; y++)
			for (int x = 0; x < side; x++)
				if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
					t[(size_t)y * side + x] = 255;
	}
	for (size_t i = 0; i < n; i++) {
		double u = urand();
		double v = t[i] ? 0.35 + 0.65 * u : 0.6 * u * u;
		p[i] = (uint8_t)lrint(v * 255.0);
	}
	buf_init(&tp, 0);
	buf_init(&pp, 0);
	if (pngio_encode_gray(t, side, side, 8, &tp, NULL) != SEG_OK ||
	    pngio_encode_gray(p, side, side, 8, &pp, NULL) != SEG_OK)
		return 1;
	write_file(dir, "target.png", tp.data, tp.len);
	write_file(dir, "prediction.png", pp.data, pp.len);

	/* JSON: losses as a list of names. */
	char *tb = malloc(b64_encoded_len(tp.len) + 1), *pb = malloc(b64_encoded_len(pp.len) + 1);
	b64_encode(tp.data, tp.len, tb);
	b64_encode(pp.data, pp.len, pb);
	buf_init(&body, 0);
	buf_printf(&body, "{\"target\":\"%s\",\"prediction\":\"%s\",\"losses\":[", tb, pb);
	char *list = strdup(losses), *save = NULL;
	int first = 1;
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = 0)
		buf_printf(&body, "%s\"%s\"", first ? "" : ",", tok);
	buf_puts(&body, "],\"metrics\":[]}");
	write_file(dir, "eval.json", body.data, body.len);
	buf_release(&body);

	buf_init(&body, 0);
	buf_puts(&body, "--segbench\r\nContent-Disposition: form-data; name=\"target\"; filename=\"t.png\"\r\n"
			"Content-Type: image/png\r\n\r\n");
	buf_append(&body, tp.data, tp.len);
	buf_puts(&body, "\r\n--segbench\r\nContent-Disposition: form-data; name=\"prediction\"; filename=\"p.png\"\r\n"
			"Content-Type: image/png\r\n\r\n");
	buf_append(&body, pp.data, pp.len);
	buf_printf(&body, "\r\n--segbench\r\nContent-Disposition: form-data; name=\"losses\"\r\n\r\n%s"
			  "\r\n--segbench\r\nContent-Disposition: form-data; name=\"metrics\"\r\n\r\n[]"
			  "\r\n--segbench--\r\n",
		   losses);
	write_file(dir, "eval.multipart", body.data, body.len);
	printf("%s: target %zu bytes, prediction %zu bytes\n", dir, tp.len, pp.len);
	buf_release(&body);
	buf_release(&tp);
	buf_release(&pp);
	free(list);
	free(tb);
	free(pb);
	free(t);
	free(p);
	return 0;
}
