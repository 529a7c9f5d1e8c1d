"""
reference.py -- independent NumPy/SciPy/scikit-image reference for segloss.

Every function is written directly from the spec formulas, in float64, with
no attempt at speed.  Inputs:

  labels  2-D integer array (the decoded target; foreground where != 0;
          instance labels are the raw values)
  p       2-D float64 array of predictions in [0, 1].  Callers round p to
          float32 first (see load_prediction / f32) because the C code holds
          predictions as float32.

Losses return a Python float.  Hard metrics return a float, or None where
the spec says the result is null (0/0 without zero_division, or an
undefined surface metric).
"""
import math

import numpy as np
from scipy import ndimage
from scipy.special import expit
from skimage import measure

EPS = 1e-7


# --------------------------------------------------------------------------
# input conventions
# --------------------------------------------------------------------------
def f32(a):
    """Round to float32 and back to float64 (the C code stores p as float32)."""
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


def sigmoid_f32(logits):
    """Sigmoid in float64 from the stored values, then rounded to float32."""
    return f32(expit(np.asarray(logits, dtype=np.float64)))


def fg(labels):
    """Binary target y (float64 0/1): foreground where the value is non-zero."""
    return (np.asarray(labels) != 0).astype(np.float64)


def clip(p, eps):
    return np.clip(p, eps, 1.0 - eps)


def edt(mask):
    """EDT(M): distance from x to the nearest pixel outside M (0 outside M)."""
    return ndimage.distance_transform_edt(np.asarray(mask, dtype=bool))


def _mean(a):
    return float(np.mean(a, dtype=np.float64))


# --------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------
def bce(labels, p, eps=EPS):
    y = fg(labels)
    ph = clip(p, eps)
    return _mean(-(y * np.log(ph) + (1 - y) * np.log(1 - ph)))


def weighted_bce(labels, p, beta=1.0, eps=EPS):
    y = fg(labels)
    ph = clip(p, eps)
    return _mean(-(beta * y * np.log(ph) + (1 - y) * np.log(1 - ph)))


def balanced_bce(labels, p, eps=EPS):
    y = fg(labels)
    ph = clip(p, eps)
    beta = float(np.sum(1 - y)) / y.size  # fraction of negative target pixels
    return _mean(-(beta * y * np.log(ph) + (1 - beta) * (1 - y) * np.log(1 - ph)))


def focal(labels, p, alpha=0.25, gamma=2.0, eps=EPS):
    y = fg(labels)
    ph = clip(p, eps)
    pos = alpha * y * (1 - ph) ** gamma * np.log(ph)
    neg = (1 - alpha) * (1 - y) * ph ** gamma * np.log(1 - ph)
    return _mean(-(pos + neg))


def dice_loss(labels, p, smooth=1e-6, gamma=2.0):
    y = fg(labels)
    num = 2 * np.sum(p * y) + smooth
    den = np.sum(p ** gamma) + np.sum(y ** gamma) + smooth
    return float(1 - num / den)


def jaccard_loss(labels, p, smooth=1e-6):
    y = fg(labels)
    inter = np.sum(p * y)
    return float(1 - (inter + smooth) / (np.sum(p) + np.sum(y) - inter + smooth))


def _tversky_index(y, p, alpha, beta, smooth):
    tp = np.sum(p * y)
    fp = np.sum(p * (1 - y))
    fn = np.sum((1 - p) * y)
    return (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)


def tversky_loss(labels, p, alpha=0.3, beta=0.7, smooth=1e-6):
    return float(1 - _tversky_index(fg(labels), p, alpha, beta, smooth))


def focal_tversky_loss(labels, p, alpha=0.3, beta=0.7, smooth=1e-6, gamma=0.75):
    return float(tversky_loss(labels, p, alpha, beta, smooth) ** gamma)


def log_cosh_dice_loss(labels, p, smooth=1e-6, gamma=2.0):
    return float(math.log(math.cosh(dice_loss(labels, p, smooth, gamma))))


def sensitivity_specificity_loss(labels, p, w=0.05, smooth=1e-6):
    y = fg(labels)
    sq = (y - p) ** 2
    sens = np.sum(sq * y) / (np.sum(y) + smooth)
    spec = np.sum(sq * (1 - y)) / (np.sum(1 - y) + smooth)
    return float(w * sens + (1 - w) * spec)


def combo_loss(labels, p, alpha=0.5, beta=0.5, smooth=1e-6, eps=EPS):
    y = fg(labels)
    ph = clip(p, eps)
    # beta multiplies the whole bracket, as the spec writes it
    ce = _mean(-beta * (y * np.log(ph) + (1 - beta) * (1 - y) * np.log(1 - ph)))
    dice = (2 * np.sum(p * y) + smooth) / (np.sum(p) + np.sum(y) + smooth)
    return float(alpha * ce - (1 - alpha) * dice)


def exp_log_loss(labels, p, w_dice=0.8, w_cross=0.2, gamma_dice=0.3,
                 gamma_cross=0.3, smooth=1e-6, eps=EPS):
    y = fg(labels)
    n = y.size
    # classes: background (c = 0) and foreground (c = 1), raw probabilities
    pc = [1 - p, p]
    yc = [1 - y, y]
    l_dice = 0.0
    for c in (0, 1):
        d = (2 * np.sum(pc[c] * yc[c]) + smooth) / (np.sum(pc[c]) + np.sum(yc[c]) + smooth)
        l_dice += (-math.log(d)) ** gamma_dice
    l_dice /= 2
    ph = clip(p, eps)
    n_fg = float(np.sum(y))
    n_bg = float(n - n_fg)
    terms = np.zeros_like(p)
    if n_fg > 0:
        w_fg = (n / n_fg) ** 0.5
        terms = np.where(y == 1, w_fg * (-np.log(ph)) ** gamma_cross, terms)
    if n_bg > 0:
        w_bg = (n / n_bg) ** 0.5
        terms = np.where(y == 0, w_bg * (-np.log(1 - ph)) ** gamma_cross, terms)
    l_cross = _mean(terms)
    return float(w_dice * l_dice + w_cross * l_cross)


def generalized_dice_loss(labels, p, smooth=1e-6):
    y = fg(labels)
    pc = [1 - p, p]
    yc = [1 - y, y]
    sums = [float(np.sum(yc[0])), float(np.sum(yc[1]))]
    w = [1.0 / s ** 2 if s > 0 else None for s in sums]
    # an absent class takes the largest finite weight of the other class(es)
    finite = [v for v in w if v is not None]
    w = [v if v is not None else max(finite) for v in w]
    num = 2 * sum(w[c] * np.sum(pc[c] * yc[c]) for c in (0, 1)) + smooth
    den = sum(w[c] * np.sum(pc[c] + yc[c]) for c in (0, 1)) + smooth
    return float(1 - num / den)


def _dist_map(mask):
    """d_M = EDT(M) + EDT(not M); 0 everywhere when M is empty or full."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any() or mask.all():
        return np.zeros(mask.shape)
    return edt(mask) + edt(~mask)


def hausdorff_dt_loss(labels, p, alpha=2.0):
    y = fg(labels)
    d_p = _dist_map(p >= 0.5)
    d_y = _dist_map(y != 0)
    return _mean((p - y) ** 2 * (d_p ** alpha + d_y ** alpha))


def boundary_phi(labels):
    g = np.asarray(labels) != 0
    if not g.any() or g.all():
        return np.zeros(g.shape)
    return edt(~g) * (~g) - (edt(g) - 1) * g


def boundary_loss(labels, p):
    return _mean(boundary_phi(labels) * p)


def shape_aware_loss(labels, p, w0=10.0, sigma=5.0, class_weights="balanced",
                     instances="auto", connectivity=8, eps=EPS):
    y = fg(labels)
    ph = clip(p, eps)
    w = unet_weight_map(labels, w0, sigma, class_weights, instances, connectivity)
    return _mean(w * -(y * np.log(ph) + (1 - y) * np.log(1 - ph)))


# --------------------------------------------------------------------------
# U-Net weight map
# --------------------------------------------------------------------------
def instance_image(labels, instances="auto", connectivity=8):
    """Returns an int64 image: 0 background, one distinct value per instance."""
    labels = np.asarray(labels)
    values = np.unique(labels[labels != 0])
    if instances == "auto":
        instances = "labels" if len(values) > 1 else "components"
    if instances == "labels":
        return labels.astype(np.int64)
    if instances == "components":
        conn = {8: 2, 4: 1}[int(connectivity)]
        return measure.label(labels != 0, background=0, connectivity=conn).astype(np.int64)
    raise ValueError(instances)


def class_weight_map(labels, class_weights="balanced"):
    y = np.asarray(labels) != 0
    if isinstance(class_weights, str) and class_weights == "none":
        return np.ones(y.shape)
    if isinstance(class_weights, str) and class_weights == "balanced":
        n_fg = int(np.sum(y))
        n_bg = int(y.size - n_fg)
        if n_fg == 0 or n_bg == 0:
            return np.ones(y.shape)
        m = min(n_fg, n_bg)
        return np.where(y, m / n_fg, m / n_bg)
    bg, fgw = class_weights
    return np.where(y, float(fgw), float(bg))


def unet_weight_map(labels, w0=10.0, sigma=5.0, class_weights="balanced",
                    instances="auto", connectivity=8):
    labels = np.asarray(labels)
    w = class_weight_map(labels, class_weights).astype(np.float64)
    inst = instance_image(labels, instances, connectivity)
    ids = np.unique(inst[inst != 0])
    if len(ids) >= 2:
        # one full EDT per instance, sorted per pixel; d1, d2 the two smallest
        dists = np.stack([edt(inst != k) for k in ids])
        dists.sort(axis=0)
        d1, d2 = dists[0], dists[1]
        border = w0 * np.exp(-((d1 + d2) ** 2) / (2.0 * sigma ** 2))
        w = w + np.where(labels == 0, border, 0.0)
    return w


# --------------------------------------------------------------------------
# hard metrics
# --------------------------------------------------------------------------
def confusion(labels, p, threshold=0.5):
    y = np.asarray(labels) != 0
    hp = np.asarray(p) >= threshold
    tp = int(np.sum(hp & y))
    fp = int(np.sum(hp & ~y))
    fn = int(np.sum(~hp & y))
    tn = int(np.sum(~hp & ~y))
    return tp, fp, fn, tn


def _ratio(num, den, zero_division):
    if den == 0:
        return None if zero_division is None else float(zero_division)
    return num / den


def dice_metric(labels, p, threshold=0.5, zero_division=None):
    tp, fp, fn, tn = confusion(labels, p, threshold)
    return _ratio(2 * tp, 2 * tp + fp + fn, zero_division)


def iou_metric(labels, p, threshold=0.5, zero_division=None):
    tp, fp, fn, tn = confusion(labels, p, threshold)
    return _ratio(tp, tp + fp + fn, zero_division)


def precision_metric(labels, p, threshold=0.5, zero_division=None):
    tp, fp, fn, tn = confusion(labels, p, threshold)
    return _ratio(tp, tp + fp, zero_division)


def recall_metric(labels, p, threshold=0.5, zero_division=None):
    tp, fp, fn, tn = confusion(labels, p, threshold)
    return _ratio(tp, tp + fn, zero_division)


def specificity_metric(labels, p, threshold=0.5, zero_division=None):
    tp, fp, fn, tn = confusion(labels, p, threshold)
    return _ratio(tn, tn + fp, zero_division)


def accuracy_metric(labels, p, threshold=0.5, zero_division=None):
    tp, fp, fn, tn = confusion(labels, p, threshold)
    return _ratio(tp + tn, tp + fp + fn + tn, zero_division)


def boundary_mask(mask):
    """Foreground pixels with a 4-neighbour outside the mask (image border = outside)."""
    m = np.asarray(mask, dtype=bool)
    pad = np.pad(m, 1, constant_values=False)
    interior = pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
    return m & ~interior


def surface_distances(labels, p, threshold=0.5, spacing=(1.0, 1.0)):
    """Returns (d(A->B), d(B->A)) as 1-D arrays, or None if a mask is empty
    (then the second item tells which: ('empty', nA, nB))."""
    a = boundary_mask(np.asarray(p) >= threshold)
    b = boundary_mask(np.asarray(labels) != 0)
    if not a.any() or not b.any():
        return None, (int(a.sum()), int(b.sum()))
    sp = [float(s) for s in spacing]
    dist_to_b = ndimage.distance_transform_edt(~b, sampling=sp)
    dist_to_a = ndimage.distance_transform_edt(~a, sampling=sp)
    return (dist_to_b[a], dist_to_a[b]), None


def hausdorff_metric(labels, p, threshold=0.5, spacing=(1.0, 1.0)):
    d, _ = surface_distances(labels, p, threshold, spacing)
    if d is None:
        return None
    return float(max(d[0].max(), d[1].max()))


def hausdorff95_metric(labels, p, threshold=0.5, spacing=(1.0, 1.0), percentile=95.0):
    d, _ = surface_distances(labels, p, threshold, spacing)
    if d is None:
        return None
    return float(max(np.percentile(d[0], percentile), np.percentile(d[1], percentile)))


def assd_metric(labels, p, threshold=0.5, spacing=(1.0, 1.0)):
    d, _ = surface_distances(labels, p, threshold, spacing)
    if d is None:
        return None
    return float((d[0].sum() + d[1].sum()) / (d[0].size + d[1].size))


def surface_dice_metric(labels, p, threshold=0.5, spacing=(1.0, 1.0), tolerance=1.0):
    d, counts = surface_distances(labels, p, threshold, spacing)
    if d is None:
        na, nb = counts
        return None if (na == 0 and nb == 0) else 0.0
    ok = int(np.sum(d[0] <= tolerance)) + int(np.sum(d[1] <= tolerance))
    return ok / (d[0].size + d[1].size)


# --------------------------------------------------------------------------
# tables: name -> (function, ordered default parameters)
# --------------------------------------------------------------------------
_WMAP_DEFAULTS = [("w0", 10.0), ("sigma", 5.0), ("class_weights", "balanced"),
                  ("instances", "auto"), ("connectivity", 8)]

LOSSES = {
    "bce": (bce, [("eps", EPS)]),
    "weighted_bce": (weighted_bce, [("beta", 1.0), ("eps", EPS)]),
    "balanced_bce": (balanced_bce, [("eps", EPS)]),
    "focal": (focal, [("alpha", 0.25), ("gamma", 2.0), ("eps", EPS)]),
    "dice": (dice_loss, [("smooth", 1e-6), ("gamma", 2.0)]),
    "jaccard": (jaccard_loss, [("smooth", 1e-6)]),
    "tversky": (tversky_loss, [("alpha", 0.3), ("beta", 0.7), ("smooth", 1e-6)]),
    "focal_tversky": (focal_tversky_loss, [("alpha", 0.3), ("beta", 0.7), ("smooth", 1e-6),
                                           ("gamma", 0.75)]),
    "log_cosh_dice": (log_cosh_dice_loss, [("smooth", 1e-6), ("gamma", 2.0)]),
    "sensitivity_specificity": (sensitivity_specificity_loss, [("w", 0.05), ("smooth", 1e-6)]),
    "combo": (combo_loss, [("alpha", 0.5), ("beta", 0.5), ("smooth", 1e-6), ("eps", EPS)]),
    "exp_log": (exp_log_loss, [("w_dice", 0.8), ("w_cross", 0.2), ("gamma_dice", 0.3),
                               ("gamma_cross", 0.3), ("smooth", 1e-6), ("eps", EPS)]),
    "generalized_dice": (generalized_dice_loss, [("smooth", 1e-6)]),
    "hausdorff_dt": (hausdorff_dt_loss, [("alpha", 2.0)]),
    "boundary": (boundary_loss, []),
    "shape_aware": (shape_aware_loss, _WMAP_DEFAULTS + [("eps", EPS)]),
}

_CM = [("threshold", 0.5), ("zero_division", None)]
_SURF = [("threshold", 0.5), ("spacing", (1.0, 1.0))]
METRICS = {
    "dice": (dice_metric, _CM),
    "iou": (iou_metric, _CM),
    "precision": (precision_metric, _CM),
    "recall": (recall_metric, _CM),
    "specificity": (specificity_metric, _CM),
    "accuracy": (accuracy_metric, _CM),
    "hausdorff": (hausdorff_metric, _SURF),
    "hausdorff95": (hausdorff95_metric, _SURF + [("percentile", 95.0)]),
    "assd": (assd_metric, _SURF),
    "surface_dice": (surface_dice_metric, _SURF + [("tolerance", 1.0)]),
}

WEIGHT_MAP_DEFAULTS = _WMAP_DEFAULTS


def _fmt(v):
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_fmt(x) for x in v) + "]"
    v = float(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def spec_key(name, params, order):
    """'name' or 'name:k=v,k=v' with the parameters in the table's order."""
    names = [k for k, _ in order]
    unknown = set(params) - set(names)
    if unknown:
        raise KeyError(f"{name}: unknown parameters {sorted(unknown)}")
    parts = [f"{k}={_fmt(params[k])}" for k in names if k in params]
    if not parts:
        return name
    return name + ":" + ",".join(parts)


def _call(table, name, labels, p, params):
    fn, _ = table[name]
    return fn(labels, p, **params)


def loss(name, labels, p, **params):
    return _call(LOSSES, name, labels, p, params)


def metric(name, labels, p, **params):
    return _call(METRICS, name, labels, p, params)
