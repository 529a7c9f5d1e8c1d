#!/usr/bin/env python3
"""gen_golden.py — record the first version's answers to binary requests.

Binary requests whose prediction is a probability image must be answered
byte for byte as the first version answered them (only inputs it misread
may change). This script runs an older build's `segloss eval` and
`seglossd` over every binary fixture case of tests/fixtures/cases.json
(each case's losses and metrics, with and without the weight and BCE
maps) and writes what they printed and answered to
tests/fixtures/golden/answers.json; tests/contract/golden.mjs (run by
`make test`) asks the current build the same and compares the bytes.

    python3 tests/ref/gen_golden.py OLD/segloss OLD/seglossd

The committed file was recorded with the build of commit fa3d943 (the
first version). Only the standard library is used. Answers longer than
2 KB (those holding maps) are kept as their SHA-256 and length.
"""
import base64
import hashlib
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

CASES = "tests/fixtures/cases.json"
OUT = "tests/fixtures/golden/answers.json"
PORT = 18611
KEEP = 2048
urllib.request.install_opener(urllib.request.build_opener(urllib.request.ProxyHandler({})))


def specs(case):
    """Each case's spec strings; parameterised ones get an alias so keys stay distinct."""
    out = {}
    for sec in ("losses", "metrics"):
        out[sec] = [k if ":" not in k else "%s,as=%s_%d" % (k, k.split(":")[0], i)
                    for i, k in enumerate(case.get(sec, {}))]
    return out


def strip_timing(b):
    return re.sub(rb',"timing_ms":\{[^}]*\}', b"", b)


def answer(b):
    if len(b) <= KEEP:
        return {"answer": b.decode()}
    return {"sha256": hashlib.sha256(b).hexdigest(), "length": len(b), "head": b[:200].decode()}


def main():
    old_cli, old_daemon = sys.argv[1], sys.argv[2]
    cases = [c for c in json.load(open(CASES))["cases"]]
    cli, http = [], []
    for c in cases:
        s = specs(c)
        flags = [("--loss", k) for k in s["losses"]] + [("--metric", k) for k in s["metrics"]]
        for i in range(0, len(flags), 60):
            args = ["eval", "--target", c["target"], "--prediction", c["prediction"]]
            if c.get("logits"):
                args.append("--logits")
            for f, k in flags[i:i + 60]:
                args += [f, k]
            r = subprocess.run([old_cli] + args, capture_output=True, check=True)
            cli.append({"case": c["name"], "args": args, "stdout": r.stdout.decode()})
    d = subprocess.Popen([old_daemon, "--port", str(PORT), "--bind", "127.0.0.1", "--db", "off"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/healthz" % PORT)
                break
            except OSError:
                time.sleep(0.05)
        for c in cases:
            s = specs(c)
            t = base64.b64encode(open(c["target"], "rb").read()).decode()
            p = base64.b64encode(open(c["prediction"], "rb").read()).decode()
            for maps in ([], ["weight", "bce"]):
                for i in range(0, max(len(s["losses"]), len(s["metrics"])), 30):
                    body = {"losses": s["losses"][i:i + 30], "metrics": s["metrics"][i:i + 30]}
                    if maps:
                        body["maps"] = maps
                    if c.get("logits"):
                        body["logits"] = True
                    req = urllib.request.Request("http://127.0.0.1:%d/v1/evaluate" % PORT,
                                                 data=json.dumps(dict(body, target=t, prediction=p)).encode(),
                                                 headers={"Content-Type": "application/json"})
                    try:
                        with urllib.request.urlopen(req) as f:
                            status, b = f.status, f.read()
                    except urllib.error.HTTPError as e:
                        status, b = e.code, e.read()
                    http.append(dict({"case": c["name"], "target": c["target"], "prediction": c["prediction"],
                                      "body": body, "status": status}, **answer(strip_timing(b))))
    finally:
        d.terminate()
        d.wait()
    with open(OUT, "w") as f:
        json.dump({"recorded_with": "segloss and seglossd 0.1.0, commit fa3d943 (the first version)",
                   "generator": "tests/ref/gen_golden.py", "timing_ms": "removed from answers before comparing",
                   "cli": cli, "http": http}, f, indent=1)
        f.write("\n")
    print("%s: %d CLI runs, %d requests" % (OUT, len(cli), len(http)))


if __name__ == "__main__":
    main()
