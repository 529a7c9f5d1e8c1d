/*
 * pool.c — worker threads around a ring buffer of jobs.
 *
 * One mutex guards the ring, the counters and the stopping flag; workers
 * sleep on `work` and pool_free waits for them by joining. The ring has a
 * fixed capacity chosen at start, so a burst of requests can never grow
 * memory: a full ring is the caller's 503. On shutdown the workers drain
 * the ring before they exit, so no accepted job is dropped.
 */
#include "pool/pool.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct job {
	pool_fn fn;
	void *arg;
} job;

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t work;
	pthread_t *threads;
	int nthreads;
	job *ring;
	int cap;
	int head; /* next job to run */
	int count;
	int busy;
	int stopping;
};

static void *worker_main(void *opaque)
{
	pool *p = opaque;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->count == 0 && !p->stopping)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->count == 0 && p->stopping)
			break;
		job j = p->ring[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		p->busy++;
		pthread_mutex_unlock(&p->lock);
		j.fn(j.arg);
		pthread_mutex_lock(&p->lock);
		p->busy--;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

pool *pool_new(int workers, int queue_cap, seg_error *err)
{
	pool *p = NULL;

	if (workers < 0 || workers > 1024 || queue_cap < 1 || queue_cap > 1 << 20) {
		seg_fail(err, SEG_EINVAL, "pool: workers must be 0..1024 and the queue 1..1048576");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		goto nomem;
	p->cap = queue_cap;
	p->ring = calloc((size_t)queue_cap, sizeof(*p->ring));
	p->threads = calloc(workers > 0 ? (size_t)workers : 1, sizeof(*p->threads));
	if (p->ring == NULL || p->threads == NULL)
		goto nomem;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	for (int i = 0; i < workers; i++) {
		if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) {
			seg_fail(err, SEG_EINTERNAL, "pool: cannot start worker thread %d", i);
			pool_free(p);
			return NULL;
		}
		p->nthreads++;
	}
	return p;
nomem:
	if (p) {
		free(p->ring);
		free(p->threads);
		free(p);
	}
	seg_fail(err, SEG_ENOMEM, "pool: out of memory");
	return NULL;
}

seg_status pool_submit(pool *p, pool_fn fn, void *arg)
{
	if (p->nthreads == 0) {
		fn(arg);
		return SEG_OK;
	}
	pthread_mutex_lock(&p->lock);
	if (p->stopping || p->count == p->cap) {
		pthread_mutex_unlock(&p->lock);
		return SEG_EBUSY;
	}
	p->ring[(p->head + p->count) % p->cap] = (job){fn, arg};
	p->count++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return SEG_OK;
}

void pool_stats(pool *p, int *queued, int *busy, int *workers, int *capacity)
{
	pthread_mutex_lock(&p->lock);
	if (queued)
		*queued = p->count;
	if (busy)
		*busy = p->busy;
	if (workers)
		*workers = p->nthreads;
	if (capacity)
		*capacity = p->cap;
	pthread_mutex_unlock(&p->lock);
}

int pool_has_room(pool *p)
{
	int room;

	pthread_mutex_lock(&p->lock);
	room = !p->stopping && p->count < p->cap;
	pthread_mutex_unlock(&p->lock);
	return room;
}

int pool_cancel_queued(pool *p, pool_fn cancel)
{
	job taken[64];
	int total = 0;

	/* In batches, so cancel never runs under the lock. */
	for (;;) {
		int n = 0;
		pthread_mutex_lock(&p->lock);
		while (p->count > 0 && n < 64) {
			taken[n++] = p->ring[p->head];
			p->head = (p->head + 1) % p->cap;
			p->count--;
		}
		pthread_mutex_unlock(&p->lock);
		for (int i = 0; i < n; i++)
			cancel(taken[i].arg);
		total += n;
		if (n < 64)
			return total;
	}
}

void pool_free(pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p->ring);
	free(p);
}
