/*
 * check_replicas.c — several seglossd replicas on one PostgreSQL
 * database (the server of SEGLOSS_TEST_PG; `make replica-test` starts
 * one with tests/scripts/pg.sh and runs this suite).
 *
 * - Three replicas, 8 clients posting 1,000 items round-robin over them,
 *   every tenth item posted again to another replica: every replica
 *   answers the same aggregates, equal to a recomputation from the stored
 *   items and from what the clients were answered, and a cursor read
 *   through alternating replicas while the writes go on sees every item's
 *   every version once, in order, and nothing after the end.
 * - Jobs: 20 jobs submitted to one replica, which is SIGKILLed while it
 *   runs one; the other two finish every job (the killed replica's after
 *   its 2 s lease), and each job's run holds exactly its items.
 * - PostgreSQL shut down in the middle of a job: the job goes back to the
 *   queue, runs again once the database is back, and ends done with
 *   exactly its items.
 * - PostgreSQL shut down and started again under load: 503s naming the
 *   store while it is down, evaluations without a run answered, no other
 *   status, every accepted item stored with the score it was answered,
 *   and the same daemon processes serving again afterwards.
 *
 * Nothing waits for a fixed time: every wait polls a condition against a
 * generous deadline.
 */
#define _GNU_SOURCE /* pthread_tryjoin_np */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
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

static char dsn[1024];

/* ---- daemons ------------------------------------------------------------------------------ */

typedef struct replica {
	pid_t pid;
	int port;
	char log[64];
} replica;

static void replica_start(replica *d)
{
	const char *bin = getenv("SEGLOSSD_BIN") ? getenv("SEGLOSSD_BIN") : "build/release/seglossd";

	snprintf(d->log, sizeof(d->log), "/tmp/seglossd_replica_XXXXXX");
	int fd = mkstemp(d->log);
	ck_assert_int_ge(fd, 0);
	d->pid = fork();
	if (d->pid == 0) {
		dup2(fd, 2);
		execl(bin, bin, "--bind", "127.0.0.1", "--port", "0", "--workers", "2", "--queue", "512", "--db", dsn,
		      "--job-lease", "2", (char *)NULL);
		_exit(127);
	}
	close(fd);
	d->port = 0;
	double t0 = tu_now();
	while (d->port == 0) {
		size_t len;
		char *text = (char *)tu_read_file(d->log, &len);
		char *p = text ? strstr(text, "seglossd listening") : NULL;
		if (p && (p = strstr(p, " port=")) != NULL)
			d->port = atoi(p + 6);
		free(text);
		ck_assert_msg(d->port > 0 || tu_now() - t0 < 60, "seglossd did not start (see %s)", d->log);
		if (d->port == 0)
			usleep(20000);
	}
}

/* Stops a replica with sig; returns its exit status (-1 when killed by a signal). */
static int replica_stop(replica *d, int sig)
{
	int status;

	kill(d->pid, sig);
	ck_assert_int_eq(waitpid(d->pid, &status, 0), d->pid);
	unlink(d->log);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Whether the replica is the same process still running. */
static int replica_alive(const replica *d)
{
	int status;

	return waitpid(d->pid, &status, WNOHANG) == 0;
}

static void setup(void)
{
	ck_assert_int_eq(tpg_create(dsn, sizeof(dsn)), 0);
}

static void teardown(void)
{
	tpg_drop(dsn);
}

/* ---- requests ------------------------------------------------------------------------------- */

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

static hc_response post(int port, const char *path, const char *json)
{
	hc_response r;

	ck_assert_int_eq(hc_request(port, "POST", path, "Content-Type: application/json\r\n", json, strlen(json), &r), 0);
	return r;
}

static hc_response get(int port, const char *path)
{
	hc_response r;

	ck_assert_int_eq(hc_request(port, "GET", path, NULL, NULL, 0, &r), 0);
	return r;
}

#define NPAIRS 16
static char *targets[NPAIRS], *preds[NPAIRS];

static char *b64(const buf *b)
{
	char *s = malloc(b64_encoded_len(b->len) + 1);
	b64_encode(b->data, b->len, s);
	return s;
}

/* Mask pairs of side x side: a random binary target (PNG) and a float32 prediction (.npy). */
static void make_pairs(int side)
{
	uint64_t rng = 4242;
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

static char *eval_body(const char *run, const char *item, int pair)
{
	return fmt("{\"target\": \"%s\", \"prediction\": {\"npy\": \"%s\"}, \"run\": \"%s\", \"item\": \"%s\", "
		   "\"losses\": [\"bce\", \"dice\"], \"metrics\": [\"iou\"]}",
		   targets[pair], preds[pair], run, item);
}

static double number_at(cJSON *o, const char *section, const char *key)
{
	cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, section), key);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* ---- three replicas, 8 clients, 1,000 items ---------------------------------------------------- */

enum { REPLICAS = 3, CLIENTS = 8, ITEMS = 1000 };

typedef struct answer {
	double bce, dice, iou;
} answer;

static replica reps[REPLICAS];
static answer answers[ITEMS];
static atomic_int failures;

static void *client_main(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (int i = t; i < ITEMS; i += CLIENTS) {
		char item[16];
		snprintf(item, sizeof(item), "i%04d", i);
		/* Round-robin over the replicas; every tenth item again, on the next replica, with another prediction. */
		for (int rep = 0; rep < (i % 10 == 7 ? 2 : 1); rep++) {
			char *body = eval_body("rep", item, (i + 5 * rep) % NPAIRS);
			hc_response r = post(reps[(i + rep) % REPLICAS].port, "/v1/evaluate", body);
			cJSON *j = r.status == 200 ? cJSON_Parse(r.body) : NULL;
			if (j == NULL) {
				fprintf(stderr, "client %d item %s: %d %s\n", t, item, r.status, r.body ? r.body : r.error);
				atomic_fetch_add(&failures, 1);
			} else {
				answers[i] = (answer){number_at(j, "losses", "bce"), number_at(j, "losses", "dice"),
						      number_at(j, "metrics", "iou")};
			}
			cJSON_Delete(j);
			hc_free(&r);
			free(body);
		}
	}
	return NULL;
}

/* A reader of the items cursor, asking each replica in turn. */
typedef struct cursor {
	int64_t after;
	int64_t last_seq;
	int64_t seen[ITEMS]; /* the seq of the version last seen, per item */
	int versions;        /* item versions read */
	int turn;
} cursor;

/* One page; returns how many items it held. */
static int cursor_page(cursor *c, int limit)
{
	char path[128];
	int got = 0;

	snprintf(path, sizeof(path), "/v1/runs/rep/items?after=%lld&limit=%d", (long long)c->after, limit);
	hc_response r = get(reps[c->turn++ % REPLICAS].port, path);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	cJSON *j = cJSON_Parse(r.body), *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items"))
	{
		int64_t seq = (int64_t)cJSON_GetObjectItem(it, "seq")->valuedouble;
		int idx = atoi(cJSON_GetObjectItem(it, "item")->valuestring + 1);
		/* Strictly increasing across pages and replicas: no version read twice. */
		ck_assert_msg(seq > c->last_seq, "seq %lld after %lld", (long long)seq, (long long)c->last_seq);
		c->last_seq = seq;
		c->seen[idx] = seq;
		c->versions++;
		got++;
	}
	c->after = (int64_t)cJSON_GetObjectItem(j, "next")->valuedouble;
	cJSON_Delete(j);
	hc_free(&r);
	return got;
}

/* Mean, std and min/max of v[0..n) in long double, two passes. */
static void check_agg(cJSON *agg, const double *v, int n, const char *what)
{
	long double sum = 0, sq = 0;
	double lo = INFINITY, hi = -INFINITY;

	for (int i = 0; i < n; i++) {
		sum += v[i];
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	long double mean = sum / n;
	for (int i = 0; i < n; i++)
		sq += (v[i] - mean) * (v[i] - mean);
	double m = (double)mean, s = (double)sqrtl(sq / n);
	ck_assert_int_eq(cJSON_GetObjectItem(agg, "count")->valueint, n);
	ck_assert_msg(tu_close(cJSON_GetObjectItem(agg, "mean")->valuedouble, m, 1e-12, 0), "%s mean %.17g, recomputed %.17g",
		      what, cJSON_GetObjectItem(agg, "mean")->valuedouble, m);
	ck_assert_msg(tu_close(cJSON_GetObjectItem(agg, "std")->valuedouble, s, 1e-12, 0), "%s std %.17g, recomputed %.17g",
		      what, cJSON_GetObjectItem(agg, "std")->valuedouble, s);
	ck_assert_double_eq(cJSON_GetObjectItem(agg, "min")->valuedouble, lo);
	ck_assert_double_eq(cJSON_GetObjectItem(agg, "max")->valuedouble, hi);
}

START_TEST(test_three_replicas_one_run)
{
	pthread_t th[CLIENTS];
	cursor *c = calloc(1, sizeof(*c));
	char *bodies[REPLICAS], etags[REPLICAS][96];

	make_pairs(32);
	atomic_store(&failures, 0);
	for (int k = 0; k < REPLICAS; k++)
		replica_start(&reps[k]);
	/* The run exists before the reader starts. */
	char *body = eval_body("rep", "i0000", 0);
	hc_response r = post(reps[0].port, "/v1/evaluate", body);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	free(body);
	for (int t = 0; t < CLIENTS; t++)
		pthread_create(&th[t], NULL, client_main, (void *)(intptr_t)t);
	/* Read the cursor while the clients write, until they are done and a page comes back empty. */
	int done = 0, joined[CLIENTS] = {0};
	for (int writers_done = 0; !done;) {
		int all = 1;
		for (int t = 0; t < CLIENTS; t++) {
			if (!joined[t] && pthread_tryjoin_np(th[t], NULL) == 0)
				joined[t] = 1;
			all &= joined[t];
		}
		int got = cursor_page(c, 37);
		if (writers_done && got == 0)
			done = 1;
		writers_done = all;
	}
	ck_assert_int_eq(atomic_load(&failures), 0);

	/* Every replica: the same run, byte for byte, and the same ETag. */
	for (int k = 0; k < REPLICAS; k++) {
		r = get(reps[k].port, "/v1/runs/rep");
		ck_assert_int_eq(r.status, 200);
		ck_assert_int_eq(hc_header(&r, "ETag", etags[k], sizeof(etags[k])), 0);
		bodies[k] = strdup(r.body);
		hc_free(&r);
		if (k > 0) {
			ck_assert_str_eq(bodies[k], bodies[0]);
			ck_assert_str_eq(etags[k], etags[0]);
		}
	}
	/* Every item once in the final listing, with the seq the reader saw last for it. */
	double *v[3];
	for (int s = 0; s < 3; s++)
		v[s] = malloc(sizeof(double) * ITEMS);
	int n = 0;
	int64_t after = 0, prev = 0;
	for (int page = 0;; page++) {
		char path[96];
		snprintf(path, sizeof(path), "/v1/runs/rep/items?after=%lld&limit=1000", (long long)after);
		r = get(reps[page % REPLICAS].port, path);
		cJSON *j = cJSON_Parse(r.body), *it;
		int got = 0;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items"))
		{
			int idx = atoi(cJSON_GetObjectItem(it, "item")->valuestring + 1);
			int64_t seq = (int64_t)cJSON_GetObjectItem(it, "seq")->valuedouble;
			ck_assert_int_gt(seq, prev);
			prev = seq;
			ck_assert_msg(c->seen[idx] == seq, "item %d: final seq %lld, the reader saw %lld", idx, (long long)seq,
				      (long long)c->seen[idx]);
			v[0][n] = number_at(it, "losses", "bce");
			v[1][n] = number_at(it, "losses", "dice");
			v[2][n] = number_at(it, "metrics", "iou");
			/* And what the client was answered last for it. */
			ck_assert(v[0][n] == answers[idx].bce && v[1][n] == answers[idx].dice && v[2][n] == answers[idx].iou);
			n++;
			got++;
		}
		after = (int64_t)cJSON_GetObjectItem(j, "next")->valuedouble;
		cJSON_Delete(j);
		hc_free(&r);
		if (got == 0)
			break;
	}
	ck_assert_int_eq(n, ITEMS);
	/*
	 * 1,000 first versions, 100 second ones and the seed's: the reader read
	 * each item's latest version, and a first one only when it came before
	 * the item was written again.
	 */
	ck_assert_int_ge(c->versions, ITEMS);
	ck_assert_int_le(c->versions, ITEMS + ITEMS / 10 + 1);
	cJSON *run = cJSON_Parse(bodies[0]);
	ck_assert_int_eq(cJSON_GetObjectItem(run, "count")->valueint, ITEMS);
	check_agg(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "losses"), "bce"), v[0], n, "bce");
	check_agg(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "losses"), "dice"), v[1], n, "dice");
	check_agg(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "metrics"), "iou"), v[2], n, "iou");
	cJSON_Delete(run);
	for (int k = 0; k < REPLICAS; k++) {
		free(bodies[k]);
		ck_assert_int_eq(replica_stop(&reps[k], SIGTERM), 0);
	}
	for (int s = 0; s < 3; s++)
		free(v[s]);
	free(c);
	free_pairs();
}
END_TEST

/* ---- jobs and a replica killed mid-run ----------------------------------------------------------- */

enum { JOBS = 20, JOB_ITEMS = 8 };

static char *submit(int port, const char *body)
{
	hc_response r = post(port, "/v1/jobs", body);
	ck_assert_msg(r.status == 202, "%d %s", r.status, r.body);
	cJSON *j = cJSON_Parse(r.body);
	char *id = strdup(cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")));
	cJSON_Delete(j);
	hc_free(&r);
	return id;
}

/* A job's status and progress, read from replica port. */
static const char *job_state(int port, const char *id, int *done, char **result)
{
	char path[96];
	static char status[16];

	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	hc_response r = get(port, path);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	cJSON *j = cJSON_Parse(r.body);
	snprintf(status, sizeof(status), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")));
	*done = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "progress"), "done")->valueint;
	if (result)
		*result = strdup(r.body);
	cJSON_Delete(j);
	hc_free(&r);
	return status;
}

/*
 * Smooth 1024 x 1024 masks (a disc, and a soft disc shifted by k pixels
 * as the prediction): small as PNG, slow enough to score with the
 * distance losses that a job of JOB_ITEMS takes a while.
 */
#define SIDE 1024
static char *discs[JOBS + JOB_ITEMS][2];

static void make_discs(void)
{
	uint8_t *t = malloc(SIDE * SIDE), *p = malloc(SIDE * SIDE);

	for (int k = 0; k < JOBS + JOB_ITEMS; k++) {
		buf tb, pb;
		double r = 200 + 10 * k, cx = SIDE / 2.0, cy = SIDE / 2.0;
		for (int y = 0; y < SIDE; y++)
			for (int x = 0; x < SIDE; x++) {
				double d = hypot(x - cx, y - cy), dp = hypot(x - cx - k, y - cy + k);
				t[y * SIDE + x] = d < r ? 255 : 0;
				p[y * SIDE + x] = (uint8_t)(255.0 / (1.0 + exp((dp - r) / 8.0)));
			}
		buf_init(&tb, 0);
		buf_init(&pb, 0);
		pngio_encode_gray(t, SIDE, SIDE, 8, &tb, NULL);
		pngio_encode_gray(p, SIDE, SIDE, 8, &pb, NULL);
		discs[k][0] = b64(&tb);
		discs[k][1] = b64(&pb);
		buf_release(&tb);
		buf_release(&pb);
	}
	free(t);
	free(p);
}

static char *submit_job(int k)
{
	buf b;
	char *id, *body;

	buf_init(&b, 0);
	buf_puts(&b, "{\"items\": [");
	for (int i = 0; i < JOB_ITEMS; i++)
		buf_printf(&b, "%s{\"target\": \"%s\", \"prediction\": \"%s\", \"item\": \"k%d-%d\"}", i ? "," : "",
			   discs[k + i][0], discs[k + i][1], k, i);
	buf_printf(&b, "], \"losses\": [\"bce\", \"hausdorff_dt\", \"boundary\"], \"metrics\": [\"hausdorff95\"], "
		       "\"run\": \"job-%d\"}",
		   k);
	body = (char *)buf_detach(&b, NULL);
	id = submit(reps[0].port, body);
	free(body);
	return id;
}

START_TEST(test_jobs_survive_a_killed_replica)
{
	char *ids[JOBS];
	int done;

	make_discs();
	/* Only A at first: the first job is surely A's. */
	replica_start(&reps[0]);
	for (int k = 0; k < JOBS; k++)
		ids[k] = submit_job(k);
	double t0 = tu_now();
	for (;;) {
		const char *st = job_state(reps[0].port, ids[0], &done, NULL);
		if (strcmp(st, "running") == 0 && done >= 1)
			break;
		ck_assert_msg(strcmp(st, "queued") == 0 || strcmp(st, "running") == 0, "the first job is %s already", st);
		ck_assert_msg(tu_now() - t0 < 120, "A never got into its first job");
		usleep(5000);
	}
	/* B and C join (and claim queued jobs at once); A dies in the middle of a job. */
	replica_start(&reps[1]);
	replica_start(&reps[2]);
	int first_done_at_kill;
	job_state(reps[1].port, ids[0], &first_done_at_kill, NULL);
	ck_assert_int_eq(replica_stop(&reps[0], SIGKILL), -1);
	/* B and C finish every job. */
	for (int k = 0; k < JOBS; k++) {
		char *result = NULL;
		t0 = tu_now();
		for (;;) {
			const char *st = job_state(reps[1 + k % 2].port, ids[k], &done, &result);
			if (strcmp(st, "done") == 0)
				break;
			ck_assert_msg(strcmp(st, "queued") == 0 || strcmp(st, "running") == 0, "job %d: %s", k, result);
			free(result);
			ck_assert_msg(tu_now() - t0 < 180, "job %d did not finish", k);
			usleep(50000);
		}
		cJSON *j = cJSON_Parse(result);
		cJSON *res = cJSON_GetObjectItem(j, "result");
		ck_assert_int_eq(cJSON_GetObjectItem(res, "count")->valueint, JOB_ITEMS);
		ck_assert_int_eq(cJSON_GetObjectItem(res, "failed")->valueint, 0);
		cJSON_Delete(j);
		free(result);
		/* Its run holds exactly its items, each once (a job run twice replaced, did not add). */
		char path[64];
		snprintf(path, sizeof(path), "/v1/runs/job-%d/items?limit=100", k);
		hc_response r = get(reps[2].port, path);
		ck_assert_int_eq(r.status, 200);
		j = cJSON_Parse(r.body);
		cJSON *it;
		int n = 0, mask = 0;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items"))
		{
			int kk, i;
			ck_assert_int_eq(sscanf(cJSON_GetObjectItem(it, "item")->valuestring, "k%d-%d", &kk, &i), 2);
			ck_assert_int_eq(kk, k);
			mask |= 1 << i;
			n++;
		}
		ck_assert_int_eq(n, JOB_ITEMS);
		ck_assert_int_eq(mask, (1 << JOB_ITEMS) - 1);
		cJSON_Delete(j);
		hc_free(&r);
		snprintf(path, sizeof(path), "/v1/runs/job-%d", k);
		r = get(reps[1].port, path);
		j = cJSON_Parse(r.body);
		ck_assert_int_eq(cJSON_GetObjectItem(j, "count")->valueint, JOB_ITEMS);
		ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "losses"), "bce"), "count")->valueint,
				 JOB_ITEMS);
		cJSON_Delete(j);
		hc_free(&r);
	}
	fprintf(stderr, "check_replicas: the first job had %d of %d items done when A was killed\n", first_done_at_kill,
		JOB_ITEMS);
	for (int k = 1; k < REPLICAS; k++)
		ck_assert_int_eq(replica_stop(&reps[k], SIGTERM), 0);
	for (int k = 0; k < JOBS; k++)
		free(ids[k]);
	for (int k = 0; k < JOBS + JOB_ITEMS; k++) {
		free(discs[k][0]);
		free(discs[k][1]);
	}
}
END_TEST

/* ---- PostgreSQL goes away in the middle of a job ------------------------------------------------------ */

enum { OUTAGE_ITEMS = 20 };

/* Whether the replica's log (stderr) holds text. */
static int log_has(const replica *d, const char *text)
{
	size_t len;
	char *log = (char *)tu_read_file(d->log, &len);
	int has = log && strstr(log, text) != NULL;

	free(log);
	return has;
}

static void pg_script(const char *verb);

START_TEST(test_job_survives_an_outage)
{
	char *result = NULL;
	int done;
	buf b;

	make_discs();
	replica_start(&reps[0]);
	buf_init(&b, 0);
	buf_puts(&b, "{\"items\": [");
	for (int i = 0; i < OUTAGE_ITEMS; i++)
		buf_printf(&b, "%s{\"target\": \"%s\", \"prediction\": \"%s\", \"item\": \"o%d\"}", i ? "," : "",
			   discs[i][0], discs[i][1], i);
	buf_puts(&b, "], \"losses\": [\"bce\", \"hausdorff_dt\", \"boundary\"], \"run\": \"outage\"}");
	char *body = (char *)buf_detach(&b, NULL);
	char *id = submit(reps[0].port, body);
	free(body);
	double t0 = tu_now();
	for (;;) {
		const char *st = job_state(reps[0].port, id, &done, NULL);
		if (strcmp(st, "running") == 0 && done >= 1)
			break;
		ck_assert_msg(strcmp(st, "queued") == 0 || strcmp(st, "running") == 0, "the job is %s already", st);
		ck_assert_msg(tu_now() - t0 < 120, "the job never got going");
		usleep(5000);
	}
	/* Down in the middle of the job, until the runner has met the outage and put the job back. */
	pg_script("down");
	t0 = tu_now();
	while (!log_has(&reps[0], "back in the queue, to run again when the store answers")) {
		ck_assert_msg(tu_now() - t0 < 120, "the runner never met the outage (see %s)", reps[0].log);
		usleep(20000);
	}
	pg_script("up");
	/* Back: the daemon may answer 503 for a second, until it has tried the database again. */
	t0 = tu_now();
	for (;;) {
		hc_response r = get(reps[0].port, "/v1/jobs");
		int status = r.status;
		hc_free(&r);
		if (status == 200)
			break;
		ck_assert_msg(status == 503, "status %d", status);
		ck_assert_msg(tu_now() - t0 < 120, "the daemon did not reconnect");
		usleep(20000);
	}
	/* The same daemon runs it again from its first item, to the end. */
	t0 = tu_now();
	for (;;) {
		const char *st = job_state(reps[0].port, id, &done, &result);
		if (strcmp(st, "done") == 0)
			break;
		ck_assert_msg(strcmp(st, "queued") == 0 || strcmp(st, "running") == 0, "the job: %s", result);
		free(result);
		ck_assert_msg(tu_now() - t0 < 300, "the job did not finish after the outage");
		usleep(50000);
	}
	cJSON *j = cJSON_Parse(result);
	cJSON *res = cJSON_GetObjectItem(j, "result");
	ck_assert_int_eq(cJSON_GetObjectItem(res, "count")->valueint, OUTAGE_ITEMS);
	ck_assert_int_eq(cJSON_GetObjectItem(res, "failed")->valueint, 0);
	cJSON_Delete(j);
	free(result);
	/* Its run holds exactly its items, each once, and the aggregates count each once. */
	hc_response r = get(reps[0].port, "/v1/runs/outage/items?limit=100");
	ck_assert_int_eq(r.status, 200);
	j = cJSON_Parse(r.body);
	cJSON *it;
	int n = 0;
	char seen[OUTAGE_ITEMS] = {0};
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items"))
	{
		int i = -1;
		ck_assert_int_eq(sscanf(cJSON_GetObjectItem(it, "item")->valuestring, "o%d", &i), 1);
		ck_assert(i >= 0 && i < OUTAGE_ITEMS && !seen[i]);
		seen[i] = 1;
		n++;
	}
	ck_assert_int_eq(n, OUTAGE_ITEMS);
	cJSON_Delete(j);
	hc_free(&r);
	r = get(reps[0].port, "/v1/runs/outage");
	ck_assert_int_eq(r.status, 200);
	j = cJSON_Parse(r.body);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "count")->valueint, OUTAGE_ITEMS);
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "losses"), "bce"), "count")->valueint,
			 OUTAGE_ITEMS);
	cJSON_Delete(j);
	hc_free(&r);
	ck_assert(replica_alive(&reps[0]));
	ck_assert_int_eq(replica_stop(&reps[0], SIGTERM), 0);
	free(id);
	for (int k = 0; k < JOBS + JOB_ITEMS; k++) {
		free(discs[k][0]);
		free(discs[k][1]);
	}
}
END_TEST

/* ---- PostgreSQL goes away under load, and comes back ------------------------------------------------ */

enum { WRITERS = 4, MAX_POSTS = 100000 };

typedef struct posted {
	int status;
	double bce;
} posted;

static posted *posts[WRITERS];
static atomic_int nposts[WRITERS];
static atomic_int accepted, unavailable, stop_writers;
static char bad[256];

static void *writer_main(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (int i = 0; i < MAX_POSTS && !atomic_load(&stop_writers); i++) {
		char item[32];
		snprintf(item, sizeof(item), "w%d-%d", t, i);
		char *body = eval_body("load", item, (t + i) % NPAIRS);
		hc_response r;
		const char *hdr = "Content-Type: application/json\r\n";
		if (hc_request(reps[(t + i) % 2].port, "POST", "/v1/evaluate", hdr, body, strlen(body), &r) != 0 && !bad[0])
			snprintf(bad, sizeof(bad), "no answer: %s", r.error);
		posts[t][i].status = r.status;
		if (r.status == 200) {
			cJSON *j = cJSON_Parse(r.body);
			posts[t][i].bce = number_at(j, "losses", "bce");
			cJSON_Delete(j);
			atomic_fetch_add(&accepted, 1);
		} else if (r.status == 503) {
			char retry[16];
			cJSON *j = cJSON_Parse(r.body);
			const char *d = cJSON_GetStringValue(cJSON_GetObjectItem(j, "detail"));
			if ((d == NULL || strncmp(d, "store: ", 7) != 0 || hc_header(&r, "Retry-After", retry, sizeof(retry)) != 0) &&
			    !bad[0])
				snprintf(bad, sizeof(bad), "503 without the store's cause or Retry-After: %.200s", r.body);
			cJSON_Delete(j);
			atomic_fetch_add(&unavailable, 1);
			/* A client backs off (here less than Retry-After says): the outage should not use up the ports. */
			usleep(20000);
		} else if (!bad[0]) {
			snprintf(bad, sizeof(bad), "status %d: %.200s", r.status, r.body ? r.body : r.error);
		}
		atomic_store(&nposts[t], i + 1);
		hc_free(&r);
		free(body);
	}
	return NULL;
}

/* "up" or "down", as the replica's /readyz says (which must stay 200). */
static int store_up(int port)
{
	hc_response r = get(port, "/readyz");
	ck_assert_int_eq(r.status, 200);
	cJSON *j = cJSON_Parse(r.body);
	int up = strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "store")), "up") == 0;
	cJSON_Delete(j);
	hc_free(&r);
	return up;
}

static void pg_script(const char *verb)
{
	char cmd[512];
	const char *dir = getenv("SEGLOSS_TEST_PG_DIR");

	ck_assert_msg(dir != NULL, "SEGLOSS_TEST_PG_DIR is not set (run through tests/scripts/pg.sh run)");
	snprintf(cmd, sizeof(cmd), "tests/scripts/pg.sh %s '%s'", verb, dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void wait_accepted(int more, const char *what)
{
	int target = atomic_load(&accepted) + more;
	double t0 = tu_now();

	while (atomic_load(&accepted) < target) {
		ck_assert_msg(tu_now() - t0 < 120, "%s: only %d accepted", what, atomic_load(&accepted));
		usleep(10000);
	}
}

START_TEST(test_postgres_restart_under_load)
{
	pthread_t th[WRITERS];
	double t0;

	make_pairs(32);
	for (int k = 0; k < 2; k++)
		replica_start(&reps[k]);
	atomic_store(&accepted, 0);
	atomic_store(&unavailable, 0);
	atomic_store(&stop_writers, 0);
	bad[0] = '\0';
	for (int t = 0; t < WRITERS; t++) {
		posts[t] = calloc(MAX_POSTS, sizeof(posted));
		atomic_store(&nposts[t], 0);
		pthread_create(&th[t], NULL, writer_main, (void *)(intptr_t)t);
	}
	wait_accepted(100, "before the shutdown");
	pg_script("down");
	/* While it is down: 503s naming the store, both replicas ready and evaluating without a run. */
	t0 = tu_now();
	while (atomic_load(&unavailable) < 20 || store_up(reps[0].port) || store_up(reps[1].port))
		ck_assert_msg(tu_now() - t0 < 120, "the outage never showed (%d 503s)", atomic_load(&unavailable));
	for (int k = 0; k < 2; k++) {
		char *body = fmt("{\"target\": \"%s\", \"prediction\": {\"npy\": \"%s\"}}", targets[0], preds[0]);
		hc_response r = post(reps[k].port, "/v1/evaluate", body);
		ck_assert_int_eq(r.status, 200);
		hc_free(&r);
		free(body);
		r = get(reps[k].port, "/metrics");
		ck_assert_ptr_nonnull(strstr(r.body, "segloss_store_up{backend=\"postgres\"} 0"));
		hc_free(&r);
	}
	pg_script("up");
	/* Back without a restart of either daemon: both say up and accept writes again. */
	t0 = tu_now();
	while (!store_up(reps[0].port) || !store_up(reps[1].port))
		ck_assert_msg(tu_now() - t0 < 120, "the replicas did not reconnect");
	wait_accepted(100, "after the restart");
	atomic_store(&stop_writers, 1);
	for (int t = 0; t < WRITERS; t++)
		pthread_join(th[t], NULL);
	ck_assert_msg(bad[0] == '\0', "%s", bad);
	for (int k = 0; k < 2; k++) {
		ck_assert(replica_alive(&reps[k]));
		hc_response r = get(reps[k].port, "/metrics");
		ck_assert_ptr_nonnull(strstr(r.body, "segloss_store_up{backend=\"postgres\"} 1"));
		ck_assert_ptr_null(strstr(r.body, "segloss_store_reconnects_total{backend=\"postgres\"} 0\n"));
		hc_free(&r);
	}
	/* Nothing accepted was lost: every 200 is stored, with the score it was answered. */
	int stored = 0, acc = 0;
	int64_t after = 0;
	char *seen = calloc((size_t)WRITERS * MAX_POSTS, 1);
	double *bce = calloc((size_t)WRITERS * MAX_POSTS, sizeof(double));
	for (;;) {
		char path[96];
		snprintf(path, sizeof(path), "/v1/runs/load/items?after=%lld&limit=1000", (long long)after);
		hc_response r = get(reps[stored % 2].port, path);
		ck_assert_int_eq(r.status, 200);
		cJSON *j = cJSON_Parse(r.body), *it;
		int got = 0;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items"))
		{
			int t, i;
			ck_assert_int_eq(sscanf(cJSON_GetObjectItem(it, "item")->valuestring, "w%d-%d", &t, &i), 2);
			ck_assert_int_eq(seen[t * MAX_POSTS + i], 0);
			seen[t * MAX_POSTS + i] = 1;
			bce[t * MAX_POSTS + i] = number_at(it, "losses", "bce");
			stored++;
			got++;
		}
		after = (int64_t)cJSON_GetObjectItem(j, "next")->valuedouble;
		cJSON_Delete(j);
		hc_free(&r);
		if (got == 0)
			break;
	}
	for (int t = 0; t < WRITERS; t++)
		for (int i = 0; i < atomic_load(&nposts[t]); i++) {
			if (posts[t][i].status != 200)
				continue;
			acc++;
			ck_assert_msg(seen[t * MAX_POSTS + i], "item w%d-%d was accepted and is not stored", t, i);
			ck_assert(bce[t * MAX_POSTS + i] == posts[t][i].bce);
		}
	ck_assert_int_eq(acc, atomic_load(&accepted));
	ck_assert_int_ge(stored, acc);
	fprintf(stderr, "check_replicas: %d accepted, %d answered 503 while PostgreSQL was down, %d stored\n", acc,
		atomic_load(&unavailable), stored);
	for (int k = 0; k < 2; k++)
		ck_assert_int_eq(replica_stop(&reps[k], SIGTERM), 0);
	for (int t = 0; t < WRITERS; t++)
		free(posts[t]);
	free(seen);
	free(bce);
	free_pairs();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("replicas");
	/* One case each, so CK_RUN_CASE=runs, jobs or restart runs one alone. */
	const char *names[4] = {"runs", "jobs", "outage", "restart"};
	const TTest *tests[4] = {test_three_replicas_one_run, test_jobs_survive_a_killed_replica,
				 test_job_survives_an_outage, test_postgres_restart_under_load};
	SRunner *sr;
	int failed;

	if (tpg_server() == NULL) {
		fprintf(stderr, "check_replicas: SEGLOSS_TEST_PG is not set; run it with make replica-test\n");
		return EXIT_FAILURE;
	}
	for (int i = 0; i < 4; i++) {
		TCase *tc = tcase_create(names[i]);
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 600);
		tcase_add_test(tc, tests[i]);
		suite_add_tcase(s, tc);
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
