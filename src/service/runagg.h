/*
 * runagg.h — a run's multi-class aggregates: each metric per class over
 * the items (the mean of per-image scores, as MONAI and torchmetrics
 * report), and the dataset-pooled scores (as mmsegmentation and the
 * Cityscapes scripts report: intersections and unions summed over every
 * item, then the ratio per class, then the mean over classes).
 */
#ifndef RUNAGG_H
#define RUNAGG_H

#include <stddef.h>

#include <cJSON.h>

#include "store/store.h"

typedef struct ragg ragg; /* opaque */

/* A new accumulator; NULL when out of memory. Free with ragg_free. */
ragg *ragg_new(void);
void ragg_free(ragg *r);

/* Takes one aggregate of kind STORE_PER_CLASS or STORE_COUNTS (borrowed); others are ignored. */
void ragg_add(ragg *r, const store_agg *a);

/*
 * Adds "per_class" ({metric: {class: {count, mean, std, min, max}}}) and,
 * when the run holds class counts, "pooled" ({"classes": {class: {tp, fp,
 * fn, iou, dice, precision, recall}}, "iou", "dice", "recall",
 * "pixel_accuracy"}) to root (borrowed, modified). Nothing when the run
 * is binary. SEG_ENOMEM.
 */
seg_status ragg_json(const ragg *r, cJSON *root);

/* An item's per-class scores (kind STORE_PER_CLASS) into o's "per_class" (borrowed). */
void ragg_item_json(cJSON *o, const store_score *s, size_t n);

#endif
