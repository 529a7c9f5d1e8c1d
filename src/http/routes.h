/*
 * routes.h — seglossd's route table (routes.c): method and path to a
 * route, its handler and the query parameters it reads.
 */
#ifndef ROUTES_H
#define ROUTES_H

#include <stddef.h>

#include "service/service.h"

#define RT_PARAM_MAX 520 /* a path parameter: a run name or a job id */

typedef enum route_id {
	R_EVALUATE,
	R_WEIGHT_MAP,
	R_LOSSES,
	R_PROFILES,
	R_OPENAPI,
	R_HEALTHZ,
	R_READYZ,
	R_METRICS,
	R_RUNS,
	R_RUN,
	R_RUN_ITEMS,
	R_RUN_COMPARE,
	R_RUN_ITEM_MASK, /* keep_masks: an item's target or prediction */
	R_JOBS,
	R_JOB,
	R_UI,        /* the web page: GET / and /ui/{file} (http/ui.c) */
	R_NOT_FOUND, /* no route: also the metrics label for 404 and 405 */
	R_COUNT
} route_id;

/* The metrics label of each route id. */
extern const char *const rt_names[R_COUNT];

/*
 * The route table. A "{}" segment matches any one non-empty segment and is
 * passed to the handler as a path parameter. Routes with a handler run on
 * a worker; the others are answered on the polling thread. query lists
 * the query parameters a /v1 route reads (NULL: none); any other is a 422.
 */
typedef struct route {
	const char *method;
	const char *pattern;
	route_id id;
	svc_handler handler;
	const char *const *query;
} route;

/*
 * The route for method (HEAD finds GET's) and path (both borrowed), its
 * "{}" segments copied into params (unused slots emptied), or NULL;
 * *path_known says whether any method serves the path (405 against 404).
 * The route returned is static.
 */
const route *rt_find(const char *method, const char *path, char params[2][RT_PARAM_MAX], int *path_known);

/* Into out (cap bytes, the caller's): "GET, HEAD, DELETE" style list of the methods path (borrowed) accepts. */
void rt_allowed(const char *path, char *out, size_t cap);

/* 1 when rt (borrowed, may be NULL) takes a request body. */
int rt_takes_body(const route *rt);

#endif
