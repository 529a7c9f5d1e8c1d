#!/usr/bin/python3
"""
torch_ref.py -- values from the real PyTorch for the multi-class fixtures.

    /usr/bin/python3 tests/ref/torch_ref.py      (after gen_multiclass.py)

Reads tests/fixtures/multiclass/cases.json, decodes every case's files again
(Pillow / numpy, independently of gen_multiclass.py's writers) and, for each
case whose cross_entropy follows PyTorch's CrossEntropyLoss (profiles segloss,
pytorch, monai), computes with torch (Debian python3-torch 1.13):

  * logits: torch.nn.CrossEntropyLoss(weight, ignore_index, label_smoothing)
    in float64, and in float32 as a training run would;
  * probabilities: F.nll_loss(log(clamp(p, 1e-7, 1-1e-7)), weight,
    ignore_index) plus the label-smoothing term with torch ops;
  * torch.softmax of the logits against SciPy's softmax, and torch.argmax
    (first maximum) against the reference's argmax;
  * for MONAI cases, torch.quantile(d, 0.95) per direction (MONAI's
    hausdorff95) against the expected per-class values.

It asserts that multiclass_ref.pytorch_cross_entropy (the NumPy port of
LossNLL.cpp) and the committed expected value equal torch's float64 value to
1e-6 relative (NaN where every pixel is ignored), then writes
tests/fixtures/multiclass/torch.json.  `make test` never needs torch: the
values are committed.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import multiclass_ref as mc  # noqa: E402
from gen_multiclass import Classes  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
FIX = os.path.join(ROOT, "tests", "fixtures", "multiclass")
REL_TOL = 1e-6
TORCH_PROFILES = ("segloss", "pytorch", "monai")


def decode_target(path, classes):
    if path.endswith(".npy"):
        return np.load(path).astype(np.int64)
    im = Image.open(path)
    a = np.array(im).astype(np.int64)
    if im.mode == "RGB":
        packed = (a[..., 0] << 16) | (a[..., 1] << 8) | a[..., 2]
        out = np.full(packed.shape, -1, np.int64)
        for i, col in zip(classes.ids, classes.colors):
            out[packed == ((col[0] << 16) | (col[1] << 8) | col[2])] = i
        assert (out >= 0).all(), path
        return out
    assert im.mode in ("L", "I;16", "I"), (path, im.mode)
    return a


def load_inputs(req, ignore_index):
    classes = Classes(req["classes"])
    t = decode_target(os.path.join(ROOT, req["target"]), classes)
    pred_path = os.path.join(ROOT, req["prediction"])
    kind = req["prediction_kind"]
    kw = {}
    if kind == "labels":
        kw["labels"] = np.array(Image.open(pred_path)).astype(np.int64)
    else:
        a = np.load(pred_path)
        assert a.dtype == np.float32, pred_path
        chw = a if req.get("channel_axis", 0) == 0 else np.moveaxis(a, -1, 0)
        kw["probs" if kind == "probabilities" else "logits"] = chw.astype(np.float64)
    spacing = req.get("spacing", (1.0, 1.0))
    return mc.prepare(t, classes.ids, ignore_index, names=classes.names, spacing=spacing, **kw)


def torch_ce(inp, weight, smoothing, dtype):
    """CrossEntropyLoss (logits) or nll_loss on clamped log-probabilities."""
    C = inp.C
    ign = 255 if C <= 255 else -100
    tgt = torch.from_numpy(np.where(inp.valid, inp.T, ign)).long()[None]
    w = None if weight is None else torch.tensor(weight, dtype=dtype)
    if inp.Z is not None:
        x = torch.from_numpy(inp.Z).to(dtype)[None]
        return float(torch.nn.CrossEntropyLoss(weight=w, ignore_index=ign,
                                               label_smoothing=smoothing)(x, tgt))
    logp = torch.log(torch.clamp(torch.from_numpy(inp.P).to(dtype), mc.EPS, 1 - mc.EPS))[None]
    nll = F.nll_loss(logp, tgt, weight=w, ignore_index=ign)
    if not smoothing:
        return float(nll)
    mask = tgt != ign
    wv = torch.ones(C, dtype=dtype) if w is None else w
    smooth = -(logp * wv.view(1, C, 1, 1)).sum(1)[mask].sum()
    wsum = wv[tgt[mask]].sum()
    return float((1 - smoothing) * nll + (smoothing / C) * smooth / wsum)


def rel_ok(a, b):
    if math.isnan(b):
        return a is None or math.isnan(a)
    return a is not None and abs(a - b) <= REL_TOL * max(1e-300, abs(b))


def main():
    torch.set_num_threads(1)
    with open(os.path.join(FIX, "cases.json")) as f:
        doc = json.load(f)
    out = {}
    worst = 0.0
    n_ce = 0
    n_q = 0
    for case in doc["cases"]:
        req, exp = case["request"], case["expected"]
        ign = case["resolved"]["ignore_index"]
        inp = load_inputs(req, ign)
        # the reference's decoding agrees with the committed confusion matrix
        assert mc.confusion(inp).tolist() == exp["confusion"], case["name"]
        entry = {}
        if inp.Z is not None:
            ts = torch.softmax(torch.from_numpy(inp.Z), dim=0).numpy()
            entry["softmax_max_abs_diff"] = float(np.max(np.abs(ts - inp.P)))
            assert entry["softmax_max_abs_diff"] < 1e-15
        if inp.P is not None:
            src = inp.Z if inp.Z is not None else inp.P
            targ = torch.argmax(torch.from_numpy(src), dim=0).numpy()
            assert np.array_equal(targ, inp.Yhat), case["name"]
            entry["argmax_equal"] = True
        profile = req["profile"]
        if profile == "monai":
            # MONAI's hausdorff95 is torch.quantile (linear) per direction, then the max
            for c, cname in enumerate(inp.names):
                d, _ = mc.class_surface(inp, c)
                if d is None:
                    continue
                q = max(float(torch.quantile(torch.from_numpy(x), 0.95)) for x in d)
                assert abs(q - exp["per_class"]["hausdorff95"][cname]) <= 1e-12 * max(1.0, q), case["name"]
                n_q += 1
        if inp.P is not None and profile in TORCH_PROFILES and "cross_entropy" in exp["losses"]:
            weight = req.get("class_weights")
            sm = req.get("label_smoothing", 0.0)
            v64 = torch_ce(inp, weight, sm, torch.float64)
            v32 = torch_ce(inp, weight, sm, torch.float32)
            port = mc.pytorch_cross_entropy(inp, weight, sm)
            want = exp["losses"]["cross_entropy"]
            assert rel_ok(port, v64), (case["name"], port, v64)
            assert rel_ok(want, v64), (case["name"], want, v64)
            if not math.isnan(v64):
                worst = max(worst, abs(port - v64) / abs(v64))
                assert abs(v32 - v64) <= 1e-5 * abs(v64), (case["name"], v32, v64)
            entry["cross_entropy"] = None if math.isnan(v64) else v64
            entry["cross_entropy_float32"] = None if math.isnan(v32) else v32
            n_ce += 1
        if entry:
            out[case["name"]] = entry
    res = {"generator": "tests/ref/torch_ref.py", "torch": torch.__version__.split("+")[0],
           "note": "cross_entropy: torch float64 CrossEntropyLoss (logits) or nll_loss on "
                   "log(clamp(p)) (probabilities); cross_entropy_float32: the same in float32",
           "cases": out}
    with open(os.path.join(FIX, "torch.json"), "w") as f:
        f.write(json.dumps(res, indent=1, allow_nan=False) + "\n")
    print(f"torch_ref: {n_ce} cross-entropy values from torch {res['torch']}; NumPy port within "
          f"{worst:.1e} relative (limit {REL_TOL:g}); {n_q} MONAI hausdorff95 values equal "
          f"torch.quantile; {len(out)} cases in torch.json")


if __name__ == "__main__":
    main()
