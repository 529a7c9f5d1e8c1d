"""
peer_app.py -- the service a Python user would write instead of seglossd:
FastAPI + Pillow + NumPy/SciPy, answering POST /v1/evaluate with the same
work and the same JSON as seglossd for the cases `make bench-compare`
drives (a target and a prediction, as base64 PNG in JSON or as multipart
files, and a list of losses and metrics by name with default parameters).

    uvicorn peer_app:app --app-dir bench/compare --workers 2 --loop uvloop --http httptools

The numbers come from pyseg.py, the same NumPy code the core comparison
checks against segloss. Handlers are `async def` and parse the body
directly (json.loads, Starlette's form parser): the fastest plain FastAPI
way, with no Pydantic model to validate a megabyte of base64.
"""
import base64
import binascii
import io
import json

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from PIL import Image

import pyseg

app = FastAPI()


def problem(status, detail):
    return JSONResponse({"type": "about:blank", "status": status, "detail": detail}, status_code=status,
                        media_type="application/problem+json")


def decode_png(data):
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im)


def b64(field):
    if isinstance(field, dict):
        field = field.get("png") or field.get("data") or ""
    if field.startswith("data:"):
        field = field.split(",", 1)[1]
    return base64.b64decode(field, validate=True)


def names(value):
    """A list from JSON (["bce", ...]) or a form field ("bce,dice" or "[]")."""
    if isinstance(value, list):
        return [v if isinstance(v, str) else v["name"] for v in value]
    value = (value or "").strip()
    if value.startswith("["):
        return names(json.loads(value))
    return [v.strip() for v in value.split(",") if v.strip()]


def evaluate_arrays(target, pred, losses, metrics):
    if target.shape[:2] != pred.shape[:2]:
        raise ValueError("prediction is %dx%d but target is %dx%d" % (pred.shape[1], pred.shape[0],
                                                                     target.shape[1], target.shape[0]))
    if pred.dtype != np.uint8 or pred.ndim != 2:
        raise ValueError("prediction must be an 8-bit grey PNG")
    case = pyseg.Case(target, pred / 255.0)
    out = {"width": int(target.shape[1]), "height": int(target.shape[0]), "losses": {}, "metrics": {},
           "warnings": [], "maps": {}}
    for name in losses:
        if name not in pyseg.LOSSES:
            raise ValueError("unknown loss '%s'" % name)
        out["losses"][name] = pyseg.LOSSES[name](case)
    for name in metrics:
        if name not in pyseg.METRICS:
            raise ValueError("unknown metric '%s'" % name)
        v = pyseg.METRICS[name](case)
        out["metrics"][name] = v
        if v is None:
            out["warnings"].append("metric '%s' is null" % name)
    return out


@app.post("/v1/evaluate")
async def evaluate(request: Request):
    ctype = request.headers.get("content-type", "")
    try:
        if ctype.startswith("application/json"):
            body = json.loads(await request.body())
            target = decode_png(b64(body["target"]))
            pred = decode_png(b64(body["prediction"]))
            losses = names(body.get("losses", ["bce", "dice"]))
            metrics = names(body.get("metrics", []))
        elif ctype.startswith("multipart/form-data"):
            form = await request.form()
            target = decode_png(await form["target"].read())
            pred = decode_png(await form["prediction"].read())
            losses = names(form.get("losses", "bce,dice"))
            metrics = names(form.get("metrics", ""))
        else:
            return problem(415, "send application/json or multipart/form-data")
    except (KeyError, ValueError, binascii.Error, OSError) as e:
        return problem(400, "bad request: %s" % e)
    try:
        return JSONResponse(evaluate_arrays(target, pred, losses, metrics))
    except ValueError as e:
        return problem(422, str(e))


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}
