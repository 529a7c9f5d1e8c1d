#!/usr/bin/python3
"""
gen_formats.py -- writes tests/fixtures/formats/: masks from scikit-image's
sample images in every annotation-tool format, the same masks as PNG, and
random polygons with the counts pycocotools' rasteriser gives them.

    /usr/bin/python3 tests/ref/gen_formats.py

Every encoding comes from formats_ref.py (independent ports of maskApi.c,
label-studio-converter's brush.py and cvat-sdk's masks.py, each checked
first against the vectors published with those projects); PNGs come from
pngwrite.py. Deterministic: fixed seeds, so two runs write identical
files. tests/check_formats.c reads cases.json and compares what segloss
decodes with the PNGs pixel for pixel, re-encodes the PNG masks and
compares with the stored encodings, and rasterises every random polygon.

cases.json:
  {"cases": [{"name", "mask": JSON file (a MASK object), "expect": PNG,
              "opts": {"min_score"?, "ls_threshold"?},
              "encoded": "coco_rle" | "labelstudio" | "cvat" | null}],
   "polygons": "random_polygons.json"}
  The PNG holds instance numbers (16-bit grey) where the MASK has several
  objects, 0/255 (8-bit) where it has one. "encoded" names the form whose
  objects the C encoders must reproduce byte for byte from the PNG.

random_polygons.json: [{"h", "w", "xy": [...], "counts": [...]}, ...]
"""
import json
import math
import os
import shutil
import sys

import numpy as np
from scipy import ndimage
from skimage import data, filters, measure, morphology

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import formats_ref as fr  # noqa: E402
import pngwrite as pw  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT_REL = "tests/fixtures/formats"
OUT = os.path.join(ROOT, OUT_REL)


# --------------------------------------------------------------------------
# the ports against the published vectors
# --------------------------------------------------------------------------
def check_ports():
    m = np.array([[0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]], dtype=np.uint8)
    assert fr.coco_encode(m) == [3, 2, 1, 2, 4]
    assert fr.coco_to_string([3, 2, 1, 2, 4]) == "32103"
    m = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=np.uint8)
    assert fr.coco_encode(m) == [0, 2, 1, 1, 7, 1]
    assert fr.coco_to_string([0, 2, 1, 1, 7, 1]) == "021O60"
    assert fr.coco_to_string([100, 3, 4, 100, 200]) == "T334Q3T6"
    assert fr.coco_from_string("T334Q3T6") == [100, 3, 4, 100, 200]
    assert fr.coco_fr_poly([0.5, 0.5, 2.5, 0.5, 2.5, 1.5, 0.5, 1.5], 3, 4) == [4, 1, 2, 1, 4]
    assert fr.coco_decode(fr.coco_fr_poly([0, 0, 0, 9, 9, 9, 9, 0], 100, 100), 100, 100).sum() == 81
    assert fr.ls_decode([0, 0, 0, 18, 57, 27, 252, 96, 32, 1, 0, 6, 0, 40, 0, 192, 3, 128, 17, 56, 32]) == \
        [1, 1, 1, 1, 2, 3, 5, 6, 7, 8, 4, 4, 4, 4, 4, 4, 4, 4]
    # @thi.ng/rle-pack test/main.test.ts: 3-bit words, default and [1, 2, 4, 9] run sizes
    src = [0] * 1024
    src[512:541] = [1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 4, 4, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1]
    assert fr.ls_decode([0, 0, 4, 0, 17, 27, 255, 1, 255, 18, 24, 212, 78, 24, 5, 134, 68, 227, 82, 30, 3,
                         196, 0]) == src
    assert fr.ls_decode([0, 0, 4, 0, 16, 9, 199, 255, 140, 134, 234, 206, 96, 89, 150, 119, 89, 15, 241,
                         0]) == src
    assert fr.ls_mask_to_rle(np.array([[0, 255, 255], [0, 0, 255]])) == \
        [0, 0, 0, 24, 57, 27, 252, 96, 19, 255, 206, 1, 31, 248]
    m = np.array([[0, 1, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=np.uint8)
    assert fr.cvat_encode(m, [1, 0, 3, 2]) == [0, 3, 1, 1, 0, 2, 1]
    # the brute-force meaning of a polygon's counts: pixels whose centre is inside, for a plain
    # axis-aligned rectangle with integer corners (the one shape where the walk is exact)
    for (x0, y0, x1, y1) in [(0, 0, 3, 2), (2, 1, 7, 6), (1, 3, 2, 4)]:
        want = np.zeros((8, 9), dtype=np.uint8)
        want[y0:y1, x0:x1] = 1
        got = fr.coco_decode(fr.coco_fr_poly([x0, y0, x1, y0, x1, y1, x0, y1], 8, 9), 8, 9)
        assert (got == want).all(), (x0, y0, x1, y1)
    # round trips of the string form on random counts, negative deltas included
    rng = np.random.default_rng(7)
    for _ in range(200):
        cnts = [int(v) for v in rng.integers(0, 2 ** 32 if rng.random() < 0.3 else 300, size=rng.integers(1, 12))]
        assert fr.coco_from_string(fr.coco_to_string(cnts)) == cnts


# --------------------------------------------------------------------------
# masks
# --------------------------------------------------------------------------
def coin_labels():
    """skimage.data.coins() thresholded (Otsu), closed, holes filled, small bits removed, labelled."""
    img = data.coins()
    bw = morphology.closing(img > filters.threshold_otsu(img), morphology.square(3))
    bw = ndimage.binary_fill_holes(bw)
    bw = morphology.remove_small_objects(bw, 64)
    return measure.label(bw, connectivity=2).astype(np.uint16)


def horse_mask():
    """skimage.data.horse() is True on the background: the horse is where it is False."""
    return (~data.horse()).astype(np.uint8)


def instances_of(labels):
    return [(labels == k).astype(np.uint8) for k in range(1, int(labels.max()) + 1)]


def paint(masks, shape):
    """Instance map: object k (1-based) painted in order, later objects on top."""
    out = np.zeros(shape, dtype=np.uint16)
    for k, m in enumerate(masks, start=1):
        out[m != 0] = k
    return out


def polygons_of(mask, tolerance):
    """Outer contours of a mask as COCO polygons [x1, y1, ...], simplified; pixel centres at +0.5."""
    polys = []
    padded = np.pad(mask, 1)
    for c in measure.find_contours(padded.astype(float), 0.5):
        c = measure.approximate_polygon(c, tolerance) - 1  # (row, col), padding removed
        if len(c) < 4:
            continue
        xy = []
        for r, col in c[:-1]:  # find_contours closes the loop; COCO does not repeat the first point
            xy += [round(float(col) + 0.5, 2), round(float(r) + 0.5, 2)]
        polys.append(xy)
    return polys


# --------------------------------------------------------------------------
# the formats
# --------------------------------------------------------------------------
def rle_obj(mask, compressed):
    h, w = mask.shape
    cnts = fr.coco_encode(mask)
    assert (fr.coco_decode(cnts, h, w) == mask).all()
    return {"size": [h, w], "counts": fr.coco_to_string(cnts) if compressed else cnts}


def ls_result(alpha, label):
    h, w = alpha.shape
    rle = fr.ls_mask_to_rle(alpha)
    assert (fr.ls_rle_to_alpha(rle, h, w) == alpha).all()
    return {"id": "r%d" % label[1], "type": "brushlabels", "from_name": "tag", "to_name": "image",
            "original_width": w, "original_height": h, "image_rotation": 0,
            "value": {"format": "rle", "rle": rle, "brushlabels": [label[0]]}}


def cvat_shape(mask, label, xml):
    pts = fr.cvat_encode(mask, fr.bbox_of(mask))
    assert (fr.cvat_decode(pts, *mask.shape) == mask).all()
    shape = {"type": "mask", "label": label[0], "label_id": label[1], "z_order": 0, "frame": 0,
             "occluded": False, "source": "manual"}
    if xml:
        attrs = fr.cvat_xml_attrs(pts)
        shape.update({k: str(v) if k in ("left", "top") else v for k, v in attrs.items()})
    else:
        shape["points"] = [float(p) for p in pts]
    return shape


def write_json(name, obj):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    return OUT_REL + "/" + name


def write_png(name, img):
    img = np.asarray(img)
    if img.max() <= 1:
        pw.write_png(os.path.join(OUT, name), img.astype(np.uint16) * 255, pw.GREY, 8)
    else:
        pw.write_png(os.path.join(OUT, name), img, pw.GREY, 16)
    return OUT_REL + "/" + name


def cases_for(prefix, masks, label):
    """Every format of the objects masks (one instance each); returns the case list."""
    h, w = masks[0].shape
    cases = []
    expect = write_png(prefix + ".png", paint(masks, (h, w)) if len(masks) > 1 else masks[0])

    def case(form, obj, encoded=None, opts=None, exp=None):
        cases.append({"name": prefix + "." + form, "mask": write_json(prefix + "." + form + ".json", obj),
                      "expect": exp or expect, "opts": opts or {}, "encoded": encoded})

    case("coco_rle", {"coco_rle": [rle_obj(m, True) for m in masks] if len(masks) > 1 else rle_obj(masks[0], True)},
         "coco_rle")
    case("coco_counts", {"coco_rle": [rle_obj(m, False) for m in masks]})
    anns = [{"id": k + 1, "image_id": 1, "category_id": label[1], "iscrowd": 0, "segmentation": rle_obj(m, True),
             "area": int(m.sum()), "bbox": fr.bbox_of(m)} for k, m in enumerate(masks)]
    case("coco", {"coco": {"width": w, "height": h, "annotations": anns,
                           "categories": [{"id": label[1], "name": label[0]}]}})
    case("labelstudio", {"labelstudio": [ls_result(m * 255, (label[0], k)) for k, m in enumerate(masks)]},
         "labelstudio")
    case("cvat", {"cvat": {"width": w, "height": h, "shapes": [cvat_shape(m, label, False) for m in masks]}},
         "cvat")
    case("cvat_xml", {"cvat": {"width": w, "height": h, "shapes": [cvat_shape(m, label, True) for m in masks]}})

    # polygons: the expected pixels are what pycocotools' rasteriser makes of them
    polys = [polygons_of(m, 1.0) for m in masks]
    keep = [k for k, p in enumerate(polys) if p]
    rasters = [fr.coco_polygons_mask(polys[k], h, w) for k in keep]
    exp = write_png(prefix + ".polygons.png", paint(rasters, (h, w)) if len(rasters) > 1 else rasters[0])
    if len(masks) == 1:
        case("coco_polygons", {"coco_polygons": polys[0], "width": w, "height": h}, exp=exp)
    anns = [{"id": k + 1, "image_id": 1, "category_id": label[1], "iscrowd": 0, "segmentation": polys[k]}
            for k in keep]
    case("coco_poly_anns", {"coco": {"width": w, "height": h, "annotations": anns}}, exp=exp)
    return cases


def results_case(masks, label):
    """A COCO results file: scores, some under the default min_score 0.5, and one crowd region."""
    h, w = masks[0].shape
    rng = np.random.default_rng(11)
    scores = [round(float(s), 3) for s in rng.uniform(0.05, 1.0, size=len(masks))]
    anns = []
    kept = []
    for k, m in enumerate(masks):
        ann = {"image_id": 3, "category_id": label[1], "segmentation": rle_obj(m, k % 2 == 0), "score": scores[k]}
        if k == 0:
            ann["iscrowd"] = 1
        anns.append(ann)
        if scores[k] >= 0.5:
            kept.append(m)
    exp = write_png("coins.results.png", paint(kept, (h, w)))
    return {"name": "coins.results", "mask": write_json("coins.results.json", {"coco": {
        "width": w, "height": h, "annotations": anns}}), "expect": exp, "opts": {}, "encoded": None,
        "kept": len(kept)}


def soft_horse_cases(mask):
    """A brush stroke's anti-aliased edge: alpha from a blurred mask; thresholds 128 and 1 differ."""
    blurred = ndimage.gaussian_filter(mask.astype(float) * 255.0, 1.0)
    alpha = np.clip(np.round(blurred), 0, 255).astype(np.uint8)
    cases = []
    res = ls_result(alpha, ("horse", 1))
    for t, opts in ((128, {}), (1, {"ls_threshold": 1})):
        exp = write_png("horse_soft.t%d.png" % t, (alpha >= t).astype(np.uint8))
        cases.append({"name": "horse_soft.labelstudio.t%d" % t,
                      "mask": write_json("horse_soft.labelstudio.json", {"labelstudio": res}),
                      "expect": exp, "opts": opts, "encoded": None})
    exp = write_png("horse_soft.t200.png", (alpha >= 200).astype(np.uint8))
    cases.append({"name": "horse_soft.labelstudio.t200",
                  "mask": write_json("horse_soft.t200.labelstudio.json", {"labelstudio": res, "threshold": 200}),
                  "expect": exp, "opts": {}, "encoded": None})
    return cases


# --------------------------------------------------------------------------
# random polygons
# --------------------------------------------------------------------------
def random_polygons():
    rng = np.random.default_rng(2024)
    out = []
    sizes = [(1, 1), (1, 7), (9, 1), (3, 4), (16, 16), (37, 53), (64, 48), (200, 300)]
    for i in range(320):
        h, w = sizes[i % len(sizes)]
        k = int(rng.integers(3, 40))
        kind = i % 5
        if kind == 0:  # anywhere, up to max(h, w) outside the image
            s = max(h, w)
            xs = rng.uniform(-s, w + s, k)
            ys = rng.uniform(-s, h + s, k)
        elif kind == 1:  # a star around a centre: a simple polygon
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            ang = np.sort(rng.uniform(0, 2 * math.pi, k))
            r = rng.uniform(0.2, 0.7, k) * max(h, w)
            xs, ys = cx + r * np.cos(ang), cy + r * np.sin(ang)
        elif kind == 2:  # on the 0.1 grid: rounding ties of (int)(5v + .5)
            xs = np.round(rng.uniform(-2, w + 2, k), 1)
            ys = np.round(rng.uniform(-2, h + 2, k), 1)
        elif kind == 3:  # integers and halves, with repeated and collinear vertices
            xs = rng.integers(-2, 2 * w + 4, k) / 2.0
            ys = rng.integers(-2, 2 * h + 4, k) / 2.0
            for j in range(1, k):
                if rng.random() < 0.25:
                    xs[j], ys[j] = xs[j - 1], ys[j - 1]
        else:  # thin slivers along an axis
            xs = rng.uniform(0, w, k)
            ys = np.full(k, rng.uniform(0, h)) + rng.uniform(-0.3, 0.3, k)
            if rng.random() < 0.5:
                xs, ys = ys * w / h, xs * h / w
        xy = []
        for x, y in zip(np.round(xs, 3), np.round(ys, 3)):
            xy += [float(x), float(y)]
        out.append({"h": h, "w": w, "xy": xy, "counts": fr.coco_fr_poly(xy, h, w)})
    return out


def main():
    check_ports()
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    labels = coin_labels()
    coins = instances_of(labels)
    horse = horse_mask()
    cases = []
    cases += cases_for("coins", coins, ("coin", 1))
    cases.append(results_case(coins, ("coin", 1)))
    cases += cases_for("horse", [horse], ("horse", 1))
    cases += soft_horse_cases(horse)
    polys = random_polygons()
    with open(os.path.join(OUT, "random_polygons.json"), "w") as f:
        json.dump(polys, f, separators=(",", ":"))
        f.write("\n")
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"generator": "tests/ref/gen_formats.py", "cases": cases,
                   "polygons": OUT_REL + "/random_polygons.json"}, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print("coins: %d objects on %dx%d; horse %dx%d, %d pixels" % (len(coins), labels.shape[1], labels.shape[0],
                                                                   horse.shape[1], horse.shape[0], int(horse.sum())))
    print("%d cases, %d random polygons, %d files, %.0f KB in %s" % (len(cases), len(polys), len(os.listdir(OUT)),
                                                                    total / 1024, OUT_REL))


if __name__ == "__main__":
    main()
