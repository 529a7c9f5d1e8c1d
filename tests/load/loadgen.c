/*
 * loadgen.c — many clients against a running seglossd, checking every
 * answer.
 *
 *   loadgen --port P --pid PID [--clients 32] [--seconds 60] [--sigterm-after S]
 *           [--log DAEMON_LOG] [--max-rss-mb N]
 *
 * Each client loops over a mix of valid requests (JSON and multipart, a
 * few loss sets), invalid ones (bad base64, size mismatch, unknown loss,
 * wrong content type, unknown route) and hostile ones (a PNG header
 * claiming 100000x100000, a zlib bomb, JSON nested 100,000 deep, 10,000
 * multipart parts, a 1 GB body announced by Content-Length). Before the
 * load, every request is sent once, alone, and its answer becomes the
 * expectation: under load each answer must be identical (same status;
 * for 200, the same numbers), except 503 (backpressure), which is
 * counted. The daemon's resident memory is sampled every 50 ms.
 *
 * With --sigterm-after, the daemon gets SIGTERM part-way; requests it
 * never accepted fail to connect, and every request it did accept (its
 * X-Request-Id appears in the daemon's log) must have been answered.
 * Exit status 0 when there were no wrong answers and no 5xx other than
 * 503 (and memory stayed under --max-rss-mb when given).
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cJSON.h>

#include "codec/b64.h"
#include "codec/buf.h"
#include "codec/pngio.h"
#include "httpclient.h"
#include "testutil.h"

#define FIX "tests/fixtures/"
#define MAX_KINDS 32

typedef struct kind {
	const char *name;
	const char *path;
	char headers[256];
	uint8_t *body;
	size_t len;
	int status;   /* expected, from the solo run */
	cJSON *want;  /* expected losses/metrics for 200 */
	atomic_long sent, ok, busy, wrong;
} kind;

static kind kinds[MAX_KINDS];
static int nkinds;
static int port;
static atomic_int stop;
static atomic_long server_errors, connect_failures, lost;
static pid_t daemon_pid;
static long rss_peak_kb;
static atomic_int draining; /* set once SIGTERM was sent: refused connections are expected */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	char *s = malloc((size_t)n + 1);
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

static char *b64_file(const char *path)
{
	size_t len;
	uint8_t *data = tu_read_file(path, &len);
	if (data == NULL) {
		fprintf(stderr, "loadgen: cannot read %s\n", path);
		exit(2);
	}
	char *text = malloc(b64_encoded_len(len) + 1);
	b64_encode(data, len, text);
	free(data);
	return text;
}

static void add(const char *name, const char *path, const char *ctype, uint8_t *body, size_t len)
{
	kind *k = &kinds[nkinds++];
	k->name = name;
	k->path = path;
	snprintf(k->headers, sizeof(k->headers), "%s%s%s", ctype ? "Content-Type: " : "", ctype ? ctype : "",
		 ctype ? "\r\n" : "");
	k->body = body;
	k->len = len;
}

static void add_json(const char *name, char *json)
{
	add(name, "/v1/evaluate", "application/json", (uint8_t *)json, strlen(json));
}

static void add_multipart(const char *name, const char *t, const char *p, const char *losses)
{
	size_t tl, pl;
	uint8_t *td = tu_read_file(t, &tl), *pd = tu_read_file(p, &pl);
	buf b;

	buf_init(&b, 0);
	buf_puts(&b, "--LoAd\r\nContent-Disposition: form-data; name=\"target\"; filename=\"t\"\r\n\r\n");
	buf_append(&b, td, tl);
	buf_puts(&b, "\r\n--LoAd\r\nContent-Disposition: form-data; name=\"prediction\"; filename=\"p\"\r\n\r\n");
	buf_append(&b, pd, pl);
	buf_printf(&b, "\r\n--LoAd\r\nContent-Disposition: form-data; name=\"losses\"\r\n\r\n%s\r\n--LoAd--\r\n", losses);
	size_t len;
	uint8_t *data = buf_detach(&b, &len);
	add(name, "/v1/evaluate", "multipart/form-data; boundary=LoAd", data, len);
	free(td);
	free(pd);
}

/* A PNG whose IDAT inflates to far more than its 16x16 image needs. */
static char *zlib_bomb_b64(void)
{
	size_t raw_len = 64u << 20;
	uint8_t *raw = calloc(raw_len, 1);
	uLongf zl = compressBound(raw_len);
	uint8_t *z = malloc(zl);
	compress2(z, &zl, raw, raw_len, 9);
	free(raw);
	buf png;
	buf_init(&png, 0);
	buf_append(&png, "\x89PNG\r\n\x1a\n", 8);
	uint8_t ihdr[25] = {0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 16, 0, 0, 0, 16, 8, 0, 0, 0, 0};
	uint32_t c = (uint32_t)crc32(0, ihdr + 4, 17);
	ihdr[21] = c >> 24, ihdr[22] = c >> 16, ihdr[23] = c >> 8, ihdr[24] = c;
	buf_append(&png, ihdr, 25);
	uint8_t hdr[8] = {zl >> 24, zl >> 16, zl >> 8, zl, 'I', 'D', 'A', 'T'};
	buf_append(&png, hdr, 8);
	buf_append(&png, z, zl);
	c = (uint32_t)crc32(crc32(0, hdr + 4, 4), z, (uInt)zl);
	uint8_t crc[4] = {c >> 24, c >> 16, c >> 8, c};
	buf_append(&png, crc, 4);
	buf_append(&png, "\0\0\0\0IEND\xae\x42\x60\x82", 12);
	free(z);
	char *text = malloc(b64_encoded_len(png.len) + 1);
	b64_encode(png.data, png.len, text);
	buf_release(&png);
	return text;
}

static void build_kinds(void)
{
	char *t8 = b64_file(FIX "blobs_soft8/target.png"), *p8 = b64_file(FIX "blobs_soft8/prediction.png");
	char *ti = b64_file(FIX "inst16_touching/target.png"), *pi = b64_file(FIX "inst16_touching/prediction.png");
	char *pn = b64_file(FIX "bin01_nonsquare/prediction.png");

	add_json("json bce+dice", fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"bce\", \"dice\"]}", t8, p8));
	add_json("json defaults", fmt("{\"target\": \"%s\", \"prediction\": \"%s\"}", ti, pi));
	add_json("json distances",
		 fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"boundary\", \"hausdorff_dt\"], "
		     "\"metrics\": [\"hausdorff95\", \"surface_dice\"]}",
		     ti, pi));
	add_json("json weight map", fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"maps\": [\"weight\"]}", ti, pi));
	add_multipart("multipart focal", FIX "blobs_128/target.png", FIX "blobs_128/prediction.png",
		      "focal:gamma=3,tversky");
	add_json("bad base64", fmt("{\"target\": \"%s!!\", \"prediction\": \"%s\"}", t8, p8));
	add_json("size mismatch", fmt("{\"target\": \"%s\", \"prediction\": \"%s\"}", t8, pn));
	add_json("unknown loss", fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"dcie\"]}", t8, p8));
	add("wrong type", "/v1/evaluate", "text/plain", (uint8_t *)strdup("hello"), 5);
	add("unknown route", "/v1/nowhere", NULL, NULL, 0);

	/* Hostile: a header promising 100000 x 100000 pixels. */
	uint8_t big[45] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
			   0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0, 8, 0, 0, 0, 0};
	uint32_t c = (uint32_t)crc32(0, big + 12, 17);
	big[29] = c >> 24, big[30] = c >> 16, big[31] = c >> 8, big[32] = c;
	memcpy(big + 33, "\0\0\0\0IEND\xae\x42\x60\x82", 12);
	char bb[80];
	b64_encode(big, sizeof(big), bb);
	add_json("png 100000x100000", fmt("{\"target\": \"%s\", \"prediction\": \"%s\"}", bb, bb));
	char *bomb = zlib_bomb_b64();
	add_json("zlib bomb", fmt("{\"target\": \"%s\", \"prediction\": \"%s\"}", bomb, bomb));
	free(bomb);
	/* JSON nested 100,000 deep. */
	size_t depth = 100000;
	char *deep = malloc(2 * depth + 1);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\0';
	add_json("json 100k deep", deep);
	/* 10,000 multipart parts. */
	buf parts;
	buf_init(&parts, 0);
	for (int i = 0; i < 10000; i++)
		buf_printf(&parts, "--LoAd\r\nContent-Disposition: form-data; name=\"p%d\"\r\n\r\nx\r\n", i);
	buf_puts(&parts, "--LoAd--\r\n");
	size_t plen;
	uint8_t *pdata = buf_detach(&parts, &plen);
	add("10000 parts", "/v1/evaluate", "multipart/form-data; boundary=LoAd", pdata, plen);
	/* 1 GB announced: refused from Content-Length before the body is read. */
	kind *k = &kinds[nkinds++];
	k->name = "1 GB body";
	k->path = "/v1/evaluate";
	snprintf(k->headers, sizeof(k->headers), "Content-Type: application/json\r\nContent-Length: 1073741824\r\n");
	k->body = NULL;
	k->len = 0;
	free(t8);
	free(p8);
	free(ti);
	free(pi);
	free(pn);
}

/* losses and metrics of a 200 body, for comparison. */
static cJSON *numbers(const char *body)
{
	cJSON *j = cJSON_Parse(body), *out;

	if (j == NULL)
		return NULL;
	out = cJSON_CreateObject();
	cJSON_AddItemToObject(out, "losses", cJSON_DetachItemFromObject(j, "losses"));
	cJSON_AddItemToObject(out, "metrics", cJSON_DetachItemFromObject(j, "metrics"));
	cJSON *maps = cJSON_GetObjectItem(j, "maps"), *m;
	cJSON_ArrayForEach(m, maps)
	{
		/* Maps: their summary statistics stand for the data. */
		cJSON *s = cJSON_CreateObject();
		cJSON_AddNumberToObject(s, "mean", cJSON_GetObjectItem(m, "mean")->valuedouble);
		cJSON_AddNumberToObject(s, "max", cJSON_GetObjectItem(m, "max")->valuedouble);
		cJSON_AddItemToObject(out, m->string, s);
	}
	cJSON_Delete(j);
	return out;
}

/* Sends kind k; *id receives the request id used. 0 when an answer came back. */
static int send_kind(kind *k, const char *id, hc_response *r)
{
	char headers[512];

	snprintf(headers, sizeof(headers), "%sX-Request-Id: %s\r\n", k->headers, id);
	if (k->body == NULL && k->len == 0 && strstr(k->headers, "Content-Length"))
		return hc_request(port, "POST", k->path, headers, NULL, 0, r);
	return hc_request(port, k->body ? "POST" : "GET", k->path, headers, k->body, k->len, r);
}

static void expectations(void)
{
	for (int i = 0; i < nkinds; i++) {
		kind *k = &kinds[i];
		hc_response r;
		char id[32];
		snprintf(id, sizeof(id), "solo-%d", i);
		if (send_kind(k, id, &r) != 0) {
			fprintf(stderr, "loadgen: %s: no answer when sent alone\n", k->name);
			exit(1);
		}
		k->status = r.status;
		if (r.status == 200)
			k->want = numbers(r.body);
		printf("  %-18s -> %d %.100s\n", k->name, r.status, r.status == 200 ? "" : r.body);
		hc_free(&r);
	}
}

typedef struct client {
	int id;
	long n;
	FILE *ids; /* request ids that got no answer */
} client;

static void *client_main(void *opaque)
{
	client *c = opaque;
	uint64_t rng = (uint64_t)c->id * 7919 + 1;

	while (!atomic_load(&stop)) {
		kind *k = &kinds[tu_rand(&rng) % (uint64_t)nkinds];
		char id[48];
		hc_response r;
		snprintf(id, sizeof(id), "load-%d-%ld", c->id, c->n++);
		atomic_fetch_add(&k->sent, 1);
		if (send_kind(k, id, &r) != 0) {
			/* No answer: either never accepted (refused while draining) or lost. */
			atomic_fetch_add(&connect_failures, 1);
			fprintf(c->ids, "%s\n", id);
			if (!atomic_load(&draining))
				fprintf(stderr, "loadgen: %s (%s): no answer: %s\n", id, k->name, r.error);
			continue;
		}
		if (r.status == 503) {
			atomic_fetch_add(&k->busy, 1);
		} else if (r.status >= 500) {
			atomic_fetch_add(&server_errors, 1);
			fprintf(stderr, "loadgen: %s answered %d: %s\n", k->name, r.status, r.body);
		} else if (r.status != k->status) {
			atomic_fetch_add(&k->wrong, 1);
			fprintf(stderr, "loadgen: %s answered %d, not %d: %.200s\n", k->name, r.status, k->status, r.body);
		} else if (r.status == 200) {
			cJSON *got = numbers(r.body);
			if (!cJSON_Compare(got, k->want, 1)) {
				atomic_fetch_add(&k->wrong, 1);
				fprintf(stderr, "loadgen: %s: different numbers under load\n", k->name);
			} else {
				atomic_fetch_add(&k->ok, 1);
			}
			cJSON_Delete(got);
		} else {
			atomic_fetch_add(&k->ok, 1);
		}
		hc_free(&r);
	}
	return NULL;
}

static long rss_kb(const char *field)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			kb = atol(line + strlen(field));
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	int clients = 32;
	double seconds = 60, sigterm_after = -1;
	const char *log = NULL;
	long max_rss_mb = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--pid") == 0)
			daemon_pid = (pid_t)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--clients") == 0)
			clients = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--sigterm-after") == 0)
			sigterm_after = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--log") == 0)
			log = argv[i + 1];
		else if (strcmp(argv[i], "--max-rss-mb") == 0)
			max_rss_mb = atol(argv[i + 1]);
	}
	if (port <= 0 || daemon_pid <= 0 || clients < 1 || clients > 256) {
		fprintf(stderr, "usage: loadgen --port P --pid PID [--clients N] [--seconds S] [--sigterm-after S] "
				"[--log FILE] [--max-rss-mb N]\n");
		return 2;
	}
	build_kinds();
	printf("loadgen: %d request kinds, answers when sent alone:\n", nkinds);
	expectations();

	pthread_t *th = calloc((size_t)clients, sizeof(*th));
	client *cl = calloc((size_t)clients, sizeof(*cl));
	char idfile[] = "/tmp/loadgen_idsXXXXXX";
	int idfd = mkstemp(idfile);
	FILE *ids = fdopen(idfd, "w+");
	for (int i = 0; i < clients; i++) {
		cl[i].id = i;
		cl[i].ids = ids;
		pthread_create(&th[i], NULL, client_main, &cl[i]);
	}
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int termed = 0;
	for (;;) {
		usleep(50000);
		clock_gettime(CLOCK_MONOTONIC, &t);
		double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) * 1e-9;
		long rss = rss_kb("VmRSS:");
		if (rss > rss_peak_kb)
			rss_peak_kb = rss;
		if (sigterm_after >= 0 && !termed && el >= sigterm_after) {
			atomic_store(&draining, 1);
			kill(daemon_pid, SIGTERM);
			termed = 1;
		}
		if (el >= seconds)
			break;
	}
	long hwm = rss_kb("VmHWM:");
	if (hwm > rss_peak_kb)
		rss_peak_kb = hwm;
	atomic_store(&stop, 1);
	for (int i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	fflush(ids);

	long total = 0, wrong = 0, busy = 0;
	printf("loadgen: %d clients, %.0f s\n", clients, seconds);
	printf("  %-18s %8s %8s %8s %8s\n", "kind", "sent", "right", "503", "wrong");
	for (int i = 0; i < nkinds; i++) {
		kind *k = &kinds[i];
		printf("  %-18s %8ld %8ld %8ld %8ld\n", k->name, atomic_load(&k->sent), atomic_load(&k->ok),
		       atomic_load(&k->busy), atomic_load(&k->wrong));
		total += atomic_load(&k->sent);
		wrong += atomic_load(&k->wrong);
		busy += atomic_load(&k->busy);
	}
	/* Every request the daemon saw (its id is in the log) must have been answered. */
	if (log) {
		size_t len;
		char *text = (char *)tu_read_file(log, &len);
		char line[64];
		rewind(ids);
		while (text && fgets(line, sizeof(line), ids)) {
			line[strcspn(line, "\n")] = '\0';
			char needle[80];
			snprintf(needle, sizeof(needle), "request_id=%s\n", line);
			if (strstr(text, needle)) {
				atomic_fetch_add(&lost, 1);
				fprintf(stderr, "loadgen: %s was accepted but not answered\n", line);
			}
		}
		free(text);
	} else if (sigterm_after < 0) {
		lost = connect_failures; /* without a shutdown, every request must be answered */
	}
	printf("loadgen: %ld requests, %ld wrong, %ld server errors (5xx but 503), %ld 503, %ld without answer "
	       "(%ld of them accepted by the daemon), daemon peak RSS %.1f MB\n",
	       total, wrong, atomic_load(&server_errors), busy, atomic_load(&connect_failures), atomic_load(&lost),
	       (double)rss_peak_kb / 1024.0);
	fclose(ids);
	unlink(idfile);
	int fail = wrong > 0 || atomic_load(&server_errors) > 0 || atomic_load(&lost) > 0 ||
		   (max_rss_mb > 0 && rss_peak_kb > max_rss_mb * 1024);
	if (max_rss_mb > 0 && rss_peak_kb > max_rss_mb * 1024)
		fprintf(stderr, "loadgen: peak RSS %.1f MB is over the bound of %ld MB\n", (double)rss_peak_kb / 1024.0,
			max_rss_mb);
	return fail ? 1 : 0;
}
