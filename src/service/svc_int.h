/*
 * svc_int.h — what the service's route files (service.c, svc_runs.c,
 * svc_jobs.c) share: clocks, JSON replies, the store check, fingerprints
 * and query integers. Not part of the service's interface (service.h).
 */
#ifndef SVC_INT_H
#define SVC_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "service/service.h"

/* Monotonic seconds, for the stage timings. */
double svc_now(void);

/* Wall-clock milliseconds since the epoch, for stored times. */
int64_t svc_now_ms(void);

/* Empties *out (status 0, no body); out is the caller's. */
void svc_reply_init(svc_reply *out);

/* Serialises root (borrowed; the caller still deletes it) into out->body as JSON with the given status. */
seg_status svc_reply_json(cJSON *root, int status, svc_reply *out, seg_error *err);

/* SEG_ESTORE, with the reason, when the daemon has no store (ctx borrowed). */
seg_status svc_need_store(const svc_ctx *ctx, seg_error *err);

/* 64-bit FNV-1a of n bytes at data (borrowed) from state h; for ETags and body fingerprints, not security. */
uint64_t svc_fnv1a(uint64_t h, const void *data, size_t n);

/* svc_fnv1a of s (borrowed; NULL hashes as "") with its terminating NUL. */
uint64_t svc_fnv_str(uint64_t h, const char *s);

/* Query argument v (borrowed) named name as an integer in [lo, hi] into *out, or SEG_EINVAL naming both. */
seg_status svc_parse_long(const char *name, const char *v, long long lo, long long hi, long long *out,
			  seg_error *err);

#endif
