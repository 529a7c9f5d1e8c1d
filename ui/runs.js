// runs.js — the Runs views: the list of runs, one run (aggregates, the
// distribution of a score, the worst and the latest items, an item's
// pictures), and two runs compared.
//
// A run page stays live without reloading: every POLL_MS it asks
// GET /v1/runs/{run} with If-None-Match, which costs a 304 while nothing
// changed; when the ETag moves it reads the newest items
// (GET .../items?order=desc) and, for the histogram, the items written
// since its cursor (GET .../items?after=next) up to HIST_ITEMS_MAX, then
// redraws. Polling stops when the view is
// left: leaving bumps the view generation, and a view checks its own after
// every await, so an answer that arrives late neither draws nor starts a
// poller for a view already gone.

import { $, h, api, problem, fmt, time, table, announce, worstIsHigh } from './lib.js';
import { renderResult } from './evaluate.js';

const POLL_MS = 1500;
const HIST_ITEMS_MAX = 50000; // items read for the histogram; past that it is a sample, and says so
const LATEST = 20; // the newest items, read on their own (order=desc), so a run of any size stays live
const BINS = 20;

let live = null; // {stop()} of the view being polled
let generation = 0; // bumped whenever a view is left

export function leaveRuns() {
  generation++;
  if (live) live.stop();
  live = null;
}

// A view's token: current() stays true until the view is left.
function viewToken() {
  const mine = generation;
  return { current: () => mine === generation };
}

// Calls fn every POLL_MS (after the previous call ends) while the view of token is shown.
function poller(token, fn) {
  if (!token.current()) return;
  let timer = 0;
  let stopped = false;
  const tick = async () => {
    if (stopped || !token.current()) return;
    try { await fn(); } catch { /* shown by fn; keep polling */ }
    if (!stopped && token.current()) timer = setTimeout(tick, POLL_MS);
  };
  live = { stop() { stopped = true; clearTimeout(timer); } };
  timer = setTimeout(tick, POLL_MS);
}

// ---- the list of runs ----------------------------------------------------------------

export async function showRuns() {
  const token = viewToken();
  const out = $('runs-out');
  let etag = null;
  const draw = (runs) => {
    const pick = (id, label, sel) => h('div', { class: 'field' }, h('label', { for: id }, label),
      h('select', { id }, runs.map((r, i) => h('option', { value: r.name, selected: i === sel }, r.name))));
    const nodes = [];
    if (!runs.length) {
      nodes.push(h('p', { class: 'note' }, 'No runs yet. Evaluations that name a "run" (and an "item") are recorded here: ',
        h('code', {}, 'curl -F target=@gt.png -F prediction=@pred.png -F run=unet-v2 -F item=0001 …/v1/evaluate')));
    } else {
      nodes.push(table(null, ['run', 'items', 'created', 'updated'], runs.map((r) => [
        h('a', { href: `#/runs/${encodeURIComponent(r.name)}` }, r.name), { num: r.count }, time(r.created_iso), time(r.updated_iso)]),
      { id: 'runs-table', 'aria-label': 'Runs' }));
      if (runs.length >= 2) {
        const form = h('form', { id: 'compare-form' }, h('fieldset', { class: 'options' },
          h('legend', {}, 'Compare two runs'), pick('cmp-a', 'Run A', 0), pick('cmp-b', 'Run B', 1),
          h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Compare'))));
        form.addEventListener('submit', (e) => {
          e.preventDefault();
          location.hash = `#/compare/${encodeURIComponent($('cmp-a').value)}/${encodeURIComponent($('cmp-b').value)}`;
        });
        nodes.push(h('h2', {}, 'Compare'), form);
      }
    }
    out.replaceChildren(...nodes);
  };
  const load = async () => {
    try {
      const r = await api('/v1/runs', { etag });
      if (r.status === 304 || !token.current()) return;
      etag = r.etag;
      draw(r.body.runs);
    } catch (err) {
      if (token.current()) out.replaceChildren(problem('Cannot list the runs', err));
      throw err;
    }
  };
  await load().catch(() => {});
  poller(token, load);
}

// ---- one run -----------------------------------------------------------------------------

function aggTables(run) {
  const head = ['key', 'count', 'mean', 'std', 'min', 'p05', 'median', 'p95', 'max'];
  const out = [];
  for (const kind of ['losses', 'metrics']) {
    const keys = Object.keys(run[kind] || {});
    if (!keys.length) continue;
    out.push(table(kind === 'losses' ? 'Losses over the items' : 'Metrics over the items', head, keys.map((k) => {
      const a = run[kind][k];
      return [h('code', {}, k), { num: a.count }, { num: a.mean }, { num: a.std }, { num: a.min }, { num: a.p05 },
        { num: a.median }, { num: a.p95 }, { num: a.max }];
    }), { id: `agg-${kind}` }));
  }
  if (run.per_class) {
    const keys = Object.keys(run.per_class);
    const classes = [...new Set(keys.flatMap((k) => Object.keys(run.per_class[k])))];
    out.push(table('Per class: mean over the items', ['class', ...keys], classes.map((c) => [c, ...keys.map((k) => ({ num: run.per_class[k][c]?.mean ?? null }))])));
  }
  if (run.pooled && run.pooled.classes) {
    const keys = Object.keys(run.pooled).filter((k) => k !== 'classes');
    out.push(table('Pooled over the whole run (dataset confusion counts)', ['score', 'value'], keys.map((k) => [h('code', {}, k), { num: run.pooled[k] }])));
  }
  return out;
}

// Histogram of values as an SVG with a text equivalent.
function histogram(values, key) {
  const v = values.filter((x) => x !== null && Number.isFinite(x));
  if (!v.length) return h('p', { class: 'note' }, `No item has a value for ${key}.`);
  let lo = Infinity;
  let top = -Infinity;
  for (const x of v) { lo = Math.min(lo, x); top = Math.max(top, x); }
  const hi = top === lo ? lo + 1 : top;
  const counts = new Array(BINS).fill(0);
  for (const x of v) counts[Math.min(BINS - 1, Math.floor(((x - lo) / (hi - lo)) * BINS))]++;
  const max = Math.max(...counts);
  const Wd = 600, Ht = 220, L = 40, B = 30, T = 10;
  const bw = (Wd - L - 10) / BINS;
  const ns = 'http://www.w3.org/2000/svg';
  const el = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, val] of Object.entries(attrs)) e.setAttribute(k, String(val));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const summary = `Histogram of ${key} over ${v.length} items in ${BINS} bins from ${fmt(lo)} to ${fmt(top)}; the fullest bin holds ${max} items.`;
  const svg = el('svg', { viewBox: `0 0 ${Wd} ${Ht}`, role: 'img', 'aria-label': summary });
  counts.forEach((c, i) => {
    const bh = max ? ((Ht - B - T) * c) / max : 0;
    const r = el('rect', { class: 'bar', x: L + i * bw + 1, y: Ht - B - bh, width: Math.max(1, bw - 2), height: bh });
    r.append(el('title', {}, `${fmt(lo + (i * (hi - lo)) / BINS)} to ${fmt(lo + ((i + 1) * (hi - lo)) / BINS)}: ${c} items`));
    svg.append(r);
  });
  svg.append(el('line', { class: 'axis', x1: L, y1: Ht - B, x2: Wd - 10, y2: Ht - B }));
  svg.append(el('line', { class: 'axis', x1: L, y1: T, x2: L, y2: Ht - B }));
  svg.append(el('text', { x: L, y: Ht - 10, 'text-anchor': 'start' }, fmt(lo)));
  svg.append(el('text', { x: Wd - 10, y: Ht - 10, 'text-anchor': 'end' }, fmt(top)));
  svg.append(el('text', { x: L - 4, y: T + 10, 'text-anchor': 'end' }, String(max)));
  svg.append(el('text', { x: L - 4, y: Ht - B, 'text-anchor': 'end' }, '0'));
  return h('figure', { class: 'hist', id: 'histogram', 'data-count': v.length }, svg, h('figcaption', { class: 'hint' }, summary));
}

const scoreOf = (item, key) => {
  const [kind, name] = key.split('.', 2);
  const v = item[kind] ? item[kind][name] : undefined;
  return v === undefined ? null : v;
};

export async function showRun(name) {
  const token = viewToken();
  const out = $('run-out');
  $('h-run').textContent = `Run ${name}`;
  const base = `/v1/runs/${encodeURIComponent(name)}`;
  // items: the histogram's sample (by seq); latest: the newest LATEST items; top: the largest seq seen.
  const state = { etag: null, run: null, items: new Map(), byName: new Map(), next: 0, key: null, truncated: false, latest: [], top: 0 };
  const keySel = h('select', { id: 'run-key' });
  const orderSel = h('select', { id: 'run-order' },
    h('option', { value: 'auto' }, 'worst first'), h('option', { value: 'desc' }, 'highest first'), h('option', { value: 'asc' }, 'lowest first'));
  const summary = h('div', { class: 'cards', id: 'run-summary' });
  const aggs = h('div', { id: 'run-aggs' });
  const hist = h('div', { id: 'run-hist' });
  const worst = h('div', { id: 'run-worst' });
  const latest = h('div', { id: 'run-latest' });
  const pics = h('div', { id: 'item-pictures' });
  const trouble = h('div', { id: 'run-problem' });
  out.replaceChildren(trouble, summary, aggs,
    h('h2', {}, 'Distribution and worst items'),
    h('div', { class: 'tools' }, h('div', { class: 'group' }, h('label', { for: 'run-key' }, 'Score'), keySel),
      h('div', { class: 'group' }, h('label', { for: 'run-order' }, 'Order'), orderSel)),
    hist, worst, h('h2', {}, 'Latest items'), latest, pics);

  const itemRow = (it) => [h('span', { class: 'item-name' }, it.item), { num: it.seq }, time(it.time_iso), { num: scoreOf(it, state.key) },
    h('button', { type: 'button', class: 'quiet', onclick: () => openItem(base, it, pics), 'aria-label': `Pictures of item ${it.item}` }, 'Pictures')];
  const drawLists = async () => {
    const all = [...state.items.values()];
    hist.replaceChildren(state.key ? histogram(all.map((it) => scoreOf(it, state.key)), state.key) : '',
      state.truncated ? h('p', { class: 'note', id: 'hist-sample' }, `The histogram is a sample: the first ${all.length.toLocaleString('en')} items `
        + `of the run's ${Number(state.run.count).toLocaleString('en')} (by sequence number). The aggregates above, the worst and the latest items cover them all.`) : '');
    latest.replaceChildren(table(null, ['item', 'seq', 'time', state.key || 'score', ''], state.latest.map(itemRow), { id: 'latest-table', 'aria-label': 'Latest items' }));
    if (!state.key) return;
    const desc = orderSel.value === 'auto' ? worstIsHigh(state.key) : orderSel.value === 'desc';
    try {
      const r = await api(`${base}/items?order_by=${encodeURIComponent(state.key)}&order=${desc ? 'desc' : 'asc'}&limit=10`);
      if (!token.current()) return;
      worst.replaceChildren(table(`The 10 items with the ${desc ? 'highest' : 'lowest'} ${state.key}`, ['item', 'seq', 'time', state.key, ''],
        r.body.items.map(itemRow), { id: 'worst-table' }));
    } catch (err) {
      worst.replaceChildren(problem('Cannot sort the items', err));
    }
  };
  const setKeys = () => {
    const keys = ['losses', 'metrics'].flatMap((k) => Object.keys(state.run[k] || {}).map((n) => `${k}.${n}`));
    const have = [...keySel.options].map((o) => o.value).join();
    if (have !== keys.join()) {
      keySel.replaceChildren(...keys.map((k) => h('option', { value: k, selected: k === state.key }, k)));
    }
    if (!state.key || !keys.includes(state.key)) state.key = keys[0] || null;
    keySel.value = state.key || '';
  };
  keySel.addEventListener('change', () => { state.key = keySel.value; drawLists(); });
  orderSel.addEventListener('change', drawLists);

  // The histogram's sample: the items in seq order from the cursor, until HIST_ITEMS_MAX are held.
  const readSample = async () => {
    while (!state.truncated) {
      const r = await api(`${base}/items?after=${state.next}&limit=1000`);
      if (!token.current()) return;
      for (const it of r.body.items) {
        // An item posted again leaves its old place: keep only its latest version.
        if (state.byName.has(it.item)) state.items.delete(state.byName.get(it.item));
        state.items.set(it.seq, it);
        state.byName.set(it.item, it.seq);
      }
      state.next = r.body.next;
      if (state.items.size >= HIST_ITEMS_MAX) state.truncated = true;
      if (r.body.items.length < 1000) break;
    }
  };
  // The newest items, whatever the run's size; answers how many are new since the last read.
  const readLatest = async () => {
    const r = await api(`${base}/items?order=desc&limit=${LATEST}`);
    if (!token.current()) return 0;
    const added = r.body.items.filter((it) => it.seq > state.top).length;
    state.latest = r.body.items;
    state.top = Math.max(state.top, r.body.next);
    return added;
  };
  const load = async (first) => {
    let r;
    try {
      r = await api(base, { etag: state.etag });
    } catch (err) {
      if (token.current()) trouble.replaceChildren(problem(`Cannot read run ${name}`, err));
      throw err;
    }
    if (!token.current()) return;
    trouble.replaceChildren();
    if (r.status === 304) return;
    state.etag = r.etag;
    state.run = r.body;
    summary.replaceChildren(
      h('p', {}, h('strong', {}, 'Items: '), h('span', { id: 'run-count' }, String(r.body.count))),
      h('p', {}, h('strong', {}, 'Created: '), time(r.body.created_iso)),
      h('p', {}, h('strong', {}, 'Updated: '), time(r.body.updated_iso)),
      h('p', {}, h('span', { class: 'live', title: `checked every ${POLL_MS / 1000} s with an ETag` }, 'live')));
    aggs.replaceChildren(...aggTables(r.body));
    setKeys();
    const added = await readLatest();
    await readSample();
    if (!token.current()) return;
    await drawLists();
    if (!first && added) announce(`${added === LATEST ? 'At least ' : ''}${added} new item${added > 1 ? 's' : ''} in run ${name}.`);
  };
  await load(true).catch(() => {});
  poller(token, () => load(false));
}

// An item's pictures, when its run kept its masks (keep_masks): the target and
// the prediction as stored, evaluated again (no run) for the error and loss
// maps, read with the options the item was recorded with (.../options:
// logits, threshold, kinds, classes), so the maps agree with its scores.
async function openItem(base, it, pics) {
  const url = `${base}/items/${it.seq}`;
  pics.replaceChildren(h('h2', { id: 'item-title', tabindex: '-1' }, `Item ${it.item}`), h('p', {}, 'Loading the masks…'));
  $('item-title').focus();
  try {
    const [t, p, o] = await Promise.all([api(`${url}/target`, { blob: true }), api(`${url}/prediction`, { blob: true }), api(`${url}/options`)]);
    const tb = new Uint8Array(await t.body.arrayBuffer());
    const pb = new Uint8Array(await p.body.arrayBuffer());
    const opts = o.body || {};
    const mc = !!it.per_class;
    let nodes;
    if (mc && !opts.classes) {
      nodes = [h('p', { class: 'note' }, 'A multi-class item kept without its classes: the target and prediction as stored, without an error map.')];
      const res = { width: it.width, height: it.height, losses: it.losses, metrics: it.metrics, per_class: it.per_class, warnings: [], maps: {} };
      nodes.push(...(await renderResult(res, { target: { bytes: tb }, prediction: { bytes: pb }, classes: Object.keys(Object.values(it.per_class)[0] || {}) })));
    } else {
      const form = new FormData();
      form.append('target', t.body, 'target');
      form.append('prediction', p.body, 'prediction');
      const th = opts.threshold;
      const at = (name) => (th === undefined ? name : { name, threshold: th });
      for (const [k, v] of Object.entries(opts)) {
        if (k !== 'threshold') form.append(k, v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v));
      }
      form.append('maps', JSON.stringify(mc ? ['errors', 'mask'] : [at('errors'), at('mask'), 'weight', 'bce']));
      form.append('map_format', 'png');
      form.append('metrics', JSON.stringify([at('dice')]));
      const r = await api('/v1/evaluate', { method: 'POST', body: form });
      r.body.losses = it.losses;
      r.body.metrics = it.metrics;
      if (mc) r.body.per_class = it.per_class;
      nodes = await renderResult(r.body, { target: { bytes: tb }, prediction: { bytes: pb }, logits: !!opts.logits, classes: opts.classes });
    }
    pics.replaceChildren(h('h2', { id: 'item-title', tabindex: '-1' }, `Item ${it.item}`),
      h('p', { class: 'hint' }, `Stored as sequence number ${it.seq}: `, h('code', {}, `GET ${url}/target`), ', ', h('code', {}, `${url}/prediction`),
        ' and ', h('code', {}, `${url}/options`)), ...nodes);
  } catch (err) {
    const why = err.status === 404 ? `This run did not keep the masks of item ${it.item}: evaluate with "keep_masks": true to keep them.` : null;
    pics.replaceChildren(h('h2', { id: 'item-title', tabindex: '-1' }, `Item ${it.item}`), why ? h('p', { class: 'note', role: 'alert' }, why) : problem('Cannot open the item', err));
  }
}

// ---- two runs ---------------------------------------------------------------------------

export async function showCompare(a, b) {
  const token = viewToken();
  const out = $('compare-out');
  $('h-compare').textContent = `Compare ${a} and ${b}`;
  let etag = null;
  const load = async () => {
    let r;
    try {
      r = await api(`/v1/runs/${encodeURIComponent(a)}/compare/${encodeURIComponent(b)}`, { etag });
    } catch (err) {
      if (token.current()) out.replaceChildren(problem('Cannot compare the runs', err));
      throw err;
    }
    if (r.status === 304 || !token.current()) return;
    etag = r.etag;
    const c = r.body;
    const nodes = [h('p', {}, 'Difference = B − A. Paired: the items present in both runs, compared one by one.')];
    for (const kind of ['losses', 'metrics']) {
      const keys = Object.keys(c[kind] || {});
      if (!keys.length) continue;
      nodes.push(table(kind === 'losses' ? 'Losses' : 'Metrics', ['key', `A: ${a}`, `B: ${b}`, 'difference', 'paired items', 'mean paired difference'],
        keys.map((k) => {
          const x = c[kind][k];
          return [h('code', {}, k), { num: x.a_mean }, { num: x.b_mean }, { num: x.difference }, { num: x.paired.count }, { num: x.paired.mean_difference }];
        }), { id: `cmp-${kind}` }));
    }
    nodes.push(h('h2', {}, 'The items that changed most'));
    for (const kind of ['losses', 'metrics']) {
      for (const [k, x] of Object.entries(c[kind] || {})) {
        if (!x.paired.most_changed.length) continue;
        nodes.push(table(`${kind}.${k}`, ['item', 'A', 'B', 'B − A'], x.paired.most_changed.map((m) =>
          [h('span', { class: 'item-name' }, m.item), { num: m.a }, { num: m.b }, { num: m.difference }]), { class: 'changed' }));
      }
    }
    out.replaceChildren(...nodes);
  };
  await load().catch(() => {});
  poller(token, load);
}
