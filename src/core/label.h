/*
 * label.h — instance labelling: connected components of a binary mask,
 * and compaction of arbitrary label values to 1..K.
 */
#ifndef LABEL_H
#define LABEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"

/*
 * Labels the connected components of the foreground (fg[i] != 0) with 4-
 * or 8-connectivity. fg is borrowed (w*h); labels (caller-owned, w*h)
 * receives 0 on background and 1..K on foreground, numbered in raster
 * order of each component's first pixel (as scikit-image does); *count
 * receives K. SEG_EINVAL for a bad connectivity, SEG_ENOMEM.
 */
seg_status label_components(const uint8_t *fg, int w, int h, int connectivity,
			    uint32_t *labels, uint32_t *count, seg_error *err);

/*
 * The same for a class map: the connected components of each class,
 * pixels of class skip (the background) and SEG_IGNORE pixels being
 * label 0; two neighbours join only when their classes are equal.
 * cls borrowed (w*h).
 */
seg_status label_components_classes(const uint16_t *cls, uint16_t skip, int w, int h, int connectivity,
				    uint32_t *labels, uint32_t *count, seg_error *err);

/*
 * Renumbers the non-zero values of raw (borrowed, n) to 1..K in raster
 * order of first appearance, writing to out (caller-owned, n; may equal
 * raw); zero stays zero. *count receives K. SEG_ENOMEM.
 */
seg_status label_compact(const uint32_t *raw, size_t n, uint32_t *out, uint32_t *count,
			 seg_error *err);

#endif
