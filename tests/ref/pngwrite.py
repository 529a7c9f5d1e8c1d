"""
pngwrite.py -- a small, deterministic PNG encoder (zlib + struct only).

Writes any colour type / bit depth combination PNG allows, optionally Adam7
interlaced, with the row filter chosen per row (cycling through None, Sub,
Up, Average, Paeth by default so a decoder sees every filter type).
"""
import struct
import zlib

import numpy as np

GREY, RGB, PALETTE, GREY_ALPHA, RGBA = 0, 2, 3, 4, 6
_CHANNELS = {GREY: 1, RGB: 3, PALETTE: 1, GREY_ALPHA: 2, RGBA: 4}
_ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
          (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def _pack_row(samples, bit_depth):
    """samples: 1-D array of channel samples for one row -> bytes."""
    s = np.asarray(samples, dtype=np.int64)
    if bit_depth == 16:
        return s.astype(">u2").tobytes()
    if bit_depth == 8:
        return s.astype(np.uint8).tobytes()
    per = 8 // bit_depth
    out = bytearray((len(s) + per - 1) // per)
    for i, v in enumerate(s.tolist()):
        out[i // per] |= v << (8 - bit_depth * (i % per + 1))
    return bytes(out)


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    if pb <= pc:
        return b
    return c


def _filter(ftype, raw, prior, bpp):
    out = bytearray(len(raw))
    for i in range(len(raw)):
        a = raw[i - bpp] if i >= bpp else 0
        b = prior[i]
        c = prior[i - bpp] if i >= bpp else 0
        if ftype == 0:
            pred = 0
        elif ftype == 1:
            pred = a
        elif ftype == 2:
            pred = b
        elif ftype == 3:
            pred = (a + b) // 2
        else:
            pred = _paeth(a, b, c)
        out[i] = (raw[i] - pred) & 0xFF
    return bytes([ftype]) + bytes(out)


def _scanlines(img, bit_depth, channels, filters, row0):
    """img: (h, w, channels) int array -> filtered scanline bytes."""
    h, w = img.shape[:2]
    bpp = max(1, channels * bit_depth // 8)
    prior = bytes(len(_pack_row(np.zeros(w * channels), bit_depth)))
    out = bytearray()
    for r in range(h):
        raw = _pack_row(img[r].reshape(-1), bit_depth)
        ftype = filters if isinstance(filters, int) else (row0 + r) % 5
        out += _filter(ftype, raw, prior, bpp)
        prior = raw
    return bytes(out)


def write_png(path, img, color_type, bit_depth, palette=None, interlace=False,
              filters="cycle"):
    """img: (H, W) or (H, W, C) integer array of raw sample values."""
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[:, :, None]
    h, w, ch = img.shape
    assert ch == _CHANNELS[color_type], (ch, color_type)
    assert img.min() >= 0 and img.max() < (1 << bit_depth), (img.min(), img.max(), bit_depth)
    if color_type == PALETTE:
        assert palette is not None and img.max() < len(palette)
    raw = bytearray()
    if not interlace:
        raw += _scanlines(img, bit_depth, ch, filters, 0)
    else:
        row0 = 0
        for x0, y0, dx, dy in _ADAM7:
            sub = img[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue  # empty passes are omitted entirely
            raw += _scanlines(sub, bit_depth, ch, filters, row0)
            row0 += sub.shape[0]
    data = b"\x89PNG\r\n\x1a\n"
    data += _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0,
                                        1 if interlace else 0))
    if color_type == PALETTE:
        data += _chunk(b"PLTE", b"".join(bytes(map(int, c)) for c in palette))
    comp = zlib.compress(bytes(raw), 9)
    # split IDAT in two chunks when large enough: decoders must concatenate
    cut = len(comp) // 2 if len(comp) > 64 else len(comp)
    data += _chunk(b"IDAT", comp[:cut])
    if cut < len(comp):
        data += _chunk(b"IDAT", comp[cut:])
    data += _chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)
    return len(data)
