"""
multiclass_ref.py -- independent float64 NumPy/SciPy references for segloss's
multi-class requests and for each profile (docs/profiles.md).

Nothing here comes from segloss's C sources.  The `segloss` profile is written
from the design notes (multi-class semantics); every other profile follows the
library file and function named in its docstring, at the version named there:

  monai         Project-MONAI/MONAI 1.5.0
  smp           segmentation_models.pytorch 0.5.0
  torchmetrics  Lightning-AI/torchmetrics 1.9.0
  mmseg         open-mmlab/mmsegmentation 1.2.2
  pytorch       PyTorch aten/src/ATen/native/LossNLL.cpp (checked against torch 1.13)
  keras         keras-team/keras 3.15.1
  medpy         loli/medpy 0.5.2

Conventions of this module
--------------------------
Inputs are gathered in an `Inputs` object (see `prepare`):

  T      (H, W) int64 target as class *indices* 0..C-1, -1 where ignored
  valid  (H, W) bool, T >= 0
  Yhat   (H, W) int64 predicted class index (label map, or argmax over the
         classes of the probabilities / logits, ties -> lowest index)
  P      (C, H, W) float64 probabilities (given, or softmax of the logits in
         float64), None for a label-map prediction
  Z      (C, H, W) float64 logits, None unless the prediction was logits
  C, ids, names, spacing

Per-class metric functions return a list of C values: a float, None (the
library's "undefined": segloss's null, a library that raises), float('nan')
or float('inf') where the library yields those.  Averaging functions take
that list.  Losses return a float, None (null), nan or inf.

Where the library consumes logits but the request carries probabilities,
log-probabilities are ln(clip(p, 1e-7, 1 - 1e-7)) (segloss's rule), and a
per-channel sigmoid output is taken to be clip(p_c) itself.
"""
import math

import numpy as np
from scipy import ndimage
from scipy.special import expit, log_softmax, softmax

EPS = 1e-7
KERAS_EPS = 1e-7          # keras.backend.epsilon()
PROFILES = ("segloss", "monai", "smp", "torchmetrics", "mmseg", "pytorch", "keras", "medpy")
METRIC_NAMES = ("dice", "iou", "precision", "recall", "specificity", "accuracy",
                "hausdorff", "hausdorff95", "assd", "surface_dice")
CONFUSION_METRICS = METRIC_NAMES[:6]
SURFACE_METRICS = METRIC_NAMES[6:]
LOSS_NAMES = ("cross_entropy", "dice", "jaccard", "tversky", "focal_tversky", "focal",
              "generalized_dice", "log_cosh_dice", "lovasz_softmax")
NAN = float("nan")
INF = float("inf")


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------
class Inputs:
    pass


def prepare(target_ids, class_ids, ignore_index=None, labels=None, probs=None,
            logits=None, names=None, spacing=(1.0, 1.0)):
    """target_ids: (H, W) ints holding class ids (and ignore_index);
    class_ids: the C ids in class order; exactly one of labels (H, W ids),
    probs (C, H, W), logits (C, H, W).  Every non-ignored target value and every
    label must be a class id (asserted: segloss refuses anything else)."""
    t = np.asarray(target_ids, dtype=np.int64)
    ids = [int(i) for i in class_ids]
    C = len(ids)
    assert len(set(ids)) == C
    index = {v: k for k, v in enumerate(ids)}
    inp = Inputs()
    inp.C, inp.ids = C, ids
    inp.names = list(names) if names is not None else [str(i) for i in ids]
    inp.spacing = tuple(float(s) for s in spacing)
    T = np.full(t.shape, -1, np.int64)
    for v in np.unique(t):
        v = int(v)
        if ignore_index is not None and v == int(ignore_index):
            continue
        assert v in index, f"target value {v} is not a class id"
        T[t == v] = index[v]
    inp.T = T
    inp.valid = T >= 0
    inp.P = inp.Z = None
    if labels is not None:
        lab = np.asarray(labels, dtype=np.int64)
        Y = np.empty(lab.shape, np.int64)
        for v in np.unique(lab):
            assert int(v) in index, f"predicted label {v} is not a class id"
            Y[lab == v] = index[int(v)]
        inp.Yhat = Y
        inp.kind = "labels"
    elif logits is not None:
        Z = np.asarray(logits, dtype=np.float64)
        assert Z.shape == (C,) + t.shape
        inp.Z = Z
        inp.P = softmax(Z, axis=0)
        inp.Yhat = np.argmax(Z, axis=0).astype(np.int64)   # first maximum
        inp.kind = "logits"
    else:
        P = np.asarray(probs, dtype=np.float64)
        assert P.shape == (C,) + t.shape
        inp.P = P
        inp.Yhat = np.argmax(P, axis=0).astype(np.int64)   # first maximum
        inp.kind = "probabilities"
    return inp


def confusion(inp):
    """M[i][j] = valid pixels of target class i predicted as j (scikit-learn's orientation)."""
    C = inp.C
    t = inp.T[inp.valid]
    y = inp.Yhat[inp.valid]
    return np.bincount(t * C + y, minlength=C * C).reshape(C, C).astype(np.int64)


def counts(M):
    """(tp, fp, fn, tn, support) per class, int arrays, from the confusion matrix."""
    M = np.asarray(M, dtype=np.int64)
    n = int(M.sum())
    tp = np.diag(M).copy()
    fp = M.sum(axis=0) - tp
    fn = M.sum(axis=1) - tp
    tn = n - tp - fp - fn
    return tp, fp, fn, tn, M.sum(axis=1)


def logp(inp):
    """Log-probabilities (C, H, W): exact log-softmax of the logits, or
    ln(clip(p, eps, 1 - eps)) for probabilities."""
    if inp.Z is not None:
        return log_softmax(inp.Z, axis=0)
    return np.log(np.clip(inp.P, EPS, 1.0 - EPS))


def onehot(inp):
    """G (C, H, W) float64 one-hot of the target; all-zero on ignored pixels."""
    G = np.zeros((inp.C,) + inp.T.shape)
    for c in range(inp.C):
        G[c] = inp.T == c
    return G


def _flat_valid(a, inp):
    return a[:, inp.valid]


def include_mask(C, include_background=True, background_index=0):
    inc = [True] * C
    if not include_background and 0 <= background_index < C:
        inc[background_index] = False
    return inc


def _ratio(num, den):
    return None if den == 0 else num / den


def _isnum(v):
    return v is not None and not (isinstance(v, float) and math.isnan(v))


# --------------------------------------------------------------------------
# surface distances (shared geometry; each profile combines them its own way)
# --------------------------------------------------------------------------
def boundary(mask):
    """Foreground pixels with a 4-neighbour outside the mask; the image border
    counts as outside.  Equal to MONAI's / torchmetrics' / medpy's
    `mask ^ binary_erosion(mask)` (cross structure, border_value 0)."""
    m = np.asarray(mask, dtype=bool)
    pad = np.pad(m, 1, constant_values=False)
    interior = pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
    return m & ~interior


def class_surface(inp, c):
    """(d_pred_to_gt, d_gt_to_pred) for class c on masks (Yhat == c) and
    (T == c), ignored pixels 0 in both.  An array is None when the boundary it
    needs on either side is empty; the second item is (n_pred_edge, n_gt_edge)."""
    a = boundary((inp.Yhat == c) & inp.valid)
    b = boundary(inp.T == c)
    na, nb = int(a.sum()), int(b.sum())
    if na == 0 or nb == 0:
        return None, (na, nb)
    sp = list(inp.spacing)
    d_ab = ndimage.distance_transform_edt(~b, sampling=sp)[a]
    d_ba = ndimage.distance_transform_edt(~a, sampling=sp)[b]
    return (d_ab, d_ba), (na, nb)


# ==========================================================================
# profile: segloss (from the multi-class design notes)
# ==========================================================================
def _segloss_cm_values(name, tp, fp, fn, tn, n):
    if name == "dice":
        return 2 * tp, 2 * tp + fp + fn
    if name == "iou":
        return tp, tp + fp + fn
    if name == "precision":
        return tp, tp + fp
    if name == "recall":
        return tp, tp + fn
    if name == "specificity":
        return tn, tn + fp
    if name == "accuracy":
        return tp + tn, n
    raise KeyError(name)


def segloss_confusion_metric(name, inp, M=None, zero_division=None):
    """segloss: per class c one-vs-rest over valid pixels; dice 2TP/(2TP+FP+FN),
    iou TP/(TP+FP+FN), precision TP/(TP+FP), recall TP/(TP+FN), specificity
    TN/(TN+FP), accuracy (TP+TN)/N_valid.  A class absent from both target and
    prediction: None for every metric (even specificity/accuracy), whatever
    zero_division says; any other 0/0: None, or zero_division when given."""
    M = confusion(inp) if M is None else M
    tp, fp, fn, tn, _ = counts(M)
    n = int(M.sum())
    out = []
    for c in range(inp.C):
        if tp[c] + fp[c] + fn[c] == 0:
            out.append(None)
            continue
        num, den = _segloss_cm_values(name, int(tp[c]), int(fp[c]), int(fn[c]), int(tn[c]), n)
        v = _ratio(num, den)
        out.append(float(zero_division) if v is None and zero_division is not None else v)
    return out


def segloss_surface_metric(name, inp, percentile=95.0, tolerance=1.0):
    """segloss: per class on (Yhat == c) and (T == c) with ignored pixels 0 in
    both, segloss's binary definitions: hausdorff = max of the two directed
    maxima; hausdorff95 = max of the two directed `percentile`-th percentiles
    (NumPy linear); assd = (sum d(a,B) + sum d(b,A)) / (|dA| + |dB|);
    surface_dice = share of both boundaries within `tolerance`.  One side
    empty: None (surface_dice 0); both empty: None."""
    out = []
    for c in range(inp.C):
        d, (na, nb) = class_surface(inp, c)
        if d is None:
            out.append(0.0 if (name == "surface_dice" and (na or nb)) else None)
            continue
        out.append(_surface_value(name, d, percentile, tolerance))
    return out


def _surface_value(name, d, percentile=95.0, tolerance=1.0):
    d_ab, d_ba = d
    if name == "hausdorff":
        return float(max(d_ab.max(), d_ba.max()))
    if name == "hausdorff95":
        return float(max(np.percentile(d_ab, percentile), np.percentile(d_ba, percentile)))
    if name == "assd":
        return float((d_ab.sum() + d_ba.sum()) / (d_ab.size + d_ba.size))
    if name == "surface_dice":
        ok = int(np.sum(d_ab <= tolerance)) + int(np.sum(d_ba <= tolerance))
        return ok / (d_ab.size + d_ba.size)
    raise KeyError(name)


def segloss_average(name, values, inp, include, average="macro", M=None, zero_division=None):
    """segloss averaging over included classes.
    macro: mean of the non-null values.
    micro (confusion metrics only): pooled counts over the included classes
      that are not absent from both, then the ratio (accuracy:
      (sum TP + sum TN) / (n * N_valid)).
    weighted: sum support_c v_c / sum support_c over included classes with a
      non-null value.
    A pooled 0/0 gives zero_division when given, else None.
    Surface metrics have no micro/weighted: macro is used.  none -> None.
    No value to average -> None."""
    if average == "none":
        return None
    if name in SURFACE_METRICS or average == "macro":
        vs = [v for v, k in zip(values, include) if k and _isnum(v)]
        return float(np.mean(vs)) if vs else None
    M = confusion(inp) if M is None else M
    tp, fp, fn, tn, sup = counts(M)
    n = int(M.sum())
    if average == "micro":
        sel = [c for c in range(inp.C) if include[c] and tp[c] + fp[c] + fn[c] > 0]
        if not sel:
            return None
        s = lambda a: int(sum(int(a[c]) for c in sel))  # noqa: E731
        if name == "accuracy":
            return _ratio(s(tp) + s(tn), len(sel) * n)
        num, den = _segloss_cm_values(name, s(tp), s(fp), s(fn), s(tn), n)
        v = _ratio(num, den)
        return float(zero_division) if v is None and zero_division is not None else v
    if average == "weighted":
        pairs = [(int(sup[c]), v) for c, v in enumerate(values) if include[c] and _isnum(v)]
        den = sum(w for w, _ in pairs)
        if den == 0:
            return None
        return sum(w * v for w, v in pairs) / den
    raise KeyError(average)


def pixel_accuracy(inp, M=None):
    """sum_c TP_c / N_valid over every class (mmseg aAcc; torchmetrics micro
    accuracy; Keras SparseCategoricalAccuracy); None without valid pixels."""
    M = confusion(inp) if M is None else M
    n = int(M.sum())
    return None if n == 0 else int(np.trace(M)) / n


def _class_weights(C, class_weights):
    return np.ones(C) if class_weights is None else np.asarray(class_weights, dtype=np.float64)


def _wmean(per_class, include, w):
    num = sum(w[c] * per_class[c] for c in range(len(per_class)) if include[c])
    den = sum(w[c] for c in range(len(per_class)) if include[c])
    return float(num / den)


def segloss_cross_entropy(inp, class_weights=None, label_smoothing=0.0):
    """segloss cross_entropy (PyTorch CrossEntropyLoss semantics): l_i =
    (1-e)(-w_y log p_y) + (e/C) sum_c (-w_c log p_c); mean = sum_i l_i /
    sum_i w_{y_i} over valid pixels; no valid pixel -> None.  Logits:
    exact log-softmax; probabilities: ln(clip(p, 1e-7, 1-1e-7))."""
    if not inp.valid.any():
        return None
    w = _class_weights(inp.C, class_weights)
    L = _flat_valid(logp(inp), inp)
    y = inp.T[inp.valid]
    wy = w[y]
    nll = -L[y, np.arange(y.size)]
    total = (1.0 - label_smoothing) * np.sum(wy * nll)
    if label_smoothing:
        total += (label_smoothing / inp.C) * np.sum(-(w[:, None] * L))
    return float(total / np.sum(wy))


def _soft_stats(inp, gamma=1.0):
    """Per class over valid pixels: I = sum P G, SP = sum P^gamma, SG = sum G^gamma,
    FP = sum P(1-G), FN = sum (1-P) G, plus sum P and sum G."""
    P = _flat_valid(inp.P, inp)
    G = _flat_valid(onehot(inp), inp)
    return dict(I=np.sum(P * G, axis=1), SPg=np.sum(P ** gamma, axis=1), SGg=np.sum(G ** gamma, axis=1),
                SP=np.sum(P, axis=1), SG=np.sum(G, axis=1),
                FP=np.sum(P * (1 - G), axis=1), FN=np.sum((1 - P) * G, axis=1))


def segloss_dice_loss(inp, include, class_weights=None, smooth=1e-6, gamma=2.0):
    """segloss dice: d_c = 1 - (2 I_c + s)/(sum P_c^g + sum G_c^g + s), s = 1e-6,
    g = 2; mean over included classes weighted by class_weights (sum w d / sum w)."""
    if not inp.valid.any():
        return None
    s = _soft_stats(inp, gamma)
    d = 1 - (2 * s["I"] + smooth) / (s["SPg"] + s["SGg"] + smooth)
    return _wmean(d, include, _class_weights(inp.C, class_weights))


def segloss_jaccard_loss(inp, include, class_weights=None, smooth=1e-6):
    """segloss jaccard: per class 1 - (I + s)/(sum P + sum G - I + s); mean as dice."""
    if not inp.valid.any():
        return None
    s = _soft_stats(inp)
    d = 1 - (s["I"] + smooth) / (s["SP"] + s["SG"] - s["I"] + smooth)
    return _wmean(d, include, _class_weights(inp.C, class_weights))


def _segloss_tversky_per_class(inp, alpha, beta, smooth):
    s = _soft_stats(inp)
    return 1 - (s["I"] + smooth) / (s["I"] + alpha * s["FP"] + beta * s["FN"] + smooth)


def segloss_tversky_loss(inp, include, class_weights=None, alpha=0.3, beta=0.7, smooth=1e-6):
    """segloss tversky: per class 1 - (I + s)/(I + a FP + b FN + s), FP = sum P(1-G),
    FN = sum (1-P)G, a = 0.3, b = 0.7; mean as dice."""
    if not inp.valid.any():
        return None
    return _wmean(_segloss_tversky_per_class(inp, alpha, beta, smooth), include,
                  _class_weights(inp.C, class_weights))


def segloss_focal_tversky_loss(inp, include, class_weights=None, alpha=0.3, beta=0.7,
                               smooth=1e-6, gamma=0.75):
    """segloss focal_tversky: mean over included classes of (tversky_c)^0.75
    (class weights as dice)."""
    if not inp.valid.any():
        return None
    t = _segloss_tversky_per_class(inp, alpha, beta, smooth) ** gamma
    return _wmean(t, include, _class_weights(inp.C, class_weights))


def segloss_log_cosh_dice_loss(inp, include, class_weights=None):
    """segloss log_cosh_dice: ln cosh(multi-class dice loss)."""
    d = segloss_dice_loss(inp, include, class_weights)
    return None if d is None else math.log(math.cosh(d))


def segloss_focal_loss(inp, class_weights=None, gamma=2.0):
    """segloss focal (softmax form): mean over valid pixels (divided by N_valid,
    not by the weights) of -w_y (1 - p_y)^g log p_y, g = 2; p_y = exp(log p_y)
    with log p as in cross_entropy."""
    if not inp.valid.any():
        return None
    w = _class_weights(inp.C, class_weights)
    L = _flat_valid(logp(inp), inp)
    y = inp.T[inp.valid]
    ly = L[y, np.arange(y.size)]
    return float(np.mean(-w[y] * (1 - np.exp(ly)) ** gamma * ly))


def segloss_generalized_dice_loss(inp, include, smooth=1e-6):
    """segloss generalized_dice (Sudre): over included classes w_c = 1/(sum G_c)^2;
    a class absent from the target takes the largest finite weight (MONAI's rule;
    0 when no included class is present); loss = 1 - (2 sum w I + s)/(sum w (sum P +
    sum G) + s), s = 1e-6."""
    if not inp.valid.any():
        return None
    s = _soft_stats(inp)
    cs = [c for c in range(inp.C) if include[c]]
    sg = s["SG"][cs]
    w = np.array([1.0 / (g * g) if g > 0 else INF for g in sg])
    finite = w[np.isfinite(w)]
    w[~np.isfinite(w)] = finite.max() if finite.size else 0.0
    num = 2 * np.sum(w * s["I"][cs]) + smooth
    den = np.sum(w * (s["SP"][cs] + s["SG"][cs])) + smooth
    return float(1 - num / den)


def lovasz_grad(gt_sorted):
    """bermanmaxim/LovaszSoftmax pytorch/lovasz_losses.py lovasz_grad (Alg. 1)."""
    gts = gt_sorted.sum()
    inter = gts - np.cumsum(gt_sorted)
    union = gts + np.cumsum(1 - gt_sorted)
    jac = 1.0 - inter / union
    if gt_sorted.size > 1:
        jac[1:] = jac[1:] - jac[:-1]
    return jac


def _lovasz_per_class(P, y, C):
    """Per class c present in y: errors |fg - P_c| sorted descending, dot with
    lovasz_grad(fg sorted the same way); None for absent classes.
    (lovasz_softmax_flat, classes='present')."""
    out = []
    for c in range(C):
        fg = (y == c).astype(np.float64)
        if fg.sum() == 0:
            out.append(None)
            continue
        err = np.abs(fg - P[c])
        order = np.argsort(-err, kind="stable")
        out.append(float(np.dot(err[order], lovasz_grad(fg[order]))))
    return out


def segloss_lovasz_softmax_loss(inp, include, class_weights=None):
    """segloss lovasz_softmax (Berman et al. 2018, lovasz_softmax_flat,
    classes='present'): per included class present in the valid target, then the
    (class-weighted) mean over those classes; no present class -> None."""
    if not inp.valid.any():
        return None
    per = _lovasz_per_class(_flat_valid(inp.P, inp), inp.T[inp.valid], inp.C)
    w = _class_weights(inp.C, class_weights)
    cs = [c for c in range(inp.C) if include[c] and per[c] is not None]
    if not cs:
        return None
    return float(sum(w[c] * per[c] for c in cs) / sum(w[c] for c in cs))


# ==========================================================================
# profile: monai (MONAI 1.5.0)
# ==========================================================================
def monai_dice(inp, M=None):
    """MONAI 1.5.0 monai/metrics/meandice.py DiceHelper.compute_channel
    (DiceMetric, ignore_empty=True): empty ground truth -> NaN (even with false
    positives); else 2|y & y^|/(|y| + |y^|)."""
    tp, fp, fn, tn, sup = counts(confusion(inp) if M is None else M)
    return [NAN if sup[c] == 0 else 2 * int(tp[c]) / (2 * int(tp[c]) + int(fp[c]) + int(fn[c]))
            for c in range(inp.C)]


def monai_iou(inp, M=None):
    """MONAI 1.5.0 monai/metrics/meaniou.py compute_iou (ignore_empty=True):
    empty ground truth -> NaN; else I/U."""
    tp, fp, fn, tn, sup = counts(confusion(inp) if M is None else M)
    return [NAN if sup[c] == 0 else int(tp[c]) / (int(tp[c]) + int(fp[c]) + int(fn[c]))
            for c in range(inp.C)]


def _monai_cm_ratio(name, tp, fp, fn, tn):
    """monai/metrics/confusion_matrix.py compute_confusion_matrix_metric:
    numerator/denominator, NaN where the denominator is 0."""
    p, n = tp + fn, fp + tn
    num, den = {"precision": (tp, tp + fp), "recall": (tp, p), "specificity": (tn, n),
                "accuracy": (tp + tn, p + n)}[name]
    return NAN if den == 0 else num / den


def monai_confusion(name, inp, M=None):
    """MONAI 1.5.0 monai/metrics/confusion_matrix.py get_confusion_matrix +
    compute_confusion_matrix_metric, per class ('precision', 'recall'/'sensitivity',
    'specificity', 'accuracy'); NaN where the denominator is 0."""
    tp, fp, fn, tn, _ = counts(confusion(inp) if M is None else M)
    return [_monai_cm_ratio(name, int(tp[c]), int(fp[c]), int(fn[c]), int(tn[c])) for c in range(inp.C)]


def monai_confusion_micro(name, inp, include, M=None):
    """MONAI 1.5.0 ConfusionMatrixMetric.aggregate with the defaults
    compute_sample=False, reduction='mean': do_metric_reduction averages the
    (tp, fp, tn, fn) counts over the included classes (all of them, absent ones
    too) and the metric is computed once from the averaged counts = the pooled
    (micro) ratio."""
    tp, fp, fn, tn, _ = counts(confusion(inp) if M is None else M)
    cs = [c for c in range(inp.C) if include[c]]
    return _monai_cm_ratio(name, *(float(np.mean([int(a[c]) for c in cs])) for a in (tp, fp, fn, tn)))


def monai_surface(name, inp, tolerance=1.0):
    """MONAI 1.5.0 monai/metrics/utils.py get_mask_edges (mask XOR
    binary_erosion, cross structure, border outside) + get_surface_distance
    (EDT with `spacing` as sampling):
      hausdorff    HausdorffDistanceMetric(percentile=None, directed=False):
                   max of the two directed maxima;
      hausdorff95  HausdorffDistanceMetric(percentile=95): torch.quantile
                   (linear) per direction, then the max;
      assd         SurfaceDistanceMetric(symmetric=True): mean of the pooled
                   distances of both directions (default symmetric=False is the
                   directed pred->gt mean);
      surface_dice SurfaceDiceMetric(class_thresholds=[tolerance]).
    Empty sides: get_surface_distance returns +inf for every edge pixel of the
    non-empty side; so one side empty -> hausdorff inf, hausdorff95 NaN
    (torch.quantile of infinities), assd inf, surface_dice 0; both empty -> NaN.
    (MONAI stores distances as float32; this port keeps float64.)"""
    out = []
    for c in range(inp.C):
        d, (na, nb) = class_surface(inp, c)
        if d is None:
            if na == 0 and nb == 0:
                out.append(NAN)
            elif name in ("hausdorff", "assd"):
                out.append(INF)
            elif name == "hausdorff95":
                out.append(NAN)
            else:
                out.append(0.0)
            continue
        out.append(_surface_value(name, d, 95.0, tolerance))
    return out


def monai_mean(values, include):
    """MONAI 1.5.0 monai/metrics/utils.py do_metric_reduction('mean') on one
    image: NaN entries are dropped, inf is kept (the mean becomes inf); no
    non-NaN entry -> 0.0 (t_zero)."""
    vs = [v for v, k in zip(values, include) if k and not math.isnan(v)]
    return float(np.sum(vs) / len(vs)) if vs else 0.0


def _monai_probs(inp, include):
    cs = [c for c in range(inp.C) if include[c]]
    return _flat_valid(inp.P, inp)[cs], _flat_valid(onehot(inp), inp)[cs], cs


def monai_dice_loss(inp, include, class_weights=None, jaccard=False, smooth_nr=1e-5, smooth_dr=1e-5):
    """MONAI 1.5.0 monai/losses/dice.py DiceLoss(softmax=True, to_onehot_y=True,
    squared_pred=False, batch=False, reduction='mean'), via
    monai/losses/utils.py compute_tp_fp_fn: tp = sum PG, fp = sum P - tp,
    fn = sum G - tp; dice: f = 1 - (2tp + 1e-5)/(2tp + fp + fn + 1e-5);
    jaccard=True: f = 1 - (2tp + 1e-5)/(2(tp + fp + fn) + 1e-5).
    `weight` multiplies f per class and the result is the plain mean over the
    included classes (sum w f / n, not / sum w)."""
    if not inp.valid.any():
        return None
    P, G, cs = _monai_probs(inp, include)
    tp = np.sum(P * G, axis=1)
    fp = np.sum(P, axis=1) - tp
    fn = np.sum(G, axis=1) - tp
    if not jaccard:
        fp, fn = 0.5 * fp, 0.5 * fn
    f = 1 - (2 * tp + smooth_nr) / (2 * (tp + fp + fn) + smooth_dr)
    if class_weights is not None:
        f = f * np.asarray(class_weights, dtype=np.float64)[cs]
    return float(np.mean(f))


def monai_tversky_loss(inp, include, alpha=0.5, beta=0.5, smooth_nr=1e-5, smooth_dr=1e-5):
    """MONAI 1.5.0 monai/losses/tversky.py TverskyLoss(softmax=True, alpha=0.5,
    beta=0.5): compute_tp_fp_fn(decoupled=False): fp = sum P(1-G), fn =
    sum (1-P)G; 1 - (tp + 1e-5)/(tp + a fp + b fn + 1e-5); mean over classes."""
    if not inp.valid.any():
        return None
    P, G, _ = _monai_probs(inp, include)
    tp = np.sum(P * G, axis=1)
    fp = np.sum(P * (1 - G), axis=1)
    fn = np.sum((1 - P) * G, axis=1)
    return float(np.mean(1 - (tp + smooth_nr) / (tp + alpha * fp + beta * fn + smooth_dr)))


def monai_generalized_dice_loss(inp, include, smooth_nr=1e-5, smooth_dr=1e-5):
    """MONAI 1.5.0 monai/losses/dice.py GeneralizedDiceLoss(softmax=True,
    w_type='square', batch=False): w = 1/(sum G)^2; infinite weights (class
    absent) -> the largest finite weight of the image (0 if none);
    1 - (2 sum w tp + 1e-5)/(sum w (sum P + sum G) + 1e-5)."""
    if not inp.valid.any():
        return None
    P, G, _ = _monai_probs(inp, include)
    tp = np.sum(P * G, axis=1)
    den = np.sum(P, axis=1) + np.sum(G, axis=1)
    g = np.sum(G, axis=1)
    with np.errstate(divide="ignore"):
        w = 1.0 / (g * g)
    inf = np.isinf(w)
    w[inf] = 0.0
    w = w + inf * w.max()
    return float(1 - (2 * np.sum(tp * w) + smooth_nr) / (np.sum(den * w) + smooth_dr))


def monai_focal_loss(inp, include, class_weights=None, gamma=2.0):
    """MONAI 1.5.0 monai/losses/focal_loss.py FocalLoss(use_softmax=True,
    gamma=2, alpha=None, to_onehot_y=True): softmax_focal_loss: log_softmax over
    the kept channels (include_background=False drops channel 0 *before* the
    softmax), loss = -(1 - p)^g log p * G per element, times `weight` per class,
    then the mean over all (class, pixel) elements: (1/C_kept) mean_i(...).
    Probabilities: log p = ln(clip(p_c / sum_kept p, eps, 1-eps))."""
    if not inp.valid.any():
        return None
    cs = [c for c in range(inp.C) if include[c]]
    if inp.Z is not None:
        L = log_softmax(_flat_valid(inp.Z, inp)[cs], axis=0)
    else:
        P = _flat_valid(inp.P, inp)[cs]
        L = np.log(np.clip(P / P.sum(axis=0, keepdims=True), EPS, 1 - EPS))
    G = _flat_valid(onehot(inp), inp)[cs]
    loss = -(1 - np.exp(L)) ** gamma * L * G
    if class_weights is not None:
        loss = loss * np.asarray(class_weights, dtype=np.float64)[cs][:, None]
    return float(np.mean(loss))


# ==========================================================================
# profile: smp (segmentation_models.pytorch 0.5.0)
# ==========================================================================
def smp_metric(name, inp, M=None, zero_division=1.0):
    """smp 0.5.0 segmentation_models_pytorch/metrics/functional.py get_stats
    (mode='multiclass', ignore_index) + iou_score / f1_score / precision /
    recall / specificity / accuracy with zero_division=1.0: per class tp/(tp+fp+fn),
    2tp/(2tp+fp+fn), tp/(tp+fp), tp/(tp+fn), tn/(tn+fp), (tp+tn)/(tp+fp+fn+tn);
    0/0 -> 1.0 (tn excludes ignored pixels)."""
    tp, fp, fn, tn, _ = counts(confusion(inp) if M is None else M)
    out = []
    for c in range(inp.C):
        a, b, d, e = int(tp[c]), int(fp[c]), int(fn[c]), int(tn[c])
        num, den = {"iou": (a, a + b + d), "dice": (2 * a, 2 * a + b + d), "precision": (a, a + b),
                    "recall": (a, a + d), "specificity": (e, e + b), "accuracy": (a + e, a + b + d + e)}[name]
        out.append(zero_division if den == 0 else num / den)
    return out


def smp_average(name, values, inp, include, average, M=None):
    """smp 0.5.0 metrics/functional.py _compute_metric: macro = plain mean over
    the classes (after zero_division substitution; `classes` restricts them);
    micro = the metric of the summed counts (no zero_division: 0/0 -> NaN);
    weighted = sum (w_c / sum w) v_c with w = class support (smp needs explicit
    class_weights; segloss passes the target pixel counts)."""
    cs = [c for c in range(inp.C) if include[c]]
    if average == "macro":
        return float(np.mean([values[c] for c in cs]))
    tp, fp, fn, tn, sup = counts(confusion(inp) if M is None else M)
    if average == "micro":
        a, b, d, e = (int(sum(int(x[c]) for c in cs)) for x in (tp, fp, fn, tn))
        num, den = {"iou": (a, a + b + d), "dice": (2 * a, 2 * a + b + d), "precision": (a, a + b),
                    "recall": (a, a + d), "specificity": (e, e + b), "accuracy": (a + e, a + b + d + e)}[name]
        return NAN if den == 0 else num / den
    if average == "weighted":
        w = np.array([float(sup[c]) for c in cs])
        if w.sum() == 0:
            return NAN
        return float(np.sum(w / w.sum() * np.array([values[c] for c in cs])))
    return None


def _smp_masked(inp, include):
    """P and one-hot G with ignored pixels zeroed (smp DiceLoss ignore_index: y_pred * mask)."""
    P = _flat_valid(inp.P, inp)
    G = _flat_valid(onehot(inp), inp)
    return P, G


def _smp_tversky_scores(P, G, alpha, beta, smooth=0.0, eps=1e-7):
    """smp 0.5.0 losses/_functional.py soft_tversky_score with dims=(0, 2):
    intersection = (sum P + sum G - ||P - G||_1)/2, fp = sum P - I, fn = sum G - I,
    (I + smooth)/clamp_min(I + a fp + b fn + smooth, eps)."""
    osum = P.sum(axis=1)
    tsum = G.sum(axis=1)
    diff = np.abs(P - G).sum(axis=1)
    inter = (osum + tsum - diff) / 2
    fp = osum - inter
    fn = tsum - inter
    return (inter + smooth) / np.maximum(inter + alpha * fp + beta * fn + smooth, eps)


def smp_dice_loss(inp, include, alpha=0.5, beta=0.5, gamma=1.0):
    """smp 0.5.0 losses/dice.py DiceLoss(mode='multiclass', from_logits=True,
    smooth=0, eps=1e-7, log_loss=False, ignore_index): softmax; score per class via
    soft_dice_score (= soft_tversky_score a = b = 0.5); loss_c = 1 - score, set to
    0 for classes with no target pixel (y_true.sum(dims) > 0 mask) but still
    counted; mean over the classes (`classes` = the included ones).
    TverskyLoss is this with (alpha, beta) and aggregate_loss = mean ** gamma."""
    if not inp.valid.any():
        return None
    P, G = _smp_masked(inp, include)
    score = _smp_tversky_scores(P, G, alpha, beta)
    loss = (1 - score) * (G.sum(axis=1) > 0)
    cs = [c for c in range(inp.C) if include[c]]
    return float(np.mean(loss[cs]) ** gamma)


def smp_jaccard_loss(inp, include):
    """smp 0.5.0 losses/jaccard.py JaccardLoss(mode='multiclass', smooth=0,
    eps=1e-7): soft_jaccard_score = soft_tversky_score(a = b = 1); loss zeroed
    for classes absent from the target, mean over classes.  JaccardLoss has no
    ignore_index in 0.5.0: the profile drops ignored pixels (segloss rule)."""
    return smp_dice_loss(inp, include, alpha=1.0, beta=1.0)


def smp_tversky_loss(inp, include, alpha=0.5, beta=0.5, gamma=1.0):
    """smp 0.5.0 losses/tversky.py TverskyLoss(alpha=0.5, beta=0.5, gamma=1):
    DiceLoss with soft_tversky_score (alpha on FP, beta on FN) and
    aggregate_loss = loss.mean() ** gamma."""
    return smp_dice_loss(inp, include, alpha, beta, gamma)


def smp_focal_tversky_loss(inp, include, gamma=0.75):
    """smp 0.5.0 TverskyLoss(alpha=0.5, beta=0.5, gamma=0.75): the focal form is
    (mean over classes of the Tversky losses) ** gamma (smp's default gamma=1 is
    plain Tversky; the profile keeps segloss's 0.75)."""
    return smp_dice_loss(inp, include, 0.5, 0.5, gamma)


def _bce_terms(inp):
    """Per-channel binary cross-entropy against the one-vs-rest targets over valid
    pixels, and the matching sigmoid probability q: from logits x (stable
    binary_cross_entropy_with_logits: max(x,0) - x t + log1p(exp(-|x|))), or with
    q = clip(p_c, eps, 1-eps) for probabilities."""
    t = _flat_valid(onehot(inp), inp)
    if inp.Z is not None:
        x = _flat_valid(inp.Z, inp)
        bce = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
        q = expit(x)
    else:
        q = np.clip(_flat_valid(inp.P, inp), EPS, 1 - EPS)
        bce = -(t * np.log(q) + (1 - t) * np.log(1 - q))
    return bce, q, t


def smp_focal_loss(inp, include, gamma=2.0):
    """smp 0.5.0 losses/focal.py FocalLoss(mode='multiclass', alpha=None,
    gamma=2, ignore_index): for each class c, focal_loss_with_logits on the
    c-th channel against (y == c) over non-ignored pixels (a *sigmoid* focal
    loss: logpt = BCE-with-logits, pt = exp(-logpt), (1-pt)^g logpt, mean), and
    the class losses are SUMMED (0.5.0; the development branch takes the mean)."""
    if not inp.valid.any():
        return None
    bce, q, t = _bce_terms(inp)
    pt = np.exp(-bce)
    per = np.mean((1 - pt) ** gamma * bce, axis=1)
    return float(sum(per[c] for c in range(inp.C) if include[c]))


def smp_lovasz_loss(inp, include):
    """smp 0.5.0 losses/lovasz.py LovaszLoss(mode='multiclass', per_image=False,
    ignore_index): softmax, _lovasz_softmax(classes='present') = Berman's
    lovasz_softmax_flat; mean over present classes (0 when none)."""
    if not inp.valid.any():
        return None
    per = _lovasz_per_class(_flat_valid(inp.P, inp), inp.T[inp.valid], inp.C)
    vs = [per[c] for c in range(inp.C) if include[c] and per[c] is not None]
    return float(np.mean(vs)) if vs else 0.0


def smp_cross_entropy(inp, label_smoothing=0.0):
    """smp 0.5.0 losses/soft_ce.py SoftCrossEntropyLoss(smooth_factor=e,
    ignore_index) -> _functional.py label_smoothed_nll_loss: ignored pixels are
    zero-filled but stay in the mean, so both terms are divided by ALL pixels:
    (1-e) sum_valid(-log p_y)/N_all + (e/C) sum_valid sum_c(-log p_c)/N_all.
    No class weights.  Every pixel ignored: 0 (zero-filled mean)."""
    if not inp.valid.any():
        return 0.0
    n_all = inp.T.size
    L = _flat_valid(logp(inp), inp)
    y = inp.T[inp.valid]
    nll = -L[y, np.arange(y.size)].sum() / n_all
    smooth = -L.sum() / n_all
    return float((1 - label_smoothing) * nll + (label_smoothing / inp.C) * smooth)


# ==========================================================================
# profile: torchmetrics (1.9.0)
# ==========================================================================
def tm_dice(inp, M=None):
    """torchmetrics 1.9.0 functional/segmentation/dice.py _dice_score_update /
    _dice_score_compute (DiceScore, average='macro', aggregation_level=
    'samplewise'): 2I/(sum P + sum G), 0/0 -> NaN (absent from both); a class
    predicted but absent from the target scores 0."""
    tp, fp, fn, tn, _ = counts(confusion(inp) if M is None else M)
    return [NAN if tp[c] + fp[c] + fn[c] == 0 else 2 * int(tp[c]) / (2 * int(tp[c]) + int(fp[c]) + int(fn[c]))
            for c in range(inp.C)]


def tm_iou(inp, M=None):
    """torchmetrics 1.9.0 functional/segmentation/mean_iou.py (MeanIoU): I/U for
    classes with U > 0; the others are left out of the mean."""
    tp, fp, fn, tn, _ = counts(confusion(inp) if M is None else M)
    return [NAN if tp[c] + fp[c] + fn[c] == 0 else int(tp[c]) / (int(tp[c]) + int(fp[c]) + int(fn[c]))
            for c in range(inp.C)]


def tm_classification(name, inp, M=None):
    """torchmetrics 1.9.0 functional/classification/{precision_recall,
    specificity, accuracy}.py _*_reduce on _multiclass_stat_scores_update
    (multidim_average='global', top_k=1, ignore_index pixels dropped) with
    zero_division=0: precision tp/(tp+fp), recall tp/(tp+fn), specificity
    tn/(tn+fp), and MulticlassAccuracy per class = tp/(tp+fn) (recall!);
    0/0 -> 0."""
    tp, fp, fn, tn, _ = counts(confusion(inp) if M is None else M)
    out = []
    for c in range(inp.C):
        a, b, d, e = int(tp[c]), int(fp[c]), int(fn[c]), int(tn[c])
        num, den = {"precision": (a, a + b), "recall": (a, a + d), "specificity": (e, e + b),
                    "accuracy": (a, a + d)}[name]
        out.append(0.0 if den == 0 else num / den)
    return out


def tm_classification_average(name, values, inp, include, average, M=None):
    """torchmetrics 1.9.0 utilities/compute.py _adjust_weights_safe_divide:
    macro weights 1, but 0 for classes with tp + fp + fn == 0; weighted weights
    tp + fn; sum(w v)/sum(w) with 0/0 -> 0.  micro: the ratio of the summed
    counts (accuracy micro = sum tp / sum (tp + fn) = pixel accuracy)."""
    tp, fp, fn, tn, _ = counts(confusion(inp) if M is None else M)
    cs = [c for c in range(inp.C) if include[c]]
    if average == "micro":
        a, b, d, e = (int(sum(int(x[c]) for c in cs)) for x in (tp, fp, fn, tn))
        num, den = {"precision": (a, a + b), "recall": (a, a + d), "specificity": (e, e + b),
                    "accuracy": (a, a + d)}[name]
        return 0.0 if den == 0 else num / den
    if average == "weighted":
        w = np.array([float(tp[c] + fn[c]) for c in cs])
    else:
        w = np.array([0.0 if tp[c] + fp[c] + fn[c] == 0 else 1.0 for c in cs])
    v = np.array([values[c] for c in cs])
    return 0.0 if w.sum() == 0 else float(np.sum(w * v) / w.sum())


def tm_segmentation_average(name, values, inp, include, average, M=None):
    """torchmetrics 1.9.0 DiceScore average: macro = nanmean over classes (NaN
    when none); micro = sum 2I / sum (P + G); weighted = nansum(v * support /
    sum support).  MeanIoU has no average option: always the mean over classes
    with U > 0 (NaN when none)."""
    cs = [c for c in range(inp.C) if include[c]]
    v = np.array([values[c] for c in cs], dtype=np.float64)
    if average == "micro" and name == "dice":
        tp, fp, fn, tn, _ = counts(confusion(inp) if M is None else M)
        num = sum(2 * int(tp[c]) for c in cs)
        den = sum(2 * int(tp[c]) + int(fp[c]) + int(fn[c]) for c in cs)
        return NAN if den == 0 else num / den
    if average == "weighted" and name == "dice":
        tp, fp, fn, tn, sup = counts(confusion(inp) if M is None else M)
        s = np.array([float(sup[c]) for c in cs])
        if s.sum() == 0 or np.all(np.isnan(v)):
            return NAN
        return float(np.nansum(v * s / s.sum()))
    ok = ~np.isnan(v)
    return float(v[ok].mean()) if ok.any() else NAN


def tm_hausdorff(inp):
    """torchmetrics 1.9.0 functional/segmentation/hausdorff_distance.py
    hausdorff_distance (directed=False, include_background=False by default) with
    utils.py mask_edges (pad 1, binary_erosion cross, XOR) and surface_distance:
    max of the two directed maxima; one side empty -> inf; both empty -> the
    library raises (max of an empty tensor): None here.  (Its pytorch-engine
    distance_transform indexes i*h + j: wrong on non-square crops, issue #3300;
    this port uses the exact EDT.)"""
    out = []
    for c in range(inp.C):
        d, (na, nb) = class_surface(inp, c)
        if d is None:
            out.append(None if (na == 0 and nb == 0) else INF)
        else:
            out.append(_surface_value("hausdorff", d))
    return out


def tm_hausdorff_mean(values, include):
    """torchmetrics 1.9.0 segmentation/hausdorff_distance.py HausdorffDistance:
    score.sum() / score.numel() over the (image, class) pairs (inf propagates)."""
    vs = [v for v, k in zip(values, include) if k and v is not None]
    return float(np.sum(vs) / len(vs)) if vs else None


# ==========================================================================
# profile: mmseg (mmsegmentation 1.2.2)
# ==========================================================================
def mmseg_metric(name, inp, M=None):
    """mmsegmentation 1.2.2 mmseg/evaluation/metrics/iou_metric.py
    IoUMetric.intersect_and_union + total_area_to_metrics (ignore_index=255):
    IoU = I/U, Dice = 2I/(P + L), Precision = I/P, Recall = Acc = I/L, each NaN
    when its denominator is 0 (so a class never predicted has NaN precision).
    The library reports x100 rounded to 2 decimals; these are fractions."""
    tp, fp, fn, tn, sup = counts(confusion(inp) if M is None else M)
    out = []
    for c in range(inp.C):
        I, Pa, La = int(tp[c]), int(tp[c] + fp[c]), int(sup[c])
        num, den = {"iou": (I, Pa + La - I), "dice": (2 * I, Pa + La), "precision": (I, Pa),
                    "recall": (I, La)}[name]
        out.append(NAN if den == 0 else num / den)
    return out


def nanmean(values, include):
    """np.nanmean over the included classes (mmseg mIoU/mDice/...); NaN if none."""
    v = np.array([values[c] for c in range(len(values)) if include[c]], dtype=np.float64)
    ok = ~np.isnan(v)
    return float(v[ok].mean()) if ok.any() else NAN


def mmseg_cross_entropy(inp, class_weights=None):
    """mmsegmentation 1.2.2 mmseg/models/losses/cross_entropy_loss.py
    cross_entropy (CrossEntropyLoss defaults: avg_non_ignore=False; the decode
    head passes ignore_index=255): F.cross_entropy(weight, reduction='none')
    then weight_reduce_loss -> loss.mean() over ALL pixels, ignored ones as 0:
    sum_valid w_y(-log p_y) / N_all (not / sum w).  No label smoothing.
    Every pixel ignored: 0."""
    if not inp.valid.any():
        return 0.0
    w = _class_weights(inp.C, class_weights)
    L = _flat_valid(logp(inp), inp)
    y = inp.T[inp.valid]
    return float(np.sum(-w[y] * L[y, np.arange(y.size)]) / inp.T.size)


def mmseg_dice_loss(inp, include, eps=1e-3):
    """mmsegmentation 1.2.2 mmseg/models/losses/dice_loss.py DiceLoss defaults
    (use_sigmoid=True, activate=True, naive_dice=False, eps=1e-3,
    ignore_index=255): P = sigmoid(logits) per channel (probabilities are taken
    as already activated); _expand_onehot_labels_dice gives ignored pixels an
    all-zero one-hot row but their P still counts; dice_loss flattens classes
    and pixels together (one pooled score per image):
    1 - 2 sum PG / ((sum P^2 + eps) + (sum G^2 + eps)).  include_background=False
    drops channel 0 (what the library does for ignore_index < C)."""
    if not inp.valid.any():
        return None
    P = expit(inp.Z) if inp.Z is not None else inp.P
    G = onehot(inp)
    cs = [c for c in range(inp.C) if include[c]]
    P, G = P[cs], G[cs]
    a = np.sum(P * G)
    b = np.sum(P * P) + eps
    c = np.sum(G * G) + eps
    return float(1 - 2 * a / (b + c))


def mmseg_tversky_loss(inp, include, class_weights=None, alpha=0.3, beta=0.7, smooth=1.0):
    """mmsegmentation 1.2.2 mmseg/models/losses/tversky_loss.py TverskyLoss
    (smooth=1, alpha=0.3, beta=0.7, ignore_index=255): softmax; valid mask on
    TP, FP, FN; per class 1 - (TP + 1)/(TP + a FP + b FN + 1), times
    class_weight, summed and divided by num_classes (C; the included count when
    include_background=False, a segloss extension)."""
    if not inp.valid.any():
        return None
    P = _flat_valid(inp.P, inp)
    G = _flat_valid(onehot(inp), inp)
    TP = np.sum(P * G, axis=1)
    FP = np.sum(P * (1 - G), axis=1)
    FN = np.sum((1 - P) * G, axis=1)
    loss = 1 - (TP + smooth) / (TP + alpha * FP + beta * FN + smooth)
    w = _class_weights(inp.C, class_weights)
    cs = [c for c in range(inp.C) if include[c]]
    return float(sum(w[c] * loss[c] for c in cs) / len(cs))


def mmseg_focal_loss(inp, include, class_weights=None, gamma=2.0, alpha=0.5):
    """mmsegmentation 1.2.2 mmseg/models/losses/focal_loss.py FocalLoss
    (use_sigmoid=True, gamma=2, alpha=0.5) via py_sigmoid_focal_loss: per pixel
    and class BCE-with-logits(x_c, t_c) * (a t + (1-a)(1-t)) * ((1-s)t + s(1-t))^g,
    s = sigmoid(x_c); weights valid_mask x class_weight; weight_reduce_loss mean
    over all N_all x C elements (ignored pixels count as 0 in the mean)."""
    if not inp.valid.any():
        return None
    bce, q, t = _bce_terms(inp)
    one_minus_pt = (1 - q) * t + q * (1 - t)
    loss = bce * (alpha * t + (1 - alpha) * (1 - t)) * one_minus_pt ** gamma
    w = _class_weights(inp.C, class_weights)[:, None]
    cs = [c for c in range(inp.C) if include[c]]
    return float(np.sum((loss * w)[cs]) / (inp.T.size * len(cs)))


def mmseg_lovasz_loss(inp, include, class_weights=None):
    """mmsegmentation 1.2.2 mmseg/models/losses/lovasz_loss.py LovaszLoss
    (loss_type='multi_class', classes='present', per_image=False,
    reduction='none', ignore_index=255): softmax, lovasz_softmax_flat with the
    per-class loss multiplied by class_weight[c], then the plain mean over the
    present classes."""
    if not inp.valid.any():
        return None
    per = _lovasz_per_class(_flat_valid(inp.P, inp), inp.T[inp.valid], inp.C)
    w = _class_weights(inp.C, class_weights)
    vs = [w[c] * per[c] for c in range(inp.C) if include[c] and per[c] is not None]
    return float(np.mean(vs)) if vs else None


# ==========================================================================
# profile: pytorch (aten/src/ATen/native/LossNLL.cpp)
# ==========================================================================
def pytorch_cross_entropy(inp, class_weights=None, label_smoothing=0.0):
    """PyTorch aten/src/ATen/native/LossNLL.cpp cross_entropy_loss_symint ->
    nll_loss_nd (reduction mean: sum_i w_{y_i}(-logp_{y_i}) / sum_i w_{y_i} over
    non-ignored i) and, for label_smoothing e > 0,
    cross_entropy_loss_label_smoothing: smooth = sum_i sum_c w_c(-logp_c), divided
    by the same sum of target weights; result (1-e) nll + (e/C) smooth.  Every
    pixel ignored: 0/0 = NaN.  (torch.nn.CrossEntropyLoss default ignore_index
    is -100.)"""
    if not inp.valid.any():
        return NAN
    w = _class_weights(inp.C, class_weights)
    L = _flat_valid(logp(inp), inp)
    y = inp.T[inp.valid]
    wsum = np.sum(w[y])
    nll = np.sum(-w[y] * L[y, np.arange(y.size)]) / wsum
    if not label_smoothing:
        return float(nll)
    smooth = np.sum(-(w[:, None] * L)) / wsum
    return float((1 - label_smoothing) * nll + (label_smoothing / inp.C) * smooth)


# ==========================================================================
# profile: keras (Keras 3.15.1)
# ==========================================================================
def _keras_probs(inp):
    """Keras categorical losses on probabilities: output / sum(output) then clip
    to [1e-7, 1 - 1e-7] (backend nn.py categorical/sparse_categorical_crossentropy,
    losses.py categorical_focal_crossentropy).  Logits: softmax first."""
    P = _flat_valid(inp.P, inp)
    return np.clip(P / P.sum(axis=0, keepdims=True), KERAS_EPS, 1 - KERAS_EPS)


def keras_cross_entropy(inp, class_weights=None, label_smoothing=0.0):
    """Keras 3.15.1 keras/src/losses/losses.py SparseCategoricalCrossentropy
    (ignore_class, reduction='sum_over_batch_size'): from_logits=True ->
    log_softmax; probabilities -> normalised and clipped (see _keras_probs).
    Ignored pixels are masked and the mask weight N/N_valid makes the mean over
    valid pixels; no valid pixel -> 0 (divide_no_nan).  class_weights act as
    Model.fit(class_weight=...) sample weights: sum w_y l / N_valid (not / sum w).
    label_smoothing e: CategoricalCrossentropy on one-hot targets smoothed to
    (1-e) G + e/C."""
    if not inp.valid.any():
        return 0.0
    L = log_softmax(_flat_valid(inp.Z, inp), axis=0) if inp.Z is not None else np.log(_keras_probs(inp))
    y = inp.T[inp.valid]
    w = _class_weights(inp.C, class_weights)
    per = -(1 - label_smoothing) * L[y, np.arange(y.size)]
    if label_smoothing:
        per = per - (label_smoothing / inp.C) * L.sum(axis=0)
    return float(np.sum(w[y] * per) / y.size)


def keras_dice_loss(inp, include):
    """Keras 3.15.1 keras/src/losses/losses.py dice (Dice loss, axis=None): one
    score pooled over pixels AND classes: 1 - 2 sum PG / (sum G + sum P + 1e-7).
    No ignore support in Keras: the profile drops ignored pixels."""
    if not inp.valid.any():
        return None
    cs = [c for c in range(inp.C) if include[c]]
    P = _flat_valid(inp.P, inp)[cs]
    G = _flat_valid(onehot(inp), inp)[cs]
    return float(1 - 2 * np.sum(G * P) / (np.sum(G) + np.sum(P) + KERAS_EPS))


def keras_tversky_loss(inp, include, alpha=0.5, beta=0.5):
    """Keras 3.15.1 keras/src/losses/losses.py tversky (axis=None, pooled over
    pixels and classes): inputs = y_true, targets = y_pred, so its 'fp' is
    sum (1-P) G (false negatives) and its 'fn' is sum P (1-G): alpha weighs FN,
    beta weighs FP; 1 - I/(I + alpha FN + beta FP + 1e-7)."""
    if not inp.valid.any():
        return None
    cs = [c for c in range(inp.C) if include[c]]
    P = _flat_valid(inp.P, inp)[cs]
    G = _flat_valid(onehot(inp), inp)[cs]
    inter = np.sum(G * P)
    fp_k = np.sum((1 - P) * G)
    fn_k = np.sum(P * (1 - G))
    return float(1 - inter / (inter + fp_k * alpha + fn_k * beta + KERAS_EPS))


def keras_focal_loss(inp, class_weights=None, alpha=0.25, gamma=2.0):
    """Keras 3.15.1 keras/src/losses/losses.py categorical_focal_crossentropy
    (alpha=0.25, gamma=2): output normalised and clipped, per pixel
    sum_c alpha (1 - p_c)^g (-G_c log p_c) = alpha (1-p_y)^g (-log p_y); mean over
    valid pixels (class_weights as fit sample weights, / N_valid)."""
    if not inp.valid.any():
        return None
    P = _keras_probs(inp)
    y = inp.T[inp.valid]
    py = P[y, np.arange(y.size)]
    w = _class_weights(inp.C, class_weights)
    return float(np.sum(w[y] * alpha * (1 - py) ** gamma * -np.log(py)) / y.size)


def keras_iou(inp, M=None):
    """Keras 3.15.1 keras/src/metrics/iou_metrics.py IoU.result (MeanIoU,
    ignore_class): per class TP/(U + 1e-7) where U > 1e-9, otherwise the class is
    not counted (NaN here).  (Keras computes in float32.)"""
    tp, fp, fn, tn, _ = counts(confusion(inp) if M is None else M)
    return [NAN if tp[c] + fp[c] + fn[c] == 0 else int(tp[c]) / (int(tp[c] + fp[c] + fn[c]) + KERAS_EPS)
            for c in range(inp.C)]


def keras_mean_iou(values, include):
    """Keras 3.15.1 IoU.result: sum of the valid entries / (count + 1e-7); 0 if none."""
    vs = [values[c] for c in range(len(values)) if include[c] and not math.isnan(values[c])]
    return float(np.sum(vs) / (len(vs) + KERAS_EPS)) if vs else 0.0


def keras_f1_counts(inp):
    """Keras 3.15.1 keras/src/metrics/f_score_metrics.py FBetaScore.update_state
    with threshold=None on one-hot y_true and the class scores: a class is
    predicted where its score equals the pixel's maximum (ties mark every tied
    class) and is > 1e-9; label-map predictions are one-hot.  Returns per-class
    (tp, fp, fn, support) over valid pixels."""
    G = _flat_valid(onehot(inp), inp)
    if inp.P is None:
        Y = np.zeros_like(G)
        yh = inp.Yhat[inp.valid]
        Y[yh, np.arange(yh.size)] = 1
    else:
        S = _flat_valid(inp.P, inp)
        Y = ((S >= S.max(axis=0, keepdims=True)) & (np.abs(S) > 1e-9)).astype(np.float64)
    return (np.sum(Y * G, axis=1), np.sum(Y * (1 - G), axis=1), np.sum((1 - Y) * G, axis=1),
            np.sum(G, axis=1))


def keras_dice(inp):
    """Keras 3.15.1 F1Score (FBetaScore beta=1, threshold=None) per class:
    p = tp/(tp+fp+eps), r = tp/(tp+fn+eps), 2 p r/(p + r + eps), eps = 1e-7; a
    class absent from both scores 0."""
    tp, fp, fn, sup = keras_f1_counts(inp)
    p = tp / (tp + fp + KERAS_EPS)
    r = tp / (tp + fn + KERAS_EPS)
    return [float(v) for v in 2 * p * r / (p + r + KERAS_EPS)]


def keras_dice_average(values, inp, include, average):
    """Keras 3.15.1 FBetaScore.result: macro = plain mean over classes; weighted =
    sum f1 * support/(sum support + eps); micro = the F1 of the summed counts."""
    cs = [c for c in range(inp.C) if include[c]]
    if average == "micro":
        tp, fp, fn, sup = (np.sum(a[cs]) for a in keras_f1_counts(inp))
        p = tp / (tp + fp + KERAS_EPS)
        r = tp / (tp + fn + KERAS_EPS)
        return float(2 * p * r / (p + r + KERAS_EPS))
    if average == "weighted":
        sup = keras_f1_counts(inp)[3][cs]
        return float(np.sum(np.array([values[c] for c in cs]) * sup / (sup.sum() + KERAS_EPS)))
    return float(np.mean([values[c] for c in cs]))


# ==========================================================================
# profile: medpy (0.5.2)
# ==========================================================================
def medpy_metric(name, inp, M=None):
    """medpy 0.5.2 medpy/metric/binary.py dc / jc / precision / recall /
    specificity on the one-vs-rest masks of each class (valid pixels):
    dc = 2|A&B|/(|A|+|B|), 1.0 when both are empty; jc = |A&B|/|A|B|, 1.0 when
    both empty; precision, recall, specificity: 0/0 -> 0.0."""
    tp, fp, fn, tn, _ = counts(confusion(inp) if M is None else M)
    out = []
    for c in range(inp.C):
        a, b, d, e = int(tp[c]), int(fp[c]), int(fn[c]), int(tn[c])
        if name == "dice":
            out.append(1.0 if 2 * a + b + d == 0 else 2 * a / (2 * a + b + d))
        elif name == "iou":
            out.append(1.0 if a + b + d == 0 else a / (a + b + d))
        else:
            num, den = {"precision": (a, a + b), "recall": (a, a + d), "specificity": (e, e + b)}[name]
            out.append(0.0 if den == 0 else num / den)
    return out


def medpy_surface(name, inp):
    """medpy 0.5.2 medpy/metric/binary.py hd / hd95 / assd via
    __surface_distances (result ^ binary_erosion(result), connectivity=1, EDT
    with voxelspacing): hd = max of the two directed maxima; hd95 = 95th
    percentile (numpy linear) of the two directions' distances POOLED;
    assd = mean of the pooled distances (0.5.2; 0.4.0 took the mean of the two
    directed means).  An empty mask raises RuntimeError: None here."""
    out = []
    for c in range(inp.C):
        d, _ = class_surface(inp, c)
        if d is None:
            out.append(None)
        elif name == "hausdorff95":
            out.append(float(np.percentile(np.hstack(d), 95)))
        else:
            out.append(_surface_value(name, d))
    return out


# ==========================================================================
# profile tables: defaults and dispatch
# ==========================================================================
MONAI_CM = ("precision", "recall", "specificity", "accuracy")


def profile_defaults(profile):
    """Conventions a profile sets.  include_background and average are per
    metric/loss name ('*' = everything else)."""
    d = {
        "segloss": dict(ignore_index=None, include={"*": True}, average={"*": "macro"}),
        "monai": dict(ignore_index=None,
                      include={"*": True, "hausdorff": False, "hausdorff95": False, "assd": False,
                               "surface_dice": False},
                      average={"*": "macro", "precision": "micro", "recall": "micro",
                               "specificity": "micro", "accuracy": "micro"}),
        "smp": dict(ignore_index=None, include={"*": True}, average={"*": "macro"}),
        "torchmetrics": dict(ignore_index=None, include={"*": True, "hausdorff": False},
                             average={"*": "macro"}),
        "mmseg": dict(ignore_index=255, include={"*": True}, average={"*": "macro"}),
        "pytorch": dict(ignore_index=-100, include={"*": True}, average={"*": "macro"}),
        "keras": dict(ignore_index=None, include={"*": True}, average={"*": "macro"}),
        "medpy": dict(ignore_index=None, include={"*": True}, average={"*": "macro"}),
    }
    return d[profile]


def resolved(profile, key, name, explicit=None):
    if explicit is not None:
        return explicit
    table = profile_defaults(profile)[key]
    if not isinstance(table, dict):
        return table
    return table.get(name, table["*"])


def metric_per_class(profile, name, inp, M, zero_division=None):
    """Per-class values of metric `name` under `profile` (see the port docstrings).
    zero_division applies to segloss's own confusion metrics only."""
    if profile == "monai":
        if name == "dice":
            return monai_dice(inp, M)
        if name == "iou":
            return monai_iou(inp, M)
        if name in MONAI_CM:
            return monai_confusion(name, inp, M)
        return monai_surface(name, inp)
    if profile == "smp" and name in CONFUSION_METRICS:
        return smp_metric(name, inp, M)
    if profile == "torchmetrics":
        if name == "dice":
            return tm_dice(inp, M)
        if name == "iou":
            return tm_iou(inp, M)
        if name in ("precision", "recall", "specificity", "accuracy"):
            return tm_classification(name, inp, M)
        if name == "hausdorff":
            return tm_hausdorff(inp)
    if profile == "mmseg" and name in ("iou", "dice", "precision", "recall"):
        return mmseg_metric(name, inp, M)
    if profile == "keras":
        if name == "iou":
            return keras_iou(inp, M)
        if name == "dice":
            return keras_dice(inp)
    if profile == "medpy":
        if name in ("dice", "iou", "precision", "recall", "specificity"):
            return medpy_metric(name, inp, M)
        if name in ("hausdorff", "hausdorff95", "assd"):
            return medpy_surface(name, inp)
    # not provided by the library (or segloss itself): segloss's definition
    if name in SURFACE_METRICS:
        return segloss_surface_metric(name, inp)
    return segloss_confusion_metric(name, inp, M, zero_division)


def _generic_average(name, values, inp, include, average, M):
    """segloss's averaging rule applied to a profile's per-class values, NaN
    treated as undefined; used wherever a library has no rule of its own."""
    vals = [None if (v is None or (isinstance(v, float) and math.isnan(v))) else v for v in values]
    if average == "macro" or name in SURFACE_METRICS:
        vs = [v for v, k in zip(vals, include) if k and v is not None]
        return float(np.sum(vs) / len(vs)) if vs else None
    return segloss_average(name, vals, inp, include, average, M)


def metric_average(profile, name, values, inp, include, average, M, zero_division=None):
    if average == "none":
        return None
    if profile == "segloss" or profile == "pytorch":
        return segloss_average(name, values, inp, include, average, M, zero_division)
    if profile == "monai":
        if name in MONAI_CM and average == "micro":
            return monai_confusion_micro(name, inp, include, M)
        if average == "macro" or name in SURFACE_METRICS:
            return monai_mean(values, include)
    if profile == "smp" and name in CONFUSION_METRICS:
        return smp_average(name, values, inp, include, average, M)
    if profile == "torchmetrics":
        if name in ("precision", "recall", "specificity", "accuracy"):
            return tm_classification_average(name, values, inp, include, average, M)
        if name in ("dice", "iou"):
            return tm_segmentation_average(name, values, inp, include, average, M)
        if name == "hausdorff":
            return tm_hausdorff_mean(values, include)
    if profile == "mmseg" and name in ("iou", "dice", "precision", "recall") and average == "macro":
        return nanmean(values, include)
    if profile == "keras":
        if name == "iou" and average == "macro":
            return keras_mean_iou(values, include)
        if name == "dice":
            return keras_dice_average(values, inp, include, average)
    if profile == "medpy" and average == "macro":
        vs = [v for v, k in zip(values, include) if k and v is not None]
        return float(np.mean(vs)) if vs else None
    return _generic_average(name, values, inp, include, average, M)


def loss_value(profile, name, inp, include, class_weights=None, label_smoothing=0.0):
    """Loss `name` under `profile`; raises ValueError where the library has no
    such parameter (segloss answers 422: docs/profiles.md)."""
    if inp.P is None:
        raise ValueError("losses need probabilities or logits")

    def refuse_weights():
        if class_weights is not None:
            raise ValueError(f"{profile} {name}: class_weights not supported")

    def refuse_smoothing():
        if label_smoothing:
            raise ValueError(f"{profile} {name}: label_smoothing not supported")

    if name != "cross_entropy":
        refuse_smoothing()
    if profile == "monai":
        if name == "dice":
            return monai_dice_loss(inp, include, class_weights)
        if name == "jaccard":
            return monai_dice_loss(inp, include, class_weights, jaccard=True)
        if name == "tversky":
            refuse_weights()
            return monai_tversky_loss(inp, include)
        if name == "generalized_dice":
            refuse_weights()
            return monai_generalized_dice_loss(inp, include)
        if name == "focal":
            return monai_focal_loss(inp, include, class_weights)
        if name == "cross_entropy":
            return pytorch_cross_entropy(inp, class_weights, label_smoothing)
    if profile == "smp":
        if name in ("dice", "jaccard", "tversky", "focal_tversky", "focal", "lovasz_softmax",
                    "cross_entropy"):
            refuse_weights()
        if name == "dice":
            return smp_dice_loss(inp, include)
        if name == "jaccard":
            return smp_jaccard_loss(inp, include)
        if name == "tversky":
            return smp_tversky_loss(inp, include)
        if name == "focal_tversky":
            return smp_focal_tversky_loss(inp, include)
        if name == "focal":
            return smp_focal_loss(inp, include)
        if name == "lovasz_softmax":
            return smp_lovasz_loss(inp, include)
        if name == "cross_entropy":
            return smp_cross_entropy(inp, label_smoothing)
    if profile == "mmseg":
        if name == "cross_entropy":
            refuse_smoothing()
            return mmseg_cross_entropy(inp, class_weights)
        if name == "dice":
            refuse_weights()
            return mmseg_dice_loss(inp, include)
        if name == "tversky":
            return mmseg_tversky_loss(inp, include, class_weights)
        if name == "focal":
            return mmseg_focal_loss(inp, include, class_weights)
        if name == "lovasz_softmax":
            return mmseg_lovasz_loss(inp, include, class_weights)
    if profile == "pytorch" and name == "cross_entropy":
        return pytorch_cross_entropy(inp, class_weights, label_smoothing)
    if profile == "keras":
        if name == "cross_entropy":
            return keras_cross_entropy(inp, class_weights, label_smoothing)
        if name == "dice":
            refuse_weights()
            return keras_dice_loss(inp, include)
        if name == "tversky":
            refuse_weights()
            return keras_tversky_loss(inp, include)
        if name == "focal":
            return keras_focal_loss(inp, class_weights)
    # segloss's own definitions (profile segloss, or not provided by the library)
    if name == "cross_entropy":
        return segloss_cross_entropy(inp, class_weights, label_smoothing)
    if name == "dice":
        return segloss_dice_loss(inp, include, class_weights)
    if name == "jaccard":
        return segloss_jaccard_loss(inp, include, class_weights)
    if name == "tversky":
        return segloss_tversky_loss(inp, include, class_weights)
    if name == "focal_tversky":
        return segloss_focal_tversky_loss(inp, include, class_weights)
    if name == "log_cosh_dice":
        return segloss_log_cosh_dice_loss(inp, include, class_weights)
    if name == "focal":
        return segloss_focal_loss(inp, class_weights)
    if name == "generalized_dice":
        refuse_weights()
        return segloss_generalized_dice_loss(inp, include)
    if name == "lovasz_softmax":
        return segloss_lovasz_softmax_loss(inp, include, class_weights)
    raise KeyError(name)


# which (profile, name) pairs follow a library function; everything else is
# segloss's definition (docs/profiles.md lists both)
LIBRARY_METRICS = {
    "monai": set(METRIC_NAMES),
    "smp": set(CONFUSION_METRICS),
    "torchmetrics": {"dice", "iou", "precision", "recall", "specificity", "accuracy", "hausdorff"},
    "mmseg": {"iou", "dice", "precision", "recall"},
    "keras": {"iou", "dice"},
    "medpy": {"dice", "iou", "precision", "recall", "specificity", "hausdorff", "hausdorff95", "assd"},
    "pytorch": set(), "segloss": set(),
}
LIBRARY_LOSSES = {
    "monai": {"dice", "jaccard", "tversky", "generalized_dice", "focal", "cross_entropy"},
    "smp": {"dice", "jaccard", "tversky", "focal_tversky", "focal", "lovasz_softmax", "cross_entropy"},
    "mmseg": {"cross_entropy", "dice", "tversky", "focal", "lovasz_softmax"},
    "pytorch": {"cross_entropy"},
    "keras": {"cross_entropy", "dice", "tversky", "focal"},
    "torchmetrics": set(), "medpy": set(), "segloss": set(),
}


# ==========================================================================
# runs: several items (mean over items, and dataset pooling)
# ==========================================================================
def run_pooled(confusions, include=None):
    """Dataset pooling as mmseg IoUMetric.compute_metrics and Cityscapes
    evalPixelLevelSemanticLabeling (getIouScoreForLabel, getScoreAverage): sum
    the per-item confusion matrices, then per class IoU = I/U, Dice =
    2I/(P+L), Acc = I/L (NaN when the denominator is 0), mIoU / mDice / mAcc =
    nanmean over the included classes, aAcc = sum I / sum L."""
    M = np.sum([np.asarray(m, dtype=np.int64) for m in confusions], axis=0)
    C = M.shape[0]
    include = include or [True] * C
    tp, fp, fn, tn, sup = counts(M)
    iou = [NAN if tp[c] + fp[c] + fn[c] == 0 else int(tp[c]) / int(tp[c] + fp[c] + fn[c]) for c in range(C)]
    dice = [NAN if 2 * tp[c] + fp[c] + fn[c] == 0 else 2 * int(tp[c]) / int(2 * tp[c] + fp[c] + fn[c])
            for c in range(C)]
    acc = [NAN if sup[c] == 0 else int(tp[c]) / int(sup[c]) for c in range(C)]
    n = int(M.sum())
    return dict(confusion=M, iou=iou, dice=dice, acc=acc, mIoU=nanmean(iou, include),
                mDice=nanmean(dice, include), mAcc=nanmean(acc, include),
                aAcc=NAN if n == 0 else int(np.trace(M)) / n)


def cityscapes_iou(conf, label, eval_labels):
    """cityscapesScripts 2.2.4 cityscapesscripts/evaluation/
    evalPixelLevelSemanticLabeling.py getIouScoreForLabel (trainId space, no
    ignoreInEval class among eval_labels): tp = conf[l,l], fn = row sum - tp,
    fp = sum of conf[k,l] over the other eval labels k; NaN when tp+fp+fn = 0."""
    tp = int(conf[label, label])
    fn = int(conf[label, :].sum()) - tp
    fp = int(sum(conf[k, label] for k in eval_labels if k != label))
    den = tp + fp + fn
    return NAN if den == 0 else tp / den
