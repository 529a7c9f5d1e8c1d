"""
formats_ref.py -- independent Python ports of the annotation-tool mask
encodings, used only to write the committed fixtures under
tests/fixtures/formats/ (gen_formats.py). Nothing here was derived from
src/; each function names the reference it follows, line for line where
the arithmetic matters.

  COCO     cocodataset/cocoapi common/maskApi.c: rleEncode, rleDecode,
           rleToString, rleFrString, rleFrPoly (and pycocotools'
           frPyObjects/annToRLE for how a polygon list becomes one object)
  Label    HumanSignal/label-studio-converter label_studio_converter/brush.py:
  Studio   encode_rle, decode_rle, mask2rle; the header and record layout of
           @thi.ng/rle-pack src/binary.ts (decodeBinary)
  CVAT     cvat-ai/cvat cvat-sdk/cvat_sdk/masks.py: encode_mask;
           cvat/apps/dataset_manager/formats/cvat.py: the XML <mask> attributes

Masks are NumPy arrays of shape (h, w), row-major, values 0/1.
"""
import math

import numpy as np


# --------------------------------------------------------------------------
# COCO (maskApi.c)
# --------------------------------------------------------------------------
def coco_encode(mask):
    """rleEncode: column-major runs, alternating 0s and 1s, starting with 0s."""
    flat = np.asarray(mask, dtype=np.uint8).ravel(order="F").tolist()
    cnts = []
    p, c = 0, 0
    for v in flat:
        if v != p:
            cnts.append(c)
            c = 0
            p = v
        c += 1
    cnts.append(c)
    return cnts


def coco_decode(cnts, h, w):
    """rleDecode, with the check pycocotools leaves out: counts sum to h*w."""
    assert sum(cnts) == h * w, "counts do not cover the image"
    flat = np.zeros(h * w, dtype=np.uint8)
    pos, v = 0, 0
    for c in cnts:
        if v:
            flat[pos:pos + c] = 1
        pos += c
        v = 1 - v
    return flat.reshape((h, w), order="F")


def coco_to_string(cnts):
    """rleToString: LEB128-like, 5 bits a character, deltas from i-2 for i > 2."""
    out = []
    for i, cnt in enumerate(cnts):
        x = cnt
        if i > 2:
            x -= cnts[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5  # Python's >> on ints is arithmetic, like the C long shift
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def coco_from_string(s):
    """rleFrString, with 64-bit arithmetic instead of C's int shifts."""
    cnts = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = c & 0x20
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(cnts) > 2:
            x += cnts[-2]
        cnts.append(x)
    return cnts


def coco_fr_poly(xy, h, w):
    """
    rleFrPoly: rasterise one polygon [x1, y1, x2, y2, ...] into counts.

    Pixel (x, y) covers [x, x+1) x [y, y+1). Vertices are scaled by 5 and
    rounded with C's (int)(v + .5) (truncation toward zero), every edge is
    walked one step at a time along its longer axis, and the y crossing of
    each integer column is kept. A degenerate edge (dx = dy = 0) makes C
    divide 0 by 0; the point it yields shares its column with both of its
    neighbours, so its row never reaches the output, and here it is given
    the edge's own row instead of C's undefined (int)NaN.
    """
    scale = 5.0
    k = len(xy) // 2
    x = [int(scale * xy[2 * j] + 0.5) for j in range(k)]
    y = [int(scale * xy[2 * j + 1] + 0.5) for j in range(k)]
    x.append(x[0])
    y.append(y[0])
    u, v = [], []
    for j in range(k):
        xs, xe, ys, ye = x[j], x[j + 1], y[j], y[j + 1]
        dx, dy = abs(xe - xs), abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe = xe, xs
            ys, ye = ye, ys
        if dx >= dy:
            s = (ye - ys) / dx if dx else 0.0
            for d in range(dx + 1):
                t = dx - d if flip else d
                u.append(t + xs)
                v.append(int(ys + s * t + 0.5) if dx else ys)
        else:
            s = (xe - xs) / dy
            for d in range(dy + 1):
                t = dy - d if flip else d
                v.append(t + ys)
                u.append(int(xs + s * t + 0.5))
    bx, by = [], []
    for j in range(1, len(u)):
        if u[j] == u[j - 1]:
            continue
        xd = float(u[j] if u[j] < u[j - 1] else u[j] - 1)
        xd = (xd + 0.5) / scale - 0.5
        if math.floor(xd) != xd or xd < 0 or xd > w - 1:
            continue
        yd = float(v[j] if v[j] < v[j - 1] else v[j - 1])
        yd = (yd + 0.5) / scale - 0.5
        if yd < 0:
            yd = 0.0
        elif yd > h:
            yd = float(h)
        yd = math.ceil(yd)
        bx.append(int(xd))
        by.append(int(yd))
    a = sorted([bx[j] * h + by[j] for j in range(len(bx))] + [h * w])
    prev = 0
    for j in range(len(a)):
        t = a[j]
        a[j] -= prev
        prev = t
    b = [a[0]]
    j = 1
    while j < len(a):
        if a[j] > 0:
            b.append(a[j])
            j += 1
        else:
            j += 1
            if j < len(a):
                b[-1] += a[j]
                j += 1
    return b


def coco_merge(masks):
    """rleMerge with intersect = 0, as a union of decoded masks."""
    out = np.zeros_like(masks[0])
    for m in masks:
        out |= m
    return out


def coco_polygons_mask(polys, h, w):
    """pycocotools annToRLE for a polygon list: one RLE per polygon, merged."""
    return coco_merge([coco_decode(coco_fr_poly(p, h, w), h, w) for p in polys])


# --------------------------------------------------------------------------
# Label Studio brush (label-studio-converter brush.py; @thi.ng/rle-pack)
# --------------------------------------------------------------------------
def ls_encode(arr, wordsize=8, rle_sizes=(3, 4, 8, 16)):
    """encode_rle: a 1-D array of words -> the byte list Label Studio stores."""
    arr = [int(a) for a in arr]
    bits = [f"{len(arr):032b}", f"{wordsize - 1:05b}"]
    bits += [f"{r - 1:04b}" for r in rle_sizes]
    i = 0
    while i < len(arr):
        j = i
        while j < len(arr) and arr[j] == arr[i]:
            j += 1
        n, value = j - i, arr[i]
        if n == 1:
            bits.append("0" + "00" + "000" + f"{value:08b}")
        elif n <= 8:
            bits.append("1" + "00" + f"{n - 1:03b}" + f"{value:08b}")
        elif n <= 16:
            bits.append("1" + "01" + f"{n - 1:04b}" + f"{value:08b}")
        elif n <= 256:
            bits.append("1" + "10" + f"{n - 1:08b}" + f"{value:08b}")
        else:
            rest = n
            while rest > 2 ** 16:
                bits.append("1" + "11" + f"{2 ** 16 - 1:016b}" + f"{value:08b}")
                rest -= 2 ** 16
            bits.append("1" + "11" + f"{rest - 1:016b}" + f"{value:08b}")
        i = j
    s = "".join(bits)
    s += "0" * (8 - len(s) % 8)  # as encode_rle: a whole zero byte when already aligned
    return [int(s[k:k + 8], 2) for k in range(0, len(s), 8)]


def ls_decode(rle):
    """decode_rle (rle-pack decodeBinary): the byte list -> the words."""
    bits = "".join(f"{b:08b}" for b in rle)
    pos = 0

    def read(n):
        nonlocal pos
        val = int(bits[pos:pos + n], 2)
        pos += n
        return val

    num = read(32)
    word = read(5) + 1
    sizes = [read(4) + 1 for _ in range(4)]
    out = [0] * num
    i = 0
    while i < num:
        x = read(1)
        j = i + 1 + read(sizes[read(2)])
        if x:
            val = read(word)
            for q in range(i, j):
                out[q] = val
            i = j
        else:
            while i < j:
                out[i] = read(word)
                i += 1
    return out


def ls_mask_to_rle(alpha):
    """mask2rle: a (h, w) uint8 image -> each value repeated in R, G, B, A -> encode_rle."""
    return ls_encode(np.repeat(np.asarray(alpha, dtype=np.uint8).ravel(), 4).tolist())


def ls_rle_to_alpha(rle, h, w):
    """decode_from_annotation: the alpha channel of the decoded (h, w, 4) RGBA image."""
    return np.asarray(ls_decode(rle), dtype=np.uint8).reshape((h, w, 4))[:, :, 3]


# --------------------------------------------------------------------------
# CVAT (cvat-sdk masks.py encode_mask; the XML form of cvat.py)
# --------------------------------------------------------------------------
def cvat_encode(mask, bbox):
    """encode_mask: row-major runs inside [x1, x2) x [y1, y2), starting with 0s, then the inclusive box."""
    x1, y1 = math.floor(bbox[0]), math.floor(bbox[1])
    x2, y2 = math.ceil(bbox[2]), math.ceil(bbox[3])
    h, w = mask.shape
    assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
    flat = np.asarray(mask[y1:y2, x1:x2], dtype=bool).ravel().tolist()
    runs = []
    cur, n = False, 0
    for v in flat:
        if v != cur:
            runs.append(n)
            cur, n = v, 0
        n += 1
    runs.append(n)
    return runs + [x1, y1, x2 - 1, y2 - 1]


def cvat_decode(points, h, w):
    """The points form back to an (h, w) mask (as CVAT's rle_to_mask: box coordinates truncated)."""
    rle = [int(p) for p in points[:-4]]
    left, top, right, bottom = (int(p) for p in points[-4:])
    bw, bh = right - left + 1, bottom - top + 1
    assert sum(rle) == bw * bh
    flat = np.zeros(bw * bh, dtype=np.uint8)
    pos, val = 0, 0
    for c in rle:
        if val:
            flat[pos:pos + c] = 1
        pos += c
        val = 1 - val
    out = np.zeros((h, w), dtype=np.uint8)
    out[top:bottom + 1, left:right + 1] = flat.reshape((bh, bw))
    return out


def cvat_xml_attrs(points):
    """The <mask> attributes cvat.py writes for a points list: rle, left, top, width, height."""
    return {
        "rle": ", ".join(str(int(v)) for v in points[:-4]),
        "left": int(points[-4]),
        "top": int(points[-3]),
        "width": int(points[-2] - points[-4]) + 1,
        "height": int(points[-1] - points[-3]) + 1,
    }


def bbox_of(mask):
    """Tight [x1, y1, x2, y2) box of a non-empty mask, for cvat_encode."""
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
