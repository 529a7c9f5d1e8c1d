#!/usr/bin/python3
"""
compare.py -- segloss side by side with the Python stack (NumPy, SciPy,
FastAPI), for `make bench-compare` (bench/compare/run.sh calls it).

    compare.py BUILD_DIR WORK_DIR DOC_OUT

1. Inputs, from fixed seeds: targets with K = 10, 100, 1,000 instances,
   non-touching (binary 0/1 .npy: instances are 8-connected components)
   and touching (16-bit instance labels .npy), 256^2 to 4096^2; 8-bit
   soft predictions (grey PNG); one continuous float32 prediction (.npy).
2. Agreement: every value segloss computes (driver.c, on the core
   library) is compared with the Python code (pyseg.py) on the same
   files -- losses and metrics to 1e-6 relative, maps to 1e-5 absolute.
   A disagreement stops the run before anything is timed.
3. Core timings, one thread each, medians.
   The EDT also on two threads (wall time), and the whole command
   `segloss weight-map` on PNG targets, its map checked against the core's.
4. Multi-class: bench/bench_mclass (segloss) and bench/py_mclass.py (NumPy,
   PyTorch on the CPU) on the same arrays, values checked first.
5. Service: seglossd and the FastAPI peer (peer_app.py) under wrk with
   identical bodies, after checking that both answer the same numbers;
   then seglossd alone: peak memory per in-flight 1024^2 request, a
   19-class request as float32, float16 and uint8 scores, each plain,
   gzip and zstd, and GET /v1/runs/{run} on a run of 500 multi-class items.
6. Every goal of the issues, met or not met, on stdout and in DOC_OUT;
   this run's goals appended to bench/compare/history.json, whose last
   runs DOC_OUT shows side by side. Tables on stdout, WORK_DIR/results.json,
   and DOC_OUT rendered from bench/compare/performance.md.in.

Environment knobs (defaults in brackets): COMPARE_WRK_SECONDS [10] per
wrk run, COMPARE_WRK_WARMUP [3], COMPARE_PY_WMAP_MAX [300] seconds: the
per-instance SciPy weight map is skipped where its estimated time
(K x one full EDT at that size) is longer, COMPARE_PY_SLOW [8] seconds:
a Python computation slower than that is timed once (its checked run),
COMPARE_RESUME=1 continues a run that stopped from the first stage it
had not finished (the state is kept in WORK_DIR/state.pickle),
COMPARE_PY_WMAP_BUDGET [480] seconds: after the cases the targets name
(1024^2 with K = 100, and K = 1,000 binary), the cheapest weight maps are
run on the Python side first, and each skipped when the time spent so far
plus its estimate would exceed the budget (this keeps the whole run
under about 20 minutes).
"""
import base64
import datetime
import gc
import io
import json
import math
import os
import pickle
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib

import numpy as np
from PIL import Image
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pyseg  # noqa: E402

REL_TOL = 1e-6   # losses and metrics
ABS_TOL = 1e-5   # maps
WRK_SECONDS = int(os.environ.get("COMPARE_WRK_SECONDS", "10"))
WRK_WARMUP = int(os.environ.get("COMPARE_WRK_WARMUP", "3"))
PY_WMAP_MAX = float(os.environ.get("COMPARE_PY_WMAP_MAX", "300"))
PY_SLOW = float(os.environ.get("COMPARE_PY_SLOW", "8"))
PY_WMAP_BUDGET = float(os.environ.get("COMPARE_PY_WMAP_BUDGET", "480"))
C_BUDGET = 0.4   # seconds of repeated runs per segloss figure (at least 5 runs)
PY_BUDGET = 2.0  # seconds of repeated runs per Python figure (3 to 15 runs)

T0 = time.time()


def cpu_clock():
    """CPU seconds of this process (user + system): the computations timed are single-threaded, so on an
    idle machine this equals wall time, and other work on a shared machine does not inflate it."""
    return time.process_time()


def log(msg):
    print("[%6.1fs] %s" % (time.time() - T0, msg), flush=True)


class Disagreement(Exception):
    pass


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------
def seed_of(*key):
    """A fixed seed per input, the same on every run and machine."""
    return zlib.crc32(repr(key).encode())


def discs_nontouching(side, k, rng):
    """Up to k discs covering about a quarter of the image, at least 2 pixels apart: labels 1..placed."""
    lab = np.zeros((side, side), np.uint16)
    r0 = math.sqrt(side * side * 0.25 / k / math.pi)
    placed = 0
    for _ in range(k * 200):
        if placed == k:
            break
        r = r0 * (0.7 + 0.6 * rng.random())
        cx = r + 1 + rng.random() * (side - 2 * r - 2)
        cy = r + 1 + rng.random() * (side - 2 * r - 2)
        x0, x1 = max(int(cx - r - 3), 0), min(int(cx + r + 4), side)
        y0, y1 = max(int(cy - r - 3), 0), min(int(cy + r + 4), side)
        if lab[y0:y1, x0:x1].any():
            continue
        yy, xx = np.ogrid[y0:y1, x0:x1]
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        placed += 1
        lab[y0:y1, x0:x1][inside] = placed
    return lab, placed


def discs_touching(side, k, rng):
    """k overlapping discs, each pixel to the nearest centre among the discs covering it: labels 1..k."""
    lab = np.zeros((side, side), np.uint16)
    best = np.full((side, side), np.inf, np.float32)
    r0 = math.sqrt(side * side * 0.45 / k / math.pi)
    for i in range(1, k + 1):
        r = r0 * (0.7 + 0.6 * rng.random())
        cx, cy = rng.random() * side, rng.random() * side
        x0, x1 = max(int(cx - r - 1), 0), min(int(cx + r + 2), side)
        y0, y1 = max(int(cy - r - 1), 0), min(int(cy + r + 2), side)
        yy, xx = np.ogrid[y0:y1, x0:x1]
        d2 = ((xx - cx) ** 2 + (yy - cy) ** 2).astype(np.float32)
        sub_b, sub_l = best[y0:y1, x0:x1], lab[y0:y1, x0:x1]
        win = (d2 <= r * r) & (d2 < sub_b)
        sub_b[win] = d2[win]
        sub_l[win] = i
    present = np.unique(lab[lab != 0])
    # renumber 1..K' so that every label value is present
    remap = np.zeros(k + 1, np.uint16)
    remap[present] = np.arange(1, len(present) + 1, dtype=np.uint16)
    return remap[lab], len(present)


def touching_share(lab):
    """Share of instances with an 8-neighbour of another instance."""
    ids = set()
    for a, b in ((lab[:, :-1], lab[:, 1:]), (lab[:-1, :], lab[1:, :]),
                 (lab[:-1, :-1], lab[1:, 1:]), (lab[:-1, 1:], lab[1:, :-1])):
        m = (a != 0) & (b != 0) & (a != b)
        ids.update(np.unique(a[m]).tolist())
        ids.update(np.unique(b[m]).tolist())
    n = len(np.unique(lab[lab != 0]))
    return len(ids) / n if n else 0.0


def make_prediction(fg, rng, quantize=True):
    """A soft prediction of fg: shifted, blurred, low-frequency and white noise; 8-bit or float32."""
    side = fg.shape[0]
    v = ndimage.gaussian_filter(np.roll(fg, (2, -1), axis=(0, 1)).astype(np.float32), 1.5)
    lf = ndimage.gaussian_filter(rng.standard_normal((side, side), dtype=np.float32), 6)
    lf /= lf.std()
    v = 0.9 * v + 0.05 + 0.1 * lf + 0.06 * rng.standard_normal((side, side), dtype=np.float32)
    v = np.clip(v, 0.0, 1.0)
    if quantize:
        return np.rint(v * 255.0).astype(np.uint8)
    return v.astype(np.float32)


class Inputs:
    def __init__(self, work):
        self.dir = os.path.join(work, "inputs")
        os.makedirs(self.dir, exist_ok=True)
        self.targets = {}  # (side, k, kind) -> dict(path, placed, touching, fg share)
        self.preds = {}    # name -> path

    def target(self, side, k, kind):
        key = (side, k, kind)
        if key in self.targets:
            return self.targets[key]
        rng = np.random.default_rng(seed_of("target", side, k, kind))
        if kind == "nt":
            lab, placed = discs_nontouching(side, k, rng)
            arr = (lab != 0).astype(np.uint8)  # a binary mask: instances are its components
        else:
            lab, placed = discs_touching(side, k, rng)
            arr = lab  # 16-bit instance labels
        path = os.path.join(self.dir, "t_%d_%d_%s.npy" % (side, k, kind))
        np.save(path, arr)
        info = {"path": path, "side": side, "k": k, "kind": kind, "placed": placed,
                "touching": touching_share(lab) if kind == "touch" else 0.0,
                "fg": float((arr != 0).mean())}
        self.targets[key] = info
        return info

    def prediction(self, side, k, kind, quantize=True):
        name = "p_%d_%d_%s_%s" % (side, k, kind, "u8" if quantize else "f32")
        if name in self.preds:
            return self.preds[name]
        t = self.target(side, k, kind)
        fg = np.load(t["path"]) != 0
        rng = np.random.default_rng(seed_of("pred", side, k, kind, quantize))
        v = make_prediction(fg, rng, quantize)
        if quantize:
            path = os.path.join(self.dir, name + ".png")
            Image.fromarray(v, mode="L").save(path)
        else:
            path = os.path.join(self.dir, name + ".npy")
            np.save(path, v)
        self.preds[name] = path
        return path


# ---------------------------------------------------------------------------
# the two sides
# ---------------------------------------------------------------------------
class Driver:
    def __init__(self, path):
        self.path = path

    def run(self, *args):
        out = subprocess.run([self.path] + [str(a) for a in args], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("driver %s failed: %s" % (" ".join(map(str, args)), out.stderr.strip()))
        return json.loads(out.stdout)


def py_time(fn, checked_seconds):
    """Median of repeated runs; a computation slower than PY_SLOW keeps its checked run (n = 1).
    Above a second, the checked run counts as the first of three."""
    if checked_seconds > PY_SLOW:
        return checked_seconds, 1
    reps = int(min(15, max(3, PY_BUDGET / max(checked_seconds, 1e-6))))
    times = []
    if checked_seconds > 1.0:
        times.append(checked_seconds)
    gc.collect()
    while len(times) < reps:
        t = cpu_clock()
        fn()
        times.append(cpu_clock() - t)
    times.sort()
    return float(np.median(times)), reps


def rel_ok(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b), 1e-12)


ALL_LOSSES = ["loss:" + n for n in pyseg.LOSSES]
PER_PIXEL = ["loss:" + n for n in pyseg.PER_PIXEL]
ALL_METRICS = ["metric:" + n for n in pyseg.METRICS]


class Bench:
    def __init__(self, build, work):
        self.build = build
        self.work = work
        self.drv = Driver(os.path.join(build, "bench", "compare", "driver"))
        self.inputs = Inputs(work)
        self.problems = []
        self.res = {"loss_cases": [], "edt": [], "wmap": [], "rss": [], "service": {}, "agreement": {}}
        self.checked = {}  # (what, key) -> python seconds of the checked run
        self.loads = {"at the start": os.getloadavg()}

    # -- agreement ---------------------------------------------------------
    def fail(self, msg, repro):
        self.problems.append({"what": msg, "reproduce": repro})
        log("DISAGREEMENT: " + msg)

    def stop_if_disagreed(self, stage):
        if self.problems:
            path = os.path.join(self.work, "disagreements.json")
            with open(path, "w") as f:
                json.dump(self.problems, f, indent=1)
            print("\n%d disagreement(s) between segloss and the Python code (%s); nothing was timed."
                  % (len(self.problems), stage))
            for p in self.problems:
                print(" - %s\n   reproduce: %s" % (p["what"], p["reproduce"]))
            print("details in %s" % path)
            raise Disagreement(stage)

    def check_losses(self, name, tpath, ppath, specs):
        drv = self.drv.run("values", tpath, ppath, *specs)
        p = pyseg.load_prediction(ppath)
        case = pyseg.Case(np.load(tpath), p)
        n_ok = 0
        for s in specs:
            ours, together = drv["values"][s], drv["together"][s]
            if not ((ours is None and together is None) or
                    (ours is not None and together is not None and
                     abs(ours - together) <= 1e-12 * max(abs(ours), 1e-300))):
                self.fail("%s: %s is %r alone but %r in one request with the others" % (name, s, ours, together),
                          "%s values %s %s %s" % (self.drv.path, tpath, ppath, " ".join(specs)))
            t = cpu_clock()
            ref = pyseg.run_spec(s, case)
            self.checked[("spec", name, s)] = cpu_clock() - t
            if not rel_ok(ours, ref):
                self.fail("%s: %s segloss %r, Python %r (relative difference %.3g)"
                          % (name, s, ours, ref,
                             abs(ours - ref) / max(abs(ref), 1e-300) if None not in (ours, ref) else float("nan")),
                          "%s values %s %s %s   vs   pyseg.run_spec(%r, pyseg.Case(np.load(%r), "
                          "pyseg.load_prediction(%r)))" % (self.drv.path, tpath, ppath, s, s, tpath, ppath))
            else:
                n_ok += 1
        self.res["agreement"][name] = {"values": n_ok, "of": len(specs), "values_segloss": drv["values"]}
        return drv["values"]

    def check_map(self, label, ours_path, ref):
        ours = np.load(ours_path).astype(np.float64)
        diff = float(np.max(np.abs(ours - ref))) if ours.shape == ref.shape else float("inf")
        if not diff <= ABS_TOL:
            where = np.unravel_index(np.argmax(np.abs(ours - ref)), ref.shape) if ours.shape == ref.shape else None
            self.fail("%s: maps differ by %.3g at (row, col) %s: segloss %r, Python %r"
                      % (label, diff, where, ours[where] if where else None, ref[where] if where else None),
                      ours_path)
        return diff

    # -- plan --------------------------------------------------------------
    def loss_cases(self):
        inp = self.inputs
        cases = []
        for side in (256, 512, 1024):
            t = inp.target(side, 100, "nt")
            cases.append({"name": "%d², K=100 binary, 8-bit p" % side, "side": side, "target": t,
                          "pred": inp.prediction(side, 100, "nt"), "specs": ALL_LOSSES + ALL_METRICS,
                          "timed": True, "table": "main"})
        t = inp.target(1024, 100, "nt")
        cases.append({"name": "1024², K=100 binary, float32 p", "side": 1024, "target": t,
                      "pred": inp.prediction(1024, 100, "nt", quantize=False),
                      "specs": PER_PIXEL + ALL_METRICS[:6], "timed": True, "table": "float"})
        t = inp.target(512, 100, "touch")
        cases.append({"name": "512², K=100 touching labels, 8-bit p", "side": 512, "target": t,
                      "pred": inp.prediction(512, 100, "touch"), "specs": ALL_LOSSES + ALL_METRICS,
                      "timed": False, "table": None})
        t = inp.target(4096, 100, "nt")
        cases.append({"name": "4096², K=100 binary, 8-bit p", "side": 4096, "target": t,
                      "pred": inp.prediction(4096, 100, "nt"),
                      "specs": ["loss:hausdorff_dt", "loss:boundary", "metric:hausdorff95"],
                      "timed": True, "table": "dist4096"})
        return cases

    # -- stages ------------------------------------------------------------
    def stage_inputs(self):
        log("generating inputs (fixed seeds)")
        self.lcases = self.loss_cases()
        self.wcases = []
        for side in (256, 512, 1024, 4096):
            for k in (10, 100, 1000):
                for kind in ("nt", "touch"):
                    self.wcases.append(self.inputs.target(side, k, kind))
            log("  inputs at %d^2 done" % side)
        self.res["inputs"] = [dict(v, path=os.path.basename(v["path"])) for v in self.inputs.targets.values()]

    def stage_check_losses(self):
        log("agreement: losses and metrics (%.0e relative)" % REL_TOL)
        for c in self.lcases:
            self.check_losses(c["name"], c["target"]["path"], c["pred"], c["specs"])
            a = self.res["agreement"][c["name"]]
            log("  %s: %d of %d values agree" % (c["name"], a["values"], a["of"]))
        self.stop_if_disagreed("losses and metrics")

    def stage_check_edt(self):
        log("agreement: EDT (%.0e absolute)" % ABS_TOL)
        self.edt_cases = []
        for side in (256, 512, 1024, 4096):
            t = self.inputs.target(side, 100, "nt")
            fg = np.load(t["path"]) != 0
            for want in (0, 1):
                out = os.path.join(self.work, "edt_%d_%d.npy" % (side, want))
                self.drv.run("edt", t["path"], want, out)
                s = cpu_clock()
                ref = pyseg.edt(fg, want)
                secs = cpu_clock() - s
                diff = self.check_map("EDT %d^2 %s" % (side, "fg" if want == 0 else "bg"), out, ref)
                os.unlink(out)
                self.edt_cases.append({"side": side, "want": want, "path": t["path"], "py_checked": secs,
                                       "maxdiff": diff})
            log("  EDT %d^2 checked (both directions)" % side)
        self.stop_if_disagreed("EDT")

    def edt_seconds(self, side):
        for c in self.edt_cases:
            if c["side"] == side and c["want"] == 1:
                return c["py_checked"]
        return None

    def stage_check_wmap(self):
        log("agreement: U-Net weight maps (%.0e absolute); the per-instance SciPy code is slow" % ABS_TOL)
        self.wmap_rows = []
        # cheapest first; a case is skipped on the Python side when its estimate is over PY_WMAP_MAX
        # or would take the time spent so far plus its estimate over PY_WMAP_BUDGET
        planned = 0.0

        def priority(t):  # the cases the targets name come first: 1024^2, K = 100 (both kinds) and 1,000
            return 0 if t["side"] == 1024 and (t["k"] == 100 or (t["k"] == 1000 and t["kind"] == "nt")) else 1

        order = sorted(self.wcases, key=lambda t: (priority(t), t["placed"] * self.edt_seconds(t["side"]),
                                                   t["kind"]))
        for t in order:
            side, k = t["side"], t["placed"]
            out = os.path.join(self.work, "wmap.npy")
            info = self.drv.run("wmap", t["path"], out)
            est = info["instances"] * self.edt_seconds(side)
            row = {"side": side, "k": t["k"], "kind": t["kind"], "instances": info["instances"],
                   "placed": k, "touching": t["touching"], "band_pixels": info["band_pixels"],
                   "band_max": info["band_max"], "path": t["path"], "py": None, "py_estimate": est}
            if est > PY_WMAP_MAX or (priority(t) and planned + est > PY_WMAP_BUDGET):
                row["skip_reason"] = "over %g s" % PY_WMAP_MAX if est > PY_WMAP_MAX else "run budget"
                log("  weight map %d^2 K=%d %s: Python skipped (estimated %.0f s = K x one EDT; %s)"
                    % (side, t["k"], t["kind"], est, row["skip_reason"]))
            else:
                lab = np.load(t["path"])
                gc.collect()
                s = cpu_clock()
                ref = pyseg.unet_weight_map(lab)
                secs = cpu_clock() - s
                row["py_checked"] = secs
                planned += secs  # what it took, not the estimate
                row["maxdiff"] = self.check_map("weight map %d^2 K=%d %s" % (side, t["k"], t["kind"]), out, ref)
                del ref
                log("  weight map %d^2 K=%d %s: %d instances, max |diff| %.2g, Python %.1f s"
                    % (side, t["k"], t["kind"], info["instances"], row["maxdiff"], secs))
                if self.problems:
                    self.stop_if_disagreed("weight maps")
            os.unlink(out)
            self.wmap_rows.append(row)
        self.wmap_rows.sort(key=lambda r: (r["side"], r["k"], r["kind"]))
        self.stop_if_disagreed("weight maps")

    def stage_time_core(self):
        log("timing the core, one thread each (segloss: median of runs within %.1f s, >= 5; "
            "Python: median of 3-15 runs, or the checked run when it took > %.0f s)" % (C_BUDGET, PY_SLOW))
        for c in self.lcases:
            if not c["timed"]:
                continue
            tpath, ppath = c["target"]["path"], c["pred"]
            drv = self.drv.run("time-each", C_BUDGET, tpath, ppath, *c["specs"])
            case = pyseg.Case(np.load(tpath), pyseg.load_prediction(ppath))
            rows = []
            for s in c["specs"]:
                py, n = py_time(lambda: pyseg.run_spec(s, case), self.checked[("spec", c["name"], s)])
                rows.append({"spec": s, "segloss": drv["times"][s][0], "segloss_n": drv["times"][s][1],
                             "py": py, "py_n": n})
            entry = {"name": c["name"], "side": c["side"], "table": c["table"], "rows": rows}
            if c["table"] in ("main", "float"):
                allpp = self.drv.run("time-all", C_BUDGET, tpath, ppath, *PER_PIXEL)["all"]
                entry["per_pixel_together"] = {"segloss": allpp[0], "segloss_n": allpp[1],
                                               "py": sum(r["py"] for r in rows if r["spec"] in PER_PIXEL)}
            self.res["loss_cases"].append(entry)
            log("  %s: %d figures" % (c["name"], len(rows)))
        for c in self.edt_cases:
            drv = self.drv.run("edt-time", C_BUDGET, c["path"], c["want"])
            # both cores: wall time (a shared machine inflates it; see the load average)
            drv2 = self.drv.run("edt-time", C_BUDGET, c["path"], c["want"], 2)
            fg = np.load(c["path"]) != 0
            py, n = py_time(lambda: pyseg.edt(fg, c["want"]), c["py_checked"])
            self.res["edt"].append({"side": c["side"], "want": c["want"], "segloss": drv["time"][0],
                                    "segloss_n": drv["time"][1], "segloss2": drv2["time"][0],
                                    "segloss2_n": drv2["time"][1], "py": py, "py_n": n, "maxdiff": c["maxdiff"]})
        log("  EDT timed")
        for row in self.wmap_rows:
            drv = self.drv.run("wmap-time", C_BUDGET, row["path"])
            row["segloss"], row["segloss_n"] = drv["time"]
            if "py_checked" in row:
                lab = np.load(row["path"])
                row["py"], row["py_n"] = py_time(lambda: pyseg.unet_weight_map(lab), row["py_checked"])
            self.res["wmap"].append(row)
        log("  weight maps timed")
        for row in self.wmap_rows:
            if row["side"] < 1024:
                continue
            r = self.drv.run("wmap-rss", row["path"])
            r.update(side=row["side"], k=row["k"], kind=row["kind"])
            self.res["rss"].append(r)
        log("  weight-map peak memory measured")

    # -- whole processes ---------------------------------------------------
    @staticmethod
    def run_process(cmd, n):
        """Wall and CPU (user + system, all threads) seconds of cmd run n times after one warm-up: medians."""
        walls, cpus = [], []
        for i in range(n + 1):
            t = time.perf_counter()
            pid = os.fork()
            if pid == 0:
                try:
                    fd = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(fd, 1)
                    os.execv(cmd[0], cmd)
                finally:
                    os._exit(127)
            _, status, ru = os.wait4(pid, 0)
            w = time.perf_counter() - t
            if status != 0:
                raise RuntimeError("%s failed (status %d)" % (" ".join(cmd), status))
            if i:
                walls.append(w)
                cpus.append(ru.ru_utime + ru.ru_stime)
        return float(np.median(walls)), float(np.median(cpus))

    def stage_process_wmap(self):
        log("whole-process segloss weight-map at 1024^2 (PNG in, .npy out, every usable core)")
        seg = os.path.join(self.build, "segloss")
        py = {(w["side"], w["k"], w["kind"]): w for w in self.res["wmap"]}
        rows = []
        for k in (100, 1000):
            for kind in ("nt", "touch"):
                t = self.inputs.target(1024, k, kind)
                arr = np.load(t["path"])
                png = os.path.join(self.inputs.dir, "t_1024_%d_%s.png" % (k, kind))
                if kind == "nt":
                    Image.fromarray((arr != 0).astype(np.uint8) * 255, mode="L").save(png)
                else:
                    Image.fromarray(arr.astype(np.uint16)).save(png)  # 16-bit grey labels
                out = os.path.join(self.work, "wmap_cli.npy")
                ref = os.path.join(self.work, "wmap_drv.npy")
                self.drv.run("wmap", t["path"], ref)
                subprocess.run([seg, "weight-map", "--target", png, "-o", out], check=True, capture_output=True)
                if not np.array_equal(np.load(out), np.load(ref)):
                    self.fail("segloss weight-map %s gives another map than the core on %s" % (png, t["path"]),
                              "%s weight-map --target %s -o %s" % (seg, png, out))
                wall, cpu = self.run_process([seg, "weight-map", "--target", png, "-o", out], 15)
                w = py.get((1024, k, kind), {})
                rows.append({"k": k, "kind": kind, "instances": t["placed"], "png_bytes": os.path.getsize(png),
                             "wall": wall, "cpu": cpu, "core": w.get("segloss"), "py": w.get("py"),
                             "py_n": w.get("py_n")})
                log("  K=%d %s: %.1f ms wall, %.1f ms CPU (core %.1f ms one thread)%s"
                    % (k, kind, wall * 1e3, cpu * 1e3, (w.get("segloss") or 0) * 1e3,
                       ", %.0fx the per-instance SciPy code" % (w["py"] / wall) if w.get("py") else ""))
        self.stop_if_disagreed("whole-process weight maps")
        self.res["wmap_process"] = rows

    # -- multi-class ---------------------------------------------------------
    def stage_mclass(self):
        log("multi-class: bench_mclass (segloss, one thread) and py_mclass.py (NumPy, PyTorch) on the same arrays")
        d = os.path.join(self.work, "mclass")
        os.makedirs(d, exist_ok=True)
        subprocess.run([os.path.join(self.build, "bench", "bench_mclass"), "--dir", d], check=True,
                       capture_output=True, text=True)
        out = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "..", "py_mclass.py"), d], capture_output=True,
                             text=True)
        if out.returncode != 0:
            self.fail("multi-class values differ between segloss and NumPy/PyTorch: " + out.stderr.strip()[-400:],
                      "%s --dir %s; /usr/bin/python3 bench/py_mclass.py %s" % (
                          os.path.join(self.build, "bench", "bench_mclass"), d, d))
            self.stop_if_disagreed("multi-class")
        seg = json.load(open(os.path.join(d, "mclass.json")))
        pyr = json.load(open(os.path.join(d, "py_mclass.json")))
        self.res["mclass"] = {"segloss": seg, "python": pyr, "dir": d}
        log("  region %.2f ms, hd95 %.1f ms, ce+dice %.2f ms (read %.2f ms), lovasz %.0f ms"
            % (seg["mc_region_s"] * 1e3, seg["mc_hd95_s"] * 1e3, seg["mc_soft_s"] * 1e3, seg["mc_read_s"] * 1e3,
               seg["mc_lovasz_s"] * 1e3))

    # -- service -----------------------------------------------------------
    def bodies(self, side):
        t = self.inputs.target(side, 100, "nt")
        png_t = os.path.join(self.inputs.dir, "svc_target_%d.png" % side)
        Image.fromarray(((np.load(t["path"]) != 0) * 255).astype(np.uint8), mode="L").save(png_t)
        png_p = self.inputs.prediction(side, 100, "nt")
        tb, pb = open(png_t, "rb").read(), open(png_p, "rb").read()
        body = json.dumps({"target": base64.b64encode(tb).decode(), "prediction": base64.b64encode(pb).decode(),
                           "losses": ["bce", "dice"], "metrics": []}).encode()
        jpath = os.path.join(self.work, "body_%d.json" % side)
        open(jpath, "wb").write(body)
        mp = (b"--segbench\r\nContent-Disposition: form-data; name=\"target\"; filename=\"t.png\"\r\n"
              b"Content-Type: image/png\r\n\r\n" + tb +
              b"\r\n--segbench\r\nContent-Disposition: form-data; name=\"prediction\"; filename=\"p.png\"\r\n"
              b"Content-Type: image/png\r\n\r\n" + pb +
              b"\r\n--segbench\r\nContent-Disposition: form-data; name=\"losses\"\r\n\r\nbce,dice"
              b"\r\n--segbench\r\nContent-Disposition: form-data; name=\"metrics\"\r\n\r\n[]"
              b"\r\n--segbench--\r\n")
        mpath = os.path.join(self.work, "body_%d.multipart" % side)
        open(mpath, "wb").write(mp)
        return {"json": (jpath, "application/json"),
                "multipart": (mpath, "multipart/form-data; boundary=segbench"),
                "target_png": len(tb), "pred_png": len(pb), "tpath": t["path"], "ppath": png_p}

    @staticmethod
    def post(port, path, ctype):
        req = urllib.request.Request("http://127.0.0.1:%d/v1/evaluate" % port, data=open(path, "rb").read(),
                                     headers={"Content-Type": ctype})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)

    def start_seglossd(self, args=("--db", "off"), env=None, tag="seglossd"):
        logf = os.path.join(self.work, tag + ".log")
        f = open(logf, "w")
        proc = subprocess.Popen([os.path.join(self.build, "seglossd"), "--bind", "127.0.0.1", "--port", "0"]
                                + list(args), stdout=f, stderr=f, env=env)
        port = None
        for _ in range(200):
            m = re.search(r"seglossd listening.* port=(\d+)", open(logf).read())
            if m:
                port = int(m.group(1))
                break
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        if port is None:
            proc.kill()
            raise RuntimeError("seglossd did not start: " + open(logf).read())
        workers = re.search(r"workers=(\d+)", open(logf).read()).group(1)
        m = re.search(r"version=(\S+)", open(logf).read())
        return proc, port, "seglossd %s (%s; defaults otherwise: %s worker threads, queue 64)" % (
            m.group(1) if m else "?", " ".join(args), workers)

    def version(self, what):
        if what == "seglossd":
            m = re.search(r"version=(\S+)", open(os.path.join(self.work, "seglossd.log")).read())
            return m.group(1) if m else "?"
        return "?"

    def start_peer(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        logf = open(os.path.join(self.work, "peer.log"), "w")
        cmd = ["/usr/bin/python3", "-m", "uvicorn", "peer_app:app", "--app-dir", HERE, "--host", "127.0.0.1",
               "--port", str(port), "--workers", "2", "--loop", "uvloop", "--http", "httptools",
               "--no-access-log", "--log-level", "warning"]
        proc = subprocess.Popen(cmd, stdout=logf, stderr=logf, env=env, start_new_session=True)
        for _ in range(300):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("the peer did not start: " + open(logf.name).read())
                time.sleep(0.1)
        import fastapi
        import starlette
        import uvicorn
        return proc, port, ("FastAPI %s / Starlette %s on uvicorn %s, 2 worker processes, uvloop + httptools, "
                            "access log off" % (fastapi.__version__, starlette.__version__, uvicorn.__version__))

    @staticmethod
    def stop(proc, group=False):
        # only our own child (and, for uvicorn, the process group it leads)
        try:
            if group:
                os.killpg(proc.pid, signal.SIGTERM)
            else:
                proc.terminate()
            proc.wait(timeout=30)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            proc.wait()

    def wrk(self, port, body, ctype, conns, seconds):
        lua = os.path.join(self.work, "post.lua")
        threads = 1 if conns < 2 else 2
        env = dict(os.environ, BODY=body, CTYPE=ctype)
        out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds, "--timeout", "30s",
                              "--latency", "-s", lua, "http://127.0.0.1:%d/v1/evaluate" % port],
                             capture_output=True, text=True, env=env).stdout

        def ms(tok):
            v = float(re.match(r"[0-9.]+", tok).group(0))
            return v / 1000 if tok.endswith("us") else v if tok.endswith("ms") else v * 1000 if tok.endswith(
                "s") else v / 60000 if tok.endswith("m") else v

        rps = float(re.search(r"Requests/sec:\s*([0-9.]+)", out).group(1))
        p50 = ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))
        p99 = ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))
        reqs = int(re.search(r"(\d+) requests in", out).group(1))
        non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
        sock = re.search(r"Socket errors:.*", out)
        return {"rps": rps, "p50": p50, "p99": p99, "requests": reqs,
                "errors": (int(non2xx.group(1)) if non2xx else 0), "socket_errors": sock.group(0) if sock else ""}

    def stage_service(self):
        log("service: bodies, answers, then wrk (%d s per run after a %d s warm-up per body)"
            % (WRK_SECONDS, WRK_WARMUP))
        with open(os.path.join(self.work, "post.lua"), "w") as f:
            f.write('local f = io.open(os.getenv("BODY"), "rb")\nwrk.method = "POST"\nwrk.body = f:read("*a")\n'
                    'f:close()\nwrk.headers["Content-Type"] = os.getenv("CTYPE")\n')
        self.loads["before the service part"] = os.getloadavg()
        bodies = {side: self.bodies(side) for side in (512, 1024)}
        svc = self.res["service"]
        svc["bodies"] = {str(s): {"target_png": b["target_png"], "pred_png": b["pred_png"],
                                  "json": os.path.getsize(b["json"][0]),
                                  "multipart": os.path.getsize(b["multipart"][0])} for s, b in bodies.items()}
        answers = {}
        runs = []
        for server in ("seglossd", "peer"):
            proc, port, desc = self.start_seglossd() if server == "seglossd" else self.start_peer()
            svc[server] = desc
            try:
                for side, b in bodies.items():
                    for form in ("json", "multipart"):
                        got = self.post(port, *b[form])["losses"]
                        answers[(server, side, form)] = got
                        ref = answers.get(("seglossd", side, form))
                        core = self.drv.run("values", b["tpath"], b["ppath"], "loss:bce", "loss:dice")["values"]
                        for name in ("bce", "dice"):
                            other = ref[name] if server == "peer" else core["loss:" + name]
                            if not rel_ok(got[name], other):
                                self.fail("service %d^2 %s: %s answered %s=%r, expected %r (%s)"
                                          % (side, form, server, name, got[name], other,
                                             "seglossd's answer" if server == "peer" else "the core driver"),
                                          "curl -H 'Content-Type: %s' --data-binary @%s "
                                          "http://127.0.0.1:PORT/v1/evaluate" % (b[form][1], b[form][0]))
                self.stop_if_disagreed("service answers (%s)" % server)
                log("  %s answers agree; load" % server)
                for side, b in bodies.items():
                    for form in ("json", "multipart"):
                        self.wrk(port, b[form][0], b[form][1], 8, WRK_WARMUP)
                        for conns in (1, 8, 32):
                            r = self.wrk(port, b[form][0], b[form][1], conns, WRK_SECONDS)
                            r.update(server=server, side=side, form=form, conns=conns)
                            runs.append(r)
                            log("  %-8s %4d^2 %-9s c=%-2d %8.1f req/s  p50 %8.2f ms  p99 %8.2f ms  errors %d"
                                % (server, side, form, conns, r["rps"], r["p50"], r["p99"], r["errors"]))
            finally:
                self.stop(proc, group=(server == "peer"))
        svc["runs"] = runs
        svc["answers"] = {"%s %d %s" % k: v for k, v in answers.items()}
        self.json_512 = bodies[512]["json"][0]
        self.json_1024 = bodies[1024]["json"][0]

    @staticmethod
    def post_raw(port, path, body, headers):
        """POST body; returns (status, parsed JSON answer, client wall seconds)."""
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body, headers=headers)
        t = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                data, status = r.read(), r.status
        except urllib.error.HTTPError as e:
            data, status = e.read(), e.code
        return status, json.loads(data), time.perf_counter() - t

    @staticmethod
    def proc_kb(pid, field):
        for line in open("/proc/%d/status" % pid):
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return -1

    def memory_per_request(self, port, pid, path, conns):
        """Peak resident memory of seglossd while conns requests of path are in flight, beyond the resident
        memory before: VmHWM after (reset through /proc/PID/clear_refs) minus VmRSS before."""
        body = open(path, "rb").read()
        hdr = {"Content-Type": "application/json"}
        for _ in range(3):
            self.post_raw(port, "/v1/evaluate", body, hdr)
        time.sleep(0.2)
        base = self.proc_kb(pid, "VmRSS")
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        import threading
        done = []
        ths = [threading.Thread(target=lambda: done.append(self.post_raw(port, "/v1/evaluate", body, hdr)[0]))
               for _ in range(conns)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        peak = self.proc_kb(pid, "VmHWM")
        return {"conns": conns, "base_kb": base, "peak_kb": peak, "statuses": done, "body": len(body)}

    def stage_service_extra(self):
        log("service: memory per request, 19-class bodies (float32, float16, uint8; gzip, zstd), a run of 500 "
            "multi-class items")
        svc = self.res["service"]
        # Memory: a fixed mmap threshold makes freed blocks leave the process, so each request's peak shows.
        env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072")
        proc, port, _ = self.start_seglossd(env=env, tag="seglossd-memory")
        try:
            mem = []
            for conns in (1, 2):
                m = self.memory_per_request(port, proc.pid, self.json_1024, conns)
                extra = (m["peak_kb"] - m["base_kb"]) * 1024 / conns
                m.update(per_request=extra, beyond_body=extra - m["body"], pixels=1024 * 1024)
                mem.append(m)
                log("  %d in flight: %.1f MiB a request, %.2f B/px beyond its %d-byte body"
                    % (conns, extra / 2 ** 20, m["beyond_body"] / m["pixels"], m["body"]))
            svc["memory"] = mem
        finally:
            self.stop(proc)
        proc, port, _ = self.start_seglossd(tag="seglossd-bodies")
        try:
            svc["mc_bodies"] = self.mc_bodies(port)
        finally:
            self.stop(proc)
        db = os.path.join(self.work, "runs.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.unlink(db + suffix)
        proc, port, _ = self.start_seglossd(args=("--db", db), tag="seglossd-runs")
        try:
            svc["run_get"] = self.run_get(port)
        finally:
            self.stop(proc)

    def mc_bodies(self, port):
        """One 19-class request (19x512x1024 probabilities and their target, multipart) with float32, float16 and
        uint8 scores, each plain, gzip and zstd: bytes sent and time to the answer (median of 3)."""
        d = self.res["mclass"]["dir"]
        t = np.load(os.path.join(d, "mc_probs_target.npy"))
        p32 = np.load(os.path.join(d, "mc_probs.npy"))
        variants = [("float32", p32), ("float16", p32.astype(np.float16)),
                    ("uint8", np.clip(np.rint(p32 * 255.0), 0, 255).astype(np.uint8))]
        tb = io.BytesIO()
        np.save(tb, t)
        rows = []
        for name, arr in variants:
            pb = io.BytesIO()
            np.save(pb, arr)
            form = [("target", tb.getvalue(), True), ("prediction", pb.getvalue(), True), ("classes", b"19", False),
                    ("ignore_index", b"255", False), ("losses", b"cross_entropy,dice", False), ("metrics", b"[]", False)]
            raw = b""
            for k, v, is_file in form:
                raw += b"--segbench\r\nContent-Disposition: form-data; name=\"" + k.encode() + b"\""
                raw += (b"; filename=\"" + k.encode() + b".npy\"\r\nContent-Type: application/x-npy\r\n\r\n"
                        if is_file else b"\r\n\r\n") + v + b"\r\n"
            raw += b"--segbench--\r\n"
            for enc in ("identity", "gzip", "zstd"):
                if enc == "identity":
                    body = raw
                elif enc == "gzip":
                    body = zlib.compress(raw, 6, wbits=31)
                else:
                    body = subprocess.run(["zstd", "-q", "-c", "-3"], input=raw, capture_output=True, check=True).stdout
                hdr = {"Content-Type": "multipart/form-data; boundary=segbench"}
                if enc != "identity":
                    hdr["Content-Encoding"] = enc
                walls, ans = [], None
                for _ in range(4):
                    st, ans, w = self.post_raw(port, "/v1/evaluate", body, hdr)
                    if st != 200:
                        raise RuntimeError("19-class %s %s request: %d %s" % (name, enc, st, ans))
                    walls.append(w)
                rows.append({"dtype": name, "encoding": enc, "bytes": len(body), "wall": float(np.median(walls[1:])),
                             "server_ms": ans["timing_ms"]["total"], "losses": ans["losses"]})
                log("  19 classes %s %-8s %9d B  %7.1f ms  ce %.6f dice %.6f" % (
                    name, enc, len(body), rows[-1]["wall"] * 1e3, ans["losses"]["cross_entropy"], ans["losses"]["dice"]))
        return rows

    def run_get(self, port):
        """A run of 500 multi-class items (19 classes, 64x64 label maps, one batch request), then GET /v1/runs/{run}."""
        rng = np.random.default_rng(seed_of("run500"))
        items = []
        for i in range(500):
            t = rng.integers(0, 19, (64, 64)).astype(np.uint8)
            p = np.where(rng.random((64, 64)) < 0.8, t, rng.integers(0, 19, (64, 64))).astype(np.uint8)
            enc = []
            for a in (t, p):
                b = io.BytesIO()
                Image.fromarray(a, mode="L").save(b, format="PNG")
                enc.append(base64.b64encode(b.getvalue()).decode())
            items.append({"target": enc[0], "prediction": enc[1], "item": "i%03d" % i})
        body = json.dumps({"items": items, "classes": 19, "metrics": ["dice", "iou"], "losses": [],
                           "run": "mc500"}).encode()
        st, ans, w = self.post_raw(port, "/v1/evaluate", body, {"Content-Type": "application/json"})
        if st != 200 or ans.get("count") != 500 or ans.get("failed"):
            raise RuntimeError("recording 500 multi-class items: %d %s" % (st, str(ans)[:300]))
        walls = []
        for _ in range(25):
            t0 = time.perf_counter()
            with urllib.request.urlopen("http://127.0.0.1:%d/v1/runs/mc500" % port, timeout=60) as r:
                run = json.load(r)
            walls.append(time.perf_counter() - t0)
        log("  GET /v1/runs/mc500 (500 items, 19 classes): median %.2f ms" % (np.median(walls[5:]) * 1e3))
        return {"items": 500, "classes": 19, "record_s": w, "get_s": float(np.median(walls[5:])),
                "get_min_s": float(np.min(walls[5:])), "keys": len(json.dumps(run))}


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine():
    lscpu = sh("lscpu")

    def field(name):
        m = re.search(r"^%s:\s*(.*)$" % re.escape(name), lscpu, re.M)
        return m.group(1).strip() if m else "?"

    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    import fastapi
    import PIL
    import scipy
    import skimage
    import starlette
    import uvicorn
    return {
        "cpu": field("Model name"), "cpus": field("CPU(s)"), "threads_per_core": field("Thread(s) per core"),
        "hypervisor": field("Hypervisor vendor"), "memory": mem, "kernel": platform.release(),
        "os": sh(". /etc/os-release && echo \"$PRETTY_NAME\""), "cc": sh("cc --version | head -1"),
        "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
        "skimage": skimage.__version__, "pillow": PIL.__version__, "fastapi": fastapi.__version__,
        "starlette": starlette.__version__, "uvicorn": uvicorn.__version__,
        "wrk": (sh("wrk -v 2>&1 | head -1").split(" [")[0] or "wrk"),
        "commit": sh("git -C %s describe --always --dirty 2>/dev/null" % HERE) or "?",
    }


def fms(sec):
    ms = sec * 1e3
    return "%.3f" % ms if ms < 10 else "%.1f" % ms if ms < 1000 else "%.0f" % ms


def fx(r):
    return "%.0f×" % r if r >= 100 else "%.1f×" % r if r >= 1 else "%.2f×" % r


def table(head, rows, left=1):
    """A Markdown table; the first `left` columns are text (left-aligned), the others numbers."""
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i < left else "---:" for i in range(len(head))) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


BAND_FLOOR_MS_PER_MPX = 0.5


def rss_bound(m):
    """8 B/px + 4 B per pixel of the largest band + row and per-instance scratch + 64 KiB of page rounding."""
    return 8 * m["pixels"] + 4 * m["band_max"] + 52 * m["width"] + 16 * m["instances"] + 65536


def fdur(sec):
    return "≈%.0f s" % sec if sec < 90 else "≈%.0f min" % (sec / 60)


def render(res, meta):
    t = {}
    lc = {c["name"]: c for c in res["loss_cases"]}
    main = [c for c in res["loss_cases"] if c["table"] == "main"]
    # losses and metrics, one column group per size
    specs = [r["spec"] for r in main[0]["rows"]]
    head = ["loss / metric"]
    for c in main:
        head += ["%d² segloss ms" % c["side"], "NumPy ms", "ratio"]
    rows = []
    for i, s in enumerate(specs):
        row = ["`%s`%s" % (s.split(":", 1)[1], " (metric)" if s.startswith("metric:") else "")]
        for c in main:
            r = c["rows"][i]
            row += [fms(r["segloss"]), fms(r["py"]) + ("" if r["py_n"] > 1 else "¹"), fx(r["py"] / r["segloss"])]
        rows.append(row)
    row = ["**13 per-pixel losses, one request**"]
    for c in main:
        a = c["per_pixel_together"]
        row += [fms(a["segloss"]), fms(a["py"]) + "²", fx(a["py"] / a["segloss"])]
    rows.append(row)
    t["LOSS_TABLE"] = table(head, rows)

    fl = [c for c in res["loss_cases"] if c["table"] == "float"]
    rows = []
    if fl:
        c8 = [c for c in main if c["side"] == 1024][0]
        c = fl[0]
        by8 = {r["spec"]: r for r in c8["rows"]}
        for r in c["rows"]:
            if r["spec"] not in PER_PIXEL:
                continue
            r8 = by8[r["spec"]]
            rows.append(["`%s`" % r["spec"][5:], fms(r8["segloss"]), fms(r["segloss"]), fms(r["py"]),
                         fx(r["py"] / r["segloss"])])
        a = c["per_pixel_together"]
        rows.append(["**all 13, one request**", fms(c8["per_pixel_together"]["segloss"]), fms(a["segloss"]),
                     fms(a["py"]) + "²", fx(a["py"] / a["segloss"])])
    t["FLOAT_TABLE"] = table(["loss (1024²)", "segloss ms, 8-bit p", "segloss ms, float32 p", "NumPy ms",
                              "ratio (float32 p)"], rows)

    d4 = [c for c in res["loss_cases"] if c["table"] == "dist4096"]
    rows = []
    for c in d4:
        for r in c["rows"]:
            rows.append(["`%s`" % r["spec"].split(":", 1)[1], fms(r["segloss"]), fms(r["py"]) +
                         ("" if r["py_n"] > 1 else "¹"), fx(r["py"] / r["segloss"])])
    t["DIST4096_TABLE"] = table(["4096², K=100", "segloss ms", "NumPy/SciPy ms", "ratio"], rows)

    rows = []
    for e in res["edt"]:
        n = e["side"] ** 2
        two = e.get("segloss2")
        rows.append(["%d²" % e["side"], "edt(fg)" if e["want"] == 0 else "edt(~fg)", fms(e["segloss"]),
                     "%.0f" % (n / e["segloss"] / 1e6), fms(two) if two else "—",
                     "%.0f" % (n / two / 1e6) if two else "—", fms(e["py"]) + ("" if e["py_n"] > 1 else "¹"),
                     "%.1f" % (n / e["py"] / 1e6), fx(e["py"] / e["segloss"]), fx(e["py"] / two) if two else "—",
                     "%.1g" % e["maxdiff"]])
    t["EDT_TABLE"] = table(["size", "transform", "segloss ms, 1 thread", "Mpx/s", "ms, 2 threads", "Mpx/s",
                            "SciPy ms", "Mpx/s", "ratio, 1 thread", "ratio, 2 threads", "max abs diff"], rows, left=2)

    rows = []
    for w in res.get("wmap_process", []):
        rows.append([str(w["k"]), "binary PNG (8-bit)" if w["kind"] == "nt" else "labels PNG (16-bit)",
                     str(w["instances"]), "%.1f" % (w["png_bytes"] / 1e3), fms(w["wall"]), fms(w["cpu"]),
                     fms(w["core"]) if w.get("core") else "—",
                     (fms(w["py"]) + ("" if w["py_n"] > 1 else "¹")) if w.get("py") else "—",
                     fx(w["py"] / w["wall"]) if w.get("py") else "—"])
    t["WMAP_PROCESS_TABLE"] = table(["K asked", "target", "instances", "PNG kB", "segloss wall ms", "CPU ms",
                                     "core ms, 1 thread", "per-instance SciPy ms", "ratio (wall)"], rows, left=2)

    mc = res.get("mclass")
    rows = []
    if mc:
        sg, pyr = mc["segloss"], mc["python"]
        tt = pyr.get("torch_threads")

        def trow(work, a, npk, tk, note):
            b = pyr.get(npk)
            c = pyr.get(tk) if tk else None
            rows.append([work, fms(a), fms(b) if b else "—", fx(b / a) if b else "—", fms(c) if c else "—",
                         fx(c / a) if c else "—", note])
        trow("7 region metrics per class + confusion, 2048×1024", sg["mc_region_s"], "numpy_region_s", None,
             "≤ 15 ms")
        rows.append(["hausdorff95 per class, 2048×1024", fms(sg["mc_hd95_s"]), "—", "—", "—", "—", "≤ 250 ms"])
        rows.append(["one vectorised read of the 19×512×1024 array", fms(sg["mc_read_s"]), "—", "—", "—", "—",
                     "the floor"])
        trow("cross_entropy + dice, 19×512×1024", sg["mc_soft_s"], "numpy_soft_s", "torch_soft_s",
             "≤ 3× the read; ≥ 10× NumPy, ≥ 3× PyTorch")
        if sg.get("mc_soft2_s"):
            trow("cross_entropy + dice, 19×512×1024, **2 threads** (wall)", sg["mc_soft2_s"], "numpy_soft_s",
                 "torch_soft_s", "the daemon's split when its pool is idle")
        trow("lovasz_softmax, 19×512×1024", sg["mc_lovasz_s"], "numpy_lovasz_s", "torch_lovasz_s",
             "≥ 10× NumPy, ≥ 3× PyTorch")
        t["TORCH_THREADS"] = "%d thread%s" % (tt, "" if tt == 1 else "s") if tt else "not installed"
    else:
        t["TORCH_THREADS"] = "not run"
    t["MCLASS_TABLE"] = table(["work", "segloss ms (1 thread)", "NumPy ms", "ratio", "PyTorch CPU ms", "ratio",
                               "goal"], rows)

    svc_ = res["service"]
    rows = []
    for m in svc_.get("memory", []):
        rows.append([str(m["conns"]), "%.1f" % (m["per_request"] / 2 ** 20), "%.1f" % (m["body"] / 2 ** 20),
                     "%.2f" % (m["beyond_body"] / m["pixels"])])
    t["MEMORY_TABLE"] = table(["requests in flight", "peak MiB a request", "its body MiB", "B/px beyond the body"],
                              rows)
    rows = []
    mb = svc_.get("mc_bodies", [])
    if mb:
        base = [b for b in mb if b["dtype"] == "float32" and b["encoding"] == "identity"][0]
        for b in mb:
            rows.append([b["dtype"], b["encoding"], "{:,}".format(b["bytes"]), "%.0f%%" % (100 * b["bytes"] / base["bytes"]),
                         "%.0f" % (b["wall"] * 1e3), "%.0f" % b["server_ms"], "%.6f" % b["losses"]["cross_entropy"],
                         "%.6f" % b["losses"]["dice"]])
    t["MC_BODIES_TABLE"] = table(["scores", "Content-Encoding", "bytes sent", "of float32", "request ms",
                                  "seglossd ms", "cross_entropy", "dice"], rows, left=2)
    rg = svc_.get("run_get")
    t["RUN_GET"] = ("%.2f ms median over 20 requests (fastest %.2f ms), after recording 500 items in one batch "
                    "request in %.1f s" % (rg["get_s"] * 1e3, rg["get_min_s"] * 1e3, rg["record_s"])) if rg else "not run"

    rows = []
    rss = {(r["side"], r["k"], r["kind"]): r for r in res["rss"]}
    for w in res["wmap"]:
        kind = "binary, non-touching" if w["kind"] == "nt" else "labels, %.0f%% touching" % (100 * w["touching"])
        py = (fms(w["py"]) + ("" if w["py_n"] > 1 else "¹")) if w.get("py") else \
            "skipped (%s)" % fdur(w["py_estimate"])
        ratio = fx(w["py"] / w["segloss"]) if w.get("py") else "—"
        m = rss.get((w["side"], w["k"], w["kind"]))
        mem = "%.1f B/px" % (m["extra_bytes"] / m["pixels"]) if m else ""
        rows.append(["%d²" % w["side"], str(w["instances"]), kind, fms(w["segloss"]),
                     "%.2f" % (w["band_pixels"] / 1e6), py, ratio, mem])
    t["WMAP_TABLE"] = table(["size", "K", "target", "segloss ms", "bands Mpx", "per-instance SciPy ms", "ratio",
                             "segloss peak extra memory"], rows, left=3)

    rows = []
    for m in res["rss"]:
        bound = rss_bound(m)
        rows.append(["%d²" % m["side"], str(m["instances"]), m["kind"].replace("nt", "binary").replace(
            "touch", "labels"), "%.1f" % (m["extra_bytes"] / 2 ** 20), "%.2f" % (m["extra_bytes"] / m["pixels"]),
                     "%.2f" % (m["band_max"] / 1e6), "%.1f" % (bound / 2 ** 20),
                     "yes" if m["extra_bytes"] <= bound else "**no**"])
    t["RSS_TABLE"] = table(["size", "K", "target", "peak extra MiB", "B/px", "largest band Mpx",
                            "bound MiB", "within"], rows, left=3)

    svc = res["service"]
    rows = []
    by = {(r["server"], r["side"], r["form"], r["conns"]): r for r in svc.get("runs", [])}
    for side in (512, 1024):
        for form in ("json", "multipart"):
            for c in (1, 8, 32):
                a, b = by.get(("seglossd", side, form, c)), by.get(("peer", side, form, c))
                if not a or not b:
                    continue
                rows.append(["%d²" % side, form, str(c), "%.0f" % a["rps"], "%.2f" % a["p50"], "%.2f" % a["p99"],
                             "%.1f" % b["rps"], "%.1f" % b["p50"], "%.1f" % b["p99"],
                             fx(a["rps"] / b["rps"]) if b["rps"] > 0 else "—",
                             fx(b["p99"] / a["p99"]) if a["p99"] > 0 and b["p99"] > 0 else "—",
                             str(a["errors"] + b["errors"])])
    t["SERVICE_TABLE"] = table(["size", "body", "conns", "seglossd req/s", "p50 ms", "p99 ms", "FastAPI req/s",
                                "p50 ms", "p99 ms", "req/s ratio", "p99 ratio", "non-2xx"], rows, left=2)
    b = svc.get("bodies", {})
    t["BODIES"] = ", ".join("%s²: target PNG %d B, prediction PNG %d B, JSON body %d B, multipart %d B"
                            % (s, v["target_png"], v["pred_png"], v["json"], v["multipart"]) for s, v in b.items())
    t["SEGLOSSD"] = svc.get("seglossd", "")
    t["PEER"] = svc.get("peer", "")

    # targets: every goal, its figure, met or not (None: reported, no bound); kept for the history too
    goals = []

    def goal(key, label, figure, ok, short=None):
        goals.append({"key": key, "label": label, "figure": figure, "met": ok, "short": short or figure})

    def mark(ok):
        return "reported" if ok is None else "**met**" if ok else "**not met**"

    def cell(side, form, c):
        a, b = by.get(("seglossd", side, form, c)), by.get(("peer", side, form, c))
        return (a, b) if a and b else None

    js = [(c, cell(512, "json", c)) for c in (1, 8, 32) if cell(512, "json", c)]
    if js:
        r = [(c, a["rps"] / b["rps"] if b["rps"] > 0 else float("inf")) for c, (a, b) in js]
        goal("svc_json_10x", "JSON `/v1/evaluate` 512² bce+dice ≥ 10× the FastAPI peer at 1, 8 and 32 connections",
             ", ".join("%s at %d" % (fx(x), c) for c, x in r), all(x >= 10 for _, x in r),
             " / ".join(fx(x) for _, x in r))
    j1, m1 = cell(512, "json", 1), cell(512, "multipart", 1)
    if j1 and m1:
        q = m1[0]["rps"] / j1[0]["rps"]
        goal("svc_json_vs_multipart", "JSON at one connection within 1.3× of the same request as multipart",
             "multipart %.0f req/s, JSON %.0f req/s: %.2f×" % (m1[0]["rps"], j1[0]["rps"], q), q <= 1.3, "%.2f×" % q)
    sv = [(by[("seglossd", 512, f, c)], by[("peer", 512, f, c)]) for f in ("json", "multipart") for c in (1, 8, 32)
          if ("seglossd", 512, f, c) in by and ("peer", 512, f, c) in by]
    if sv:
        ratios = [a["rps"] / b["rps"] if b["rps"] > 0 else float("inf") for a, b in sv]
        p99ok = all(a["p99"] < b["p99"] for a, b in sv)
        goal("svc_8x", "seglossd req/s ≥ 8× the FastAPI peer, 512² bce+dice, lower p99 at every concurrency",
             "req/s ratio %s to %s over JSON and multipart at 1, 8, 32 connections; p99 lower in %d of %d"
             % (fx(min(ratios)), fx(max(ratios)), sum(a["p99"] < b["p99"] for a, b in sv), len(sv)),
             min(ratios) >= 8 and p99ok, "%s to %s" % (fx(min(ratios)), fx(max(ratios))))
    mem = res["service"].get("memory")
    if mem:
        worst = max(mem, key=lambda m: m["beyond_body"])
        goal("svc_memory", "peak RSS per in-flight 1024² request ≤ 8 B/px beyond its body",
             "; ".join("%.2f B/px with %d in flight" % (m["beyond_body"] / m["pixels"], m["conns"]) for m in mem),
             worst["beyond_body"] / worst["pixels"] <= 8, "%.2f B/px" % (worst["beyond_body"] / worst["pixels"]))
    wp = res.get("wmap_process", [])
    for k, bound in ((100, 300), (1000, 1000)):
        ws = [w for w in wp if w["k"] == k and w.get("py")]
        if ws:
            goal("wmap_process_%d" % k, "whole-process `segloss weight-map` 1024², K=%d: ≥ %s× the per-instance "
                 "SciPy code" % (k, "{:,}".format(bound)),
                 ", ".join("%s (%s, %.1f ms)" % (fx(w["py"] / w["wall"]), "binary PNG" if w["kind"] == "nt" else
                                                  "16-bit label PNG", w["wall"] * 1e3) for w in ws),
                 all(w["py"] / w["wall"] >= bound for w in ws), " / ".join(fx(w["py"] / w["wall"]) for w in ws))
    for k, bound in ((100, 150), (1000, 500)):
        ws = [w for w in res["wmap"] if w["side"] == 1024 and w["k"] == k and w.get("py")]
        if ws:
            r = [(w["py"] / w["segloss"], w["kind"]) for w in ws]
            goal("wmap_core_%d" % k, "weight map in the core (one thread) 1024², K=%d: ≥ %d× the per-instance "
                 "SciPy code" % (k, bound), ", ".join("%s (%s)" % (fx(x), "binary" if kd == "nt" else "touching labels")
                                                      for x, kd in r), all(x >= bound for x, _ in r),
                 " / ".join(fx(x) for x, _ in r))
    if res["rss"]:
        ok = all(m["extra_bytes"] <= rss_bound(m) for m in res["rss"])
        worst = max(res["rss"], key=lambda m: m["extra_bytes"] / m["pixels"])
        goal("wmap_memory", "weight map peak memory ≤ 8 B/px plus the bands",
             "at most %.2f B/px beyond input and output (%d² K=%d %s, largest band %.2f Mpx); "
             "within the bound in %d of %d cases"
             % (worst["extra_bytes"] / worst["pixels"], worst["side"], worst["k"],
                "binary" if worst["kind"] == "nt" else "labels", worst["band_max"] / 1e6,
                sum(m["extra_bytes"] <= rss_bound(m) for m in res["rss"]), len(res["rss"])), ok,
             "%.2f B/px" % (worst["extra_bytes"] / worst["pixels"]))
    ed = [e for e in res["edt"] if 512 <= e["side"] <= 4096]
    if ed:
        def name(e):
            return "%d² %s" % (e["side"], "edt(fg)" if e["want"] == 0 else "edt(~fg)")
        mp2 = [(e["side"] ** 2 / e["segloss2"] / 1e6, e) for e in ed if e.get("segloss2")]
        mp1 = [(e["side"] ** 2 / e["segloss"] / 1e6, e) for e in ed]
        if mp2:
            lo2 = min(mp2, key=lambda x: x[0])
            lo1 = min(mp1, key=lambda x: x[0])
            goal("edt_mpx", "EDT ≥ 100 Mpx/s in both directions, 512² to 4096²",
                 "2 threads: lowest %.0f Mpx/s (%s); 1 thread: lowest %.0f Mpx/s (%s)"
                 % (lo2[0], name(lo2[1]), lo1[0], name(lo1[1])), lo2[0] >= 100,
                 "%.0f (2 thr.) / %.0f (1 thr.) Mpx/s" % (lo2[0], lo1[0]))
            r2 = [(e["py"] / e["segloss2"], e) for e in ed if e.get("segloss2")]
            lo = min(r2, key=lambda x: x[0])
            goal("edt_8x_2t", "EDT ≥ 8× scipy.ndimage.distance_transform_edt using both cores, 512² to 4096²",
                 "2 threads: %s to %s (lowest: %s)" % (fx(lo[0]), fx(max(x for x, _ in r2)), name(lo[1])),
                 all(x >= 8 for x, _ in r2), "≥ %s" % fx(lo[0]))
        r1 = [(e["py"] / e["segloss"], e) for e in ed]
        lo = min(r1, key=lambda x: x[0])
        goal("edt_6x_1t", "EDT ≥ 6× scipy.ndimage.distance_transform_edt on one core, 512² to 4096²",
             "1 thread: %s to %s (lowest: %s)" % (fx(lo[0]), fx(max(x for x, _ in r1)), name(lo[1])),
             all(x >= 6 for x, _ in r1), "≥ %s" % fx(lo[0]))
    hd = []
    for c in res["loss_cases"]:
        if c["table"] in ("main", "dist4096"):
            for r in c["rows"]:
                if r["spec"] == "metric:hausdorff95":
                    hd.append((r["py"] / r["segloss"], c["side"]))
    if hd:
        goal("hd95_8x", "hausdorff95 ≥ 8× the medpy-style code",
             ", ".join("%s at %d²" % (fx(x), s) for x, s in hd), all(x >= 8 for x, _ in hd),
             "≥ %s" % fx(min(x for x, _ in hd)))
    c1024 = [c for c in main if c["side"] == 1024]
    if c1024:
        c = c1024[0]
        lim = 3 * BAND_FLOOR_MS_PER_MPX * (1024 * 1024 / 1e6) / 1e3
        pp = [r for r in c["rows"] if r["spec"] in PER_PIXEL]
        worst = max(pp, key=lambda r: r["segloss"])
        over = [r["spec"][5:] for r in pp if r["segloss"] > lim]
        txt = "slowest `%s` %.3f ms (limit %.2f ms = 3 × 0.5 ms/Mpx × 1.05 Mpx)" % (
            worst["spec"][5:], worst["segloss"] * 1e3, lim * 1e3)
        def overs(names):
            return "all 13 over" if len(names) == len(PER_PIXEL) else "over: " + ", ".join("`%s`" % o for o in names)

        if over:
            txt += "; " + overs(over)
        if fl:
            fpp = [r for r in fl[0]["rows"] if r["spec"] in PER_PIXEL]
            fw = max(fpp, key=lambda r: r["segloss"])
            fover = [r["spec"][5:] for r in fpp if r["segloss"] > lim]
            txt += ". With a float32 (not 8-bit) prediction: slowest `%s` %.3f ms%s" % (
                fw["spec"][5:], fw["segloss"] * 1e3,
                "; " + overs(fover) if fover else ", all within")
        goal("per_pixel_floor", "every per-pixel loss at 1024² within 3× the memory-bandwidth floor (0.5 ms/Mpx), "
             "8-bit predictions", txt, not over, "slowest %.2f ms" % (worst["segloss"] * 1e3))
    mc = res.get("mclass")
    if mc:
        sg, pyr = mc["segloss"], mc["python"]
        goal("mc_region", "label maps 2048×1024, C = 19: every region metric per class + confusion ≤ 15 ms, one core",
             "%.2f ms" % (sg["mc_region_s"] * 1e3), sg["mc_region_s"] <= 0.015)
        goal("mc_hd95", "per-class hausdorff95 on the same maps ≤ 250 ms, one core", "%.1f ms" % (sg["mc_hd95_s"] * 1e3),
             sg["mc_hd95_s"] <= 0.250)
        goal("mc_soft_read", "19×512×1024 float32 probabilities: cross_entropy + dice ≤ 3× one vectorised read",
             "%.2f ms = %.2f× the read (%.2f ms)" % (sg["mc_soft_s"] * 1e3, sg["mc_soft_s"] / sg["mc_read_s"],
                                                      sg["mc_read_s"] * 1e3), sg["mc_soft_s"] <= 3 * sg["mc_read_s"],
             "%.2f× the read" % (sg["mc_soft_s"] / sg["mc_read_s"]))
        soft2 = sg.get("mc_soft2_s")
        best = min(sg["mc_soft_s"], soft2) if soft2 else sg["mc_soft_s"]
        goal("mc_soft_numpy", "cross_entropy + dice ≥ 10× NumPy", "%s on 1 thread%s (NumPy %.1f ms, 1 thread)" % (
            fx(pyr["numpy_soft_s"] / sg["mc_soft_s"]),
            ", %s on 2 threads (%.2f ms wall)" % (fx(pyr["numpy_soft_s"] / soft2), soft2 * 1e3) if soft2 else "",
            pyr["numpy_soft_s"] * 1e3),
             pyr["numpy_soft_s"] / best >= 10, "%s (%d thr.)" % (fx(pyr["numpy_soft_s"] / best),
                                                               2 if soft2 and soft2 < sg["mc_soft_s"] else 1))
        if "torch_soft_s" in pyr:
            goal("mc_soft_torch", "cross_entropy + dice ≥ 3× PyTorch CPU", "%s (PyTorch %.1f ms, %d thread%s)" % (
                fx(pyr["torch_soft_s"] / sg["mc_soft_s"]), pyr["torch_soft_s"] * 1e3, pyr["torch_threads"],
                "" if pyr["torch_threads"] == 1 else "s"), pyr["torch_soft_s"] / sg["mc_soft_s"] >= 3,
                fx(pyr["torch_soft_s"] / sg["mc_soft_s"]))
        lov_np = pyr["numpy_lovasz_s"] / sg["mc_lovasz_s"]
        lov_t = pyr["torch_lovasz_s"] / sg["mc_lovasz_s"] if "torch_lovasz_s" in pyr else None
        goal("mc_lovasz", "lovasz_softmax on the same probabilities ≥ 10× NumPy and ≥ 3× PyTorch CPU (1 thread)",
             "%.0f ms: %s NumPy (%.0f ms)%s" % (sg["mc_lovasz_s"] * 1e3, fx(lov_np), pyr["numpy_lovasz_s"] * 1e3,
                                               ", %s PyTorch (%.0f ms)" % (fx(lov_t), pyr["torch_lovasz_s"] * 1e3)
                                               if lov_t else ""),
             lov_np >= 10 and (lov_t is None or lov_t >= 3), "%s NumPy" % fx(lov_np))
    rg = res["service"].get("run_get")
    if rg:
        goal("runs_get_500", "a run of 500 multi-class items (C = 19): GET /v1/runs/{run} ≤ 20 ms",
             "%.2f ms (median of 20; fastest %.2f ms)" % (rg["get_s"] * 1e3, rg["get_min_s"] * 1e3), rg["get_s"] <= 0.020,
             "%.2f ms" % (rg["get_s"] * 1e3))
    mb = res["service"].get("mc_bodies")
    if mb:
        base = [b for b in mb if b["dtype"] == "float32" and b["encoding"] == "identity"][0]
        best = min(mb, key=lambda b: b["bytes"])
        goal("mc_bodies", "smaller bodies: a 19-class 512×1024 request as float32, float16, uint8, gzip, zstd",
             "%s: %.1f MB → %s %s: %.1f MB (%.0f%% fewer bytes), %.0f → %.0f ms" % (
                 "float32", base["bytes"] / 1e6, best["dtype"], best["encoding"], best["bytes"] / 1e6,
                 100 * (1 - best["bytes"] / base["bytes"]), base["wall"] * 1e3, best["wall"] * 1e3), None,
             "%.1f → %.1f MB" % (base["bytes"] / 1e6, best["bytes"] / 1e6))
    res["goals"] = goals
    t["TARGETS_TABLE"] = table(["goal", "measured", ""], [[g["label"], g["figure"], mark(g["met"])] for g in goals],
                               left=3)

    ins = sorted(res["inputs"], key=lambda v: (v["side"], v["k"], v["kind"]))
    t["INPUTS_TABLE"] = table(["size", "K asked", "instances", "kind", "foreground", "instances touching another"],
                              [["%d²" % v["side"], str(v["k"]), str(v["placed"]),
                                "binary 0/1 (components)" if v["kind"] == "nt" else "16-bit labels",
                                "%.0f%%" % (100 * v["fg"]),
                                "—" if v["kind"] == "nt" else "%.0f%%" % (100 * v["touching"])] for v in ins])
    ag = res["agreement"]
    t["AGREEMENT"] = "%d of %d loss and metric values on %d inputs (%s)" % (
        sum(v["values"] for v in ag.values()), sum(v["of"] for v in ag.values()), len(ag),
        "; ".join("%s: %d" % (k, v["of"]) for k, v in ag.items()))
    nmaps = len(res["edt"]) + sum(1 for w in res["wmap"] if w.get("py"))
    worst_map = max([e["maxdiff"] for e in res["edt"]] + [w["maxdiff"] for w in res["wmap"] if w.get("py")])
    t["MAPS_AGREEMENT"] = "%d maps (%d EDTs, %d weight maps), largest absolute difference %.2g" % (
        nmaps, len(res["edt"]), nmaps - len(res["edt"]), worst_map)
    skipped = [w for w in res["wmap"] if not w.get("py")]
    t["SKIPPED"] = ("; ".join("%d² K=%d %s (%s%s)" % (w["side"], w["k"], "binary" if w["kind"] == "nt" else
                                                       "labels", fdur(w["py_estimate"]),
                                                       ", over the run's budget" if w.get("skip_reason") ==
                                                       "run budget" else "") for w in skipped)
                    or "none")
    m = meta["machine"]
    t["MACHINE"] = ("%s, %s CPUs (%s thread per core%s), %s memory; %s, Linux %s; %s" % (
        m["cpu"], m["cpus"], m["threads_per_core"], ", %s guest" % m["hypervisor"] if m["hypervisor"] != "?" else "",
        m["memory"], m["os"], m["kernel"], m["cc"]))
    t["VERSIONS"] = ("Python %s, NumPy %s, SciPy %s, scikit-image %s, Pillow %s, FastAPI %s, Starlette %s, "
                     "uvicorn %s, %s (Debian packages)" % (m["python"], m["numpy"], m["scipy"], m["skimage"],
                                                           m["pillow"], m["fastapi"], m["starlette"], m["uvicorn"],
                                                           m["wrk"]))
    t["STARTED"] = meta["started"]
    t["FINISHED"] = meta["finished"]
    t["DURATION"] = "%.1f min" % (meta["seconds"] / 60)
    t["COMMIT"] = m["commit"]
    t["COMMAND"] = meta["command"]
    t["RESULTS"] = meta["results"]
    knobs = meta.get("knobs", {})
    t["WRK_SECONDS"] = str(knobs.get("wrk_seconds", WRK_SECONDS))
    t["WRK_WARMUP"] = str(knobs.get("wrk_warmup", WRK_WARMUP))
    t["PY_SLOW"] = "%g" % knobs.get("py_slow", PY_SLOW)
    t["PY_WMAP_MAX"] = "%g" % knobs.get("py_wmap_max", PY_WMAP_MAX)
    t["PY_WMAP_BUDGET"] = "%g" % knobs.get("py_wmap_budget", PY_WMAP_BUDGET)
    loads = meta.get("load", {})
    t["LOAD"] = ", ".join("%s %s" % (k, " / ".join("%.2f" % x for x in v)) for k, v in loads.items()) or "?"
    return t


HISTORY = os.path.join(HERE, "history.json")
HISTORY_KEEP = 12   # runs kept in history.json
HISTORY_SHOWN = 5   # runs side by side in the page


def history_entry(res, meta):
    return {"started": meta["started"], "commit": meta["machine"]["commit"],
            "load": meta.get("load", {}).get("at the start"),
            "goals": {g["key"]: {"label": g["label"], "short": g["short"], "met": g["met"]} for g in res["goals"]}}


def history_table(hist, current_goals):
    """Goals as rows (this run's order, then goals only older runs had), the last runs as columns, newest first."""
    runs = hist[-HISTORY_SHOWN:][::-1]
    keys = [g["key"] for g in current_goals]
    for r in runs:
        keys += [k for k in r["goals"] if k not in keys]
    head = ["goal"] + ["%s `%s`%s" % (r["started"][:10], r["commit"],
                                      " (load %.1f)" % r["load"][0] if r.get("load") else "") for r in runs]
    rows = []
    for k in keys:
        label = next((r["goals"][k]["label"] for r in runs if k in r["goals"]), k)
        row = [label]
        for r in runs:
            g = r["goals"].get(k)
            row.append("—" if g is None else "%s%s" % (g["short"], "" if g["met"] is None else
                                                        " ✓" if g["met"] else " ✗"))
        rows.append(row)
    return table(head, rows)


def write_doc(template, out, fields):
    text = open(template).read()

    def sub(m):
        return fields.get(m.group(1), m.group(0))

    text = re.sub(r"\{\{([A-Z0-9_]+)\}\}", sub, text)
    missing = re.findall(r"\{\{([A-Z0-9_]+)\}\}", text)
    if missing:
        raise RuntimeError("template fields without a value: %s" % missing)
    with open(out + ".tmp", "w") as f:
        f.write(text)
    os.replace(out + ".tmp", out)


def print_summary(fields):
    for key, title in (("LOSS_TABLE", "losses and metrics (single thread, medians)"),
                       ("FLOAT_TABLE", "per-pixel losses with a float32 prediction, 1024²"),
                       ("DIST4096_TABLE", "distance work at 4096²"), ("EDT_TABLE", "EDT"),
                       ("WMAP_TABLE", "U-Net weight map"), ("RSS_TABLE", "weight-map memory"),
                       ("SERVICE_TABLE", "service (wrk)"), ("WMAP_PROCESS_TABLE", "segloss weight-map, whole process"),
                       ("MEMORY_TABLE", "memory per request"), ("MC_BODIES_TABLE", "19-class bodies"),
                       ("MCLASS_TABLE", "multi-class"), ("HISTORY_TABLE", "the last runs"),
                       ("TARGETS_TABLE", "goals")):
        print("\n== %s\n%s" % (title, fields[key]))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--render":
        # re-render the page from a finished run's results.json (for editing the template)
        work, doc = sys.argv[2:]
        with open(os.path.join(work, "results.json")) as f:
            res = json.load(f)
        fields = render(res, res["meta"])
        hist = json.load(open(HISTORY)) if os.path.exists(HISTORY) else []
        fields["HISTORY_TABLE"] = history_table(hist, res["goals"])
        write_doc(os.path.join(HERE, "performance.md.in"), doc, fields)
        return 0
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    build, work, doc = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    b = Bench(build, work)
    # After each stage the run's state is kept in WORK_DIR/state.pickle; COMPARE_RESUME=1 continues
    # a run that stopped (a crash late in a 25-minute run) from the first stage it had not finished.
    state = os.path.join(work, "state.pickle")
    if os.environ.get("COMPARE_RESUME") == "1" and os.path.exists(state):
        with open(state, "rb") as f:
            b, started = pickle.load(f)
        log("resuming after: %s" % ", ".join(b.done))
    stages = ["stage_inputs", "stage_check_losses", "stage_check_edt", "stage_check_wmap", "stage_time_core",
              "stage_process_wmap", "stage_mclass", "stage_service", "stage_service_extra"]
    try:
        for name in stages:
            if name in getattr(b, "done", []):
                continue
            getattr(b, name)()
            b.done = getattr(b, "done", []) + [name]
            with open(state + ".tmp", "wb") as f:
                pickle.dump((b, started), f)
            os.replace(state + ".tmp", state)
    except Disagreement:
        return 1
    b.loads["at the end"] = os.getloadavg()
    finished = datetime.datetime.now(datetime.timezone.utc)
    meta = {"machine": machine(), "started": started.strftime("%Y-%m-%d %H:%M UTC"),
            "finished": finished.strftime("%Y-%m-%d %H:%M UTC"), "seconds": time.time() - T0,
            "command": os.environ.get("COMPARE_COMMAND", "bench/compare/run.sh %s" % build),
            "results": os.path.join(work, "results.json"), "load": b.loads,
            "knobs": {"wrk_seconds": WRK_SECONDS, "wrk_warmup": WRK_WARMUP, "py_slow": PY_SLOW,
                      "py_wmap_max": PY_WMAP_MAX, "py_wmap_budget": PY_WMAP_BUDGET}}
    b.res["meta"] = meta
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(b.res, f, indent=1, default=str)
    fields = render(b.res, meta)
    hist = json.load(open(HISTORY)) if os.path.exists(HISTORY) else []
    hist = (hist + [history_entry(b.res, meta)])[-HISTORY_KEEP:]
    with open(HISTORY + ".tmp", "w") as f:
        json.dump(hist, f, indent=1, ensure_ascii=False)
    os.replace(HISTORY + ".tmp", HISTORY)
    fields["HISTORY_TABLE"] = history_table(hist, b.res["goals"])
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(b.res, f, indent=1, default=str)
    print_summary(fields)
    write_doc(os.path.join(HERE, "performance.md.in"), doc, fields)
    log("wrote %s and %s" % (doc, os.path.join(work, "results.json")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
