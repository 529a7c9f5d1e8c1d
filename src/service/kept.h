/*
 * kept.h — keep_masks: an item's target and prediction kept in its run as
 * they were uploaded, and served back by the item's sequence number
 * (GET /v1/runs/{run}/items/{seq}/target and .../prediction).
 */
#ifndef KEPT_H
#define KEPT_H

#include <stdint.h>

#include <cJSON.h>

#include "core/seg.h"
#include "service/request.h"
#include "service/service.h"
#include "store/store.h"

/*
 * Records case c's scores (borrowed, as for store_record) in rq->run under
 * item at time_ms; with rq->keep_masks also its target and prediction as uploaded (an
 * annotation export as its JSON text), unless they pass the per-item cap
 * or would take the run past its total (ctx->lim), which a warning in obj
 * (borrowed, modified) then says. obj also gets "masks_kept" when
 * keep_masks was asked. All pointers borrowed.
 */
seg_status kept_record(const svc_ctx *ctx, const req_eval *rq, const req_case *c, const char *item, int64_t time_ms,
		       int width, int height, const store_score *scores, size_t nscores, cJSON *obj, seg_error *err);

/*
 * The options that say how case c of rq (both borrowed) is read, as the
 * JSON text of an object of /v1/evaluate form fields: "logits",
 * "target_kind", "prediction_kind", "channel_axis", "threshold" (the
 * first metric's or map's that sets one) and, multi-class, "classes",
 * "ignore_index", "include_background", "background", "profile"; only
 * those the request set. Caller frees with cJSON_free; NULL: no memory.
 */
char *kept_options(const req_eval *rq, const req_case *c);

/*
 * The kept target (which 0) or prediction (which 1) of the item whose
 * sequence number is seq in run (borrowed) into out's body, with its media
 * type told by content: image/png, application/x-npy or application/json;
 * which 2: the options kept with them (kept_options; "{}" for masks kept
 * before options were), application/json.
 */
seg_status kept_reply(store *s, const char *run, int64_t seq, int which, svc_reply *out, seg_error *err);

#endif
