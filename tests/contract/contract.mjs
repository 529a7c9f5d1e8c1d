// Contract test: api/openapi.yaml against a running seglossd.
//
// Starts seglossd on ephemeral loopback ports, sends a table of requests
// (every route, JSON and multipart bodies, Accept variants, every error
// class), and validates each live response -- status, Content-Type,
// headers and body -- against the operation's response in the spec, with
// Ajv (JSON Schema 2020-12) over the spec's own components. It also checks
// the spec against itself and the server's catalogue (examples validate,
// request schemas accept and reject what the server does, the loss /
// metric / map names and parameters match GET /v1/losses), and that every
// documented operation and status code was seen, so the spec and the
// server cannot drift apart. Exit status 0 only when everything matched.
//
// Environment: SEGLOSSD_BIN (default build/release/seglossd),
// SEGLOSS_SPEC (default api/openapi.yaml), both relative to the project
// root; CONTRACT_VERBOSE=1 prints every response.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.resolve(ROOT, process.env.SEGLOSSD_BIN || 'build/release/seglossd');
const SPEC_FILE = path.resolve(ROOT, process.env.SEGLOSS_SPEC || 'api/openapi.yaml');
const VERBOSE = process.env.CONTRACT_VERBOSE === '1';
const FIX = (name) => fs.readFileSync(path.join(ROOT, 'tests/fixtures', name));

// Statuses the spec documents that a black-box test cannot provoke.
const NOT_TESTABLE = {
	'POST /v1/evaluate 500': 'an internal failure (a bug)',
	'POST /v1/weight-map 500': 'an internal failure (a bug)',
	'GET /v1/losses 503': 'out of memory while copying the response',
	'GET /v1/openapi.yaml 503': 'out of memory while copying the response',
	'GET /healthz 503': 'out of memory while copying the response',
	'GET /metrics 503': 'out of memory while rendering the metrics',
	'HEAD /v1/losses 503': 'out of memory while copying the response',
	'HEAD /v1/openapi.yaml 503': 'out of memory while copying the response',
	'HEAD /healthz 503': 'out of memory while copying the response',
	'HEAD /metrics 503': 'out of memory while rendering the metrics',
};

// ---- results -------------------------------------------------------------

let validated = 0;
let passed = 0;
const failures = [];

function fail(name, msg) {
	failures.push(`${name}: ${msg}`);
	console.log(`FAIL ${name}\n     ${msg.split('\n').join('\n     ')}`);
}

function check(name, cond, msg) {
	if (!cond) fail(name, msg);
	return !!cond;
}

// ---- the spec ----------------------------------------------------------------

const specText = fs.readFileSync(SPEC_FILE, 'utf8');
const spec = YAML.parse(specText);
const SPEC_ID = 'urn:segloss:openapi';

function makeAjv(opts) {
	const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true, ...opts });
	addFormats(ajv);
	// The document's top-level fields are not schema keywords; Ajv compiles
	// only the schemas that $refs reach, each in strict mode.
	ajv.addVocabulary(Object.keys(spec).filter((k) => !ajv.getKeyword(k)));
	ajv.addSchema(spec, SPEC_ID);
	return ajv;
}
const ajv = makeAjv({});
const ajvHeaders = makeAjv({ coerceTypes: true });

const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const ptr = (...parts) => '/' + parts.map((p) => esc(String(p))).join('/');

function get(pointer) {
	let v = spec;
	for (const raw of pointer.split('/').slice(1)) {
		const k = raw.replace(/~1/g, '/').replace(/~0/g, '~');
		if (v == null || !(k in v)) throw new Error(`no ${pointer} in the spec`);
		v = v[k];
	}
	return v;
}

// Follows $refs; returns the object and the pointer where it lives.
function deref(pointer) {
	let p = pointer;
	let v = get(p);
	for (let i = 0; v && typeof v === 'object' && typeof v.$ref === 'string'; i++) {
		if (!v.$ref.startsWith('#/') || i > 16) throw new Error(`cannot follow ${v.$ref}`);
		p = v.$ref.slice(1);
		v = get(p);
	}
	return { value: v, pointer: p };
}

const compiled = new Map();
function validator(pointer, which = ajv) {
	const key = (which === ajv ? 'b:' : 'h:') + pointer;
	const fragment = pointer.split('/').map(encodeURIComponent).join('/');
	if (!compiled.has(key)) compiled.set(key, which.compile({ $ref: `${SPEC_ID}#${fragment}` }));
	return compiled.get(key);
}

function schemaErrors(pointer, value, which = ajv) {
	const v = validator(pointer, which);
	if (v(value)) return null;
	return which.errorsText(v.errors, { separator: '\n', dataVar: 'body' });
}

const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace'];

// Every documented operation and its statuses: "GET /healthz" -> Set("200", ...).
const documented = new Map();
for (const [p, item] of Object.entries(spec.paths)) {
	for (const m of METHODS) {
		if (item[m]) documented.set(`${m.toUpperCase()} ${p}`, new Set(Object.keys(item[m].responses)));
	}
}
const DEFAULT_KEY = 'ANY (no documented path)';
documented.set(DEFAULT_KEY, new Set(Object.keys(spec['x-default-responses']?.responses ?? {})));
const seen = new Map();

// The operation that documents a response to METHOD PATH: the operation
// itself; for another method on a documented path, the path's GET or POST
// (whose 405 describes it); for an unknown path, x-default-responses.
function operationFor(method, urlPath) {
	const item = spec.paths[urlPath];
	if (!item) return { key: DEFAULT_KEY, responses: ptr('x-default-responses', 'responses') };
	const m = method.toLowerCase();
	if (item[m]) return { key: `${method} ${urlPath}`, responses: ptr('paths', urlPath, m, 'responses'), own: true };
	const primary = item.get ? 'get' : 'post';
	return { key: `${primary.toUpperCase()} ${urlPath}`, responses: ptr('paths', urlPath, primary, 'responses') };
}

const baseType = (ct) => (ct || '').split(';')[0].trim().toLowerCase();
const normType = (ct) => (ct || '').toLowerCase().split(';').map((s) => s.trim()).join('; ');

function matchContent(content, ct) {
	const keys = Object.keys(content);
	return keys.find((k) => normType(k) === normType(ct)) ?? keys.find((k) => baseType(k) === baseType(ct) && !k.includes(';'));
}

// Validates one live response against the spec. Returns the parsed body (or null).
function validateResponse(name, method, urlPath, res) {
	validated++;
	const op = operationFor(method, urlPath);
	const status = String(res.status);
	if (!seen.has(op.key)) seen.set(op.key, new Set());
	seen.get(op.key).add(status);
	const errs = [];
	const responses = get(op.responses);
	if (!(status in responses)) {
		fail(name, `${method} ${urlPath} answered ${status}, which the spec does not document for ${op.key} ` +
			`(documented: ${Object.keys(responses).join(', ')})\nbody: ${res.body.toString('utf8', 0, 300)}`);
		return null;
	}
	const { value: resp, pointer: respPtr } = deref(`${op.responses}/${esc(status)}`);

	// Headers.
	for (const hname of Object.keys(resp.headers ?? {})) {
		const { value: h, pointer: hPtr } = deref(`${respPtr}/headers/${esc(hname)}`);
		const v = res.headers[hname.toLowerCase()];
		if (v === undefined) {
			if (h.required) errs.push(`missing required header ${hname}`);
			continue;
		}
		if (h.schema) {
			const e = schemaErrors(`${hPtr}/schema`, v, ajvHeaders);
			if (e) errs.push(`header ${hname}: ${JSON.stringify(v)}: ${e}`);
		}
	}

	// Content type and body.
	const ct = res.headers['content-type'];
	let parsed = null;
	if (method === 'HEAD') {
		if (res.body.length) errs.push(`HEAD response has a ${res.body.length}-byte body`);
		// A HEAD answer carries the Content-Type of the GET's response with the same status.
		const getResp = op.own && spec.paths[urlPath].get?.responses?.[status];
		const content = getResp ? deref(ptr('paths', urlPath, 'get', 'responses', status)).value.content : resp.content;
		if (content && !matchContent(content, ct)) errs.push(`Content-Type ${ct} is not one of ${Object.keys(content).join(', ')}`);
	} else if (resp.content) {
		const key = matchContent(resp.content, ct);
		if (!key) {
			errs.push(`Content-Type ${ct} is not one of ${Object.keys(resp.content).join(', ')}`);
		} else {
			const mtPtr = `${respPtr}/content/${esc(key)}`;
			const mt = get(mtPtr);
			const bt = baseType(key);
			if (bt === 'application/json' || bt.endsWith('+json')) {
				try {
					parsed = JSON.parse(res.body.toString('utf8'));
				} catch (e) {
					errs.push(`body is not JSON: ${e.message}`);
				}
				if (parsed !== null && mt.schema) {
					const e = schemaErrors(`${mtPtr}/schema`, parsed);
					if (e) errs.push(`body does not match ${mt.schema.$ref ?? 'the schema'}:\n${e}`);
				}
				if (parsed && bt === 'application/problem+json') {
					if (parsed.status !== res.status) errs.push(`problem status ${parsed.status} != HTTP ${res.status}`);
					if (parsed.request_id !== res.headers['x-request-id'])
						errs.push(`problem request_id ${parsed.request_id} != X-Request-Id ${res.headers['x-request-id']}`);
				}
			} else {
				const text = res.body.toString('utf8');
				if (bt === 'image/png' && !res.body.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex')))
					errs.push('body is not a PNG');
				else if (bt === 'application/x-npy' && !res.body.subarray(0, 6).equals(Buffer.from('\x93NUMPY', 'latin1')))
					errs.push('body is not a .npy file');
				else if (bt === 'application/yaml') {
					try {
						YAML.parse(text);
					} catch (e) {
						errs.push(`body is not YAML: ${e.message}`);
					}
				}
				if (mt.schema && (bt.startsWith('text/') || bt === 'application/yaml')) {
					const e = schemaErrors(`${mtPtr}/schema`, text);
					if (e) errs.push(`body does not match its schema: ${e}`);
				}
				parsed = bt.startsWith('text/') || bt === 'application/yaml' ? text : res.body;
			}
		}
	} else if (res.body.length) {
		errs.push(`the spec documents no body, got ${res.body.length} bytes`);
	}
	if (errs.length) {
		fail(name, `${method} ${urlPath} ${status}: ${errs.join('\n')}`);
		return null;
	}
	if (VERBOSE) console.log(`  ok ${method} ${urlPath} ${status} ${ct ?? ''} ${res.body.length}B`);
	return parsed ?? {};
}

// ---- the daemon --------------------------------------------------------------

function startDaemon(label, extra = []) {
	return new Promise((resolve, reject) => {
		const args = ['--bind', '127.0.0.1', '--port', '0', '--workers', '2', ...extra];
		const child = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
		const d = { label, child, log: '', port: 0, exited: null };
		const timer = setTimeout(() => reject(new Error(`${label}: no "listening" line in 10 s:\n${d.log}`)), 10000);
		d.exit = new Promise((res) => child.on('exit', (code, signal) => res((d.exited = { code, signal }))));
		child.on('error', (e) => {
			clearTimeout(timer);
			reject(new Error(`${label}: cannot start ${BIN}: ${e.message}`));
		});
		child.stderr.setEncoding('utf8');
		child.stderr.on('data', (chunk) => {
			d.log += chunk;
			const m = !d.port && /seglossd listening .*\bport=(\d+)/.exec(d.log);
			if (m) {
				d.port = Number(m[1]);
				clearTimeout(timer);
				resolve(d);
			}
		});
		child.on('exit', (code) => {
			if (!d.port) {
				clearTimeout(timer);
				reject(new Error(`${label}: exited with ${code} before listening:\n${d.log}`));
			}
		});
	});
}

async function stopDaemon(d) {
	if (d.exited === null) d.child.kill('SIGTERM');
	const t = setTimeout(() => d.child.kill('SIGKILL'), 30000);
	const { code, signal } = await d.exit;
	clearTimeout(t);
	passed += check(`${d.label}: exit`, code === 0, `exit code ${code}, signal ${signal}; log:\n${d.log.slice(-2000)}`) ? 1 : 0;
}

// ---- HTTP clients ------------------------------------------------------------

// One request on a new connection (node:http). A response that comes before
// the body has been written (an early 413) is still collected.
function send(port, { method = 'GET', path: p, headers = {}, body, chunked = false }) {
	return new Promise((resolve, reject) => {
		const hdrs = { ...headers };
		if (body !== undefined && !chunked) hdrs['Content-Length'] = Buffer.byteLength(body);
		const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: hdrs, agent: false });
		let answered = false;
		req.setTimeout(30000, () => req.destroy(new Error('timeout')));
		req.on('response', (res) => {
			answered = true;
			const parts = [];
			res.on('data', (c) => parts.push(c));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
			res.on('error', reject);
		});
		req.on('error', (e) => {
			if (!answered) reject(e);
		});
		if (body !== undefined) {
			if (chunked) {
				const b = Buffer.from(body);
				for (let i = 0; i < b.length; i += 1024) req.write(b.subarray(i, i + 1024));
			} else {
				req.write(body);
			}
		}
		req.end();
	});
}

// A raw keep-alive connection: several requests one after another.
class RawConn {
	constructor(port) {
		this.port = port;
		this.buf = Buffer.alloc(0);
		this.waiters = [];
		this.closed = false;
	}
	open() {
		return new Promise((resolve, reject) => {
			this.sock = net.connect(this.port, '127.0.0.1', resolve);
			this.sock.once('error', reject);
			this.sock.on('data', (c) => {
				this.buf = Buffer.concat([this.buf, c]);
				this.wake();
			});
			this.sock.on('close', () => {
				this.closed = true;
				this.wake();
			});
		});
	}
	wake() {
		const w = this.waiters;
		this.waiters = [];
		w.forEach((f) => f());
	}
	write(data) {
		this.sock.write(data);
	}
	async readResponse(head = false) {
		const deadline = Date.now() + 30000;
		for (;;) {
			const end = this.buf.indexOf('\r\n\r\n');
			if (end >= 0) {
				const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
				const status = Number(lines[0].split(' ')[1]);
				const headers = {};
				for (const l of lines.slice(1)) {
					const i = l.indexOf(':');
					headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
				}
				const len = head ? 0 : Number(headers['content-length'] ?? 0);
				if (this.buf.length >= end + 4 + len) {
					const body = this.buf.subarray(end + 4, end + 4 + len);
					this.buf = this.buf.subarray(end + 4 + len);
					return { status, headers, body };
				}
			}
			if (this.closed) throw new Error('connection closed before a whole response');
			if (Date.now() > deadline) throw new Error('timeout reading a response');
			await new Promise((r) => {
				this.waiters.push(r);
				setTimeout(r, 1000);
			});
		}
	}
	async request(method, p, headers = {}, body) {
		const b = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
		let text = `${method} ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
		for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
		if (body !== undefined) text += `Content-Length: ${b.length}\r\n`;
		this.write(Buffer.concat([Buffer.from(text + '\r\n', 'latin1'), b]));
		return this.readResponse(method === 'HEAD');
	}
	close() {
		this.sock.destroy();
	}
}

function multipart(fields) {
	const boundary = 'segloss' + Math.random().toString(16).slice(2);
	const parts = [];
	for (const [name, value] of fields) {
		const isFile = Buffer.isBuffer(value);
		let h = `--${boundary}\r\nContent-Disposition: form-data; name="${name}"`;
		h += isFile ? `; filename="${name}.bin"\r\nContent-Type: application/octet-stream\r\n\r\n` : '\r\n\r\n';
		parts.push(Buffer.from(h, 'latin1'), isFile ? value : Buffer.from(String(value)), Buffer.from('\r\n'));
	}
	parts.push(Buffer.from(`--${boundary}--\r\n`));
	return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

// ---- inputs ----------------------------------------------------------------------

const b64 = (buf) => buf.toString('base64');
const blobsT = FIX('blobs_soft8/target.png');
const blobsP = FIX('blobs_soft8/prediction.png');
const instT = FIX('inst16_touching/target.png');
const instP = FIX('inst16_touching/prediction.png');
const hand2T = FIX('hand_2x2/target.png');
const hand2P = FIX('hand_2x2/prediction.npy');
const emptyT = FIX('both_empty/target.npy');
const emptyP = FIX('both_empty/prediction.npy');
const logitT = FIX('logits/target.png');
const logitP = FIX('logits/prediction.npy');

function corruptIdat(png) {
	const b = Buffer.from(png);
	const i = b.indexOf('IDAT');
	b[i + 10] ^= 0xff;
	return b;
}

function npyF32(h, w, values) {
	let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${h}, ${w}), }`;
	const total = 10 + header.length + 1;
	header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
	const head = Buffer.alloc(10);
	head.write('\x93NUMPY', 0, 'latin1');
	head[6] = 1;
	head[7] = 0;
	head.writeUInt16LE(header.length, 8);
	const data = Buffer.alloc(4 * values.length);
	values.forEach((v, i) => data.writeFloatLE(v, 4 * i));
	return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

const JSON_T = { 'Content-Type': 'application/json' };
const json = (o) => JSON.stringify(o);
const evalBody = (extra = {}) => json({ target: b64(blobsT), prediction: b64(blobsP), ...extra });

// ---- the table -------------------------------------------------------------------
//
// Each case: the request, the status it must get, optionally `schema`: whether
// the spec's request schema must accept (true) or reject (false) the JSON body,
// and `then(body, res)` for checks beyond the spec.

const E = '/v1/evaluate';
const W = '/v1/weight-map';

function cases(ctx) {
	const catalogue = ctx.catalogue;
	const allLosses = catalogue.losses.map((e) => e.name);
	const allMetrics = catalogue.metrics.map((e) => e.name);
	const t = [];
	const add = (c) => t.push(c);

	// Operations routes.
	for (const p of ['/healthz', '/readyz', '/metrics', '/v1/losses', '/v1/openapi.yaml']) {
		add({ name: `GET ${p}`, method: 'GET', path: p, status: 200 });
		add({ name: `HEAD ${p}`, method: 'HEAD', path: p, status: 200 });
	}
	add({
		name: 'GET /v1/openapi.yaml serves api/openapi.yaml', method: 'GET', path: '/v1/openapi.yaml', status: 200,
		then: (b) => b === fs.readFileSync(path.join(ROOT, 'api/openapi.yaml'), 'utf8') ||
			'the served document differs from api/openapi.yaml: rebuild seglossd (make)',
	});

	// Request IDs.
	add({
		name: 'X-Request-Id is echoed', method: 'GET', path: '/healthz', headers: { 'X-Request-Id': 'ci-run.42:step_7' }, status: 200,
		then: (_, r) => r.headers['x-request-id'] === 'ci-run.42:step_7' || `got ${r.headers['x-request-id']}`,
	});
	for (const bad of ['bad id!', 'x'.repeat(65)]) {
		add({
			name: `X-Request-Id ${JSON.stringify(bad.slice(0, 8))}... is replaced`, method: 'POST', path: E,
			headers: { ...JSON_T, 'X-Request-Id': bad }, body: '{', status: 400,
			then: (b, r) => (/^[0-9a-f]{16}$/.test(r.headers['x-request-id']) && b.request_id === r.headers['x-request-id']) ||
				`got ${r.headers['x-request-id']}`,
		});
	}

	// 404 and 405.
	for (const [m, p] of [['GET', '/v1/evaluat'], ['POST', '/nope'], ['GET', '/'], ['HEAD', '/v1/evaluate/']])
		add({ name: `${m} ${p} -> 404`, method: m, path: p, status: 404, body: m === 'POST' ? '{}' : undefined, headers: m === 'POST' ? JSON_T : {} });
	for (const [m, p, allow] of [
		['GET', E, 'POST'], ['HEAD', E, 'POST'], ['PUT', E, 'POST'], ['GET', W, 'POST'], ['DELETE', W, 'POST'],
		['DELETE', '/v1/losses', 'GET, HEAD'], ['POST', '/v1/openapi.yaml', 'GET, HEAD'], ['PUT', '/healthz', 'GET, HEAD'],
		['POST', '/readyz', 'GET, HEAD'], ['PATCH', '/metrics', 'GET, HEAD'], ['OPTIONS', '/v1/losses', 'GET, HEAD'],
	]) {
		add({
			name: `${m} ${p} -> 405`, method: m, path: p, status: 405,
			headers: m === 'POST' || m === 'PUT' ? JSON_T : {}, body: m === 'POST' || m === 'PUT' ? '{}' : undefined,
			then: (_, r) => r.headers.allow === allow || `Allow: ${r.headers.allow}, expected ${allow}`,
		});
	}

	// POST /v1/evaluate: the spec's own JSON examples, live.
	for (const [ex, { value }] of Object.entries(spec.paths[E].post.requestBody.content['application/json'].examples)) {
		add({ name: `evaluate: example "${ex}"`, method: 'POST', path: E, headers: JSON_T, body: json(value), schema: true, status: 200 });
	}
	add({
		name: 'evaluate: defaults', method: 'POST', path: E, headers: JSON_T, body: evalBody(), schema: true, status: 200,
		then: (b) => (json(Object.keys(b.losses)) === json(catalogue.defaults.losses) &&
			json(Object.keys(b.metrics)) === json(catalogue.defaults.metrics)) || `keys ${Object.keys(b.losses)} / ${Object.keys(b.metrics)}`,
	});
	add({
		name: 'evaluate: every loss and metric', method: 'POST', path: E, headers: { 'Content-Type': 'application/json; charset=utf-8' },
		body: evalBody({ losses: allLosses, metrics: allMetrics }), schema: true, status: 200,
		then: (b) => (Object.keys(b.losses).length === allLosses.length && Object.keys(b.metrics).length === allMetrics.length) || 'missing results',
	});
	add({
		name: 'evaluate: both masks empty (null and warnings)', method: 'POST', path: E, headers: JSON_T,
		body: json({ target: { npy: b64(emptyT) }, prediction: { npy: b64(emptyP) }, losses: [{ name: 'dice', smooth: 0 }],
			metrics: ['iou', 'hausdorff', 'surface_dice', { name: 'iou', zero_division: 1, as: 'iou1' }] }),
		schema: true, status: 200,
		then: (b) => (b.metrics.iou === null && b.losses.dice === null && b.metrics.iou1 === 1 && b.warnings.length >= 3) || 'expected nulls with warnings',
	});
	add({
		name: 'evaluate: 16-bit instances, weight and bce maps (npy)', method: 'POST', path: E, headers: JSON_T,
		body: json({ target: b64(instT), prediction: b64(instP), losses: ['shape_aware:instances=labels,connectivity=4'],
			metrics: ['hausdorff95:spacing=[0.5,0.5]', 'surface_dice:tolerance=2'], maps: [{ name: 'weight', w0: 5, sigma: 3 }, 'bce:eps=0.001,as=bce_map'] }),
		schema: true, status: 200,
		then: (b) => (b.maps.weight?.format === 'npy' && b.maps.bce_map?.dtype === 'float32') || 'maps missing',
	});
	add({
		name: 'evaluate: png maps, data URL', method: 'POST', path: E, headers: JSON_T,
		body: json({ target: `data:image/png;base64,${b64(blobsT)}`, prediction: { png: b64(blobsP), logits: false },
			maps: ['weight', 'bce'], map_format: 'png', logits: false }),
		schema: true, status: 200,
		then: (b) => json(b.maps.weight?.shape) === '[64,64,3]' || `shape ${json(b.maps.weight?.shape)}`,
	});
	add({
		name: 'evaluate: logits', method: 'POST', path: E, headers: JSON_T,
		body: json({ target: b64(logitT), prediction: b64(logitP), logits: true, metrics: ['accuracy', 'specificity', 'recall'] }),
		schema: true, status: 200,
	});
	{
		const f = multipart([['target', blobsT], ['prediction', blobsP], ['losses', 'dice,focal:alpha=0.5,gamma=3,tversky:alpha=0.7,beta=0.3'],
			['metrics', json(['iou', { name: 'hausdorff95', spacing: [0.5, 0.5] }])], ['maps', 'weight,bce'], ['map_format', 'png'], ['logits', 'false']]);
		add({
			name: 'evaluate: multipart', method: 'POST', path: E, headers: { 'Content-Type': f.type }, body: f.body, status: 200,
			then: (b) => (json(Object.keys(b.losses)) === '["dice","focal","tversky"]' && b.maps.bce?.format === 'png') || json(Object.keys(b.losses)),
		});
	}
	{
		const f = multipart([['target', logitT], ['prediction', logitP], ['logits', '1'], ['maps', '["bce"]']]);
		add({ name: 'evaluate: multipart logits, JSON maps', method: 'POST', path: E, headers: { 'Content-Type': f.type }, body: f.body, status: 200 });
	}

	// 400.
	add({ name: 'evaluate: bad JSON', method: 'POST', path: E, headers: JSON_T, body: '{"target": ', status: 400 });
	add({ name: 'evaluate: empty body', method: 'POST', path: E, headers: JSON_T, body: '', status: 400 });
	add({ name: 'evaluate: bad base64', method: 'POST', path: E, headers: JSON_T, body: json({ target: '@@@@', prediction: b64(blobsP) }), status: 400,
		then: (b) => /invalid base64 at offset/.test(b.detail) || b.detail });
	add({ name: 'evaluate: corrupt PNG target', method: 'POST', path: E, headers: JSON_T, body: evalBody({ target: b64(corruptIdat(blobsT)) }), status: 400,
		then: (b) => b.detail === 'target: png: CRC error in IDAT' || b.detail });
	add({ name: 'evaluate: corrupt PNG prediction', method: 'POST', path: E, headers: JSON_T, body: evalBody({ prediction: b64(corruptIdat(blobsP)) }), status: 400 });
	add({ name: 'evaluate: truncated .npy', method: 'POST', path: E, headers: JSON_T, body: json({ target: b64(hand2T), prediction: b64(hand2P.subarray(0, 100)) }), status: 400 });
	add({ name: 'evaluate: multipart without boundary', method: 'POST', path: E, headers: { 'Content-Type': 'multipart/form-data' }, body: 'x', status: 400 });
	add({ name: 'evaluate: multipart without the boundary in the body', method: 'POST', path: E,
		headers: { 'Content-Type': 'multipart/form-data; boundary=abc' }, body: 'no parts here', status: 400 });
	{
		const f = multipart([['target', blobsT], ['prediction', blobsP], ['metrics', '[bad']]);
		add({ name: 'evaluate: multipart field not a JSON array', method: 'POST', path: E, headers: { 'Content-Type': f.type }, body: f.body, status: 400 });
	}

	// 415.
	add({ name: 'evaluate: text/plain', method: 'POST', path: E, headers: { 'Content-Type': 'text/plain' }, body: '{}', status: 415 });
	add({ name: 'evaluate: no Content-Type', method: 'POST', path: E, body: '{}', status: 415 });
	add({ name: 'evaluate: target neither PNG nor .npy', method: 'POST', path: E, headers: JSON_T,
		body: evalBody({ target: b64(Buffer.from('hello, world\n')) }), status: 415 });
	{
		const f = multipart([['target', blobsT], ['prediction', Buffer.from('# not an image\n')]]);
		add({ name: 'evaluate: multipart upload neither PNG nor .npy', method: 'POST', path: E, headers: { 'Content-Type': f.type }, body: f.body, status: 415 });
	}

	// 422.
	const inv = (name, body, schema, re) => add({
		name: `evaluate: ${name}`, method: 'POST', path: E, headers: JSON_T, body, schema, status: 422,
		then: re ? (b) => re.test(b.detail) || b.detail : undefined,
	});
	inv('body is an array', '[]', false);
	inv('unknown top-level field', evalBody({ lossses: ['dice'] }), false, /^unknown field "lossses" \(did you mean "losses"\?\)$/);
	inv('unknown loss', evalBody({ losses: ['dcie'] }), false, /^unknown loss 'dcie' \(did you mean 'dice'\?\)$/);
	inv('unknown loss object', evalBody({ losses: [{ name: 'dcie' }] }), false);
	inv('a metric name as a loss', evalBody({ losses: ['iou'] }), false);
	inv('unknown metric', evalBody({ metrics: ['hd95'] }), false);
	inv('unknown map', evalBody({ maps: ['weights'] }), false);
	inv('unknown parameter (object)', evalBody({ losses: [{ name: 'focal', gama: 3 }] }), false);
	inv('unknown parameter (string)', evalBody({ losses: ['focal:gama=3'] }), undefined);
	inv('parameter out of range (object)', evalBody({ losses: [{ name: 'focal', alpha: 2 }] }), false, /must be in \[0, 1\], got 2/);
	inv('parameter out of range (string)', evalBody({ losses: ['focal:alpha=2'] }), undefined);
	inv('exclusive bound', evalBody({ losses: [{ name: 'dice', gamma: 0 }] }), false);
	inv('number given as a string', evalBody({ losses: [{ name: 'focal', alpha: '0.5' }] }), false);
	inv('null for a number', evalBody({ losses: [{ name: 'focal', alpha: null }] }), false);
	inv('zero_division out of range', evalBody({ metrics: [{ name: 'iou', zero_division: 2 }] }), false);
	inv('spacing of three numbers', evalBody({ metrics: [{ name: 'hausdorff', spacing: [1, 1, 1] }] }), false);
	inv('connectivity 6', evalBody({ maps: [{ name: 'weight', connectivity: 6 }] }), false);
	inv('bad alias', evalBody({ losses: [{ name: 'dice', as: 'a b' }] }), false);
	inv('duplicate key', evalBody({ losses: ['dice', 'dice'] }), true, /^duplicate loss key 'dice'/);
	inv('map requested twice', evalBody({ maps: ['weight', 'weight'] }), true);
	inv('too many maps', evalBody({ maps: ['weight', 'bce', 'weight:as=w2', 'bce:as=b2', 'bce:as=b3'] }), false);
	inv('size mismatch', json({ target: b64(blobsT), prediction: b64(hand2P) }), true, /^prediction is 2x2 but target is 64x64$/);
	inv('missing prediction', json({ target: b64(blobsT) }), false, /^missing "prediction"$/);
	inv('empty target string', json({ target: '', prediction: b64(blobsP) }), false);
	inv('mask object with an unknown field', evalBody({ target: { png: b64(blobsT), logits: true } }), false);
	inv('mask object with png and npy', evalBody({ prediction: { png: b64(blobsP), npy: b64(hand2P) } }), false);
	inv('map_format jpg', evalBody({ map_format: 'jpg' }), false);
	inv('logits not a boolean', evalBody({ logits: 'yes' }), false);
	inv('losses not an array', evalBody({ losses: 'dice' }), false);
	inv('logits on a PNG prediction', evalBody({ logits: true }), true, /logits apply to float \.npy input/);
	inv('prediction outside [0, 1]', json({ target: b64(hand2T), prediction: b64(npyF32(2, 2, [0.5, 1.5, 0, 1])) }), true,
		/^prediction has value 1\.5 outside \[0, 1\] at row 0, column 1$/);
	inv('float target', json({ target: b64(hand2P), prediction: b64(hand2P) }), true);
	{
		const f = multipart([['target', blobsT], ['prediction', blobsP], ['loses', 'dice']]);
		add({ name: 'evaluate: multipart unknown field', method: 'POST', path: E, headers: { 'Content-Type': f.type }, body: f.body, status: 422 });
		const g = multipart([['target', blobsT], ['prediction', blobsP], ['logits', 'maybe']]);
		add({ name: 'evaluate: multipart logits maybe', method: 'POST', path: E, headers: { 'Content-Type': g.type }, body: g.body, status: 422 });
		const h = multipart([['target', blobsT]]);
		add({ name: 'evaluate: multipart without prediction', method: 'POST', path: E, headers: { 'Content-Type': h.type }, body: h.body, status: 422 });
	}

	// POST /v1/weight-map.
	for (const [ex, { value }] of Object.entries(spec.paths[W].post.requestBody.content['application/json'].examples)) {
		add({ name: `weight-map: example "${ex}"`, method: 'POST', path: W, headers: JSON_T, body: json(value), schema: true, status: 200 });
	}
	const wBody = (extra = {}) => json({ target: b64(instT), ...extra });
	add({
		name: 'weight-map: JSON', method: 'POST', path: W, headers: JSON_T,
		body: wBody({ w0: 5, sigma: 3, class_weights: [1, 5], instances: 'labels', connectivity: 4 }), schema: true, status: 200,
		then: (b) => (b.width === 96 && b.instances > 1 && b.data.startsWith('k05VTVBZ')) || `width ${b.width} instances ${b.instances}`,
	});
	const accepts = [
		['application/x-npy', 'application/x-npy'], ['image/png', 'image/png'], ['image/*', 'image/png'],
		['application/json', 'application/json'], ['text/html', 'application/json'], ['*/*', 'application/json'],
		['application/json;q=0.5, application/x-npy', 'application/x-npy'], [undefined, 'application/json'],
	];
	for (const [accept, want] of accepts) {
		add({
			name: `weight-map: Accept ${accept ?? '(none)'}`, method: 'POST', path: W,
			headers: accept ? { ...JSON_T, Accept: accept } : JSON_T, body: wBody({ class_weights: 'none' }), status: 200,
			then: (_, r) => baseType(r.headers['content-type']) === want || `Content-Type ${r.headers['content-type']}, expected ${want}`,
		});
	}
	{
		const f = multipart([['target', instT], ['w0', '10'], ['sigma', '5'], ['class_weights', '[1,3]'], ['instances', 'components'], ['connectivity', '8']]);
		add({ name: 'weight-map: multipart', method: 'POST', path: W, headers: { 'Content-Type': f.type }, body: f.body, status: 200 });
		const g = multipart([['target', FIX('npy_uint8_labels/target.npy')]]);
		add({ name: 'weight-map: multipart .npy, Accept png', method: 'POST', path: W, headers: { 'Content-Type': g.type, Accept: 'image/png' }, body: g.body, status: 200 });
	}
	add({ name: 'weight-map: bad JSON', method: 'POST', path: W, headers: JSON_T, body: '{"target"', status: 400 });
	add({ name: 'weight-map: bad base64', method: 'POST', path: W, headers: JSON_T, body: json({ target: 'iVBOR!' }), status: 400 });
	add({ name: 'weight-map: corrupt PNG', method: 'POST', path: W, headers: JSON_T, body: json({ target: b64(corruptIdat(instT)) }), status: 400 });
	add({ name: 'weight-map: application/xml', method: 'POST', path: W, headers: { 'Content-Type': 'application/xml' }, body: '<x/>', status: 415 });
	add({ name: 'weight-map: target neither PNG nor .npy', method: 'POST', path: W, headers: JSON_T, body: json({ target: b64(Buffer.from('GIF89a....')) }), status: 415 });
	const winv = (name, body, schema, re) => add({
		name: `weight-map: ${name}`, method: 'POST', path: W, headers: JSON_T, body, schema, status: 422,
		then: re ? (b) => re.test(b.detail) || b.detail : undefined,
	});
	winv('unknown parameter', wBody({ w1: 5 }), false, /^unknown parameter 'w1' for map 'weight' \(did you mean 'w0'\?\)$/);
	winv('eps is not a weight-map parameter', wBody({ eps: 0.1 }), false);
	winv('connectivity 6', wBody({ connectivity: 6 }), false);
	winv('class_weights x', wBody({ class_weights: 'x' }), false);
	winv('sigma 0', wBody({ sigma: 0 }), false);
	winv('null parameter', wBody({ w0: null }), false);
	winv('missing target', json({ w0: 1 }), false, /^missing "target"$/);
	winv('float .npy target', json({ target: b64(hand2P) }), true);
	{
		const f = multipart([['target', instT], ['bogus', '3']]);
		add({ name: 'weight-map: multipart unknown field', method: 'POST', path: W, headers: { 'Content-Type': f.type }, body: f.body, status: 422 });
	}
	add({
		name: 'GET /metrics counts the requests above', method: 'GET', path: '/metrics', status: 200,
		then: (b) => /^segloss_http_requests_total\{route="evaluate",code="422"\} [1-9]\d*$/m.test(b) || 'no evaluate 422 counter',
	});
	return t;
}

// Cases for a daemon started with --max-body 4K --max-pixels 1000.
function limitCases() {
	const big = json({ target: 'A'.repeat(9000), prediction: 'A' });
	return [
		{ name: 'evaluate: body over --max-body (Content-Length)', method: 'POST', path: E, headers: JSON_T, body: big, status: 413,
			then: (b) => /^request body of 9\d{3} bytes is over the limit of 4096 bytes$/.test(b.detail) || b.detail },
		{ name: 'evaluate: body over --max-body (chunked)', method: 'POST', path: E, headers: JSON_T, body: big, chunked: true, status: 413 },
		{ name: 'weight-map: body over --max-body', method: 'POST', path: W, headers: JSON_T, body: big, status: 413 },
		{ name: 'evaluate: image over --max-pixels', method: 'POST', path: E, headers: JSON_T,
			body: json({ target: b64(blobsT), prediction: b64(blobsT) }), status: 413,
			then: (b) => /over the limit of 1000$/.test(b.detail) || b.detail },
		{ name: 'weight-map: image over --max-pixels', method: 'POST', path: W, headers: JSON_T, body: json({ target: b64(blobsT) }), status: 413 },
		{ name: 'GET /healthz is not capped', method: 'GET', path: '/healthz', status: 200 },
	];
}

async function runCase(port, c) {
	if (c.schema !== undefined) {
		const rb = spec.paths[c.path]?.[c.method.toLowerCase()]?.requestBody;
		const e = schemaErrors(ptr('paths', c.path, c.method.toLowerCase(), 'requestBody', 'content', 'application/json', 'schema'),
			JSON.parse(c.body));
		if (rb && (e === null) !== c.schema) {
			fail(c.name, c.schema ? `the request schema rejects a body the server takes:\n${e}`
				: 'the request schema accepts a body the server rejects');
			return;
		}
	}
	let res;
	try {
		res = await send(port, c);
	} catch (e) {
		fail(c.name, `${c.method} ${c.path}: ${e.message}`);
		return;
	}
	const body = validateResponse(c.name, c.method, c.path, res);
	if (body === null) return;
	if (!check(c.name, res.status === c.status, `expected ${c.status}, got ${res.status}: ${res.body.toString('utf8', 0, 300)}`)) return;
	if (c.then) {
		const r = c.then(body, res);
		if (r !== true) return fail(c.name, `check failed: ${r}`);
	}
	passed++;
}

// ---- checks of the spec itself ---------------------------------------------

function checkExamples() {
	let n = 0;
	const visit = (node, pointer) => {
		if (!node || typeof node !== 'object') return;
		// Media type objects: each example against the media type's schema.
		if (node.schema && node.examples && !Array.isArray(node.examples) && /\/content\/[^/]+$/.test(pointer)) {
			const type = baseType(pointer.split('/').pop().replace(/~1/g, '/'));
			if (type === 'application/json' || type.endsWith('+json')) {
				for (const [k, ex] of Object.entries(node.examples)) {
					const e = schemaErrors(`${pointer}/schema`, ex.value);
					n++;
					if (e) fail(`example ${pointer}/examples/${k}`, e);
				}
			}
		}
		// Schema objects: their `examples` arrays.
		if (Array.isArray(node.examples) && pointer.includes('/schemas/') && !pointer.includes('/examples/')) {
			node.examples.forEach((ex, i) => {
				const e = schemaErrors(pointer, ex);
				n++;
				if (e) fail(`schema example ${pointer}/examples/${i}`, e);
			});
		}
		for (const [k, v] of Object.entries(node)) if (k !== 'examples' || Array.isArray(v)) visit(v, `${pointer}/${esc(k)}`);
	};
	visit(spec.paths, '/paths');
	visit(spec.components, '/components');
	passed += failures.length === 0 ? 1 : 0;
	console.log(`${n} examples in the spec validated against their schemas`);
}

// The names and parameters in GET /v1/losses against the spec's enums and spec objects.
function checkCatalogue(cat) {
	const before = failures.length;
	const S = spec.components.schemas;
	const kinds = [['losses', 'LossName', 'LossSpec'], ['metrics', 'MetricName', 'MetricSpec'], ['maps', 'MapName', 'MapSpec']];
	for (const [list, enumName, specName] of kinds) {
		const names = cat[list].map((e) => e.name);
		check(`catalogue ${list}`, json([...names].sort()) === json([...S[enumName].enum].sort()),
			`server ${list}: ${names.join(', ')}\nspec ${enumName}: ${S[enumName].enum.join(', ')}`);
		const objects = S[specName].oneOf.filter((s) => s.$ref).map((s) => deref(s.$ref.slice(1)));
		for (const entry of cat[list]) {
			const where = `catalogue ${list} ${entry.name}`;
			const ok = schemaErrors(ptr('components', 'schemas', specName), entry.name);
			check(where, ok === null, `the name is not a valid ${specName} string: ${ok}`);
			const matches = objects.filter(({ value: o }) => o.properties.name.const === entry.name || o.properties.name.enum?.includes(entry.name));
			if (!check(where, matches.length === 1, `${matches.length} ${specName} objects for this name`)) continue;
			const { value: obj, pointer: objPtr } = matches[0];
			const props = Object.keys(obj.properties).filter((k) => k !== 'name' && k !== 'as');
			const params = entry.parameters.map((p) => p.name);
			check(where, json([...props].sort()) === json([...params].sort()), `spec parameters ${props.join(', ')}; server ${params.join(', ')}`);
			for (const p of entry.parameters) {
				if (!(p.name in obj.properties)) continue;
				checkParam(`${where}.${p.name}`, p, deref(`${objPtr}/properties/${esc(p.name)}`));
			}
		}
	}
	check('catalogue defaults', json(cat.defaults) ===
		json(spec.paths['/v1/losses'].get.responses['200'].content['application/json'].examples.excerpt.value.defaults),
	`server defaults ${json(cat.defaults)} differ from the spec's example`);
	if (failures.length === before) passed++;
}

function checkParam(where, p, { value: s, pointer }) {
	const same = (a, b) => json(a) === json(b);
	// The schema that holds the numeric bounds: the schema, a numeric branch, or its items.
	const numeric = (x) => {
		if (x.type === 'number' || (Array.isArray(x.type) && x.type.includes('number'))) return x;
		for (const b of x.oneOf ?? []) {
			if (b.type === 'array' && b.items) return b.items;
		}
		return null;
	};
	check(where, same(s.default, p.default), `default ${json(s.default)} in the spec, ${json(p.default)} on the server`);
	if ('minimum' in p) {
		const n = numeric(s);
		if (!check(where, n, `no numeric schema at ${pointer}`)) return;
		const lo = p.exclusive_minimum ? n.exclusiveMinimum : n.minimum;
		const hi = p.exclusive_maximum ? n.exclusiveMaximum : n.maximum;
		check(where, lo === p.minimum && hi === p.maximum,
			`range ${p.range} on the server; spec ${json({ minimum: n.minimum, exclusiveMinimum: n.exclusiveMinimum, maximum: n.maximum, exclusiveMaximum: n.exclusiveMaximum })}`);
	}
	if (p.values) {
		const e = s.enum ?? s.oneOf?.find((b) => b.enum)?.enum;
		check(where, e && same([...e].map(String).sort(), [...p.values].map(String).sort()), `values ${json(p.values)} on the server, ${json(e)} in the spec`);
	}
}

// ---- draining: 503 from a server that is shutting down ---------------------

async function drainPhase(d) {
	const name = 'draining';
	// Idle keep-alive connections, opened before SIGTERM (the listener closes on it).
	const idle = [];
	for (let i = 0; i < 5; i++) {
		const c = new RawConn(d.port);
		await c.open();
		const r = await c.request('GET', '/healthz');
		if (!check(name, r.status === 200, `warm-up got ${r.status}`)) return;
		idle.push(c);
	}
	// A request in flight keeps the server up while it drains.
	const body = Buffer.from(evalBody());
	const slow = new RawConn(d.port);
	await slow.open();
	slow.write(Buffer.from(`POST ${E} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'));
	slow.write(body.subarray(0, 100));
	await new Promise((r) => setTimeout(r, 200));
	d.child.kill('SIGTERM');

	// Readiness fails once draining has begun: poll until it does (keep-alive is kept while ready).
	let r;
	const until = Date.now() + 10000;
	for (;;) {
		r = await idle[0].request('GET', '/readyz');
		if (r.status !== 200 || Date.now() > until) break;
		await new Promise((res) => setTimeout(res, 50));
	}
	const runRaw = (label, method, p, res) => {
		const b = validateResponse(`${name}: ${label}`, method, p, res);
		if (b === null) return;
		if (check(`${name}: ${label}`, res.status === 503, `expected 503, got ${res.status}`) &&
			check(`${name}: ${label}`, method === 'HEAD' || /draining/.test(b.detail), `detail ${b.detail}`)) passed++;
	};
	runRaw('GET /readyz', 'GET', '/readyz', r);
	runRaw('HEAD /readyz', 'HEAD', '/readyz', await idle[1].request('HEAD', '/readyz'));
	runRaw('POST /v1/evaluate', 'POST', E, await idle[2].request('POST', E, JSON_T, evalBody()));
	runRaw('POST /v1/weight-map', 'POST', W, await idle[3].request('POST', W, JSON_T, json({ target: b64(instT) })));
	const h = await idle[4].request('GET', '/healthz');
	if (validateResponse(`${name}: GET /healthz`, 'GET', '/healthz', h) !== null &&
		check(`${name}: GET /healthz`, h.status === 200, `expected 200, got ${h.status}`)) passed++;
	// The request in flight completes: answered, not dropped.
	slow.write(body.subarray(100));
	runRaw('request in flight', 'POST', E, await slow.readResponse());
	for (const c of [...idle, slow]) c.close();
}

// ---- main ----------------------------------------------------------------------

async function main() {
	console.log(`spec ${path.relative(ROOT, SPEC_FILE)}, server ${path.relative(ROOT, BIN) || BIN}`);
	checkExamples();

	const main = await startDaemon('seglossd');
	const limits = await startDaemon('seglossd --max-body 4K --max-pixels 1000', ['--max-body', '4K', '--max-pixels', '1000']);
	try {
		const catRes = await send(main.port, { method: 'GET', path: '/v1/losses' });
		const catalogue = validateResponse('catalogue', 'GET', '/v1/losses', catRes);
		if (!catalogue || catRes.status !== 200) throw new Error('GET /v1/losses failed; cannot go on');
		checkCatalogue(catalogue);

		for (const c of cases({ catalogue })) await runCase(main.port, c);
		for (const c of limitCases()) await runCase(limits.port, c);
		await stopDaemon(limits);
		await drainPhase(main);
		await stopDaemon(main);
	} finally {
		for (const d of [main, limits]) if (d.exited === null) d.child.kill('SIGKILL');
	}

	// Coverage: every documented operation and status, seen or declared untestable.
	for (const [op, statuses] of documented) {
		const got = seen.get(op) ?? new Set();
		if (!check('coverage', got.size > 0, `${op} was never exercised`)) continue;
		for (const s of statuses) {
			const key = `${op} ${s}`;
			if (!got.has(s) && !(key in NOT_TESTABLE)) fail('coverage', `${key} is documented but was never seen`);
		}
	}
	for (const key of Object.keys(NOT_TESTABLE)) {
		const [m, p, s] = key.split(' ');
		check('coverage', documented.get(`${m} ${p}`)?.has(s), `NOT_TESTABLE lists ${key}, which the spec does not document`);
	}
	const untested = Object.keys(NOT_TESTABLE).filter((k) => !seen.get(k.split(' ').slice(0, 2).join(' '))?.has(k.split(' ')[2]));
	console.log(`${documented.size} operations, ${[...documented.values()].reduce((a, s) => a + s.size, 0)} documented statuses; ` +
		`not testable: ${untested.join(', ')}`);
}

try {
	await main();
} catch (e) {
	fail('contract', e.stack || String(e));
}
console.log(`${validated} responses validated against ${path.relative(ROOT, SPEC_FILE)}`);
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
