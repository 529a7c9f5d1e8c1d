"""Checks what tests/browser/page.html read, as dumped by headless Chromium.

    check.py allowed PAGE_DUMP CLI_JSON   every call worked, same numbers as the CLI
    check.py refused PAGE_DUMP            the browser kept the page out
"""
import html
import json
import re
import sys


def page_result(path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r'<pre id="out">(.*?)</pre>', text, re.S)
    if not m:
        sys.exit(f"no #out in the page dump:\n{text[:2000]}")
    body = html.unescape(m.group(1))
    if body == "pending":
        sys.exit("the page never finished (still 'pending')")
    return json.loads(body)


failures = 0


def check(name, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    failures += 0 if ok else 1


def same(a, b):
    return a is not None and b is not None and abs(a - b) <= 1e-12 * max(1.0, abs(b))


mode, dump = sys.argv[1], sys.argv[2]
out = page_result(dump)
if mode == "refused":
    check("a page from another origin cannot read the API (no CORS grant)",
          out.get("outcome", "").startswith("error TypeError"), out.get("outcome"))
    sys.exit(1 if failures else 0)

cli = json.load(open(sys.argv[3], encoding="utf-8"))
check("every call completed", out.get("outcome") == "ok", out.get("outcome"))
for form in ("multipart", "json"):
    r = out.get(form, {})
    body = r.get("body", {})
    check(f"{form} evaluate answers 200", r.get("status") == 200, r)
    for kind, key in (("losses", "bce"), ("losses", "dice"), ("metrics", "iou")):
        got, want = body.get(kind, {}).get(key), cli[kind][key]
        check(f"{form} {kind}.{key} = CLI's {want}", same(got, want), f"got {got}")
m = out.get("multipart", {})
check("X-Request-Id is readable (exposed)", bool(m.get("request_id")), m)
e = out.get("error", {})
check("a bad request is a readable problem+json 400",
      e.get("status") == 400 and e.get("type", "").startswith("application/problem+json")
      and "base64" in e.get("body", {}).get("detail", ""), e)
r = out.get("run", {})
check("the stored run is readable, with its ETag exposed",
      r.get("status") == 200 and r.get("etag") and r.get("body", {}).get("count") == 1, r)
check("polling with If-None-Match answers 304", out.get("poll", {}).get("status") == 304, out.get("poll"))
n = out.get("nokey", {})
check("without the key: 401 with its Bearer challenge readable",
      n.get("status") == 401 and (n.get("challenge") or "").startswith("Bearer"), n)
sys.exit(1 if failures else 0)
