// ui.mjs — the page seglossd serves at GET /, in Debian's headless Chromium
// (playwright-core drives it; axe-core checks accessibility).
//
// Two daemons on loopback ports, each with an in-memory store: one open,
// one with an API key. Every check reads what the page shows, the way a
// person would, and compares it with an independent source: the segloss
// CLI on the same files, pixels known by construction, the API's own
// answers. The browser may talk to nothing but the daemon: any request to
// another origin, any console error (a CSP refusal among them) and any
// uncaught exception fails the suite. Nothing waits on the clock: each
// step waits for an element or a condition, with a generous deadline.
//
// Environment: SEGLOSSD_BIN, SEGLOSS_BIN, CHROMIUM_BIN, UI_OUT (screenshots).

import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SEGLOSSD = path.resolve(ROOT, process.env.SEGLOSSD_BIN || 'build/release/seglossd');
const SEGLOSS = path.resolve(ROOT, process.env.SEGLOSS_BIN || 'build/release/segloss');
const BROWSER = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const OUT = path.resolve(ROOT, process.env.UI_OUT || 'build/release/ui-test');
const FIX = path.join(ROOT, 'tests/fixtures/blobs_soft8');
const AXE = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules/axe-core/axe.min.js'), 'utf8');
const KEY = 'ui-test-key-0123';
const DEADLINE = 60000;

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `: ${detail}`}`);
}

// ---- daemons ------------------------------------------------------------------------

function startDaemon(label, extra = [], vars = {}) {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SEGLOSS_'))), ...vars };
  const p = spawn(SEGLOSSD, ['--bind', '127.0.0.1', '--port', '0', '--db', ':memory:', '--workers', '2', ...extra],
    { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: seglossd did not start:\n${log}`)), DEADLINE);
    p.stderr.on('data', (d) => {
      log += d;
      const m = /seglossd listening.* port=(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ proc: p, port: Number(m[1]), origin: `http://127.0.0.1:${m[1]}`, log: () => log });
      }
    });
    p.on('exit', (code) => reject(new Error(`${label}: seglossd exited (${code}):\n${log}`)));
  });
}

async function stopDaemon(d) {
  const done = new Promise((r) => d.proc.on('exit', (code) => r(code)));
  d.proc.kill('SIGTERM');
  return done;
}

async function call(d, p, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (d.key) headers.Authorization = `Bearer ${d.key}`;
  const res = await fetch(d.origin + p, { ...opts, headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`${opts.method || 'GET'} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// One evaluation recorded in a run, by multipart (what a training script sends).
function record(d, run, item, target, prediction, extra = {}) {
  const form = new FormData();
  form.append('target', new Blob([target]), 'target.png');
  form.append('prediction', new Blob([prediction]), 'prediction.png');
  form.append('run', run);
  form.append('item', item);
  form.append('losses', 'bce,dice');
  form.append('metrics', 'iou');
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  return call(d, '/v1/evaluate', { method: 'POST', body: form });
}

// ---- inputs made here: .npy files whose TP, FP and FN pixels are known ----------------

function npy(descr, h, w, data) {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${h}, ${w}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

// Target: the rectangle x 8..23, y 6..17; prediction: p = 0.9 on x 14..29, y 6..17, else 0.1.
const SW = 40;
const SH = 24;
const inT = (x, y) => x >= 8 && x < 24 && y >= 6 && y < 18;
const inP = (x, y) => x >= 14 && x < 30 && y >= 6 && y < 18;
function syntheticPair() {
  const t = new Uint8Array(SW * SH);
  const p = new Float32Array(SW * SH);
  for (let y = 0; y < SH; y++) {
    for (let x = 0; x < SW; x++) {
      t[y * SW + x] = inT(x, y) ? 1 : 0;
      p[y * SW + x] = inP(x, y) ? 0.9 : 0.1;
    }
  }
  return { target: npy('|u1', SH, SW, t), prediction: npy('<f4', SH, SW, p) };
}

// ---- the browser --------------------------------------------------------------------

async function browserFor(d, label) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'segloss-ui-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: BROWSER,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: false,
  });
  const foreign = [];
  const errors = [];
  // Anything not from the daemon is refused and counted.
  await ctx.route('**/*', (route) => {
    const u = route.request().url();
    if (new URL(u).origin === d.origin) return route.continue();
    foreign.push(u);
    return route.abort('blockedbyclient');
  });
  ctx.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith('blob:') && new URL(u).origin !== d.origin && !foreign.includes(u)) foreign.push(u);
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.on('console', (m) => {
    // A 401 or 404 the page expects is logged by Chromium as a failed resource: not a page error.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|404)/.test(m.text())) {
      errors.push(m.text());
    }
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  return {
    ctx, page, foreign, errors, label,
    async close() {
      await ctx.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function axe(page, view) {
  await page.evaluate(AXE);
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(`${view}: axe finds no serious or critical violation`, bad.length === 0,
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`).join('\n   '));
}

// At 200 % zoom a 1280 px window is 640 CSS px wide: nothing may need sideways scrolling.
async function reflows(page, view) {
  await page.setViewportSize({ width: 640, height: 900 });
  const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(`${view}: readable at 200 % zoom (no sideways scrolling at 640 px)`, over <= 0, `${over} px too wide`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

// A screenshot of what the view shows first (or of one element), at the size the README shows it.
async function shot(page, name, element) {
  fs.mkdirSync(OUT, { recursive: true });
  await page.setViewportSize({ width: 1100, height: 720 });
  await page.evaluate(() => window.scrollTo(0, 0));
  if (element) await page.locator(element).screenshot({ path: path.join(OUT, `${name}.png`) });
  else await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: false });
  await page.setViewportSize({ width: 1280, height: 900 });
}

const near = (a, b, rel) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

// ---- the checks ---------------------------------------------------------------------

async function evaluateView(d, b) {
  const { page } = b;
  await page.goto(`${d.origin}/`);
  await page.waitForSelector('#list-losses input[type=checkbox]', { timeout: DEADLINE });
  check('GET / shows the Evaluate view with the catalogue', await page.isVisible('#view-evaluate'));
  const csp = (await (await fetch(`${d.origin}/`)).headers.get('content-security-policy')) || '';
  check('the page is served with a strict Content-Security-Policy', /default-src 'none'/.test(csp) && !/unsafe/.test(csp), csp);

  // The fixture's files (the target dropped on its zone, as from a file manager), the default
  // losses and metrics, plus focal with gamma 3 and hausdorff95.
  const dropped = await page.evaluateHandle((b64) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'target.png', { type: 'image/png' }));
    return dt;
  }, fs.readFileSync(path.join(FIX, 'target.png')).toString('base64'));
  await page.dispatchEvent('#drop-target', 'dragover', { dataTransfer: dropped });
  await page.dispatchEvent('#drop-target', 'drop', { dataTransfer: dropped });
  const chosen = await page.textContent('#f-target-chosen');
  check('a file dropped on the target zone is taken', chosen === `target.png (${fs.statSync(path.join(FIX, 'target.png')).size} bytes)`, chosen);
  await page.setInputFiles('#f-prediction', path.join(FIX, 'prediction.png'));
  await page.check('#losses-focal');
  await page.fill('#losses-focal-gamma', '3');
  await page.check('#metrics-hausdorff95');
  await page.click('#eval-go');
  await page.waitForSelector('#values-losses', { timeout: DEADLINE });
  const shown = await page.$$eval('#values-losses tbody tr, #values-metrics tbody tr', (rows) => rows.map((r) => ({
    table: r.closest('table').id, key: r.cells[0].textContent, text: r.cells[1].textContent, exact: r.cells[1].title })));
  const cli = JSON.parse(execFileSync(SEGLOSS, ['eval', '--target', path.join(FIX, 'target.png'), '--prediction', path.join(FIX, 'prediction.png'),
    '--loss', 'bce', '--loss', 'weighted_bce', '--loss', 'dice', '--loss', 'shape_aware', '--loss', 'focal:gamma=3',
    '--metric', 'dice', '--metric', 'iou', '--metric', 'hausdorff95'], { encoding: 'utf8' }));
  const want = [...Object.entries(cli.losses).map(([k, v]) => ['values-losses', k, v]), ...Object.entries(cli.metrics).map(([k, v]) => ['values-metrics', k, v])];
  check('the page shows every value segloss eval gives, and no other', shown.length === want.length &&
    want.every(([t, k]) => shown.some((s) => s.table === t && s.key === k)), JSON.stringify(shown.map((s) => s.key)));
  for (const [t, k, v] of want) {
    const s = shown.find((x) => x.table === t && x.key === k);
    check(`${t.slice(7)} ${k}: shown ${s?.text} equals segloss eval's ${v}`, s && near(Number(s.text), v, 1e-5) && near(Number(s.exact), v, 1e-12),
      `shown ${s?.text} (${s?.exact})`);
  }
  const formula = await page.textContent('#values-losses tbody tr:first-child td.formula');
  check('each value is shown with its formula', /ln/.test(formula), formula);

  // The pictures: five panels, zoomed together.
  for (const id of ['pic-target', 'pic-prediction', 'pic-errors', 'pic-weight', 'pic-bce']) {
    check(`picture ${id} is shown`, await page.isVisible(`#${id} canvas`));
  }
  const sizes = await page.$$eval('.stage canvas', (cs) => cs.map((c) => `${c.width}x${c.height}`));
  check('pictures are at full resolution (64 x 64)', sizes.every((s) => s === '64x64'), sizes.join());
  await page.focus('#pic-errors .stage');
  await page.keyboard.press('1');
  await page.keyboard.press('+');
  const transforms = await page.$$eval('.stage canvas', (cs) => cs.map((c) => c.style.transform));
  check('+ on a focused picture zooms every picture alike (2x)', new Set(transforms).size === 1 && /scale\(2\)/.test(transforms[0]), transforms.join(' | '));
  await page.keyboard.press('ArrowLeft');
  const moved = await page.$eval('#pic-weight canvas', (c) => c.style.transform);
  check('arrow keys pan every picture', moved !== transforms[0] && moved === (await page.$eval('#pic-target canvas', (c) => c.style.transform)), moved);
  // After a key, the pixel at the centre of the view is read out, politely, in words.
  const centre = await page.$eval('#pic-weight', (fig) => {
    const st = fig.querySelector('.stage');
    const m = /translate\(([-\d.e]+)px, ([-\d.e]+)px\) scale\(([-\d.e]+)\)/.exec(fig.querySelector('canvas').style.transform);
    return [Math.floor((st.clientWidth / 2 - Number(m[1])) / Number(m[3])), Math.floor((st.clientHeight / 2 - Number(m[2])) / Number(m[3]))];
  });
  const spoken = await page.$eval('#eval-out .viewer [aria-live=polite]', (e) => e.textContent);
  check('a key reads out the centre pixel in a polite live region', new RegExp(`^Centre: x ${centre[0]}, y ${centre[1]}: (true|false) (positive|negative), target [01], `
    + 'prediction ≈ [\\d.e-]+, weight ≈ [\\d.e-]+, bce ≈ [\\d.e-]+ \\(zoom 200 %\\)$').test(spoken), `${spoken} (centre ${centre})`);
  await page.keyboard.press('0');

  // The weight map's colour bar states the scale the API gives for the same request.
  const api = await call(d, '/v1/evaluate', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ target: fs.readFileSync(path.join(FIX, 'target.png')).toString('base64'),
      prediction: fs.readFileSync(path.join(FIX, 'prediction.png')).toString('base64'), maps: ['weight'], map_format: 'png', losses: ['bce'] }) });
  const scale = await page.$$eval('#pic-weight .scale span', (s) => s.map((x) => Number(x.textContent)));
  check('the weight map shows its scale (the map\'s range)', near(scale[0], api.maps.weight.range[0], 1e-5) && near(scale[2], api.maps.weight.range[1], 1e-5),
    `${scale} vs ${api.maps.weight.range}`);
  // Pointing at a pixel reads it: its error class, the target, the prediction, the heatmaps' values.
  const box = await page.$eval('#pic-weight .stage', (e) => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; });
  await page.mouse.move(box[0] + box[2] / 2, box[1] + box[3] / 2);
  const said = await page.textContent('.readout');
  check('pointing at a pixel reads its values', /^x \d+, y \d+: (true|false) (positive|negative), target [01], prediction ≈ [\d.e-]+, weight ≈ [\d.e-]+, bce ≈ [\d.e-]+$/.test(said), said);
  // A fixed scale: the weight map drawn again from 0 to 12, as the API's "range" draws it.
  await page.fill('#scale-weight-lo', '0');
  await page.fill('#scale-weight-hi', '12');
  await page.click('#pic-weight button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#pic-weight .scale span:last-child')?.textContent === '12', null, { timeout: DEADLINE });
  const fixed = await call(d, '/v1/evaluate', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ target: fs.readFileSync(path.join(FIX, 'target.png')).toString('base64'),
      prediction: fs.readFileSync(path.join(FIX, 'prediction.png')).toString('base64'), maps: [{ name: 'weight', range: [0, 12] }], map_format: 'png', losses: ['bce'] }) });
  const shownPng = await page.$eval('#pic-weight canvas', (c) => [...c.getContext('2d').getImageData(0, 0, c.width, c.height).data].join());
  const apiPng = await page.evaluate(async (b64) => {
    const bin = atob(b64);
    const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
    const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    c.getContext('2d').drawImage(bmp, 0, 0);
    return [...c.getContext('2d').getImageData(0, 0, bmp.width, bmp.height).data].join();
  }, fixed.maps.weight.data);
  check('a fixed scale draws the weight map as the API draws it with that range', shownPng === apiPng);
  await shot(page, 'evaluate', '#eval-out .viewer');
  await axe(page, 'Evaluate (with results)');
  await reflows(page, 'Evaluate');

  // Overlay colours at pixels known by construction (a .npy pair), opacity raised to 100 % by keyboard.
  const syn = syntheticPair();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segloss-ui-npy-'));
  fs.writeFileSync(path.join(dir, 'target.npy'), syn.target);
  fs.writeFileSync(path.join(dir, 'prediction.npy'), syn.prediction);
  await page.setInputFiles('#f-target', path.join(dir, 'target.npy'));
  await page.setInputFiles('#f-prediction', path.join(dir, 'prediction.npy'));
  await page.click('#eval-go');
  await page.waitForFunction(() => document.querySelector('#overlay-canvas')?.width === 40, null, { timeout: DEADLINE });
  await page.selectOption('#overlay-under', 'none');
  await page.focus('#overlay-opacity');
  await page.keyboard.press('End');
  const at = (x, y) => page.$eval('#overlay-canvas', (c, [px, py]) => [...c.getContext('2d').getImageData(px, py, 1, 1).data], [x, y]);
  const expect = { 'true positive': [0, 158, 115, 255], 'false positive': [213, 94, 0, 255], 'false negative': [0, 114, 178, 255], 'true negative': [0, 0, 0, 0] };
  const probes = [[16, 10, 'true positive'], [20, 17, 'true positive'], [26, 8, 'false positive'], [29, 17, 'false positive'],
    [9, 12, 'false negative'], [13, 6, 'false negative'], [2, 2, 'true negative'], [35, 20, 'true negative']];
  for (const [x, y, what] of probes) {
    const got = await at(x, y);
    check(`overlay pixel (${x}, ${y}) is ${what}: ${expect[what]}`, got.join() === expect[what].join(), got.join());
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

// A label map against class probabilities, with classes and an ignore label: the values and the
// per-class table equal segloss eval's; the prediction is drawn as predicted classes.
async function multiClassView(d, b) {
  const { page } = b;
  const MC = path.join(ROOT, 'tests/fixtures/multiclass/coins');
  await page.goto(`${d.origin}/#/evaluate`);
  await page.waitForSelector('#list-losses input[type=checkbox]', { timeout: DEADLINE });
  await page.fill('#o-classes', 'a,b,c');
  await page.fill('#o-ignore', '255');
  check('with classes, binary-only losses are not offered', await page.isDisabled('#losses-bce') && !(await page.isVisible('#losses-bce')));
  for (const id of await page.$$eval('.fnlist input[type=checkbox]:checked:not(:disabled)', (bs) => bs.map((x) => x.id))) await page.uncheck(`#${id}`);
  await page.check('#losses-cross_entropy');
  await page.check('#metrics-dice');
  await page.check('#metrics-iou');
  await page.setInputFiles('#f-target', path.join(MC, 'target.png'));
  await page.setInputFiles('#f-prediction', path.join(MC, 'prediction.npy'));
  await page.click('#eval-go');
  await page.waitForSelector('#values-per-class', { timeout: DEADLINE });
  const cli = JSON.parse(execFileSync(SEGLOSS, ['eval', '--target', path.join(MC, 'target.png'), '--prediction', path.join(MC, 'prediction.npy'),
    '--classes', 'a,b,c', '--ignore-index', '255', '--loss', 'cross_entropy', '--metric', 'dice', '--metric', 'iou'], { encoding: 'utf8' }));
  const shown = await page.$$eval('#values-losses tbody tr, #values-metrics tbody tr', (rows) => rows.map((r) => [r.cells[0].textContent, Number(r.cells[1].title)]));
  const want = [...Object.entries(cli.losses), ...Object.entries(cli.metrics)];
  check('multi-class: the values equal segloss eval\'s', shown.length === want.length && want.every(([k, v]) => shown.some(([sk, sv]) => sk === k && near(sv, v, 1e-12))),
    `${JSON.stringify(shown)} vs ${JSON.stringify(want)}`);
  const perClass = await page.$$eval('#values-per-class tbody tr', (rows) => rows.map((r) => [r.cells[0].textContent, Number(r.cells[1].title), Number(r.cells[2].title)]));
  check('multi-class: the per-class table equals segloss eval\'s', perClass.length === 3 &&
    perClass.every(([c, dice, iou]) => near(dice, cli.per_class.dice[c], 1e-12) && near(iou, cli.per_class.iou[c], 1e-12)), JSON.stringify(perClass));
  check('multi-class: the prediction is drawn as predicted classes', /predicted classes/.test(await page.textContent('#pic-prediction figcaption')));
  check('multi-class: the errors legend has five values', (await page.$$('#pic-errors .legend li')).length === 5);
  check('multi-class: the weight map over the classes, with its scale from X-Map-Min and X-Map-Max', await page.isVisible('#pic-weight .colorbar'));
  await axe(page, 'Evaluate (multi-class)');
  await page.fill('#o-classes', '');
}

// An annotation tool's export as the target (COCO RLE JSON) against a PNG mask: sent as its JSON
// object, scored as segloss eval scores the same files, and drawn as seglossd read it.
async function annotationView(d, b) {
  const { page } = b;
  const F = path.join(ROOT, 'tests/fixtures/formats');
  await page.goto(`${d.origin}/#/evaluate`);
  await page.waitForSelector('#list-losses input[type=checkbox]', { timeout: DEADLINE });
  for (const id of await page.$$eval('.fnlist input[type=checkbox]:checked:not(:disabled)', (bs) => bs.map((x) => x.id))) await page.uncheck(`#${id}`);
  await page.check('#losses-dice');
  await page.check('#metrics-dice');
  await page.check('#metrics-iou');
  await page.setInputFiles('#f-target', path.join(F, 'horse.coco_rle.json'));
  await page.setInputFiles('#f-prediction', path.join(F, 'horse.png'));
  await page.click('#eval-go');
  await page.waitForSelector('#values-metrics', { timeout: DEADLINE });
  const cli = JSON.parse(execFileSync(SEGLOSS, ['eval', '--target', path.join(F, 'horse.coco_rle.json'), '--prediction', path.join(F, 'horse.png'),
    '--loss', 'dice', '--metric', 'dice', '--metric', 'iou'], { encoding: 'utf8' }));
  const shown = await page.$$eval('#values-losses tbody tr, #values-metrics tbody tr', (rows) => rows.map((r) => [r.cells[0].textContent, Number(r.cells[1].title)]));
  const want = [...Object.entries(cli.losses), ...Object.entries(cli.metrics)];
  check('a COCO RLE export as the target: the values equal segloss eval\'s', shown.length === want.length &&
    want.every(([k, v]) => shown.some(([sk, sv]) => sk === k && near(sv, v, 1e-12))), `${JSON.stringify(shown)} vs ${JSON.stringify(want)}`);
  const warned = await page.$$eval('.warnings li', (l) => l.length);
  check('the warnings seglossd gives are shown', warned === cli.warnings.length, `${warned} vs ${cli.warnings.length}`);
  const size = await page.$eval('#pic-target canvas', (c) => `${c.width}x${c.height}`);
  check('the export is drawn at the size seglossd read', size === `${cli.width}x${cli.height}`, size);
}

async function runsViews(d, b) {
  const { page } = b;
  const T = fs.readFileSync(path.join(FIX, 'target.png'));
  const P = fs.readFileSync(path.join(FIX, 'prediction.png'));
  const P2 = fs.readFileSync(path.join(ROOT, 'tests/fixtures/blobs_128/prediction.png'));
  const T2 = fs.readFileSync(path.join(ROOT, 'tests/fixtures/blobs_128/target.png'));
  await record(d, 'ui-a', 'case-1', T, P, { keep_masks: 'true' });
  await record(d, 'ui-b', 'case-1', T, T); // the target as the prediction: a perfect item
  await record(d, 'ui-b', 'case-2', T2, P2);

  await page.goto(`${d.origin}/#/runs`);
  await page.waitForSelector('#runs-table', { timeout: DEADLINE });
  const names = await page.$$eval('#runs-table tbody th', (c) => c.map((x) => x.textContent));
  check('the runs list shows both runs', names.join() === 'ui-a,ui-b', names.join());
  await shot(page, 'runs');
  await axe(page, 'Runs');
  await reflows(page, 'Runs');

  // A run page, then an item written while it is open: it appears without a reload.
  await page.click('#runs-table a:text-is("ui-a")');
  await page.waitForSelector('#agg-losses', { timeout: DEADLINE });
  await page.evaluate(() => { window.notReloaded = true; });
  check('the run page shows its item count', (await page.textContent('#run-count')) === '1');
  // While nothing changes, each poll costs a 304: the page sends the run's ETag back.
  const notModified = await page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/runs/ui-a' && r.status() === 304, { timeout: DEADLINE });
  const etag = (await fetch(`${d.origin}/v1/runs/ui-a`)).headers.get('etag');
  check('the run page polls with If-None-Match and gets a 304 while nothing changes',
    (await notModified.request().headerValue('if-none-match')) === etag, await notModified.request().headerValue('if-none-match'));
  await record(d, 'ui-a', 'case-2', T2, P2);
  await page.waitForFunction(() => document.querySelector('#run-count')?.textContent === '2', null, { timeout: DEADLINE });
  await page.waitForFunction(() => document.querySelectorAll('#latest-table tbody tr').length === 2, null, { timeout: DEADLINE });
  check('a new item appears without reloading the page', await page.evaluate(() => window.notReloaded === true));
  const run = await call(d, '/v1/runs/ui-a');
  const meanShown = await page.$eval('#agg-losses tbody tr:first-child', (r) => [r.cells[0].textContent, r.cells[2].title]);
  check(`the aggregates equal the API's (${meanShown[0]} mean)`, near(Number(meanShown[1]), run.losses[meanShown[0]].mean, 1e-12), meanShown.join(' '));
  await page.waitForFunction(() => document.querySelector('#histogram')?.dataset.count === '2', null, { timeout: DEADLINE });
  check('the histogram counts both items', true);
  const worst = await page.$$eval('#worst-table tbody th', (c) => c.map((x) => x.textContent));
  const byApi = (await call(d, '/v1/runs/ui-a/items?order_by=losses.bce&order=desc&limit=10')).items.map((i) => i.item);
  check('the worst items are those the API sorts worst (bce, highest first)', worst.join() === byApi.join(), `${worst} vs ${byApi}`);
  await shot(page, 'run');
  await axe(page, 'Run');
  await reflows(page, 'Run');

  // An item's pictures: kept with keep_masks (case-1), or not (case-2), which the page says.
  const picturesOf = (item) => page.click(`#latest-table button[aria-label="Pictures of item ${item}"]`);
  await picturesOf('case-1');
  await page.waitForSelector('#item-pictures #pic-errors canvas', { timeout: DEADLINE });
  const item = (await call(d, '/v1/runs/ui-a/items?limit=10')).items.find((i) => i.item === 'case-1');
  const bceShown = await page.$$eval('#item-pictures #values-losses tbody tr', (rows) => rows.find((r) => r.cells[0].textContent === 'bce')?.cells[1].title);
  check('an item kept with keep_masks opens with its pictures and its recorded values', Number(bceShown) === item.losses.bce, bceShown);
  const targetLit = await page.$eval('#item-pictures #pic-target canvas', (c) => {
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) n += px[i] === 255 ? 1 : 0;
    return n;
  });
  const fg = (await call(d, '/v1/evaluate', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ target: T.toString('base64'), prediction: P.toString('base64'), maps: ['errors'], map_format: 'npy', metrics: ['dice'] }) }));
  const errs = Buffer.from(fg.maps.errors.data, 'base64');
  const body = errs.subarray(errs.length - 64 * 64);
  const want = body.reduce((a, v) => a + (v === 1 || v === 3 ? 1 : 0), 0);
  check('the kept target is drawn pixel for pixel (its foreground count)', targetLit === want, `${targetLit} vs ${want}`);
  await axe(page, 'Run item pictures');
  await picturesOf('case-2');
  await page.waitForFunction(() => /did not keep the masks of item case-2/.test(document.querySelector('#item-pictures')?.textContent || ''), null, { timeout: DEADLINE });
  check('an item recorded without keep_masks says so', true);

  // Compare two runs from the list's form.
  await page.goto(`${d.origin}/#/runs`);
  await page.waitForSelector('#compare-form', { timeout: DEADLINE });
  await page.selectOption('#cmp-a', 'ui-a');
  await page.selectOption('#cmp-b', 'ui-b');
  await page.click('#compare-form button[type=submit]');
  await page.waitForSelector('#cmp-losses', { timeout: DEADLINE });
  const cmp = await call(d, '/v1/runs/ui-a/compare/ui-b');
  const rows = await page.$$eval('#cmp-losses tbody tr', (rs) => rs.map((r) => [r.cells[0].textContent, r.cells[3].title, r.cells[4].title]));
  check('the comparison shows every loss the API compares', rows.length === Object.keys(cmp.losses).length, rows.map((r) => r[0]).join());
  for (const [k, diff, n] of rows) {
    check(`compare ${k}: difference and paired count equal the API's`, cmp.losses[k] && near(Number(diff), cmp.losses[k].difference, 1e-12) &&
      Number(n) === cmp.losses[k].paired.count, `${diff} ${n}`);
  }
  for (const kind of ['losses', 'metrics']) {
    const shown = await page.$$eval(`#cmp-${kind} tbody tr`, (rs) => rs.map((r) => [r.cells[0].textContent, ...[1, 2, 5].map((i) => r.cells[i].title)]));
    check(`compare: every ${kind} key the API compares is shown`, shown.length === Object.keys(cmp[kind]).length, shown.map((r) => r[0]).join());
    for (const [k, a, bm, md] of shown) {
      const x = cmp[kind][k];
      const same = (text, v) => (v === null ? text === 'null' : near(Number(text), v, 1e-12));
      check(`compare ${kind}.${k}: the means of A and B and the mean paired difference equal the API's`,
        x && same(a, x.a_mean) && same(bm, x.b_mean) && same(md, x.paired.mean_difference), `${a} ${bm} ${md} vs ${x?.a_mean} ${x?.b_mean} ${x?.paired.mean_difference}`);
    }
  }
  const changed = await page.$$eval('table.changed', (ts) => ts.map((t) => [t.caption.textContent,
    [...t.tBodies[0].rows].map((r) => [r.cells[0].textContent, r.cells[1].title, r.cells[2].title, r.cells[3].title])]));
  const wantChanged = ['losses', 'metrics'].flatMap((kind) => Object.entries(cmp[kind]).filter(([, x]) => x.paired.most_changed.length)
    .map(([k, x]) => [`${kind}.${k}`, x.paired.most_changed]));
  check('compare: a table of the items that changed most for every key the API has them for',
    changed.length === wantChanged.length && changed.every(([c], i) => c === wantChanged[i][0]), changed.map((c) => c[0]).join());
  for (const [caption, most] of wantChanged) {
    const rowsShown = changed.find(([c]) => c === caption)?.[1] || [];
    check(`compare ${caption}: the items that changed most, their A, B and B − A, equal the API's`, rowsShown.length === most.length &&
      most.every((m, i) => rowsShown[i][0] === m.item && near(Number(rowsShown[i][1]), m.a, 1e-12) && near(Number(rowsShown[i][2]), m.b, 1e-12) &&
        near(Number(rowsShown[i][3]), m.difference, 1e-12)), JSON.stringify(rowsShown));
  }
  await shot(page, 'compare');
  await axe(page, 'Compare');
  await reflows(page, 'Compare');
}

// A run past the histogram's 50,000 items stays live: its latest items are the run's newest (not
// those near 50,000), a new one appears, and the page says the histogram is a sample.
async function bigRunView(d, b) {
  const { page } = b;
  const H2 = path.join(ROOT, 'tests/fixtures/hand_2x2');
  const t = fs.readFileSync(path.join(H2, 'target.png')).toString('base64');
  const p = fs.readFileSync(path.join(H2, 'prediction.npy')).toString('base64');
  const N = 51000;
  for (let s = 0; s < N; s += 1000) {
    const items = Array.from({ length: 1000 }, (_, i) => ({ target: t, prediction: p, item: `big-${String(s + i).padStart(6, '0')}` }));
    await call(d, '/v1/evaluate', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ items, run: 'ui-big', losses: ['bce'], metrics: ['dice'] }) });
  }
  await page.goto(`${d.origin}/#/runs/ui-big`);
  await page.waitForSelector('#latest-table tbody tr', { timeout: DEADLINE });
  const newest = (await call(d, '/v1/runs/ui-big/items?order=desc&limit=20')).items.map((i) => i.item);
  const shown = await page.$$eval('#latest-table tbody th', (c) => c.map((x) => x.textContent));
  check(`a run of ${N} items lists its newest items`, shown.join() === newest.join(), `${shown.slice(0, 3)} vs ${newest.slice(0, 3)}`);
  const note = await page.textContent('#hist-sample').catch(() => '');
  check('the page says the histogram is a sample', /sample: the first 50,000 items of the run's 51,000/.test(note), note);
  check('the histogram counts the sample', (await page.$eval('#histogram', (e) => e.dataset.count)) === '50000');
  await record(d, 'ui-big', 'big-new', fs.readFileSync(path.join(FIX, 'target.png')), fs.readFileSync(path.join(FIX, 'prediction.png')));
  const appeared = await page.waitForFunction(() => document.querySelector('#latest-table tbody th')?.textContent === 'big-new', null, { timeout: DEADLINE })
    .then(() => true, () => false);
  check('an item written to the big run appears without a reload', appeared);
  check('the item count follows', (await page.textContent('#run-count')) === String(N + 1));
}

// Leaving a view while its first answer is still on its way leaves no poller behind: the answers
// of a run page and of the jobs list are held until the page has moved on to the runs list, then
// let go; the list polls on, and nothing asks for the run or the jobs again.
async function leavingViews(d, b) {
  const { page } = b;
  let release;
  const gate = new Promise((r) => { release = r; });
  const held = new Set();
  const hold = async (route) => {
    held.add(new URL(route.request().url()).pathname);
    await gate;
    await route.continue();
  };
  const runUrl = (u) => u.pathname === '/v1/runs/ui-a';
  const jobsUrl = (u) => u.pathname === '/v1/jobs';
  await page.route(runUrl, hold);
  await page.route(jobsUrl, hold);
  let released = false;
  const after = { run: 0, jobs: 0, list: 0 };
  const seen = (r) => {
    if (!released) return;
    const p = new URL(r.url()).pathname;
    if (p === '/v1/runs/ui-a') after.run++;
    else if (p === '/v1/jobs') after.jobs++;
    else if (p === '/v1/runs') after.list++;
  };
  page.on('request', seen);
  await page.goto(`${d.origin}/#/runs/ui-a`);
  await page.waitForSelector('#view-run:not([hidden])', { timeout: DEADLINE });
  await page.evaluate(() => { location.hash = '#/jobs'; });
  await page.waitForSelector('#view-jobs:not([hidden])', { timeout: DEADLINE });
  await page.evaluate(() => { location.hash = '#/runs'; });
  await page.waitForSelector('#runs-table', { timeout: DEADLINE });
  check('the run\'s and the jobs\' first answers were held while the page moved on', held.has('/v1/runs/ui-a') && held.has('/v1/jobs'), [...held].join());
  released = true;
  release();
  // The list polls every 1.5 s: seven of its polls span longer than a leftover poller's first tick
  // (1.5 s for a run, 6 s for the jobs), so each would have asked by then.
  await new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`the runs list stopped polling: ${JSON.stringify(after)}`)), DEADLINE);
    const f = () => {
      if (after.list < 7) return;
      clearTimeout(deadline);
      page.off('request', f);
      resolve();
    };
    page.on('request', f);
  });
  check('the runs list kept polling', after.list >= 7, JSON.stringify(after));
  check('leaving a run page during its first load leaves no poller', after.run === 0, JSON.stringify(after));
  check('leaving the jobs list during its first load leaves no poller', after.jobs === 0, JSON.stringify(after));
  page.off('request', seen);
  await page.unroute(runUrl, hold);
  await page.unroute(jobsUrl, hold);
}

// A PNG (base64) decoded in the page as its RGBA bytes, joined: what a canvas drawn from it holds.
const pngPixels = (page, b64) => page.evaluate(async (data) => {
  const bmp = await createImageBitmap(new Blob([Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0))], { type: 'image/png' }),
    { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const c = new OffscreenCanvas(bmp.width, bmp.height);
  c.getContext('2d').drawImage(bmp, 0, 0);
  return [...c.getContext('2d').getImageData(0, 0, bmp.width, bmp.height).data].join();
}, b64);

// Opens an item's pictures from its run page; resolves once they or a problem are shown.
async function openKept(d, page, run, item) {
  await page.goto(`${d.origin}/#/runs/${run}`);
  await page.waitForSelector(`#latest-table button[aria-label="Pictures of item ${item}"]`, { timeout: DEADLINE });
  await page.click(`#latest-table button[aria-label="Pictures of item ${item}"]`);
  await page.waitForSelector('#item-pictures #pic-errors canvas, #item-pictures .problem', { timeout: DEADLINE });
  return (await page.$('#item-pictures .problem')) ? page.textContent('#item-pictures .problem') : null;
}

// Kept items recorded with options that change how their masks are read (logits and a threshold;
// classes and an ignore label) open with the error map those options give, as the API draws it.
async function keptOptionsView(d, b) {
  const { page } = b;
  const L = path.join(ROOT, 'tests/fixtures/logits');
  const LT = fs.readFileSync(path.join(L, 'target.png'));
  const LP = fs.readFileSync(path.join(L, 'prediction.npy'));
  const form = new FormData();
  form.append('target', new Blob([LT]), 'target.png');
  form.append('prediction', new Blob([LP]), 'prediction.npy');
  for (const [k, v] of [['run', 'ui-logits'], ['item', 'logit-1'], ['keep_masks', 'true'], ['logits', 'true'],
    ['losses', 'bce'], ['metrics', JSON.stringify([{ name: 'dice', threshold: 0.3 }])]]) form.append(k, v);
  await call(d, '/v1/evaluate', { method: 'POST', body: form });
  const trouble = await openKept(d, page, 'ui-logits', 'logit-1');
  check('an item kept with logits and a threshold opens with its pictures', trouble === null, trouble);
  if (trouble === null) {
    const errorsAt = async (threshold) => (await call(d, '/v1/evaluate', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ target: LT.toString('base64'), prediction: LP.toString('base64'), logits: true, metrics: ['dice'],
        maps: [{ name: 'errors', threshold }], map_format: 'png' }) })).maps.errors.data;
    const want = await pngPixels(page, await errorsAt(0.3));
    check('the threshold changes this item\'s error map (the check below can tell)', want !== (await pngPixels(page, await errorsAt(0.5))));
    await page.selectOption('#item-pictures #overlay-under', 'none');
    await page.focus('#item-pictures #overlay-opacity');
    await page.keyboard.press('End');
    const shown = await page.$eval('#item-pictures #overlay-canvas', (c) => [...c.getContext('2d').getImageData(0, 0, c.width, c.height).data].join());
    check('its error map is the one its logits and threshold give', shown === want);
    const item = (await call(d, '/v1/runs/ui-logits/items?limit=1')).items[0];
    const bce = await page.$$eval('#item-pictures #values-losses tbody tr', (rows) => rows.find((r) => r.cells[0].textContent === 'bce')?.cells[1].title);
    check('it shows its recorded values', Number(bce) === item.losses.bce, bce);
  }

  // Multi-class: the classes and the ignore label come back with the masks; the error map is drawn.
  const MC = path.join(ROOT, 'tests/fixtures/multiclass/coins');
  const mf = new FormData();
  mf.append('target', new Blob([fs.readFileSync(path.join(MC, 'target.png'))]), 'target.png');
  mf.append('prediction', new Blob([fs.readFileSync(path.join(MC, 'prediction.npy'))]), 'prediction.npy');
  for (const [k, v] of [['run', 'ui-mc'], ['item', 'coins'], ['keep_masks', 'true'], ['classes', 'a,b,c'], ['ignore_index', '255'], ['metrics', 'dice']]) mf.append(k, v);
  await call(d, '/v1/evaluate', { method: 'POST', body: mf });
  const mcTrouble = await openKept(d, page, 'ui-mc', 'coins');
  check('a multi-class kept item opens with its error map', mcTrouble === null, mcTrouble);
  if (mcTrouble === null) {
    const item = (await call(d, '/v1/runs/ui-mc/items?limit=1')).items[0];
    const perClass = await page.$$eval('#item-pictures #values-per-class tbody tr', (rows) => rows.map((r) => [r.cells[0].textContent, Number(r.cells[1].title)]));
    check('its per-class table shows the recorded values', perClass.length === 3 && perClass.every(([c, v]) => v === item.per_class.dice[c]), JSON.stringify(perClass));
    check('its errors legend has the five multi-class values', (await page.$$('#item-pictures #pic-errors .legend li')).length === 5);
    await axe(page, 'Run item pictures (multi-class)');
  }
}

async function jobsView(d, b) {
  const { page } = b;
  const form = new FormData();
  form.append('target', new Blob([fs.readFileSync(path.join(FIX, 'target.png'))]), 't.png');
  form.append('prediction', new Blob([fs.readFileSync(path.join(FIX, 'prediction.png'))]), 'p.png');
  const job = await call(d, '/v1/jobs', { method: 'POST', body: form });
  await page.goto(`${d.origin}/#/jobs`);
  await page.waitForSelector('#jobs-table', { timeout: DEADLINE });
  await page.waitForFunction((id) => [...document.querySelectorAll('#jobs-table tbody tr')].some((r) =>
    r.cells[0].querySelector('code')?.title === id && r.cells[1].textContent === 'done'), job.id, { timeout: DEADLINE });
  const progress = await page.$eval('#jobs-table tbody tr progress', (p) => [p.value, p.max]);
  check('the jobs list shows the job done with its progress (1 of 1)', progress.join() === '1,1', progress.join());
  await shot(page, 'jobs');
  await axe(page, 'Jobs');
  await reflows(page, 'Jobs');
}

async function keysView(d, b) {
  const { page } = b;
  await page.goto(`${d.origin}/`);
  await page.waitForSelector('#keybox:not([hidden])', { timeout: DEADLINE });
  const why = await page.textContent('#key-why');
  check('without a key the page says a key is needed', /needs an API key/.test(why) && /Authorization: Bearer/.test(why), why);
  check('without a key the page says it cannot start', /401/.test(await page.textContent('#loading')));
  await axe(page, 'API key prompt');
  await reflows(page, 'API key prompt');
  await page.fill('#key-input', 'not-the-key');
  await page.press('#key-input', 'Enter');
  await page.waitForFunction(() => /refused the API key/.test(document.querySelector('#key-why').textContent), null, { timeout: DEADLINE });
  check('a wrong key is refused, saying why', /not a valid API key/.test(await page.textContent('#key-why')));
  await page.fill('#key-input', KEY);
  await page.press('#key-input', 'Enter');
  await page.waitForSelector('#list-losses input[type=checkbox]', { timeout: DEADLINE });
  check('once the key is entered the page works', await page.isHidden('#keybox'));
  await page.setInputFiles('#f-target', path.join(FIX, 'target.png'));
  await page.setInputFiles('#f-prediction', path.join(FIX, 'prediction.png'));
  await page.click('#eval-go');
  await page.waitForSelector('#values-losses', { timeout: DEADLINE });
  check('an evaluation works with the key', true);
  const stored = await page.evaluate(() => sessionStorage.getItem('segloss.apiKey'));
  check('the key is kept in sessionStorage (this tab only)', stored === KEY, stored);
}

async function main() {
  const open = await startDaemon('open');
  const keyed = await startDaemon('keyed', ['--api-key', KEY]);
  keyed.key = KEY;
  const browsers = [];
  try {
    const b = await browserFor(open, 'open');
    browsers.push(b);
    await evaluateView(open, b);
    await multiClassView(open, b);
    await annotationView(open, b);
    await runsViews(open, b);
    await keptOptionsView(open, b);
    await leavingViews(open, b);
    await bigRunView(open, b);
    await jobsView(open, b);
    const k = await browserFor(keyed, 'keyed');
    browsers.push(k);
    await keysView(keyed, k);
  } catch (e) {
    check('the suite ran to its end', false, e.stack);
  }
  for (const b of browsers) {
    check(`${b.label}: the page asked nothing of any other origin`, b.foreign.length === 0, b.foreign.join(' '));
    check(`${b.label}: no console error, CSP refusal or uncaught exception`, b.errors.length === 0, b.errors.join('\n   '));
    await b.close();
  }
  const bad = spawnSync(SEGLOSSD, ['--ui', 'maybe'], { encoding: 'utf8' });
  check('--ui takes on or off only', bad.status === 2 && /invalid value 'maybe' for --ui/.test(bad.stderr), `${bad.status} ${bad.stderr}`);
  // SEGLOSS_UI=off: no page, the API as before.
  const off = await startDaemon('ui off', [], { SEGLOSS_UI: 'off' });
  const res = await fetch(`${off.origin}/`);
  check('SEGLOSS_UI=off: GET / is a 404', res.status === 404 && /--ui off/.test((await res.json()).detail), String(res.status));
  check('SEGLOSS_UI=off: the API still answers', (await fetch(`${off.origin}/v1/losses`)).status === 200);
  check('the ui-off daemon exits cleanly', (await stopDaemon(off)) === 0);
  check('the open daemon exits cleanly', (await stopDaemon(open)) === 0);
  check('the keyed daemon exits cleanly', (await stopDaemon(keyed)) === 0);
  console.log(`screenshots in ${path.relative(ROOT, OUT)}/`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
