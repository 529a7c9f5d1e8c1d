/*
 * label.c — connected-component labelling and label compaction.
 *
 * Components: the classic two-pass algorithm with a union-find forest.
 * The first pass gives each foreground pixel the smallest provisional
 * label among its already-visited neighbours (west, north-west, north,
 * north-east for 8-connectivity; west and north for 4) and unions the
 * others with it. Roots are always the smaller label, so after path
 * compression the final numbering, assigned in increasing provisional
 * order, follows the raster order of each component's first pixel.
 * A binary mask is labelled by runs instead (the run-based two-scan
 * labelling of He, Chao and Suzuki, 2008): each row's runs of foreground
 * are found a word at a time, each run is a node of the forest and joins
 * the runs of the row above that it touches, and labels are written a
 * run at a time. Runs come in raster order and roots are again the
 * smaller label, so the numbering is the pixel version's.
 *
 * Compaction: an open-addressing hash map from value to new label,
 * sized to a power of two at least twice the number of distinct values
 * (grown on demand), so arbitrary 32-bit labels (packed RGB colours,
 * sparse 16-bit ids) cost O(n).
 */
#include "core/label.h"

#include <stdlib.h>
#include <string.h>

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
	uint32_t root = x;

	while (parent[root] != root)
		root = parent[root];
	while (parent[x] != root) {
		uint32_t next = parent[x];
		parent[x] = root;
		x = next;
	}
	return root;
}

static uint32_t uf_union(uint32_t *parent, uint32_t a, uint32_t b)
{
	a = uf_find(parent, a);
	b = uf_find(parent, b);
	if (a < b) {
		parent[b] = a;
		return a;
	}
	parent[a] = b;
	return b;
}

/*
 * Components of the foreground of fg, or (cls not NULL) of the pixels whose
 * class is neither skip nor SEG_IGNORE, neighbours joining only when their
 * classes are equal.
 */
static seg_status components(const uint8_t *fg, const uint16_t *cls, uint16_t skip, int w, int h, int connectivity,
			     uint32_t *labels, uint32_t *count, seg_error *err)
{
	size_t n = (size_t)w * (size_t)h;
	/* Provisional labels: at most one per two pixels for one foreground; one per pixel when classes touch. */
	size_t cap = cls ? n + 2 : n / 2 + 2;
	uint32_t *parent = NULL;
	uint32_t *final = NULL;
	uint32_t next = 1;
	uint32_t k = 0;
	int diag = connectivity == 8;
	seg_status st = SEG_OK;

	*count = 0;
	if (connectivity != 4 && connectivity != 8)
		return seg_fail(err, SEG_EINVAL, "connectivity must be 4 or 8, got %d", connectivity);
	parent = malloc(cap * sizeof(*parent));
	if (parent == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "label: out of memory");
		goto out;
	}
	parent[0] = 0;
	for (int y = 0; y < h; y++) {
		const uint8_t *m = fg ? fg + (size_t)y * w : NULL;
		const uint16_t *kc = cls ? cls + (size_t)y * w : NULL, *ku = kc && y > 0 ? kc - w : NULL;
		uint32_t *row = labels + (size_t)y * w;
		const uint32_t *up = y > 0 ? row - w : NULL;
		for (int x = 0; x < w; x++) {
			if (m ? !m[x] : (kc[x] == skip || kc[x] == SEG_IGNORE)) {
				row[x] = 0;
				continue;
			}
			uint32_t nb[4];
			int c = 0;
			/* A neighbour joins when it is foreground and, with classes, of the same class. */
			if (x > 0 && row[x - 1] && (!kc || kc[x - 1] == kc[x]))
				nb[c++] = row[x - 1];
			if (up) {
				if (up[x] && (!kc || ku[x] == kc[x]))
					nb[c++] = up[x];
				if (diag && x > 0 && up[x - 1] && (!kc || ku[x - 1] == kc[x]))
					nb[c++] = up[x - 1];
				if (diag && x + 1 < w && up[x + 1] && (!kc || ku[x + 1] == kc[x]))
					nb[c++] = up[x + 1];
			}
			if (c == 0) {
				if (next >= cap) {
					st = seg_fail(err, SEG_EINTERNAL, "label: provisional label overflow");
					goto out;
				}
				parent[next] = next;
				row[x] = next++;
				continue;
			}
			uint32_t l = nb[0];
			for (int i = 1; i < c; i++)
				if (nb[i] != l)
					l = uf_union(parent, l, nb[i]);
			row[x] = uf_find(parent, l);
		}
	}
	/* Number the roots in increasing provisional order = raster order of first pixels. */
	final = malloc((size_t)next * sizeof(*final));
	if (final == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "label: out of memory");
		goto out;
	}
	final[0] = 0;
	for (uint32_t i = 1; i < next; i++) {
		uint32_t r = uf_find(parent, i);
		final[i] = (r == i) ? ++k : final[r];
	}
	for (size_t i = 0; i < n; i++)
		labels[i] = final[labels[i]];
	*count = k;
out:
	free(final);
	free(parent);
	return st;
}

/* A run of foreground pixels [x0, x1) of one row. */
typedef struct run {
	int x0, x1;
} run;

/* The first x in [x, w) whose byte is non-zero (want 1) or zero (want 0); w when none. Eight bytes a step. */
static int scan_to(const uint8_t *m, int x, int w, int want)
{
	while (x + 8 <= w) {
		uint64_t v;
		memcpy(&v, m + x, 8);
		/* 0x80 in each non-zero byte (no carry crosses a byte). */
		uint64_t nz = (((v & UINT64_C(0x7f7f7f7f7f7f7f7f)) + UINT64_C(0x7f7f7f7f7f7f7f7f)) | v) &
			      UINT64_C(0x8080808080808080);
		if ((want ? nz : nz ^ UINT64_C(0x8080808080808080)) != 0)
			break;
		x += 8;
	}
	while (x < w && (m[x] != 0) != want)
		x++;
	return x;
}

/* Grows runs and parent (one node per run, plus node 0) to hold cap runs. */
static seg_status grow_runs(run **runs, uint32_t **parent, size_t cap)
{
	run *r = realloc(*runs, cap * sizeof(**runs));

	if (r == NULL)
		return SEG_ENOMEM;
	*runs = r;
	uint32_t *p = realloc(*parent, (cap + 1) * sizeof(**parent));
	if (p == NULL)
		return SEG_ENOMEM;
	*parent = p;
	return SEG_OK;
}

seg_status label_components(const uint8_t *fg, int w, int h, int connectivity, uint32_t *labels, uint32_t *count,
			    seg_error *err)
{
	size_t per_row = ((size_t)w + 1) / 2; /* the most runs one row can hold */
	size_t have = 0, nr = 0;
	run *runs = NULL;
	uint32_t *parent = NULL; /* node i + 1 is run i */
	size_t *first = NULL;    /* first[y]: row y's first run; first[h]: how many */
	uint32_t k = 0;
	/* A run of the row above touches [x0, x1) when it overlaps [x0 - d, x1 + d): d = 1 with diagonals. */
	int d = connectivity == 8;
	seg_status st = SEG_OK;

	*count = 0;
	if (connectivity != 4 && connectivity != 8)
		return seg_fail(err, SEG_EINVAL, "connectivity must be 4 or 8, got %d", connectivity);
	first = malloc(((size_t)h + 1) * sizeof(*first));
	if (first == NULL || grow_runs(&runs, &parent, have = per_row * 4) != SEG_OK) {
		st = seg_fail(err, SEG_ENOMEM, "label: out of memory");
		goto out;
	}
	parent[0] = 0;
	for (int y = 0; y < h; y++) {
		const uint8_t *m = fg + (size_t)y * w;
		size_t q = y > 0 ? first[y - 1] : 0, above_end = nr;
		first[y] = nr;
		if (have - nr < per_row) {
			if (grow_runs(&runs, &parent, have *= 2) != SEG_OK) {
				st = seg_fail(err, SEG_ENOMEM, "label: out of memory");
				goto out;
			}
		}
		for (int x = scan_to(m, 0, w, 1); x < w; x = scan_to(m, x, w, 1)) {
			int e = scan_to(m, x, w, 0);
			uint32_t me = (uint32_t)nr + 1;
			parent[me] = me;
			/* Runs above that end before this one's reach touch neither it nor any run after it. */
			while (q < above_end && runs[q].x1 + d <= x)
				q++;
			for (size_t a = q; a < above_end && runs[a].x0 < e + d; a++)
				uf_union(parent, (uint32_t)a + 1, me);
			runs[nr++] = (run){x, e};
			x = e;
		}
	}
	first[h] = nr;
	/*
	 * A node's parent is never after it, so in node order each parent
	 * already points at its root: one step each makes every node point at
	 * its root. Then, in node order (raster order of first pixels), roots
	 * take the next number and the others their root's, in place.
	 */
	for (size_t i = 1; i <= nr; i++)
		parent[i] = parent[parent[i]];
	for (size_t i = 1; i <= nr; i++) {
		uint32_t r = parent[i];
		parent[i] = r == i ? ++k : parent[r];
	}
	for (int y = 0; y < h; y++) {
		uint32_t *row = labels + (size_t)y * w;
		int at = 0;
		for (size_t i = first[y]; i < first[y + 1]; i++) {
			for (; at < runs[i].x0; at++)
				row[at] = 0;
			uint32_t l = parent[i + 1];
			for (; at < runs[i].x1; at++)
				row[at] = l;
		}
		for (; at < w; at++)
			row[at] = 0;
	}
	*count = k;
out:
	free(runs);
	free(parent);
	free(first);
	return st;
}

seg_status label_components_classes(const uint16_t *cls, uint16_t skip, int w, int h, int connectivity,
				    uint32_t *labels, uint32_t *count, seg_error *err)
{
	return components(NULL, cls, skip, w, h, connectivity, labels, count, err);
}

typedef struct lmap {
	uint32_t *keys; /* 0 = empty slot (0 is never a key) */
	uint32_t *vals;
	size_t mask;
	size_t used;
} lmap;

static size_t lmap_slot(const lmap *m, uint32_t key)
{
	size_t i = (size_t)((key * UINT32_C(2654435761)) >> 7) & m->mask;

	while (m->keys[i] != 0 && m->keys[i] != key)
		i = (i + 1) & m->mask;
	return i;
}

static seg_status lmap_grow(lmap *m)
{
	lmap bigger = {0};
	size_t size = (m->mask + 1) * 2;

	bigger.keys = calloc(size, sizeof(*bigger.keys));
	bigger.vals = malloc(size * sizeof(*bigger.vals));
	if (bigger.keys == NULL || bigger.vals == NULL) {
		free(bigger.keys);
		free(bigger.vals);
		return SEG_ENOMEM;
	}
	bigger.mask = size - 1;
	bigger.used = m->used;
	for (size_t i = 0; i <= m->mask; i++) {
		if (m->keys[i] == 0)
			continue;
		size_t j = lmap_slot(&bigger, m->keys[i]);
		bigger.keys[j] = m->keys[i];
		bigger.vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	*m = bigger;
	return SEG_OK;
}

seg_status label_compact(const uint32_t *raw, size_t n, uint32_t *out, uint32_t *count,
			 seg_error *err)
{
	lmap m = {0};
	uint32_t last_raw = 0, last_new = 0;
	seg_status st = SEG_OK;

	*count = 0;
	m.keys = calloc(256, sizeof(*m.keys));
	m.vals = malloc(256 * sizeof(*m.vals));
	m.mask = 255;
	if (m.keys == NULL || m.vals == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "label: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n;) {
		uint32_t v = raw[i];
		if (v == 0) {
			/* Background, four pixels a step while it lasts. */
			while (i + 4 <= n && (raw[i] | raw[i + 1] | raw[i + 2] | raw[i + 3]) == 0) {
				out[i] = out[i + 1] = out[i + 2] = out[i + 3] = 0;
				i += 4;
			}
			if (i < n && raw[i] == 0)
				out[i++] = 0;
			continue;
		}
		if (v == last_raw) { /* runs of one label are the common case */
			while (i < n && raw[i] == v)
				out[i++] = last_new;
			continue;
		}
		size_t s = lmap_slot(&m, v);
		if (m.keys[s] == 0) {
			if ((m.used + 1) * 2 > m.mask + 1) {
				if (lmap_grow(&m) != SEG_OK) {
					st = seg_fail(err, SEG_ENOMEM, "label: out of memory");
					goto out;
				}
				s = lmap_slot(&m, v);
			}
			m.keys[s] = v;
			m.vals[s] = (uint32_t)++m.used;
		}
		last_raw = v;
		last_new = m.vals[s];
		out[i++] = last_new;
	}
	*count = (uint32_t)m.used;
out:
	free(m.keys);
	free(m.vals);
	return st;
}
