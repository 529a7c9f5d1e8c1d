#!/usr/bin/python3
"""
gen_fixtures.py -- writes the segloss test fixtures and tests/fixtures/cases.json.

Run from anywhere (paths are resolved from this file):

    /usr/bin/python3 tests/ref/gen_fixtures.py

Deterministic: every case draws from its own fixed-seed generator, PNGs are
written by our own encoder (pngwrite.py) and .npy files by numpy, so running
it twice gives byte-identical output.

Before writing any fixture it validates the reference (reference.py):
  * hand-computed tiny cases (derivations in the comments below) are checked
    with asserts;
  * the EDT-based pieces (surface distances with anisotropic spacing, d1/d2 of
    the weight map, the boundary-loss phi) are compared against brute force;
  * the float32 rounding of grey PNG predictions is checked against exact
    rational rounding.
Every written file is read back (Pillow for PNG, numpy for .npy) and the
expected values are computed from what was read back.
"""
import json
import math
import os
import re
import shutil
import sys
import zlib
from fractions import Fraction

import numpy as np
from PIL import Image
from scipy import ndimage

sys.dont_write_bytecode = True  # keep tests/ref free of __pycache__
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pngwrite as pw  # noqa: E402
import reference as ref  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
FIX_REL = "tests/fixtures"
FIX = os.path.join(ROOT, FIX_REL)

# --------------------------------------------------------------------------
# loss / metric variants evaluated on every case (defaults first)
# --------------------------------------------------------------------------
LOSS_VARIANTS = [
    ("bce", {}), ("bce", {"eps": 1e-3}),
    ("weighted_bce", {}), ("weighted_bce", {"beta": 3}),
    ("weighted_bce", {"beta": 0.5, "eps": 1e-5}),
    ("balanced_bce", {}), ("balanced_bce", {"eps": 0.01}),
    ("focal", {}), ("focal", {"alpha": 0.5, "gamma": 3}), ("focal", {"gamma": 0}),
    ("focal", {"alpha": 0.75, "gamma": 1.5, "eps": 1e-4}),
    ("dice", {}), ("dice", {"gamma": 1}), ("dice", {"smooth": 1}),
    ("dice", {"smooth": 1, "gamma": 1}),
    ("jaccard", {}), ("jaccard", {"smooth": 1}),
    ("tversky", {}), ("tversky", {"alpha": 0.5, "beta": 0.5}),
    ("tversky", {"alpha": 0.7, "beta": 0.3, "smooth": 1}),
    ("focal_tversky", {}), ("focal_tversky", {"gamma": 2}),
    ("focal_tversky", {"alpha": 0.5, "beta": 0.5, "smooth": 1, "gamma": 1.5}),
    ("log_cosh_dice", {}), ("log_cosh_dice", {"gamma": 1}), ("log_cosh_dice", {"smooth": 1}),
    ("sensitivity_specificity", {}), ("sensitivity_specificity", {"w": 0.5}),
    ("sensitivity_specificity", {"w": 0.9, "smooth": 1}),
    ("combo", {}), ("combo", {"alpha": 0.3, "beta": 0.7}), ("combo", {"smooth": 1, "eps": 1e-3}),
    ("exp_log", {}), ("exp_log", {"w_dice": 0.5, "w_cross": 0.5}),
    ("exp_log", {"gamma_dice": 1, "gamma_cross": 1}), ("exp_log", {"smooth": 1, "eps": 1e-3}),
    ("generalized_dice", {}), ("generalized_dice", {"smooth": 1}),
    ("hausdorff_dt", {}), ("hausdorff_dt", {"alpha": 1}), ("hausdorff_dt", {"alpha": 0.5}),
    ("boundary", {}),
    ("shape_aware", {}), ("shape_aware", {"w0": 5, "sigma": 3}),
    ("shape_aware", {"class_weights": "none"}), ("shape_aware", {"class_weights": [1, 5]}),
    ("shape_aware", {"instances": "labels"}),
    ("shape_aware", {"instances": "components", "connectivity": 4}),
    ("shape_aware", {"eps": 1e-3}),
]

METRIC_VARIANTS = []
for _m in ("dice", "iou", "precision", "recall", "specificity", "accuracy"):
    METRIC_VARIANTS += [(_m, {}), (_m, {"threshold": 0.25}), (_m, {"threshold": 0.75}),
                        (_m, {"zero_division": 0}), (_m, {"zero_division": 1})]
METRIC_VARIANTS += [
    ("hausdorff", {}), ("hausdorff", {"threshold": 0.25}), ("hausdorff", {"spacing": [2, 1]}),
    ("hausdorff", {"spacing": [0.5, 1.5]}),
    ("hausdorff95", {}), ("hausdorff95", {"percentile": 90}),
    ("hausdorff95", {"spacing": [2, 1], "percentile": 50}), ("hausdorff95", {"percentile": 100}),
    ("hausdorff95", {"threshold": 0.75, "percentile": 0}),
    ("assd", {}), ("assd", {"threshold": 0.25}), ("assd", {"spacing": [2, 1]}),
    ("assd", {"spacing": [0.5, 1.5]}),
    ("surface_dice", {}), ("surface_dice", {"tolerance": 2}), ("surface_dice", {"tolerance": 0}),
    ("surface_dice", {"spacing": [2, 1], "tolerance": 1.5}),
    ("surface_dice", {"threshold": 0.75}), ("surface_dice", {"spacing": [0.5, 1.5]}),
]
THRESHOLDS = (0.25, 0.5, 0.75)


def wmap_params(key):
    """'w0=5,sigma=3,...' -> kwargs for reference.unet_weight_map."""
    out = {}
    if not key:
        return out
    for part in re.split(r",(?![^\[]*\])", key):
        k, v = part.split("=", 1)
        if k in ("w0", "sigma"):
            out[k] = float(v)
        elif k == "connectivity":
            out[k] = int(v)
        elif k == "class_weights" and v.startswith("["):
            out[k] = [float(x) for x in v[1:-1].split(",")]
        else:
            out[k] = v
    return out


def wmap_key(params):
    key = ref.spec_key("", params, ref.WEIGHT_MAP_DEFAULTS)
    return key[1:] if key.startswith(":") else key


# --------------------------------------------------------------------------
# shape helpers
# --------------------------------------------------------------------------
def ellipse(h, w, cy, cx, ry, rx, theta=0.0):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    c, s = math.cos(theta), math.sin(theta)
    u = (yy - cy) * c + (xx - cx) * s
    v = -(yy - cy) * s + (xx - cx) * c
    return (u / ry) ** 2 + (v / rx) ** 2 <= 1.0


def blobs(rng, h, w, n, rmin, rmax, margin=0.0):
    m = np.zeros((h, w), bool)
    for _ in range(n):
        cy = rng.uniform(margin, h - 1 - margin)
        cx = rng.uniform(margin, w - 1 - margin)
        m |= ellipse(h, w, cy, cx, rng.uniform(rmin, rmax), rng.uniform(rmin, rmax),
                     rng.uniform(0, math.pi))
    return m


def voronoi(rng, h, w, n, gap_prob=0.5, drop_prob=0.1):
    """Voronoi cells 1..n; each cell is eroded by 0 (touching), 1 or 2 pixels
    with probability gap_prob, and dropped with probability drop_prob."""
    sy = rng.uniform(0, h, n)
    sx = rng.uniform(0, w, n)
    yy, xx = np.mgrid[0:h, 0:w]
    d = (yy[None] - sy[:, None, None]) ** 2 + (xx[None] - sx[:, None, None]) ** 2
    lab = np.argmin(d, axis=0) + 1
    out = np.zeros((h, w), np.int64)
    for k in range(1, n + 1):
        cell = lab == k
        if rng.random() < drop_prob:
            continue
        if rng.random() < gap_prob:
            cell = ndimage.binary_erosion(cell, iterations=int(rng.integers(1, 3)),
                                          border_value=1)
        out[cell] = k
    return out


def soft_pred(rng, y, shift=(1, -1), blur=1.5, noise=0.08, n_fp=2, lo=0.03, hi=0.95):
    """A plausible soft prediction of binary mask y, in [0, 1] (float64)."""
    h, w = y.shape
    base = np.roll(np.asarray(y, bool), shift, axis=(0, 1))
    fp = blobs(rng, h, w, n_fp, 1.5, max(2.0, min(h, w) / 10))
    base = base | fp
    if base.any() and rng.random() < 0.8:
        # carve a hole (false negatives)
        base &= ~blobs(rng, h, w, 1, 1.5, max(2.0, min(h, w) / 8))
    s = ndimage.gaussian_filter(base.astype(np.float64), blur) if blur > 0 else base * 1.0
    p = lo + (hi - lo) * s + noise * rng.standard_normal((h, w))
    return np.clip(p, 0.0, 1.0)


def quant(p, bits):
    return np.rint(np.asarray(p) * ((1 << bits) - 1)).astype(np.int64)


# --------------------------------------------------------------------------
# file writers (each returns what a reader must decode) and readers
# --------------------------------------------------------------------------
def read_png_raw(path):
    """Decode with Pillow; returns (mode, array)."""
    im = Image.open(path)
    im.load()
    return im.mode, np.array(im), im


def write_png_checked(path, img, color_type, bit_depth, palette=None, interlace=False):
    pw.write_png(path, img, color_type, bit_depth, palette=palette, interlace=interlace)
    mode, a, im = read_png_raw(path)
    img = np.asarray(img)
    exp = img
    if color_type == pw.GREY and bit_depth in (2, 4):
        exp = img * (255 // ((1 << bit_depth) - 1))  # Pillow scales to 8 bits
    if color_type == pw.GREY and bit_depth == 1:
        a = a.astype(np.int64)
    assert a.shape == exp.shape, (path, a.shape, exp.shape)
    assert np.array_equal(a.astype(np.int64), exp.astype(np.int64)), path
    if color_type == pw.PALETTE:
        pal = np.array(im.getpalette()[:3 * len(palette)]).reshape(-1, 3)
        assert np.array_equal(pal, np.array(palette)), path
    info_il = im.info.get("interlace", 0)
    assert bool(info_il) == bool(interlace), path


def target_labels_from_png(path, color_type, bit_depth, palette=None):
    """Target labels as the spec defines them, from Pillow's decoding."""
    mode, a, im = read_png_raw(path)
    if color_type == pw.GREY:
        a = a.astype(np.int64)
        if bit_depth in (2, 4):
            a //= 255 // ((1 << bit_depth) - 1)
        return a
    if color_type == pw.GREY_ALPHA:
        return a[:, :, 0].astype(np.int64)  # alpha ignored
    if color_type in (pw.RGB, pw.RGBA):
        a = a.astype(np.int64)
        return (a[:, :, 0] << 16) | (a[:, :, 1] << 8) | a[:, :, 2]  # 0xRRGGBB
    if color_type == pw.PALETTE:
        pal = np.array(palette, np.int64)
        packed = (pal[:, 0] << 16) | (pal[:, 1] << 8) | pal[:, 2]
        return packed[a.astype(np.int64)]
    raise ValueError(color_type)


def pred_from_grey_png(path, bit_depth):
    mode, a, im = read_png_raw(path)
    v = a.astype(np.float64)
    return ref.f32(v / ((1 << bit_depth) - 1))


def write_npy(path, arr, version=None):
    with open(path, "wb") as f:
        if version is None:
            np.save(f, arr)
        else:
            np.lib.format.write_array(f, arr, version=version)


def read_npy(path):
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
    return np.load(path), version


# --------------------------------------------------------------------------
# case builder
# --------------------------------------------------------------------------
class Case:
    def __init__(self, name, covers):
        self.name = name
        self.covers = covers
        self.dir = os.path.join(FIX, name)
        os.makedirs(self.dir, exist_ok=True)
        self.rng = np.random.default_rng(zlib.crc32(name.encode()))
        self.labels = None
        self.p = None
        self.target_rel = None
        self.pred_rel = None
        self.logits = False
        self.wmap_keys = [""]

    def rel(self, fname):
        return f"{FIX_REL}/{self.name}/{fname}"

    def path(self, fname):
        return os.path.join(self.dir, fname)

    # ---- targets ----
    def target_png(self, img, color_type, bit_depth, palette=None, interlace=False):
        fn = "target.png"
        write_png_checked(self.path(fn), img, color_type, bit_depth, palette, interlace)
        self.labels = target_labels_from_png(self.path(fn), color_type, bit_depth, palette)
        self.target_rel = self.rel(fn)

    def target_npy(self, arr, version=None):
        fn = "target.npy"
        write_npy(self.path(fn), arr, version)
        back, ver = read_npy(self.path(fn))
        assert back.dtype == arr.dtype and back.shape == arr.shape
        assert np.array_equal(back, arr)
        if version is not None:
            assert ver == version
        if back.ndim == 3:  # (1, H, W) or (H, W, 1)
            back = back[0] if back.shape[0] == 1 else back[:, :, 0]
        self.labels = back.astype(np.int64)
        self.target_rel = self.rel(fn)

    # ---- predictions ----
    def pred_png(self, values, bit_depth):
        fn = "prediction.png"
        write_png_checked(self.path(fn), values, pw.GREY, bit_depth)
        self.p = pred_from_grey_png(self.path(fn), bit_depth)
        self.pred_rel = self.rel(fn)

    def pred_npy(self, arr, logits=False):
        fn = "prediction.npy"
        write_npy(self.path(fn), arr)
        back, _ = read_npy(self.path(fn))
        assert back.dtype == arr.dtype and np.array_equal(back, arr)
        assert back.flags.f_contiguous == arr.flags.f_contiguous
        if logits:
            self.p = ref.sigmoid_f32(back)
            # the float32-rounded sigmoid must not depend on how it is computed
            x = back.astype(np.float64)
            with np.errstate(over="ignore"):
                naive = ref.f32(1.0 / (1.0 + np.exp(-x)))
                stable = ref.f32(np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))),
                                          np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x)))))
            assert np.array_equal(naive, self.p) and np.array_equal(stable, self.p), self.name
        else:
            self.p = ref.f32(back)
        self.logits = logits
        self.pred_rel = self.rel(fn)

    # ---- expected values ----
    def expected(self):
        lab, p = self.labels, self.p
        assert lab.ndim == 2 and p.shape == lab.shape, (self.name, lab.shape, p.shape)
        assert np.all((p >= 0) & (p <= 1))
        # thresholds must not sit within float noise of a prediction unless equal
        for t in THRESHOLDS:
            gap = np.abs(p - t)
            assert not np.any((gap > 0) & (gap < 1e-6)), (self.name, t)
        losses = {}
        for name, params in LOSS_VARIANTS:
            key = ref.spec_key(name, params, ref.LOSSES[name][1])
            assert key not in losses, key
            v = ref.loss(name, lab, p, **params)
            assert v is not None and math.isfinite(v), (self.name, key, v)
            losses[key] = float(v)
        metrics = {}
        warnings = []
        for name, params in METRIC_VARIANTS:
            key = ref.spec_key(name, params, ref.METRICS[name][1])
            assert key not in metrics, key
            v = ref.metric(name, lab, p, **params)
            metrics[key] = None if v is None else float(v)
            if v is None:
                warnings.append(key)
        wmaps = {}
        for key in self.wmap_keys:
            w = ref.unet_weight_map(lab, **wmap_params(key))
            fn = "wmap.npy" if key == "" else "wmap_" + re.sub(r"[^A-Za-z0-9]+", "_", key).strip("_") + ".npy"
            write_npy(self.path(fn), np.ascontiguousarray(w.astype("<f8")))
            wmaps[key] = self.rel(fn)
        return {
            "name": self.name,
            "target": self.target_rel,
            "prediction": self.pred_rel,
            "logits": self.logits,
            "losses": losses,
            "metrics": metrics,
            "warnings_expected": warnings,
            "weight_maps": wmaps,
        }


# --------------------------------------------------------------------------
# hand-computed cases (validate reference.py)
# --------------------------------------------------------------------------
def close(a, b, tol=1e-12):
    assert a is not None and b is not None, (a, b)
    assert abs(a - b) <= tol * max(1.0, abs(b)), (a, b)


def hand_checks_2x2(lab, p):
    """
    y = [[1, 0],      p = [[0.5, 0.5],
         [1, 0]]           [1.0, 0.0]]      (N = 4, s = smooth = 1e-6)

    Let l2 = ln 2 and L = -ln(1 - 1e-7) (a confident, correct, clipped pixel:
    p = 1 on y = 1 gives -ln(p^) = L; p = 0 on y = 0 gives -ln(1 - p^) = L).
      bce          = (l2 + l2 + L + L) / 4                     = (l2 + L) / 2
      weighted_bce beta=3: fg pixels 3*l2, 3*L; bg l2, L       = (4 l2 + 4 L) / 4 = l2 + L
      balanced_bce beta = 2/4: every term times 0.5            = (l2 + L) / 4
      focal (a=.25, g=2), e = 1 - p^ at p=1 (= 1e-7 up to rounding):
             (0,0): .25 * .5^2 * l2 = l2/16, (0,1): .75 * .5^2 * l2 = 3 l2/16,
             (1,0): .25 e^2 L, (1,1): .75 e^2 L                = (l2/4 + e^2 L) / 4
      dice loss: sum py = 1.5, sum p^2 = 1.5, sum y = 2        = 1 - (3 + s)/(3.5 + s)
      jaccard:   sum p = 2, sum y = 2, I = 1.5                 = 1 - (1.5 + s)/(2.5 + s)
      tversky:   TP 1.5, FP 0.5, FN 0.5                        = 1 - (1.5 + s)/(1.5 + .15 + .35 + s)
      focal_tversky = tversky ** 0.75
      sens_spec: (y-p)^2 = [[.25,.25],[0,0]]: .05 * .25/(2+s) + .95 * .25/(2+s) = .25/(2+s)
      combo (a = b = .5): -b[...] per pixel: .5 l2, .25 l2, .5 L, .25 L -> mean .75 (l2+L)/4,
             dice term (3 + s)/(4 + s)                     = .5*.75(l2+L)/4 - .5 (3+s)/(4+s)
      exp_log: Dice_fg = (3+s)/(4+s); bg: p_bg = [[.5,.5],[0,1]], y_bg = [[0,1],[0,1]],
             sum p_bg y_bg = 1.5, sum p_bg = 2, sum y_bg = 2 -> (3+s)/(4+s) as well.
             L_dice = (-ln((3+s)/(4+s)))^.3; n_fg = n_bg = 2 -> w = sqrt 2,
             L_cross = sqrt2 (2 l2^.3 + 2 L^.3)/4     -> .8 L_dice + .2 L_cross
      generalized_dice: w_fg = w_bg = 1/4; num = 2 * 1/4 (1.5 + 1.5) + s = 1.5 + s,
             den = 1/4 (4 + 4) + s = 2 + s                  = 1 - (1.5+s)/(2+s)
      hausdorff_dt: P = [[1,1],[1,0]]; (p-y)^2 nonzero (.25) at (0,0) and (0,1).
             d_y(0,0) = EDT(G) = 1, d_y(0,1) = EDT(~G) = 1.
             d_P(0,0) = EDT(P) = dist to (1,1) = sqrt2, d_P(0,1) = 1.
             -> (.25 (2 + 1) + .25 (1 + 1)) / 4 = .3125
      boundary: phi = [[0, 1], [0, 1]] (EDT(G) - 1 = 0 on G) -> phi.p = .5 at (0,1) -> .125
      shape_aware: one component, balanced 2/2 -> w = 1 everywhere -> equals bce.
    Metrics (t = .5): P = [[1,1],[1,0]]: TP 2, FP 1, FN 0, TN 1
      dice 4/5, iou 2/3, precision 2/3, recall 1, specificity 1/2, accuracy 3/4
      t = .75: P = {(1,0)}: TP 1, FP 0, FN 1, TN 2: dice 2/3, precision 1, recall 1/2
      surface: every foreground pixel of a 2x2 image is a boundary pixel.
        A = {(0,0),(0,1),(1,0)}, B = {(0,0),(1,0)}; d(A->B) = [0,1,0], d(B->A) = [0,0]
        hausdorff 1, assd 1/5, surface_dice 5/5 = 1, tolerance 0 -> 4/5,
        hausdorff95: sorted [0,0,1], index .95*2 = 1.9 -> 0 + .9*(1-0) = .9; B->A 0 -> .9
    """
    l2 = math.log(2)
    L = -math.log(1 - 1e-7)
    e = 1 - (1 - 1e-7)
    s = 1e-6
    close(ref.bce(lab, p), (l2 + L) / 2)
    close(ref.weighted_bce(lab, p, beta=3), l2 + L)
    close(ref.balanced_bce(lab, p), (l2 + L) / 4)
    close(ref.focal(lab, p), (l2 / 4 + e * e * L) / 4)
    close(ref.dice_loss(lab, p), 1 - (3 + s) / (3.5 + s))
    close(ref.jaccard_loss(lab, p), 1 - (1.5 + s) / (2.5 + s))
    tv = 1 - (1.5 + s) / (1.5 + 0.15 + 0.35 + s)
    close(ref.tversky_loss(lab, p), tv)
    close(ref.focal_tversky_loss(lab, p), tv ** 0.75)
    close(ref.log_cosh_dice_loss(lab, p), math.log(math.cosh(1 - (3 + s) / (3.5 + s))))
    close(ref.sensitivity_specificity_loss(lab, p), 0.25 / (2 + s))
    close(ref.combo_loss(lab, p), 0.5 * 0.75 * (l2 + L) / 4 - 0.5 * (3 + s) / (4 + s))
    ld = (-math.log((3 + s) / (4 + s))) ** 0.3
    lc = math.sqrt(2) * (2 * l2 ** 0.3 + 2 * L ** 0.3) / 4
    close(ref.exp_log_loss(lab, p), 0.8 * ld + 0.2 * lc)
    close(ref.generalized_dice_loss(lab, p), 1 - (1.5 + s) / (2 + s))
    close(ref.hausdorff_dt_loss(lab, p), 0.3125)
    close(ref.boundary_loss(lab, p), 0.125)
    close(ref.shape_aware_loss(lab, p), ref.bce(lab, p))
    for name, v in [("dice", 0.8), ("iou", 2 / 3), ("precision", 2 / 3), ("recall", 1.0),
                    ("specificity", 0.5), ("accuracy", 0.75), ("hausdorff", 1.0),
                    ("assd", 0.2), ("surface_dice", 1.0), ("hausdorff95", 0.9)]:
        close(ref.metric(name, lab, p), v)
    close(ref.metric("surface_dice", lab, p, tolerance=0), 0.8)
    close(ref.metric("dice", lab, p, threshold=0.75), 2 / 3)
    close(ref.metric("precision", lab, p, threshold=0.75), 1.0)
    close(ref.metric("recall", lab, p, threshold=0.75), 0.5)


def hand_checks_3x3(lab, p):
    """
    y = [[1,0,0],     p = [[1, 0,  0],
         [0,0,0],          [0, .5, 0],
         [0,0,1]]          [0, 0,  0]]       N = 9
    Metrics: P = {(0,0),(1,1)}: TP 1, FP 1, FN 1, TN 6
      dice 1/2, iou 1/3, precision 1/2, recall 1/2, specificity 6/7, accuracy 7/9
    Surface: A = P (both pixels isolated), B = y.
      d(A->B) = [0, sqrt2], d(B->A) = [0, sqrt2]: hausdorff sqrt2, assd 2 sqrt2/4,
      surface_dice (tol 1) 2/4, (tol 1.5) 1; hausdorff95 = 0 + .95 (sqrt2 - 0).
      spacing [2,1]: (1,1)->(0,0) = sqrt(2^2 + 1) = sqrt5 -> hausdorff sqrt5.
    bce: (0,0) L; (2,2) y=1,p=0: K = -ln(1e-7); (1,1) l2; other six L -> (7L + K + l2)/9
    hausdorff_dt: d_y = [[1,1,2],[1,sqrt2,1],[2,1,1]], d_P = [[1,1,sqrt2],[1,1,1],[sqrt2,1,sqrt2]]
      (p-y)^2: .25 at (1,1), 1 at (2,2): (.25 (1 + 2) + 1 (2 + 1)) / 9 = 3.75/9
    boundary: phi(1,1) = EDT(~G) = sqrt2; phi = 0 on the two single-pixel objects
      -> mean phi.p = (sqrt2 * .5)/9
    Weight map (defaults): two 8-components (diagonal gap of one pixel, not adjacent).
      balanced: n_fg = 2, n_bg = 7 -> w_fg = 1, w_bg = 2/7.
      background pixel (d1, d2) to the two instances:
        (0,1),(1,0),(1,2),(2,1): (1, sqrt5)  -> 2/7 + 10 exp(-(1+sqrt5)^2/50)
        (0,2),(2,0):             (2, 2)      -> 2/7 + 10 exp(-16/50)
        (1,1):                   (sqrt2, sqrt2) -> 2/7 + 10 exp(-8/50)
    """
    l2 = math.log(2)
    L = -math.log(1 - 1e-7)
    K = -math.log(1e-7)
    r2, r5 = math.sqrt(2), math.sqrt(5)
    for name, v in [("dice", 0.5), ("iou", 1 / 3), ("precision", 0.5), ("recall", 0.5),
                    ("specificity", 6 / 7), ("accuracy", 7 / 9), ("hausdorff", r2),
                    ("assd", r2 / 2), ("surface_dice", 0.5), ("hausdorff95", 0.95 * r2)]:
        close(ref.metric(name, lab, p), v)
    close(ref.metric("surface_dice", lab, p, tolerance=1.5), 1.0)
    close(ref.metric("hausdorff", lab, p, spacing=[2, 1]), r5)
    close(ref.bce(lab, p), (7 * L + K + l2) / 9)
    close(ref.hausdorff_dt_loss(lab, p), 3.75 / 9)
    close(ref.boundary_loss(lab, p), r2 * 0.5 / 9)
    a = 2 / 7 + 10 * math.exp(-(1 + r5) ** 2 / 50)
    b = 2 / 7 + 10 * math.exp(-16 / 50)
    c = 2 / 7 + 10 * math.exp(-8 / 50)
    want = np.array([[1, a, b], [a, c, a], [b, a, 1]])
    assert np.allclose(ref.unet_weight_map(lab), want, rtol=1e-14, atol=0)
    wpix = np.array([[L, L, L], [L, l2, L], [L, L, K]])
    close(ref.shape_aware_loss(lab, p), float(np.sum(want * wpix)) / 9)


def hand_checks_1x5(lab, p):
    """
    labels = [[3, 0, 0, 7, 7]] (int32), p = [[.875, .25, .5, .625, 1]]
    Weight map: two distinct values -> auto = labels (components give the same two).
      balanced: n_fg = 3, n_bg = 2 -> w_fg = 2/3, w_bg = 1.
      (0,1): d to 3 = 1, to 7 = 2 -> (1+2)^2 = 9; (0,2): 2 and 1 -> 9.
      w = [2/3, 1 + 10 e^{-9/50}, 1 + 10 e^{-9/50}, 2/3, 2/3]
      class_weights=[1,5]: [5, 1 + 10 e^{-.18}, 1 + 10 e^{-.18}, 5, 5]
      sigma=3, w0=5: border 5 e^{-9/18} = 5 e^{-.5}
    Metrics: P = [1,0,1,1,1]: TP 3, FP 1, FN 0, TN 1
      dice 6/7, iou 3/4, precision 3/4, recall 1, specificity 1/2, accuracy 4/5
    Surface (one-row image: every foreground pixel is a boundary pixel):
      A = {0,2,3,4}, B = {0,3,4}: d(A->B) = [0,1,0,0], d(B->A) = [0,0,0]
      hausdorff 1, assd 1/7, surface_dice 1 (tol 0: 6/7),
      hausdorff95: index .95*3 = 2.85 -> 0 + .85 (1 - 0) = .85
    boundary: EDT counts only image pixels as outside (not the image border):
      phi = [0, 1, 1, 0, -(2-1)] -> phi.p = [0, .25, .5, 0, -1] -> mean -.25/5 = -.05
    hausdorff_dt: (p-y)^2 = [1/64, 1/16, 1/4, 9/64, 0]
      d_y = [1, 1, 1, 1, 2], d_P = [1, 1, 1, 2, 3]; d_P^2 + d_y^2 = [2, 2, 2, 5, 13]
      -> (2/64 + 2/16 + 2/4 + 45/64) / 5 = 1.359375/5 = .271875
    """
    e = math.exp(-9 / 50)
    want = np.array([[2 / 3, 1 + 10 * e, 1 + 10 * e, 2 / 3, 2 / 3]])
    assert np.allclose(ref.unet_weight_map(lab), want, rtol=1e-14, atol=0)
    assert np.allclose(ref.unet_weight_map(lab, instances="components"), want, rtol=1e-14, atol=0)
    want15 = np.array([[5, 1 + 10 * e, 1 + 10 * e, 5, 5]])
    assert np.allclose(ref.unet_weight_map(lab, class_weights=[1, 5]), want15, rtol=1e-14, atol=0)
    want53 = np.array([[2 / 3, 1 + 5 * math.exp(-0.5), 1 + 5 * math.exp(-0.5), 2 / 3, 2 / 3]])
    assert np.allclose(ref.unet_weight_map(lab, w0=5, sigma=3), want53, rtol=1e-14, atol=0)
    for name, v in [("dice", 6 / 7), ("iou", 0.75), ("precision", 0.75), ("recall", 1.0),
                    ("specificity", 0.5), ("accuracy", 0.8), ("hausdorff", 1.0),
                    ("assd", 1 / 7), ("surface_dice", 1.0), ("hausdorff95", 0.85)]:
        close(ref.metric(name, lab, p), v)
    close(ref.metric("surface_dice", lab, p, tolerance=0), 6 / 7)
    close(ref.boundary_loss(lab, p), -0.05)
    close(ref.hausdorff_dt_loss(lab, p), 0.271875)


def hand_checks_edges():
    """
    Undefined and edge cases, by hand:
      both empty (y = 0, p = 0, 2x2): dice/iou/precision/recall null, specificity 4/4 = 1,
        accuracy 1; every surface metric null; zero_division=1 -> 1.
        dice loss = 1 - s/s = 0; generalized_dice: fg absent -> w_fg = w_bg = 1/16,
        num = 2 (1/16)(4) + s = .5 + s, den = (1/16)(4 + 4) + s = .5 + s -> 0.
      full target, p = 1 (2x2): specificity null; surface: A = B -> hausdorff 0, sd 1;
        balanced weights: a class is missing -> 1 everywhere; boundary phi = 0 -> 0.
      target non-empty, prediction empty: precision null, recall 0, dice 0, iou 0;
        hausdorff/hausdorff95/assd null, surface_dice 0.
    """
    z = np.zeros((2, 2), np.int64)
    pz = np.zeros((2, 2))
    for name in ("dice", "iou", "precision", "recall"):
        assert ref.metric(name, z, pz) is None
        assert ref.metric(name, z, pz, zero_division=1) == 1.0
        assert ref.metric(name, z, pz, zero_division=0) == 0.0
    assert ref.metric("specificity", z, pz) == 1.0
    assert ref.metric("accuracy", z, pz) == 1.0
    for name in ("hausdorff", "hausdorff95", "assd", "surface_dice"):
        assert ref.metric(name, z, pz) is None
    assert ref.dice_loss(z, pz) == 0.0
    close(ref.generalized_dice_loss(z, pz), 0.0)
    o = np.ones((2, 2), np.int64)
    po = np.ones((2, 2))
    assert ref.metric("specificity", o, po) is None
    assert ref.metric("hausdorff", o, po) == 0.0 and ref.metric("surface_dice", o, po) == 1.0
    assert np.array_equal(ref.unet_weight_map(o), np.ones((2, 2)))
    assert ref.boundary_loss(o, po) == 0.0
    y = np.array([[1, 0], [0, 0]])
    assert ref.metric("precision", y, pz) is None
    assert ref.metric("recall", y, pz) == 0.0 and ref.metric("dice", y, pz) == 0.0
    for name in ("hausdorff", "hausdorff95", "assd"):
        assert ref.metric(name, y, pz) is None
        assert ref.metric(name, z, np.array([[0.0, 0.9], [0, 0]])) is None
    assert ref.metric("surface_dice", y, pz) == 0.0
    assert ref.metric("surface_dice", z, np.array([[0.0, 0.9], [0, 0]])) == 0.0


# --------------------------------------------------------------------------
# brute-force validation of the EDT-based pieces
# --------------------------------------------------------------------------
def brute_nearest(src_mask, dst_mask, spacing=(1.0, 1.0)):
    """For every pixel, distance to the nearest pixel of dst_mask (inf if none)."""
    h, w = src_mask.shape
    pts = np.argwhere(dst_mask).astype(np.float64)
    out = np.full((h, w), np.inf)
    if len(pts) == 0:
        return out
    for r in range(h):
        for c in range(w):
            d = np.sqrt(((pts[:, 0] - r) * spacing[0]) ** 2 + ((pts[:, 1] - c) * spacing[1]) ** 2)
            out[r, c] = d.min()
    return out


def brute_checks():
    rng = np.random.default_rng(12345)
    for it in range(12):
        h, w = int(rng.integers(3, 14)), int(rng.integers(3, 14))
        lab = (rng.random((h, w)) < 0.3).astype(np.int64)
        p = ref.f32(rng.random((h, w)))
        spacing = [(1, 1), (2, 1), (0.5, 1.5)][it % 3]
        a = ref.boundary_mask(p >= 0.5)
        b = ref.boundary_mask(lab != 0)
        # boundary by definition: a 4-neighbour outside the mask or the image
        for m, bm in ((p >= 0.5, a), (lab != 0, b)):
            for r in range(h):
                for c in range(w):
                    nb = [(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)]
                    out = any(not (0 <= rr < h and 0 <= cc < w) or not m[rr, cc] for rr, cc in nb)
                    assert bm[r, c] == (m[r, c] and out)
        if a.any() and b.any():
            dab = brute_nearest(a, b, spacing)[a]
            dba = brute_nearest(b, a, spacing)[b]
            close(ref.metric("hausdorff", lab, p, spacing=spacing), max(dab.max(), dba.max()))
            close(ref.metric("assd", lab, p, spacing=spacing),
                  (dab.sum() + dba.sum()) / (dab.size + dba.size))
            for tol in (0, 1, 1.5, 2):
                sd = (np.sum(dab <= tol + 1e-12) + np.sum(dba <= tol + 1e-12)) / (dab.size + dba.size)
                close(ref.metric("surface_dice", lab, p, spacing=spacing, tolerance=tol), sd)
        # phi of the boundary loss
        g = lab != 0
        if g.any() and not g.all():
            phi = np.where(g, -(brute_nearest(g, ~g) - 1), brute_nearest(~g, g))
            assert np.allclose(ref.boundary_phi(lab), phi, rtol=0, atol=1e-12)
    # weight map: d1, d2 by brute force over instances
    for it in range(6):
        h, w = int(rng.integers(5, 16)), int(rng.integers(5, 16))
        inst = rng.integers(0, 5, (h, w)) * (rng.random((h, w)) < 0.4)
        if len(np.unique(inst[inst != 0])) < 2:
            continue
        ids = np.unique(inst[inst != 0])
        dd = np.sort(np.stack([brute_nearest(inst != 0, inst == k) for k in ids]), axis=0)
        y = inst != 0
        m = min(y.sum(), (~y).sum())
        wc = np.where(y, m / y.sum(), m / (~y).sum())
        want = wc + np.where(~y, 10 * np.exp(-((dd[0] + dd[1]) ** 2) / 50.0), 0)
        assert np.allclose(ref.unet_weight_map(inst, instances="labels"), want, rtol=1e-13, atol=0)


def rounding_checks():
    """float32(v / (2^b - 1)) computed via float64 is the correctly rounded float32."""
    for bits in (8, 16):
        d = (1 << bits) - 1
        v = np.arange(d + 1)
        f = (v / d).astype(np.float32)
        up = np.nextafter(f, np.float32(2))
        dn = np.nextafter(f, np.float32(-1))
        for i in range(0, d + 1, 1 if bits == 8 else 7):
            x = Fraction(int(v[i]), d)
            e0 = abs(Fraction(float(f[i])) - x)
            assert e0 <= abs(Fraction(float(up[i])) - x) and e0 <= abs(Fraction(float(dn[i])) - x)


# --------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------
def build_cases():
    cases = []

    def add(c):
        cases.append(c)
        return c

    # ---- hand cases ----
    c = add(Case("hand_2x2", "hand-computed 2x2; 8-bit 0/255 target PNG, float32 .npy p with 0.5, 1, 0"))
    c.target_png(np.array([[255, 0], [255, 0]]), pw.GREY, 8)
    c.pred_npy(np.array([[0.5, 0.5], [1.0, 0.0]], np.float32))
    hand_checks_2x2(c.labels, c.p)

    c = add(Case("hand_3x3", "hand-computed 3x3; two diagonal single-pixel instances; uint8 .npy target"))
    c.target_npy(np.array([[1, 0, 0], [0, 0, 0], [0, 0, 1]], np.uint8))
    c.pred_npy(np.array([[1, 0, 0], [0, 0.5, 0], [0, 0, 0]], np.float32))
    c.wmap_keys += ["connectivity=4", "w0=5,sigma=3"]
    hand_checks_3x3(c.labels, c.p)

    c = add(Case("hand_1x5", "hand-computed 1x5 strip; int32 labels 3 and 7 (auto = labels)"))
    c.target_npy(np.array([[3, 0, 0, 7, 7]], np.int32))
    c.pred_npy(np.array([[0.875, 0.25, 0.5, 0.625, 1.0]], np.float32))
    c.wmap_keys += ["class_weights=[1,5]", "w0=5,sigma=3"]
    hand_checks_1x5(c.labels, c.p)

    # ---- PNG targets ----
    c = add(Case("blobs_soft8", "8-bit 0/255 target PNG, blobs; 8-bit grey prediction PNG"))
    y = blobs(c.rng, 64, 64, 6, 3, 10)
    c.target_png(np.where(y, 255, 0), pw.GREY, 8)
    c.pred_png(quant(soft_pred(c.rng, y), 8), 8)
    c.wmap_keys += ["w0=5,sigma=3,class_weights=none,instances=components,connectivity=4"]

    c = add(Case("bin01_nonsquare", "8-bit 0/1 target PNG, 48x80, blobs touching the border; 16-bit prediction PNG"))
    y = blobs(c.rng, 48, 80, 7, 3, 9, margin=-3)
    c.target_png(y.astype(np.int64), pw.GREY, 8)
    c.pred_png(quant(soft_pred(c.rng, y, shift=(2, 1), noise=0.12), 16), 16)
    c.wmap_keys += ["class_weights=[1,5]"]

    c = add(Case("bit1_target", "1-bit grey target PNG, 61x93 (rows end mid-byte), blobs and single pixels; float32 .npy p"))
    y = blobs(c.rng, 61, 93, 5, 2, 8)
    for _ in range(6):
        y[c.rng.integers(0, 61), c.rng.integers(0, 93)] = True
    c.target_png(y.astype(np.int64), pw.GREY, 1)
    c.pred_npy(soft_pred(c.rng, y, noise=0.1).astype(np.float32))

    c = add(Case("bit2_labels", "2-bit grey target PNG, values 0..3 as touching regions (auto = labels), 40x57; float64 .npy p (rounded to float32; some 0.5-1e-9 values round to exactly 0.5)"))
    h, w = 40, 57
    lab = np.zeros((h, w), np.int64)
    lab[5:20, 3:20] = 1
    lab[5:20, 20:35] = 2          # touches region 1
    lab[20:30, 10:30] = 3         # touches 1 and 2
    lab[30:38, 40:55] = 1         # a second, separate region with value 1
    lab |= 0
    c.target_png(lab, pw.GREY, 2)
    p = soft_pred(c.rng, lab != 0, noise=0.1)
    p[0, :5] = 0.5 - 1e-9          # float32 rounds these up to 0.5 exactly
    p[1, :5] = 0.5 + 1e-9
    p[2, :3] = [0.25 - 1e-10, 0.75 + 1e-10, 1.0 - 1e-12]
    c.pred_npy(p.astype(np.float64))
    c.wmap_keys += ["instances=components"]

    c = add(Case("bit4_labels", "4-bit grey target PNG, 15 Voronoi labels touching / with gaps, 50x71; big-endian float32 .npy p"))
    lab = voronoi(c.rng, 50, 71, 15, gap_prob=0.4, drop_prob=0.1)
    c.target_png(lab, pw.GREY, 4)
    c.pred_npy(soft_pred(c.rng, lab != 0, noise=0.1).astype(">f4"))

    c = add(Case("inst16_touching", "16-bit instance-label target PNG, touching Voronoi cells, labels > 255 (some equal mod 256); 8-bit prediction PNG"))
    lab = voronoi(c.rng, 96, 96, 24, gap_prob=0.35, drop_prob=0.08)
    values = [1, 257, 513, 300, 65535, 1000, 2, 258, 40000, 12345, 7, 263, 999, 4096,
              5000, 6000, 777, 778, 60000, 31, 32, 33, 34, 35]
    lab16 = np.zeros_like(lab)
    for k in range(1, 25):
        lab16[lab == k] = values[k - 1]
    c.target_png(lab16, pw.GREY, 16)
    c.pred_png(quant(soft_pred(c.rng, lab != 0, noise=0.08), 8), 8)
    c.wmap_keys += ["instances=components", "instances=components,connectivity=4",
                    "class_weights=[1,5]", "instances=labels"]

    c = add(Case("palette_target", "4-bit palette target PNG (index 0 black, other entries distinct non-black colours), touching instances; Fortran-order float64 .npy p"))
    lab = voronoi(c.rng, 60, 64, 6, gap_prob=0.3, drop_prob=0.0)
    pal = [(0, 0, 0), (255, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0), (200, 200, 200), (17, 34, 51)]
    c.target_png(lab, pw.PALETTE, 4, palette=pal)
    c.pred_npy(np.asfortranarray(soft_pred(c.rng, lab != 0, noise=0.1)))
    c.wmap_keys += ["instances=components"]

    c = add(Case("rgb_instances", "RGB target PNG, touching colour instances incl. (0,0,1), (0,1,0), (1,0,0); label = 0xRRGGBB; float32 .npy p"))
    lab = voronoi(c.rng, 64, 80, 8, gap_prob=0.3, drop_prob=0.0)
    cols = [(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0), (255, 255, 255), (128, 0, 0), (0, 128, 0),
            (0, 0, 128), (12, 200, 99)]
    rgb = np.array(cols)[lab]
    c.target_png(rgb, pw.RGB, 8)
    c.pred_npy(soft_pred(c.rng, lab != 0, noise=0.1).astype(np.float32))
    c.wmap_keys += ["instances=components"]

    c = add(Case("rgba_target", "RGBA target PNG, one colour, alpha random and uncorrelated (alpha ignored); 1-bit prediction PNG"))
    y = blobs(c.rng, 56, 56, 5, 3, 9)
    rgba = np.zeros((56, 56, 4), np.int64)
    rgba[y] = (200, 30, 0, 0)
    rgba[:, :, 3] = c.rng.integers(0, 256, (56, 56))
    c.target_png(rgba, pw.RGBA, 8)
    c.pred_png((soft_pred(c.rng, y, noise=0.1) >= 0.5).astype(np.int64), 1)

    c = add(Case("grey_alpha_target", "grey+alpha target PNG (grey 0/200, alpha random, ignored), 64x48 tall; 8-bit prediction PNG"))
    y = blobs(c.rng, 64, 48, 5, 3, 9)
    ga = np.zeros((64, 48, 2), np.int64)
    ga[:, :, 0] = np.where(y, 200, 0)
    ga[:, :, 1] = c.rng.integers(0, 256, (64, 48))
    c.target_png(ga, pw.GREY_ALPHA, 8)
    c.pred_png(quant(soft_pred(c.rng, y, noise=0.1), 8), 8)

    c = add(Case("interlaced_target", "Adam7-interlaced 8-bit grey target PNG, 45x61, three label values (auto = labels); 16-bit prediction PNG"))
    lab = np.zeros((45, 61), np.int64)
    lab[blobs(c.rng, 45, 61, 3, 3, 8)] = 50
    lab[blobs(c.rng, 45, 61, 3, 3, 8)] = 100
    lab[blobs(c.rng, 45, 61, 2, 3, 8)] = 255
    c.target_png(lab, pw.GREY, 8, interlace=True)
    c.pred_png(quant(soft_pred(c.rng, lab != 0, noise=0.1), 16), 16)

    # ---- .npy targets ----
    c = add(Case("npy_bool", "bool .npy target, blobs; float32 .npy p"))
    y = blobs(c.rng, 64, 64, 5, 3, 10)
    c.target_npy(y)
    c.pred_npy(soft_pred(c.rng, y).astype(np.float32))

    c = add(Case("npy_uint8_labels", "uint8 .npy instance labels, touching cells; Fortran-order float32 .npy p"))
    lab = voronoi(c.rng, 48, 64, 10, gap_prob=0.5, drop_prob=0.1)
    c.target_npy((lab * 20).astype(np.uint8))
    c.pred_npy(np.asfortranarray(soft_pred(c.rng, lab != 0).astype(np.float32)))

    c = add(Case("npy_u16be", "big-endian uint16 .npy labels (> 255, some equal mod 256); big-endian float32 .npy p"))
    lab = voronoi(c.rng, 50, 50, 8, gap_prob=0.4, drop_prob=0.0)
    vals = np.array([0, 1, 257, 513, 65535, 256, 512, 3, 769])
    c.target_npy(vals[lab].astype(">u2"))
    c.pred_npy(soft_pred(c.rng, lab != 0).astype(">f4"))

    c = add(Case("npy_int32", "int32 .npy labels incl. a negative label; float64 .npy p"))
    lab = voronoi(c.rng, 40, 60, 7, gap_prob=0.4, drop_prob=0.0)
    vals = np.array([0, 5, -5, 2147483647, -2147483648, 6, 1, 100000])
    c.target_npy(vals[lab].astype(np.int32))
    c.pred_npy(soft_pred(c.rng, lab != 0))

    c = add(Case("npy_int64", "int64 .npy labels incl. values > 2^32 (2^33+7 vs 7: equal in the low 32 bits); float32 .npy p"))
    lab = voronoi(c.rng, 40, 60, 7, gap_prob=0.3, drop_prob=0.0)
    vals = np.array([0, 7, (1 << 33) + 7, 1 << 40, (1 << 62) + 1, 1, 2, 3])
    c.target_npy(vals[lab].astype(np.int64))
    c.pred_npy(soft_pred(c.rng, lab != 0).astype(np.float32))

    c = add(Case("npy_fortran_target", "Fortran-order uint8 .npy target, 40x72 non-square; Fortran-order float32 .npy p"))
    y = blobs(c.rng, 40, 72, 5, 3, 9, margin=-2)
    y[:, :3] |= np.arange(40)[:, None] < 25  # asymmetric stripe on the left border
    c.target_npy(np.asfortranarray(y.astype(np.uint8)))
    c.pred_npy(np.asfortranarray(soft_pred(c.rng, y).astype(np.float32)))

    c = add(Case("npy_1hw", "uint8 .npy target of shape (1, H, W) = (1, 36, 52); float32 (H, W) p"))
    y = blobs(c.rng, 36, 52, 4, 3, 8)
    c.target_npy(y.astype(np.uint8)[None])
    c.pred_npy(soft_pred(c.rng, y).astype(np.float32))

    c = add(Case("npy_hw1", "uint8 .npy target of shape (H, W, 1) = (52, 36, 1), values 0/255; float32 (H, W) p"))
    y = blobs(c.rng, 52, 36, 4, 3, 8)
    c.target_npy((y.astype(np.uint8) * 255)[:, :, None])
    c.pred_npy(soft_pred(c.rng, y).astype(np.float32))

    c = add(Case("npy_v2header", "uint16 .npy target written with a version 2.0 header; float32 .npy p"))
    lab = voronoi(c.rng, 44, 44, 6, gap_prob=0.5, drop_prob=0.0)
    c.target_npy(lab.astype(np.uint16), version=(2, 0))
    c.pred_npy(soft_pred(c.rng, lab != 0).astype(np.float32))

    # ---- logits ----
    c = add(Case("logits", "float32 .npy logits (logits: true): exact 0 (sigmoid 0.5 = threshold), +-30, +-200, +-1000 (p rounds to 0 / 1); 8-bit target PNG"))
    y = blobs(c.rng, 48, 64, 5, 3, 10)
    x = (np.where(y, 1.0, -1.0) * c.rng.uniform(0.2, 6.0, y.shape)
         + 1.5 * c.rng.standard_normal(y.shape))
    x[0, :8] = [0, 30, -30, 200, -200, 1000, -1000, 16.5]
    x[1, :4] = [0, 0, -0.0, 88.7]
    x[2, :4] = [-17.0, -103.0, -104.0, 40.0]
    c.target_png(np.where(y, 255, 0), pw.GREY, 8)
    c.pred_npy(x.astype(np.float32), logits=True)

    # ---- edge cases ----
    c = add(Case("empty_target", "empty 8-bit target; soft prediction with some p >= 0.5 (recall/dice/iou null, hausdorff null, surface_dice 0)"))
    c.target_png(np.zeros((32, 40), np.int64), pw.GREY, 8)
    c.pred_png(quant(soft_pred(c.rng, np.zeros((32, 40), bool), n_fp=2, noise=0.05), 8), 8)

    c = add(Case("full_target", "full 1-bit target; soft prediction with some p < 0.5 (specificity null; phi = 0; balanced weights 1)"))
    c.target_png(np.ones((40, 32), np.int64), pw.GREY, 1)
    yfull = np.ones((40, 32), bool)
    yfull[10:18, 5:15] = False  # the prediction misses a patch
    c.pred_npy(soft_pred(c.rng, yfull, shift=(0, 0), n_fp=0).astype(np.float32))

    c = add(Case("full_perfect", "full bool target and an all-ones 1-bit prediction PNG (specificity null, surface metrics 0 / 1)"))
    c.target_npy(np.ones((24, 30), bool))
    c.pred_png(np.ones((24, 30), np.int64), 1)

    c = add(Case("empty_pred", "blobs target, all-zero 8-bit prediction PNG (precision null, hausdorff null, surface_dice 0)"))
    y = blobs(c.rng, 48, 48, 4, 3, 9)
    c.target_png(np.where(y, 255, 0), pw.GREY, 8)
    c.pred_png(np.zeros((48, 48), np.int64), 8)

    c = add(Case("both_empty", "empty uint8 target and all-zero float32 prediction (every 0/0 metric and every surface metric null)"))
    c.target_npy(np.zeros((32, 32), np.uint8))
    c.pred_npy(np.zeros((32, 32), np.float32))

    c = add(Case("both_empty_soft", "empty 8-bit target, soft prediction all below 0.5 (hard masks both empty, soft losses non-trivial)"))
    c.target_png(np.zeros((30, 44), np.int64), pw.GREY, 8)
    pp = soft_pred(c.rng, np.zeros((30, 44), bool), n_fp=3, lo=0.0, hi=0.45, noise=0.02)
    c.pred_npy(np.minimum(pp, 0.45).astype(np.float32))

    c = add(Case("perfect", "perfect prediction p = y (1-bit prediction PNG) on an 8-bit 0/255 blobs target"))
    y = blobs(c.rng, 64, 64, 6, 3, 10)
    c.target_png(np.where(y, 255, 0), pw.GREY, 8)
    c.pred_png(y.astype(np.int64), 1)

    c = add(Case("at_threshold", "p in {0, .25, .5, .75, 1} exactly: ties with thresholds .5, .25, .75 (p >= t)"))
    y = blobs(c.rng, 48, 48, 5, 3, 9)
    c.target_png(np.where(y, 255, 0), pw.GREY, 8)
    q = np.rint(soft_pred(c.rng, y, noise=0.15) * 4) / 4
    c.pred_npy(q.astype(np.float32))

    c = add(Case("single_instance", "exactly one instance (border term absent): one ellipse, 8-bit target PNG; 16-bit prediction PNG"))
    y = ellipse(48, 56, 22.3, 30.1, 12, 7, 0.6)
    c.target_png(np.where(y, 255, 0), pw.GREY, 8)
    c.pred_png(quant(soft_pred(c.rng, y, n_fp=1), 16), 16)
    c.wmap_keys += ["instances=labels", "class_weights=[0.5,2]", "class_weights=none"]

    c = add(Case("thin_lines", "one-pixel lines: horizontal, vertical, an 8-connected diagonal (30 pieces under 4-connectivity), a 4-connected staircase, lines on the image border; 8-bit target PNG"))
    y = np.zeros((64, 64), bool)
    y[10, 5:50] = True
    y[12:60, 40] = True
    for i in range(30):
        y[20 + i, 5 + i] = True          # diagonal: 30 pieces under connectivity 4
    for i in range(20):                  # 4-connected staircase going up-right
        y[58 - i, 8 + i] = True
        y[58 - i, 9 + i] = True
    y[0, :] = True                       # along the top border
    y[30:63, 60] = True
    y[63, 20:30] = True
    c.target_png(np.where(y, 255, 0), pw.GREY, 8)
    c.pred_png(quant(soft_pred(c.rng, y, shift=(0, 1), blur=0.8, noise=0.1, n_fp=1), 8), 8)
    c.wmap_keys += ["connectivity=4", "instances=labels"]

    c = add(Case("single_pixels", "isolated single-pixel objects incl. the four corners; uint8 .npy target; float32 p"))
    y = np.zeros((32, 32), bool)
    for r, cc in [(0, 0), (0, 31), (31, 0), (31, 31), (5, 7), (5, 9), (16, 16), (17, 17), (25, 3), (9, 28)]:
        y[r, cc] = True
    c.target_npy(y.astype(np.uint8))
    c.pred_npy(soft_pred(c.rng, y, shift=(0, 0), blur=0.7, noise=0.05, n_fp=1, hi=1.0).astype(np.float32))
    c.wmap_keys += ["connectivity=4", "sigma=2"]

    c = add(Case("border_objects", "objects touching and crossing the image border, 48x80; 8-bit target; 8-bit p"))
    y = np.zeros((48, 80), bool)
    y |= ellipse(48, 80, 0, 20, 8, 12)
    y |= ellipse(48, 80, 47, 60, 10, 6)
    y |= ellipse(48, 80, 24, 0, 6, 9)
    y |= ellipse(48, 80, 24, 79, 14, 5)
    y |= ellipse(48, 80, 0, 79, 5, 5)
    y[20:30, 30:45] = True
    c.target_png(np.where(y, 255, 0), pw.GREY, 8)
    c.pred_png(quant(soft_pred(c.rng, y, shift=(1, 2)), 8), 8)

    c = add(Case("clip_extremes", "p with exact 0 and 1, incl. confident wrong pixels (-ln(eps) terms): eps variants matter"))
    y = blobs(c.rng, 40, 40, 4, 3, 9)
    p = soft_pred(c.rng, y, noise=0.1)
    p[p > 0.8] = 1.0
    p[p < 0.2] = 0.0
    wrong = c.rng.random(y.shape) < 0.03
    p[wrong] = np.where(y[wrong], 0.0, 1.0)
    c.target_png(np.where(y, 255, 0), pw.GREY, 8)
    c.pred_npy(p.astype(np.float32))

    c = add(Case("strip_1x37", "a 1x37 image (one row): boundary and EDT degenerate geometry; 8-bit target; float32 p"))
    y = np.zeros((1, 37), bool)
    y[0, 3:9] = y[0, 15:16] = y[0, 20:33] = True
    y[0, 36] = True
    lab = np.where(y, 255, 0)
    c.target_png(lab, pw.GREY, 8)
    p = np.clip(np.where(np.roll(y, 1), 0.8, 0.1) + 0.05 * c.rng.standard_normal(y.shape), 0, 1)
    c.pred_npy(p.astype(np.float32))

    c = add(Case("blobs_128", "128x128 blobs, 8-bit target PNG; 16-bit prediction PNG"))
    y = blobs(c.rng, 128, 128, 12, 4, 18)
    c.target_png(np.where(y, 255, 0), pw.GREY, 8)
    c.pred_png(quant(soft_pred(c.rng, y, shift=(3, -2), blur=2.0, noise=0.1, n_fp=4), 16), 16)

    c = add(Case("many_touching_256", "256x256 16-bit instance labels, ~150 Voronoi cells touching or separated by 1-2 px gaps (U-Net weight map stress); 8-bit p"))
    lab = voronoi(c.rng, 256, 256, 150, gap_prob=0.6, drop_prob=0.1)
    c.target_png(lab * 3 + 1000 * (lab > 0), pw.GREY, 16)
    c.pred_png(quant(soft_pred(c.rng, lab != 0, blur=1.0, noise=0.1, n_fp=5), 8), 8)
    c.wmap_keys += ["instances=components"]

    return cases


def clean_fixture_dirs():
    """Remove generated case directories (only those holding generated files)."""
    if not os.path.isdir(FIX):
        os.makedirs(FIX)
        return
    gen = re.compile(r"^(target\.(png|npy)|prediction\.(png|npy)|wmap[A-Za-z0-9_]*\.npy)$")
    for d in sorted(os.listdir(FIX)):
        full = os.path.join(FIX, d)
        if os.path.isdir(full) and all(gen.match(f) for f in os.listdir(full)):
            shutil.rmtree(full)


def main():
    hand_checks_edges()
    brute_checks()
    rounding_checks()
    clean_fixture_dirs()
    cases = build_cases()
    out = []
    for c in cases:
        out.append(c.expected())
    doc = {"generator": "tests/ref/gen_fixtures.py", "cases": out}
    with open(os.path.join(FIX, "cases.json"), "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")
    # summary
    total = 0
    for dirpath, _, files in os.walk(FIX):
        for fn in files:
            total += os.path.getsize(os.path.join(dirpath, fn))
    print(f"{len(out)} cases, {sum(len(c['losses']) for c in out)} loss values, "
          f"{sum(len(c['metrics']) for c in out)} metric values, "
          f"{sum(len(c['weight_maps']) for c in out)} weight maps; fixtures {total / 1e6:.2f} MB")
    for c, case in zip(out, cases):
        h, w = case.labels.shape
        nulls = len(c["warnings_expected"])
        print(f"  {c['name']:<20} {h:>3}x{w:<3} nulls={nulls:<3} wmaps={len(c['weight_maps'])}  {case.covers}")


if __name__ == "__main__":
    main()
