/*
 * check_runs.c — runs and jobs against the seglossd binary, on both
 * stores: a real SQLite file, and a database of its own on the
 * PostgreSQL server of SEGLOSS_TEST_PG (left out when it is not set;
 * `make check-pg` runs it). 8 clients x 500 items into one run with
 * replacements (aggregates equal a recomputation from the stored items),
 * polling with ETags and after= cursors while writes go on, a restart
 * that keeps scores and finished jobs, and a SIGKILL with jobs queued and
 * running after which every accepted job finishes with the right result
 * (on PostgreSQL once the killed daemon's lease, 2 s here, has expired).
 */
#define _GNU_SOURCE /* pthread_tryjoin_np */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "codec/b64.h"
#include "codec/buf.h"
#include "codec/npy.h"
#include "codec/pngio.h"
#include "httpclient.h"
#include "testpg.h"
#include "testutil.h"

typedef struct daemon_proc {
	pid_t pid;
	int port;
	char log[64];
} daemon_proc;

static char dbdir[64], dbpath[1024]; /* the SQLite file, or the PostgreSQL address */
static int is_pg;

static void daemon_start(daemon_proc *d)
{
	const char *bin = getenv("SEGLOSSD_BIN") ? getenv("SEGLOSSD_BIN") : "build/release/seglossd";

	snprintf(d->log, sizeof(d->log), "/tmp/seglossd_runs_XXXXXX");
	int fd = mkstemp(d->log);
	ck_assert_int_ge(fd, 0);
	d->pid = fork();
	if (d->pid == 0) {
		dup2(fd, 2);
		execl(bin, bin, "--bind", "127.0.0.1", "--port", "0", "--workers", "2", "--queue", "512", "--db", dbpath,
		      "--job-lease", "2", (char *)NULL);
		_exit(127);
	}
	close(fd);
	d->port = 0;
	for (int i = 0; i < 300 && d->port == 0; i++) {
		size_t len;
		char *text = (char *)tu_read_file(d->log, &len);
		char *p = text ? strstr(text, "seglossd listening") : NULL;
		if (p && (p = strstr(p, " port=")) != NULL)
			d->port = atoi(p + 6);
		free(text);
		if (d->port == 0)
			usleep(20000);
	}
	ck_assert_msg(d->port > 0, "seglossd did not start (see %s)", d->log);
}

static int daemon_stop(daemon_proc *d, int sig)
{
	int status;

	kill(d->pid, sig);
	ck_assert_int_eq(waitpid(d->pid, &status, 0), d->pid);
	unlink(d->log);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void setup(void)
{
	is_pg = 0;
	snprintf(dbdir, sizeof(dbdir), "/tmp/check_runs_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dbdir));
	snprintf(dbpath, sizeof(dbpath), "%s/data/segloss.db", dbdir);
}

static void setup_pg(void)
{
	is_pg = 1;
	dbdir[0] = '\0';
	ck_assert_int_eq(tpg_create(dbpath, sizeof(dbpath)), 0);
}

static void teardown(void)
{
	char cmd[128];

	if (is_pg) {
		tpg_drop(dbpath);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dbdir);
	ck_assert_int_eq(system(cmd), 0);
}

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

static char *b64(const buf *b)
{
	char *s = malloc(b64_encoded_len(b->len) + 1);
	b64_encode(b->data, b->len, s);
	return s;
}

/* Mask pairs of side x side: a random binary target (PNG) and a float32 prediction (.npy). */
#define NPAIRS 16
static char *targets[NPAIRS], *preds[NPAIRS];

static void make_pairs(int side)
{
	uint64_t rng = 99;
	size_t n = (size_t)side * side;
	uint8_t *t = malloc(n);
	float *p = malloc(n * sizeof(float));

	for (int k = 0; k < NPAIRS; k++) {
		buf tb, pb;
		for (size_t i = 0; i < n; i++) {
			t[i] = tu_uniform(&rng) < 0.3 ? 255 : 0;
			double u = tu_uniform(&rng);
			p[i] = (float)(t[i] ? 0.3 + 0.7 * u : 0.6 * u);
		}
		buf_init(&tb, 0);
		buf_init(&pb, 0);
		pngio_encode_gray(t, side, side, 8, &tb, NULL);
		npy_encode_f32(p, side, side, &pb, NULL);
		targets[k] = b64(&tb);
		preds[k] = b64(&pb);
		buf_release(&tb);
		buf_release(&pb);
	}
	free(t);
	free(p);
}

static void free_pairs(void)
{
	for (int k = 0; k < NPAIRS; k++) {
		free(targets[k]);
		free(preds[k]);
	}
}

static hc_response post(int port, const char *path, const char *json, const char *extra)
{
	hc_response r;
	char headers[512];

	snprintf(headers, sizeof(headers), "Content-Type: application/json\r\n%s", extra ? extra : "");
	ck_assert_int_eq(hc_request(port, "POST", path, headers, json, strlen(json), &r), 0);
	return r;
}

static hc_response get(int port, const char *path, const char *extra)
{
	hc_response r;
	ck_assert_int_eq(hc_request(port, "GET", path, extra, NULL, 0, &r), 0);
	return r;
}

/* ---- concurrency: 8 clients x 500 items --------------------------------------------- */

#define CLIENTS 8
#define PER_CLIENT 500

typedef struct final {
	double bce, dice, iou;
} final;

static final finals[CLIENTS][PER_CLIENT];

typedef struct writer {
	int port;
	int t;
	int failures;
} writer;

static void record_item(int port, const char *run, int t, int i, int pair, final *out, int *failures)
{
	char *body = fmt("{\"target\": \"%s\", \"prediction\": {\"npy\": \"%s\"}, \"run\": \"%s\", \"item\": \"c%d/i%d\", "
			 "\"losses\": [\"bce\", \"dice\"], \"metrics\": [\"iou\"]}",
			 targets[pair], preds[pair], run, t, i);
	hc_response r = post(port, "/v1/evaluate", body, NULL);
	cJSON *j = r.status == 200 ? cJSON_Parse(r.body) : NULL;
	if (j == NULL) {
		(*failures)++;
	} else if (out) {
		out->bce = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "losses"), "bce")->valuedouble;
		out->dice = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "losses"), "dice")->valuedouble;
		out->iou = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metrics"), "iou")->valuedouble;
	}
	cJSON_Delete(j);
	hc_free(&r);
	free(body);
}

static void *writer_main(void *opaque)
{
	writer *w = opaque;

	for (int i = 0; i < PER_CLIENT; i++) {
		record_item(w->port, "conc", w->t, i, (w->t + i) % NPAIRS, &finals[w->t][i], &w->failures);
		/* Every tenth item is posted again with another prediction: it replaces the first. */
		if (i % 10 == 3)
			record_item(w->port, "conc", w->t, i, (w->t + i + 5) % NPAIRS, &finals[w->t][i], &w->failures);
	}
	return NULL;
}

/* All items of a run, through the after= cursor, into values[key] arrays. */
typedef struct collected {
	int n;
	double *bce, *dice, *iou;
} collected;

static void collect_all(int port, const char *run, collected *c)
{
	int64_t after = 0;

	c->n = 0;
	c->bce = malloc(sizeof(double) * 5000);
	c->dice = malloc(sizeof(double) * 5000);
	c->iou = malloc(sizeof(double) * 5000);
	for (;;) {
		char path[160];
		snprintf(path, sizeof(path), "/v1/runs/%s/items?after=%lld&limit=1000", run, (long long)after);
		hc_response r = get(port, path, NULL);
		ck_assert_int_eq(r.status, 200);
		cJSON *j = cJSON_Parse(r.body), *it;
		int got = 0;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items"))
		{
			c->bce[c->n] = cJSON_GetObjectItem(cJSON_GetObjectItem(it, "losses"), "bce")->valuedouble;
			c->dice[c->n] = cJSON_GetObjectItem(cJSON_GetObjectItem(it, "losses"), "dice")->valuedouble;
			c->iou[c->n] = cJSON_GetObjectItem(cJSON_GetObjectItem(it, "metrics"), "iou")->valuedouble;
			c->n++;
			got++;
		}
		after = (int64_t)cJSON_GetObjectItem(j, "next")->valuedouble;
		cJSON_Delete(j);
		hc_free(&r);
		if (got == 0)
			break;
	}
}

static void check_agg(cJSON *agg, const double *v, int n)
{
	double sum = 0, lo = INFINITY, hi = -INFINITY, sq = 0;

	for (int i = 0; i < n; i++) {
		sum += v[i];
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	double mean = sum / n;
	for (int i = 0; i < n; i++)
		sq += (v[i] - mean) * (v[i] - mean);
	ck_assert_int_eq(cJSON_GetObjectItem(agg, "count")->valueint, n);
	ck_assert_double_eq_tol(cJSON_GetObjectItem(agg, "mean")->valuedouble, mean, 1e-12 * fabs(mean) + 1e-15);
	ck_assert_double_eq_tol(cJSON_GetObjectItem(agg, "std")->valuedouble, sqrt(sq / n), 1e-9 * sqrt(sq / n) + 1e-15);
	ck_assert_double_eq(cJSON_GetObjectItem(agg, "min")->valuedouble, lo);
	ck_assert_double_eq(cJSON_GetObjectItem(agg, "max")->valuedouble, hi);
}

START_TEST(test_8_clients_500_items)
{
	daemon_proc d;
	pthread_t th[CLIENTS];
	writer w[CLIENTS];
	collected c;

	make_pairs(32);
	daemon_start(&d);
	for (int t = 0; t < CLIENTS; t++) {
		w[t] = (writer){d.port, t, 0};
		pthread_create(&th[t], NULL, writer_main, &w[t]);
	}
	for (int t = 0; t < CLIENTS; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < CLIENTS; t++)
		ck_assert_int_eq(w[t].failures, 0);

	hc_response r = get(d.port, "/v1/runs/conc", NULL);
	ck_assert_int_eq(r.status, 200);
	cJSON *run = cJSON_Parse(r.body);
	ck_assert_int_eq(cJSON_GetObjectItem(run, "count")->valueint, CLIENTS * PER_CLIENT);

	/* Against the stored items... */
	collect_all(d.port, "conc", &c);
	ck_assert_int_eq(c.n, CLIENTS * PER_CLIENT);
	check_agg(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "losses"), "bce"), c.bce, c.n);
	check_agg(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "losses"), "dice"), c.dice, c.n);
	check_agg(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "metrics"), "iou"), c.iou, c.n);
	/* ...and against what each client was last answered for its items. */
	double *v = malloc(sizeof(double) * CLIENTS * PER_CLIENT);
	for (int t = 0; t < CLIENTS; t++)
		for (int i = 0; i < PER_CLIENT; i++)
			v[t * PER_CLIENT + i] = finals[t][i].bce;
	check_agg(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "losses"), "bce"), v, CLIENTS * PER_CLIENT);
	free(v);
	free(c.bce);
	free(c.dice);
	free(c.iou);
	cJSON_Delete(run);
	hc_free(&r);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM), 0);
	free_pairs();
}
END_TEST

/* ---- polling while writes go on ---------------------------------------------------------- */

typedef struct poll_writer {
	int port;
	int failures;
} poll_writer;

static void *poll_writer_main(void *opaque)
{
	poll_writer *w = opaque;

	for (int i = 0; i < 300; i++) {
		record_item(w->port, "poll", 0, i % 200, i % NPAIRS, NULL, &w->failures); /* items 0..99 posted twice */
		if (i % 50 == 0)
			usleep(20000);
	}
	return NULL;
}

START_TEST(test_polling_cursor_and_etag)
{
	daemon_proc d;
	pthread_t th;
	poll_writer w = {0, 0};
	int64_t after = 0, last_seq = 0;
	int polls = 0, not_modified = 0;
	/* item index -> the last seq seen for it */
	int64_t seen[200] = {0};

	make_pairs(16);
	daemon_start(&d);
	w.port = d.port;
	record_item(d.port, "poll", 0, 0, 0, NULL, &w.failures); /* the run exists before polling starts */
	pthread_create(&th, NULL, poll_writer_main, &w);
	char etag[128] = "";
	int writer_done = 0;
	for (int done = 0; !done;) {
		/* Read before polling: a page after the writer's end sees everything it wrote. */
		if (!writer_done)
			writer_done = pthread_tryjoin_np(th, NULL) == 0;
		char path[128], hdr[200] = "";
		snprintf(path, sizeof(path), "/v1/runs/poll/items?after=%lld&limit=37", (long long)after);
		hc_response r = get(d.port, path, NULL);
		ck_assert_int_eq(r.status, 200);
		cJSON *j = cJSON_Parse(r.body), *it;
		int got = 0;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items"))
		{
			int64_t seq = (int64_t)cJSON_GetObjectItem(it, "seq")->valuedouble;
			/* Strictly increasing across every page: nothing is repeated. */
			ck_assert_int_gt(seq, last_seq);
			last_seq = seq;
			int idx = atoi(strstr(cJSON_GetObjectItem(it, "item")->valuestring, "/i") + 2);
			seen[idx] = seq;
			got++;
		}
		after = (int64_t)cJSON_GetObjectItem(j, "next")->valuedouble;
		cJSON_Delete(j);
		hc_free(&r);
		polls++;
		/* The dashboard's cheap poll: the run summary with If-None-Match. */
		if (etag[0])
			snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", etag);
		r = get(d.port, "/v1/runs/poll", hdr);
		if (r.status == 304) {
			not_modified++;
			ck_assert_uint_eq(r.body_len, 0);
		} else {
			ck_assert_int_eq(r.status, 200);
			ck_assert_int_eq(hc_header(&r, "ETag", etag, sizeof(etag)), 0);
		}
		hc_free(&r);
		if (writer_done && got == 0) {
			/* One more poll after the writer ended: nothing new may appear. */
			done = 1;
		}
		if (!writer_done)
			usleep(5000);
	}
	ck_assert_int_eq(w.failures, 0);
	/* Nothing missed: the latest version of every item was seen, with its final seq. */
	collected c;
	hc_response r = get(d.port, "/v1/runs/poll/items?after=0&limit=1000", NULL);
	cJSON *j = cJSON_Parse(r.body), *it;
	int n = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items"))
	{
		int idx = atoi(strstr(cJSON_GetObjectItem(it, "item")->valuestring, "/i") + 2);
		ck_assert_int_eq(seen[idx], (int64_t)cJSON_GetObjectItem(it, "seq")->valuedouble);
		n++;
	}
	ck_assert_int_eq(n, 200);
	cJSON_Delete(j);
	hc_free(&r);
	(void)c;
	/* Unchanged data: the same ETag and 304; a write changes it. */
	char e1[128];
	r = get(d.port, "/v1/runs/poll", NULL);
	hc_header(&r, "ETag", e1, sizeof(e1));
	hc_free(&r);
	char hdr[200];
	snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", e1);
	r = get(d.port, "/v1/runs/poll", hdr);
	ck_assert_int_eq(r.status, 304);
	hc_free(&r);
	r = get(d.port, "/v1/runs", NULL);
	char e2[128];
	hc_header(&r, "ETag", e2, sizeof(e2));
	hc_free(&r);
	record_item(d.port, "poll", 0, 5, 3, NULL, &w.failures);
	r = get(d.port, "/v1/runs/poll", hdr);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", e2);
	r = get(d.port, "/v1/runs", hdr);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	ck_assert_int_gt(polls, 3);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM), 0);
	free_pairs();
}
END_TEST

/* ---- restart and crash ------------------------------------------------------------------- */

static char *wait_job(int port, const char *id, double timeout)
{
	char path[96];
	struct timespec t0, t1;

	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		hc_response r = get(port, path, NULL);
		ck_assert_int_eq(r.status, 200);
		cJSON *j = cJSON_Parse(r.body);
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(j, "status"));
		int finished = strcmp(st, "done") == 0 || strcmp(st, "failed") == 0 || strcmp(st, "canceled") == 0;
		cJSON_Delete(j);
		if (finished) {
			char *body = strdup(r.body);
			hc_free(&r);
			return body;
		}
		hc_free(&r);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ck_assert_msg((t1.tv_sec - t0.tv_sec) < timeout, "job %s did not finish", id);
		usleep(50000);
	}
}

static char *submit(int port, const char *body)
{
	hc_response r = post(port, "/v1/jobs", body, NULL);
	char loc[128];

	ck_assert_msg(r.status == 202, "%d %s", r.status, r.body);
	ck_assert_int_eq(hc_header(&r, "Location", loc, sizeof(loc)), 0);
	cJSON *j = cJSON_Parse(r.body);
	char *id = strdup(cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")));
	ck_assert_str_eq(loc + 9, id);
	cJSON_Delete(j);
	hc_free(&r);
	return id;
}

START_TEST(test_restart_keeps_scores_and_jobs)
{
	daemon_proc d;

	make_pairs(24);
	daemon_start(&d);
	int failures = 0;
	for (int i = 0; i < 20; i++)
		record_item(d.port, "keep", 0, i, i % NPAIRS, NULL, &failures);
	char *body = fmt("{\"items\": [{\"target\": \"%s\", \"prediction\": \"%s\", \"item\": \"j1\"}], "
			 "\"losses\": [\"bce\"], \"run\": \"keep-jobs\"}",
			 targets[0], preds[0]);
	char *id = submit(d.port, body);
	char *before_job = wait_job(d.port, id, 30);
	hc_response r = get(d.port, "/v1/runs/keep", NULL);
	char *before_run = strdup(r.body);
	hc_free(&r);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM), 0);

	daemon_start(&d);
	r = get(d.port, "/v1/runs/keep", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, before_run);
	hc_free(&r);
	char path[96];
	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	r = get(d.port, path, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, before_job);
	ck_assert_ptr_nonnull(strstr(r.body, "\"status\":\"done\""));
	hc_free(&r);
	ck_assert_int_eq(failures, 0);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM), 0);
	free(before_job);
	free(before_run);
	free(body);
	free(id);
	free_pairs();
}
END_TEST

START_TEST(test_sigkill_with_jobs_queued_and_running)
{
	enum { JOBS = 4, ITEMS = 5 };
	daemon_proc d;
	char *ids[JOBS], *bodies[JOBS];

	/* 1024x1024 items with the distance losses: each takes a noticeable time. */
	make_pairs(1024);
	daemon_start(&d);
	for (int k = 0; k < JOBS; k++) {
		buf b;
		buf_init(&b, 0);
		buf_puts(&b, "{\"items\": [");
		for (int i = 0; i < ITEMS; i++)
			buf_printf(&b, "%s{\"target\": \"%s\", \"prediction\": {\"npy\": \"%s\"}, \"item\": \"k%d-%d\"}",
				   i ? "," : "", targets[(k + i) % NPAIRS], preds[(k + i) % NPAIRS], k, i);
		buf_printf(&b, "], \"losses\": [\"bce\", \"hausdorff_dt\", \"boundary\"], \"metrics\": [\"hausdorff95\"], "
			       "\"run\": \"crash\"}");
		bodies[k] = (char *)buf_detach(&b, NULL);
		ids[k] = submit(d.port, bodies[k]);
	}
	/* Wait until the first job is running and part-way through, then kill. */
	char path[96];
	snprintf(path, sizeof(path), "/v1/jobs/%s", ids[0]);
	for (int tries = 0; tries < 600; tries++) {
		hc_response r = get(d.port, path, NULL);
		cJSON *j = cJSON_Parse(r.body);
		int done = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "progress"), "done")->valueint;
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(j, "status"));
		int running = strcmp(st, "running") == 0 && done >= 1;
		cJSON_Delete(j);
		hc_free(&r);
		if (running)
			break;
		usleep(20000);
	}
	ck_assert_int_eq(daemon_stop(&d, SIGKILL), -1);

	daemon_start(&d);
	for (int k = 0; k < JOBS; k++) {
		char *job = wait_job(d.port, ids[k], 120);
		cJSON *j = cJSON_Parse(job);
		ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "done");
		cJSON *res = cJSON_GetObjectItem(j, "result");
		ck_assert_int_eq(cJSON_GetObjectItem(res, "count")->valueint, ITEMS);
		ck_assert_int_eq(cJSON_GetObjectItem(res, "failed")->valueint, 0);
		/* Right results: each item equals a direct evaluation of the same masks. */
		cJSON *it;
		int i = 0;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(res, "items"))
		{
			char *direct = fmt("{\"target\": \"%s\", \"prediction\": {\"npy\": \"%s\"}, \"losses\": [\"bce\", "
					   "\"hausdorff_dt\", \"boundary\"], \"metrics\": [\"hausdorff95\"]}",
					   targets[(k + i) % NPAIRS], preds[(k + i) % NPAIRS]);
			if (i == 0 || k == 0) { /* a sample keeps the test short */
				hc_response r = post(d.port, "/v1/evaluate", direct, NULL);
				cJSON *want = cJSON_Parse(r.body);
				const char *keys[] = {"bce", "hausdorff_dt", "boundary"};
				for (int q = 0; q < 3; q++)
					ck_assert_double_eq(
						cJSON_GetObjectItem(cJSON_GetObjectItem(it, "losses"), keys[q])->valuedouble,
						cJSON_GetObjectItem(cJSON_GetObjectItem(want, "losses"), keys[q])->valuedouble);
				cJSON_Delete(want);
				hc_free(&r);
			}
			free(direct);
			i++;
		}
		cJSON_Delete(j);
		free(job);
	}
	/* Items that ran twice (before and after the crash) were replaced, not duplicated. */
	hc_response r = get(d.port, "/v1/runs/crash", NULL);
	cJSON *run = cJSON_Parse(r.body);
	ck_assert_int_eq(cJSON_GetObjectItem(run, "count")->valueint, JOBS * ITEMS);
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "losses"), "bce"), "count")
				 ->valueint,
			 JOBS * ITEMS);
	cJSON_Delete(run);
	hc_free(&r);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM), 0);
	for (int k = 0; k < JOBS; k++) {
		free(ids[k]);
		free(bodies[k]);
	}
	free_pairs();
}
END_TEST

START_TEST(test_cancel_and_idempotency)
{
	daemon_proc d;

	make_pairs(512);
	daemon_start(&d);
	buf b;
	buf_init(&b, 0);
	buf_puts(&b, "{\"items\": [");
	for (int i = 0; i < 12; i++)
		buf_printf(&b, "%s{\"target\": \"%s\", \"prediction\": {\"npy\": \"%s\"}, \"item\": \"i%d\"}", i ? "," : "",
			   targets[i % NPAIRS], preds[i % NPAIRS], i);
	buf_puts(&b, "], \"losses\": [\"hausdorff_dt\", \"boundary\"]}");
	char *body = (char *)buf_detach(&b, NULL);
	/* The same key and body: the same job; the same key with another body: 422. */
	hc_response r1 = post(d.port, "/v1/jobs", body, "Idempotency-Key: batch-7\r\n");
	hc_response r2 = post(d.port, "/v1/jobs", body, "Idempotency-Key: batch-7\r\n");
	ck_assert_int_eq(r1.status, 202);
	ck_assert_int_eq(r2.status, 202);
	cJSON *j1 = cJSON_Parse(r1.body), *j2 = cJSON_Parse(r2.body);
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(j1, "id"));
	ck_assert_str_eq(id, cJSON_GetStringValue(cJSON_GetObjectItem(j2, "id")));
	char *other = fmt("{\"target\": \"%s\", \"prediction\": \"%s\"}", targets[0], preds[0]);
	hc_response r3 = post(d.port, "/v1/jobs", other, "Idempotency-Key: batch-7\r\n");
	ck_assert_int_eq(r3.status, 422);
	ck_assert_ptr_nonnull(strstr(r3.body, "Idempotency-Key 'batch-7' was already used with a different body"));
	/* A queued job behind it is canceled at once; the running one stops between items. */
	char *second = submit(d.port, other);
	char path[96];
	snprintf(path, sizeof(path), "/v1/jobs/%s", second);
	hc_response c2;
	ck_assert_int_eq(hc_request(d.port, "DELETE", path, NULL, NULL, 0, &c2), 0);
	ck_assert_int_eq(c2.status, 200);
	ck_assert_ptr_nonnull(strstr(c2.body, "\"status\":\"canceled\""));
	hc_free(&c2);
	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	for (int tries = 0; tries < 500; tries++) {
		hc_response r = get(d.port, path, NULL);
		int running = strstr(r.body, "\"status\":\"running\"") != NULL;
		hc_free(&r);
		if (running)
			break;
		usleep(10000);
	}
	hc_response c1;
	ck_assert_int_eq(hc_request(d.port, "DELETE", path, NULL, NULL, 0, &c1), 0);
	ck_assert_int_eq(c1.status, 202);
	hc_free(&c1);
	char *job = wait_job(d.port, id, 60);
	ck_assert_ptr_nonnull(strstr(job, "\"status\":\"canceled\""));
	free(job);
	ck_assert_int_eq(hc_request(d.port, "DELETE", path, NULL, NULL, 0, &c1), 0);
	ck_assert_int_eq(c1.status, 409);
	hc_free(&c1);
	hc_response nf = get(d.port, "/v1/jobs/0123456789abcdef0123456789abcdef", NULL);
	ck_assert_int_eq(nf.status, 404);
	hc_free(&nf);
	cJSON_Delete(j1);
	cJSON_Delete(j2);
	hc_free(&r1);
	hc_free(&r2);
	hc_free(&r3);
	free(second);
	free(other);
	free(body);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM), 0);
	free_pairs();
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_8_clients_500_items);
	tcase_add_test(tc, test_polling_cursor_and_etag);
	tcase_add_test(tc, test_restart_keeps_scores_and_jobs);
	tcase_add_test(tc, test_sigkill_with_jobs_queued_and_running);
	tcase_add_test(tc, test_cancel_and_idempotency);
	tcase_set_timeout(tc, 300);
}

int main(void)
{
	Suite *s = suite_create("runs");
	TCase *tc = tcase_create("sqlite"), *pg;
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	add_tests(tc);
	suite_add_tcase(s, tc);
	if (tpg_server()) {
		pg = tcase_create("postgres"); /* only when it runs: a TCase left out of the suite is never freed */
		tcase_add_checked_fixture(pg, setup_pg, teardown);
		add_tests(pg);
		suite_add_tcase(s, pg);
	} else {
		printf("check_runs: SEGLOSS_TEST_PG is not set: the postgres cases are left out (make check-pg runs them)\n");
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
