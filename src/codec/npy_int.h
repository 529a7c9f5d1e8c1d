/*
 * npy_int.h — the .npy header reader (npyhdr.c) that npy.c's decoders
 * and encoders build on. Not for other modules: they use npy.h.
 */
#ifndef NPY_INT_H
#define NPY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"

#define NPY_HEADER_MAX (64u << 10) /* NumPy itself refuses headers over 10000 bytes */
#define NPY_MAX_DIMS 32            /* NumPy allows 64; a mask has 2 or 3 */

extern const uint8_t npyh_magic[6]; /* "\x93NUMPY" */

/* An element type NumPy writes, as read from 'descr'. */
struct npy_dtype {
	char kind;        /* 'b' bool, 'u' unsigned, 'i' signed, 'f' float */
	int size;         /* bytes per element */
	int swap;         /* the file's byte order is not the host's */
	const char *name; /* NumPy's name, for messages */
};

/* What a header says, checked for syntax only. */
struct npy_header {
	char descr[16];
	struct npy_dtype dt;
	int fortran;
	int ndim;
	uint64_t shape[NPY_MAX_DIMS];
	char shape_text[96]; /* "(10, 20)", for messages */
	uint64_t height;
	uint64_t width;
	size_t data_off;
};

/* 1 on a big-endian host. */
int npyh_host_big_endian(void);

/*
 * Reads the preamble and the header dict of data[0..len) (borrowed) into
 * *h: version, length, 'descr' (one of the types NumPy writes),
 * 'fortran_order' and 'shape'. SEG_EDECODE naming what is wrong.
 */
seg_status npyh_read(const uint8_t *data, size_t len, struct npy_header *h, seg_error *err);

/* npyh_read, then the shape must be a 2-D mask: (H, W), (1, H, W) or (H, W, 1). SEG_EINVAL otherwise. */
seg_status npyh_read_mask(const uint8_t *data, size_t len, struct npy_header *h, seg_error *err);

/*
 * Checks h's height and width against the caps (SEG_ETOOBIG) and that
 * the data after the header of a len-byte file is exactly height*width
 * pixels of per elements each (1 for a mask, the class count for
 * per-class scores); SEG_EINVAL for no pixels, SEG_EDECODE for a length
 * that disagrees.
 */
seg_status npyh_check_data(size_t len, uint64_t max_pixels, const struct npy_header *h, uint64_t per,
			   seg_error *err);

#endif
