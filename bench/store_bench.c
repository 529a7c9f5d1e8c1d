/*
 * store_bench.c — the store's side of make bench-store (bench/store_bench.sh).
 *
 *   store_bench fill WHERE RUN N     records N items (losses bce and dice,
 *                                    metric iou) into RUN through the store,
 *                                    4 threads (PostgreSQL: 4 handles)
 *   store_bench agg WHERE RUN K      times K reads of RUN's aggregates in
 *                                    process: the kept part, then with the
 *                                    percentiles; prints both medians in ms
 *   store_bench get PORT RUN K       times K GET /v1/runs/RUN (no ETag);
 *                                    prints the median and the 95th in ms
 *   store_bench check PORT RUN...    reads each run's items through the
 *                                    after= cursor and compares GET
 *                                    /v1/runs/RUN with a recomputation in
 *                                    long double (two passes); prints the
 *                                    largest relative difference (std's
 *                                    against 1e-4 of the values' magnitude
 *                                    when it is smaller), exit 1 past 1e-12
 *
 * WHERE is a SQLite path or a PostgreSQL address, as for seglossd --db.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "httpclient.h"
#include "store/store.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double quantile(double *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[(int)floor(q * (n - 1))];
}

/* ---- fill ---------------------------------------------------------------------------------- */

typedef struct filler {
	store *s;
	const char *run;
	int from, to;
	int failed;
} filler;

static void *fill_main(void *arg)
{
	filler *f = arg;
	uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(f->from + 1);
	seg_error err = {0};

	for (int i = f->from; i < f->to; i++) {
		char item[32];
		double u[3];
		for (int k = 0; k < 3; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			u[k] = (double)(x >> 11) * 0x1.0p-53;
		}
		store_score sc[3] = {{0, "bce", 0.1 + 0.5 * u[0]}, {0, "dice", u[1]}, {1, "iou", u[2]}};
		snprintf(item, sizeof(item), "item-%07d", i);
		if (store_record(f->s, f->run, item, 1000 + i, 64, 64, sc, 3, &err) != SEG_OK) {
			fprintf(stderr, "store_bench: %s\n", err.msg);
			f->failed = 1;
			return NULL;
		}
	}
	return NULL;
}

static int fill(const char *where, const char *run, int n)
{
	enum { T = 4 };
	pthread_t th[T];
	filler f[T];
	seg_error err = {0};
	store *shared = store_is_postgres(where) ? NULL : store_open(where, &err);
	double t0 = now();
	int failed = 0;

	for (int t = 0; t < T; t++) {
		f[t] = (filler){shared ? shared : store_open(where, &err), run, n * t / T, n * (t + 1) / T, 0};
		if (f[t].s == NULL) {
			fprintf(stderr, "store_bench: %s\n", err.msg);
			return 1;
		}
		pthread_create(&th[t], NULL, fill_main, &f[t]);
	}
	for (int t = 0; t < T; t++) {
		pthread_join(th[t], NULL);
		failed |= f[t].failed;
		if (!shared)
			store_close(f[t].s);
	}
	store_close(shared);
	printf("%d items in %.1f s (%.0f items/s through the store)\n", n, now() - t0, n / (now() - t0));
	return failed;
}

/* ---- agg ------------------------------------------------------------------------------------ */

static void count_agg(void *ctx, const store_agg *a)
{
	(void)a;
	(*(int *)ctx)++;
}

static int agg(const char *where, const char *run, int k)
{
	seg_error err = {0};
	store *s = store_open(where, &err);
	double *kept = malloc(sizeof(double) * (size_t)k), *all = malloc(sizeof(double) * (size_t)k);
	int n = 0;

	if (s == NULL) {
		fprintf(stderr, "store_bench: %s\n", err.msg);
		return 1;
	}
	for (int i = 0; i < k; i++) {
		double t0 = now();
		if (store_aggregates_kept(s, run, count_agg, &n, &err) != SEG_OK)
			break;
		kept[i] = (now() - t0) * 1e3;
		t0 = now();
		if (store_aggregates(s, run, count_agg, &n, &err) != SEG_OK)
			break;
		all[i] = (now() - t0) * 1e3;
	}
	if (err.status != SEG_OK) {
		fprintf(stderr, "store_bench: %s\n", err.msg);
		return 1;
	}
	printf("%.2f %.2f\n", quantile(kept, k, 0.5), quantile(all, k, 0.5));
	store_close(s);
	free(kept);
	free(all);
	return 0;
}

/* ---- get ------------------------------------------------------------------------------------- */

static int get(int port, const char *run, int k)
{
	char path[256];
	double *t = malloc(sizeof(double) * (size_t)k);

	snprintf(path, sizeof(path), "/v1/runs/%s", run);
	for (int i = 0; i < k; i++) {
		hc_response r;
		double t0 = now();
		if (hc_request(port, "GET", path, NULL, NULL, 0, &r) != 0 || r.status != 200) {
			fprintf(stderr, "store_bench: GET %s: %d %s\n", path, r.status, r.body ? r.body : r.error);
			return 1;
		}
		t[i] = (now() - t0) * 1e3;
		hc_free(&r);
	}
	printf("%.2f %.2f\n", quantile(t, k, 0.5), quantile(t, k, 0.95));
	free(t);
	return 0;
}

/* ---- check ------------------------------------------------------------------------------------ */

typedef struct column {
	const char *section, *key;
	double *v;
	int n;
} column;

static double rel(double got, double want)
{
	double d = fabs(got - want), m = fabs(want);

	return m > 0 ? d / m : d;
}

static int check_run(int port, const char *run, double *worst, long *items)
{
	column cols[3] = {{"losses", "bce", NULL, 0}, {"losses", "dice", NULL, 0}, {"metrics", "iou", NULL, 0}};
	size_t cap = 1 << 16;
	long long after = 0;
	char path[256];

	for (int c = 0; c < 3; c++)
		cols[c].v = malloc(sizeof(double) * cap);
	for (;;) {
		hc_response r;
		int got = 0;
		snprintf(path, sizeof(path), "/v1/runs/%s/items?after=%lld&limit=1000", run, after);
		if (hc_request(port, "GET", path, NULL, NULL, 0, &r) != 0 || r.status != 200)
			return fprintf(stderr, "store_bench: GET %s failed\n", path), 1;
		cJSON *j = cJSON_Parse(r.body), *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items"))
		{
			for (int c = 0; c < 3; c++) {
				if ((size_t)cols[c].n == cap) {
					cap *= 2;
					for (int d = 0; d < 3; d++)
						cols[d].v = realloc(cols[d].v, sizeof(double) * cap);
				}
				cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(it, cols[c].section), cols[c].key);
				if (cJSON_IsNumber(v))
					cols[c].v[cols[c].n++] = v->valuedouble;
			}
			got++;
		}
		after = (long long)cJSON_GetObjectItem(j, "next")->valuedouble;
		cJSON_Delete(j);
		hc_free(&r);
		*items += got;
		if (got == 0)
			break;
	}
	hc_response r;
	snprintf(path, sizeof(path), "/v1/runs/%s", run);
	if (hc_request(port, "GET", path, NULL, NULL, 0, &r) != 0 || r.status != 200)
		return fprintf(stderr, "store_bench: GET %s failed\n", path), 1;
	cJSON *j = cJSON_Parse(r.body);
	for (int c = 0; c < 3; c++) {
		long double sum = 0, sq = 0;
		double lo = INFINITY, hi = -INFINITY;
		int n = cols[c].n;
		for (int i = 0; i < n; i++) {
			sum += cols[c].v[i];
			lo = fmin(lo, cols[c].v[i]);
			hi = fmax(hi, cols[c].v[i]);
		}
		long double mean = sum / n;
		for (int i = 0; i < n; i++)
			sq += (cols[c].v[i] - mean) * (cols[c].v[i] - mean);
		cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(j, cols[c].section), cols[c].key);
		if (cJSON_GetObjectItem(a, "count")->valueint != n)
			return fprintf(stderr, "store_bench: %s %s: count %d, %d items\n", run, cols[c].key,
				       cJSON_GetObjectItem(a, "count")->valueint, n), 1;
		/*
		 * std relative to itself, or to 1e-4 of the values' magnitude when
		 * it is smaller: equal values give 0 exactly from the store's exact
		 * sums, but a few ulps from the recomputation (its mean is rounded).
		 */
		double scale = fmax(fabs(lo), fabs(hi)), want_std = (double)sqrtl(sq / n);
		double got_std = cJSON_GetObjectItem(a, "std")->valuedouble;
		double d[4] = {rel(cJSON_GetObjectItem(a, "mean")->valuedouble, (double)mean),
			       fabs(got_std - want_std) / fmax(fabs(want_std), 1e-4 * scale),
			       rel(cJSON_GetObjectItem(a, "min")->valuedouble, lo), rel(cJSON_GetObjectItem(a, "max")->valuedouble, hi)};
		static const char *const what[4] = {"mean", "std", "min", "max"};
		for (int k = 0; k < 4; k++) {
			if (d[k] > 1e-12)
				fprintf(stderr, "store_bench: %s %s %s: relative difference %.1e\n", run, cols[c].key, what[k], d[k]);
			*worst = fmax(*worst, d[k]);
		}
		free(cols[c].v);
	}
	cJSON_Delete(j);
	hc_free(&r);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "fill") == 0)
		return fill(argv[2], argv[3], atoi(argv[4]));
	if (argc >= 5 && strcmp(argv[1], "agg") == 0)
		return agg(argv[2], argv[3], atoi(argv[4]));
	if (argc >= 5 && strcmp(argv[1], "get") == 0)
		return get(atoi(argv[2]), argv[3], atoi(argv[4]));
	if (argc >= 4 && strcmp(argv[1], "check") == 0) {
		double worst = 0;
		long items = 0;
		for (int i = 3; i < argc; i++)
			if (check_run(atoi(argv[2]), argv[i], &worst, &items) != 0)
				return 1;
		printf("%ld items in %d runs; aggregates against a recomputation: largest relative difference %.1e\n", items,
		       argc - 3, worst);
		return worst <= 1e-12 ? 0 : 1;
	}
	fprintf(stderr, "usage: store_bench fill WHERE RUN N | agg WHERE RUN K | get PORT RUN K | check PORT RUN...\n");
	return 2;
}
