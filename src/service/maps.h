/*
 * maps.h — the maps of an evaluation (the "maps" object of an answer):
 * float maps (the U-Net weight map, the per-pixel BCE) as float32 .npy or
 * heatmap PNGs with their colour scale, and categorical maps (the hard
 * prediction "mask", the "errors" map) as uint8/uint16 .npy, grey or
 * palette PNGs, or COCO RLE that an annotation tool draws as it is.
 */
#ifndef MAPS_H
#define MAPS_H

#include <stddef.h>

#include <cJSON.h>

#include "codec/buf.h"
#include "core/seg.h"
#include "service/inputs.h"
#include "service/request.h"
#include "service/service.h"

/*
 * Computes and encodes rq's maps (borrowed) for the decoded pair in
 * (borrowed) into `into` (borrowed, modified), each under its key, in
 * rq->map_format. t receives compute and encode times.
 */
seg_status maps_add(const req_eval *rq, const inp_pair *in, cJSON *into, svc_timing *t, seg_error *err);

/* The palette of the errors map, 0xRRGGBBAA (Okabe and Ito's colour-blind-safe colours); 5 entries. */
extern const uint32_t maps_errors_palette[5];

/* Minimum, maximum and mean of v (borrowed, n > 0). */
void maps_stats(const float *v, size_t n, double *lo, double *hi, double *mean);

/* Base64 of raw (borrowed) as a new cJSON string; NULL when out of memory. */
cJSON *maps_b64(const buf *raw);

#endif
