/*
 * par.c — the executor behind seg_par.
 *
 * One loop at a time: `busy` is taken with a trylock by the caller of
 * par_run; the loop (fn, arg, n) and a fresh generation number are
 * published under the mutex and helpers are woken. Everyone, caller
 * included, claims indices with an atomic fetch-add and counts finished
 * ones; the caller returns when all n are finished. A helper that wakes
 * late finds the counter exhausted and goes back to sleep, so a slow
 * helper never delays the loop.
 *
 * With a gate (par_gate), a loop asked for while the gate is closed (the
 * daemon: other requests are being worked on, so every core already has
 * a worker) runs in its caller alone, rather than adding a thread.
 *
 * A helper copies the loop it joins under the mutex and counts itself in
 * `active`; a new loop is published only once `active` is zero. Without
 * that wait, a helper that copied loop G just as G's caller returned
 * could claim indices of loop G+1 (the counter was reset) and run G's
 * function on G's argument, which its caller had already freed.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "pool/par.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct par_exec {
	pthread_mutex_t lock;
	pthread_cond_t wake, done_cv;
	pthread_mutex_t busy;
	pthread_t *threads;
	int nthreads;
	int stopping;
	unsigned long generation;
	/* The current loop, published under lock. */
	void (*fn)(void *arg, size_t i);
	void *arg;
	size_t n;
	atomic_size_t next;
	atomic_size_t finished;
	int active; /* helpers inside the current loop */
	int (*gate)(void *arg); /* par_gate: helpers join only when it returns non-zero */
	void *gate_arg;
};

/* Claims and runs indices of the current loop until none are left. */
static void drain(par_exec *x, void (*fn)(void *, size_t), void *arg, size_t n)
{
	size_t i;

	while ((i = atomic_fetch_add(&x->next, 1)) < n) {
		fn(arg, i);
		atomic_fetch_add(&x->finished, 1);
	}
}

static void *helper_main(void *opaque)
{
	par_exec *x = opaque;
	unsigned long seen = 0;

	pthread_mutex_lock(&x->lock);
	for (;;) {
		while (!x->stopping && x->generation == seen)
			pthread_cond_wait(&x->wake, &x->lock);
		if (x->stopping)
			break;
		seen = x->generation;
		void (*fn)(void *, size_t) = x->fn;
		void *arg = x->arg;
		size_t n = x->n;
		x->active++;
		pthread_mutex_unlock(&x->lock);
		drain(x, fn, arg, n);
		pthread_mutex_lock(&x->lock);
		x->active--;
		pthread_cond_broadcast(&x->done_cv);
	}
	pthread_mutex_unlock(&x->lock);
	return NULL;
}

static void run(void *ctx, size_t n, void (*fn)(void *arg, size_t i), void *arg)
{
	par_exec *x = ctx;

	if (x == NULL || x->nthreads == 0 || (x->gate && !x->gate(x->gate_arg)) || pthread_mutex_trylock(&x->busy) != 0) {
		for (size_t i = 0; i < n; i++)
			fn(arg, i);
		return;
	}
	pthread_mutex_lock(&x->lock);
	while (x->active > 0) /* a late helper still holds the previous loop */
		pthread_cond_wait(&x->done_cv, &x->lock);
	x->fn = fn;
	x->arg = arg;
	x->n = n;
	atomic_store(&x->next, 0);
	atomic_store(&x->finished, 0);
	x->generation++;
	pthread_cond_broadcast(&x->wake);
	pthread_mutex_unlock(&x->lock);
	drain(x, fn, arg, n);
	/* Wait for indices still running in helpers, and for helpers to leave the loop. */
	pthread_mutex_lock(&x->lock);
	while (atomic_load(&x->finished) < n || x->active > 0)
		pthread_cond_wait(&x->done_cv, &x->lock);
	pthread_mutex_unlock(&x->lock);
	pthread_mutex_unlock(&x->busy);
}

par_exec *par_new(int helpers, seg_error *err)
{
	par_exec *x = calloc(1, sizeof(*x));

	if (x == NULL || helpers < 0 || helpers > 256) {
		free(x);
		seg_fail(err, x ? SEG_EINVAL : SEG_ENOMEM, "par: cannot start %d helpers", helpers);
		return NULL;
	}
	pthread_mutex_init(&x->lock, NULL);
	pthread_mutex_init(&x->busy, NULL);
	pthread_cond_init(&x->wake, NULL);
	pthread_cond_init(&x->done_cv, NULL);
	x->threads = calloc(helpers ? (size_t)helpers : 1, sizeof(*x->threads));
	if (x->threads == NULL) {
		par_free(x);
		seg_fail(err, SEG_ENOMEM, "par: out of memory");
		return NULL;
	}
	for (int i = 0; i < helpers; i++) {
		if (pthread_create(&x->threads[i], NULL, helper_main, x) != 0) {
			par_free(x);
			seg_fail(err, SEG_EINTERNAL, "par: cannot start a helper thread");
			return NULL;
		}
		x->nthreads++;
	}
	return x;
}

void par_free(par_exec *x)
{
	if (x == NULL)
		return;
	pthread_mutex_lock(&x->lock);
	x->stopping = 1;
	pthread_cond_broadcast(&x->wake);
	pthread_mutex_unlock(&x->lock);
	for (int i = 0; i < x->nthreads; i++)
		pthread_join(x->threads[i], NULL);
	pthread_cond_destroy(&x->wake);
	pthread_cond_destroy(&x->done_cv);
	pthread_mutex_destroy(&x->busy);
	pthread_mutex_destroy(&x->lock);
	free(x->threads);
	free(x);
}

void par_gate(par_exec *x, int (*open)(void *arg), void *arg)
{
	x->gate = open;
	x->gate_arg = arg;
}

seg_par par_handle(par_exec *x)
{
	seg_par p = {run, x, x ? x->nthreads + 1 : 1};

	return p;
}

int par_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	FILE *f;

	if (n < 1)
		n = 1;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0 && CPU_COUNT(&set) < n)
		n = CPU_COUNT(&set);
	f = fopen("/sys/fs/cgroup/cpu.max", "r");
	if (f) {
		char quota[32];
		long period;
		if (fscanf(f, "%31s %ld", quota, &period) == 2 && strcmp(quota, "max") != 0 && period > 0) {
			long q = atol(quota);
			long cpus = (q + period - 1) / period;
			if (cpus >= 1 && cpus < n)
				n = cpus;
		}
		fclose(f);
	}
	return (int)n;
}
