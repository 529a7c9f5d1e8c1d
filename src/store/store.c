/*
 * store.c — the store's front: picks a backend from the address and
 * hands every call to its table of functions (backend.h), counting the
 * failures; plus the helpers both backends share (percentiles, names).
 *
 * The address decides: postgres:// and postgresql:// URIs and libpq
 * key=value strings ("host=db dbname=segloss", a keyword first) go to PostgreSQL
 * (pg.c, pg_runs.c, pg_jobs.c), anything else is a SQLite path
 * (sqlite.c, sqlite_jobs.c). The service never learns which.
 */
#include "store/backend.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const double store_percentiles[3] = {5.0 / 100.0, 0.5, 95.0 / 100.0};

int64_t store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t store_quantile_rank(int64_t n, double q)
{
	return (int64_t)floor((double)(n - 1) * q);
}

/*
 * NumPy's default ("linear") method, at position q(n - 1) between the
 * closest ranks, interpolated as numpy's _lerp does it (from the upper
 * value when the fraction is 0.5 or more), so the result is NumPy's to
 * the bit.
 */
double store_quantile_of(double lo, double hi, size_t n, double q)
{
	double pos = (double)(n - 1) * q;
	double fl = floor(pos);
	size_t i = (size_t)fl;

	if (i + 1 >= n)
		return lo;
	double t = pos - fl, d = hi - lo;
	return t >= 0.5 ? hi - d * (1.0 - t) : lo + d * t;
}

const char *store_job_status_name(store_job_status st)
{
	static const char *const names[JOB_STATUS_COUNT] = {"queued", "running", "done", "failed", "canceled"};

	return (unsigned)st < JOB_STATUS_COUNT ? names[st] : "unknown";
}

/*
 * A libpq key=value string starts with a keyword (letters, digits and
 * '_', a letter first) and '=', spaces allowed around it as libpq allows
 * them. A path may hold '=' too ("./runs/a=b.db"), but written with its
 * folder it has a '/' or '.' before it, which a keyword cannot hold.
 */
static int is_keyword_value(const char *where)
{
	const char *p = where;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
		p++;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '=';
}

int store_is_postgres(const char *where)
{
	return strncmp(where, "postgres://", 11) == 0 || strncmp(where, "postgresql://", 13) == 0 ||
	       is_keyword_value(where);
}

void store_describe(const char *where, char *out, size_t cap)
{
	if (store_is_postgres(where))
		store_pg_describe(where, out, cap);
	else
		snprintf(out, cap, "%s", where);
}

store *store_open_config(const store_config *cfg, seg_error *err)
{
	store *s = store_is_postgres(cfg->where) ? store_pg_open(cfg, err) : store_sqlite_open(cfg, err);

	if (s)
		atomic_init(&s->errors, 0);
	return s;
}

store *store_open(const char *where, seg_error *err)
{
	store_config cfg = {where, 0, 0, NULL, 0};

	return store_open_config(&cfg, err);
}

void store_close(store *s)
{
	if (s)
		s->ops->close(s);
}

const char *store_backend(const store *s)
{
	return s->ops->name;
}

void store_health_of(store *s, store_health *h)
{
	memset(h, 0, sizeof(*h));
	s->ops->health(s, h);
	h->errors = atomic_load(&s->errors);
}

uint64_t store_losses(store *s, int *up)
{
	if (s->ops->losses)
		return s->ops->losses(s, up);
	if (up)
		*up = 1;
	return 0;
}

int64_t store_size_bytes(store *s)
{
	store_health h;

	store_health_of(s, &h);
	return h.size_bytes;
}

uint64_t store_write_errors(store *s)
{
	store_health h;

	store_health_of(s, &h);
	return h.write_errors;
}

void store_set_job_hook(store *s, void (*fn)(void *arg), void *arg)
{
	s->ops->set_job_hook(s, fn, arg);
}

/* Every call passes through here: a SEG_ESTORE is counted for /metrics. */
static seg_status counted(store *s, seg_status rc)
{
	if (rc == SEG_ESTORE)
		atomic_fetch_add(&s->errors, 1);
	return rc;
}

seg_status store_record(store *s, const char *run, const char *item, int64_t time_ms, int width, int height,
			const store_score *scores, size_t nscores, seg_error *err)
{
	int kept;
	uint64_t bytes;

	return counted(s, s->ops->record(s, run, item, time_ms, width, height, scores, nscores, NULL, 0, &kept, &bytes,
					 err));
}

seg_status store_record_masks(store *s, const char *run, const char *item, int64_t time_ms, int width, int height,
			      const store_score *scores, size_t nscores, const store_masks *m, uint64_t run_cap,
			      int *kept, uint64_t *run_bytes, seg_error *err)
{
	return counted(s, s->ops->record(s, run, item, time_ms, width, height, scores, nscores, m, run_cap, kept,
					 run_bytes, err));
}

seg_status store_item_mask(store *s, const char *run, int64_t seq, int which,
			   void (*fn)(void *ctx, const char *item, const uint8_t *data, size_t len), void *ctx,
			   seg_error *err)
{
	return counted(s, s->ops->item_mask(s, run, seq, which, fn, ctx, err));
}

seg_status store_version(store *s, const char *run, int64_t *version, seg_error *err)
{
	return counted(s, s->ops->version(s, run, version, err));
}

seg_status store_list_runs(store *s, void (*fn)(void *ctx, const store_run *r), void *ctx, seg_error *err)
{
	return counted(s, s->ops->list_runs(s, fn, ctx, err));
}

seg_status store_get_run(store *s, const char *run, store_run *out, seg_error *err)
{
	return counted(s, s->ops->get_run(s, run, out, err));
}

seg_status store_run_keys(store *s, const char *run, void (*fn)(void *ctx, int kind, const char *key), void *ctx,
			  seg_error *err)
{
	return counted(s, s->ops->run_keys(s, run, fn, ctx, err));
}

seg_status store_aggregates(store *s, const char *run, void (*fn)(void *ctx, const store_agg *a), void *ctx,
			    seg_error *err)
{
	return counted(s, s->ops->aggregates(s, run, 1, fn, ctx, err));
}

seg_status store_aggregates_kept(store *s, const char *run, void (*fn)(void *ctx, const store_agg *a), void *ctx,
				 seg_error *err)
{
	return counted(s, s->ops->aggregates(s, run, 0, fn, ctx, err));
}

seg_status store_run_summary(store *s, const char *run, int percentiles, store_run *out,
			     void (*fn)(void *ctx, const store_agg *a), void *ctx, seg_error *err)
{
	seg_status rc;

	if (s->ops->run_summary)
		return counted(s, s->ops->run_summary(s, run, percentiles, out, fn, ctx, err));
	rc = counted(s, s->ops->get_run(s, run, out, err));
	if (rc == SEG_OK)
		rc = counted(s, s->ops->aggregates(s, run, percentiles, fn, ctx, err));
	return rc;
}

seg_status store_items(store *s, const char *run, const store_items_query *q,
		       void (*fn)(void *ctx, const store_item *it), void *ctx, int64_t *next, seg_error *err)
{
	return counted(s, s->ops->items(s, run, q, fn, ctx, next, err));
}

seg_status store_compare(store *s, const char *a, const char *b, void (*fn)(void *ctx, const store_pair *p),
			 void *ctx, seg_error *err)
{
	return counted(s, s->ops->compare(s, a, b, fn, ctx, err));
}

seg_status store_key_mean(store *s, const char *run, int kind, const char *key, double *mean, int64_t *count,
			  seg_error *err)
{
	return counted(s, s->ops->key_mean(s, run, kind, key, mean, count, err));
}

seg_status store_delete_run(store *s, const char *run, seg_error *err)
{
	return counted(s, s->ops->delete_run(s, run, err));
}

seg_status store_job_insert(store *s, const store_job *j, const char *idem_key, const char *body_hash,
			    char existing[40], int *same_body, seg_error *err)
{
	return counted(s, s->ops->job_insert(s, j, idem_key, body_hash, existing, same_body, err));
}

seg_status store_job_get(store *s, const char *id, int with_body, void (*fn)(void *ctx, const store_job *j),
			 void *ctx, seg_error *err)
{
	return counted(s, s->ops->job_get(s, id, with_body, fn, ctx, err));
}

seg_status store_jobs_list(store *s, const store_jobs_query *q, void (*fn)(void *ctx, const store_job *j),
			   void *ctx, int64_t *next, seg_error *err)
{
	return counted(s, s->ops->jobs_list(s, q, fn, ctx, next, err));
}

seg_status store_job_claim(store *s, void (*fn)(void *ctx, const store_job *j), void *ctx, int *found,
			   seg_error *err)
{
	return counted(s, s->ops->job_claim(s, fn, ctx, found, err));
}

seg_status store_job_progress(store *s, const char *id, int done, int *next, seg_error *err)
{
	return counted(s, s->ops->job_progress(s, id, done, next, err));
}

seg_status store_job_finish(store *s, const char *id, store_job_status st, const char *result,
			    const char *error, int error_status, seg_error *err)
{
	return counted(s, s->ops->job_finish(s, id, st, result, error, error_status, err));
}

seg_status store_job_release(store *s, const char *id, seg_error *err)
{
	return counted(s, s->ops->job_release(s, id, err));
}

seg_status store_job_cancel(store *s, const char *id, store_job_status *was, seg_error *err)
{
	return counted(s, s->ops->job_cancel(s, id, was, err));
}

seg_status store_job_requeue(store *s, int *count, seg_error *err)
{
	return counted(s, s->ops->job_requeue(s, count, err));
}

seg_status store_job_purge(store *s, int64_t before_ms, int *count, seg_error *err)
{
	return counted(s, s->ops->job_purge(s, before_ms, count, err));
}

seg_status store_job_counts(store *s, int64_t counts[JOB_STATUS_COUNT], seg_error *err)
{
	return counted(s, s->ops->job_counts(s, counts, err));
}
