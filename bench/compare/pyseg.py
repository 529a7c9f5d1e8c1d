"""
pyseg.py -- the Python side of `make bench-compare`: every segloss loss,
metric and map written the way a NumPy/SciPy user writes them.

The formulas are those of docs/losses.md (and of the independent
reference, tests/ref/reference.py); the code is plain vectorised NumPy in
float64 plus scipy.ndimage, with no attempt at cleverness beyond what a
user would do:

- per-pixel losses: whole-array NumPy expressions;
- distance losses: scipy.ndimage.distance_transform_edt;
- the U-Net weight map: the per-instance code users copy (label the
  instances, one full distance_transform_edt per instance, sort the K
  distances per pixel, take the two smallest); when the K x H x W stack
  would not fit in STACK_LIMIT bytes (K = 1,000 at 1024^2 would need
  8 GB), the two smallest are kept while looping instead -- the same K
  transforms, less memory;
- surface metrics the medpy way: borders by erosion XOR, one EDT per
  border, distances read at the other border, np.percentile.  (medpy's
  own hd95 pools both directions into one percentile; segloss, like
  MONAI, takes the larger of the two directed percentiles, and so does
  this code, so the numbers can be compared.  The work is the same.)

Each function takes a Case: lab (the raw target: 0/1 mask or instance
labels), y (float64 0/1), yb (bool) and p (float64 probabilities, already
rounded to float32 once, as segloss holds them).
"""
import math

import numpy as np
from scipy import ndimage

EPS = 1e-7
STACK_LIMIT = 2 << 30  # bytes of a K x H x W float64 distance stack


class Case:
    """One target and prediction, converted once (not timed)."""

    def __init__(self, lab, p):
        self.lab = np.asarray(lab)
        self.yb = self.lab != 0
        self.y = self.yb.astype(np.float64)
        self.p = None if p is None else np.asarray(p, dtype=np.float64)


def load_prediction_png(path):
    """An 8-bit grey PNG as probabilities v/255, rounded to float32 once (as segloss)."""
    from PIL import Image

    with Image.open(path) as im:
        v = np.asarray(im)
    return (v.astype(np.float32) / np.float32(255.0)).astype(np.float64)


def load_prediction(path):
    if str(path).endswith(".npy"):
        return np.load(path).astype(np.float32).astype(np.float64)
    return load_prediction_png(path)


# ---------------------------------------------------------------------------
# per-pixel losses
# ---------------------------------------------------------------------------
def _clip(p, eps=EPS):
    return np.clip(p, eps, 1.0 - eps)


def bce(c, eps=EPS):
    ph = _clip(c.p, eps)
    return float(np.mean(-(c.y * np.log(ph) + (1 - c.y) * np.log(1 - ph))))


def weighted_bce(c, beta=1.0, eps=EPS):
    ph = _clip(c.p, eps)
    return float(np.mean(-(beta * c.y * np.log(ph) + (1 - c.y) * np.log(1 - ph))))


def balanced_bce(c, eps=EPS):
    ph = _clip(c.p, eps)
    beta = float(np.sum(1 - c.y)) / c.y.size
    return float(np.mean(-(beta * c.y * np.log(ph) + (1 - beta) * (1 - c.y) * np.log(1 - ph))))


def focal(c, alpha=0.25, gamma=2.0, eps=EPS):
    ph = _clip(c.p, eps)
    y = c.y
    pos = alpha * y * (1 - ph) ** gamma * np.log(ph)
    neg = (1 - alpha) * (1 - y) * ph ** gamma * np.log(1 - ph)
    return float(np.mean(-(pos + neg)))


def dice(c, smooth=1e-6, gamma=2.0):
    num = 2 * np.sum(c.p * c.y) + smooth
    den = np.sum(c.p ** gamma) + np.sum(c.y ** gamma) + smooth
    return float(1 - num / den)


def jaccard(c, smooth=1e-6):
    inter = np.sum(c.p * c.y)
    return float(1 - (inter + smooth) / (np.sum(c.p) + np.sum(c.y) - inter + smooth))


def _tversky_index(c, alpha, beta, smooth):
    tp = np.sum(c.p * c.y)
    fp = np.sum(c.p * (1 - c.y))
    fn = np.sum((1 - c.p) * c.y)
    return (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)


def tversky(c, alpha=0.3, beta=0.7, smooth=1e-6):
    return float(1 - _tversky_index(c, alpha, beta, smooth))


def focal_tversky(c, alpha=0.3, beta=0.7, smooth=1e-6, gamma=0.75):
    return float(max(tversky(c, alpha, beta, smooth), 0.0) ** gamma)


def log_cosh_dice(c, smooth=1e-6, gamma=2.0):
    return float(math.log(math.cosh(dice(c, smooth, gamma))))


def sensitivity_specificity(c, w=0.05, smooth=1e-6):
    sq = (c.y - c.p) ** 2
    sens = np.sum(sq * c.y) / (np.sum(c.y) + smooth)
    spec = np.sum(sq * (1 - c.y)) / (np.sum(1 - c.y) + smooth)
    return float(w * sens + (1 - w) * spec)


def combo(c, alpha=0.5, beta=0.5, smooth=1e-6, eps=EPS):
    ph = _clip(c.p, eps)
    y = c.y
    ce = np.mean(-beta * (y * np.log(ph) + (1 - beta) * (1 - y) * np.log(1 - ph)))
    d = (2 * np.sum(c.p * y) + smooth) / (np.sum(c.p) + np.sum(y) + smooth)
    return float(alpha * ce - (1 - alpha) * d)


def exp_log(c, w_dice=0.8, w_cross=0.2, gamma_dice=0.3, gamma_cross=0.3, smooth=1e-6, eps=EPS):
    p, y = c.p, c.y
    n = y.size
    l_dice = 0.0
    for pc, yc in ((1 - p, 1 - y), (p, y)):
        d = (2 * np.sum(pc * yc) + smooth) / (np.sum(pc) + np.sum(yc) + smooth)
        l_dice += max(-math.log(d), 0.0) ** gamma_dice
    l_dice /= 2
    ph = _clip(p, eps)
    n_fg = float(np.sum(y))
    n_bg = n - n_fg
    terms = np.zeros_like(p)
    if n_fg > 0:
        terms = np.where(c.yb, (n / n_fg) ** 0.5 * (-np.log(ph)) ** gamma_cross, terms)
    if n_bg > 0:
        terms = np.where(~c.yb, (n / n_bg) ** 0.5 * (-np.log(1 - ph)) ** gamma_cross, terms)
    return float(w_dice * l_dice + w_cross * np.mean(terms))


def generalized_dice(c, smooth=1e-6):
    p, y = c.p, c.y
    pc = (1 - p, p)
    yc = (1 - y, y)
    sums = [float(np.sum(yc[0])), float(np.sum(yc[1]))]
    w = [1.0 / s ** 2 if s > 0 else None for s in sums]
    finite = [v for v in w if v is not None]
    w = [v if v is not None else max(finite) for v in w]
    num = 2 * sum(w[k] * np.sum(pc[k] * yc[k]) for k in (0, 1)) + smooth
    den = sum(w[k] * np.sum(pc[k] + yc[k]) for k in (0, 1)) + smooth
    return float(1 - num / den)


# ---------------------------------------------------------------------------
# distance losses
# ---------------------------------------------------------------------------
def _dist_map(mask):
    """EDT(M) + EDT(not M); zero when M is empty or full."""
    if not mask.any() or mask.all():
        return np.zeros(mask.shape)
    return ndimage.distance_transform_edt(mask) + ndimage.distance_transform_edt(~mask)


def hausdorff_dt(c, alpha=2.0):
    d_p = _dist_map(c.p >= 0.5)
    d_y = _dist_map(c.yb)
    return float(np.mean((c.p - c.y) ** 2 * (d_p ** alpha + d_y ** alpha)))


def boundary(c):
    g = c.yb
    if not g.any() or g.all():
        return 0.0
    phi = ndimage.distance_transform_edt(~g) * (~g) - (ndimage.distance_transform_edt(g) - 1) * g
    return float(np.mean(phi * c.p))


# ---------------------------------------------------------------------------
# the U-Net weight map, per instance
# ---------------------------------------------------------------------------
def instances(lab):
    """(instance image, ids): the labels when there are several values, else 8-connected components."""
    values = np.unique(lab[lab != 0])
    if len(values) > 1:
        return lab, values
    inst, k = ndimage.label(lab != 0, structure=np.ones((3, 3)))
    return inst, np.arange(1, k + 1)


def unet_weight_map(lab, w0=10.0, sigma=5.0):
    """Ronneberger et al.'s w(x), class weights balanced, the way it is usually copied."""
    fg = lab != 0
    n_fg = int(fg.sum())
    n_bg = fg.size - n_fg
    lo = min(n_fg, n_bg)
    wc = np.where(fg, lo / max(n_fg, 1), lo / max(n_bg, 1)) if lo > 0 else np.ones(fg.shape)
    inst, ids = instances(lab)
    k = len(ids)
    if k < 2:
        return wc
    if k * fg.size * 8 <= STACK_LIMIT:
        distances = np.zeros(fg.shape + (k,))
        for i, label_id in enumerate(ids):
            distances[:, :, i] = ndimage.distance_transform_edt(inst != label_id)
        distances = np.sort(distances, axis=2)
        d1 = distances[:, :, 0]
        d2 = distances[:, :, 1]
    else:
        d1 = np.full(fg.shape, np.inf)
        d2 = np.full(fg.shape, np.inf)
        for label_id in ids:
            di = ndimage.distance_transform_edt(inst != label_id)
            d2 = np.where(di < d1, d1, np.minimum(d2, di))
            d1 = np.minimum(d1, di)
    border = w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma ** 2)) * (~fg)
    return wc + border


def shape_aware(c, eps=EPS):
    w = unet_weight_map(c.lab)
    ph = _clip(c.p, eps)
    return float(np.mean(w * -(c.y * np.log(ph) + (1 - c.y) * np.log(1 - ph))))


# ---------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------
def _confusion(c, threshold=0.5):
    pred = c.p >= threshold
    tp = int(np.sum(pred & c.yb))
    fp = int(np.sum(pred & ~c.yb))
    fn = int(np.sum(~pred & c.yb))
    tn = c.yb.size - tp - fp - fn
    return tp, fp, fn, tn


def _ratio(num, den):
    return None if den == 0 else num / den


def m_dice(c):
    tp, fp, fn, tn = _confusion(c)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def m_iou(c):
    tp, fp, fn, tn = _confusion(c)
    return _ratio(tp, tp + fp + fn)


def m_precision(c):
    tp, fp, fn, tn = _confusion(c)
    return _ratio(tp, tp + fp)


def m_recall(c):
    tp, fp, fn, tn = _confusion(c)
    return _ratio(tp, tp + fn)


def m_specificity(c):
    tp, fp, fn, tn = _confusion(c)
    return _ratio(tn, tn + fp)


def m_accuracy(c):
    tp, fp, fn, tn = _confusion(c)
    return _ratio(tp + tn, tp + fp + fn + tn)


def surface_distances(result, reference):
    """medpy's __surface_distances: borders by erosion XOR, EDT of the reference border, read at ours."""
    footprint = ndimage.generate_binary_structure(result.ndim, 1)
    result_border = result ^ ndimage.binary_erosion(result, structure=footprint, iterations=1)
    reference_border = reference ^ ndimage.binary_erosion(reference, structure=footprint, iterations=1)
    dt = ndimage.distance_transform_edt(~reference_border)
    return dt[result_border]


def _surface(c):
    a = c.p >= 0.5
    if not a.any() or not c.yb.any():
        return None
    return surface_distances(a, c.yb), surface_distances(c.yb, a)


def m_hausdorff(c):
    d = _surface(c)
    return None if d is None else float(max(d[0].max(), d[1].max()))


def m_hausdorff95(c):
    d = _surface(c)
    return None if d is None else float(max(np.percentile(d[0], 95), np.percentile(d[1], 95)))


def m_assd(c):
    d = _surface(c)
    return None if d is None else float((d[0].sum() + d[1].sum()) / (d[0].size + d[1].size))


def m_surface_dice(c, tolerance=1.0):
    d = _surface(c)
    if d is None:  # both empty: undefined; one empty: nothing within tolerance
        return None if not (c.p >= 0.5).any() and not c.yb.any() else 0.0
    return (int(np.sum(d[0] <= tolerance)) + int(np.sum(d[1] <= tolerance))) / (d[0].size + d[1].size)


# segloss spec -> Python function (default parameters on both sides)
LOSSES = {
    "bce": bce,
    "weighted_bce": weighted_bce,
    "balanced_bce": balanced_bce,
    "focal": focal,
    "dice": dice,
    "jaccard": jaccard,
    "tversky": tversky,
    "focal_tversky": focal_tversky,
    "log_cosh_dice": log_cosh_dice,
    "sensitivity_specificity": sensitivity_specificity,
    "combo": combo,
    "exp_log": exp_log,
    "generalized_dice": generalized_dice,
    "hausdorff_dt": hausdorff_dt,
    "boundary": boundary,
    "shape_aware": shape_aware,
}
PER_PIXEL = list(LOSSES)[:13]

METRICS = {
    "dice": m_dice,
    "iou": m_iou,
    "precision": m_precision,
    "recall": m_recall,
    "specificity": m_specificity,
    "accuracy": m_accuracy,
    "hausdorff": m_hausdorff,
    "hausdorff95": m_hausdorff95,
    "assd": m_assd,
    "surface_dice": m_surface_dice,
}


def run_spec(spec, c):
    """spec 'loss:NAME' or 'metric:NAME' (defaults) on case c."""
    kind, name = spec.split(":", 1)
    return (LOSSES if kind == "loss" else METRICS)[name](c)


def edt(mask, want):
    """segloss edt_dist: want 0 -> edt(mask), want 1 -> edt(~mask)."""
    return ndimage.distance_transform_edt(mask if want == 0 else ~mask)
