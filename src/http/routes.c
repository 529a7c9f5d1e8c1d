/*
 * routes.c — the route table of seglossd: which method and path go to
 * which handler, the path parameters they carry, the query parameters
 * each /v1 route reads, and the methods a path allows (for 405's Allow).
 * Pure string matching, no HTTP library: server.c asks it and answers.
 */
#include "http/routes.h"

#include <stdio.h>
#include <string.h>

const char *const rt_names[R_COUNT] = {
	"evaluate", "weight_map", "losses", "profiles", "openapi", "healthz", "readyz", "metrics",
	"runs",     "run",        "run_items", "run_compare", "run_item_mask", "jobs", "job", "ui", "other",
};

static const char *const items_query[] = {"after", "limit", "order_by", "order", NULL};
static const char *const jobs_query[] = {"status", "after", "limit", NULL};
static const char *const run_query[] = {"percentiles", NULL};

static const route routes[] = {
	{"POST", "/v1/evaluate", R_EVALUATE, svc_evaluate, NULL},
	{"POST", "/v1/weight-map", R_WEIGHT_MAP, svc_weight_map, NULL},
	{"GET", "/v1/losses", R_LOSSES, NULL, NULL},
	{"GET", "/v1/profiles", R_PROFILES, NULL, NULL},
	{"GET", "/v1/openapi.yaml", R_OPENAPI, NULL, NULL},
	{"GET", "/healthz", R_HEALTHZ, NULL, NULL},
	{"GET", "/readyz", R_READYZ, NULL, NULL},
	{"GET", "/metrics", R_METRICS, NULL, NULL},
	{"GET", "/v1/runs", R_RUNS, svc_runs_list, NULL},
	{"GET", "/v1/runs/{}", R_RUN, svc_run_get, run_query},
	{"DELETE", "/v1/runs/{}", R_RUN, svc_run_delete, NULL},
	{"GET", "/v1/runs/{}/items", R_RUN_ITEMS, svc_run_items, items_query},
	{"GET", "/v1/runs/{}/compare/{}", R_RUN_COMPARE, svc_run_compare, NULL},
	{"GET", "/v1/runs/{}/items/{}/target", R_RUN_ITEM_MASK, svc_run_item_target, NULL},
	{"GET", "/v1/runs/{}/items/{}/prediction", R_RUN_ITEM_MASK, svc_run_item_prediction, NULL},
	{"GET", "/v1/runs/{}/items/{}/options", R_RUN_ITEM_MASK, svc_run_item_options, NULL},
	{"GET", "/v1/jobs", R_JOBS, svc_jobs_list, jobs_query},
	{"POST", "/v1/jobs", R_JOBS, svc_job_submit, NULL},
	{"GET", "/v1/jobs/{}", R_JOB, svc_job_get, NULL},
	{"DELETE", "/v1/jobs/{}", R_JOB, svc_job_cancel, NULL},
	{"GET", "/", R_UI, NULL, NULL},
	{"GET", "/ui/{}", R_UI, NULL, NULL},
};

#define NROUTES ((int)(sizeof(routes) / sizeof(routes[0])))

/* Matches path against pattern, copying "{}" segments into params; 1 on a match. */
static int match_pattern(const char *pattern, const char *path, char params[2][RT_PARAM_MAX])
{
	int np = 0;

	while (*pattern && *path) {
		if (pattern[0] == '{' && pattern[1] == '}') {
			size_t n = strcspn(path, "/");
			if (n == 0 || n >= RT_PARAM_MAX || np == 2)
				return 0;
			memcpy(params[np], path, n);
			params[np][n] = '\0';
			np++;
			pattern += 2;
			path += n;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

/*
 * Finds the route for method and path, filling params; *path_known says
 * whether any method serves the path (for 405 against 404).
 */
const route *rt_find(const char *method, const char *path, char params[2][RT_PARAM_MAX], int *path_known)
{
	char scratch[2][RT_PARAM_MAX];

	/* Unused parameter slots stay empty: handlers and ETags read both. */
	memset(scratch, 0, sizeof(scratch));
	*path_known = 0;
	for (int i = 0; i < NROUTES; i++) {
		if (!match_pattern(routes[i].pattern, path, scratch))
			continue;
		*path_known = 1;
		if (strcmp(routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
			memcpy(params, scratch, sizeof(scratch));
			return &routes[i];
		}
	}
	return NULL;
}

/* "GET, HEAD, DELETE" style list of the methods a path accepts. */
void rt_allowed(const char *path, char *out, size_t cap)
{
	char scratch[2][RT_PARAM_MAX];

	out[0] = '\0';
	for (int i = 0; i < NROUTES; i++) {
		if (!match_pattern(routes[i].pattern, path, scratch))
			continue;
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s%s%s", n ? ", " : "", routes[i].method,
			 strcmp(routes[i].method, "GET") == 0 ? ", HEAD" : "");
	}
}

/* Routes whose request carries a body. */
int rt_takes_body(const route *rt)
{
	return rt != NULL && strcmp(rt->method, "POST") == 0;
}
