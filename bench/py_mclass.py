#!/usr/bin/python3
"""Multi-class work beside bench_mclass, on the very same arrays.

    /usr/bin/python3 bench/py_mclass.py DIR

DIR holds what `bench_mclass --dir DIR` wrote: the 2048x1024 label maps
with 19 classes (255 = ignored), the 19x512x1024 float32 probabilities
and their target, and mclass.json with segloss's figures and values. This
times what a Python user would otherwise run -- NumPy (a confusion matrix
by bincount, cross-entropy and Dice by array expressions, the Lovasz-
softmax of bermanmaxim/LovaszSoftmax written in NumPy) and, when Debian's
python3-torch is installed, PyTorch on the CPU (F.nll_loss of the log,
Dice by tensor sums, the authors' lovasz_softmax_flat) -- checks that
every number agrees with segloss's (1e-6 relative), and prints the
figures side by side with the ratios. Medians of several runs. The
Python figures also go to DIR/py_mclass.json.
"""
import json
import sys
import time

import numpy as np

C = 19
EPS = 1e-7


def median_time(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def region_numpy(t, p):
    """Confusion matrix over valid pixels, then IoU, Dice, precision, recall, specificity, accuracy per class."""
    v = t != 255
    m = np.bincount(t[v].astype(np.int64) * C + p[v], minlength=C * C).reshape(C, C)
    tp = np.diag(m).astype(np.float64)
    fp = m.sum(0) - tp
    fn = m.sum(1) - tp
    tn = m.sum() - tp - fp - fn
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = tp / (tp + fp + fn)
        dice = 2 * tp / (2 * tp + fp + fn)
        _ = tp / (tp + fp), tp / (tp + fn), tn / (tn + fp), (tp + tn) / m.sum(), tp.sum() / m.sum()
    return float(np.nanmean(iou)), float(np.nanmean(dice))


def soft_numpy(t, prob):
    """cross_entropy (probabilities clipped to [1e-7, 1 - 1e-7]) and the dice loss (gamma 2, smooth 1e-6), mean over classes."""
    v = t != 255
    tv = np.where(v, t, 0).astype(np.int64)
    pt = np.take_along_axis(prob, tv[None], 0)[0]
    ce = float(-np.log(np.clip(pt[v], EPS, 1 - EPS).astype(np.float64)).mean())
    d = 0.0
    for c in range(C):
        pc = prob[c][v].astype(np.float64)
        g = (t[v] == c)
        i = pc[g].sum()
        d += 1 - (2 * i + 1e-6) / ((pc * pc).sum() + g.sum() + 1e-6)
    return ce, d / C


def lovasz_grad_np(gt_sorted):
    gts = gt_sorted.sum()
    inter = gts - np.cumsum(gt_sorted)
    union = gts + np.cumsum(1 - gt_sorted)
    jac = 1.0 - inter / union
    jac[1:] = jac[1:] - jac[:-1]
    return jac


def lovasz_numpy(t, prob):
    v = t != 255
    losses = []
    for c in range(C):
        fg = (t[v] == c).astype(np.float64)
        if fg.sum() == 0:
            continue
        err = np.abs(fg - prob[c][v]).astype(np.float32)
        order = np.argsort(-err, kind="stable")
        losses.append(float(np.dot(err[order].astype(np.float64), lovasz_grad_np(fg[order]))))
    return float(np.mean(losses))


def main():
    d = sys.argv[1]
    seg = json.load(open(f"{d}/mclass.json"))
    t = np.load(f"{d}/mc_target.npy")
    p = np.load(f"{d}/mc_pred.npy")
    pt = np.load(f"{d}/mc_probs_target.npy")
    prob = np.load(f"{d}/mc_probs.npy")

    rows = []
    t_np = median_time(lambda: region_numpy(t, p), 5)
    miou, _ = region_numpy(t, p)
    assert abs(miou - seg["mc_miou"]) <= 1e-9 * abs(miou), (miou, seg["mc_miou"])
    rows.append(("region metrics per class, 2048x1024 C=19", seg["mc_region_s"], "NumPy", t_np))

    t_soft = median_time(lambda: soft_numpy(pt, prob), 3)
    ce, dl = soft_numpy(pt, prob)
    assert abs(ce - seg["mc_ce"]) <= 1e-6 * ce and abs(dl - seg["mc_dice"]) <= 1e-6 * dl, (ce, dl, seg)
    rows.append(("cross_entropy + dice, 19x512x1024", seg["mc_soft_s"], "NumPy", t_soft))
    t_lov = median_time(lambda: lovasz_numpy(pt, prob), 1)
    lv = lovasz_numpy(pt, prob)
    assert abs(lv - seg["mc_lovasz"]) <= 1e-6 * lv, (lv, seg["mc_lovasz"])
    rows.append(("lovasz_softmax, 19x512x1024", seg["mc_lovasz_s"], "NumPy", t_lov))

    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        torch = None
    if torch is not None:
        threads = torch.get_num_threads()
        tt = torch.from_numpy(pt.astype(np.int64))
        tp = torch.from_numpy(prob)[None]
        valid = tt != 255

        def soft_torch():
            logp = torch.log(tp.clamp(EPS, 1 - EPS))
            ce = F.nll_loss(logp, tt[None], ignore_index=255)
            oh = F.one_hot(torch.where(valid, tt, 0), C).permute(2, 0, 1)[None].to(tp.dtype) * valid
            pv = tp * valid
            i = (pv * oh).sum((0, 2, 3)).double()
            den = (pv * pv).sum((0, 2, 3)).double() + oh.sum((0, 2, 3)).double()
            return float(ce), float((1 - (2 * i + 1e-6) / (den + 1e-6)).mean())

        def lovasz_torch():
            probas = tp[0].permute(1, 2, 0).reshape(-1, C)[valid.reshape(-1)]
            labels = tt.reshape(-1)[valid.reshape(-1)]
            losses = []
            for c in range(C):
                fg = (labels == c).float()
                if fg.sum() == 0:
                    continue
                errors = (fg - probas[:, c]).abs()
                errors_sorted, perm = torch.sort(errors, 0, descending=True)
                g = fg[perm]
                gts = g.sum()
                inter = gts - g.cumsum(0)
                union = gts + (1 - g).cumsum(0)
                jac = 1.0 - inter / union
                jac[1:] = jac[1:] - jac[:-1]
                losses.append(torch.dot(errors_sorted, jac))
            return float(torch.stack(losses).mean())

        ce_t, dl_t = soft_torch()
        assert abs(ce_t - seg["mc_ce"]) <= 1e-5 * ce_t, (ce_t, seg["mc_ce"])
        rows.append(("cross_entropy + dice, 19x512x1024", seg["mc_soft_s"], f"PyTorch CPU ({threads} threads)",
                     median_time(soft_torch, 3)))
        rows.append(("lovasz_softmax, 19x512x1024", seg["mc_lovasz_s"], f"PyTorch CPU ({threads} threads)",
                     median_time(lovasz_torch, 1)))
    else:
        print("(python3-torch not installed: no PyTorch figures)")

    print(f"{'work':44s} {'segloss (1 thread)':>18s}   {'other':28s} {'time':>10s} {'ratio':>8s}")
    for name, a, who, b in rows:
        print(f"{name:44s} {a * 1e3:15.2f} ms   {who:28s} {b * 1e3:7.1f} ms {b / a:7.1f}x")
    # The same figures as JSON beside mclass.json, for make bench-compare.
    out = {"numpy_region_s": t_np, "numpy_soft_s": t_soft, "numpy_lovasz_s": t_lov}
    if torch is not None:
        out.update(torch_threads=threads, torch_soft_s=rows[3][3], torch_lovasz_s=rows[4][3])
    with open(f"{d}/py_mclass.json", "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
