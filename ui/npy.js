// npy.js — reads a NumPy .npy file for display: the header (v1-v3), the
// dtype (bool, int/uint 8-64, float 16/32/64, either byte order) and the
// shape. Only what a picture needs: seglossd itself reads the numbers
// that are scored; this only draws them.

const TYPES = { b1: 1, u1: 1, i1: 1, u2: 2, i2: 2, f2: 2, u4: 4, i4: 4, f4: 4, u8: 8, i8: 8, f8: 8 };

// Returns {shape, fortran, get(i)} (get: the i-th value in file order, as a number) or throws.
export function readNpy(buf) {
  const b = new Uint8Array(buf);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (b.length < 10 || magic.some((m, i) => b[i] !== m)) throw new Error('not a .npy file');
  const v = b[6];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hlen = v === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = (v === 1 ? 10 : 12) + hlen;
  const header = new TextDecoder().decode(b.subarray(v === 1 ? 10 : 12, start));
  const descr = /'descr'\s*:\s*'([<>|=])([a-z])(\d+)'/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shapeM) throw new Error('.npy header not understood');
  const code = descr[2] + descr[3];
  const size = TYPES[code];
  if (!size) throw new Error(`.npy dtype ${code} is not drawn here`);
  const little = descr[1] !== '>';
  const shape = shapeM[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const fortran = /'fortran_order'\s*:\s*True/.test(header);
  const n = shape.reduce((a, x) => a * x, 1);
  if (start + n * size > b.length) throw new Error('.npy data is shorter than its shape');
  const at = (i) => start + i * size;
  const get = {
    b1: (i) => b[at(i)], u1: (i) => b[at(i)], i1: (i) => dv.getInt8(at(i)),
    u2: (i) => dv.getUint16(at(i), little), i2: (i) => dv.getInt16(at(i), little),
    u4: (i) => dv.getUint32(at(i), little), i4: (i) => dv.getInt32(at(i), little),
    u8: (i) => Number(dv.getBigUint64(at(i), little)), i8: (i) => Number(dv.getBigInt64(at(i), little)),
    f2: (i) => half(dv.getUint16(at(i), little)), f4: (i) => dv.getFloat32(at(i), little),
    f8: (i) => dv.getFloat64(at(i), little),
  }[code];
  return { shape, fortran, float: descr[2] === 'f', get };
}

function half(u) {
  const e = (u >> 10) & 0x1f, m = u & 0x3ff, s = u & 0x8000 ? -1 : 1;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

// A 2-D picture of an array of shape (H, W), (1, H, W) or (H, W, 1): {width, height, at(x, y)}; null otherwise.
export function npyPlane(a) {
  const dims = a.shape.filter((d, i) => !(d === 1 && a.shape.length === 3 && (i === 0 || i === 2)));
  if (dims.length !== 2) return null;
  const [H, W] = dims;
  return { width: W, height: H, float: a.float, at: (x, y) => a.get(a.fortran ? x * H + y : y * W + x) };
}
