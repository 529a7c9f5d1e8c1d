/*
 * service.h — what each route does, free of HTTP: a request body in, a
 * response body out. Runs on a worker thread; everything it needs travels
 * in its arguments.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "codec/buf.h"
#include "core/seg.h"

typedef struct svc_limits {
	uint64_t max_pixels;
} svc_limits;

/* Seconds per stage, for timing_ms in responses and the metrics. */
typedef struct svc_timing {
	double receive; /* set by the caller: first body byte to handover */
	double base64;
	double decode;
	double compute;
	double encode;
} svc_timing;

typedef struct svc_reply {
	buf body;                 /* owned; release with buf_release */
	const char *content_type; /* static string */
} svc_reply;

/*
 * POST /v1/evaluate. content_type, body borrowed. On SEG_OK, out->body
 * holds the JSON response. t->receive must be set; the other stages are
 * filled in. Errors carry the message for a problem+json.
 */
seg_status svc_evaluate(const svc_limits *lim, const char *content_type, const uint8_t *body, size_t len,
			svc_reply *out, svc_timing *t, seg_error *err);

/*
 * POST /v1/weight-map. accept (borrowed, may be NULL) picks the response:
 * application/x-npy, image/png, or JSON with the .npy in base64.
 */
seg_status svc_weight_map(const svc_limits *lim, const char *content_type, const char *accept,
			  const uint8_t *body, size_t len, svc_reply *out, svc_timing *t, seg_error *err);

/* The media type svc_weight_map answers for an Accept header (static string). */
const char *svc_negotiate_wmap(const char *accept);

/* Which decoder an error came from, for metrics: "png", "npy", "base64", "json", "multipart" or NULL. */
const char *svc_decode_error_kind(const seg_error *err);

#endif
