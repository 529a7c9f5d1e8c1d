/*
 * check_pool.c — the worker pool: every accepted job runs exactly once,
 * a full queue refuses without taking ownership, shutdown drains, and the
 * inline mode runs jobs in the caller.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/edt.h"
#include "core/metric.h"
#include "pool/par.h"
#include "pool/pool.h"

static atomic_int ran;

static void count(void *arg)
{
	atomic_fetch_add(&ran, 1);
	atomic_fetch_add((atomic_int *)arg, 1);
}

typedef struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int open;
	atomic_int started;
} gate;

static void wait_gate(void *arg)
{
	gate *g = arg;

	atomic_fetch_add(&g->started, 1);
	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

START_TEST(test_every_job_runs_once)
{
	enum { N = 20000 };
	atomic_int *hits = calloc(N, sizeof(*hits));
	pool *p = pool_new(4, 64, NULL);
	int accepted = 0;

	atomic_store(&ran, 0);
	for (int i = 0; i < N; i++) {
		while (pool_submit(p, count, &hits[i]) != SEG_OK)
			usleep(50); /* full: try again, as a client would after 503 */
		accepted++;
	}
	pool_free(p); /* drains */
	ck_assert_int_eq(atomic_load(&ran), accepted);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(atomic_load(&hits[i]), 1);
	free(hits);
}
END_TEST

START_TEST(test_full_queue_refuses)
{
	gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
	pool *p = pool_new(2, 3, NULL);
	int q, busy, workers, cap;
	atomic_int hit = 0;

	ck_assert_int_eq(pool_submit(p, wait_gate, &g), SEG_OK);
	ck_assert_int_eq(pool_submit(p, wait_gate, &g), SEG_OK);
	while (atomic_load(&g.started) < 2)
		usleep(100);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pool_submit(p, count, &hit), SEG_OK);
	ck_assert(!pool_has_room(p));
	ck_assert_int_eq(pool_submit(p, count, &hit), SEG_EBUSY);
	pool_stats(p, &q, &busy, &workers, &cap);
	ck_assert_int_eq(q, 3);
	ck_assert_int_eq(busy, 2);
	ck_assert_int_eq(workers, 2);
	ck_assert_int_eq(cap, 3);
	pthread_mutex_lock(&g.lock);
	g.open = 1;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	pool_free(p);
	ck_assert_int_eq(atomic_load(&hit), 3);
}
END_TEST

START_TEST(test_inline_mode)
{
	pool *p = pool_new(0, 1, NULL);
	atomic_int hit = 0;

	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(pool_submit(p, count, &hit), SEG_OK);
		ck_assert_int_eq(atomic_load(&hit), i + 1); /* ran before submit returned */
	}
	pool_free(p);
	pool_free(NULL);
}
END_TEST

START_TEST(test_bad_sizes)
{
	seg_error err = {0};

	ck_assert_ptr_null(pool_new(-1, 4, &err));
	ck_assert_int_eq(err.status, SEG_EINVAL);
	ck_assert_ptr_null(pool_new(2, 0, &err));
}
END_TEST

static void count_index(void *arg, size_t i)
{
	atomic_fetch_add(&((atomic_int *)arg)[i], 1);
}

/* The executor runs every index exactly once, also with several callers at the same time. */
typedef struct caller {
	par_exec *x;
	atomic_int hits[1000];
} caller;

static void *call_many(void *opaque)
{
	caller *c = opaque;
	seg_par p = par_handle(c->x);

	for (int r = 0; r < 50; r++)
		seg_par_for(&p, 1000, count_index, c->hits);
	return NULL;
}

START_TEST(test_par_runs_each_index_once)
{
	par_exec *x = par_new(3, NULL);
	caller c[3];
	pthread_t th[3];

	for (int k = 0; k < 3; k++) {
		c[k].x = x;
		for (int i = 0; i < 1000; i++)
			atomic_init(&c[k].hits[i], 0);
		pthread_create(&th[k], NULL, call_many, &c[k]);
	}
	for (int k = 0; k < 3; k++)
		pthread_join(th[k], NULL);
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 1000; i++)
			ck_assert_int_eq(atomic_load(&c[k].hits[i]), 50);
	par_free(x);
}
END_TEST

/*
 * A helper that wakes late for a loop that has already returned must not
 * run that loop's function on the next loop's indices: each round's
 * argument is closed when its loop returns, and any call that sees it
 * closed, or any index that does not run exactly once, is a failure.
 * Many tiny loops from several callers make the late wake-up common.
 */
typedef struct round_arg {
	atomic_int closed;
	atomic_int hits[4];
} round_arg;

static atomic_int stale_calls;

static void round_index(void *arg, size_t i)
{
	round_arg *a = arg;

	if (atomic_load(&a->closed))
		atomic_fetch_add(&stale_calls, 1);
	atomic_fetch_add(&a->hits[i], 1);
}

typedef struct rounds {
	par_exec *x;
	int n, bad;
	round_arg *args;
} rounds;

static void *call_rounds(void *opaque)
{
	rounds *c = opaque;
	seg_par p = par_handle(c->x);

	for (int r = 0; r < c->n; r++) {
		round_arg *a = &c->args[r];
		seg_par_for(&p, 4, round_index, a);
		for (int i = 0; i < 4; i++)
			c->bad += atomic_load(&a->hits[i]) != 1;
		atomic_store(&a->closed, 1);
	}
	return NULL;
}

START_TEST(test_par_late_helper_runs_nothing_stale)
{
	enum { CALLERS = 3, ROUNDS = 20000 };
	par_exec *x = par_new(2, NULL);
	rounds c[CALLERS];
	pthread_t th[CALLERS];

	atomic_store(&stale_calls, 0);
	for (int k = 0; k < CALLERS; k++) {
		c[k] = (rounds){x, ROUNDS, 0, calloc(ROUNDS, sizeof(round_arg))};
		ck_assert_ptr_nonnull(c[k].args);
		pthread_create(&th[k], NULL, call_rounds, &c[k]);
	}
	for (int k = 0; k < CALLERS; k++)
		pthread_join(th[k], NULL);
	par_free(x); /* every helper has stopped: no call can still come */
	int stale = atomic_load(&stale_calls);
	ck_assert_int_eq(stale, 0);
	for (int k = 0; k < CALLERS; k++) {
		ck_assert_int_eq(c[k].bad, 0);
		for (int r = 0; r < ROUNDS; r++)
			for (int i = 0; i < 4; i++)
				ck_assert_int_eq(atomic_load(&c[k].args[r].hits[i]), 1);
		free(c[k].args);
	}
}
END_TEST

/* Parallel distance transforms equal the serial ones exactly. */
START_TEST(test_parallel_edt_equals_serial)
{
	int w = 517, h = 389;
	size_t n = (size_t)w * h;
	uint8_t *m = malloc(n), *a = malloc(n);
	double *s1 = malloc(n * sizeof(double)), *s2 = malloc(n * sizeof(double));
	double sp[2] = {1.5, 0.75};
	par_exec *x = par_new(2, NULL);
	seg_par p = par_handle(x);
	uint64_t rng = 3;

	for (size_t i = 0; i < n; i++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		m[i] = (rng >> 60) == 0;
		a[i] = (rng >> 40) % 7 == 0;
	}
	for (int want = 0; want < 2; want++) {
		ck_assert_int_eq(edt_dist(m, w, h, want, sp, s1, NULL, NULL), SEG_OK);
		ck_assert_int_eq(edt_dist(m, w, h, want, sp, s2, &p, NULL), SEG_OK);
		ck_assert_mem_eq(s1, s2, n * sizeof(double));
		ck_assert_int_eq(edt_sample(m, w, h, want, sp, a, s1, NULL, NULL), SEG_OK);
		ck_assert_int_eq(edt_sample(m, w, h, want, sp, a, s2, &p, NULL), SEG_OK);
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			k += a[i];
		ck_assert_mem_eq(s1, s2, k * sizeof(double));
	}
	metric_surface u, v;
	ck_assert_int_eq(metric_surface_compute(m, a, w, h, sp, &u, NULL, NULL), SEG_OK);
	ck_assert_int_eq(metric_surface_compute(m, a, w, h, sp, &v, &p, NULL), SEG_OK);
	ck_assert_uint_eq(u.na, v.na);
	ck_assert_mem_eq(u.ab, v.ab, u.na * sizeof(double));
	ck_assert_mem_eq(u.ba, v.ba, u.nb * sizeof(double));
	metric_surface_release(&u);
	metric_surface_release(&v);
	par_free(x);
	free(m);
	free(a);
	free(s1);
	free(s2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("pool");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_every_job_runs_once);
	tcase_add_test(tc, test_full_queue_refuses);
	tcase_add_test(tc, test_inline_mode);
	tcase_add_test(tc, test_bad_sizes);
	tcase_add_test(tc, test_par_runs_each_index_once);
	tcase_add_test(tc, test_par_late_helper_runs_nothing_stale);
	tcase_add_test(tc, test_parallel_edt_equals_serial);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
