/*
 * check_daemon.c — the seglossd binary as operators run it.
 *
 * Concurrency: 64 clients at once, valid and invalid requests mixed; every
 * valid answer carries the CLI's numbers for the same files and specs,
 * every invalid one its own error, and the daemon stays up. SIGTERM:
 * requests in flight when the signal arrives all complete, new
 * connections are refused afterwards, and the exit status is 0.
 * The binaries come from $SEGLOSSD_BIN and $SEGLOSS_BIN (set by make).
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "codec/b64.h"
#include "codec/buf.h"
#include "codec/pngio.h"
#include "httpclient.h"
#include "testutil.h"

#define FIX "tests/fixtures/"

typedef struct daemon_proc {
	pid_t pid;
	int port;
	char log[64];
} daemon_proc;

static const char *keys_file; /* exported as SEGLOSS_API_KEYS_FILE to the next daemon started */
static const char *extra_env[4]; /* "NAME=value" pairs exported to the next daemon started */

/* Starts seglossd on a free port with extra flags; waits until it listens. */
static void daemon_start(daemon_proc *d, const char *workers, const char *queue)
{
	const char *bin = getenv("SEGLOSSD_BIN") ? getenv("SEGLOSSD_BIN") : "build/release/seglossd";

	snprintf(d->log, sizeof(d->log), "/tmp/seglossd_test_XXXXXX");
	int fd = mkstemp(d->log);
	ck_assert_int_ge(fd, 0);
	d->pid = fork();
	if (d->pid == 0) {
		dup2(fd, 2);
		if (keys_file)
			setenv("SEGLOSS_API_KEYS_FILE", keys_file, 1);
		for (int i = 0; i < 4 && extra_env[i]; i++)
			putenv((char *)extra_env[i]);
		execl(bin, bin, "--bind", "127.0.0.1", "--port", "0", "--workers", workers, "--queue", queue, "--db",
		      ":memory:", (char *)NULL);
		_exit(127);
	}
	close(fd);
	d->port = 0;
	/* Polled until the "listening" line appears: a generous deadline, not a guess at start-up time. */
	for (double t0 = tu_now(); d->port == 0 && tu_now() - t0 < 60.0;) {
		size_t len;
		char *text = (char *)tu_read_file(d->log, &len);
		char *p = text ? strstr(text, "seglossd listening") : NULL;
		if (p && (p = strstr(p, " port=")) != NULL)
			d->port = atoi(p + 6);
		free(text);
		if (d->port == 0)
			usleep(20000);
	}
	ck_assert_msg(d->port > 0, "seglossd did not start within 60 s (see %s)", d->log);
}

/* A gauge's value in a /metrics text (name with its "\n" before it, e.g. "\nsegloss_queue_depth "), -1 when absent. */
static int gauge_in(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? atoi(p + strlen(key)) : -1;
}

/*
 * Polls /metrics until workers_busy + queue_depth (read from one answer)
 * reaches n: that many requests have been received whole and handed to
 * the pool. A generous deadline, then a failure.
 */
static void wait_handed_over(int port, int n)
{
	int got = -1;

	for (double t0 = tu_now(); tu_now() - t0 < 60.0; usleep(10000)) {
		hc_response r;
		ck_assert_int_eq(hc_request(port, "GET", "/metrics", NULL, NULL, 0, &r), 0);
		got = gauge_in(r.body, "\nsegloss_workers_busy ") + gauge_in(r.body, "\nsegloss_queue_depth ");
		hc_free(&r);
		if (got >= n)
			return;
	}
	ck_abort_msg("only %d of %d requests reached the pool within 60 s", got, n);
}

/* Sends sig and returns the exit status (-1 if killed by a signal). */
static int daemon_stop(daemon_proc *d, int sig)
{
	int status;

	kill(d->pid, sig);
	ck_assert_int_eq(waitpid(d->pid, &status, 0), d->pid);
	unlink(d->log);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The access-log line of the request to path that answered status (a copy; caller frees), or NULL. */
static char *log_line_of(const char *log, const char *path, int status)
{
	char key[160];
	const char *p;

	snprintf(key, sizeof(key), " path=%s status=%d ", path, status);
	p = strstr(log, key);
	if (p == NULL)
		return NULL;
	while (p > log && p[-1] != '\n')
		p--;
	return strndup(p, strcspn(p, "\n"));
}

static char *b64_file(const char *path)
{
	size_t len;
	uint8_t *data = tu_read_file(path, &len);
	ck_assert_msg(data != NULL, "cannot read %s", path);
	char *text = malloc(b64_encoded_len(len) + 1);
	b64_encode(data, len, text);
	free(data);
	return text;
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

/* ---- concurrency --------------------------------------------------------------- */

typedef struct kind {
	const char *fixture;  /* case directory */
	const char *tfile, *pfile;
	const char *loss1, *loss2, *metric;
	int status;           /* expected */
	const char *error;    /* detail prefix for errors */
	cJSON *want;          /* the CLI's output for valid kinds */
} kind;

static kind kinds[] = {
	{"blobs_soft8", "target.png", "prediction.png", "bce", "focal:gamma=3", "hausdorff95", 200, NULL, NULL},
	{"inst16_touching", "target.png", "prediction.png", "shape_aware", "dice", "iou", 200, NULL, NULL},
	{"npy_int64", "target.npy", "prediction.npy", "tversky", "boundary", "assd", 200, NULL, NULL},
	{"logits", "target.png", "prediction.npy", "exp_log", "generalized_dice", "surface_dice", 200, NULL, NULL},
	{"blobs_soft8", "target.png", "prediction.png", "dcie", "bce", "iou", 422, "unknown loss 'dcie'", NULL},
	{"blobs_soft8", "target.png", "../bin01_nonsquare/prediction.png", "bce", "dice", "iou", 422,
	 "prediction is 80x48 but target is 64x64", NULL},
};
#define NKINDS ((int)(sizeof(kinds) / sizeof(kinds[0])))

static char *bodies[NKINDS];

typedef struct client {
	int port;
	int k;
	hc_response r;
} client;

static void *client_main(void *opaque)
{
	client *c = opaque;

	if (hc_request(c->port, "POST", "/v1/evaluate", "Content-Type: application/json\r\n", bodies[c->k],
		       strlen(bodies[c->k]), &c->r) != 0)
		c->r.status = 0;
	return NULL;
}

static void prepare_kinds(void)
{
	const char *cli = getenv("SEGLOSS_BIN") ? getenv("SEGLOSS_BIN") : "build/release/segloss";

	for (int k = 0; k < NKINDS; k++) {
		kind *kd = &kinds[k];
		char tpath[256], ppath[256];
		snprintf(tpath, sizeof(tpath), FIX "%s/%s", kd->fixture, kd->tfile);
		snprintf(ppath, sizeof(ppath), FIX "%s/%s", kd->fixture, kd->pfile);
		int logits = strcmp(kd->fixture, "logits") == 0;
		char *t = b64_file(tpath), *p = b64_file(ppath);
		bodies[k] = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"logits\": %s, \"losses\": [\"%s\", \"%s\"], "
				"\"metrics\": [\"%s\"]}",
				t, p, logits ? "true" : "false", kd->loss1, kd->loss2, kd->metric);
		free(t);
		free(p);
		if (kd->status != 200)
			continue;
		const char *argv[] = {cli,      "eval",       "--target", tpath, "--prediction", ppath,
				      "--loss", kd->loss1,    "--loss",   kd->loss2, "--metric", kd->metric,
				      logits ? "--logits" : NULL, NULL};
		char *out, *err;
		ck_assert_int_eq(tu_run((char *const *)argv, &out, &err), 0);
		kd->want = cJSON_Parse(out);
		ck_assert_ptr_nonnull(kd->want);
		free(out);
		free(err);
	}
}

static void check_answer(const kind *kd, hc_response *r)
{
	cJSON *got = cJSON_Parse(r->body);

	ck_assert_msg(r->status == kd->status, "%s: status %d, wanted %d: %s", kd->fixture, r->status, kd->status,
		      r->body);
	ck_assert_ptr_nonnull(got);
	if (kd->status != 200) {
		const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(got, "detail"));
		ck_assert_ptr_nonnull(detail);
		ck_assert_msg(strncmp(detail, kd->error, strlen(kd->error)) == 0, "detail %s", detail);
		cJSON_Delete(got);
		return;
	}
	const char *sections[] = {"losses", "metrics"};
	for (int s = 0; s < 2; s++) {
		cJSON *item;
		cJSON_ArrayForEach(item, cJSON_GetObjectItem(kd->want, sections[s]))
		{
			cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(got, sections[s]), item->string);
			ck_assert_ptr_nonnull(v);
			if (cJSON_IsNull(item))
				ck_assert(cJSON_IsNull(v));
			else
				ck_assert_msg(v->valuedouble == item->valuedouble, "%s %s: %.17g vs CLI %.17g",
					      kd->fixture, item->string, v->valuedouble, item->valuedouble);
		}
	}
	cJSON_Delete(got);
}

START_TEST(test_64_concurrent_clients)
{
	enum { N = 64 };
	daemon_proc d;
	pthread_t th[N];
	client cl[N];
	hc_response r;

	prepare_kinds();
	daemon_start(&d, "2", "256");
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			cl[i].port = d.port;
			cl[i].k = (i + round) % NKINDS;
			pthread_create(&th[i], NULL, client_main, &cl[i]);
		}
		for (int i = 0; i < N; i++)
			pthread_join(th[i], NULL);
		for (int i = 0; i < N; i++) {
			check_answer(&kinds[cl[i].k], &cl[i].r);
			hc_free(&cl[i].r);
		}
	}
	/* Still serving. */
	ck_assert_int_eq(hc_request(d.port, "GET", "/readyz", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	ck_assert_int_eq(hc_request(d.port, "GET", "/metrics", NULL, NULL, 0, &r), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "segloss_http_requests_total{route=\"evaluate\",code=\"422\"}"));
	hc_free(&r);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM), 0);
	for (int k = 0; k < NKINDS; k++) {
		free(bodies[k]);
		cJSON_Delete(kinds[k].want);
	}
}
END_TEST

/* ---- SIGTERM ---------------------------------------------------------------------- */

typedef struct slow {
	int port;
	const char *body;
	hc_response r;
} slow;

static void *slow_main(void *opaque)
{
	slow *s = opaque;

	if (hc_request(s->port, "POST", "/v1/evaluate", "Content-Type: application/json\r\n", s->body, strlen(s->body),
		       &s->r) != 0)
		s->r.status = 0;
	return NULL;
}

START_TEST(test_sigterm_finishes_requests_in_flight)
{
	enum { N = 4 };
	daemon_proc d;
	pthread_t th[N];
	slow s[N];
	uint8_t *g = calloc(1536 * 1536, 1);
	buf png;
	hc_response r;

	for (int i = 0; i < 1536 * 1536; i++)
		g[i] = (uint8_t)(((i % 1536) / 9 + (i / 1536) / 4) % 3 == 0 ? 255 : 0);
	buf_init(&png, 0);
	pngio_encode_gray(g, 1536, 1536, 8, &png, NULL);
	free(g);
	char *b = malloc(b64_encoded_len(png.len) + 1);
	b64_encode(png.data, png.len, b);
	char *body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"hausdorff_dt\", \"bce\"]}", b, b);

	daemon_start(&d, "1", "16");
	for (int i = 0; i < N; i++) {
		s[i].port = d.port;
		s[i].body = body;
		pthread_create(&th[i], NULL, slow_main, &s[i]);
	}
	/*
	 * Wait until all four are received whole and handed to the pool (one
	 * computing, three queued), then ask the daemon to stop. (A request
	 * still uploading when the drain starts is answered 503 "draining",
	 * which is not what this tests.)
	 */
	wait_handed_over(d.port, N);
	kill(d.pid, SIGTERM);
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < N; i++) {
		ck_assert_msg(s[i].r.status == 200, "request %d: status %d", i, s[i].r.status);
		cJSON *j = cJSON_Parse(s[i].r.body);
		ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "losses"), "hausdorff_dt")));
		cJSON_Delete(j);
		hc_free(&s[i].r);
	}
	int status;
	ck_assert_int_eq(waitpid(d.pid, &status, 0), d.pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	/* Gone: the port refuses connections. */
	ck_assert_int_ne(hc_request(d.port, "GET", "/healthz", NULL, NULL, 0, &r), 0);
	size_t len;
	char *log = (char *)tu_read_file(d.log, &len);
	ck_assert_ptr_nonnull(strstr(log, "SIGTERM received: draining"));
	ck_assert_ptr_nonnull(strstr(log, "seglossd stopped"));
	free(log);
	unlink(d.log);
	free(body);
	free(b);
	buf_release(&png);
}
END_TEST

START_TEST(test_healthcheck_mode)
{
	daemon_proc d;
	char port[16];
	char *out, *err;
	const char *bin = getenv("SEGLOSSD_BIN") ? getenv("SEGLOSSD_BIN") : "build/release/seglossd";

	daemon_start(&d, "1", "4");
	snprintf(port, sizeof(port), "%d", d.port);
	const char *argv[] = {bin, "--healthcheck", "--port", port, NULL};
	ck_assert_int_eq(tu_run((char *const *)argv, &out, &err), 0);
	ck_assert_ptr_nonnull(strstr(err, "healthy"));
	free(out);
	free(err);
	ck_assert_int_eq(daemon_stop(&d, SIGINT), 0);
	ck_assert_int_eq(tu_run((char *const *)argv, &out, &err), 1);
	ck_assert_ptr_nonnull(strstr(err, "unhealthy"));
	free(out);
	free(err);
	/* A bad setting is a usage error naming its origin. */
	const char *bad[] = {bin, "--workers", "zero", NULL};
	ck_assert_int_eq(tu_run((char *const *)bad, &out, &err), 2);
	ck_assert_str_eq(err, "seglossd: invalid value 'zero' for --workers\n");
	free(out);
	free(err);
}
END_TEST

/* SIGHUP re-reads the keys file; keys never reach the log. */
START_TEST(test_sighup_reloads_keys)
{
	daemon_proc d;
	char path[] = "/tmp/check_daemon_keysXXXXXX";
	int fd = mkstemp(path);
	hc_response r;

	ck_assert_int_gt(write(fd, "first-secret-key\n", 17), 0);
	close(fd);
	keys_file = path;
	daemon_start(&d, "1", "4");
	keys_file = NULL;
	ck_assert_int_eq(hc_request(d.port, "GET", "/v1/losses", "Authorization: Bearer first-secret-key\r\n", NULL, 0, &r),
			 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	FILE *f = fopen(path, "w");
	fputs("second-secret-key\n", f);
	fclose(f);
	kill(d.pid, SIGHUP);
	int seen = 0;
	for (double t0 = tu_now(); !seen && tu_now() - t0 < 60.0;) {
		size_t len;
		char *log = (char *)tu_read_file(d.log, &len);
		seen = log && strstr(log, "SIGHUP: API keys reloaded (1 keys)") != NULL;
		free(log);
		if (!seen)
			usleep(20000);
	}
	ck_assert_msg(seen, "no reload in the log 60 s after SIGHUP");
	ck_assert_int_eq(hc_request(d.port, "GET", "/v1/losses", "Authorization: Bearer first-secret-key\r\n", NULL, 0, &r),
			 0);
	ck_assert_int_eq(r.status, 401);
	hc_free(&r);
	ck_assert_int_eq(hc_request(d.port, "GET", "/v1/losses", "Authorization: Bearer second-secret-key\r\n", NULL, 0,
				    &r),
			 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	/* Read once the daemon has exited, when every access-log line is written. */
	kill(d.pid, SIGTERM);
	int status;
	ck_assert_int_eq(waitpid(d.pid, &status, 0), d.pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	size_t len;
	char *log = (char *)tu_read_file(d.log, &len);
	ck_assert_ptr_nonnull(strstr(log, "api_keys=on"));
	ck_assert_ptr_null(strstr(log, "secret-key"));
	char *line = log_line_of(log, "/v1/losses", 401);
	ck_assert_ptr_nonnull(line);
	ck_assert_msg(strstr(line, " problem=/problems/unauthorized detail=\"the bearer token is not a valid API key\"") != NULL,
		      "%s", line);
	free(line);
	free(log);
	unlink(d.log);
	unlink(path);
}
END_TEST

/* A body that keeps one worker busy for a while: distance losses on a 2048x2048 mask. */
static char *slow_body(void)
{
	int side = 2048;
	uint8_t *g = calloc((size_t)side * side, 1);
	buf png;

	for (int i = 0; i < side * side; i++)
		g[i] = (uint8_t)(((i % side) / 9 + (i / side) / 4) % 3 == 0 ? 255 : 0);
	buf_init(&png, 0);
	pngio_encode_gray(g, side, side, 8, &png, NULL);
	free(g);
	char *b = malloc(b64_encoded_len(png.len) + 1);
	b64_encode(png.data, png.len, b);
	buf_release(&png);
	char *body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"hausdorff_dt\", \"boundary\"]}", b, b);
	free(b);
	return body;
}

/*
 * SIGTERM with a shutdown delay: readiness fails at once, requests are
 * still served, then the listener closes. Nothing here waits a fixed
 * time: readiness is polled until it fails, and the 200 that follows is
 * itself the proof that the delay had not run out (once it has, new
 * connections are refused); only a machine that needs more than the
 * whole delay (3 s) to answer two requests could fail it.
 */
START_TEST(test_shutdown_delay)
{
	daemon_proc d;
	hc_response r;

	extra_env[0] = "SEGLOSS_SHUTDOWN_DELAY=3";
	daemon_start(&d, "1", "4");
	extra_env[0] = NULL;
	double t0 = tu_now();
	kill(d.pid, SIGTERM);
	/* Readiness fails as soon as the signal is handled. */
	int status = 0;
	while (status != 503) {
		ck_assert_msg(hc_request(d.port, "GET", "/readyz", NULL, NULL, 0, &r) == 0,
			      "the listener closed before readiness was seen failing (%s)", r.error);
		status = r.status;
		if (status == 503) {
			ck_assert_ptr_nonnull(strstr(r.body, "draining"));
			/* Clients are told to reconnect elsewhere: every answer closes its connection. */
			char conn[32];
			ck_assert_int_eq(hc_header(&r, "Connection", conn, sizeof(conn)), 0);
			ck_assert_str_eq(conn, "close");
		}
		hc_free(&r);
		if (status != 503)
			usleep(20000);
	}
	/* Still inside the delay: requests are served. */
	ck_assert_msg(hc_request(d.port, "GET", "/v1/losses", NULL, NULL, 0, &r) == 0,
		      "refused inside the shutdown delay (%s)", r.error);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	/* Then the listener closes: connections are refused (polled, with a generous deadline). */
	int refused = 0;
	while (!refused && tu_now() - t0 < 60.0) {
		refused = hc_request(d.port, "GET", "/healthz", NULL, NULL, 0, &r) != 0;
		if (!refused) {
			hc_free(&r);
			usleep(50000);
		}
	}
	ck_assert_msg(refused, "still accepting 60 s after SIGTERM");
	ck_assert_msg(tu_now() - t0 >= 2.9, "the listener closed before the 3 s delay");
	ck_assert_int_eq(waitpid(d.pid, &status, 0), d.pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	unlink(d.log);
}
END_TEST

/*
 * At the drain deadline, requests still waiting for a worker get 503; the
 * running one completes. The deadline is 0 s, so which requests are
 * cancelled does not depend on how fast the machine computes: those
 * still queued when the signal is handled, at most a moment after all
 * six were seen in the pool.
 */
START_TEST(test_drain_deadline)
{
	enum { N = 6 };
	daemon_proc d;
	pthread_t th[N];
	slow s[N];
	char *body = slow_body();
	int ok = 0, busy = 0;

	extra_env[0] = "SEGLOSS_DRAIN_TIMEOUT=0";
	daemon_start(&d, "1", "16");
	extra_env[0] = NULL;
	for (int i = 0; i < N; i++) {
		s[i].port = d.port;
		s[i].body = body;
		pthread_create(&th[i], NULL, slow_main, &s[i]);
	}
	/*
	 * One worker, six requests of about a second each: once all six are
	 * accepted (one running, five queued), SIGTERM. (A request still
	 * uploading when the drain starts would be answered "draining"
	 * instead, which is not what this tests.)
	 */
	wait_handed_over(d.port, N);
	kill(d.pid, SIGTERM);
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	char seen[N * 160] = "";
	for (int i = 0; i < N; i++) {
		if (s[i].r.status == 200)
			ok++;
		else if (s[i].r.status == 503 && strstr(s[i].r.body, "not started before the drain deadline"))
			busy++;
		snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), " [%d %.100s %s]", s[i].r.status,
			 s[i].r.status == 200 || s[i].r.body == NULL ? "" : s[i].r.body, s[i].r.error);
		hc_free(&s[i].r);
	}
	ck_assert_msg(ok >= 1 && busy >= 1 && ok + busy == N, "%d answered 200, %d 503 at the deadline:%s", ok, busy,
		      seen);
	int status;
	ck_assert_int_eq(waitpid(d.pid, &status, 0), d.pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	size_t len;
	char *log = (char *)tu_read_file(d.log, &len);
	char want[96];
	snprintf(want, sizeof(want), "drain deadline: %d requests not yet started were answered 503", busy);
	ck_assert_msg(strstr(log, want) != NULL, "no \"%s\" in the log:\n%s", want, log);
	free(log);
	unlink(d.log);
	free(body);
}
END_TEST

/*
 * Readiness and Connection: close agree however SIGTERM falls: a keep-alive
 * connection polls /readyz while the signal arrives, over many rounds (each
 * a new daemon, the signal sent a different number of answers in, from
 * another thread, so it lands at every point of a request's handling). A
 * "ready" answer keeps its connection (a client may reuse it) and a
 * "draining" one carries Connection: close. Nothing here waits for time:
 * what varies is only where the signal lands.
 */
typedef struct killer {
	pid_t pid;
} killer;

static void *killer_main(void *opaque)
{
	kill(((killer *)opaque)->pid, SIGTERM);
	return NULL;
}

START_TEST(test_readyz_and_close_agree_while_draining)
{
	enum { ROUNDS = 150 };
	int drained = 0;

	for (int round = 0; round < ROUNDS; round++) {
		daemon_proc d;
		killer k;
		pthread_t th;
		int fd, started = 0, signal_after = 1 + round % 16;

		daemon_start(&d, "1", "16");
		k.pid = d.pid;
		fd = hc_open(d.port);
		ck_assert_int_ge(fd, 0);
		for (int n = 1;; n++) {
			hc_response r;
			char conn[32] = "";
			if (hc_exchange(fd, "GET", "/readyz", &r) != 0)
				break; /* idle when the daemon stopped: closed with it */
			hc_header(&r, "Connection", conn, sizeof(conn));
			if (r.status == 200) {
				ck_assert_msg(strcasecmp(conn, "close") != 0,
					      "round %d: /readyz answered 200 ready with Connection: close", round);
			} else {
				ck_assert_msg(r.status == 503 && strstr(r.body, "draining: shutting down"),
					      "round %d: /readyz answered %d %s", round, r.status, r.body);
				ck_assert_msg(strcasecmp(conn, "close") == 0,
					      "round %d: /readyz answered 503 draining without Connection: close", round);
				drained++;
				hc_free(&r);
				break;
			}
			hc_free(&r);
			if (n == signal_after) {
				pthread_create(&th, NULL, killer_main, &k);
				started = 1;
			}
		}
		close(fd);
		ck_assert(started);
		pthread_join(th, NULL);
		int status;
		ck_assert_int_eq(waitpid(d.pid, &status, 0), d.pid);
		ck_assert_int_eq(WEXITSTATUS(status), 0);
		unlink(d.log);
	}
	/* The rounds did reach the draining answer, not only the closed socket. */
	ck_assert_msg(drained > 0, "no round saw /readyz answer 503 draining");
}
END_TEST

/* A 4xx or 5xx is logged with its problem type and the start of its detail; nothing of the body. */
START_TEST(test_access_log_says_why)
{
	daemon_proc d;
	hc_response r;
	char accept[300] = "Accept: text/";
	const char *marker = "QUJDbWFya2VyLWluLXRoZS1ib2R5";
	char *body = fmt("{\"target\": \"%s\", \"prediction\": \"%s\", \"losses\": [\"dcie\"]}", marker, marker);

	daemon_start(&d, "1", "4");
	ck_assert_int_eq(hc_request(d.port, "POST", "/v1/evaluate", "Content-Type: application/json\r\n", body,
				    strlen(body), &r),
			 0);
	ck_assert_int_eq(r.status, 422);
	hc_free(&r);
	ck_assert_int_eq(hc_request(d.port, "GET", "/nope", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 404);
	hc_free(&r);
	/* A detail longer than the log keeps: the Accept header it quotes is 230 characters. */
	memset(accept + 13, 'x', 230);
	strcpy(accept + 243, "\r\nContent-Type: application/json\r\n");
	ck_assert_int_eq(hc_request(d.port, "POST", "/v1/weight-map", accept, "{}", 2, &r), 0);
	ck_assert_int_eq(r.status, 406);
	hc_free(&r);
	ck_assert_int_eq(hc_request(d.port, "GET", "/healthz", NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	hc_free(&r);
	/* Every line is written once the daemon has exited. */
	kill(d.pid, SIGTERM);
	int status;
	ck_assert_int_eq(waitpid(d.pid, &status, 0), d.pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	size_t len;
	char *log = (char *)tu_read_file(d.log, &len);
	char *line = log_line_of(log, "/v1/evaluate", 422);
	ck_assert_msg(line != NULL, "no 422 line in:\n%s", log);
	ck_assert_msg(strstr(line, " problem=/problems/invalid-request detail=\"unknown loss 'dcie' (did you mean 'dice'?)\"") !=
			      NULL,
		      "%s", line);
	free(line);
	line = log_line_of(log, "/nope", 404);
	ck_assert_ptr_nonnull(line);
	ck_assert_msg(strstr(line, " problem=/problems/not-found detail=\"no route for '/nope'\"") != NULL, "%s", line);
	free(line);
	line = log_line_of(log, "/v1/weight-map", 406);
	ck_assert_ptr_nonnull(line);
	const char *detail = strstr(line, " detail=\"cannot answer in any type of Accept 'text/xxx");
	ck_assert_msg(detail != NULL && strstr(line, " problem=/problems/not-acceptable") != NULL, "%s", line);
	detail += 9;
	ck_assert_msg(strlen(detail) == 120 + 3 + 1 && strcmp(detail + 120, "...\"") == 0, "detail of %zu bytes: %s",
		      strlen(detail), detail);
	free(line);
	line = log_line_of(log, "/healthz", 200);
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_null(strstr(line, "problem="));
	ck_assert_ptr_null(strstr(line, "detail="));
	free(line);
	/* The body is never logged, whatever the error. */
	ck_assert_ptr_null(strstr(log, marker));
	free(log);
	unlink(d.log);
	free(body);
}
END_TEST

/* A Kubernetes service link in SEGLOSS_PORT is not taken for a port. */
START_TEST(test_service_link_port_is_ignored)
{
	daemon_proc d;
	size_t len;

	extra_env[0] = "SEGLOSS_PORT=tcp://10.96.0.12:8080";
	daemon_start(&d, "1", "4");
	extra_env[0] = NULL;
	char *log = (char *)tu_read_file(d.log, &len);
	ck_assert_ptr_nonnull(strstr(log, "ignoring SEGLOSS_PORT=tcp://10.96.0.12:8080"));
	free(log);
	ck_assert_int_eq(daemon_stop(&d, SIGTERM), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("seglossd");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_64_concurrent_clients);
	tcase_add_test(tc, test_sigterm_finishes_requests_in_flight);
	tcase_add_test(tc, test_healthcheck_mode);
	tcase_add_test(tc, test_sighup_reloads_keys);
	tcase_add_test(tc, test_shutdown_delay);
	tcase_add_test(tc, test_drain_deadline);
	tcase_add_test(tc, test_readyz_and_close_agree_while_draining);
	tcase_add_test(tc, test_service_link_port_is_ignored);
	tcase_add_test(tc, test_access_log_says_why);
	tcase_set_timeout(tc, 180);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
