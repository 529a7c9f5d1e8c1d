/*
 * pngio_internal.h — the two PNG decoding paths one at a time, for the
 * codec tests and the differential fuzz target only; everything else
 * calls pngio_decode_target and pngio_decode_pred (pngio.h), which try
 * the fast path and fall back to libpng.
 *
 * Both functions check the signature and walk the chunks (CRCs, sizes,
 * caps) exactly as the public ones do, with the same ownership rules.
 */
#ifndef PNGIO_INTERNAL_H
#define PNGIO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"

/* Which decoder pngio_decode_*_path uses. */
enum pngio_path {
	PNGIO_PATH_AUTO,   /* the fast path, else libpng: what the public functions do */
	PNGIO_PATH_LIBPNG, /* libpng's push reader only */
	PNGIO_PATH_FAST    /* the fast path only; SEG_EUNSUPPORTED with the reason when it declines */
};

/*
 * pngio_decode_target / pngio_decode_pred through the chosen path. data
 * is borrowed; on success *out owns new arrays, on error *out is zeroed.
 * With PNGIO_PATH_FAST, a file the fast path does not take (interlaced,
 * colour, a bad filter byte, an IDAT stream that does not inflate to
 * exactly the image, ...) gives SEG_EUNSUPPORTED and a message starting
 * "png: fast path: ".
 */
seg_status pngio_decode_target_path(const uint8_t *data, size_t len, uint64_t max_pixels,
				    enum pngio_path path, seg_target *out, seg_error *err);
seg_status pngio_decode_pred_path(const uint8_t *data, size_t len, uint64_t max_pixels,
				  enum pngio_path path, seg_pred *out, seg_error *err);

#endif
