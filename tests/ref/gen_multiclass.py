#!/usr/bin/python3
"""
gen_multiclass.py -- writes the multi-class fixtures under
tests/fixtures/multiclass/ and their tests/fixtures/multiclass/cases.json.

    /usr/bin/python3 tests/ref/gen_multiclass.py

Deterministic: every case draws from its own generator seeded with
crc32(case name); PNGs come from our own encoder (pngwrite.py), .npy files
from numpy, JSON from json.dumps: two runs give byte-identical files.

Before writing cases.json it checks the references (multiclass_ref.py):
  * hand-computed small cases (derivations in the docstrings of hand_*);
  * scikit-learn's confusion_matrix / jaccard_score / f1_score /
    precision_score / recall_score against the confusion-based metrics of
    every case;
  * brute-force all-pairs boundary distances against the EDT-based surface
    distances on the small cases (with anisotropic spacing);
  * C = 2 against segloss's binary reference (reference.py) on the same mask;
  * ports that must agree where the libraries agree (segloss vs torchmetrics
    iou/dice when no class is absent from both, segloss vs pytorch cross
    entropy, segloss vs MONAI / medpy surface distances when both boundaries
    exist, mmseg pooling of one item vs its per-image metrics, Cityscapes vs
    mmseg pooled IoU).
Every written file is read back (Pillow for PNG, numpy for .npy) and the
expected values are computed from what was read back.
"""
import json
import math
import os
import shutil
import sys
import zlib

import numpy as np
from PIL import Image
from scipy import ndimage

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import multiclass_ref as mc  # noqa: E402
import pngwrite as pw  # noqa: E402
import reference as bref  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
FIX_REL = "tests/fixtures/multiclass"
FIX = os.path.join(ROOT, FIX_REL)

VERSIONS = {
    "monai": "Project-MONAI/MONAI 1.5.0",
    "smp": "qubvel-org/segmentation_models.pytorch 0.5.0",
    "torchmetrics": "Lightning-AI/torchmetrics 1.9.0",
    "mmseg": "open-mmlab/mmsegmentation 1.2.2",
    "pytorch": "pytorch aten/src/ATen/native/LossNLL.cpp (values: Debian python3-torch 1.13)",
    "keras": "keras-team/keras 3.15.1",
    "medpy": "loli/medpy 0.5.2",
    "lovasz": "bermanmaxim/LovaszSoftmax pytorch/lovasz_losses.py",
    "cityscapes": "mcordts/cityscapesScripts 2.2.4",
}


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------
def close(a, b, tol=1e-12):
    assert a is not None and b is not None, (a, b)
    assert abs(a - b) <= tol * max(1.0, abs(b)), (a, b)


def same(a, b, tol=1e-12):
    """Equal values, both None, or both NaN / both the same infinity."""
    if a is None or b is None:
        assert a is None and b is None, (a, b)
        return
    if math.isnan(a) or math.isnan(b):
        assert math.isnan(a) and math.isnan(b), (a, b)
        return
    if math.isinf(a) or math.isinf(b):
        assert a == b, (a, b)
        return
    close(a, b, tol)


def enc(v):
    """JSON value and its non-finite tag: None -> (None, None); nan/inf -> (None, tag)."""
    if v is None:
        return None, None
    v = float(v)
    if math.isnan(v):
        return None, "nan"
    if math.isinf(v):
        return None, "inf" if v > 0 else "-inf"
    return v, None


def write_npy(path, arr):
    with open(path, "wb") as f:
        np.save(f, arr)
    back = np.load(path)
    assert back.dtype == arr.dtype and back.shape == arr.shape and np.array_equal(back, arr), path
    return back


def read_png(path):
    im = Image.open(path)
    im.load()
    return np.array(im)


def write_png_checked(path, img, color_type, bit_depth):
    pw.write_png(path, img, color_type, bit_depth)
    back = read_png(path)
    assert np.array_equal(back.astype(np.int64), np.asarray(img).astype(np.int64)), path
    return back.astype(np.int64)


def softmax_f32(logits):
    return mc.softmax(np.asarray(logits, np.float64), axis=0).astype(np.float32)


# --------------------------------------------------------------------------
# the request model: classes, inputs, case
# --------------------------------------------------------------------------
class Classes:
    """Class list as a request gives it: a count, a list of names, or
    {id, name, color} objects (sparse ids; a class without a name is keyed by
    its decimal id)."""

    def __init__(self, spec):
        self.spec = spec
        if isinstance(spec, int):
            self.ids = list(range(spec))
            self.names = [str(i) for i in self.ids]
            self.colors = None
        elif all(isinstance(s, str) for s in spec):
            self.ids = list(range(len(spec)))
            self.names = list(spec)
            self.colors = None
        else:
            self.ids = [int(s["id"]) for s in spec]
            self.names = [s.get("name", str(s["id"])) for s in spec]
            self.colors = [tuple(s["color"]) for s in spec] if all("color" in s for s in spec) else None
        assert len(set(self.names)) == len(self.names)
        self.C = len(self.ids)


class InputSet:
    """Files of one example (target + prediction) and what they decode to."""

    def __init__(self, name, classes):
        self.name = name
        self.dir = os.path.join(FIX, name)
        os.makedirs(self.dir, exist_ok=True)
        self.rng = np.random.default_rng(zlib.crc32(name.encode()))
        self.classes = classes if isinstance(classes, Classes) else Classes(classes)
        self.target_rel = self.pred_rel = None
        self.target_ids = None
        self.pred = {}
        self.kind = None
        self.channel_axis = None

    def rel(self, f):
        return f"{FIX_REL}/{self.name}/{f}"

    def path(self, f):
        return os.path.join(self.dir, f)

    # targets
    def target_png(self, ids, bit_depth=8):
        self.target_ids = write_png_checked(self.path("target.png"), ids, pw.GREY, bit_depth)
        self.target_rel = self.rel("target.png")

    def target_rgb(self, ids, ignore_color=None, ignore_index=None):
        """RGB colour-coded target: each class painted with its `color`."""
        cl = self.classes
        img = np.zeros(ids.shape + (3,), np.int64)
        for i, col in zip(cl.ids, cl.colors):
            img[ids == i] = col
        if ignore_color is not None:
            img[ids == ignore_index] = ignore_color
        back = write_png_checked(self.path("target.png"), img, pw.RGB, 8)
        packed = (back[..., 0] << 16) | (back[..., 1] << 8) | back[..., 2]
        dec = np.full(ids.shape, -1, np.int64)
        for i, col in zip(cl.ids, cl.colors):
            dec[packed == ((col[0] << 16) | (col[1] << 8) | col[2])] = i
        if ignore_color is not None:
            col = ignore_color
            dec[packed == ((col[0] << 16) | (col[1] << 8) | col[2])] = ignore_index
        assert (dec >= 0).all() and np.array_equal(dec, ids)
        self.target_ids = dec
        self.target_rel = self.rel("target.png")

    def target_npy(self, ids):
        self.target_ids = write_npy(self.path("target.npy"), ids).astype(np.int64)
        self.target_rel = self.rel("target.npy")

    # predictions
    def pred_labels_png(self, ids, bit_depth=8):
        self.pred = dict(labels=write_png_checked(self.path("prediction.png"), ids, pw.GREY, bit_depth))
        self.pred_rel = self.rel("prediction.png")
        self.kind, self.channel_axis = "labels", None

    def pred_array(self, arr_chw, kind, channel_axis=0):
        """float32 probabilities or logits, stored (C,H,W) or (H,W,C)."""
        a = np.asarray(arr_chw, np.float32)
        stored = a if channel_axis == 0 else np.ascontiguousarray(np.moveaxis(a, 0, -1))
        fn = "prediction.npy" if kind == "probabilities" else "logits.npy"
        back = write_npy(self.path(fn), stored)
        chw = back if channel_axis == 0 else np.moveaxis(back, -1, 0)
        self.pred = {"probs" if kind == "probabilities" else "logits": chw.astype(np.float64)}
        self.pred_rel = self.rel(fn)
        self.kind, self.channel_axis = kind, channel_axis

    def request_base(self):
        r = {"target": self.target_rel, "prediction": self.pred_rel, "prediction_kind": self.kind}
        if self.channel_axis is not None:
            r["channel_axis"] = self.channel_axis
        r["classes"] = self.classes.spec
        return r

    def inputs(self, ignore_index, spacing=(1.0, 1.0)):
        return mc.prepare(self.target_ids, self.classes.ids, ignore_index, names=self.classes.names,
                          spacing=spacing, **self.pred)


def expected(inset, profile, ignore_index=None, include_background=None, average=None,
             class_weights=None, label_smoothing=0.0, spacing=(1.0, 1.0), background=0,
             zero_division=None):
    """The answer segloss must give for this request under `profile`."""
    ign = mc.resolved(profile, "ignore_index", None, ignore_index)
    inp = inset.inputs(ign, spacing)
    M = mc.confusion(inp)
    names = inp.names
    bg_index = inp.ids.index(background) if background in inp.ids else -1
    out = {"class_names": names, "n_valid": int(inp.valid.sum()), "confusion": M.tolist()}
    nonfinite = {}
    pa, _ = enc(mc.pixel_accuracy(inp, M))
    out["pixel_accuracy"] = pa
    metrics, per_class, resolved_inc, resolved_avg = {}, {}, {}, {}
    for name in mc.METRIC_NAMES:
        incb = mc.resolved(profile, "include", name, include_background)
        avg = mc.resolved(profile, "average", name, average)
        resolved_inc[name], resolved_avg[name] = incb, avg
        include = mc.include_mask(inp.C, incb, bg_index)
        zd = zero_division if name in mc.CONFUSION_METRICS else None
        vals = mc.metric_per_class(profile, name, inp, M, zd)
        pc = {}
        for c, v in enumerate(vals):
            pc[names[c]], tag = enc(v)
            if tag:
                nonfinite.setdefault("per_class", {}).setdefault(name, {})[names[c]] = tag
        per_class[name] = pc
        if avg != "none":
            metrics[name], tag = enc(mc.metric_average(profile, name, vals, inp, include, avg, M, zd))
            if tag:
                nonfinite.setdefault("metrics", {})[name] = tag
    out["metrics"] = metrics
    out["per_class"] = per_class
    losses, refused = {}, {}
    if inp.P is not None:
        for name in mc.LOSS_NAMES:
            incb = mc.resolved(profile, "include", name, include_background)
            include = mc.include_mask(inp.C, incb, bg_index)
            try:
                v = mc.loss_value(profile, name, inp, include, class_weights, label_smoothing)
            except ValueError as e:
                refused[name] = str(e)
                continue
            losses[name], tag = enc(v)
            if tag:
                nonfinite.setdefault("losses", {})[name] = tag
    out["losses"] = losses
    if refused:
        out["refused_losses"] = refused
    if nonfinite:
        out["nonfinite"] = nonfinite
    res = {"ignore_index": ign, "include_background": resolved_inc, "average": resolved_avg}
    return out, res, inp


CASES = []
INPUTS = {}


def add_case(inset, profile, covers, **req):
    """One cases.json entry: inset's files, the request parameters given
    explicitly (the profile supplies the rest), and the expected answer."""
    name = f"{inset.name}__{profile}" + ("" if "suffix" not in req else "__" + req.pop("suffix"))
    exp, res, inp = expected(inset, profile, **req)
    request = inset.request_base()
    for k in ("ignore_index", "include_background", "class_weights", "label_smoothing", "spacing",
              "average", "background", "zero_division"):
        if k in req and req[k] is not None:
            request[k] = list(req[k]) if k == "spacing" else req[k]
    request["profile"] = profile
    assert name not in [c["name"] for c in CASES], name
    CASES.append({"name": name, "covers": covers, "request": request, "resolved": res, "expected": exp})
    INPUTS[name] = inp
    return exp, inp


# --------------------------------------------------------------------------
# synthetic predictions
# --------------------------------------------------------------------------
def noisy_logits(rng, idx, C, shift=(1, -1), blur=1.5, noise=0.8, scale=4.0, n_fp=2):
    """Plausible logits (C, H, W) for the class-index map idx (-1 = unknown)."""
    h, w = idx.shape
    base = np.zeros((C, h, w))
    sh = np.roll(idx, shift, axis=(0, 1))
    for c in range(C):
        base[c] = sh == c
    for _ in range(n_fp):
        c = int(rng.integers(0, C))
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(2, max(3.0, min(h, w) / 8))
        yy, xx = np.mgrid[0:h, 0:w]
        base[c][(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 1.5
    for c in range(C):
        base[c] = ndimage.gaussian_filter(base[c], blur)
    return scale * base + noise * rng.standard_normal((C, h, w))


# --------------------------------------------------------------------------
# hand-computed cases (validate multiclass_ref.py)
# --------------------------------------------------------------------------
def hand_3x4():
    """
    Target ids (C = 3, ignore 255)      argmax of the prediction
        0 0 1 1                             0 1 1 1
        0 2 1 255                           0 2 2 0
        2 2 1 1                             2 0 1 1
    Every pixel: p = 0.7 on its predicted class, 0.15 on the two others
    (float32 values; written as .npy (C, H, W)).  Valid pixels N = 11.
    Confusion (rows target): [[2,1,0],[0,4,1],[1,0,2]]
      tp = [2,4,2], fp = [1,1,1], fn = [1,1,1], tn = [7,5,7]
      dice [4/6, 8/10, 4/6]; iou [1/2, 4/6, 1/2]; precision = recall = [2/3, 4/5, 2/3]
      specificity [7/8, 5/6, 7/8]; accuracy [9/11]*3
      macro dice (2/3 + 4/5 + 2/3)/3 = 32/45; micro dice 2*8/(2*8 + 3 + 3) = 8/11
      weighted dice (support 3, 5, 3): (3*2/3 + 5*4/5 + 3*2/3)/11 = 8/11
      micro accuracy (8 + 19)/(3 * 11) = 27/33; pixel_accuracy 8/11
    Losses (q = 0.7, r = 0.15 as float32 -> float64; s = 1e-6):
      cross_entropy = (8 (-ln q) + 3 (-ln r))/11
      dice (gamma 2): class 0: I = q + r + q = 2q + r; predicted-0 valid pixels
        (0,0),(1,0),(2,1) -> sum P^2 = 3 q^2 + 8 r^2; sum G = 3
        d0 = 1 - (2(2q + r) + s)/(3q^2 + 8r^2 + 3 + s); class 2 is the same;
        class 1: I = 4q + r; 5 predicted-1 pixels: sum P^2 = 5q^2 + 6r^2; G 5
        d1 = 1 - (2(4q + r) + s)/(5q^2 + 6r^2 + 5 + s); dice = (2 d0 + d1)/3
      class_weights [1, 2, 1]: cross_entropy = sum w_y l / sum w_y:
        class-1 pixels (w 2): 4 right, 1 wrong; others (w 1): 4 right, 2 wrong
        = (2(4 a + b) + (4 a + 2 b))/(2*5 + 6), a = -ln q, b = -ln r
    MONAI: the ignored pixel is dropped (segloss rule); ConfusionMatrixMetric
    precision (default micro) = 8/11; DiceMetric per class = segloss's.
    """
    q, r = float(np.float32(0.7)), float(np.float32(0.15))
    tgt = np.array([[0, 0, 1, 1], [0, 2, 1, 255], [2, 2, 1, 1]], np.uint8)
    yh = np.array([[0, 1, 1, 1], [0, 2, 2, 0], [2, 0, 1, 1]])
    P = np.full((3, 3, 4), 0.15, np.float32)
    for c in range(3):
        P[c][yh == c] = 0.7
    s = InputSet("hand_3x4", 3)
    s.target_npy(tgt)
    s.pred_array(P, "probabilities", 0)
    exp, inp = add_case(s, "segloss", "hand-computed 3x4, C=3, ignore 255, uint8 .npy target",
                        ignore_index=255)
    assert exp["confusion"] == [[2, 1, 0], [0, 4, 1], [1, 0, 2]]
    for name, want in [("dice", [4 / 6, 0.8, 4 / 6]), ("iou", [0.5, 4 / 6, 0.5]),
                       ("precision", [2 / 3, 0.8, 2 / 3]), ("recall", [2 / 3, 0.8, 2 / 3]),
                       ("specificity", [7 / 8, 5 / 6, 7 / 8]), ("accuracy", [9 / 11] * 3)]:
        for c in range(3):
            close(exp["per_class"][name][str(c)], want[c])
    close(exp["metrics"]["dice"], 32 / 45)
    close(exp["pixel_accuracy"], 8 / 11)
    M = mc.confusion(inp)
    inc = [True] * 3
    vals = mc.segloss_confusion_metric("dice", inp, M)
    close(mc.segloss_average("dice", vals, inp, inc, "micro", M), 8 / 11)
    close(mc.segloss_average("dice", vals, inp, inc, "weighted", M), 8 / 11)
    close(mc.segloss_average("accuracy", mc.segloss_confusion_metric("accuracy", inp, M), inp, inc,
                             "micro", M), 27 / 33)
    a, b, sm = -math.log(q), -math.log(r), 1e-6
    close(exp["losses"]["cross_entropy"], (8 * a + 3 * b) / 11)
    d0 = 1 - (2 * (2 * q + r) + sm) / (3 * q * q + 8 * r * r + 3 + sm)
    d1 = 1 - (2 * (4 * q + r) + sm) / (5 * q * q + 6 * r * r + 5 + sm)
    close(exp["losses"]["dice"], (2 * d0 + d1) / 3)
    close(mc.segloss_cross_entropy(inp, [1, 2, 1]), (2 * (4 * a + b) + (4 * a + 2 * b)) / 16)
    add_case(s, "segloss", "hand_3x4 with class_weights [1,2,1]", ignore_index=255,
             class_weights=[1, 2, 1], suffix="weights")
    em, _ = add_case(s, "monai", "hand_3x4 under MONAI (precision micro by default)", ignore_index=255)
    close(em["metrics"]["precision"], 8 / 11)
    for p in ("smp", "torchmetrics", "mmseg", "keras", "medpy"):
        add_case(s, p, f"hand_3x4 under {p}", ignore_index=255)
    add_case(s, "pytorch", "hand_3x4 under pytorch with ignore_index 255", ignore_index=255)


def hand_3x5_surface():
    """
    Target ids (C = 3)        prediction labels (8-bit PNG)
        0 0 1 1 1                 0 1 1 1 1
        0 0 1 1 1                 0 0 1 1 1
        0 0 0 0 0                 0 0 0 0 2
    Class 2 is predicted at (2,4) but absent from the target.
    Confusion [[7,1,1],[0,6,0],[0,0,0]].
    class 1: B = target (2x3 block, every pixel a boundary pixel), A = B + (0,1);
      d(A->B) = [1, 0 x 6], d(B->A) = 0 x 6: hausdorff 1; hausdorff95 (segloss:
      per direction, max) index .95*6 = 5.7 -> .7; assd 1/13; surface_dice 1;
      medpy hd95 pools 13 values: index .95*12 = 11.4 -> .4.
    class 0: B (9 px) and A (7 px) are all boundary pixels; A is inside B;
      B\\A = (0,1), (2,4) at distance 1: hausdorff 1, hausdorff95 1 (sorted
      B->A [0 x 7, 1, 1], index 7.6), assd 2/16, surface_dice 1.
    class 2: target empty, one predicted pixel: segloss hausdorff/hausdorff95/
      assd null, surface_dice 0; MONAI inf / NaN / inf / 0; torchmetrics
      hausdorff inf; medpy raises (null).
    dice: [14/16, 12/13, 0]; recall class 2: 0/0 -> segloss null, smp 1,
      mmseg NaN, torchmetrics 0, medpy 0; MONAI dice class 2 NaN (empty GT).
    Spacing (2, 1) (rows 2 apart): class 1 (0,1)->(0,2) is along a row: still 1;
      class 0 (0,1) -> (0,0) 1, (2,4) -> (2,3) 1: unchanged.
    """
    tgt = np.array([[0, 0, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 0, 0, 0]])
    prd = np.array([[0, 1, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 0, 0, 2]])
    s = InputSet("hand_3x5_surface", ["background", "object", "extra"])
    s.target_npy(tgt.astype(np.int32))
    s.pred_labels_png(prd)
    exp, inp = add_case(s, "segloss", "hand-computed surface metrics, class predicted but absent from target")
    pc = exp["per_class"]
    assert exp["confusion"] == [[7, 1, 1], [0, 6, 0], [0, 0, 0]]
    close(pc["dice"]["background"], 14 / 16)
    close(pc["dice"]["object"], 12 / 13)
    close(pc["dice"]["extra"], 0.0)
    assert pc["recall"]["extra"] is None
    close(pc["hausdorff"]["object"], 1.0)
    close(pc["hausdorff95"]["object"], 0.7)
    close(pc["assd"]["object"], 1 / 13)
    close(pc["surface_dice"]["object"], 1.0)
    close(pc["hausdorff95"]["background"], 1.0)
    close(pc["assd"]["background"], 2 / 16)
    assert pc["hausdorff"]["extra"] is None and pc["assd"]["extra"] is None
    assert pc["surface_dice"]["extra"] == 0.0
    em, _ = add_case(s, "monai", "MONAI: empty-GT class NaN dice, inf hausdorff, NaN hd95",
                     include_background=True)
    assert em["nonfinite"]["per_class"]["hausdorff"]["extra"] == "inf"
    assert em["nonfinite"]["per_class"]["hausdorff95"]["extra"] == "nan"
    assert em["nonfinite"]["per_class"]["dice"]["extra"] == "nan"
    assert em["nonfinite"]["metrics"]["hausdorff"] == "inf"
    ed, _ = add_case(s, "medpy", "medpy: pooled hd95, empty side raises")
    close(ed["per_class"]["hausdorff95"]["object"], 0.4)
    assert ed["per_class"]["hausdorff"]["extra"] is None
    close(ed["per_class"]["recall"]["extra"], 0.0)
    es, _ = add_case(s, "smp", "smp: zero_division = 1")
    close(es["per_class"]["recall"]["extra"], 1.0)
    et, _ = add_case(s, "torchmetrics", "torchmetrics: predicted-but-absent scores 0")
    close(et["per_class"]["recall"]["extra"], 0.0)
    assert et["nonfinite"]["per_class"]["hausdorff"]["extra"] == "inf"
    ee, _ = add_case(s, "mmseg", "mmseg: NaN recall for an absent class")
    assert ee["nonfinite"]["per_class"]["recall"]["extra"] == "nan"
    ek, _ = add_case(s, "keras", "keras: MeanIoU and F1Score epsilons")
    eg, _ = add_case(s, "segloss", "spacing (2,1)", spacing=(2.0, 1.0), suffix="spacing")
    close(eg["per_class"]["hausdorff"]["object"], 1.0)


# --------------------------------------------------------------------------
# brute force and scikit-learn checks
# --------------------------------------------------------------------------
def brute_surface(inp, c):
    """All-pairs distances between the boundary pixel sets of class c."""
    def bnd(m):
        h, w = m.shape
        pts = []
        for y in range(h):
            for x in range(w):
                if not m[y, x]:
                    continue
                nb = [(y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)]
                if any(not (0 <= yy < h and 0 <= xx < w) or not m[yy, xx] for yy, xx in nb):
                    pts.append((y, x))
        return np.array(pts, np.float64).reshape(-1, 2)
    a = bnd((inp.Yhat == c) & inp.valid)
    b = bnd(inp.T == c)
    if len(a) == 0 or len(b) == 0:
        return None
    sp = np.array(inp.spacing)
    d = np.sqrt((((a[:, None, :] - b[None, :, :]) * sp) ** 2).sum(-1))
    return d.min(axis=1), d.min(axis=0)


def check_brute_force():
    rng = np.random.default_rng(7)
    n = 0
    for trial in range(40):
        h, w = int(rng.integers(3, 14)), int(rng.integers(3, 14))
        C = int(rng.integers(2, 5))
        t = rng.integers(0, C, (h, w))
        t = ndimage.median_filter(t, 3) if trial % 2 else t
        y = np.where(rng.random((h, w)) < 0.2, rng.integers(0, C, (h, w)), t)
        if trial % 3 == 0:
            t[rng.random((h, w)) < 0.1] = 99
        sp = [(1.0, 1.0), (2.0, 1.0), (0.5, 1.5)][trial % 3]
        inp = mc.prepare(t, list(range(C)), 99, labels=y, spacing=sp)
        for c in range(C):
            d, _ = mc.class_surface(inp, c)
            bd = brute_surface(inp, c)
            if d is None:
                assert bd is None
                continue
            assert np.allclose(np.sort(d[0]), np.sort(bd[0]), rtol=0, atol=1e-12)
            assert np.allclose(np.sort(d[1]), np.sort(bd[1]), rtol=0, atol=1e-12)
            n += 1
    return n


def check_sklearn(inp):
    from sklearn import metrics as skm
    C = inp.C
    t = inp.T[inp.valid]
    y = inp.Yhat[inp.valid]
    M = mc.confusion(inp)
    if t.size == 0:
        return
    labels = list(range(C))
    assert np.array_equal(skm.confusion_matrix(t, y, labels=labels), M)
    for name, fn in [("iou", skm.jaccard_score), ("dice", skm.f1_score),
                     ("precision", skm.precision_score), ("recall", skm.recall_score)]:
        sk = fn(t, y, labels=labels, average=None, zero_division=0)
        ours = mc.segloss_confusion_metric(name, inp, M)
        for c in range(C):
            if ours[c] is not None:
                close(ours[c], float(sk[c]))
        skm_macro = fn(t, y, labels=labels, average="micro", zero_division=0)
        if name in ("precision", "recall", "dice"):
            # with every class counted, micro precision = recall = F1 = accuracy
            close(float(skm_macro), mc.pixel_accuracy(inp, M))


def check_ports(inp):
    """Ports agree where the libraries agree."""
    M = mc.confusion(inp)
    tp, fp, fn, tn, sup = mc.counts(M)
    inc = [True] * inp.C
    for name, tmf in (("iou", mc.tm_iou), ("dice", mc.tm_dice)):
        a = mc.segloss_confusion_metric(name, inp, M)
        b = tmf(inp, M)
        for c in range(inp.C):
            if a[c] is not None:
                close(a[c], b[c])
        if all(tp[c] + fp[c] + fn[c] > 0 for c in range(inp.C)):
            close(mc.segloss_average(name, a, inp, inc, "macro", M),
                  mc.tm_segmentation_average(name, b, inp, inc, "macro", M))
    pooled = mc.run_pooled([M])
    for name in ("iou", "dice"):
        same(mc.nanmean(mc.mmseg_metric(name, inp, M), inc), pooled["m" + ("IoU" if name == "iou" else "Dice")])
    for c in range(inp.C):
        same(mc.cityscapes_iou(M, c, range(inp.C)), pooled["iou"][c])
    if inp.P is not None and inp.valid.any():
        close(mc.segloss_cross_entropy(inp), mc.pytorch_cross_entropy(inp))
        close(mc.segloss_cross_entropy(inp, label_smoothing=0.1),
              mc.pytorch_cross_entropy(inp, label_smoothing=0.1))
    for name in ("hausdorff", "hausdorff95", "assd", "surface_dice"):
        a = mc.segloss_surface_metric(name, inp)
        b = mc.monai_surface(name, inp)
        for c in range(inp.C):
            if a[c] is not None and not (isinstance(b[c], float) and math.isinf(b[c])):
                if not math.isnan(b[c]):
                    close(a[c], b[c])
    for name in ("hausdorff", "assd"):
        a = mc.segloss_surface_metric(name, inp)
        b = mc.medpy_surface(name, inp)
        for c in range(inp.C):
            same(a[c], b[c])


def check_binary_c2():
    """C = 2 on a binary mask: class 1's metrics equal segloss's binary metrics
    (reference.py) on the same mask and prediction p (argmax picks class 1 iff
    p > 1 - p, i.e. p > 0.5: no p is exactly 0.5 here); the dice/jaccard/tversky
    losses restricted to class 1 equal the binary losses; cross_entropy equals
    bce up to the float32 rounding of 1 - p."""
    s = InputSet("c2_binary", ["background", "foreground"])
    rng = s.rng
    h, w = 64, 72
    yy, xx = np.mgrid[0:h, 0:w]
    mask = (((yy - 30) / 18.0) ** 2 + ((xx - 34) / 24.0) ** 2 <= 1) | ((yy - 10) ** 2 + (xx - 60) ** 2 <= 36)
    p = ndimage.gaussian_filter(np.roll(mask, (2, -1), axis=(0, 1)).astype(float), 2.0)
    p = np.clip(0.05 + 0.9 * p + 0.1 * rng.standard_normal((h, w)), 0, 1)
    p32 = p.astype(np.float32)
    p32[np.abs(p32.astype(np.float64) - 0.5) < 1e-6] = np.float32(0.49)
    P = np.stack([(1.0 - p32.astype(np.float64)).astype(np.float32), p32])
    s.target_npy(mask.astype(np.uint8))
    s.pred_array(P, "probabilities", 0)
    exp, inp = add_case(s, "segloss", "C = 2 equals the binary metrics on the same mask")
    pb = s.pred["probs"][1]
    assert np.array_equal(inp.Yhat == 1, pb >= 0.5)
    lab = s.target_ids
    for name in mc.METRIC_NAMES:
        b = bref.metric(name, lab, pb)
        same(exp["per_class"][name]["foreground"], b)
    only_fg = [False, True]
    close(mc.segloss_dice_loss(inp, only_fg), bref.dice_loss(lab, pb))
    close(mc.segloss_jaccard_loss(inp, only_fg), bref.jaccard_loss(lab, pb))
    close(mc.segloss_tversky_loss(inp, only_fg), bref.tversky_loss(lab, pb))
    close(mc.segloss_focal_tversky_loss(inp, only_fg), bref.focal_tversky_loss(lab, pb))
    close(mc.segloss_cross_entropy(inp), bref.bce(lab, pb), 1e-6)
    close(mc.segloss_generalized_dice_loss(inp, [True, True]), bref.generalized_dice_loss(lab, pb), 1e-6)
    add_case(s, "monai", "C = 2 under MONAI")


# --------------------------------------------------------------------------
# real images
# --------------------------------------------------------------------------
def coins_case():
    """skimage `coins` crop 160x192: background 0, small coins 1 (area < 1200),
    large coins 2; a one-pixel ring around each coin is ignored (255).
    Prediction: float32 probabilities (C, H, W), softmax of shifted, blurred,
    noisy scores."""
    from skimage import data, filters, measure
    img = data.coins()
    crop = img[0:160, 16:208].astype(np.float64)
    m = ndimage.binary_fill_holes(ndimage.binary_opening(crop > filters.threshold_otsu(img)))
    lab = measure.label(m)
    ids = np.zeros(crop.shape, np.int64)
    for r in measure.regionprops(lab):
        ids[lab == r.label] = 1 if r.area < 1200 else 2
    ring = ndimage.binary_dilation(m) & ~m
    ids[ring] = 255
    s = InputSet("coins", ["background", "small", "large"])
    s.target_png(ids, 8)
    idx = np.where(ids == 255, 0, ids)
    Z = noisy_logits(s.rng, idx, 3, shift=(2, -1), blur=2.0, noise=1.0, scale=5.0, n_fp=3)
    s.pred_array(softmax_f32(Z), "probabilities", 0)
    for p in mc.PROFILES:
        add_case(s, p, f"real image (coins), 8-bit label PNG, ignore ring, (C,H,W) probabilities, {p}",
                 ignore_index=255)
    add_case(s, "mmseg", "mmseg with its default ignore_index 255 (not given)", suffix="default_ignore")
    for avg in ("micro", "weighted", "none"):
        add_case(s, "segloss", f"average={avg}", ignore_index=255, average=avg, suffix=avg)
    add_case(s, "segloss", "include_background=false", ignore_index=255, include_background=False,
             suffix="nobg")
    add_case(s, "monai", "MONAI with include_background=false everywhere", ignore_index=255,
             include_background=False, suffix="nobg")
    add_case(s, "segloss", "class weights and label smoothing", ignore_index=255,
             class_weights=[0.5, 2.0, 1.5], label_smoothing=0.1, suffix="weights_smoothing")
    add_case(s, "pytorch", "PyTorch CE with weight, ignore_index and label_smoothing", ignore_index=255,
             class_weights=[0.5, 2.0, 1.5], label_smoothing=0.1, suffix="weights_smoothing")
    add_case(s, "keras", "Keras SCCE with class weights (fit sample weights)", ignore_index=255,
             class_weights=[0.5, 2.0, 1.5], suffix="weights")
    add_case(s, "mmseg", "mmseg CE/tversky/focal/lovasz with class_weight", class_weights=[0.5, 2.0, 1.5],
             suffix="weights")
    add_case(s, "segloss", "spacing (0.5, 1.5)", ignore_index=255, spacing=(0.5, 1.5), suffix="spacing")
    add_case(s, "smp", "smp averages: micro", ignore_index=255, average="micro", suffix="micro")
    add_case(s, "torchmetrics", "torchmetrics averages: weighted", ignore_index=255, average="weighted",
             suffix="weighted")


def camera_case():
    """skimage `camera` crop 128x128, four intensity classes by multi-Otsu, stored
    as a 16-bit grey PNG with sparse ids 0, 300, 1024, 40000; an unlabelled
    rectangle holds 65535 (the ignore index).  Prediction: float32 logits
    (C, H, W)."""
    from skimage import data, filters
    cam = data.camera()[64:192, 176:304]
    th = filters.threshold_multiotsu(cam, classes=4)
    k = np.digitize(cam, th)
    sparse = np.array([0, 300, 1024, 40000])
    ids = sparse[k]
    ids[100:116, 8:40] = 65535
    s = InputSet("camera16", [{"id": 0, "name": "dark"}, {"id": 300, "name": "mid"},
                              {"id": 1024, "name": "light"}, {"id": 40000}])
    s.target_png(ids, 16)
    Z = noisy_logits(s.rng, k, 4, shift=(1, 1), blur=1.2, noise=1.2, scale=4.0)
    s.pred_array(Z, "logits", 0)
    for p in ("segloss", "monai", "smp", "torchmetrics", "mmseg", "pytorch", "keras", "medpy"):
        add_case(s, p, f"16-bit sparse-id target, ignore 65535, float32 logits (C,H,W), {p}",
                 ignore_index=65535)
    # PyTorch's CrossEntropyLoss on logits with all three of its options at once, which
    # torch_ref.py computes with torch itself (the probability cases above take nll_loss).
    for p in ("segloss", "pytorch"):
        add_case(s, p, f"logits with class weights, ignore 65535 and label smoothing 0.1, {p}",
                 ignore_index=65535, class_weights=[0.5, 2.0, 1.0, 1.5], label_smoothing=0.1,
                 suffix="weights_smoothing")


def astronaut_case():
    """skimage `astronaut` crop 128x128 classified by colour (HSV) into five
    classes; the target is an RGB PNG painting each class with its `color`.
    Prediction: an 8-bit label PNG from the same classification of a blurred
    copy (natural boundary errors)."""
    from skimage import color, data
    a = data.astronaut()[20:148, 150:278]

    def classify(rgb):
        hsv = color.rgb2hsv(rgb)
        hch, sch, vch = hsv[..., 0], hsv[..., 1], hsv[..., 2]
        k = np.full(hch.shape, 4, np.int64)
        k[(sch < 0.18) & (vch > 0.65)] = 1
        k[((hch < 0.06) | (hch > 0.92)) & (sch > 0.35) & (vch > 0.25)] = 2
        k[(hch > 0.5) & (hch < 0.75) & (sch > 0.25)] = 3
        k[vch < 0.22] = 0
        return k
    t = classify(a)
    blurred = np.stack([ndimage.gaussian_filter(a[..., i].astype(float), 1.5) for i in range(3)], -1)
    y = classify(np.clip(blurred, 0, 255).astype(np.uint8))
    spec = [{"id": 0, "name": "dark", "color": [0, 0, 0]},
            {"id": 1, "name": "white", "color": [255, 255, 255]},
            {"id": 2, "name": "red", "color": [200, 30, 30]},
            {"id": 3, "name": "blue", "color": [30, 60, 200]},
            {"id": 4, "name": "other", "color": [120, 120, 60]}]
    s = InputSet("astronaut_rgb", spec)
    s.target_rgb(t)
    s.pred_labels_png(y)
    for p in mc.PROFILES:
        add_case(s, p, f"RGB colour-coded target, label PNG prediction, {p}")


# --------------------------------------------------------------------------
# edge cases
# --------------------------------------------------------------------------
def blob_ids(rng, h, w, C, n=6, present=None):
    """Label map 0..C-1 of random ellipses (classes limited to `present`)."""
    present = list(range(1, C)) if present is None else present
    ids = np.zeros((h, w), np.int64)
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        c = present[i % len(present)]
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(3, h / 4), rng.uniform(3, w / 4)
        ids[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = c
    return ids


def edge_cases():
    # a class absent from both target and prediction (class 3), plus one absent
    # from the prediction only (class 2)
    s = InputSet("absent_both", ["bg", "a", "b", "never"])
    t = blob_ids(s.rng, 48, 56, 4, present=[1, 2])
    s.target_png(t)
    Z = noisy_logits(s.rng, t, 4, blur=1.0, noise=0.3, n_fp=0)
    Z[3] -= 50.0           # class 3 never wins
    Z[2] -= 30.0           # class 2 never predicted
    s.pred_array(Z, "logits", 0)
    exp, inp = add_case(s, "segloss", "class absent from both (null everywhere), class absent from prediction")
    assert all(v is None for v in (exp["per_class"][m]["never"] for m in mc.METRIC_NAMES))
    assert exp["per_class"]["precision"]["b"] is None and exp["per_class"]["recall"]["b"] == 0.0
    for p in ("monai", "smp", "torchmetrics", "mmseg", "keras", "medpy"):
        add_case(s, p, f"absent classes under {p}")
    add_case(s, "segloss", "absent classes, micro", average="micro", suffix="micro")
    add_case(s, "segloss", "absent classes, weighted", average="weighted", suffix="weighted")
    for zd in (0, 1):
        ez, _ = add_case(s, "segloss", f"zero_division={zd}: precision of the never-predicted class is {zd}, "
                         "the class absent from both stays null", zero_division=zd, suffix=f"zd{zd}")
        assert ez["per_class"]["precision"]["b"] == float(zd) and ez["per_class"]["precision"]["never"] is None

    # a class predicted but absent from the target
    s = InputSet("predicted_absent", 3)
    t = blob_ids(s.rng, 40, 40, 3, present=[1])
    s.target_npy(t.astype(np.uint8))
    y = t.copy()
    y[30:36, 4:12] = 2
    s.pred_labels_png(y)
    for p in mc.PROFILES:
        add_case(s, p, f"class 2 predicted but absent from the target, {p}")

    # all pixels ignored but those of one class
    s = InputSet("one_class_valid", ["bg", "a", "b"])
    t = blob_ids(s.rng, 32, 48, 3, present=[1, 2])
    t = np.where(t == 1, 1, 255)
    s.target_png(t)
    idx = np.where(t == 255, 2, t)
    Z = noisy_logits(s.rng, idx, 3, blur=1.0, noise=1.5)
    s.pred_array(softmax_f32(Z), "probabilities", -1)
    for p in ("segloss", "monai", "smp", "torchmetrics", "mmseg", "pytorch", "keras"):
        add_case(s, p, f"only class 1 is valid (rest ignored), (H,W,C) probabilities, {p}",
                 ignore_index=255)

    # every pixel ignored: nothing defined, CE null (PyTorch NaN, Keras 0)
    s = InputSet("all_ignored", 3)
    t = np.full((8, 10), 255, np.uint8)
    s.target_npy(t)
    Z = noisy_logits(s.rng, np.zeros((8, 10), np.int64), 3)
    s.pred_array(Z, "logits", 0)
    for p in ("segloss", "pytorch", "keras", "smp", "mmseg"):
        add_case(s, p, f"every pixel ignored, {p}", ignore_index=255)

    # exact ties in the argmax: lowest index wins (numpy/torch); Keras F1Score
    # marks every tied class
    s = InputSet("argmax_ties", 3)
    t = np.array([[0, 1, 2, 0, 1, 2], [1, 1, 0, 2, 2, 0], [2, 0, 1, 1, 0, 2], [0, 0, 1, 2, 2, 1]])
    s.target_npy(t.astype(np.int32))
    P = np.zeros((3, 4, 6), np.float32)
    rows = [[(0.4, 0.4, 0.2), (0.3, 0.3, 0.4), (0.25, 0.5, 0.25), (0.2, 0.4, 0.4), (1 / 3, 1 / 3, 1 / 3),
             (0.5, 0.5, 0.0)],
            [(0.1, 0.45, 0.45), (0.6, 0.2, 0.2), (0.2, 0.2, 0.6), (0.35, 0.3, 0.35), (0.3, 0.35, 0.35),
             (0.4, 0.2, 0.4)],
            [(0.5, 0.25, 0.25), (0.45, 0.1, 0.45), (0.3, 0.4, 0.3), (0.1, 0.8, 0.1), (0.5, 0.0, 0.5),
             (0.2, 0.4, 0.4)],
            [(0.4, 0.3, 0.3), (0.25, 0.25, 0.5), (0.45, 0.45, 0.1), (0.3, 0.3, 0.4), (0.2, 0.4, 0.4),
             (0.1, 0.6, 0.3)]]
    for i in range(4):
        for j in range(6):
            P[:, i, j] = rows[i][j]
    s.pred_array(P, "probabilities", 0)
    exp, inp = add_case(s, "segloss", "exact ties in the argmax: lowest class index wins")
    assert inp.Yhat[0, 0] == 0 and inp.Yhat[0, 4] == 0 and inp.Yhat[1, 0] == 1 and inp.Yhat[2, 4] == 0
    for p in ("keras", "torchmetrics", "monai"):
        add_case(s, p, f"argmax ties under {p}")

    # COCO-like sparse ids 1, 3, 17 (0 = background), probabilities (H, W, C)
    s = InputSet("sparse_ids", [{"id": 0, "name": "background"}, {"id": 1, "name": "person"},
                                {"id": 3, "name": "car"}, {"id": 17, "name": "cat"}])
    k = blob_ids(s.rng, 48, 64, 4, n=8)
    ids = np.array([0, 1, 3, 17])[k]
    s.target_png(ids)
    Z = noisy_logits(s.rng, k, 4, blur=1.5, noise=0.9)
    s.pred_array(softmax_f32(Z), "probabilities", -1)
    for p in ("segloss", "keras", "smp", "monai", "mmseg", "torchmetrics"):
        add_case(s, p, f"COCO-like sparse ids 0/1/3/17, (H,W,C) probabilities, {p}")
    add_case(s, "segloss", "sparse ids, background = id 0 excluded", include_background=False, suffix="nobg")


def cityscapes_like():
    """C = 19 train ids, 128x256 Voronoi regions, void (255) patches; prediction
    label PNG with re-labelled regions and boundary shifts."""
    s = InputSet("cityscapes19", 19)
    rng = s.rng
    h, w = 128, 256
    n = 60
    sy, sx = rng.uniform(0, h, n), rng.uniform(0, w, n)
    yy, xx = np.mgrid[0:h, 0:w]
    cell = np.argmin((yy[None] - sy[:, None, None]) ** 2 + (xx[None] - sx[:, None, None]) ** 2, axis=0)
    cls = rng.integers(0, 18, n)          # train id 18 never appears in the target
    t = cls[cell]
    for _ in range(5):
        y0, x0 = int(rng.integers(0, h - 12)), int(rng.integers(0, w - 20))
        t[y0:y0 + 12, x0:x0 + 20] = 255
    s.target_png(t)
    cls2 = cls.copy()
    swap = rng.random(n) < 0.15
    cls2[swap] = rng.integers(0, 19, int(swap.sum()))
    y = cls2[np.roll(cell, (1, 2), axis=(0, 1))]
    s.pred_labels_png(y)
    for p in ("segloss", "mmseg", "torchmetrics", "monai", "smp"):
        add_case(s, p, f"C = 19 Cityscapes-like, ignore 255, {p}", ignore_index=255)


# --------------------------------------------------------------------------
# run: several items, mean over items and dataset pooling
# --------------------------------------------------------------------------
def run_case():
    """Seven 48x64 items, C = 4 (class 3 absent from some items, absent from
    both in item 2), ignore 255 patches, label PNG predictions."""
    name = "run7"
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    classes = ["road", "car", "tree", "sign"]
    items, per_item, confs, inps = [], [], [], []
    for i in range(7):
        s = InputSet(f"{name}/item{i}", classes)
        present = [1, 2] if i == 2 else ([1, 2, 3] if i % 2 else [1, 3])
        t = blob_ids(rng, 48, 64, 4, n=5, present=present)
        if i % 3 == 0:
            t[5:12, 10:30] = 255
        s.target_png(t)
        y = np.roll(t, (1, -1), axis=(0, 1))
        y = np.where(y == 255, 0, y)
        if i == 4:
            y[40:46, 50:60] = 2
        s.pred_labels_png(y)
        inp = s.inputs(255)
        exp, _, _ = expected(s, "segloss", ignore_index=255)
        items.append({"target": s.target_rel, "prediction": s.pred_rel})
        per_item.append(exp)
        confs.append(mc.confusion(inp))
        inps.append(inp)
        check_sklearn(inp)
        check_ports(inp)
    C = 4
    inc = [True] * C
    mean = {"per_class": {}, "metrics": {}}
    for m in mc.METRIC_NAMES:
        pcs = {}
        for c in classes:
            vs = [e["per_class"][m][c] for e in per_item if e["per_class"][m][c] is not None]
            pcs[c] = float(np.mean(vs)) if vs else None
        mean["per_class"][m] = pcs
        vs = [e["metrics"][m] for e in per_item if e["metrics"][m] is not None]
        mean["metrics"][m] = float(np.mean(vs)) if vs else None
    pooled = mc.run_pooled(confs, inc)
    # Cityscapes gives the same per-class IoU on the pooled matrix
    for c in range(C):
        same(mc.cityscapes_iou(pooled["confusion"], c, range(C)), pooled["iou"][c])
    pooled_json = {"confusion": pooled["confusion"].tolist()}
    for k in ("iou", "dice", "acc"):
        pooled_json[k] = {classes[c]: enc(pooled[k][c])[0] for c in range(C)}
    for k in ("mIoU", "mDice", "mAcc", "aAcc"):
        pooled_json[k] = enc(pooled[k])[0]
    # torchmetrics MeanIoU over a run: flat mean over (item, class) pairs with
    # U > 0; DiceScore: mean over items of the per-item macro; MONAI DiceMetric
    # 'mean': per item mean over non-NaN classes, then over items
    pairs = [v for inp in inps for v in mc.tm_iou(inp) if not math.isnan(v)]
    tm_dice = [mc.tm_segmentation_average("dice", mc.tm_dice(inp), inp, inc, "macro") for inp in inps]
    monai_items = [mc.monai_mean(mc.monai_dice(inp), inc) for inp in inps]
    run = {
        "name": name,
        "covers": "a run of 7 items: mean over items (segloss), dataset pooling (mmseg IoUMetric, "
                  "Cityscapes), torchmetrics MeanIoU/DiceScore and MONAI DiceMetric accumulation",
        "request": {"classes": classes, "ignore_index": 255, "prediction_kind": "labels", "profile": "segloss"},
        "items": items,
        "expected": {
            "items": per_item,
            "mean": mean,
            "pooled": pooled_json,
            "torchmetrics": {"MeanIoU": float(np.mean(pairs)),
                             "DiceScore": float(np.nanmean(tm_dice))},
            "monai": {"DiceMetric": float(np.mean(monai_items))},
        },
    }
    return run


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------
def fmt_json(obj):
    return json.dumps(obj, indent=1, allow_nan=False) + "\n"


def main():
    if os.path.isdir(FIX):
        for e in sorted(os.listdir(FIX)):
            p = os.path.join(FIX, e)
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif e in ("cases.json",):
                os.remove(p)
    os.makedirs(FIX, exist_ok=True)
    n_brute = check_brute_force()
    hand_3x4()
    hand_3x5_surface()
    for inp_name in ("hand_3x4__segloss", "hand_3x5_surface__segloss"):
        inp = INPUTS[inp_name]
        for c in range(inp.C):
            d, _ = mc.class_surface(inp, c)
            bd = brute_surface(inp, c)
            assert (d is None) == (bd is None)
    check_binary_c2()
    coins_case()
    camera_case()
    astronaut_case()
    edge_cases()
    cityscapes_like()
    run = run_case()
    seen = set()
    for case in CASES:
        inp = INPUTS[case["name"]]
        key = (case["request"]["target"], case["resolved"]["ignore_index"], tuple(inp.spacing))
        if key in seen:
            continue
        seen.add(key)
        check_sklearn(inp)
        check_ports(inp)
    doc = {"generator": "tests/ref/gen_multiclass.py", "versions": VERSIONS, "cases": CASES, "runs": [run]}
    with open(os.path.join(FIX, "cases.json"), "w") as f:
        f.write(fmt_json(doc))
    total = 0
    for dp, _, fs in os.walk(FIX):
        for fn in fs:
            total += os.path.getsize(os.path.join(dp, fn))
    print(f"gen_multiclass: {len(CASES)} cases + 1 run ({len(run['items'])} items), "
          f"{len(seen)} distinct inputs checked against scikit-learn, "
          f"{n_brute} class boundaries brute-forced; {total / 1e6:.2f} MB under {FIX_REL}")


if __name__ == "__main__":
    main()
