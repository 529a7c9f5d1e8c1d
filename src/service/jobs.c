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
 * it is `running` in the store, and it runs again from its first item
 * (recorded items are replaced, so run aggregates stay exact): with
 * SQLite when the daemon starts again, with PostgreSQL as soon as its
 * lease expires, on whichever daemon claims it first; after the finish
 * its result is kept until the TTL.
 *
 * Several daemons may share one store (PostgreSQL): each runs its own
 * runner, the store never hands a job to two of them, a job queued on
 * another daemon wakes this one through the store's hook (LISTEN/NOTIFY),
 * and the one-second tick is the fallback. A runner that learns its job
 * was taken over (STORE_JOB_LOST: its lease expired, say while the
 * database was unreachable) stops it and writes nothing more.
 *
 * A job whose item cannot be written because the database is unreachable
 * (the store noticed a loss while the job ran, or is down) has not
 * failed: the runner puts it back in the queue, to run again from its
 * first item once the database answers, as it would after a crash. Only
 * when it has been claimed JOBS_MAX_ATTEMPTS times does such a job fail
 * for good, saying so. A store that refuses a write (SQLite's disk full,
 * a statement PostgreSQL rejects) fails the job as before: running it
 * again would fail the same way.
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

/*
 * Claims of a job (crashes and lease expiries included) after which an
 * outage fails it rather than queuing it again: a database that keeps
 * going away is for an operator to see, not for the queue to hide.
 */
#define JOBS_MAX_ATTEMPTS 5

/* The claimed job, copied out of the store's callback. */
typedef struct claimed {
	char id[40];
	char *content_type;
	uint8_t *body;
	size_t len;
	int64_t created, started;
	int attempts; /* 0: the store does not count them */
	uint64_t losses; /* store_losses before the claim */
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
	c->attempts = sj->attempts;
	c->ok = c->content_type != NULL && c->body != NULL;
	if (c->ok && sj->body_len)
		memcpy(c->body, sj->body, sj->body_len);
}

typedef struct progress_ctx {
	jobs *j;
	const char *id;
	int stop_for_shutdown;
	int lost;
} progress_ctx;

static int on_progress(void *opaque, int done)
{
	progress_ctx *p = opaque;
	int next = STORE_JOB_GO;
	seg_error err = {0};

	if (store_job_progress(p->j->ctx->store, p->id, done, &next, &err) != SEG_OK)
		log_msg("warn", "job %s: cannot record progress: %s", p->id, err.msg);
	if (stopping(p->j)) {
		p->stop_for_shutdown = 1;
		return 1;
	}
	if (next == STORE_JOB_LOST) {
		p->lost = 1;
		return 1;
	}
	return next == STORE_JOB_CANCEL;
}

/* Sleeps up to ms, or until the runner is stopped; returns whether it is. */
static int pause_ms(jobs *j, int ms)
{
	struct timespec deadline;
	int stop;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&j->lock);
	while (!j->stopping)
		if (pthread_cond_timedwait(&j->wake, &j->lock, &deadline) != 0)
			break;
	stop = j->stopping;
	pthread_mutex_unlock(&j->lock);
	return stop;
}

/*
 * Writes a job's outcome, again every second while the store cannot be
 * reached (a database restart), for up to a minute or until shutdown:
 * past that, the job runs again once its lease expires.
 */
static seg_status finish(jobs *j, const char *id, store_job_status st, const char *result, const char *error,
			 int error_status, seg_error *err)
{
	seg_status rc = SEG_ESTORE;

	for (int tries = 0; tries < 60; tries++) {
		rc = store_job_finish(j->ctx->store, id, st, result, error, error_status, err);
		if (rc != SEG_ESTORE || pause_ms(j, 1000))
			break;
	}
	return rc;
}

/*
 * Puts a job back in the queue, trying again every second while the
 * store cannot be reached, like finish: past that, or at shutdown, the
 * store has stopped renewing its lease, which expires and lets it run
 * again all the same.
 */
static seg_status release(jobs *j, const char *id, seg_error *err)
{
	seg_status rc = SEG_ESTORE;

	for (int tries = 0; tries < 60; tries++) {
		rc = store_job_release(j->ctx->store, id, err);
		if (rc != SEG_ESTORE || pause_ms(j, 1000))
			break;
	}
	return rc;
}

/* Whether a job's SEG_ESTORE failure came from losing the database since it was claimed. */
static int outage(jobs *j, const claimed *c, seg_status st)
{
	int up = 1;
	uint64_t losses;

	if (st != SEG_ESTORE)
		return 0;
	losses = store_losses(j->ctx->store, &up);
	return losses != c->losses || !up;
}

static void run_one(jobs *j, claimed *c)
{
	store *s = j->ctx->store;
	progress_ctx p = {j, c->id, 0, 0};
	char *result = NULL;
	int canceled = 0, released = 0, lost_db;
	seg_error err = {0}, werr = {0};
	seg_status st;

	if (j->hooks.waited)
		j->hooks.waited(j->hooks.arg, (double)(c->started - c->created) / 1e3);
	st = svc_run_job(j->ctx, c->id, c->content_type, c->body, c->len, on_progress, &p, &result, &canceled, &err);
	lost_db = outage(j, c, st);
	if (p.stop_for_shutdown) {
		/* Shutting down mid-job: back to the queue, to run again on the next start or on another daemon. */
		store_job_release(s, c->id, &werr);
		log_msg("info", "job %s: back in the queue, to run again", c->id);
	} else if (p.lost) {
		log_msg("warn", "job %s: stopped: another daemon took it over (its lease expired)", c->id);
	} else if (canceled) {
		finish(j, c->id, JOB_CANCELED, NULL, NULL, 0, &werr);
	} else if (st == SEG_OK) {
		finish(j, c->id, JOB_DONE, result, NULL, 0, &werr);
	} else if (lost_db && c->attempts < JOBS_MAX_ATTEMPTS) {
		/* Accepted work is not lost to an outage: it runs again from its first item (items replace). */
		log_msg("warn", "job %s: back in the queue, to run again when the store answers (attempt %d of %d): %s",
			c->id, c->attempts, JOBS_MAX_ATTEMPTS, err.msg);
		released = 1;
		release(j, c->id, &werr);
	} else if (lost_db) {
		char msg[SEG_ERRMSG_MAX];
		snprintf(msg, sizeof(msg), "store unreachable on attempt %d of %d, not run again: %.180s", c->attempts,
			 JOBS_MAX_ATTEMPTS, err.msg);
		finish(j, c->id, JOB_FAILED, NULL, msg, problem_status_of(st), &werr);
	} else {
		finish(j, c->id, JOB_FAILED, NULL, err.msg, problem_status_of(st), &werr);
	}
	if (werr.status == SEG_ECONFLICT)
		log_msg("warn", "job %s: not recorded: %s", c->id, werr.msg);
	else if (werr.status != SEG_OK)
		log_msg("error", "job %s: cannot record its outcome: %s", c->id, werr.msg);
	if (j->hooks.ran && !p.stop_for_shutdown && !p.lost && !released)
		j->hooks.ran(j->hooks.arg, (double)(now_ms() - c->started) / 1e3);
	free(result);
}

static void purge(jobs *j)
{
	int n = 0;
	seg_error err = {0};

	/* With several daemons on one store, one purges at a time and the others skip (n < 0). */
	if (store_job_purge(j->ctx->store, now_ms() - j->ttl_ms, &n, &err) != SEG_OK)
		log_msg("warn", "jobs: purge failed: %s", err.msg);
	else if (n > 0)
		log_msg("info", "jobs: purged %d finished jobs older than the TTL", n);
}

static void *runner(void *opaque)
{
	jobs *j = opaque;
	int64_t last_purge = now_ms();
	int claim_failing = 0;

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
			c.losses = store_losses(j->ctx->store, NULL);
			if (store_job_claim(j->ctx->store, take, &c, &found, &err) != SEG_OK) {
				/* Once per outage, not once a second. */
				if (!claim_failing)
					log_msg("warn", "jobs: cannot claim a job: %s", err.msg);
				claim_failing = 1;
				break;
			}
			if (claim_failing)
				log_msg("info", "jobs: claiming jobs again");
			claim_failing = 0;
			if (!found)
				break;
			if (c.ok)
				run_one(j, &c);
			else
				finish(j, c.id, JOB_FAILED, NULL, "out of memory loading the job", 503, &err);
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
	/* A store that cannot be reached yet (PostgreSQL starting) is not fatal: leases do the same later. */
	if (store_job_requeue(ctx->store, &n, err) != SEG_OK) {
		if (err->status != SEG_ESTORE) {
			jobs_stop(j);
			return NULL;
		}
		log_msg("warn", "jobs: cannot look for jobs left running: %s", err->msg);
		seg_error_clear(err);
	}
	if (n > 0)
		log_msg("info", "jobs: %d jobs were left running by a daemon that is gone; queued again", n);
	purge(j);
	j->pending = 1; /* look for queued jobs at once */
	if (pthread_create(&j->thread, NULL, runner, j) != 0) {
		seg_fail(err, SEG_EINTERNAL, "jobs: cannot start the runner thread");
		jobs_stop(j);
		return NULL;
	}
	j->started = 1;
	store_set_job_hook(ctx->store, jobs_notify, j);
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
	if (j->started)
		store_set_job_hook(j->ctx->store, NULL, NULL);
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
