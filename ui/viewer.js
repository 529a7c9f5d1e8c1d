// viewer.js — pictures at full resolution, side by side, zoomed and panned
// together, and the colour bar of a heatmap.
//
// Each picture is a canvas of the image's own size inside a "stage"; one
// transform (scale, then translation, in stage pixels) is applied to every
// canvas, so the same pixel sits at the same place in every panel. Pixels
// are drawn as squares (image-rendering: pixelated). Mouse: wheel zooms
// about the pointer, dragging pans; keyboard on a focused picture: + and -
// zoom, the arrows pan, 0 fits, 1 shows one image pixel per screen pixel.
// The readout says the pixel under the pointer; after a key it says the
// pixel at the centre of the view, also in a polite live region, so a
// keyboard or screen reader user reads the picture by panning it.

import { h, fmt } from './lib.js';

// matplotlib's viridis as 8-bit RGB, the table seglossd draws heatmaps with (src/codec/pngio.c).
const VHEX = '44015444025544035745055845065a45085b46095c460b5e460c5f460e61470f6247116347126547146647156747166947186a48196b481a6c481c6e481d6f481e70482071482172482273482374472575472676472777472878472a79472b7a472c7b462d7c462f7c46307d46317e45327f45347f453580453681443781443982433a83433b83433c84423d84423e854240854141864142864043874044873f45873f47883e48883e49893d4a893d4b893d4c893c4d8a3c4e8a3b508a3b518a3a528b3a538b39548b39558b38568b38578c37588c37598c365a8c365b8c355c8c355d8c345e8d345f8d33608d33618d32628d32638d31648d31658d31668d30678d30688d2f698d2f6a8d2e6b8e2e6c8e2e6d8e2d6e8e2d6f8e2c708e2c718e2c728e2b738e2b748e2a758e2a768e2a778e29788e29798e287a8e287a8e287b8e277c8e277d8e277e8e267f8e26808e26818e25828e25838d24848d24858d24868d23878d23888d23898d22898d228a8d228b8d218c8d218d8c218e8c208f8c20908c20918c1f928c1f938b1f948b1f958b1f968b1e978a1e988a1e998a1e998a1e9a891e9b891e9c891e9d881e9e881e9f881ea0871fa1871fa2861fa38620a48520a58521a68521a78422a78423a88323a98224aa8225ab8126ac8127ad8028ae7f29af7f2ab07e2bb17d2cb17d2eb27c2fb37b30b47a32b57a33b67935b77836b87738b97639b9763bba753dbb743ebc7340bd7242be7144be7045bf6f47c06e49c16d4bc26c4dc26b4fc36951c46853c56755c66657c66559c7645bc8625ec96160c96062ca5f64cb5d67cc5c69cc5b6bcd596dce5870ce5672cf5574d05477d05279d1517cd24f7ed24e81d34c83d34b86d44988d5478bd5468dd64490d64392d74195d73f97d83e9ad83c9dd93a9fd938a2da37a5da35a7db33aadb32addc30afdc2eb2dd2cb5dd2bb7dd29bade27bdde26bfdf24c2df22c5df21c7e01fcae01ecde01dcfe11cd2e11bd4e11ad7e219dae218dce218dfe318e1e318e4e318e7e419e9e419ece41aeee51bf1e51cf3e51ef6e61ff8e621fae622fde724';
export const VIRIDIS = Uint8Array.from(VHEX.match(/../g), (x) => parseInt(x, 16));

// A canvas holding a decoded image file or blob, pixel for pixel (no colour management).
export async function blobCanvas(blob) {
  const bmp = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const c = h('canvas', { width: bmp.width, height: bmp.height });
  c.getContext('2d').drawImage(bmp, 0, 0);
  bmp.close();
  return c;
}

// A canvas from RGBA bytes of width x height.
export function rgbaCanvas(width, height, rgba) {
  const c = h('canvas', { width, height });
  c.getContext('2d').putImageData(new ImageData(rgba, width, height), 0, 0);
  return c;
}

export const pixels = (c) => c.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, c.width, c.height).data;

// A horizontal colour bar for a heatmap drawn from lo (left) to hi (right).
export function colorbar(lo, hi, what) {
  const c = h('canvas', { width: 256, height: 1, class: 'colorbar', role: 'img',
    'aria-label': `colour scale of the ${what}: viridis from ${fmt(lo)} (dark purple) to ${fmt(hi)} (yellow)` });
  const rgba = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) rgba.set([VIRIDIS[3 * i], VIRIDIS[3 * i + 1], VIRIDIS[3 * i + 2], 255], 4 * i);
  c.getContext('2d').putImageData(new ImageData(rgba, 256, 1), 0, 0);
  return h('div', { class: 'cbar' }, c,
    h('div', { class: 'scale' }, h('span', {}, fmt(lo)), h('span', {}, fmt((lo + hi) / 2)), h('span', {}, fmt(hi))));
}

const MIN_SCALE = 1 / 64;
const MAX_SCALE = 64;

export class Viewer {
  // width, height: the images' size; onPixel(x, y) tells what to say about a pixel (or null).
  constructor(width, height, onPixel) {
    this.w = width;
    this.h = height;
    this.onPixel = onPixel;
    this.panels = [];
    this.s = 1;
    this.tx = 0;
    this.ty = 0;
    this.fitted = true;
    this.zoomText = h('span', { class: 'zoom', 'aria-live': 'off' });
    this.readout = h('p', { class: 'readout', 'aria-live': 'off' }, 'Point at a pixel, or pan with the arrow keys, to read it.');
    this.spoken = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
    const btn = (label, text, fn) => h('button', { type: 'button', class: 'quiet', 'aria-label': label, onclick: fn }, text);
    this.tools = h('div', { class: 'tools', role: 'toolbar', 'aria-label': 'Zoom and pan the pictures' },
      h('div', { class: 'group' },
        btn('Zoom in', '+', () => this.zoomCentre(2)),
        btn('Zoom out', '−', () => this.zoomCentre(0.5)),
        btn('Fit the pictures to their panels', 'Fit', () => this.fit()),
        btn('One image pixel per screen pixel', '1:1', () => this.actual()),
        this.zoomText),
      h('p', { class: 'hint' }, `${width} × ${height} pixels. Wheel or +/− to zoom, drag or arrow keys to pan; the pictures move together.`));
    this.grid = h('div', { class: 'pictures' });
    this.el = h('div', { class: 'viewer' }, this.tools, this.readout, this.spoken, this.grid);
    this.resize = new ResizeObserver(() => { if (this.fitted) this.fit(); });
  }

  // Adds a picture: a canvas of the images' size, its title, and nodes to show under it.
  add(title, canvas, below = [], id) {
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', title);
    const stage = h('div', { class: 'stage', tabindex: '0', role: 'group',
      'aria-label': `${title}: + and − zoom, arrow keys pan, 0 fits` }, canvas);
    stage.style.aspectRatio = `${this.w} / ${this.h}`;
    const fig = h('figure', { class: 'panel', id }, h('figcaption', {}, title), stage, ...below);
    this.panels.push({ stage, canvas, fig });
    this.grid.append(fig);
    this.bind(stage);
    this.resize.observe(stage);
    this.apply();
    return fig;
  }

  bind(stage) {
    stage.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = stage.getBoundingClientRect();
      this.zoomAt(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    let drag = null;
    stage.addEventListener('pointerdown', (e) => {
      drag = { x: e.clientX, y: e.clientY };
      stage.setPointerCapture(e.pointerId);
      stage.classList.add('dragging');
    });
    stage.addEventListener('pointermove', (e) => {
      if (drag) {
        this.pan(e.clientX - drag.x, e.clientY - drag.y);
        drag = { x: e.clientX, y: e.clientY };
      }
      const r = stage.getBoundingClientRect();
      this.point(Math.floor((e.clientX - r.left - this.tx) / this.s), Math.floor((e.clientY - r.top - this.ty) / this.s));
    });
    const end = () => { drag = null; stage.classList.remove('dragging'); };
    stage.addEventListener('pointerup', end);
    stage.addEventListener('pointercancel', end);
    stage.addEventListener('keydown', (e) => {
      const step = 40;
      const keys = {
        '+': () => this.zoomCentre(2), '=': () => this.zoomCentre(2), '-': () => this.zoomCentre(0.5),
        _: () => this.zoomCentre(0.5), 0: () => this.fit(), 1: () => this.actual(),
        ArrowLeft: () => this.pan(step, 0), ArrowRight: () => this.pan(-step, 0),
        ArrowUp: () => this.pan(0, step), ArrowDown: () => this.pan(0, -step),
      };
      if (keys[e.key]) {
        e.preventDefault();
        keys[e.key]();
        this.readCentre();
      }
    });
  }

  point(x, y) {
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) return;
    const said = this.onPixel ? this.onPixel(x, y) : '';
    this.readout.textContent = `x ${x}, y ${y}${said ? `: ${said}` : ''}`;
  }

  // The pixel at the centre of the view, shown and spoken (after a key).
  readCentre() {
    const [sw, sh] = this.stageSize();
    const x = Math.floor((sw / 2 - this.tx) / this.s);
    const y = Math.floor((sh / 2 - this.ty) / this.s);
    const zoom = `zoom ${Math.round(this.s * 100)} %`;
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) {
      this.readout.textContent = `The centre of the view is off the picture (${zoom}).`;
    } else {
      const said = this.onPixel ? this.onPixel(x, y) : '';
      this.readout.textContent = `Centre: x ${x}, y ${y}${said ? `: ${said}` : ''} (${zoom})`;
    }
    this.spoken.textContent = this.readout.textContent;
  }

  stageSize() {
    const st = this.panels[0]?.stage;
    return st ? [st.clientWidth || 1, st.clientHeight || 1] : [1, 1];
  }

  fit() {
    const [sw, sh] = this.stageSize();
    this.s = Math.min(sw / this.w, sh / this.h);
    this.tx = (sw - this.w * this.s) / 2;
    this.ty = (sh - this.h * this.s) / 2;
    this.fitted = true;
    this.apply();
  }

  actual() {
    const [sw, sh] = this.stageSize();
    this.zoomAt(1 / this.s, sw / 2, sh / 2);
  }

  zoomCentre(f) {
    const [sw, sh] = this.stageSize();
    this.zoomAt(f, sw / 2, sh / 2);
  }

  zoomAt(f, px, py) {
    const s = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.s * f));
    this.tx = px - (px - this.tx) * (s / this.s);
    this.ty = py - (py - this.ty) * (s / this.s);
    this.s = s;
    this.fitted = false;
    this.apply();
  }

  pan(dx, dy) {
    this.tx += dx;
    this.ty += dy;
    this.fitted = false;
    this.apply();
  }

  apply() {
    for (const p of this.panels) p.canvas.style.transform = `translate(${this.tx}px, ${this.ty}px) scale(${this.s})`;
    this.zoomText.textContent = `zoom ${Math.round(this.s * 100)} %`;
  }
}
