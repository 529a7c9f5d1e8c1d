/*
 * svc_jobs.c — the job routes: submit (with Idempotency-Key), list,
 * read and cancel. The runner that works the queue is jobs.c.
 */
#include "service/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <cJSON.h>

#include "core/spec.h"
#include "service/request.h"
#include "service/svc_int.h"
#include "wire/wire.h"

/* A job as JSON; without its result in a listing (GET /v1/jobs/{id} has it). */
static void job_json(cJSON *o, const store_job *j, int with_result)
{
	cJSON_AddStringToObject(o, "id", j->id);
	cJSON_AddStringToObject(o, "status", store_job_status_name(j->status));
	cJSON *p = cJSON_AddObjectToObject(o, "progress");
	cJSON_AddNumberToObject(p, "done", j->done);
	cJSON_AddNumberToObject(p, "total", j->total);
	wire_add_time(o, "created", j->created);
	if (j->started)
		wire_add_time(o, "started", j->started);
	if (j->finished)
		wire_add_time(o, "finished", j->finished);
	if (with_result && j->status == JOB_DONE && j->result)
		cJSON_AddItemToObject(o, "result", cJSON_CreateRaw(j->result));
	if (j->status == JOB_FAILED) {
		cJSON *e = cJSON_AddObjectToObject(o, "error");
		cJSON_AddNumberToObject(e, "status", j->error_status);
		cJSON_AddStringToObject(e, "detail", j->error ? j->error : "");
	}
}

static void job_to_json(void *ctx, const store_job *j)
{
	job_json(ctx, j, 1);
}

static void job_to_list(void *ctx, const store_job *j)
{
	cJSON *o = cJSON_CreateObject();

	job_json(o, j, 0);
	cJSON_AddItemToArray(ctx, o);
}

/* The status filter of GET /v1/jobs: comma-separated status names into a bit mask. */
static seg_status parse_statuses(const char *v, unsigned *mask, seg_error *err)
{
	const char *p = v;

	*mask = 0;
	for (;;) {
		size_t n = strcspn(p, ",");
		int k;
		for (k = 0; k < JOB_STATUS_COUNT; k++)
			if (strlen(store_job_status_name((store_job_status)k)) == n &&
			    strncmp(p, store_job_status_name((store_job_status)k), n) == 0)
				break;
		if (k == JOB_STATUS_COUNT) {
			char word[40], hint[48] = "";
			int best_d = 3;
			snprintf(word, sizeof(word), "%.*s", (int)(n < 32 ? n : 32), p);
			for (int i = 0; i < JOB_STATUS_COUNT; i++) {
				int d = spec_edit_distance(word, store_job_status_name((store_job_status)i));
				if (d < best_d) {
					best_d = d;
					snprintf(hint, sizeof(hint), " (did you mean '%s'?)",
						 store_job_status_name((store_job_status)i));
				}
			}
			return seg_fail(err, SEG_EINVAL,
					"status must be queued, running, done, failed or canceled, or several of them "
					"comma-separated, got '%s'%s",
					word, hint);
		}
		*mask |= 1u << k;
		if (p[n] == '\0')
			return SEG_OK;
		p += n + 1;
	}
}

seg_status svc_jobs_list(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err)
{
	store_jobs_query q = {(1u << JOB_STATUS_COUNT) - 1, 0, 100};
	int64_t next = 0;
	long long v;
	cJSON *root;
	seg_status st;

	(void)t;
	svc_reply_init(out);
	st = svc_need_store(ctx, err);
	if (st == SEG_OK && rq->status)
		st = parse_statuses(rq->status, &q.status_mask, err);
	if (st == SEG_OK && rq->after && (st = svc_parse_long("after", rq->after, 0, INT64_MAX, &v, err)) == SEG_OK)
		q.before = v;
	if (st == SEG_OK && rq->limit && (st = svc_parse_long("limit", rq->limit, 1, 1000, &v, err)) == SEG_OK)
		q.limit = (int)v;
	if (st != SEG_OK)
		return st;
	root = cJSON_CreateObject();
	cJSON *jobs = cJSON_AddArrayToObject(root, "jobs");
	st = store_jobs_list(ctx->store, &q, job_to_list, jobs, &next, err);
	cJSON_AddItemToObject(root, "next", next ? cJSON_CreateNumber((double)next) : cJSON_CreateNull());
	if (st == SEG_OK)
		st = svc_reply_json(root, 200, out, err);
	cJSON_Delete(root);
	return st;
}

/* A fingerprint of what a job was asked to do: content type and body. */
static void body_hash(const svc_request *rq, char out[40])
{
	uint64_t a = svc_fnv1a(svc_fnv_str(0xcbf29ce484222325ULL, rq->content_type), rq->body, rq->body_len);
	uint64_t b = svc_fnv1a(svc_fnv_str(0x84222325cbf29ce4ULL, rq->content_type), rq->body, rq->body_len);

	snprintf(out, 40, "%016llx%016llx", (unsigned long long)a, (unsigned long long)(b * 0x9e3779b97f4a7c15ULL));
}

static seg_status check_idem_key(const char *k, seg_error *err)
{
	size_t n = strlen(k);

	if (n == 0 || n > 255)
		return seg_fail(err, SEG_EINVAL, "Idempotency-Key must be 1 to 255 characters");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
			return seg_fail(err, SEG_EINVAL, "Idempotency-Key must be printable ASCII without spaces");
	return SEG_OK;
}

seg_status svc_job_submit(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err)
{
	req_eval req;
	store_job j;
	char hash[40], existing[40];
	int same = 0;
	uint8_t rnd[16];
	seg_status st;
	double t0 = svc_now();

	svc_reply_init(out);
	st = svc_need_store(ctx, err);
	if (st == SEG_OK && rq->idempotency_key)
		st = check_idem_key(rq->idempotency_key, err);
	if (st != SEG_OK)
		return st;
	/* Refuse what could never run now, not later: parse (no decoding) before accepting. */
	st = req_parse_eval_capped(rq->content_type, rq->body, rq->body_len, ctx->lim.max_classes, &req, err);
	t->base64 = svc_now() - t0;
	if (st != SEG_OK)
		return st;
	memset(&j, 0, sizeof(j));
	j.total = (int)req.ncases;
	req_eval_release(&req);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return seg_fail(err, SEG_EINTERNAL, "no randomness for a job id");
	for (int i = 0; i < 16; i++)
		snprintf(j.id + 2 * i, 3, "%02x", rnd[i]);
	j.created = svc_now_ms();
	j.content_type = rq->content_type;
	j.body = rq->body;
	j.body_len = rq->body_len;
	body_hash(rq, hash);
	double t1 = svc_now();
	st = store_job_insert(ctx->store, &j, rq->idempotency_key, hash, existing, &same, err);
	t->store = svc_now() - t1;
	if (st != SEG_OK)
		return st;
	if (existing[0] && !same)
		return seg_fail(err, SEG_EINVAL, "Idempotency-Key '%.64s' was already used with a different body",
				rq->idempotency_key);
	cJSON *root = cJSON_CreateObject();
	if (existing[0]) {
		st = store_job_get(ctx->store, existing, 0, job_to_json, root, err);
	} else {
		cJSON_AddStringToObject(root, "id", j.id);
		cJSON_AddStringToObject(root, "status", "queued");
		if (ctx->job_queued)
			ctx->job_queued(ctx->job_queued_arg);
	}
	if (st == SEG_OK)
		st = svc_reply_json(root, 202, out, err);
	snprintf(out->location, sizeof(out->location), "/v1/jobs/%s", existing[0] ? existing : j.id);
	out->retry_after = 1;
	cJSON_Delete(root);
	return st;
}

static seg_status check_job_id(const char *id, seg_error *err)
{
	size_t n = strlen(id);

	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			n = 0;
	if (n != 32)
		return seg_fail(err, SEG_ENOTFOUND, "no job '%.40s'", id);
	return SEG_OK;
}

seg_status svc_job_get(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t, seg_error *err)
{
	cJSON *root;
	seg_status st;

	(void)t;
	svc_reply_init(out);
	st = svc_need_store(ctx, err);
	if (st == SEG_OK)
		st = check_job_id(rq->param[0], err);
	if (st != SEG_OK)
		return st;
	root = cJSON_CreateObject();
	st = store_job_get(ctx->store, rq->param[0], 0, job_to_json, root, err);
	if (st == SEG_OK) {
		const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(root, "status"));
		if (status && (strcmp(status, "queued") == 0 || strcmp(status, "running") == 0))
			out->retry_after = 1;
		st = svc_reply_json(root, 200, out, err);
	}
	cJSON_Delete(root);
	return st;
}

seg_status svc_job_cancel(const svc_ctx *ctx, const svc_request *rq, svc_reply *out, svc_timing *t,
			  seg_error *err)
{
	store_job_status was;
	seg_status st;

	(void)t;
	svc_reply_init(out);
	st = svc_need_store(ctx, err);
	if (st == SEG_OK)
		st = check_job_id(rq->param[0], err);
	if (st == SEG_OK)
		st = store_job_cancel(ctx->store, rq->param[0], &was, err);
	if (st != SEG_OK)
		return st;
	if (was != JOB_QUEUED && was != JOB_RUNNING)
		return seg_fail(err, SEG_ECONFLICT, "job '%s' is already %s", rq->param[0], store_job_status_name(was));
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "id", rq->param[0]);
	/* A queued job is canceled at once; a running one stops after its current item. */
	cJSON_AddStringToObject(root, "status", was == JOB_QUEUED ? "canceled" : "canceling");
	st = svc_reply_json(root, was == JOB_QUEUED ? 200 : 202, out, err);
	cJSON_Delete(root);
	return st;
}
