// evaluate.js — the Evaluate view: a target and a prediction in, the values
// with their formulas and the pictures out.
//
// The request is what a script would send to POST /v1/evaluate: the files
// as base64 (an annotation export as its JSON object), the chosen losses and
// metrics with the parameters that differ from their defaults, and the maps
// errors, mask, weight and bce as PNGs (map_format "png"), whose objects give
// the heatmaps' scale (range) and the errors' legend. The pictures are then
// drawn from those maps, so they show what seglossd read.

import { $, h, api, problem, fmt, bytesToB64, b64ToBlob, table, announce } from './lib.js';
import { Viewer, blobCanvas, rgbaCanvas, colorbar, pixels, VIRIDIS } from './viewer.js';
import { readNpy, npyPlane } from './npy.js';

let catalogue = null;
const files = { target: null, prediction: null, image: null };
let last = null; // the last request: its body and uploads, to draw a heatmap again on another scale

// Okabe and Ito's eight colours, then a few more: class colours when classes bring none.
const CLASS_COLOURS = ['#000000', '#e69f00', '#56b4e9', '#009e73', '#f0e442', '#0072b2', '#d55e00', '#cc79a7',
  '#999999', '#ffffff', '#6a3d9a', '#b15928'];

export function initEvaluate(cat, profiles) {
  catalogue = cat;
  for (const p of profiles) $('o-profile').append(h('option', { value: p.name }, `${p.name} — ${p.library}`));
  buildList('losses', cat.losses, cat.defaults.losses);
  buildList('metrics', cat.metrics, cat.defaults.metrics);
  for (const which of Object.keys(files)) wireFile(which);
  $('o-classes').addEventListener('input', applyMode);
  $('eval-form').addEventListener('submit', (e) => {
    e.preventDefault();
    evaluate();
  });
  applyMode();
}

// ---- the form ----------------------------------------------------------------

function buildList(kind, fns, defaults) {
  const list = $(`list-${kind}`);
  for (const f of fns) {
    const id = `${kind}-${f.name}`;
    const box = h('input', { type: 'checkbox', id, 'data-name': f.name, checked: defaults.includes(f.name) });
    const params = h('div', { class: 'params', id: `${id}-params`, hidden: !box.checked },
      (f.parameters || []).map((p) => paramField(id, p)));
    box.setAttribute('aria-controls', params.id);
    box.addEventListener('change', () => { params.hidden = !box.checked; });
    const formula = h('span', { class: 'formula', id: `${id}-formula` }, f.formula);
    box.setAttribute('aria-describedby', formula.id);
    list.append(h('div', { class: 'fn', 'data-requests': (f.requests || ['binary']).join(' '),
      'data-formula': f.formula, 'data-mformula': f.multiclass_formula || f.formula },
    h('div', { class: 'fn-head' }, box, h('label', { for: id }, h('code', {}, f.name))), formula, params));
  }
}

function paramField(fid, p) {
  const id = `${fid}-${p.name}`;
  const shown = JSON.stringify(p.default);
  const label = h('label', { for: id }, h('code', {}, p.name), p.range ? ` ${p.range}` : '', ` — ${p.description || ''}`);
  let input;
  if (Array.isArray(p.values) && !/\[/.test(p.type)) {
    input = h('select', { id }, p.values.map((v) => h('option', { value: JSON.stringify(v), selected: v === p.default }, String(v))));
  } else {
    input = h('input', { id, type: 'text', inputmode: /number/.test(p.type) ? 'decimal' : 'text', spellcheck: 'false',
      value: p.default === null ? 'null' : typeof p.default === 'string' ? p.default : shown });
  }
  input.dataset.param = p.name;
  input.dataset.default = shown;
  return h('div', {}, label, input);
}

// The value typed for a parameter: a JSON number, list or null, else the text itself.
function paramValue(el) {
  const t = el.value.trim();
  if (el.tagName === 'SELECT') return JSON.parse(t);
  try { return JSON.parse(t); } catch { return t; }
}

const multiClass = () => $('o-classes').value.trim() !== '';

// Binary or multi-class: only the functions that take the request are offered, with their formula.
function applyMode() {
  const mode = multiClass() ? 'multiclass' : 'binary';
  for (const fn of document.querySelectorAll('.fn')) {
    const ok = fn.dataset.requests.split(' ').includes(mode);
    fn.classList.toggle('unavailable', !ok);
    fn.querySelector('input[type=checkbox]').disabled = !ok;
    fn.querySelector('.formula').textContent = mode === 'multiclass' ? fn.dataset.mformula : fn.dataset.formula;
  }
  $('o-profile').disabled = mode === 'binary';
  $('o-ignore').disabled = mode === 'binary';
}

function wireFile(which) {
  const input = $(`f-${which}`);
  const zone = $(`drop-${which}`);
  const show = () => { $(`f-${which}-chosen`).textContent = files[which] ? `${files[which].name} (${files[which].size} bytes)` : ''; };
  input.addEventListener('change', () => { files[which] = input.files[0] || null; show(); });
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer.files.length) {
      files[which] = e.dataTransfer.files[0];
      show();
    }
  });
}

// A mask for the JSON body: an annotation export as its object, anything else as base64.
async function maskField(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  if (bytes[i] === 0x7b) {
    try { return { value: JSON.parse(new TextDecoder().decode(bytes)), bytes }; } catch { /* the server will say why */ }
  }
  return { value: bytesToB64(bytes), bytes };
}

function specs(kind) {
  const out = [];
  for (const box of document.querySelectorAll(`#list-${kind} input[type=checkbox]:checked:not(:disabled)`)) {
    const spec = { name: box.dataset.name };
    for (const el of document.querySelectorAll(`#${box.id}-params [data-param]`)) {
      const v = paramValue(el);
      if (JSON.stringify(v) !== el.dataset.default) spec[el.dataset.param] = v;
    }
    out.push(Object.keys(spec).length === 1 ? spec.name : spec);
  }
  return out;
}

function classesField() {
  const t = $('o-classes').value.trim();
  if (!t) return undefined;
  if (t.startsWith('[')) {
    try { return JSON.parse(t); } catch { /* sent as text: the server names the fault */ }
  }
  return t.split(',').map((s) => s.trim()).filter(Boolean);
}

// ---- the request ----------------------------------------------------------------

async function evaluate() {
  const out = $('eval-out');
  const state = $('eval-state');
  out.replaceChildren(); // no stale values while the new ones are computed
  for (const which of ['target', 'prediction']) {
    if (!files[which]) {
      state.textContent = `Choose a ${which === 'target' ? 'target mask' : 'prediction'} first.`;
      $(`f-${which}`).focus();
      return;
    }
  }
  const [t, p] = await Promise.all([maskField(files.target), maskField(files.prediction)]);
  const mc = multiClass();
  const body = { target: t.value, prediction: p.value, losses: specs('losses'), metrics: specs('metrics'),
    maps: mc ? ['errors', 'mask'] : ['errors', 'mask', 'weight', 'bce'], map_format: 'png' };
  if ($('o-logits').checked) body.logits = true;
  if (mc) {
    body.classes = classesField();
    if ($('o-profile').value) body.profile = $('o-profile').value;
    if ($('o-ignore').value !== '') body.ignore_index = Number($('o-ignore').value);
  }
  last = { body, uploads: { target: t, prediction: p, logits: !!body.logits, classes: body.classes, image: files.image } };
  await send(body);
}

// Posts body and draws the answer; a heatmap's "Apply" comes back here with a fixed range.
async function send(body) {
  const out = $('eval-out');
  const state = $('eval-state');
  $('eval-go').disabled = true;
  state.textContent = 'Evaluating…';
  try {
    const r = await api('/v1/evaluate', { method: 'POST', body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json' } });
    // A label map's weight map comes from POST /v1/weight-map (the evaluation's maps are binary-only there).
    const weightMap = body.classes ? await labelWeightMap(body) : null;
    const view = await renderResult(r.body, { ...last.uploads, rescale, weightMap });
    out.replaceChildren(...view);
    state.textContent = `Done in ${fmt(r.body.timing_ms.total)} ms.`;
    announce('The values and pictures are ready.');
  } catch (err) {
    out.replaceChildren(problem('The evaluation failed', err));
    state.textContent = 'Failed.';
  } finally {
    $('eval-go').disabled = false;
  }
}

// The U-Net weight map of a label map, over its classes: a heatmap PNG whose scale is in X-Map-Min/Max.
async function labelWeightMap(body) {
  const req = { target: body.target, classes: body.classes };
  if (body.ignore_index !== undefined) req.ignore_index = body.ignore_index;
  try {
    const r = await api('/v1/weight-map', { method: 'POST', body: JSON.stringify(req), blob: true,
      headers: { 'Content-Type': 'application/json', Accept: 'image/png' } });
    return { blob: r.body, range: [Number(r.headers.get('X-Map-Min')), Number(r.headers.get('X-Map-Max'))] };
  } catch (err) {
    return { error: err };
  }
}

// The same request with a heatmap drawn on a fixed scale (the map spec's "range"), or its own again.
function rescale(key, range) {
  const maps = last.body.maps.map((m) => ((typeof m === 'string' ? m : m.name) === key ? (range ? { name: key, range } : key) : m));
  last.body = { ...last.body, maps };
  return send(last.body);
}

// ---- the answer -------------------------------------------------------------------

function formulaOf(kind, name, mc) {
  const f = (catalogue[kind] || []).find((x) => x.name === name);
  return f ? (mc && f.multiclass_formula) || f.formula : '';
}

function valuesTables(res, mc) {
  const out = [];
  for (const kind of ['losses', 'metrics']) {
    const keys = Object.keys(res[kind] || {});
    if (!keys.length) continue;
    out.push(table(kind === 'losses' ? 'Losses' : 'Metrics', ['name', 'value', 'formula'],
      keys.map((k) => [h('code', {}, k), { num: res[kind][k] }, { cls: 'formula', v: formulaOf(kind, k, mc) }]),
      { id: `values-${kind}` }));
  }
  if (res.per_class) {
    const names = res.classes ? res.classes.map((c) => c.name) : Object.keys(Object.values(res.per_class)[0] || {});
    const keys = Object.keys(res.per_class);
    out.push(table('Per class', ['class', ...keys], names.map((n) => [n, ...keys.map((k) => ({ num: res.per_class[k][n] ?? null }))]),
      { id: 'values-per-class' }));
  }
  return out;
}

function colourOf(hex) {
  const v = parseInt(hex.slice(1, 7), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255, hex.length > 7 ? parseInt(hex.slice(7, 9), 16) : 255];
}

// id -> [r, g, b, a] for label pictures.
function classColours(classes) {
  const map = new Map();
  (classes || []).forEach((c, i) => {
    const id = typeof c === 'object' && c.id !== undefined ? c.id : i;
    const col = typeof c === 'object' && c.color ? c.color : CLASS_COLOURS[i % CLASS_COLOURS.length];
    map.set(id, colourOf(col));
  });
  return (id) => map.get(id) || colourOf(CLASS_COLOURS[id % CLASS_COLOURS.length]);
}

// A plane of numbers as a picture: probabilities in grey, labels in class colours.
function planeCanvas(W, H, at, toRgba) {
  const rgba = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rgba.set(toRgba(at(x, y)), 4 * (y * W + x));
  return rgbaCanvas(W, H, rgba);
}

const grey = (p) => { const g = Math.round(Math.min(1, Math.max(0, p)) * 255); return [g, g, g, 255]; };
const sigmoid = (z) => 1 / (1 + Math.exp(-z));

// What the browser can draw of an uploaded file by itself: {canvas, value(x, y)} or null.
async function filePicture(m, W, H, { logits, labels, colours }) {
  const png = m.bytes[0] === 0x89 && m.bytes[1] === 0x50;
  if (png) {
    const c = await blobCanvas(new Blob([m.bytes], { type: 'image/png' }));
    if (c.width !== W || c.height !== H) return null;
    const px = pixels(c);
    const isGrey = px.every((v, i) => i % 4 === 3 || v === px[i - (i % 4)]);
    if (labels && isGrey) {
      return { canvas: planeCanvas(W, H, (x, y) => px[4 * (y * W + x)], colours), value: (x, y) => `label ${px[4 * (y * W + x)]}` };
    }
    return { canvas: c, value: (x, y) => (isGrey ? `≈ ${fmt(px[4 * (y * W + x)] / 255)}` : `rgb(${px.slice(4 * (y * W + x), 4 * (y * W + x) + 3).join(', ')})`) };
  }
  if (m.bytes[0] === 0x93) {
    let plane = null;
    try { plane = npyPlane(readNpy(m.bytes.buffer)); } catch { return null; }
    if (!plane || plane.width !== W || plane.height !== H) return null;
    if (labels || !plane.float) {
      const f = labels ? colours : (v) => (v ? [255, 255, 255, 255] : [0, 0, 0, 255]);
      return { canvas: planeCanvas(W, H, plane.at, f), value: (x, y) => `${labels ? 'label ' : ''}${plane.at(x, y)}` };
    }
    const p = logits ? (x, y) => sigmoid(plane.at(x, y)) : plane.at;
    return { canvas: planeCanvas(W, H, p, grey), value: (x, y) => `${fmt(plane.at(x, y))}${logits ? ` (p ${fmt(p(x, y))})` : ''}` };
  }
  return null;
}

// Viridis colour -> its index, to read a heatmap pixel back as a value (to 1/256 of its scale).
const VIRIDIS_INDEX = new Map(Array.from({ length: 256 }, (_, i) => [(VIRIDIS[3 * i] << 16) | (VIRIDIS[3 * i + 1] << 8) | VIRIDIS[3 * i + 2], i]));

// "Scale from lo to hi": draws the heatmap again on a fixed scale, to compare it by colour with another.
function scaleForm(key, title, mp, rescale) {
  const lo = h('input', { id: `scale-${key}-lo`, type: 'text', inputmode: 'decimal', size: '8', value: fmt(mp.range[0]) });
  const hi = h('input', { id: `scale-${key}-hi`, type: 'text', inputmode: 'decimal', size: '8', value: fmt(mp.range[1]) });
  const form = h('form', { class: 'tools', 'aria-label': `Scale of the ${title}` },
    h('div', { class: 'group' }, h('label', { for: lo.id }, 'Scale from'), lo),
    h('div', { class: 'group' }, h('label', { for: hi.id }, 'to'), hi),
    h('button', { type: 'submit', class: 'quiet' }, 'Apply'),
    h('button', { type: 'button', class: 'quiet', onclick: () => rescale(key, null) }, 'Its own'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const a = Number(lo.value);
    const b = Number(hi.value);
    if (Number.isFinite(a) && Number.isFinite(b) && a < b) {
      rescale(key, [a, b]);
    } else {
      lo.setCustomValidity('The scale needs two numbers, the low one first.');
      lo.reportValidity();
    }
  });
  lo.addEventListener('input', () => lo.setCustomValidity(''));
  return form;
}

function legendList(legend) {
  return h('ul', { class: 'legend', 'aria-label': 'Colours of the errors' }, legend.map((e) => {
    const sw = h('span', { class: 'swatch' });
    const [r, g, b, a] = colourOf(e.color);
    sw.style.background = `rgba(${r}, ${g}, ${b}, ${a / 255})`;
    return h('li', {}, sw, `${e.value} ${e.name.replace(/_/g, ' ')}${a === 0 ? ' (clear)' : ''}`);
  }));
}

// The values, the warnings and the pictures of an answer; m holds the uploads.
export async function renderResult(res, m) {
  const mc = !!m.classes;
  const W = res.width;
  const H = res.height;
  const nodes = [h('h2', {}, 'Values'), ...valuesTables(res, mc)];
  if (res.warnings && res.warnings.length) {
    nodes.push(h('h3', {}, 'Warnings'), h('ul', { class: 'warnings' }, res.warnings.map((w) => h('li', {}, w))));
  }
  const maps = res.maps || {};
  if (!Object.keys(maps).length) return nodes;
  nodes.push(h('h2', {}, 'Pictures'));

  // The errors map: a palette PNG whose legend gives each value's colour.
  const errCanvas = maps.errors ? await blobCanvas(b64ToBlob(maps.errors.data, 'image/png')) : null;
  const legend = maps.errors ? maps.errors.legend : [];
  const errIdx = new Uint8Array(W * H);
  if (errCanvas) {
    const px = pixels(errCanvas);
    const cols = legend.map((e) => colourOf(e.color));
    for (let i = 0; i < W * H; i++) {
      const k = cols.findIndex((c) => (c[3] === 0 ? px[4 * i + 3] === 0 : c[0] === px[4 * i] && c[1] === px[4 * i + 1] && c[2] === px[4 * i + 2] && px[4 * i + 3] !== 0));
      errIdx[i] = k < 0 ? 0 : legend[k].value;
    }
  }
  const colours = classColours(m.classes);
  const maskCanvas = maps.mask ? await blobCanvas(b64ToBlob(maps.mask.data, 'image/png')) : null;

  // Target: binary, as seglossd read it (true positives and false negatives of the errors map).
  let target = null;
  if (!mc && errCanvas) {
    target = { canvas: planeCanvas(W, H, (x, y) => errIdx[y * W + x], (v) => (v === 1 || v === 3 ? [255, 255, 255, 255] : [0, 0, 0, 255])),
      value: (x, y) => (errIdx[y * W + x] === 1 || errIdx[y * W + x] === 3 ? '1' : '0') };
  } else {
    target = await filePicture(m.target, W, H, { labels: mc, colours });
  }
  // Prediction: the file when the browser can draw it, else seglossd's hard prediction (mask map).
  let pred = await filePicture(m.prediction, W, H, { logits: m.logits, labels: mc, colours });
  let predTitle = 'Prediction';
  if (!pred && maskCanvas) {
    const mp = pixels(maskCanvas);
    pred = { canvas: planeCanvas(W, H, (x, y) => mp[4 * (y * W + x)], mc ? colours : (v) => (v ? [255, 255, 255, 255] : [0, 0, 0, 255])),
      value: (x, y) => `${mc ? 'class ' : ''}${mc ? mp[4 * (y * W + x)] : mp[4 * (y * W + x)] ? 1 : 0}` };
    predTitle = mc ? 'Prediction (predicted classes)' : 'Prediction (hard mask, p ≥ threshold)';
  }
  const image = m.image ? await blobCanvas(m.image).catch(() => null) : null;

  const heat = []; // heatmaps, for the readout: {key, title, px, range}
  const say = (x, y) => {
    const parts = [];
    if (errCanvas) parts.push((legend.find((e) => e.value === errIdx[y * W + x])?.name || '').replace(/_/g, ' '));
    if (target) parts.push(`target ${target.value(x, y)}`);
    if (pred) parts.push(`prediction ${pred.value(x, y)}`);
    for (const hm of heat) {
      const i = 4 * (y * W + x);
      const k = VIRIDIS_INDEX.get((hm.px[i] << 16) | (hm.px[i + 1] << 8) | hm.px[i + 2]);
      if (k !== undefined) parts.push(`${hm.key} ≈ ${fmt(hm.range[0] + ((k + 0.5) / 256) * (hm.range[1] - hm.range[0]))}`);
    }
    return parts.join(', ');
  };
  const viewer = new Viewer(W, H, say);
  if (target) viewer.add(mc ? 'Target' : 'Target (as seglossd read it)', target.canvas, [], 'pic-target');
  if (pred) viewer.add(predTitle, pred.canvas, [], 'pic-prediction');

  if (errCanvas) {
    const overlay = h('canvas', { width: W, height: H, id: 'overlay-canvas' });
    const under = h('select', { id: 'overlay-under' },
      image ? h('option', { value: 'image' }, 'the image') : null,
      target ? h('option', { value: 'target' }, 'the target') : null,
      pred ? h('option', { value: 'prediction' }, 'the prediction') : null,
      h('option', { value: 'none' }, 'nothing'));
    const opacity = h('input', { type: 'range', id: 'overlay-opacity', min: '0', max: '100', value: '70', step: '5' });
    const draw = () => {
      const g = overlay.getContext('2d');
      g.clearRect(0, 0, W, H);
      g.globalAlpha = 1;
      const src = { image, target: target?.canvas, prediction: pred?.canvas }[under.value];
      if (src) {
        g.drawImage(src, 0, 0, W, H);
        g.fillStyle = 'rgba(0, 0, 0, 0.35)';
        g.fillRect(0, 0, W, H);
      }
      g.globalAlpha = Number(opacity.value) / 100;
      g.drawImage(errCanvas, 0, 0);
      g.globalAlpha = 1;
    };
    under.addEventListener('change', draw);
    opacity.addEventListener('input', draw);
    draw();
    viewer.add('Errors over the picture', overlay, [
      legendList(legend),
      h('div', { class: 'tools' },
        h('div', { class: 'group' }, h('label', { for: 'overlay-under' }, 'Under the errors'), under),
        h('div', { class: 'group' }, h('label', { for: 'overlay-opacity' }, 'Opacity'), opacity)),
    ], 'pic-errors');
  }
  if (m.weightMap && m.weightMap.blob) {
    const c = await blobCanvas(m.weightMap.blob);
    const [lo, hi] = m.weightMap.range;
    heat.push({ key: 'weight', title: 'U-Net weight map', px: pixels(c), range: m.weightMap.range });
    viewer.add('U-Net weight map (over the classes)', c, [colorbar(lo, hi, 'U-Net weight map'),
      h('p', { class: 'hint' }, 'From POST /v1/weight-map with the classes; its scale from X-Map-Min and X-Map-Max.')], 'pic-weight');
  } else if (m.weightMap && m.weightMap.error) {
    nodes.push(h('p', { class: 'note' }, `No weight map: ${m.weightMap.error.message}`));
  }
  for (const [key, title] of [['weight', 'U-Net weight map'], ['bce', 'Per-pixel BCE']]) {
    const mp = maps[key];
    if (!mp) continue;
    const c = await blobCanvas(b64ToBlob(mp.data, 'image/png'));
    heat.push({ key, title, px: pixels(c), range: mp.range });
    viewer.add(title, c, [colorbar(mp.range[0], mp.range[1], title),
      h('p', { class: 'hint' }, `min ${fmt(mp.min)}, mean ${fmt(mp.mean)}, max ${fmt(mp.max)}`),
      m.rescale ? scaleForm(key, title, mp, m.rescale) : null], `pic-${key}`);
  }
  nodes.push(viewer.el);
  requestAnimationFrame(() => viewer.fit());
  return nodes;
}
