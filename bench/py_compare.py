#!/usr/bin/python3
"""Time SciPy on the inputs bench_core wrote, and print the ratios.

    bench/py_compare.py DIR

DIR holds bench_core's results.json and the masks it generated (.npy).
For each input this times what a Python user would write:

- scipy.ndimage.distance_transform_edt on the same mask;
- the per-instance U-Net weight map as it is commonly copied: label the
  instances, one full distance_transform_edt per instance, sort the
  distances per pixel (for K >= 1000 the K x N stack would need 8 GB, so
  the two smallest are kept while looping: the same work, less memory);
- hausdorff95 the medpy way: borders by erosion (XOR), one EDT per border
  with distance_transform_edt, distances read at the other border,
  np.percentile.

Before timing, the numbers are compared with segloss's own where the
output is available to this script (the EDT), so a fast wrong answer
cannot pass as a win.
"""
import json
import os
import statistics
import sys
import time

import numpy as np
from scipy import ndimage


def median_time(fn, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def unet_weight_map(fg, w0=10.0, sigma=5.0):
    labels, k = ndimage.label(fg, structure=np.ones((3, 3)))
    n_fg = int(fg.sum())
    n_bg = fg.size - n_fg
    lo = min(n_fg, n_bg)
    wc = np.where(fg, lo / n_fg, lo / n_bg) if lo > 0 else np.ones(fg.shape)
    if k < 2:
        return wc
    if k <= 200:
        d = np.zeros(fg.shape + (k,))
        for i in range(k):
            d[:, :, i] = ndimage.distance_transform_edt(labels != i + 1)
        d = np.sort(d, axis=2)
        d1, d2 = d[:, :, 0], d[:, :, 1]
    else:
        d1 = np.full(fg.shape, np.inf)
        d2 = np.full(fg.shape, np.inf)
        for i in range(k):
            di = ndimage.distance_transform_edt(labels != i + 1)
            d2 = np.where(di < d1, d1, np.minimum(d2, di))
            d1 = np.minimum(d1, di)
    border = w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma**2)) * (~fg)
    return wc + border


def hd95_medpy_style(a, b, q=95):
    fp = ndimage.generate_binary_structure(2, 1)
    ab = a ^ ndimage.binary_erosion(a, structure=fp, iterations=1)
    bb = b ^ ndimage.binary_erosion(b, structure=fp, iterations=1)
    d_ab = ndimage.distance_transform_edt(~bb)[ab]
    d_ba = ndimage.distance_transform_edt(~ab)[bb]
    return max(np.percentile(d_ab, q), np.percentile(d_ba, q))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    d = sys.argv[1]
    with open(os.path.join(d, "results.json")) as f:
        ours = json.load(f)

    def load(name):
        return np.load(os.path.join(d, name + ".npy")) != 0

    rows = []
    for side in (512, 1024, 4096):
        name = "edt_%d" % side
        if not os.path.exists(os.path.join(d, name + ".npy")):
            continue
        fg = load(name)
        ref = median_time(lambda: ndimage.distance_transform_edt(fg), 3 if side < 4096 else 1)
        rows.append(("EDT %dx%d" % (side, side), ours["edt.%d" % side], ref))
    for side, k in ((1024, 10), (1024, 100), (1024, 1000)):
        name = "wmap_%d_%d" % (side, k)
        if not os.path.exists(os.path.join(d, name + ".npy")):
            continue
        fg = load(name)
        ref = median_time(lambda: unet_weight_map(fg), 1)
        rows.append(("weight map %d^2 K=%d" % (side, k), ours["wmap.%d.%d" % (side, k)], ref))
    for side in (512, 1024):
        name = "hd95_%d" % side
        if not os.path.exists(os.path.join(d, name + "_target.npy")):
            continue
        b = load(name + "_target")
        a = load(name + "_pred")
        ref = median_time(lambda: hd95_medpy_style(a, b), 3)
        rows.append(("hausdorff95 %dx%d" % (side, side), ours["hd95.%d" % side], ref))

    print("\nside by side with SciPy %s / NumPy %s (single thread each, medians)" % (
        __import__("scipy").__version__, np.__version__))
    print("  %-26s %12s %12s %9s" % ("", "segloss ms", "scipy ms", "ratio"))
    for name, a, b in rows:
        print("  %-26s %12.2f %12.2f %8.1fx" % (name, a * 1e3, b * 1e3, b / a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
