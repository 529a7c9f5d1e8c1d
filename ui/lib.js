// lib.js — what every view shares: building DOM nodes, calling seglossd's API
// (with the API key of this tab), problems, numbers.
//
// The page calls only the public /v1 API of the origin that served it, so
// anything it shows can also be scripted (curl, Python). Text from the
// server (item names, details) is always set as text, never as markup.

// h('p', {class: 'x', onclick: f}, 'text', child): an element.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const $ = (id) => document.getElementById(id);

// ---- the API key, kept for this tab only ----------------------------------
const KEY = 'segloss.apiKey';
export const apiKey = () => sessionStorage.getItem(KEY) || '';
export function setApiKey(k) {
  if (k) sessionStorage.setItem(KEY, k);
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, problem, message) {
    super(message);
    this.status = status;
    this.problem = problem;
  }
}

// api(path, opts): fetch from this origin with the key; JSON answers parsed.
// 304 answers {status: 304}; errors throw ApiError with the problem's detail;
// a 401 also tells the page (event 'segloss:auth') so it can ask for a key.
export async function api(path, { method = 'GET', body, headers = {}, etag, blob = false } = {}) {
  const hdrs = new Headers(headers);
  const key = apiKey();
  if (key) hdrs.set('Authorization', `Bearer ${key}`);
  if (etag) hdrs.set('If-None-Match', etag);
  let res;
  try {
    res = await fetch(path, { method, body, headers: hdrs, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, null, `seglossd did not answer (${e.message}); is it still running?`);
  }
  if (res.status === 304) return { status: 304, etag };
  if (!res.ok) {
    let p = null;
    try { p = await res.json(); } catch { /* not a problem document */ }
    const detail = (p && p.detail) || `${res.status} ${res.statusText}`;
    const err = new ApiError(res.status, p, detail);
    if (res.status === 401) window.dispatchEvent(new CustomEvent('segloss:auth', { detail: err }));
    throw err;
  }
  const out = { status: res.status, etag: res.headers.get('ETag'), headers: res.headers };
  if (res.status === 204) return out;
  out.body = blob ? await res.blob() : await res.json();
  return out;
}

// A problem as a block: what failed and the server's detail.
export function problem(what, err) {
  const hint = err.status === 401 ? ' Enter the API key at the top of the page.' :
    err.status === 503 && /store/.test(err.message) ? ' This seglossd runs without a store (--db off).' : '';
  return h('div', { class: 'problem', role: 'alert' },
    h('strong', { text: what }), `${err.status ? `${err.status}: ` : ''}${err.message}${hint}`);
}

export function announce(text) {
  const el = $('announce');
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 50);
}

// Numbers as people read them: 6 significant digits, null as "null".
export function fmt(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e7)) return Number(v.toPrecision(6)).toExponential();
  return String(Number(v.toPrecision(6)));
}

export const time = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '—');

export function b64ToBlob(b64, type) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type });
}

export function bytesToB64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

// Scores whose larger values are better: the worst items of these come lowest first.
const HIGHER_IS_BETTER = new Set(['dice', 'iou', 'precision', 'recall', 'specificity', 'accuracy',
  'surface_dice', 'pixel_accuracy']);
// 'losses.bce' -> true when its worst items are its largest values.
export function worstIsHigh(key) {
  const [kind, name] = key.split('.', 2);
  if (kind === 'losses') return true;
  return !HIGHER_IS_BETTER.has(name.replace(/\d+$/, ''));
}

// A table from a header row and body rows (cells: nodes, strings or {num: v}).
export function table(caption, head, rows, attrs = {}) {
  const cell = (tag, c) => {
    const scope = tag === 'th' ? 'row' : null;
    if (c && typeof c === 'object' && 'num' in c) return h(tag, { scope, class: 'num', title: String(c.num) }, fmt(c.num));
    if (c && typeof c === 'object' && 'cls' in c) return h(tag, { scope, class: c.cls }, c.v);
    return h(tag, { scope }, c);
  };
  return h('div', { class: 'scroll' }, h('table', attrs,
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? cell('th', c) : cell('td', c))))))));
}
