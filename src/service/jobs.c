/*
 * jobs.c — the job runner thread.
 *
 * It sleeps on a condition variable until jobs_notify or a one-second
 * tick, then claims queued jobs from the store one at a time (the claim
 * marks the job running in the same transaction), runs it through
 * svc_run_job, and writes the outcome. Progress is written after every
 * item, which is also where a cancel request or a shutdown is noticed.
 * Finished jobs older than the TTL are purged once a minute.
 *
 * What a crash does at each step: before the job's row is committed the
 * client has no 202, so nothing was accepted; after the commit and before
 * the claim the job waits in the queue; between the claim and the finish
 * it is `running` in the store, and the next start puts it back to
 * `queued` and runs it again from its first item (recorded items are
 * replaced, so run aggregates stay exact); after the finish its result is
 * kept until the TTL.
 */
#include "service/jobs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log/log.h"
#include "wire/problem.h"

struct jobs {
	const svc_ctx *ctx;
	jobs_hooks hooks;
	int64_t ttl_ms;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int pending;
	int stopping;
	int started;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stopping(jobs *j)
{
	int s;

	pthread_mutex_lock(&j->lock);
	s = j->stopping;
	pthread_mutex_unlock(&j->lock);
	return s;
}

/* The claimed job, copied out of the store's callback. */
typedef struct claimed {
	char id[40];
	char *content_type;
	uint8_t *body;
	size_t len;
	int64_t created, started;
	int ok;
} claimed;

static void take(void *opaque, const store_job *sj)
{
	claimed *c = opaque;

	snprintf(c->id, sizeof(c->id), "%s", sj->id);
	c->content_type = strdup(sj->content_type ? sj->content_type : "");
	c->body = malloc(sj->body_len ? sj->body_len : 1);
	c->len = sj->body_len;
	c->created = sj->created;
	c->started = sj->started;
	c->ok = c->content_type != NULL && c->body != NULL;
	if (c->ok && sj->body_len)
		memcpy(c->body, sj->body, sj->body_len);
}

typedef struct progress_ctx {
	jobs *j;
	const char *id;
	int stop_for_shutdown;
} progress_ctx;

static int on_progress(void *opaque, int done)
{
	progress_ctx *p = opaque;
	int cancel = 0;
	seg_error err = {0};

	if (store_job_progress(p->j->ctx->store, p->id, done, &cancel, &err) != SEG_OK)
		log_msg("warn", "job %s: cannot record progress: %s", p->id, err.msg);
	if (stopping(p->j)) {
		p->stop_for_shutdown = 1;
		return 1;
	}
	return cancel;
}

static void run_one(jobs *j, claimed *c)
{
	store *s = j->ctx->store;
	progress_ctx p = {j, c->id, 0};
	char *result = NULL;
	int canceled = 0;
	seg_error err = {0}, werr = {0};
	seg_status st;

	if (j->hooks.waited)
		j->hooks.waited(j->hooks.arg, (double)(c->started - c->created) / 1e3);
	st = svc_run_job(j->ctx, c->id, c->content_type, c->body, c->len, on_progress, &p, &result, &canceled, &err);
	if (p.stop_for_shutdown) {
		/* Shutting down mid-job: back to the queue, to run again on the next start. */
		int n;
		store_job_requeue(s, &n, &werr);
		log_msg("info", "job %s: requeued for the next start", c->id);
	} else if (canceled) {
		store_job_finish(s, c->id, JOB_CANCELED, NULL, NULL, 0, &werr);
	} else if (st == SEG_OK) {
		store_job_finish(s, c->id, JOB_DONE, result, NULL, 0, &werr);
	} else {
		store_job_finish(s, c->id, JOB_FAILED, NULL, err.msg, problem_status_of(st), &werr);
	}
	if (werr.status != SEG_OK)
		log_msg("error", "job %s: cannot record its outcome: %s", c->id, werr.msg);
	if (j->hooks.ran && !p.stop_for_shutdown)
		j->hooks.ran(j->hooks.arg, (double)(now_ms() - c->started) / 1e3);
	free(result);
}

static void purge(jobs *j)
{
	int n = 0;
	seg_error err = {0};

	if (store_job_purge(j->ctx->store, now_ms() - j->ttl_ms, &n, &err) != SEG_OK)
		log_msg("warn", "jobs: purge failed: %s", err.msg);
	else if (n > 0)
		log_msg("info", "jobs: purged %d finished jobs older than the TTL", n);
}

static void *runner(void *opaque)
{
	jobs *j = opaque;
	int64_t last_purge = now_ms();

	for (;;) {
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 1;
		pthread_mutex_lock(&j->lock);
		while (!j->pending && !j->stopping)
			if (pthread_cond_timedwait(&j->wake, &j->lock, &deadline) != 0)
				break;
		j->pending = 0;
		int stop = j->stopping;
		pthread_mutex_unlock(&j->lock);
		if (stop)
			break;
		if (now_ms() - last_purge >= 60000) {
			purge(j);
			last_purge = now_ms();
		}
		while (!stopping(j)) {
			claimed c;
			int found = 0;
			seg_error err = {0};
			memset(&c, 0, sizeof(c));
			if (store_job_claim(j->ctx->store, take, &c, &found, &err) != SEG_OK) {
				log_msg("warn", "jobs: cannot claim a job: %s", err.msg);
				break;
			}
			if (!found)
				break;
			if (c.ok)
				run_one(j, &c);
			else
				store_job_finish(j->ctx->store, c.id, JOB_FAILED, NULL, "out of memory loading the job", 503,
						 &err);
			free(c.content_type);
			free(c.body);
		}
	}
	return NULL;
}

jobs *jobs_start(const svc_ctx *ctx, int64_t ttl_ms, const jobs_hooks *hooks, seg_error *err)
{
	jobs *j = calloc(1, sizeof(*j));
	int n = 0;

	if (j == NULL) {
		seg_fail(err, SEG_ENOMEM, "jobs: out of memory");
		return NULL;
	}
	j->ctx = ctx;
	j->ttl_ms = ttl_ms;
	if (hooks)
		j->hooks = *hooks;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->wake, NULL);
	if (store_job_requeue(ctx->store, &n, err) != SEG_OK) {
		jobs_stop(j);
		return NULL;
	}
	if (n > 0)
		log_msg("info", "jobs: %d jobs were running when the last process stopped; queued again", n);
	purge(j);
	j->pending = 1; /* look for queued jobs at once */
	if (pthread_create(&j->thread, NULL, runner, j) != 0) {
		seg_fail(err, SEG_EINTERNAL, "jobs: cannot start the runner thread");
		jobs_stop(j);
		return NULL;
	}
	j->started = 1;
	return j;
}

void jobs_notify(void *arg)
{
	jobs *j = arg;

	pthread_mutex_lock(&j->lock);
	j->pending = 1;
	pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->lock);
}

void jobs_stop(jobs *j)
{
	if (j == NULL)
		return;
	pthread_mutex_lock(&j->lock);
	j->stopping = 1;
	pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->lock);
	if (j->started)
		pthread_join(j->thread, NULL);
	pthread_cond_destroy(&j->wake);
	pthread_mutex_destroy(&j->lock);
	free(j);
}
