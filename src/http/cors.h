/*
 * cors.h — which web pages may call the API from a browser (CORS).
 *
 * Off unless configured. The setting is "*" (any origin) or a
 * comma-separated list of exact origins, each scheme://host[:port] with
 * no path ("https://label.example.org,http://localhost:8081"). A request
 * whose Origin is allowed gets the CORS headers on every answer, errors
 * included; a preflight (OPTIONS with Access-Control-Request-Method) is
 * answered by the server before any API key check, since browsers send
 * preflights without credentials.
 */
#ifndef CORS_H
#define CORS_H

#include "core/seg.h"

/* What a preflight allows and an answer exposes: the headers the API reads and sets. */
#define CORS_ALLOW_HEADERS "Authorization, Content-Type, Accept, Idempotency-Key, If-None-Match, X-Request-Id"
#define CORS_EXPOSE_HEADERS "ETag, Location, Retry-After, X-Request-Id, WWW-Authenticate, X-Map-Min, X-Map-Max"
#define CORS_MAX_AGE "600"

typedef struct cors cors;

/*
 * Parses list (borrowed; spaces around entries are ignored). *out is
 * NULL without error when list is NULL or blank (CORS off). An entry that
 * is not an origin, or "*" beside other entries, gives SEG_EINVAL with
 * err naming it. Caller frees *out with cors_free.
 */
seg_status cors_new(const char *list, cors **out, seg_error *err);
/* Frees c (takes ownership); NULL-safe. */
void cors_free(cors *c);

/*
 * The Access-Control-Allow-Origin value for a request's Origin header
 * (borrowed, may be NULL): "*" when any origin is allowed, origin itself
 * when it is in the list, else NULL (also when c is NULL). The result
 * borrows from c or from origin.
 */
const char *cors_allow(const cors *c, const char *origin);

/* 1 when answers depend on the Origin (a list, not "*"): they then carry Vary: Origin. */
int cors_varies(const cors *c);

#endif
