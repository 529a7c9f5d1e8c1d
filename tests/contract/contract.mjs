// Contract test: api/openapi.yaml against a running seglossd.
//
// Starts seglossd on ephemeral loopback ports, sends a table of requests
// (every route, JSON and multipart bodies, Accept variants, every error
// class), and validates each live response -- status, Content-Type,
// headers and body -- against the operation's response in the spec, with
// Ajv (JSON Schema 2020-12) over the spec's own components. It also checks
// the spec against itself and the server's catalogue (examples validate,
// request schemas accept and reject what the server does, the loss /
// metric / map names and parameters match GET /v1/losses, the catalogue's
// and profiles' excerpts and every problem example's detail are the
// server's words), and that every documented operation and status code
// was seen, so the spec and the server cannot drift apart. Exit status 0
// only when everything matched.
//
// Environment: SEGLOSSD_BIN (default build/release/seglossd),
// SEGLOSS_SPEC (default api/openapi.yaml), both relative to the project
// root; CONTRACT_VERBOSE=1 prints every response; CONTRACT_STRICT=1 counts
// the checks of KNOWN_DEFECTS as failures. CONTRACT_DB: the store of the
// main daemon (a PostgreSQL address; default an in-memory SQLite one),
// with CONTRACT_DB_FILE its password file (the daemon then gets no
// PGPASSWORD, so the file is what lets it in).

import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.resolve(ROOT, process.env.SEGLOSSD_BIN || 'build/release/seglossd');
const SPEC_FILE = path.resolve(ROOT, process.env.SEGLOSS_SPEC || 'api/openapi.yaml');
const VERBOSE = process.env.CONTRACT_VERBOSE === '1';
const STRICT = process.env.CONTRACT_STRICT === '1';
const FIX = (name) => fs.readFileSync(path.join(ROOT, 'tests/fixtures', name));
const CONTRACT_DB = process.env.CONTRACT_DB || '';
const CONTRACT_DB_FILE = process.env.CONTRACT_DB_FILE || '';

// Statuses the spec documents that a black-box test cannot provoke.
const NOT_TESTABLE = {
	'POST /v1/evaluate 500': 'an internal failure (a bug)',
	'POST /v1/weight-map 500': 'an internal failure (a bug)',
	'GET /v1/losses 503': 'out of memory while copying the response',
	'GET /v1/openapi.yaml 503': 'out of memory while copying the response',
	'GET /healthz 503': 'out of memory while copying the response',
	'GET /metrics 503': 'out of memory while rendering the metrics',
	'HEAD /v1/losses 503': 'out of memory while copying the response',
	'GET /v1/profiles 503': 'out of memory while copying the response',
	'HEAD /v1/profiles 503': 'out of memory while copying the response',
	'HEAD /v1/openapi.yaml 503': 'out of memory while copying the response',
	'HEAD /healthz 503': 'out of memory while copying the response',
	'HEAD /metrics 503': 'out of memory while rendering the metrics',
	'POST /v1/jobs 500': 'getrandom(2) failing to give a job id',
};

// Server defects found by this test, reported and not yet fixed. A case
// tagged `defect: KEY` that fails is printed as KNOWN and not counted as a
// failure (CONTRACT_STRICT=1 counts it). Delete the entry, and the tags,
// once the server is fixed.
const KNOWN_DEFECTS = {};

// ---- results -------------------------------------------------------------

let validated = 0;
let passed = 0;
const failures = [];
const known = []; // failures of checks tagged with a KNOWN_DEFECTS key
const knownKeys = new Set(); // the KNOWN_DEFECTS keys those checks had
let defect = null; // the KNOWN_DEFECTS key of the case being run

function fail(name, msg) {
	if (defect && !STRICT) {
		known.push(`${name}: ${msg}`);
		knownKeys.add(defect);
		console.log(`KNOWN ${name} [${defect}]\n     ${msg.split('\n').join('\n     ')}`);
		return;
	}
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
// Every problem detail the server answered during the run, as "STATUS detail".
const liveDetails = new Set();
documented.set(DEFAULT_KEY, new Set(Object.keys(spec['x-default-responses']?.responses ?? {})));
const seen = new Map();

// The spec's path for a request path (query dropped): a literal path, else
// a templated one whose {parameters} match one segment each ("/v1/runs/{run}"
// for "/v1/runs/unet-v2"), as OpenAPI matches them; undefined for none.
const escRe = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const specPaths = Object.keys(spec.paths)
	.map((p) => ({ p, templated: p.includes('{'), re: new RegExp(`^${p.split(/\{[^}/]+\}/).map(escRe).join('[^/]+')}$`) }))
	.sort((x, y) => x.templated - y.templated);
function specPath(urlPath) {
	const bare = urlPath.split('?')[0];
	return specPaths.find(({ re }) => re.test(bare))?.p;
}

// The operation that documents a response to METHOD PATH: the operation
// itself; for another method on a documented path, the path's GET or POST
// (whose 405 describes it); for an unknown path, x-default-responses.
function operationFor(method, urlPath) {
	const p = specPath(urlPath);
	const item = p && spec.paths[p];
	if (!item) return { key: DEFAULT_KEY, responses: ptr('x-default-responses', 'responses') };
	const m = method.toLowerCase();
	if (item[m]) return { key: `${method} ${p}`, responses: ptr('paths', p, m, 'responses'), own: true, path: p };
	const primary = item.get ? 'get' : 'post';
	return { key: `${primary.toUpperCase()} ${p}`, responses: ptr('paths', p, primary, 'responses'), path: p };
}

const baseType = (ct) => (ct || '').split(';')[0].trim().toLowerCase();
const normType = (ct) => (ct || '').toLowerCase().split(';').map((s) => s.trim()).join('; ');

function matchContent(content, ct) {
	const keys = Object.keys(content);
	return keys.find((k) => normType(k) === normType(ct)) ?? keys.find((k) => baseType(k) === baseType(ct) && !k.includes(';'));
}

// Every time is given twice: a key holding epoch milliseconds (created, updated, time, started,
// finished) has a key_iso beside it with the same instant in ISO 8601 UTC, and the other way round.
const TIME_KEYS = ['created', 'updated', 'time', 'started', 'finished'];
function timeErrors(node, where = 'body', out = []) {
	if (Array.isArray(node)) node.forEach((x, i) => timeErrors(x, `${where}[${i}]`, out));
	else if (node && typeof node === 'object') {
		for (const [k, v] of Object.entries(node)) {
			if (TIME_KEYS.includes(k) && typeof v === 'number' && !(`${k}_iso` in node)) out.push(`${where}.${k} has no ${k}_iso`);
			if (k.endsWith('_iso') && (typeof v !== 'string' || Date.parse(v) !== node[k.slice(0, -4)] ||
				new Date(node[k.slice(0, -4)]).toISOString() !== v)) out.push(`${where}.${k} ${JSON.stringify(v)} is not ${k.slice(0, -4)} ${node[k.slice(0, -4)]}`);
			if (k !== 'result') timeErrors(v, `${where}.${k}`, out);
		}
	}
	return out;
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
		const getResp = op.own && spec.paths[op.path].get?.responses?.[status];
		const content = getResp ? deref(ptr('paths', op.path, 'get', 'responses', status)).value.content : resp.content;
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
				if (parsed !== null) errs.push(...timeErrors(parsed));
				if (parsed && bt === 'application/problem+json') {
					liveDetails.add(`${res.status} ${parsed.detail}`);
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

// Every instance gets its own store: in memory unless extra says otherwise
// (never the default ./data/segloss.db). The daemon reads its options from
// SEGLOSS_* variables too: none is inherited (a SEGLOSS_API_KEY in the
// caller's environment would put every instance behind a key), only those
// in env are set.
function startDaemon(label, extra = [], env = {}) {
	return new Promise((resolve, reject) => {
		const db = extra.includes('--db') ? [] : ['--db', ':memory:'];
		const args = ['--bind', '127.0.0.1', '--port', '0', '--workers', '2', ...db, ...extra];
		// A password file given: no PGPASSWORD, so the file is what is tested.
		const dropPg = extra.includes('--db-file');
		const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SEGLOSS_') &&
			!(dropPg && k === 'PGPASSWORD')));
		const child = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...childEnv, ...env } });
		const d = { label, child, log: '', port: 0, exited: null };
		const timer = setTimeout(() => reject(new Error(`${label}: no "listening" line in 60 s:\n${d.log}`)), 60000);
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
		req.setTimeout(120000, () => req.destroy(new Error('no answer in 120 s')));
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
		const deadline = Date.now() + 120000;
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
	// Resolves once the server has closed the connection; fails after timeout ms.
	async waitClosed(timeout = 30000) {
		const deadline = Date.now() + timeout;
		while (!this.closed) {
			if (Date.now() > deadline) throw new Error(`the connection is still open ${timeout} ms later`);
			await new Promise((r) => {
				this.waiters.push(r);
				setTimeout(r, 1000);
			});
		}
	}
	close() {
		this.sock.destroy();
	}
}

// A multipart/form-data body: a Buffer value is a file part (application/octet-stream), an object
// {file, type} a file part of that Content-Type, anything else a text field.
function multipart(fields) {
	const boundary = 'segloss' + Math.random().toString(16).slice(2);
	const parts = [];
	for (const [name, value] of fields) {
		const file = Buffer.isBuffer(value) ? { file: value, type: 'application/octet-stream' } : value?.file ? value : null;
		let h = `--${boundary}\r\nContent-Disposition: form-data; name="${name}"`;
		h += file ? `; filename="${name}.bin"\r\nContent-Type: ${file.type}\r\n\r\n` : '\r\n\r\n';
		parts.push(Buffer.from(h, 'latin1'), file ? file.file : Buffer.from(String(value)), Buffer.from('\r\n'));
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

// ---- waiting on the daemon's own counters, never on the clock ---------------------

// A gauge of /metrics (open on every daemon, keys or not).
async function gauge(port, name) {
	const res = await send(port, { path: '/metrics' });
	const m = new RegExp(`^segloss_${name} (\\d+)$`, 'm').exec(res.body.toString());
	return m ? Number(m[1]) : NaN;
}

// Polls the gauge until pred(value) holds; after timeout ms it is a failure of label (false).
async function waitGauge(port, label, name, pred, timeout = 60000) {
	const deadline = Date.now() + timeout;
	for (;;) {
		const v = await gauge(port, name);
		if (pred(v)) return true;
		if (Date.now() > deadline) return check(label, false, `segloss_${name} is still ${v} after ${timeout / 1000} s`);
		await sleep(10);
	}
}

// Work that keeps a worker busy for a while: distance losses on two 2048x2048 discs, one shifted
// (about 0.3 s an item on 2 cores). Two-level PNGs keep the upload small (28 kB an item).
let slowPair = null;
function slowItems(n, name) {
	const N = 2048;
	const disc = (dx, dy) => greyPng(N, N, (x, y) => ((x - N / 2 - dx) ** 2 + (y - N / 2 - dy) ** 2 < (N / 4) ** 2 ? 255 : 0));
	slowPair ??= [b64(disc(0, 0)), b64(disc(37, -25))];
	return Array.from({ length: n }, (_, i) => ({ target: slowPair[0], prediction: slowPair[1], ...(name ? { item: `${name}-${i}` } : {}) }));
}

// An upload stopped after its first bytes, once the daemon counts it in flight (checked on
// /metrics, not assumed after a pause): a draining daemon stays up until its body is finished.
// finish() sends the rest and reads the answer.
async function partialUpload(d, label, headers = {}) {
	const before = await gauge(d.port, 'http_requests_in_flight');
	const body = Buffer.from(evalBody());
	const c = new RawConn(d.port);
	await c.open();
	let head = `POST ${E} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n`;
	for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
	c.write(Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), body.subarray(0, 100)]));
	if (!(await waitGauge(d.port, label, 'http_requests_in_flight', (v) => v >= before + 1))) return null;
	return {
		conn: c,
		finish: () => {
			c.write(body.subarray(100));
			return c.readResponse();
		},
	};
}

// Keep-alive connections that have been answered once (GET /healthz) and then sit idle.
async function idleConnections(port, n, label, headers = {}) {
	const conns = [];
	for (let i = 0; i < n; i++) {
		const c = new RawConn(port);
		await c.open();
		const r = await c.request('GET', '/healthz', headers);
		if (!check(label, r.status === 200 && r.headers.connection !== 'close', `warm-up: ${r.status}, Connection ${r.headers.connection}`)) return null;
		conns.push(c);
	}
	return conns;
}

// Readiness fails once draining has begun: polls GET /readyz on a keep-alive connection (kept
// while the answer is 200: a "ready" answer never closes its connection, however the signal
// falls) until it does, for at most 30 s; returns the last answer.
async function untilDraining(conn, label) {
	const until = Date.now() + 30000;
	for (;;) {
		const r = await conn.request('GET', '/readyz');
		if (r.status !== 200 || Date.now() > until) return r;
		if (!check(label, r.headers.connection !== 'close', 'GET /readyz answered 200 ready with Connection: close')) return r;
		await sleep(20);
	}
}

// An answer given while the daemon drains: as the spec says, with the status expected (and a
// detail matching re), Connection: close, and then the connection closed by the server.
async function drainedAnswer(label, method, p, conn, res, status, re) {
	const b = validateResponse(label, method, p, res);
	if (b === null) return;
	if (!check(label, res.status === status, `expected ${status}, got ${res.status}: ${res.body.toString('utf8', 0, 200)}`)) return;
	if (re && method !== 'HEAD' && !check(label, re.test(b.detail), `detail ${b.detail}`)) return;
	if (!check(label, res.headers.connection === 'close', `Connection: ${res.headers.connection}, expected close while draining`)) return;
	try {
		await conn.waitClosed();
		passed++;
	} catch (e) {
		fail(label, e.message);
	}
}

// ---- the table -------------------------------------------------------------------
//
// Each case: the request, the status it must get, optionally `schema`: whether
// the spec's request schema must accept (true) or reject (false) the JSON body,
// and `then(body, res)` for checks beyond the spec.

const E = '/v1/evaluate';
const W = '/v1/weight-map';

function cases(ctx) {
	const catalogue = ctx.catalogue;
	// The functions a binary request takes (the others are multi-class only: multiclassCases).
	const binaryLosses = catalogue.losses.filter((e) => e.requests.includes('binary')).map((e) => e.name);
	const binaryMetrics = catalogue.metrics.filter((e) => e.requests.includes('binary')).map((e) => e.name);
	const t = [];
	const add = (c) => t.push(c);

	// Operations routes.
	for (const p of ['/healthz', '/readyz', '/metrics', '/v1/losses', '/v1/profiles', '/v1/openapi.yaml']) {
		add({ name: `GET ${p}`, method: 'GET', path: p, status: 200 });
		add({ name: `HEAD ${p}`, method: 'HEAD', path: p, status: 200 });
	}
	add({ name: 'GET /readyz names the store', method: 'GET', path: '/readyz', status: 200,
		then: (b) => (b.store === 'up' && b.store_backend === (CONTRACT_DB ? 'postgres' : 'sqlite') && !('store_detail' in b)) || json(b) });
	add({
		name: 'GET /v1/openapi.yaml serves api/openapi.yaml', method: 'GET', path: '/v1/openapi.yaml', status: 200,
		then: (b) => b === fs.readFileSync(path.join(ROOT, 'api/openapi.yaml'), 'utf8') ||
			'the served document differs from api/openapi.yaml: rebuild seglossd (make)',
	});

	// The profiles: the spec's names, segloss first; the default ignore labels docs/profiles.md gives;
	// each profile's conventions for every multi-class metric (pixel_accuracy has none to choose) and
	// loss; and the spec's excerpt is the server's first profiles, word for word.
	add({
		name: 'GET /v1/profiles: every profile of the spec', method: 'GET', path: '/v1/profiles', status: 200,
		then: (b) => {
			const S = spec.components.schemas;
			const names = b.profiles.map((x) => x.name);
			if (json(names) !== json(S.ProfileName.enum)) return `profiles ${json(names)}`;
			const ignore = Object.fromEntries(b.profiles.map((x) => [x.name, x.conventions.ignore_index]));
			if (!(ignore.segloss === null && ignore.mmseg === 255 && ignore.pytorch === -100)) return `ignore_index ${json(ignore)}`;
			const metrics = json(S.MulticlassMetricName.enum.filter((m) => m !== 'pixel_accuracy'));
			const losses = json(S.MulticlassLossName.enum);
			for (const x of b.profiles) {
				if (json(Object.keys(x.conventions.metrics)) !== metrics) return `${x.name}: metrics ${json(Object.keys(x.conventions.metrics))}`;
				if (json(Object.keys(x.conventions.losses)) !== losses) return `${x.name}: losses ${json(Object.keys(x.conventions.losses))}`;
			}
			const excerpt = spec.paths['/v1/profiles'].get.responses['200'].content['application/json'].examples.excerpt.value.profiles;
			return json(b.profiles.slice(0, excerpt.length)) === json(excerpt) ||
				`the spec's excerpt differs from the server's profiles: ${json(b.profiles.slice(0, excerpt.length)).slice(0, 400)}`;
		},
	});
	add({
		name: 'GET /metrics counts GET /v1/profiles as route "profiles"', method: 'GET', path: '/metrics', status: 200,
		then: (b) => /^segloss_http_requests_total\{route="profiles",code="200"\} [1-9]\d*$/m.test(b) || 'no profiles 200 counter',
	});

	// Without API keys (this daemon) an Authorization header is ignored.
	add({ name: 'no keys: GET /v1/losses with a bearer key', method: 'GET', path: '/v1/losses', headers: { Authorization: 'Bearer anything' }, status: 200 });
	add({ name: 'no keys: POST /v1/evaluate with Basic credentials', method: 'POST', path: E, headers: { ...JSON_T, Authorization: 'Basic dXNlcjpwYXNz' },
		body: json({ target: b64(hand2T), prediction: b64(hand2P) }), status: 200 });

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
	for (const [m, p] of [['GET', '/v1/evaluat'], ['POST', '/nope'], ['GET', '/index.html'], ['HEAD', '/v1/evaluate/']])
		add({ name: `${m} ${p} -> 404`, method: m, path: p, status: 404, body: m === 'POST' ? '{}' : undefined, headers: m === 'POST' ? JSON_T : {} });
	for (const [m, p, allow] of [
		['GET', E, 'POST'], ['HEAD', E, 'POST'], ['PUT', E, 'POST'], ['GET', W, 'POST'], ['DELETE', W, 'POST'],
		['DELETE', '/v1/losses', 'GET, HEAD'], ['POST', '/v1/openapi.yaml', 'GET, HEAD'], ['PUT', '/healthz', 'GET, HEAD'],
		['POST', '/readyz', 'GET, HEAD'], ['PATCH', '/metrics', 'GET, HEAD'], ['OPTIONS', '/v1/losses', 'GET, HEAD'],
		['POST', '/v1/profiles', 'GET, HEAD'], ['DELETE', '/v1/profiles', 'GET, HEAD'],
	]) {
		add({
			name: `${m} ${p} -> 405`, method: m, path: p, status: 405,
			headers: m === 'POST' || m === 'PUT' ? JSON_T : {}, body: m === 'POST' || m === 'PUT' ? '{}' : undefined,
			then: (_, r) => r.headers.allow === allow || `Allow: ${r.headers.allow}, expected ${allow}`,
		});
	}

	// POST /v1/evaluate: the spec's own JSON examples, live; where a response example has the same
	// name, it is the answer, value for value (timing aside).
	const answers = spec.paths[E].post.responses['200'].content['application/json'].examples;
	for (const [ex, { value }] of Object.entries(spec.paths[E].post.requestBody.content['application/json'].examples)) {
		add({ name: `evaluate: example "${ex}"`, method: 'POST', path: E, headers: JSON_T, body: json(value), schema: true, status: 200,
			then: (b) => !answers[ex] || withoutTiming(b) === withoutTiming(answers[ex].value) ||
				`the spec's answer "${ex}" is not the server's:\n${withoutTiming(b).slice(0, 600)}` });
	}
	add({
		name: 'evaluate: defaults', method: 'POST', path: E, headers: JSON_T, body: evalBody(), schema: true, status: 200,
		then: (b) => (json(Object.keys(b.losses)) === json(catalogue.defaults.losses) &&
			json(Object.keys(b.metrics)) === json(catalogue.defaults.metrics)) || `keys ${Object.keys(b.losses)} / ${Object.keys(b.metrics)}`,
	});
	add({
		name: 'evaluate: every binary loss and metric', method: 'POST', path: E, headers: { 'Content-Type': 'application/json; charset=utf-8' },
		body: evalBody({ losses: binaryLosses, metrics: binaryMetrics }), schema: true, status: 200,
		then: (b) => (json(Object.keys(b.losses)) === json(binaryLosses) && json(Object.keys(b.metrics)) === json(binaryMetrics)) ||
			`keys ${Object.keys(b.losses)} / ${Object.keys(b.metrics)}`,
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
		then: (b) => {
			if (json(b.maps.weight?.shape) !== '[64,64,3]') return `shape ${json(b.maps.weight?.shape)}`;
			// Each heatmap states its scale, the map's extremes by default, in its object and in the file.
			for (const [k, m] of Object.entries(b.maps)) {
				const t = pngText(Buffer.from(m.data, 'base64'));
				if (json(m.range) !== json([m.min, m.max])) return `${k}: range ${json(m.range)}, min ${m.min} max ${m.max}`;
				if (!close(Number(t.map_min), m.min) || !close(Number(t.map_max), m.max) || t.colormap !== 'viridis') return `${k}: tEXt ${json(t)}`;
			}
			return true;
		},
	});
	add({
		name: 'evaluate: png maps on fixed ranges (object and string specs)', method: 'POST', path: E, headers: JSON_T,
		body: evalBody({ maps: [{ name: 'weight', range: [0, 12] }, 'bce:range=[0,3],eps=0.01'], map_format: 'png' }), schema: true, status: 200,
		then: (b) => {
			for (const [k, want] of [['weight', [0, 12]], ['bce', [0, 3]]]) {
				const t = pngText(Buffer.from(b.maps[k].data, 'base64'));
				if (json(b.maps[k].range) !== json(want) || t.map_min !== String(want[0]) || t.map_max !== String(want[1])) return `${k}: ${json(b.maps[k].range)} ${json(t)}`;
			}
			return b.maps.bce.max < 4.61 || `bce max ${b.maps.bce.max}: eps=0.01 was dropped`;
		},
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
		// The spec's own example of a comma-separated field: the comma inside [0.5,0.5] belongs to the list.
		const metrics = spec.components.schemas.EvaluateForm.properties.metrics.examples[0];
		const f = multipart([['target', instT], ['prediction', instP], ['losses', 'dice'], ['metrics', metrics]]);
		add({
			name: `evaluate: multipart metrics=${metrics}`, method: 'POST', path: E, headers: { 'Content-Type': f.type }, body: f.body, status: 200,
			then: (b) => json(Object.keys(b.metrics)) === '["iou","hausdorff95"]' || json(b.metrics),
		});
	}
	{
		const f = multipart([['target', logitT], ['prediction', logitP], ['logits', '1'], ['maps', '["bce"]']]);
		add({ name: 'evaluate: multipart logits, JSON maps', method: 'POST', path: E, headers: { 'Content-Type': f.type }, body: f.body, status: 200 });
	}

	// 400.
	add({ name: 'evaluate: bad JSON', method: 'POST', path: E, headers: JSON_T, body: '{"target": ', status: 400 });
	for (const p of [E, W, '/v1/jobs']) {
		add({ name: `${p}: empty body (Content-Length: 0)`, method: 'POST', path: p, headers: JSON_T, body: '', status: 400,
			then: (b) => b.detail === `empty body: POST ${p} needs a JSON (application/json) or multipart/form-data body` || b.detail });
	}
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

	// 411: a body must announce its length.
	for (const p of [E, W, '/v1/jobs']) {
		add({ name: `${p}: chunked body`, method: 'POST', path: p, headers: JSON_T, body: evalBody(), chunked: true, status: 411,
			then: (b) => b.detail === 'send the body with a Content-Length (chunked uploads are not accepted)' || b.detail });
	}

	// 415.
	add({ name: 'evaluate: text/plain', method: 'POST', path: E, headers: { 'Content-Type': 'text/plain' }, body: '{}', status: 415 });
	add({ name: 'evaluate: no Content-Type', method: 'POST', path: E, body: '{}', status: 415 });
	add({ name: 'evaluate: target neither PNG nor .npy', method: 'POST', path: E, headers: JSON_T,
		body: evalBody({ target: b64(Buffer.from('hello, world\n')) }), status: 415,
		then: (b) => b.detail === 'target is neither a PNG nor a .npy file' || b.detail });
	for (const [kind, bytes] of [['JPEG', 'ffd8ffe000104a464946'], ['GIF', '474946383961'], ['TIFF', '49492a0008000000'], ['WebP', '524946462400000057454250565038']]) {
		for (const role of ['target', 'prediction']) {
			add({ name: `evaluate: a ${kind} ${role}`, method: 'POST', path: E, headers: JSON_T,
				body: evalBody({ [role]: b64(Buffer.from(bytes, 'hex')) }), status: 415,
				then: (b) => b.detail.startsWith(`${role} is a ${kind} image, not a PNG or a .npy file`) || b.detail });
		}
	}
	{
		const f = multipart([['target', blobsT], ['prediction', Buffer.from('# not an image\n')]]);
		add({ name: 'evaluate: multipart upload neither PNG nor .npy', method: 'POST', path: E, headers: { 'Content-Type': f.type }, body: f.body, status: 415 });
	}

	// 400 naming the mask and the decoder.
	add({ name: 'evaluate: a prediction that is not base64', method: 'POST', path: E, headers: JSON_T, body: evalBody({ prediction: '@@@@' }), status: 400,
		then: (b) => b.detail === 'prediction: invalid base64 at offset 0' || b.detail });
	add({ name: 'evaluate: a .npy whose data is short of its shape', method: 'POST', path: E, headers: JSON_T, status: 400,
		body: evalBody({ prediction: b64(npyF32(256, 256, new Array(250).fill(0.5))) }),
		then: (b) => b.detail === 'prediction: npy: data is 1000 bytes but shape (256, 256) of float32 needs 262144' || b.detail });

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
	{
		const f = multipart([['target', instT], ['prediction', instP], ['maps', 'weight:range=[0,12],w0=5,bce'], ['map_format', 'png']]);
		add({ name: 'evaluate: multipart map with a range', method: 'POST', path: E, headers: { 'Content-Type': f.type }, body: f.body, status: 200,
			then: (b) => (json(b.maps.weight.range) === '[0,12]' && json(b.maps.bce.range) === json([b.maps.bce.min, b.maps.bce.max])) ||
				`${json(b.maps.weight.range)} ${json(b.maps.bce.range)}` });
	}
	inv('map range without map_format png', evalBody({ maps: [{ name: 'weight', range: [0, 12] }] }), true,
		/^map 'weight': "range" sets the colour scale of a heatmap; it needs "map_format": "png"$/);
	inv('map range high below low', evalBody({ maps: ['weight:range=[5,1]'], map_format: 'png' }), undefined,
		/^"range" must be \[low, high\], two finite numbers with low < high, got \[5, 1\]$/);
	inv('map range of one number', evalBody({ maps: [{ name: 'bce', range: [1] }], map_format: 'png' }), false);
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
		['application/json', 'application/json'], ['text/html, */*;q=0.1', 'application/json'], ['*/*', 'application/json'],
		['application/json;q=0.5, application/x-npy', 'application/x-npy'], [undefined, 'application/json'],
	];
	for (const [accept, want] of accepts) {
		add({
			name: `weight-map: Accept ${accept ?? '(none)'}`, method: 'POST', path: W,
			headers: accept ? { ...JSON_T, Accept: accept } : JSON_T, body: wBody({ class_weights: 'none' }), status: 200,
			then: (_, r) => {
				if (baseType(r.headers['content-type']) !== want) return `Content-Type ${r.headers['content-type']}, expected ${want}`;
				// A heatmap's scale is in X-Map-Min/Max and in its tEXt chunks; other answers carry none.
				if (want !== 'image/png') return !('x-map-min' in r.headers) || `X-Map-Min on ${want}`;
				const t = pngText(r.body);
				return (t.map_min === r.headers['x-map-min'] && t.map_max === r.headers['x-map-max'] && Number(t.map_min) < Number(t.map_max) &&
					t.colormap === 'viridis') || `headers ${r.headers['x-map-min']} ${r.headers['x-map-max']}, tEXt ${json(t)}`;
			},
		});
	}
	// A fixed range: two different targets, one scale.
	for (const [label, target] of [['instances', instT], ['blobs', blobsT]]) {
		add({
			name: `weight-map: range [0, 20], ${label}`, method: 'POST', path: W, headers: { ...JSON_T, Accept: 'image/png' },
			body: json({ target: b64(target), range: [0, 20] }), schema: true, status: 200,
			then: (_, r) => (r.headers['x-map-min'] === '0' && r.headers['x-map-max'] === '20' && pngText(r.body).map_max === '20') ||
				`X-Map-Min ${r.headers['x-map-min']} X-Map-Max ${r.headers['x-map-max']}`,
		});
	}
	{
		const f = multipart([['target', instT], ['range', '[-1, 2.5]']]);
		add({ name: 'weight-map: multipart range', method: 'POST', path: W, headers: { 'Content-Type': f.type, Accept: 'image/png' }, body: f.body, status: 200,
			then: (_, r) => (r.headers['x-map-min'] === '-1' && r.headers['x-map-max'] === '2.5') || `${r.headers['x-map-min']} ${r.headers['x-map-max']}` });
	}
	for (const accept of ['text/csv', 'text/html', 'image/png;q=0, application/json;q=0']) {
		add({
			name: `weight-map: Accept ${accept}: 406`, method: 'POST', path: W, headers: { ...JSON_T, Accept: accept }, body: wBody(), status: 406,
			then: (b) => b.detail === `cannot answer in any type of Accept '${accept}': POST /v1/weight-map answers application/json, application/x-npy, image/png` || b.detail,
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
	winv('range for a JSON answer', wBody({ range: [0, 20] }), true,
		/^"range" sets the colour scale of a heatmap: ask for one with Accept: image\/png \(this answer would be application\/json\)$/);
	add({ name: 'weight-map: range high below low', method: 'POST', path: W, headers: { ...JSON_T, Accept: 'image/png' }, body: wBody({ range: [20, 0] }),
		schema: true, status: 422, then: (b) => /^"range" must be \[low, high\]/.test(b.detail) || b.detail });
	{
		const f = multipart([['target', instT], ['bogus', '3']]);
		add({ name: 'weight-map: multipart unknown field', method: 'POST', path: W, headers: { 'Content-Type': f.type }, body: f.body, status: 422 });
	}
	// POST /v1/evaluate: run and item (recording is checked in runsPhase).
	inv('item without run', evalBody({ item: 'a' }), false, /^"item" needs a "run" to record it in$/);
	inv('run with a space', evalBody({ run: 'unet v2' }), false, /^run name may hold only A-Za-z0-9._- \(character 5 is not\)$/);
	inv('run of 129 characters', evalBody({ run: 'r'.repeat(129) }), false, /^run name must be 1 to 128 characters, got 129$/);
	inv('empty run', evalBody({ run: '' }), false);
	inv('run not a string', evalBody({ run: 7 }), false, /^"run" must be a string$/);
	inv('empty item', evalBody({ run: 'contract-x', item: '' }), false);
	inv('item with a control character', evalBody({ run: 'contract-x', item: 'a\tb' }), false, /control character at byte 1$/);
	inv('item of 513 bytes', evalBody({ run: 'contract-x', item: 'i'.repeat(513) }), false, /^item must be 1 to 512 bytes of UTF-8, got 513 bytes$/);
	// 257 two-byte characters: within maxLength (characters), over the limit in bytes.
	inv('item of 514 bytes in 257 characters', evalBody({ run: 'contract-x', item: 'é'.repeat(257) }), undefined, /got 514 bytes$/);
	{
		const f = multipart([['target', blobsT], ['prediction', blobsP], ['item', 'a']]);
		add({ name: 'evaluate: multipart item without run', method: 'POST', path: E, headers: { 'Content-Type': f.type }, body: f.body, status: 422 });
		const g = multipart([['target', blobsT], ['prediction', blobsP], ['run', 'no/slash']]);
		add({ name: 'evaluate: multipart invalid run', method: 'POST', path: E, headers: { 'Content-Type': g.type }, body: g.body, status: 422 });
	}

	// POST /v1/evaluate: batches.
	const pair = (t, p, item) => ({ target: b64(t), prediction: b64(p), ...(item === undefined ? {} : { item }) });
	add({
		name: 'evaluate: batch without run, one upload neither PNG nor .npy', method: 'POST', path: E, headers: JSON_T,
		body: json({ items: [pair(blobsT, blobsP), pair(blobsT, Buffer.from('not an image')), pair(hand2T, hand2P, 'named')], losses: ['dice'], metrics: ['iou'] }),
		schema: true, status: 200,
		then: (b) => {
			const [ok, bad, named] = b.items;
			if (b.count !== 3 || b.failed !== 1 || 'run' in b || 'store' in b.timing_ms) return `count ${b.count} failed ${b.failed} run ${b.run}`;
			if (bad.error?.status !== 415 || !/^items\[1\]: /.test(bad.error.detail) || 'item' in bad || 'item' in ok) return json(bad);
			if (named.item !== 'named' || 'maps' in ok) return json(named);
			const mean = (ok.losses.dice + named.losses.dice) / 2;
			return Math.abs(b.means.losses.dice - mean) < 1e-12 || `means ${json(b.means)}, expected dice ${mean}`;
		},
	});
	add({
		name: 'evaluate: batch, logits and prediction objects', method: 'POST', path: E, headers: JSON_T,
		body: json({ items: [{ target: b64(logitT), prediction: { npy: b64(logitP) } }, { target: b64(hand2T), prediction: { npy: b64(hand2P), logits: false } }], logits: true }),
		schema: true, status: 200,
		then: (b) => (b.failed === 0 && json(Object.keys(b.means.losses)) === json(catalogue.defaults.losses)) || json(b.means),
	});
	add({ name: 'evaluate: batch with bad base64', method: 'POST', path: E, headers: JSON_T,
		body: json({ items: [pair(blobsT, blobsP), { target: b64(blobsT), prediction: '@@@@' }] }), status: 400,
		then: (b) => /^items\[1\]\.prediction: invalid base64/.test(b.detail) || b.detail });
	add({
		name: 'evaluate: batch of 1000 items (the most)', method: 'POST', path: E, headers: JSON_T, schema: true, status: 200,
		body: json({ items: Array.from({ length: 1000 }, (_, i) => pair(hand2T, hand2P, `i${i}`)), losses: ['dice'], metrics: [] }),
		then: (b) => (b.count === 1000 && b.failed === 0 && b.items[999].item === 'i999') || `count ${b.count}`,
	});
	add({
		name: 'evaluate: run of 128 characters, item of 512 bytes (the longest)', method: 'POST', path: E, headers: JSON_T, schema: true, status: 200,
		body: json({ target: b64(hand2T), prediction: b64(hand2P), run: `contract.${'r'.repeat(119)}`, item: `${'é'.repeat(200)}${'i'.repeat(112)}` }),
		then: (b) => (b.run.length === 128 && Buffer.byteLength(b.item) === 512) || `run ${b.run.length} item ${Buffer.byteLength(b.item)} bytes`,
	});
	const binv = (name, body, schema, re) => inv(`batch ${name}`, json(body), schema, re);
	binv('with maps', { items: [pair(blobsT, blobsP)], maps: ['weight'] }, false, /^unknown field "maps"$/);
	binv('with map_format', { items: [pair(blobsT, blobsP)], map_format: 'png' }, false);
	binv('with target beside items', { items: [pair(blobsT, blobsP)], target: b64(blobsT) }, false);
	binv('of no items', { items: [] }, false, /^"items" must be a non-empty array/);
	binv('items not an array', { items: { a: 1 } }, false);
	binv('of 1001 items', { items: Array(1001).fill({}) }, false, /^at most 1000 items per batch, got 1001$/);
	binv('entry not an object', { items: [pair(blobsT, blobsP), 'x'] }, false, /^items\[1\] must be an object$/);
	binv('entry with an unknown field', { items: [{ ...pair(blobsT, blobsP), run: 'x' }] }, false);
	binv('entry without prediction', { items: [{ target: b64(blobsT) }] }, false, /^missing "items\[0\]\.prediction"$/);
	binv('recorded, an item without a name', { items: [pair(blobsT, blobsP, 'a'), pair(blobsT, blobsP)], run: 'contract-x' }, false,
		/^items\[1\] needs an "item" name to be recorded in run 'contract-x'$/);
	binv('recorded, a name used twice', { items: [pair(blobsT, blobsP, 'a'), pair(blobsT, blobsP, 'a')], run: 'contract-x' }, undefined,
		/^items\[1\] repeats the item name of items\[0\]$/);
	binv('item beside items', { items: [pair(blobsT, blobsP, 'a')], run: 'contract-x', item: 'a' }, false);

	// Routes of runs and jobs: 405 and 404.
	for (const [m, p, allow] of [
		['POST', '/v1/runs', 'GET, HEAD'], ['PUT', '/v1/runs/contract-x', 'GET, HEAD, DELETE'], ['POST', '/v1/runs/contract-x', 'GET, HEAD, DELETE'],
		['DELETE', '/v1/runs/contract-x/items', 'GET, HEAD'], ['POST', '/v1/runs/a/compare/b', 'GET, HEAD'],
		['PUT', '/v1/jobs', 'GET, HEAD, POST'], ['DELETE', '/v1/jobs', 'GET, HEAD, POST'], ['PATCH', `/v1/jobs/${'0'.repeat(32)}`, 'GET, HEAD, DELETE'],
	]) {
		add({
			name: `${m} ${p} -> 405`, method: m, path: p, status: 405,
			headers: m === 'POST' || m === 'PUT' ? JSON_T : {}, body: m === 'POST' || m === 'PUT' ? '{}' : undefined,
			then: (_, r) => r.headers.allow === allow || `Allow: ${r.headers.allow}, expected ${allow}`,
		});
	}
	// The items query refusals of the spec's examples, word for word, on the run its example
	// "recorded" request made (unet-v2: losses bce, dice; metrics iou, hausdorff95).
	{
		const ex = spec.components.responses.InvalidItemsQuery.content['application/problem+json'].examples;
		for (const [k, q] of [['unknown-parameter', 'sort=worst'], ['unknown-key', 'order_by=losses.bec']]) {
			add({ name: `GET /v1/runs/unet-v2/items?${q}: the spec's example ${k}`, method: 'GET', path: `/v1/runs/unet-v2/items?${q}`, status: 422,
				then: (b) => b.detail === ex[k].value.detail || b.detail });
		}
	}
	for (const p of ['/v1/runs/', '/v1/runs/a/b', '/v1/runs/a/compare', '/v1/runs/a/compare/b/c', '/v1/jobs/', `/v1/jobs/${'0'.repeat(32)}/result`])
		add({ name: `GET ${p} -> 404`, method: 'GET', path: p, status: 404, then: (b) => /^no route for /.test(b.detail) || b.detail });

	// Every /v1 operation refuses a query parameter it does not read, before its body is read or its
	// resource looked up; outside /v1 (probes, /metrics) a query is ignored.
	for (const op of documented.keys()) {
		const [m, p] = op.split(' ');
		if (!p?.startsWith('/v1/') || m === 'OPTIONS') continue;
		const body = m === 'POST' ? '{}' : undefined;
		add({
			name: `${m} ${p}?bogus=1 -> 422`, method: m, path: `${concretePath(p)}?bogus=1`, status: 422, body, headers: body ? JSON_T : {},
			then: (b) => m === 'HEAD' || /^unknown query parameter 'bogus': /.test(b.detail) || b.detail,
		});
	}
	add({ name: 'GET /healthz?ts=1: probes ignore queries', method: 'GET', path: '/healthz?ts=1', status: 200 });
	add({
		name: 'GET /metrics counts the requests above', method: 'GET', path: '/metrics', status: 200,
		then: (b) => /^segloss_http_requests_total\{route="evaluate",code="422"\} [1-9]\d*$/m.test(b) || 'no evaluate 422 counter',
	});
	return t;
}

// A POST without any body, as `curl -X POST` sends it (neither Content-Length nor
// Transfer-Encoding, which node:http would add): 400 "empty body", not 411.
async function emptyPostPhase(port) {
	for (const p of [E, W, '/v1/jobs']) {
		const name = `${p}: no body at all (curl -X POST)`;
		const c = new RawConn(port);
		try {
			await c.open();
			const res = await c.request('POST', p, { Accept: '*/*' });
			const b = validateResponse(name, 'POST', p, res);
			if (b !== null && check(name, res.status === 400 &&
				b.detail === `empty body: POST ${p} needs a JSON (application/json) or multipart/form-data body`, `${res.status}: ${b.detail}`)) passed++;
		} catch (e) {
			fail(name, e.message);
		} finally {
			c.close();
		}
	}
}

// A body compressed by the zstd command (installed by run.sh): Node 20's zlib has no zstd.
const zstdOf = (buf) => execFileSync('zstd', ['-q', '-c'], { input: buf, maxBuffer: 1 << 28 });

// Compressed bodies (Content-Encoding): the same answers as the plain body; other codings, corrupt data.
async function encodingPhase(port) {
	const body = Buffer.from(evalBody({ losses: ['bce', 'dice'], metrics: ['iou'] }));
	const plain = await runCase(port, { name: 'encoding: plain body', method: 'POST', path: E, headers: JSON_T, body, status: 200 });
	const same = (b) => (plain && JSON.stringify(b.losses) === JSON.stringify(plain.body.losses) &&
		JSON.stringify(b.metrics) === JSON.stringify(plain.body.metrics)) || json(b);
	for (const [enc, packed] of [['gzip', zlib.gzipSync(body)], ['x-gzip', zlib.gzipSync(body)], ['zstd', zstdOf(body)],
		['GZIP', Buffer.concat([zlib.gzipSync(body.subarray(0, 1000)), zlib.gzipSync(body.subarray(1000))])]]) {
		await runCase(port, { name: `encoding: evaluate, Content-Encoding ${enc}`, method: 'POST', path: E,
			headers: { ...JSON_T, 'Content-Encoding': enc }, body: packed, status: 200, then: same });
	}
	await runCase(port, { name: 'encoding: identity', method: 'POST', path: E, headers: { ...JSON_T, 'Content-Encoding': 'identity' },
		body, status: 200, then: same });
	const f = multipart([['target', blobsT], ['prediction', blobsP], ['losses', 'bce,dice'], ['metrics', 'iou']]);
	await runCase(port, { name: 'encoding: multipart, zstd', method: 'POST', path: E,
		headers: { 'Content-Type': f.type, 'Content-Encoding': 'zstd' }, body: zstdOf(f.body), status: 200, then: same });
	await runCase(port, { name: 'encoding: weight map, gzip', method: 'POST', path: W, headers: { ...JSON_T, 'Content-Encoding': 'gzip' },
		body: zlib.gzipSync(json({ target: b64(blobsT) })), status: 200 });
	await runCase(port, { name: 'encoding: job, zstd', method: 'POST', path: '/v1/jobs', headers: { ...JSON_T, 'Content-Encoding': 'zstd' },
		body: zstdOf(body), status: 202 });
	for (const enc of ['br', 'deflate', 'gzip, zstd']) {
		await runCase(port, { name: `encoding: Content-Encoding ${enc}`, method: 'POST', path: E, headers: { ...JSON_T, 'Content-Encoding': enc },
			body, status: 415, then: (b) => b.detail === `unsupported Content-Encoding '${enc}': send the body as gzip, zstd or identity` || b.detail });
	}
	const gz = zlib.gzipSync(body);
	await runCase(port, { name: 'encoding: gzip cut short', method: 'POST', path: E, headers: { ...JSON_T, 'Content-Encoding': 'gzip' },
		body: gz.subarray(0, gz.length - 10), status: 400, then: (b) => /^gzip: the stream ends early/.test(b.detail) || b.detail });
	await runCase(port, { name: 'encoding: zstd label on gzip data', method: 'POST', path: E, headers: { ...JSON_T, 'Content-Encoding': 'zstd' },
		body: gz, status: 400, then: (b) => /^zstd: /.test(b.detail) || b.detail });
	await runCase(port, { name: 'encoding: gzip label on a plain body', method: 'POST', path: E, headers: { ...JSON_T, 'Content-Encoding': 'gzip' },
		body, status: 400, then: (b) => /^gzip: invalid data at byte \d+ /.test(b.detail) || b.detail });
}

// Cases for a daemon started with --max-body 4K --max-pixels 1000.
function limitCases() {
	const big = json({ target: 'A'.repeat(9000), prediction: 'A' });
	const zeros = Buffer.alloc(1 << 20, 0x20); /* 1 MiB of spaces: a few hundred bytes compressed */
	return [
		{ name: 'evaluate: gzip body inflating past --max-body', method: 'POST', path: E, headers: { ...JSON_T, 'Content-Encoding': 'gzip' },
			body: zlib.gzipSync(zeros), status: 413,
			then: (b) => b.detail === 'the gzip body inflates past the limit of 4096 bytes' || b.detail },
		{ name: 'evaluate: zstd body inflating past --max-body', method: 'POST', path: E, headers: { ...JSON_T, 'Content-Encoding': 'zstd' },
			body: zstdOf(zeros), status: 413, then: (b) => /past the limit of 4096 bytes$/.test(b.detail) || b.detail },
		{ name: 'evaluate: body over --max-body (Content-Length)', method: 'POST', path: E, headers: JSON_T, body: big, status: 413,
			then: (b) => /^request body of 9\d{3} bytes is over the limit of 4096 bytes$/.test(b.detail) || b.detail },
		{ name: 'evaluate: body over --max-body (chunked): 411, not read', method: 'POST', path: E, headers: JSON_T, body: big, chunked: true, status: 411 },
		{ name: 'weight-map: body over --max-body', method: 'POST', path: W, headers: JSON_T, body: big, status: 413 },
		{ name: 'evaluate: image over --max-pixels', method: 'POST', path: E, headers: JSON_T,
			body: json({ target: b64(blobsT), prediction: b64(blobsT) }), status: 413,
			then: (b) => /over the limit of 1000$/.test(b.detail) || b.detail },
		{ name: 'weight-map: image over --max-pixels', method: 'POST', path: W, headers: JSON_T, body: json({ target: b64(blobsT) }), status: 413 },
		{ name: 'jobs: body over --max-body', method: 'POST', path: '/v1/jobs', headers: JSON_T, body: big, status: 413 },
		{ name: 'GET /healthz is not capped', method: 'GET', path: '/healthz', status: 200 },
	];
}

// Jobs on the --max-pixels 1000 daemon: the image is only decoded when the job runs.
async function limitJobs(port) {
	const name = 'jobs: image over --max-pixels';
	const st = await submitAndWait(port, name, { headers: JSON_T, body: json({ target: b64(blobsT), prediction: b64(blobsT) }) });
	if (st) passed += check(name, st.status === 'failed' && st.error.status === 413 && /over the limit of 1000$/.test(st.error.detail), json(st)) ? 1 : 0;
}

// Sends one case and checks it: the request schema (when c.schema is set),
// the response against the spec, the expected status, then c.then. Returns
// { res, body } when everything held, else null. A case tagged `defect`
// (a KNOWN_DEFECTS key) reports its failures as known.
async function runCase(port, c) {
	if (c.defect && !(c.defect in KNOWN_DEFECTS)) throw new Error(`${c.name}: no KNOWN_DEFECTS entry ${c.defect}`);
	defect = c.defect ?? null;
	try {
		return await runCaseInner(port, c);
	} finally {
		defect = null;
	}
}

async function runCaseInner(port, c) {
	if (c.schema !== undefined) {
		const sp = specPath(c.path);
		const rb = spec.paths[sp]?.[c.method.toLowerCase()]?.requestBody;
		const e = schemaErrors(ptr('paths', sp, c.method.toLowerCase(), 'requestBody', 'content', 'application/json', 'schema'),
			JSON.parse(c.body));
		if (rb && (e === null) !== c.schema) {
			fail(c.name, c.schema ? `the request schema rejects a body the server takes:\n${e}`
				: 'the request schema accepts a body the server rejects');
			return null;
		}
	}
	let res;
	try {
		res = await send(port, c);
	} catch (e) {
		fail(c.name, `${c.method} ${c.path}: ${e.message}`);
		return null;
	}
	const body = validateResponse(c.name, c.method, c.path, res);
	if (body === null) return null;
	if (!check(c.name, res.status === c.status, `expected ${c.status}, got ${res.status}: ${res.body.toString('utf8', 0, 300)}`)) return null;
	if (c.then) {
		let r;
		try {
			r = c.then(body, res);
		} catch (e) {
			r = e.stack || String(e);
		}
		if (r !== true) {
			fail(c.name, `check failed: ${r}`);
			return null;
		}
	}
	passed++;
	if (VERBOSE) console.log(`  pass ${c.name}`);
	return { res, body };
}

// ---- runs: recording, aggregates, items, comparisons, ETags -----------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const close = (x, y) => (x === null || y === null ? x === y : Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y)));
const etagVersion = (t) => Number(/^W\/"(\d+)-/.exec(t ?? '')?.[1]);

// The q-quantile of sorted values, linear between the closest ranks (numpy.percentile's default).
function quantile(sorted, q) {
	const pos = (sorted.length - 1) * q;
	const i = Math.floor(pos);
	return i + 1 >= sorted.length ? sorted[sorted.length - 1] : sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]);
}

// Population statistics of the non-null values, as GET /v1/runs/{run} gives them.
function aggregate(values) {
	const v = values.filter((x) => x !== null);
	if (v.length === 0) return { count: 0, mean: null, std: null, min: null, max: null, median: null, p05: null, p95: null };
	const mean = v.reduce((a, x) => a + x, 0) / v.length;
	const std = Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / v.length);
	const sorted = [...v].sort((a, b) => a - b);
	return { count: v.length, mean, std, min: Math.min(...v), max: Math.max(...v),
		median: quantile(sorted, 0.5), p05: quantile(sorted, 0.05), p95: quantile(sorted, 0.95) };
}

function sameAggregates(got, want) {
	for (const kind of ['losses', 'metrics']) {
		const keys = Object.keys(want[kind]).sort();
		if (json(Object.keys(got[kind]).sort()) !== json(keys)) return `${kind} keys ${Object.keys(got[kind])}, expected ${keys}`;
		for (const k of keys) {
			for (const f of ['count', 'mean', 'std', 'min', 'max', 'median', 'p05', 'p95']) {
				if (!close(got[kind][k][f], want[kind][k][f])) return `${kind}.${k}.${f} = ${got[kind][k][f]}, expected ${want[kind][k][f]}`;
			}
		}
	}
	return true;
}

async function runsPhase(port) {
	const step = (c) => runCase(port, c);
	const A = 'contract-a';
	const B = 'contract-b';
	const RA = `/v1/runs/${A}`;
	const RB = `/v1/runs/${B}`;
	const L = ['dice', 'bce'];
	const M = ['iou', 'hausdorff'];
	const stored = { [A]: new Map(), [B]: new Map() }; // item -> {losses, metrics}, the latest write
	const keep = (run, item, b) => {
		stored[run].delete(item); // a rewrite moves the item to the end of the sequence
		stored[run].set(item, { losses: b.losses, metrics: b.metrics });
	};

	const list0 = await step({ name: 'runs: list', method: 'GET', path: '/v1/runs', status: 200 });

	// Recording: JSON with an item, JSON without (the request id names it), multipart, nulls, a rewrite.
	let r = await step({
		name: 'runs: record (JSON, item)', method: 'POST', path: E, headers: JSON_T, schema: true, status: 200,
		body: json({ target: b64(blobsT), prediction: b64(blobsP), losses: L, metrics: M, run: A, item: 'blobs' }),
		then: (b) => (b.run === A && b.item === 'blobs' && b.timing_ms.store > 0) || `run ${b.run} item ${b.item} timing ${json(b.timing_ms)}`,
	});
	if (r) keep(A, 'blobs', r.body);
	r = await step({
		name: 'runs: record (JSON, the request id as item)', method: 'POST', path: E, headers: { ...JSON_T, 'X-Request-Id': 'contract-item-2' },
		schema: true, status: 200, body: json({ target: b64(instT), prediction: b64(instP), losses: L, metrics: M, run: A }),
		then: (b) => b.item === 'contract-item-2' || `item ${b.item}`,
	});
	if (r) keep(A, 'contract-item-2', r.body);
	{
		const f = multipart([['target', logitT], ['prediction', logitP], ['logits', 'true'], ['losses', L.join(',')], ['metrics', M.join(',')],
			['run', `${A}\r\n`], ['item', 'logits café/ü 1']]);
		r = await step({
			name: 'runs: record (multipart, UTF-8 item)', method: 'POST', path: E, headers: { 'Content-Type': f.type }, body: f.body, status: 200,
			then: (b) => (b.run === A && b.item === 'logits café/ü 1') || `run ${b.run} item ${b.item}`,
		});
		if (r) keep(A, 'logits café/ü 1', r.body);
	}
	r = await step({
		name: 'runs: record (null values)', method: 'POST', path: E, headers: JSON_T, schema: true, status: 200,
		body: json({ target: { npy: b64(emptyT) }, prediction: { npy: b64(emptyP) }, losses: [{ name: 'dice', smooth: 0 }, 'bce'], metrics: M, run: A, item: 'empty' }),
		then: (b) => (b.losses.dice === null && b.metrics.iou === null) || json(b.losses),
	});
	if (r) keep(A, 'empty', r.body);
	r = await step({
		name: 'runs: record (the same item again replaces it)', method: 'POST', path: E, headers: JSON_T, schema: true, status: 200,
		body: json({ target: b64(blobsT), prediction: b64(blobsT), losses: L, metrics: M, run: A, item: 'blobs' }),
	});
	if (r) keep(A, 'blobs', r.body);

	// A recorded batch with a pair that fails.
	r = await step({
		name: 'runs: record a batch (one pair fails)', method: 'POST', path: E, headers: JSON_T, schema: true, status: 200,
		body: json({
			items: [{ target: b64(blobsT), prediction: b64(blobsP), item: 'blobs' }, { target: b64(instT), prediction: b64(instP), item: 'contract-item-2' },
				{ target: b64(blobsT), prediction: b64(hand2P), item: 'broken' }],
			losses: L, metrics: M, run: B,
		}),
		then: (b) => {
			if (b.count !== 3 || b.failed !== 1 || b.run !== B || !(b.timing_ms.store > 0)) return `count ${b.count} failed ${b.failed} run ${b.run}`;
			const e = b.items[2];
			if (e.item !== 'broken' || e.error?.status !== 422 || e.error.detail !== 'items[2]: prediction is 2x2 but target is 64x64')
				return json(e);
			for (const kind of ['losses', 'metrics']) {
				for (const k of Object.keys(b.means[kind])) {
					const want = aggregate(b.items.slice(0, 2).map((it) => it[kind][k])).mean;
					if (!close(b.means[kind][k], want)) return `means.${kind}.${k} ${b.means[kind][k]}, expected ${want}`;
				}
			}
			return true;
		},
	});
	if (r) r.body.items.slice(0, 2).forEach((it) => keep(B, it.item, it));

	// The list, its ETag and 304s.
	const list1 = await step({
		name: 'runs: list after recording', method: 'GET', path: '/v1/runs', status: 200,
		then: (b, res) => {
			const a = b.runs.find((x) => x.name === A);
			const bb = b.runs.find((x) => x.name === B);
			if (a?.count !== stored[A].size || bb?.count !== stored[B].size) return `counts ${a?.count} ${bb?.count}`;
			if (json(b.runs.map((x) => x.name)) !== json(b.runs.map((x) => x.name).sort())) return 'not sorted by name';
			if (!(a.created <= a.updated && Math.abs(a.updated - Date.now()) < 60000)) return json(a);
			return !list0 || etagVersion(res.headers.etag) > etagVersion(list0.res.headers.etag) ||
				`ETag ${res.headers.etag} after writes, ${list0.res.headers.etag} before`;
		},
	});
	const listTag = list1?.res.headers.etag;
	await step({
		name: 'runs: list again, no write: same data version', method: 'GET', path: '/v1/runs', status: 200,
		then: (_, res) => etagVersion(res.headers.etag) === etagVersion(listTag) || `${res.headers.etag} after ${listTag}`,
	});
	await step({
		name: 'runs: list again, no write: same ETag', method: 'GET', path: '/v1/runs', status: 200,
		then: (_, res) => res.headers.etag === listTag || `ETag ${res.headers.etag}, then ${listTag}`,
	});
	await step({ name: 'runs: list, If-None-Match its ETag', method: 'GET', path: '/v1/runs', headers: { 'If-None-Match': listTag }, status: 304 });
	await step({ name: 'runs: list, If-None-Match *', method: 'GET', path: '/v1/runs', headers: { 'If-None-Match': '*' }, status: 304 });
	await step({ name: 'runs: list, If-None-Match another tag', method: 'GET', path: '/v1/runs', headers: { 'If-None-Match': 'W/"1-00000000"' }, status: 200 });
	await step({ name: 'runs: HEAD list', method: 'HEAD', path: '/v1/runs', status: 200 });
	await step({ name: 'runs: HEAD list, If-None-Match *', method: 'HEAD', path: '/v1/runs', headers: { 'If-None-Match': '*' }, status: 304 });

	// One run: aggregates over the latest values, nulls not counted.
	const expect = (run) => {
		const out = { losses: {}, metrics: {} };
		for (const kind of ['losses', 'metrics']) {
			const keys = new Set([...stored[run].values()].flatMap((v) => Object.keys(v[kind])));
			for (const k of keys) out[kind][k] = aggregate([...stored[run].values()].filter((v) => k in v[kind]).map((v) => v[kind][k]));
		}
		return out;
	};
	const runA = await step({
		name: 'runs: one run', method: 'GET', path: RA, status: 200,
		then: (b) => (b.name === A && b.count === stored[A].size && sameAggregates(b, expect(A))),
	});
	const runTag = runA?.res.headers.etag;
	await step({ name: 'runs: one run, If-None-Match its ETag', method: 'GET', path: RA, headers: { 'If-None-Match': runTag }, status: 304,
		then: (_, res) => res.headers.etag === runTag || `ETag ${res.headers.etag}` });
	await step({ name: 'runs: one run, If-None-Match *', method: 'GET', path: RA, headers: { 'If-None-Match': '*' }, status: 304 });
	// Without the percentiles: the same kept aggregates, no median, p05 or p95, and an ETag of its own.
	await step({
		name: 'runs: one run, percentiles=false', method: 'GET', path: `${RA}?percentiles=false`, status: 200,
		then: (b, res) => {
			if (res.headers.etag === runTag) return 'the same ETag as with the percentiles';
			for (const kind of ['losses', 'metrics']) {
				for (const [k, a] of Object.entries(runA.body[kind])) {
					const got = b[kind][k];
					if (!got || 'median' in got || 'p05' in got || 'p95' in got) return `${kind}.${k}: ${json(got)}`;
					for (const f of ['count', 'mean', 'std', 'min', 'max']) if (got[f] !== a[f]) return `${kind}.${k}.${f}: ${got[f]} vs ${a[f]}`;
				}
			}
			return true;
		},
	});
	await step({ name: 'runs: one run, percentiles=true', method: 'GET', path: `${RA}?percentiles=true`, status: 200,
		then: (b) => json(b) === json(runA.body) || 'differs from the plain GET' });
	await step({ name: 'runs: one run, percentiles=maybe', method: 'GET', path: `${RA}?percentiles=maybe`, status: 422,
		then: (b) => b.detail === "percentiles must be true or false, got 'maybe'" || b.detail });
	await step({ name: 'runs: one run, an unknown query parameter', method: 'GET', path: `${RA}?percentile=false`, status: 422,
		then: (b) => /did you mean 'percentiles'/.test(b.detail) || b.detail });
	await step({ name: 'runs: HEAD one run', method: 'HEAD', path: RA, status: 200 });
	await step({ name: 'runs: HEAD one run, If-None-Match *', method: 'HEAD', path: RA, headers: { 'If-None-Match': '*' }, status: 304 });
	await step({ name: 'runs: unknown run', method: 'GET', path: '/v1/runs/contract-none', status: 404, then: (b) => b.detail === "no run 'contract-none'" || b.detail });
	await step({ name: 'runs: HEAD unknown run', method: 'HEAD', path: '/v1/runs/contract-none', status: 404 });
	await step({ name: 'runs: unknown run, If-None-Match *', method: 'GET', path: '/v1/runs/contract-none', headers: { 'If-None-Match': '*' }, status: 404 });
	await step({ name: 'runs: run name with a space', method: 'GET', path: '/v1/runs/a%20b', status: 422, then: (b) => /character 2 is not/.test(b.detail) || b.detail });
	await step({ name: 'runs: run name of 129 characters', method: 'GET', path: `/v1/runs/${'r'.repeat(129)}`, status: 422 });
	await step({ name: 'runs: HEAD run name with a space', method: 'HEAD', path: '/v1/runs/a%20b', status: 422 });

	// Items: the cursor, pages, sorting, and their 422s.
	const seqOrder = [...stored[A].keys()];
	const I = `${RA}/items`;
	const itemsOk = (b, names) => {
		if (json(b.items.map((x) => x.item)) !== json(names)) return `items ${json(b.items.map((x) => x.item))}, expected ${json(names)}`;
		for (const it of b.items) {
			const want = stored[A].get(it.item);
			for (const kind of ['losses', 'metrics']) {
				if (json(Object.keys(it[kind]).sort()) !== json(Object.keys(want[kind]).sort())) return `${it.item} ${kind} keys`;
				for (const k of Object.keys(want[kind])) if (!close(it[kind][k], want[kind][k])) return `${it.item} ${kind}.${k} ${it[kind][k]} != ${want[kind][k]}`;
			}
		}
		return true;
	};
	const all = await step({
		name: 'runs: items', method: 'GET', path: I, status: 200,
		then: (b) => {
			const seqs = b.items.map((x) => x.seq);
			if (json(seqs) !== json([...seqs].sort((x, y) => x - y)) || new Set(seqs).size !== seqs.length) return `seq ${seqs}`;
			if (b.next !== Math.max(...seqs)) return `next ${b.next}, seqs ${seqs}`;
			const blobs = b.items.find((x) => x.item === 'blobs');
			if (!(blobs.width === 64 && blobs.height === 64 && blobs.seq === b.next)) return `the rewritten item: ${json(blobs)}`;
			return itemsOk(b, seqOrder);
		},
	});
	const seqs = all ? all.body.items.map((x) => x.seq) : [0, 0, 0, 0];
	await step({ name: 'runs: items, limit=2', method: 'GET', path: `${I}?limit=2`, status: 200,
		then: (b) => itemsOk(b, seqOrder.slice(0, 2)) === true && b.next === seqs[1] ? true : `next ${b.next} ${itemsOk(b, seqOrder.slice(0, 2))}` });
	await step({ name: 'runs: items, after the second', method: 'GET', path: `${I}?after=${seqs[1]}&limit=100`, status: 200,
		then: (b) => itemsOk(b, seqOrder.slice(2)) === true && b.next === seqs[3] ? true : `next ${b.next}` });
	const empty = await step({ name: 'runs: items, after the last', method: 'GET', path: `${I}?after=${seqs[3]}`, status: 200,
		then: (b) => (b.items.length === 0 && b.next === seqs[3]) || json(b) });
	const emptyTag = empty?.res.headers.etag;
	await step({ name: 'runs: items, poll again with If-None-Match', method: 'GET', path: `${I}?after=${seqs[3]}`, headers: { 'If-None-Match': emptyTag },
		status: 304 });
	await step({ name: 'runs: items, If-None-Match *', method: 'GET', path: `${I}?after=${seqs[3]}`, headers: { 'If-None-Match': '*' }, status: 304 });
	await step({ name: 'runs: items, another query, If-None-Match the ETag of the first', method: 'GET', path: `${I}?after=${seqs[2]}`,
		headers: { 'If-None-Match': emptyTag }, status: 200 });
	const byDice = (dir) => {
		const named = seqOrder.filter((n) => stored[A].get(n).losses.dice !== null);
		named.sort((x, y) => (stored[A].get(x).losses.dice - stored[A].get(y).losses.dice) * (dir === 'desc' ? -1 : 1));
		return [...named, ...seqOrder.filter((n) => stored[A].get(n).losses.dice === null)];
	};
	await step({ name: 'runs: items by losses.dice, descending (nulls last)', method: 'GET', path: `${I}?order_by=losses.dice&order=desc`, status: 200,
		then: (b) => itemsOk(b, byDice('desc')) });
	await step({ name: 'runs: items by losses.dice (ascending by default), limit 2', method: 'GET', path: `${I}?order_by=losses.dice&limit=2`, status: 200,
		then: (b) => itemsOk(b, byDice('asc').slice(0, 2)) });
	// order_by must name a key the run has: a typo is a 422 with the closest key and the run's keys, not a page sorted by nothing.
	const runKeys = 'losses.bce, losses.dice, metrics.hausdorff, metrics.iou';
	await step({ name: 'runs: items by a key no item has: 422', method: 'GET', path: `${I}?order_by=metrics.nokey&order=desc`, status: 422,
		then: (b) => b.detail === `order_by 'metrics.nokey' names no score of this run; it has ${runKeys}` || b.detail });
	await step({ name: 'runs: items by a misspelt key: 422 with the closest', method: 'GET', path: `${I}?order_by=losses.bec`, status: 422,
		then: (b) => b.detail === `order_by 'losses.bec' names no score of this run (did you mean 'losses.bce'?); it has ${runKeys}` || b.detail });
	await step({ name: 'runs: items by a metric given as a loss: 422 with the metric', method: 'GET', path: `${I}?order_by=losses.iou`, status: 422,
		then: (b) => /\(did you mean 'metrics\.iou'\?\)/.test(b.detail) || b.detail });
	await step({ name: 'runs: HEAD items by a misspelt key', method: 'HEAD', path: `${I}?order_by=losses.bec`, status: 422 });
	await step({ name: 'runs: items, a parameter the route does not read', method: 'GET', path: `${I}?sort=losses.dice`, status: 422,
		then: (b) => b.detail === `unknown query parameter 'sort': GET ${I} takes after, limit, order_by, order` || b.detail });
	await step({ name: 'runs: items, a misspelt parameter', method: 'GET', path: `${I}?limt=5`, status: 422,
		then: (b) => /^unknown query parameter 'limt' \(did you mean 'limit'\?\)/.test(b.detail) || b.detail });
	await step({ name: 'runs: compare takes no query', method: 'GET', path: `/v1/runs/${A}/compare/${B}?limit=2`, status: 422,
		then: (b) => b.detail === `unknown query parameter 'limit': GET /v1/runs/${A}/compare/${B} takes none` || b.detail });
	await step({ name: 'runs: items, order=desc without order_by: the newest first', method: 'GET', path: `${I}?order=desc`, status: 200,
		then: (b) => (itemsOk(b, [...seqOrder].reverse()) === true && b.next === seqs[3]) || `${itemsOk(b, [...seqOrder].reverse())} next ${b.next}` });
	await step({ name: 'runs: items, the newest two', method: 'GET', path: `${I}?order=desc&limit=2`, status: 200,
		then: (b) => (itemsOk(b, [...seqOrder].reverse().slice(0, 2)) === true && b.next === seqs[3]) || `next ${b.next}` });
	await step({ name: 'runs: items, the newest after the second', method: 'GET', path: `${I}?order=desc&after=${seqs[1]}`, status: 200,
		then: (b) => (itemsOk(b, seqOrder.slice(2).reverse()) === true && b.next === seqs[3]) || `next ${b.next}` });
	await step({ name: 'runs: items, the newest after the last: none', method: 'GET', path: `${I}?order=desc&after=${seqs[3]}`, status: 200,
		then: (b) => (b.items.length === 0 && b.next === seqs[3]) || json(b) });
	await step({ name: 'runs: items by a key, next is never below after', method: 'GET', path: `${I}?order_by=losses.bce&after=1000000`, status: 200,
		then: (b) => (b.items.length === seqOrder.length && b.next === 1000000) || `next ${b.next}, ${b.items.length} items` });
	await step({ name: 'runs: items, limit=1000 (the most)', method: 'GET', path: `${I}?limit=1000&after=0&order=asc`, status: 200, then: (b) => itemsOk(b, seqOrder) });
	await step({ name: 'runs: HEAD items', method: 'HEAD', path: `${I}?limit=1`, status: 200 });
	await step({ name: 'runs: HEAD items, If-None-Match *', method: 'HEAD', path: I, headers: { 'If-None-Match': '*' }, status: 304 });
	for (const [q, re] of [
		['limit=0', /^query argument 'limit' must be an integer in \[1, 1000\], got '0'$/], ['limit=1001', /got '1001'$/], ['limit=ten', /got 'ten'$/],
		['limit=', /got ''$/], ['after=-1', /^query argument 'after' must be an integer in \[0, \d+\], got '-1'$/], ['after=1.5', /got '1.5'$/],
		['order_by=dice', /^order_by must be losses.KEY, metrics.KEY or per_class.METRIC.CLASS, got 'dice'$/],
		['order_by=losses.', /^order_by names no key$/], ['order_by=maps.weight', /got 'maps.weight'$/],
		['order_by=per_class.iou', /got 'per_class.iou'$/], [`order_by=losses.${'k'.repeat(64)}`, /names no score of this run; it has /],
		[`order_by=per_class.iou.${'k'.repeat(128)}`, /^order_by names no key$/],
		['order=up', /^order must be asc or desc, got 'up'$/],
	]) {
		await step({ name: `runs: items, ${q.slice(0, 24)}`, method: 'GET', path: `${I}?${q}`, status: 422, then: (b) => re.test(b.detail) || b.detail });
	}
	await step({ name: 'runs: items of an unknown run, bad limit: 422 first', method: 'GET', path: '/v1/runs/contract-none/items?limit=0', status: 422 });
	await step({ name: 'runs: items of an unknown run', method: 'GET', path: '/v1/runs/contract-none/items', status: 404 });
	await step({ name: 'runs: items, run name with a slash-free bad character', method: 'GET', path: '/v1/runs/a@b/items', status: 422 });
	await step({ name: 'runs: HEAD items of an unknown run', method: 'HEAD', path: '/v1/runs/contract-none/items', status: 404 });
	await step({ name: 'runs: HEAD items, limit=0', method: 'HEAD', path: `${I}?limit=0`, status: 422 });

	// A write changes the run's ETag: the old one no longer matches.
	r = await step({
		name: 'runs: record another item', method: 'POST', path: E, headers: JSON_T, status: 200,
		body: json({ target: b64(hand2T), prediction: b64(hand2P), losses: L, metrics: M, run: A, item: 'hand' }),
	});
	if (r) keep(A, 'hand', r.body);
	await step({
		name: 'runs: one run after a write, If-None-Match the old ETag', method: 'GET', path: RA, headers: { 'If-None-Match': runTag }, status: 200,
		then: (b, res) => (etagVersion(res.headers.etag) > etagVersion(runTag) && b.count === stored[A].size && sameAggregates(b, expect(A))) ||
			`ETag ${res.headers.etag} (was ${runTag}), count ${b.count}`,
	});
	await step({ name: 'runs: items after a write, cursor', method: 'GET', path: `${I}?after=${seqs[3]}`, headers: { 'If-None-Match': emptyTag }, status: 200,
		then: (b) => (json(b.items.map((x) => x.item)) === '["hand"]' && b.next === seqs[3] + 1) || json(b) });

	// Comparison.
	const cmpPath = `/v1/runs/${A}/compare/${B}`;
	const cmp = await step({
		name: 'runs: compare', method: 'GET', path: cmpPath, status: 200,
		then: (b) => {
			if (b.a !== A || b.b !== B) return `a ${b.a} b ${b.b}`;
			const ea = expect(A);
			const eb = expect(B);
			for (const kind of ['losses', 'metrics']) {
				const keys = [...new Set([...Object.keys(ea[kind]), ...Object.keys(eb[kind])])].sort();
				if (json(Object.keys(b[kind]).sort()) !== json(keys)) return `${kind} keys ${Object.keys(b[kind])}`;
				for (const k of keys) {
					const c = b[kind][k];
					const am = ea[kind][k]?.mean ?? null;
					const bm = eb[kind][k]?.mean ?? null;
					if (!close(c.a_mean, am) || !close(c.b_mean, bm)) return `${kind}.${k} means ${c.a_mean} ${c.b_mean}, expected ${am} ${bm}`;
					if (!close(c.difference, am === null || bm === null ? null : bm - am)) return `${kind}.${k} difference ${c.difference}`;
					const pairs = [...stored[A].keys()].filter((n) => stored[B].has(n))
						.map((n) => ({ item: n, a: stored[A].get(n)[kind][k] ?? null, b: stored[B].get(n)[kind][k] ?? null }))
						.filter((x) => x.a !== null && x.b !== null);
					if (c.paired.count !== pairs.length) return `${kind}.${k} paired.count ${c.paired.count}, expected ${pairs.length}`;
					const md = pairs.length ? pairs.reduce((s, x) => s + x.b - x.a, 0) / pairs.length : null;
					if (!close(c.paired.mean_difference, md)) return `${kind}.${k} mean_difference ${c.paired.mean_difference}, expected ${md}`;
					const mc = c.paired.most_changed;
					if (mc.length !== Math.min(10, pairs.length)) return `${kind}.${k} most_changed has ${mc.length}`;
					for (let i = 0; i < mc.length; i++) {
						const p = pairs.find((x) => x.item === mc[i].item);
						if (!p || !close(mc[i].a, p.a) || !close(mc[i].b, p.b) || !close(mc[i].difference, p.b - p.a)) return `${kind}.${k} ${json(mc[i])}`;
						if (i > 0 && Math.abs(mc[i].difference) > Math.abs(mc[i - 1].difference)) return `${kind}.${k} most_changed not largest first`;
					}
				}
			}
			return true;
		},
	});
	const cmpTag = cmp?.res.headers.etag;
	await step({ name: 'runs: compare, If-None-Match its ETag', method: 'GET', path: cmpPath, headers: { 'If-None-Match': cmpTag }, status: 304,
		then: (_, res) => res.headers.etag === cmpTag || `ETag ${res.headers.etag}` });
	await step({ name: 'runs: compare, If-None-Match a list with its ETag', method: 'GET', path: cmpPath, headers: { 'If-None-Match': `W/"1-00000000", ${cmpTag}` }, status: 304 });
	await step({ name: 'runs: HEAD compare', method: 'HEAD', path: cmpPath, status: 200 });
	await step({ name: 'runs: HEAD compare, If-None-Match its ETag', method: 'HEAD', path: cmpPath, headers: { 'If-None-Match': cmpTag }, status: 304 });
	await step({ name: 'runs: compare reversed', method: 'GET', path: `/v1/runs/${B}/compare/${A}`, status: 200,
		then: (b, res) => (b.a === B && res.headers.etag !== cmpTag && close(b.losses.dice.difference, -cmp.body.losses.dice.difference)) || json(b.losses.dice) });
	await step({ name: 'runs: compare with an unknown run (b)', method: 'GET', path: `/v1/runs/${A}/compare/contract-none`, status: 404,
		then: (b) => b.detail === "no run 'contract-none'" || b.detail });
	await step({ name: 'runs: compare with an unknown run (a)', method: 'GET', path: `/v1/runs/contract-none/compare/${A}`, status: 404 });
	await step({ name: 'runs: compare with a bad name', method: 'GET', path: `/v1/runs/${A}/compare/a%21b`, status: 422 });
	await step({ name: 'runs: HEAD compare with an unknown run', method: 'HEAD', path: `/v1/runs/contract-none/compare/${A}`, status: 404 });
	await step({ name: 'runs: HEAD compare with a bad name', method: 'HEAD', path: `/v1/runs/a%20b/compare/${A}`, status: 422 });

	// Deleting.
	await step({ name: 'runs: delete', method: 'DELETE', path: RB, status: 204 });
	await step({ name: 'runs: deleted run', method: 'GET', path: RB, status: 404 });
	await step({ name: 'runs: delete again', method: 'DELETE', path: RB, status: 404, then: (b) => b.detail === `no run '${B}'` || b.detail });
	await step({ name: 'runs: delete a bad name', method: 'DELETE', path: '/v1/runs/a%20b', status: 422 });
	await step({ name: 'runs: compare with the deleted run', method: 'GET', path: cmpPath, status: 404 });
	await step({
		name: 'runs: list after the delete', method: 'GET', path: '/v1/runs', status: 200,
		then: (b, res) => (!b.runs.some((x) => x.name === B) && etagVersion(res.headers.etag) > etagVersion(listTag)) || `ETag ${res.headers.etag}`,
	});
}

// ---- multi-class: label maps, per-class scores, kinds, profiles, weight maps ----------
//
// Every answer is checked against a recomputation here, from the label maps the test builds:
// the confusion matrix, each metric per class (one-vs-rest on the valid pixels), its average
// (macro, micro, weighted) under the default profile, pixel accuracy, surface distances
// (brute force over the boundary pixels), and cross-entropy and the Dice loss from the
// float32 probabilities and logits sent. Inputs are 24x16 label maps written as grey, colour
// and palette PNGs and as integer .npy, and per-class scores as (C, H, W) and (H, W, C) .npy.

const MC_W = 24;
const MC_H = 16;
const IGN = 255;
const CLASSES = [{ id: 0, name: 'background', color: '#000000' }, { id: 1, name: 'tumour', color: '#ff0000' }, { id: 2, name: 'vessel', color: '#00ff00' }];
const NAMES = CLASSES.map((c) => c.name);
const rgbOf = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

// Label maps as (x, y) -> class id. The target: a tumour rectangle, a vessel rectangle, and the
// ignore label on the last four pixels of the top row. The prediction: the tumour one column to
// the right, the vessel one row down, a stray tumour pixel and a stray 3x3 vessel block far from
// the vessel (so the two directed distance lists differ), the ignored pixels predicted vessel.
const mcT = (x, y) => (y === 0 && x >= 20 ? IGN : y >= 2 && y <= 7 && x >= 3 && x <= 10 ? 1 : y >= 9 && y <= 13 && x >= 12 && x <= 21 ? 2 : 0);
const mcT0 = (x, y) => (mcT(x, y) === IGN ? 0 : mcT(x, y)); // the target without ignored pixels
const mcP = (x, y) => (y === 0 && x >= 20 ? 2 : y >= 2 && y <= 7 && x >= 4 && x <= 11 ? 1 : y >= 10 && y <= 14 && x >= 12 && x <= 21 ? 2 : x === 0 && y === 15 ? 1 : x >= 1 && x <= 3 && y >= 9 && y <= 11 ? 2 : 0);
const mcPi = (x, y) => (mcT(x, y) === IGN ? 0 : mcP(x, y)); // differs from mcP only where the target is ignored
const mcP3 = (x, y) => (y >= 2 && y <= 9 && x >= 3 && x <= 10 ? 1 : y >= 11 && y <= 13 && x >= 14 && x <= 21 ? 2 : 0); // another prediction
const grid = (f, w = MC_W, h = MC_H) => Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w)));

function npyArray(descr, shape, values) {
	let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
	header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
	const head = Buffer.alloc(10);
	head.write('\x93NUMPY', 0, 'latin1');
	head[6] = 1;
	head.writeUInt16LE(header.length, 8);
	const size = { '<f4': 4, '<f8': 8, '<i4': 4, '|u1': 1 }[descr];
	const data = Buffer.alloc(size * values.length);
	values.forEach((v, i) => {
		if (descr === '<f4') data.writeFloatLE(v, 4 * i);
		else if (descr === '<f8') data.writeDoubleLE(v, 8 * i);
		else if (descr === '<i4') data.writeInt32LE(v, 4 * i);
		else data.writeUInt8(v, i);
	});
	return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

// 8-bit RGB (colour type 2) and palette (colour type 3) PNGs.
function pngOf(w, h, type, bpp, pixel, extra = []) {
	const raw = Buffer.alloc((w * bpp + 1) * h);
	for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) pixel(x, y).forEach((v, k) => { raw[y * (w * bpp + 1) + 1 + x * bpp + k] = v; });
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(w, 0);
	ihdr.writeUInt32BE(h, 4);
	ihdr[8] = 8;
	ihdr[9] = type;
	return Buffer.concat([PNG_SIG, pngChunk('IHDR', ihdr), ...extra, pngChunk('IDAT', zlib.deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0))]);
}
const rgbPng = (w, h, f) => pngOf(w, h, 2, 3, f);
const palettePng = (w, h, palette, f) => pngOf(w, h, 3, 1, (x, y) => [f(x, y)], [pngChunk('PLTE', Buffer.from(palette.flat()))]);

// Per-class scores from a label map: the predicted class gets 0.55 to 0.95 (varying by pixel),
// the others share the rest 2:1. Float32 values; planes in class order.
function mcProbs(f, C = 3) {
	const planes = Array.from({ length: C }, () => new Array(MC_W * MC_H));
	for (let i = 0; i < MC_W * MC_H; i++) {
		const x = i % MC_W;
		const y = Math.floor(i / MC_W);
		const k = f(x, y);
		const top = 0.55 + (0.4 * ((7 * x + 3 * y) % 10)) / 9;
		const others = [...Array(C).keys()].filter((c) => c !== k);
		planes[k][i] = Math.fround(top);
		others.forEach((c, j) => { planes[c][i] = Math.fround(((1 - top) * (j === 0 ? 2 : 1)) / 3); });
	}
	return planes;
}
const chw = (planes) => planes.flat();
const hwc = (planes) => Array.from({ length: planes[0].length * planes.length }, (_, j) => planes[j % planes.length][Math.floor(j / planes.length)]);
// Logits whose softmax is the planes: ln p plus a per-pixel offset, rounded to float32.
const mcLogits = (planes) => planes.map((pl) => pl.map((p, i) => Math.fround(Math.log(p) + 0.37 * ((i % MC_W) - Math.floor(i / MC_W)))));

// ---- the recomputation ----

const ratio = (a, b) => (b > 0 ? a / b : null);
function confusionOf(t, p, C) {
	const M = Array.from({ length: C }, () => new Array(C).fill(0));
	t.forEach((v, i) => { if (v !== IGN) M[v][p[i]]++; });
	return M;
}
function countsOf(M, k) {
	const C = M.length;
	const N = M.flat().reduce((a, b) => a + b, 0);
	const tp = M[k][k];
	let fp = -tp;
	let fn = -tp;
	for (let j = 0; j < C; j++) {
		fp += M[j][k];
		fn += M[k][j];
	}
	return { tp, fp, fn, tn: N - tp - fp - fn, N };
}
const OVERLAP = {
	dice: (s) => ratio(2 * s.tp, 2 * s.tp + s.fp + s.fn),
	iou: (s) => ratio(s.tp, s.tp + s.fp + s.fn),
	precision: (s) => ratio(s.tp, s.tp + s.fp),
	recall: (s) => ratio(s.tp, s.tp + s.fn),
	specificity: (s) => ratio(s.tn, s.tn + s.fp),
	accuracy: (s) => ratio(s.tp + s.tn, s.N),
};
const absent = (s) => s.tp + s.fp + s.fn === 0;
// One metric of class k under the default profile: null for a class absent from both masks.
function overlapOf(M, metric, k) {
	const s = countsOf(M, k);
	return absent(s) ? null : OVERLAP[metric](s);
}
const meanOf = (v) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
// The averaged value, as `average` says, over the classes include[k] keeps.
function averageOf(M, metric, perClass, average, include) {
	const ks = [...M.keys()].filter((k) => include[k]);
	if (average === 'macro') return meanOf(ks.map((k) => perClass[k]).filter((v) => v !== null));
	if (average === 'weighted') {
		const kept = ks.filter((k) => perClass[k] !== null);
		const w = kept.map((k) => countsOf(M, k).tp + countsOf(M, k).fn);
		return ratio(kept.reduce((a, k, j) => a + w[j] * perClass[k], 0), w.reduce((a, b) => a + b, 0));
	}
	// micro: the counts summed over the included classes present in the target or the prediction
	const sum = { tp: 0, fp: 0, fn: 0, tn: 0, N: 0 };
	for (const k of ks) {
		const s = countsOf(M, k);
		if (absent(s)) continue;
		for (const f of ['tp', 'fp', 'fn', 'tn', 'N']) sum[f] += s[f];
	}
	return OVERLAP[metric](sum);
}

// Surface distances of class k between target t and prediction p (ignored pixels in neither):
// boundary pixels are mask pixels with a 4-neighbour outside (the image border is outside).
function surfaceOf(t, p, k, w = MC_W, h = MC_H) {
	const edge = (m) => {
		const pts = [];
		const at = (x, y) => x >= 0 && y >= 0 && x < w && y < h && m[y * w + x];
		for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
			if (at(x, y) && !(at(x - 1, y) && at(x + 1, y) && at(x, y - 1) && at(x, y + 1))) pts.push([x, y]);
		}
		return pts;
	};
	const A = edge(t.map((v) => v === k));
	const B = edge(p.map((v, i) => v === k && t[i] !== IGN));
	if (!A.length || !B.length) return { hausdorff: null, hausdorff95: null, assd: null, surface_dice: A.length || B.length ? 0 : null };
	const dists = (P, Q) => P.map(([x, y]) => Math.min(...Q.map(([u, v]) => Math.hypot(x - u, y - v))));
	const ab = dists(A, B);
	const ba = dists(B, A);
	const pct = (v) => quantile([...v].sort((a, b) => a - b), 0.95);
	const all = [...ab, ...ba];
	return {
		hausdorff: Math.max(...all),
		hausdorff95: Math.max(pct(ab), pct(ba)),
		assd: all.reduce((a, b) => a + b, 0) / all.length,
		surface_dice: all.filter((d) => d <= 1).length / all.length,
	};
}
const SURFACE = ['hausdorff', 'hausdorff95', 'assd', 'surface_dice'];

// Cross-entropy over the valid pixels (PyTorch's mean with class weights and label smoothing)
// from per-class log-probabilities logp[c][i].
function crossEntropyOf(t, logp, weights, eps = 0) {
	const C = logp.length;
	const w = weights ?? new Array(C).fill(1);
	let num = 0;
	let den = 0;
	t.forEach((y, i) => {
		if (y === IGN) return;
		let smooth = 0;
		for (let c = 0; c < C; c++) smooth += w[c] * -logp[c][i];
		num += (1 - eps) * w[y] * -logp[y][i] + (eps / C) * smooth;
		den += w[y];
	});
	return num / den;
}
const logClip = (planes) => planes.map((pl) => pl.map((p) => Math.log(Math.min(Math.max(p, 1e-7), 1 - 1e-7))));
function logSoftmax(logits) {
	const n = logits[0].length;
	const out = logits.map(() => new Array(n));
	for (let i = 0; i < n; i++) {
		const m = Math.max(...logits.map((pl) => pl[i]));
		const lse = m + Math.log(logits.reduce((a, pl) => a + Math.exp(pl[i] - m), 0));
		logits.forEach((pl, c) => { out[c][i] = pl[i] - lse; });
	}
	return out;
}
const oneHot = (p, C) => Array.from({ length: C }, (_, c) => p.map((v) => (v === c ? 1 : 0)));
// The Dice loss (segloss: squared denominator, smooth 1e-6), the weighted mean over the included classes.
function diceLossOf(t, planes, include, weights, s = 1e-6) {
	let num = 0;
	let den = 0;
	planes.forEach((pl, c) => {
		if (!include[c]) return;
		let I = 0;
		let P2 = 0;
		let G = 0;
		t.forEach((y, i) => {
			if (y === IGN) return;
			I += y === c ? pl[i] : 0;
			P2 += pl[i] * pl[i];
			G += y === c ? 1 : 0;
		});
		const wc = weights ? weights[c] : 1;
		num += wc * (1 - (2 * I + s) / (P2 + G + s));
		den += wc;
	});
	return num / den;
}

const closeTo = (x, y, rel = 1e-9) => (x === null || y === null || x === undefined || y === undefined ? x === y : Math.abs(x - y) <= rel * Math.max(1, Math.abs(x), Math.abs(y)));

// Checks a multi-class answer against the recomputation: classes, confusion, per-class values
// (every class, the excluded background too), averages, pixel accuracy, losses.
// want: {names, M, t, p, metrics, average, include, losses: {key: value}, rel}
function mcCheck(b, want) {
	const C = want.names.length;
	const include = want.include ?? new Array(C).fill(true);
	const average = want.average ?? 'macro';
	if (json(b.classes.map((c) => c.name)) !== json(want.names)) return `classes ${json(b.classes)}`;
	if (want.confusion && json(b.confusion) !== json({ classes: want.names, matrix: want.M })) return `confusion ${json(b.confusion)}, expected ${json(want.M)}`;
	if (!want.confusion && 'confusion' in b) return 'a confusion matrix nobody asked for';
	for (const m of want.metrics) {
		if (m === 'pixel_accuracy') {
			const pa = ratio(want.M.reduce((a, row, k) => a + row[k], 0), want.M.flat().reduce((a, v) => a + v, 0));
			if (!closeTo(b.metrics[m], pa)) return `pixel_accuracy ${b.metrics[m]}, expected ${pa}`;
			if (m in b.per_class) return 'pixel_accuracy in per_class';
			continue;
		}
		const per = SURFACE.includes(m) ? want.names.map((_, k) => surfaceOf(want.t, want.p, k)[m]) : want.names.map((_, k) => overlapOf(want.M, m, k));
		const got = b.per_class[m];
		if (!got) return `no per_class.${m}`;
		// Every class, in class order, whatever include_background says (it decides only the averages).
		const listed = Object.keys(got);
		if (json(listed) !== json(want.names)) return `per_class.${m} lists ${json(listed)}, expected every class ${json(want.names)}`;
		for (const n of listed) {
			const k = want.names.indexOf(n);
			if (!closeTo(got[n], per[k], want.rel)) return `per_class.${m}.${n} = ${got[n]}, expected ${per[k]}`;
		}
		if (average === 'none') {
			if (m in b.metrics) return `metrics.${m} with average none`;
			continue;
		}
		// Surface distances have no pooled or weighted form: micro and weighted are macro for them (with a warning).
		const avg = averageOf(want.M, m, per, SURFACE.includes(m) && average !== 'none' ? 'macro' : average, include);
		if (!closeTo(b.metrics[m], avg, want.rel)) return `metrics.${m} = ${b.metrics[m]}, expected the ${average} ${avg}`;
	}
	for (const [k, v] of Object.entries(want.losses ?? {})) {
		if (!closeTo(b.losses[k], v, (want.lossRel ?? {})[k] ?? 1e-9)) return `losses.${k} = ${b.losses[k]}, expected ${v}`;
	}
	return true;
}

// 1 − IoU of each class present in the valid target, averaged: the Lovász-softmax of a hard prediction.
const lovaszHardOf = (M) => meanOf([...M.keys()].filter((k) => countsOf(M, k).tp + countsOf(M, k).fn > 0).map((k) => 1 - OVERLAP.iou(countsOf(M, k))));
// The distinct values of a row-major list in order of appearance.
const firstValues = (v) => [...new Set(v)];

async function multiclassPhase(port, catalogue) {
	const step = (c) => runCase(port, { method: 'POST', path: E, headers: JSON_T, status: 200, ...c });
	const MCM = catalogue.metrics.filter((e) => e.requests.includes('multiclass')).map((e) => e.name);
	const OVL = Object.keys(OVERLAP);
	const T = grid(mcT);
	const T0 = grid(mcT0);
	const P = grid(mcP);
	const tPng = greyPng(MC_W, MC_H, mcT);
	const t0Png = greyPng(MC_W, MC_H, mcT0);
	const pPng = greyPng(MC_W, MC_H, mcP);
	const M3 = confusionOf(T, P, 3);
	const M4 = confusionOf(T, P, 4);
	const probs = mcProbs(mcP);
	const logits = mcLogits(probs);
	const chwNpy = npyArray('<f4', [3, MC_H, MC_W], chw(probs));
	const hwcNpy = npyArray('<f4', [MC_H, MC_W, 3], hwc(probs));
	const logitsNpy = npyArray('<f4', [3, MC_H, MC_W], chw(logits));
	const names4 = [...NAMES, 'cyst'];
	const all3 = [true, true, true];

	// Grey PNG label maps with named classes, one of them absent from both (null, warned, out of the
	// averages), the ignore label, every multi-class metric and the confusion matrix.
	const labels = { target: b64(tPng), prediction: b64(pPng), classes: names4, ignore_index: IGN, losses: ['cross_entropy', 'dice', 'lovasz_softmax'],
		metrics: MCM, confusion: true };
	const want4 = { names: names4, M: M4, t: T, p: P, metrics: MCM, confusion: true, lossRel: { lovasz_softmax: 1e-6 },
		losses: { cross_entropy: crossEntropyOf(T, logClip(oneHot(P, 4))), dice: diceLossOf(T, oneHot(P, 4), [true, true, true, true]),
			lovasz_softmax: lovaszHardOf(M4) } };
	const first = await step({ name: 'multi-class: grey PNG label maps, a class absent from both, ignore 255, confusion', body: json(labels), schema: true,
		then: (b) => {
			const r = mcCheck(b, want4);
			if (r !== true) return r;
			return MCM.filter((m) => m !== 'pixel_accuracy').every((m) => b.warnings.some((w) => w.includes(`'${m}'`) && w.includes("'cyst'"))) ||
				`warnings ${json(b.warnings)}`;
		} });
	await step({ name: 'multi-class: an ignored pixel changes nothing (the prediction differs only there)', schema: true,
		body: json({ ...labels, prediction: b64(greyPng(MC_W, MC_H, mcPi)) }),
		then: (b) => !first || withoutTiming(b) === withoutTiming(first.body) || 'the answer changed' });
	{
		const f = multipart([['target', tPng], ['prediction', pPng], ['target_kind', 'labels'], ['prediction_kind', 'labels'], ['classes', names4.join(',')],
			['ignore_index', '255'], ['losses', labels.losses.join(',')], ['metrics', MCM.join(',')], ['confusion', 'true']]);
		await step({ name: 'multi-class: the same as multipart, kinds and text fields', headers: { 'Content-Type': f.type }, body: f.body,
			then: (b) => !first || withoutTiming(b) === withoutTiming(first.body) || `the answer differs from JSON's: ${withoutTiming(b).slice(0, 300)}` });
	}
	await step({ name: 'multi-class: identical label maps score 1 for every class (distances 0)', schema: true,
		body: json({ target: b64(t0Png), prediction: { png: b64(t0Png), kind: 'labels' }, classes: NAMES, metrics: MCM, losses: ['cross_entropy', 'dice', 'lovasz_softmax'] }),
		then: (b) => {
			for (const [m, per] of Object.entries(b.per_class)) {
				for (const [n, v] of Object.entries(per)) if (v !== (['hausdorff', 'hausdorff95', 'assd'].includes(m) ? 0 : 1)) return `per_class.${m}.${n} = ${v}`;
			}
			if (Object.keys(b.per_class).length !== MCM.length - 1 || b.metrics.pixel_accuracy !== 1) return json(b.metrics);
			return (b.losses.cross_entropy < 1e-6 && b.losses.dice < 1e-6 && b.losses.lovasz_softmax === 0 && b.warnings.length === 0) || json(b.losses);
		} });

	// Colour-coded label maps, read through the classes' colours; palette PNGs through their palette.
	const M0 = confusionOf(T0, P, 3);
	const colour = (f) => rgbPng(MC_W, MC_H, (x, y) => rgbOf(CLASSES[f(x, y)].color));
	await step({ name: 'multi-class: colour PNG label maps read by the classes\' colours', schema: true,
		body: json({ target: b64(colour(mcT0)), prediction: b64(colour(mcP)), classes: CLASSES, metrics: OVL, confusion: true }),
		then: (b) => mcCheck(b, { names: NAMES, M: M0, t: T0, p: P, metrics: OVL, confusion: true }) === true &&
			json(b.classes) === json(CLASSES) ? true : `${mcCheck(b, { names: NAMES, M: M0, t: T0, p: P, metrics: OVL, confusion: true })} ${json(b.classes)}` });
	const order = [2, 0, 1]; // palette entries: vessel's colour, background's, tumour's
	const palette = order.map((k) => rgbOf(CLASSES[k].color));
	const pal = (f) => palettePng(MC_W, MC_H, palette, (x, y) => order.indexOf(f(x, y)));
	await step({ name: 'multi-class: palette PNG label maps read through the palette\'s colours', schema: true,
		body: json({ target: b64(pal(mcT0)), prediction: b64(pal(mcP)), classes: CLASSES, metrics: ['iou'], confusion: true }),
		then: (b) => mcCheck(b, { names: NAMES, M: M0, t: T0, p: P, metrics: ['iou'], confusion: true }) });
	{
		const t = T0.map((k) => order.indexOf(k));
		const p = P.map((k) => order.indexOf(k));
		await step({ name: 'multi-class: palette PNG label maps without colours: read by palette index', schema: true,
			body: json({ target: b64(pal(mcT0)), prediction: b64(pal(mcP)), classes: NAMES, metrics: ['iou'], confusion: true }),
			then: (b) => mcCheck(b, { names: NAMES, M: confusionOf(t, p, 3), t, p, metrics: ['iou'], confusion: true }) });
	}
	// Integer .npy label maps: int32 target (with the ignore label), uint8 prediction.
	await step({ name: 'multi-class: int32 .npy target, uint8 .npy prediction', schema: true,
		body: json({ target: { npy: b64(npyArray('<i4', [MC_H, MC_W], T)) }, prediction: { npy: b64(npyArray('|u1', [MC_H, MC_W], P)) },
			classes: NAMES, ignore_index: IGN, metrics: [...OVL, 'pixel_accuracy'], confusion: true }),
		then: (b) => mcCheck(b, { names: NAMES, M: M3, t: T, p: P, metrics: [...OVL, 'pixel_accuracy'], confusion: true }) });

	// Per-class scores: probabilities (C, H, W) and (H, W, C), logits; the hard prediction is the argmax.
	const wantProbs = { names: NAMES, M: M3, t: T, p: P, metrics: OVL, confusion: true,
		losses: { cross_entropy: crossEntropyOf(T, logClip(probs)), dice: diceLossOf(T, probs, all3) } };
	const probBody = { target: b64(tPng), prediction: b64(chwNpy), classes: NAMES, ignore_index: IGN, losses: ['cross_entropy', 'dice'], metrics: OVL, confusion: true };
	const byChw = await step({ name: 'multi-class: probabilities (C, H, W) .npy, read without a kind', body: json(probBody), schema: true,
		then: (b) => mcCheck(b, wantProbs) });
	await step({ name: 'multi-class: probabilities (H, W, C) .npy answer the same', schema: true,
		body: json({ ...probBody, prediction: { npy: b64(hwcNpy), kind: 'probabilities', channel_axis: -1 } }),
		then: (b) => !byChw || withoutTiming(b) === withoutTiming(byChw.body) || withoutTiming(b).slice(0, 300) });
	await step({ name: 'multi-class: an ignored pixel changes nothing (probabilities)', schema: true,
		body: json({ ...probBody, prediction: b64(npyArray('<f4', [3, MC_H, MC_W], chw(mcProbs(mcPi)))) }),
		then: (b) => !byChw || withoutTiming(b) === withoutTiming(byChw.body) || 'the answer changed' });
	const wantLogits = { ...wantProbs, losses: { cross_entropy: crossEntropyOf(T, logSoftmax(logits)) } };
	const byLogits = await step({ name: 'multi-class: logits (C, H, W), kind logits: softmax over the classes', schema: true,
		body: json({ ...probBody, prediction: { npy: b64(logitsNpy), kind: 'logits', channel_axis: 0 }, losses: ['cross_entropy'] }),
		then: (b) => mcCheck(b, wantLogits) });
	await step({ name: 'multi-class: "logits": true is kind logits', schema: true,
		body: json({ ...probBody, prediction: b64(logitsNpy), logits: true, losses: ['cross_entropy'] }),
		then: (b) => !byLogits || withoutTiming(b) === withoutTiming(byLogits.body) || 'the answer differs' });
	const W3 = [0.5, 2, 1.5];
	await step({ name: 'multi-class: class_weights and label_smoothing (cross_entropy as PyTorch)', schema: true,
		body: json({ ...probBody, class_weights: W3, losses: [{ name: 'cross_entropy', label_smoothing: 0.1 }, 'dice', 'cross_entropy:as=ce_plain,eps=0.01'] }),
		then: (b) => mcCheck(b, { ...wantProbs, losses: { cross_entropy: crossEntropyOf(T, logClip(probs), W3, 0.1), dice: diceLossOf(T, probs, all3, W3),
			ce_plain: crossEntropyOf(T, logClip(probs), W3) } }) });
	await step({ name: 'multi-class: include_background false leaves the background out of the averages', schema: true,
		body: json({ ...probBody, include_background: false, metrics: [...OVL, 'hausdorff'] }),
		then: (b) => mcCheck(b, { ...wantProbs, metrics: [...OVL, 'hausdorff'], include: [false, true, true],
			losses: { dice: diceLossOf(T, probs, [false, true, true]) } }) });
	for (const average of ['macro', 'micro', 'weighted', 'none']) {
		await step({ name: `multi-class: average ${average}`, schema: true,
			body: json({ ...probBody, average, metrics: [...OVL, 'hausdorff95', 'pixel_accuracy'], losses: [] }),
			then: (b) => {
				const r = mcCheck(b, { ...wantProbs, losses: {}, average, metrics: [...OVL, 'hausdorff95', 'pixel_accuracy'] });
				if (r !== true) return r;
				if (average === 'none') return json(Object.keys(b.metrics)) === '["pixel_accuracy"]' || `metrics ${json(b.metrics)}`;
				const warned = b.warnings.includes("metric 'hausdorff95' is the macro average: surface distances have no pooled or weighted form");
				return warned === (average !== 'macro') || `${average}: warnings ${json(b.warnings)}`;
			} });
	}
	{
		const f = multipart([['target', tPng], ['prediction', chwNpy], ['prediction_kind', 'probabilities'], ['channel_axis', '0'], ['classes', json(CLASSES)],
			['ignore_index', '255'], ['class_weights', W3.join(',')], ['average', 'weighted'], ['include_background', 'false'], ['background', '0'],
			['profile', 'segloss'], ['losses', 'dice'], ['metrics', OVL.join(',')], ['confusion', 'false']]);
		await step({ name: 'multi-class: multipart probabilities, every multi-class field as text', headers: { 'Content-Type': f.type }, body: f.body,
			then: (b) => mcCheck(b, { ...wantProbs, confusion: false, average: 'weighted', include: [false, true, true],
				losses: { dice: diceLossOf(T, probs, [false, true, true], W3) } }) });
	}

	// A batch: per-item answers, one pair whose target holds a value that is no class.
	const T7 = grid((x, y) => ((x === 9 && y === 5) || (x === 17 && y === 12) ? 7 : mcT(x, y)));
	const bad7 = 'target has value 7 at row 5, column 9, which is neither a class id nor the ignore label; list it in "classes"';
	await step({ name: 'multi-class: a batch with a pair that fails', schema: true,
		body: json({ items: [{ target: b64(tPng), prediction: b64(pPng), item: 'a' }, { target: { npy: b64(npyArray('<i4', [MC_H, MC_W], T7)) }, prediction: b64(pPng) }],
			classes: NAMES, ignore_index: IGN, metrics: OVL, losses: ['cross_entropy'], confusion: true }),
		then: (b) => {
			const r = mcCheck(b.items[0], { names: NAMES, M: M3, t: T, p: P, metrics: OVL, confusion: true });
			if (r !== true) return r;
			if (b.count !== 2 || b.failed !== 1 || json(b.items[1]) !== json({ error: { status: 422, detail: `items[1]: ${bad7}` } })) return json(b.items[1]);
			return (closeTo(b.means.metrics.iou, b.items[0].metrics.iou) && closeTo(b.means.losses.cross_entropy, b.items[0].losses.cross_entropy)) || json(b.means);
		} });

	// Every profile: identical label maps score 1 for every class; cross-entropy is −ln(1 − 1e-7).
	for (const profile of spec.components.schemas.ProfileName.enum) {
		await step({ name: `multi-class: profile ${profile}, identical label maps`, schema: true,
			body: json({ target: b64(t0Png), prediction: b64(t0Png), classes: NAMES, profile, metrics: ['iou', 'dice', 'pixel_accuracy'], losses: ['cross_entropy'] }),
			then: (b) => {
				for (const m of ['iou', 'dice']) {
					if (!closeTo(b.metrics[m], 1, 1e-6)) return `metrics.${m} ${b.metrics[m]}`;
					for (const [n, v] of Object.entries(b.per_class[m])) if (!closeTo(v, 1, 1e-6)) return `per_class.${m}.${n} ${v}`;
				}
				return (b.metrics.pixel_accuracy === 1 && b.losses.cross_entropy >= 0 && b.losses.cross_entropy < 1e-6) || json(b.losses);
			} });
	}
	await step({ name: 'multi-class: profile mmseg ignores 255 by default', schema: true,
		body: json({ target: b64(tPng), prediction: b64(pPng), classes: NAMES, profile: 'mmseg', metrics: ['iou'], confusion: true }),
		then: (b) => json(b.confusion.matrix) === json(M3) || json(b.confusion) });
	await step({ name: 'multi-class: profile pytorch (ignore −100): 255 is no class', status: 422, schema: true,
		body: json({ target: b64(tPng), prediction: b64(pPng), classes: NAMES, profile: 'pytorch' }),
		then: (b) => b.detail === 'target has value 255 at row 0, column 20, which is neither a class id nor the ignore label; list it in "classes"' || b.detail });

	// The reading of masks in binary requests: hard masks, whatever the format.
	{
		const blob = (x, y) => (x >= 5 && x <= 12 && y >= 3 && y <= 9 ? 1 : 0);
		const target = b64(greyPng(MC_W, MC_H, (x, y) => 255 * blob(x, y)));
		const bin = (prediction, extra = {}) => json({ target, prediction, metrics: ['iou'], losses: ['dice'], ...extra });
		await step({ name: 'binary: a 0/1 grey PNG prediction is a hard mask, with a warning', schema: true, body: bin(b64(greyPng(MC_W, MC_H, blob))),
			then: (b) => (b.metrics.iou === 1 && b.warnings.some((w) => /read as a hard mask/.test(w))) || json(b) });
		await step({ name: 'binary: kind probability reads it as p = value/255', schema: true, body: bin({ png: b64(greyPng(MC_W, MC_H, blob)), kind: 'probability' }),
			then: (b) => (b.metrics.iou === 0 && b.warnings.length === 0) || json(b) });
		await step({ name: 'binary: a colour PNG of one colour is a hard mask', schema: true,
			body: bin(b64(rgbPng(MC_W, MC_H, (x, y) => (blob(x, y) ? [200, 30, 30] : [0, 0, 0])))), then: (b) => b.metrics.iou === 1 || json(b) });
		await step({ name: 'binary: an integer .npy of one non-zero value is a hard mask', schema: true,
			body: bin({ npy: b64(npyArray('<i4', [MC_H, MC_W], grid((x, y) => 5 * blob(x, y)))) }), then: (b) => b.metrics.iou === 1 || json(b) });
		await step({ name: 'binary: kind mask reads every non-zero value as foreground', schema: true,
			body: bin({ npy: b64(npyArray('|u1', [MC_H, MC_W], grid((x, y) => blob(x, y) * (1 + (x % 3))))), kind: 'mask' }), then: (b) => b.metrics.iou === 1 || json(b) });
		await step({ name: 'binary: confusion false needs no classes', schema: true, body: bin(b64(greyPng(MC_W, MC_H, blob)), { confusion: false }),
			then: (b) => !('confusion' in b) || json(b) });
		await step({ name: 'binary: a profile sets its parameter defaults (monai: Dice loss smooth 1e-5, gamma 1)', schema: true,
			body: bin(b64(npyArray('<f4', [MC_H, MC_W], grid((x, y) => (blob(x, y) ? 0.8 : 0.1)))), { profile: 'monai' }),
			then: (b) => {
				let I = 0;
				let Sp = 0;
				let Sy = 0;
				grid((x, y) => [blob(x, y), Math.fround(blob(x, y) ? 0.8 : 0.1)]).forEach(([y, p]) => { I += p * y; Sp += p; Sy += y; });
				const want = 1 - (2 * I + 1e-5) / (Sp + Sy + 1e-5);
				return closeTo(b.losses.dice, want) || `dice ${b.losses.dice}, expected ${want}`;
			} });
	}

	// The 422s of multi-class requests and of readings.
	const inv = (name, body, re, schema) => step({ name: `multi-class 422: ${name}`, status: 422, body: json(body), schema,
		then: (b) => (typeof re === 'string' ? b.detail === re : re.test(b.detail)) || b.detail });
	const mc = (extra) => ({ target: b64(tPng), prediction: b64(pPng), classes: NAMES, ignore_index: IGN, ...extra });
	const bin = (extra) => ({ target: b64(t0Png), prediction: b64(pPng), ...extra });
	const vals = firstValues(P).join(', ');
	await inv('a label map sent without classes (integer .npy)', bin({ prediction: { npy: b64(npyArray('|u1', [MC_H, MC_W], P)) } }),
		`prediction is an integer .npy holding the values ${vals}: a label map? give "classes" to score it per class, or "kind": "mask" to read every non-zero value as foreground`);
	await inv('a label map sent without classes (colour PNG)', bin({ prediction: b64(colour(mcP)) }),
		`prediction is a colour PNG holding the colours ${firstValues(P).map((k) => CLASSES[k].color).join(', ')}: a label map? give "classes" to score it per class, or "kind": "mask" to read every non-zero value as foreground`);
	await inv('a value that is no class, named with its pixel', mc({ target: { npy: b64(npyArray('<i4', [MC_H, MC_W], T7)) } }), bad7, true);
	await inv('a prediction value that is no class', mc({ prediction: b64(greyPng(MC_W, MC_H, (x, y) => (x === 2 && y === 14 ? 9 : mcP(x, y)))) }),
		'prediction has value 9 at row 14, column 2, which is not a class id; list it in "classes"', true);
	await inv('the ignore label unset: 255 is no class', mc({ ignore_index: null }),
		'target has value 255 at row 0, column 20, which is not a class id; list it in "classes" or set "ignore_index"', true);
	// The ignore label is no class of a prediction: the detail says so.
	await inv('a prediction holding the ignore label', mc({ prediction: b64(greyPng(MC_W, MC_H, (x, y) => (x === 2 && y === 14 ? IGN : mcP(x, y)))) }),
		'prediction has the ignore label 255 at row 14, column 2: a prediction holds class ids only (the ignore label marks target pixels)', true);
	// A class coloured as the ignore label reads (0x0000ff = 255) is refused, as a class id equal to it is.
	{
		const blue = [{ id: 0, name: 'background', color: '#000000' }, { id: 1, name: 'tumour', color: '#ff0000' }, { id: 2, name: 'vessel', color: '#0000ff' }];
		const png = rgbPng(MC_W, MC_H, (x, y) => rgbOf(blue[mcT0(x, y)].color));
		await inv('a class coloured as the ignore label', { target: b64(png), prediction: b64(png), classes: blue, ignore_index: IGN, metrics: ['iou'], confusion: true },
			"the ignore label 255 reads as the colour #0000ff of class 'vessel' in a colour-coded map; choose another ignore label", true);
	}
	await inv('a binary-only loss in a multi-class request', mc({ losses: ['dice', 'bce'] }),
		"loss 'bce' is for binary requests: it has no multi-class form (use cross_entropy, dice, focal, lovasz_softmax, ...)", false);
	await inv('a binary-only loss object in a multi-class request', mc({ losses: [{ name: 'shape_aware', w0: 5 }] }), /^loss 'shape_aware' is for binary requests/, false);
	await inv('a multi-class loss in a binary request', bin({ losses: ['cross_entropy'] }), 'loss \'cross_entropy\' is for multi-class requests: give "classes"', false);
	await inv('a multi-class metric in a binary request', bin({ metrics: [{ name: 'pixel_accuracy' }] }), /^metric 'pixel_accuracy' is for multi-class requests/, false);
	await inv('target kind labels without classes', bin({ target: { png: b64(t0Png), kind: 'labels' } }), 'target kind \'labels\' needs "classes" (a multi-class request)', false);
	await inv('prediction kind probabilities without classes', bin({ prediction: { npy: b64(chwNpy), kind: 'probabilities' } }),
		'prediction kind \'probabilities\' needs "classes" (a multi-class request)', false);
	await inv('per-class scores without classes', bin({ prediction: b64(chwNpy) }),
		'prediction has shape (3, 16, 24): per-class scores need "classes" (a multi-class request)', true);
	{
		// 3x3 label map and (3, 3, 3) logits: both the first and the last axis could be the classes.
		const A = [0, 1, 2, 1, 2, 0, 2, 0, 1];
		const v = Array.from({ length: 27 }, (_, j) => Math.fround(((j * 7) % 27) / 9 - 1.3));
		const argmax = (at) => Array.from({ length: 9 }, (_, i) => [0, 1, 2].reduce((best, k) => (at(k, i) > at(best, i) ? k : best), 0));
		const byFirst = argmax((k, i) => v[k * 9 + i]);
		const byLast = argmax((k, i) => v[i * 3 + k]);
		const body = (axis) => ({ target: b64(greyPng(3, 3, (x, y) => A[y * 3 + x])), prediction: { npy: b64(npyArray('<f4', [3, 3, 3], v)), kind: 'logits', ...axis },
			classes: 3, metrics: ['iou'], confusion: true });
		await inv('an ambiguous channel axis', body({}),
			'prediction has shape (3, 3, 3): both the first and the last axis could hold the 3 classes; set "channel_axis" to 0 (C, H, W) or -1 (H, W, C)', true);
		for (const [axis, hard] of [[0, byFirst], [-1, byLast]]) {
			await step({ name: `multi-class: channel_axis ${axis} settles it`, body: json(body({ channel_axis: axis })), schema: true,
				then: (b) => (json(b.confusion.matrix) === json(confusionOf(A, hard, 3)) && json(byFirst) !== json(byLast)) || json(b.confusion) });
		}
	}
	for (const [field, value] of [['ignore_index', 255], ['include_background', false], ['background', 0], ['class_weights', [1, 2]], ['average', 'micro'], ['confusion', true]]) {
		await inv(`${field} without classes`, bin({ [field]: value }), `"${field}" needs "classes": it applies to multi-class requests`, false);
	}
	await inv('threshold in a multi-class request', mc({ metrics: ['iou:threshold=0.3'] }), /^parameter 'threshold' of metric 'iou' applies to binary requests/, false);
	await inv('focal\'s alpha in a multi-class request', mc({ losses: [{ name: 'focal', alpha: 0.3 }] }), /^parameter 'alpha' of loss 'focal' applies to binary requests/, false);
	await inv('a float map in a multi-class request', mc({ maps: ['mask', 'weight'] }),
		'map \'weight\' is for binary requests: a multi-class request takes the maps mask and errors (for a label map\'s weight map use /v1/weight-map with "classes")', false);
	await inv('a map\'s threshold in a multi-class request', mc({ maps: ['errors', { name: 'mask', threshold: 0.3 }] }),
		"parameter 'threshold' of map 'mask' applies to binary requests: a multi-class prediction's classes are its labels or the argmax of its scores", false);
	await inv('class_weights of the wrong length', mc({ class_weights: [1, 2] }), '"class_weights" has 2 entries but there are 3 classes', true);
	await inv('the ignore label is a class id', mc({ ignore_index: 2 }), "the ignore label 2 is also the id of class 'vessel'", true);
	await inv('an unknown profile', mc({ profile: 'monia' }), "unknown profile 'monia' (did you mean 'monai'?)", false);
	await inv('kind mask in a multi-class request', mc({ prediction: { png: b64(pPng), kind: 'mask' } }), /^prediction kind 'mask' is for binary requests/, false);
	await inv('target kind instances in a multi-class request', mc({ target: { png: b64(tPng), kind: 'instances' } }),
		'with "classes" the target is a label map: its kind is labels, not instances', false);
	await inv('logits with kind labels', mc({ prediction: { npy: b64(npyArray('|u1', [MC_H, MC_W], P)), kind: 'labels', logits: true } }),
		'"logits": true means prediction kind logits, but its kind is labels');
	await inv('"logits": false with kind logits', bin({ logits: false, prediction: { npy: b64(npyArray('<f4', [MC_H, MC_W], new Array(MC_W * MC_H).fill(-2))), kind: 'logits' } }),
		'"logits": false says prediction is not logits, but its kind is logits: drop one of them');
	await inv('a class name with a dot', mc({ classes: ['background', 'tumour.core', 'vessel'] }), /^classes\[1\]: name 'tumour\.core' holds '\.'/, false);
	await inv('a class id out of range, named', mc({ classes: [{ id: 70000 }, { id: 1 }, { id: 2 }] }), 'classes[0].id must be an integer in [0, 65535], got 70000', false);
	await inv('a colour that is no #rrggbb, named', mc({ classes: [{ id: 0, color: 'red' }, { id: 1 }, { id: 2 }] }), 'classes[0].color must be "#rrggbb", got \'red\'', false);
	await inv('class_weights for generalized_dice, which no profile weighs', mc({ class_weights: [1, 2, 3], losses: ['generalized_dice'] }),
		/^profile 'segloss': loss 'generalized_dice' takes no class_weights \(.*\); drop "class_weights"$/, true);
	await inv('two classes of one id', mc({ classes: [{ id: 0 }, { id: 1, name: 'tumour' }, { id: 1, name: 'vessel' }] }), 'classes[1] and classes[2] share the id 1', true);
	await inv('more classes than --max-classes', mc({ classes: 2000 }), 'classes must number 1 to 1024, got 2000', true);
	await inv('a float (H, W) prediction with classes', mc({ prediction: b64(npyArray('<f4', [MC_H, MC_W], new Array(MC_W * MC_H).fill(0.5))) }),
		'prediction has shape (16, 24): with "classes" a prediction is a label map or per-class scores (C, H, W) or (H, W, C)', true);
	await inv('probabilities that do not sum to 1', mc({ prediction: b64(npyArray('<f4', [3, MC_H, MC_W], chw(probs).map((p) => p * 0.9))) }),
		/^prediction's class probabilities sum to 0\.9 at row 0, column 0; they must sum to 1 within 0\.001/, true);
	await inv('scores whose class axis does not have C entries', mc({ prediction: b64(chwNpy), classes: 4 }),
		'prediction has shape (3, 16, 24) but "classes" has 4: expected (4, H, W) or (H, W, 4)', true);
	await inv('channel_axis 1', mc({ prediction: { npy: b64(chwNpy), channel_axis: 1 } }), '"prediction.channel_axis" must be 0 (C, H, W) or -1 (H, W, C)', false);
	await inv('a colour PNG target without colours', mc({ target: b64(colour(mcT0)) }),
		'target is a colour PNG: give each class a "color" ("#rrggbb") to read it as a label map', true);
	{
		const f = multipart([['target', tPng], ['prediction', pPng], ['classes', '3'], ['ignore_index', '255'], ['confusion', '1']]);
		await step({ name: 'multi-class 422: multipart confusion=1', status: 422, headers: { 'Content-Type': f.type }, body: f.body,
			then: (b) => b.detail === '"confusion" must be true or false' || b.detail });
		const g = multipart([['target', tPng], ['prediction', pPng], ['classes', '3'], ['channel_axis', '1']]);
		await step({ name: 'multi-class 422: multipart channel_axis=1', status: 422, headers: { 'Content-Type': g.type }, body: g.body,
			then: (b) => /^form field "channel_axis" must be 0/.test(b.detail) || b.detail });
	}

	// The weight map of a label map: each class's connected components are the instances.
	{
		const cells = (x, y) => ((x >= 2 && x <= 5 && y >= 2 && y <= 5) || (x >= 14 && x <= 17 && y >= 2 && y <= 5) ? 1
			: x >= 8 && x <= 12 && y >= 9 && y <= 13 ? 2 : y >= 14 && x <= 3 ? IGN : 0);
		const target = greyPng(MC_W, MC_H, cells);
		const wm = (name, body, status, then, schema) => runCase(port, { name: `weight-map: ${name}`, method: 'POST', path: W, headers: JSON_T, body: json(body), status, then, schema });
		await wm('a label map: each class\'s components, the ignored pixels background', { target: { png: b64(target), kind: 'labels' }, classes: ['background', 'cell', 'nucleus'],
			ignore_index: IGN }, 200, (b) => (b.instances === 3 && b.width === MC_W) || `instances ${b.instances}`, true);
		await wm('the same target as binary instances (components)', { target: b64(target), instances: 'components' }, 200,
			(b) => b.instances === 4 || `instances ${b.instances}`, true);
		const f = multipart([['target', target], ['target_kind', 'labels'], ['classes', 'background,cell,nucleus'], ['ignore_index', '255'], ['background', '0']]);
		await runCase(port, { name: 'weight-map: multipart label map', method: 'POST', path: W, headers: { 'Content-Type': f.type }, body: f.body, status: 200,
			then: (b) => b.instances === 3 || `instances ${b.instances}` });
		await runCase(port, { name: 'weight-map: multipart label map, Accept image/png', method: 'POST', path: W, headers: { 'Content-Type': f.type, Accept: 'image/png' },
			body: f.body, status: 200 });
		await wm('instances labels with classes', { target: b64(target), classes: 3, ignore_index: IGN, instances: 'labels' }, 422,
			(b) => b.detail === 'with "classes" the instances are each class\'s connected components: "instances" must be auto or components' || b.detail, false);
		await wm('ignore_index without classes', { target: b64(target), ignore_index: IGN }, 422,
			(b) => b.detail === '"ignore_index" needs "classes": it applies to multi-class requests' || b.detail, false);
		await wm('target kind labels without classes', { target: { png: b64(target), kind: 'labels' } }, 422,
			(b) => b.detail === 'target kind \'labels\' needs "classes" (a multi-class request)' || b.detail, false);
		await wm('a value that is no class', { target: b64(target), classes: 2, ignore_index: IGN }, 422,
			(b) => b.detail === 'target has value 2 at row 9, column 8, which is neither a class id nor the ignore label; list it in "classes"' || b.detail, true);
	}

	// A multi-class job answers what /v1/evaluate answers.
	if (first) {
		const st = await submitAndWait(port, 'jobs: multi-class', { headers: JSON_T, body: json(labels), schema: true });
		if (st) passed += check('jobs: multi-class result', st.status === 'done' && withoutTiming(st.result) === withoutTiming(first.body),
			`status ${st.status}; ${withoutTiming(st.result ?? {}).slice(0, 300)}`) ? 1 : 0;
	}
}

// ---- multi-class runs: per-class means, dataset-pooled scores, items by a class, comparisons ----
//
// Items are recorded with their confusion matrices in the answers; GET /v1/runs/{run} must give
// each metric per class over the items' answers (count, mean, population std, min, max) and the
// pooled scores recomputed from the summed matrices; items carry their per-class values, sort by
// one class, and two runs compare class by class. One class has a 60-character name and one
// metric a 63-character alias, so per-class keys are longer than a metric key alone.

async function multiclassRunPhase(port) {
	const step = (c) => runCase(port, { method: 'GET', status: 200, ...c });
	const LONG = 'vessel_'.padEnd(60, 'x');
	const ALIAS = 'iou_'.padEnd(63, 'i');
	const names = ['background', 'tumour', LONG];
	const base = { classes: names, ignore_index: IGN, losses: ['cross_entropy'], metrics: ['iou', 'dice', 'hausdorff95', { name: 'iou', as: ALIAS }], confusion: true };
	const A = 'contract-mc-a';
	const B = 'contract-mc-b';
	const tPng = greyPng(MC_W, MC_H, mcT);
	const png = (f) => b64(greyPng(MC_W, MC_H, f));
	const stored = { [A]: new Map(), [B]: new Map() }; // item -> answer (per_class, confusion, losses, metrics)
	const keep = (run, item, b) => {
		stored[run].delete(item);
		stored[run].set(item, b);
	};
	const post = async (name, run, body, headers = JSON_T) => {
		const r = await step({ name, method: 'POST', path: E, headers, body, then: (b) => (b.run === run && (b.count ? b.failed === 0 : 'confusion' in b)) || json(b).slice(0, 200) });
		if (!r) return;
		if (r.body.items) r.body.items.forEach((it) => keep(run, it.item, it));
		else keep(run, r.body.item, r.body);
	};
	await post('multi-class runs: record (JSON)', A, json({ ...base, target: b64(tPng), prediction: png(mcP), run: A, item: 'shifted' }));
	{
		const f = multipart([['target', tPng], ['prediction', greyPng(MC_W, MC_H, mcT0)], ['classes', json(names)], ['ignore_index', '255'], ['losses', 'cross_entropy'],
			['metrics', json(base.metrics)], ['confusion', 'true'], ['run', A], ['item', 'perfect']]);
		await post('multi-class runs: record (multipart)', A, f.body, { 'Content-Type': f.type });
	}
	await post('multi-class runs: record a batch (label map and probabilities)', A, json({ ...base, run: A,
		items: [{ target: b64(tPng), prediction: png(mcP3), item: 'other' }, { target: b64(tPng), prediction: b64(npyArray('<f4', [3, MC_H, MC_W], chw(mcProbs(mcP)))), item: 'probs' }] }));
	await post('multi-class runs: record run b', B, json({ ...base, run: B,
		items: [{ target: b64(tPng), prediction: png(mcP3), item: 'shifted' }, { target: b64(tPng), prediction: png(mcP), item: 'perfect' }, { target: b64(tPng), prediction: png(mcT0), item: 'other' }] }));

	// What GET /v1/runs/{run} must say, from the stored answers.
	const expectRun = (run) => {
		const items = [...stored[run].values()];
		const perClass = {};
		for (const it of items) {
			for (const [m, per] of Object.entries(it.per_class)) {
				for (const [c, v] of Object.entries(per)) {
					if (v === null) continue;
					((perClass[m] ??= {})[c] ??= []).push(v);
				}
			}
		}
		const M = names.map((_, i) => names.map((__, j) => items.reduce((a, it) => a + it.confusion.matrix[i][j], 0)));
		const classes = {};
		const means = { iou: [], dice: [], precision: [], recall: [] };
		names.forEach((n, k) => {
			const s = countsOf(M, k);
			const v = { iou: ratio(s.tp, s.tp + s.fp + s.fn), dice: ratio(2 * s.tp, 2 * s.tp + s.fp + s.fn), precision: ratio(s.tp, s.tp + s.fp), recall: ratio(s.tp, s.tp + s.fn) };
			classes[n] = { tp: s.tp, fp: s.fp, fn: s.fn, ...v };
			for (const m of Object.keys(means)) if (v[m] !== null) means[m].push(v[m]);
		});
		const pooled = { classes, pixel_accuracy: ratio(M.reduce((a, row, k) => a + row[k], 0), M.flat().reduce((a, x) => a + x, 0)) };
		for (const m of Object.keys(means)) pooled[m] = meanOf(means[m]);
		return { perClass, pooled };
	};
	const sameRun = (b, run) => {
		const want = expectRun(run);
		if (json(Object.keys(b.per_class ?? {}).sort()) !== json(Object.keys(want.perClass).sort())) return `per_class keys ${json(Object.keys(b.per_class ?? {}))}`;
		for (const [m, per] of Object.entries(want.perClass)) {
			if (json(Object.keys(b.per_class[m]).sort()) !== json(Object.keys(per).sort())) return `per_class.${m} classes ${json(Object.keys(b.per_class[m]))}`;
			for (const [c, values] of Object.entries(per)) {
				const a = aggregate(values);
				for (const f of ['count', 'mean', 'std', 'min', 'max']) {
					if (!close(b.per_class[m][c][f], a[f])) return `per_class.${m}.${c}.${f} = ${b.per_class[m][c][f]}, expected ${a[f]}`;
				}
			}
		}
		if (json(Object.keys(b.pooled.classes)) !== json(names)) return `pooled classes ${json(Object.keys(b.pooled.classes))}`;
		for (const n of names) {
			for (const f of ['tp', 'fp', 'fn', 'iou', 'dice', 'precision', 'recall']) {
				if (!close(b.pooled.classes[n][f], want.pooled.classes[n][f])) return `pooled.classes.${n}.${f} = ${b.pooled.classes[n][f]}, expected ${want.pooled.classes[n][f]}`;
			}
		}
		for (const f of ['iou', 'dice', 'precision', 'recall', 'pixel_accuracy']) {
			if (!close(b.pooled[f], want.pooled[f])) return `pooled.${f} = ${b.pooled[f]}, expected ${want.pooled[f]}`;
		}
		return b.count === stored[run].size || `count ${b.count}`;
	};
	await step({ name: 'multi-class runs: per_class over the items and pooled from the summed confusion matrices', path: `/v1/runs/${A}`, then: (b) => sameRun(b, A) });

	// Replacing an item keeps both exact.
	await post('multi-class runs: record an item again', A, json({ ...base, target: b64(tPng), prediction: png(mcT0), run: A, item: 'other' }));
	await step({ name: 'multi-class runs: per_class and pooled after a replacement', path: `/v1/runs/${A}`, then: (b) => sameRun(b, A) });

	// Items: each with its non-null per-class values; sorted by one class's score.
	const itemPerClass = (it) => Object.fromEntries(Object.entries(it.per_class).map(([m, per]) => [m, Object.fromEntries(Object.entries(per).filter(([, v]) => v !== null))]));
	const items = await step({ name: 'multi-class runs: items carry per_class', path: `/v1/runs/${A}/items`,
		then: (b) => {
			for (const it of b.items) {
				const want = itemPerClass(stored[A].get(it.item));
				for (const [m, per] of Object.entries(want)) {
					for (const [c, v] of Object.entries(per)) if (!close(it.per_class?.[m]?.[c], v)) return `${it.item} per_class.${m}.${c} = ${it.per_class?.[m]?.[c]}, expected ${v}`;
					if (Object.keys(it.per_class[m]).length !== Object.keys(per).length) return `${it.item} per_class.${m} ${json(it.per_class[m])}`;
				}
			}
			return json(b.items.map((x) => x.item).sort()) === json([...stored[A].keys()].sort()) || json(b.items.map((x) => x.item));
		} });
	const byClass = (metric, cls, dir) => {
		const all = [...stored[A].keys()];
		const v = (n) => stored[A].get(n).per_class[metric][cls];
		const seqOf = (n) => items?.body.items.find((x) => x.item === n)?.seq ?? 0;
		const withV = all.filter((n) => v(n) !== null).sort((x, y) => (v(x) - v(y)) * (dir === 'desc' ? -1 : 1) || seqOf(x) - seqOf(y));
		return [...withV, ...all.filter((n) => v(n) === null)];
	};
	for (const [metric, cls, dir] of [['iou', 'tumour', 'asc'], ['iou', 'tumour', 'desc'], ['hausdorff95', LONG, 'desc'], [ALIAS, LONG, 'asc']]) {
		const q = `order_by=per_class.${metric}.${cls}&order=${dir}`;
		await step({ name: `multi-class runs: items by per_class.${metric.slice(0, 12)}.${cls.slice(0, 12)}, ${dir} (a ${`per_class.${metric}.${cls}`.length}-byte key)`, path: `/v1/runs/${A}/items?${q}`,
			then: (b) => json(b.items.map((x) => x.item)) === json(byClass(metric, cls, dir)) || `${json(b.items.map((x) => x.item))}, expected ${json(byClass(metric, cls, dir))}` });
	}
	await step({ name: 'multi-class runs: items by a misspelt class: 422 with the closest', path: `/v1/runs/${A}/items?order_by=per_class.iou.tumor`, status: 422,
		then: (b) => /^order_by 'per_class\.iou\.tumor' names no score of this run \(did you mean 'per_class\.iou\.tumour'\?\); it has /.test(b.detail) || b.detail });

	// Comparing two runs class by class.
	await step({ name: 'multi-class runs: compare per class', path: `/v1/runs/${A}/compare/${B}`,
		then: (b) => {
			const ea = expectRun(A).perClass;
			const eb = expectRun(B).perClass;
			for (const m of new Set([...Object.keys(ea), ...Object.keys(eb)])) {
				const classes = [...new Set([...Object.keys(ea[m] ?? {}), ...Object.keys(eb[m] ?? {})])].sort();
				if (json(Object.keys(b.per_class?.[m] ?? {}).sort()) !== json(classes)) return `per_class.${m} classes ${json(Object.keys(b.per_class?.[m] ?? {}))}`;
				for (const c of classes) {
					const k = b.per_class[m][c];
					const am = meanOf(ea[m]?.[c] ?? []);
					const bm = meanOf(eb[m]?.[c] ?? []);
					if (!close(k.a_mean, am) || !close(k.b_mean, bm) || !close(k.difference, am === null || bm === null ? null : bm - am)) return `per_class.${m}.${c} ${json(k)}`;
					const pairs = [...stored[A].keys()].filter((n) => stored[B].has(n)).map((n) => [stored[A].get(n).per_class[m][c], stored[B].get(n).per_class[m][c]])
						.filter(([x, y]) => x !== null && y !== null);
					const md = pairs.length ? pairs.reduce((a, [x, y]) => a + y - x, 0) / pairs.length : null;
					if (k.paired.count !== pairs.length || !close(k.paired.mean_difference, md)) return `per_class.${m}.${c}.paired ${json(k.paired)}, expected ${pairs.length} ${md}`;
				}
			}
			return (json(Object.keys(b.metrics).sort()) === json(['dice', 'hausdorff95', 'iou', ALIAS].sort())) || json(Object.keys(b.metrics));
		} });
	await step({ name: 'multi-class runs: delete', method: 'DELETE', path: `/v1/runs/${B}`, status: 204 });
}

// ---- categorical maps: mask and errors as .npy, PNG and COCO RLE -------------------------
//
// The maps are decoded here (a .npy reader, a PNG reader for grey and palette images, COCO's
// compressed counts) and compared pixel for pixel with what the test's own masks say they
// must hold: the hard prediction, and each pixel's error class.

// A .npy file's dtype, shape and values (uint8, uint16, int32, float32 little-endian, C order).
function readNpy(buf) {
	if (!buf.subarray(0, 6).equals(Buffer.from('\x93NUMPY', 'latin1'))) throw new Error('not a .npy file');
	const hlen = buf[6] === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
	const start = buf[6] === 1 ? 10 : 12;
	const header = buf.toString('latin1', start, start + hlen);
	const descr = /'descr': '([^']+)'/.exec(header)[1];
	const shape = /'shape': \(([^)]*)\)/.exec(header)[1].split(',').map((x) => x.trim()).filter(Boolean).map(Number);
	if (/'fortran_order': True/.test(header)) throw new Error('Fortran order');
	const data = buf.subarray(start + hlen);
	const n = shape.reduce((a, b) => a * b, 1);
	const read = { '|u1': (i) => data[i], '<u2': (i) => data.readUInt16LE(2 * i), '<i4': (i) => data.readInt32LE(4 * i), '<f4': (i) => data.readFloatLE(4 * i) }[descr];
	if (!read) throw new Error(`dtype ${descr}`);
	return { descr, shape, values: Array.from({ length: n }, (_, i) => read(i)) };
}

// A non-interlaced grey (8 or 16 bits) or palette (8 bits) PNG: its values, palette and alphas.
function readPng(buf) {
	if (!buf.subarray(0, 8).equals(PNG_SIG)) throw new Error('not a PNG');
	let w = 0, h = 0, depth = 0, type = 0, palette = null, alpha = null;
	const idat = [];
	for (let at = 8; at + 12 <= buf.length;) {
		const n = buf.readUInt32BE(at);
		const t = buf.toString('latin1', at + 4, at + 8);
		const d = buf.subarray(at + 8, at + 8 + n);
		if (t === 'IHDR') {
			[w, h, depth, type] = [d.readUInt32BE(0), d.readUInt32BE(4), d[8], d[9]];
			if (d[12] !== 0) throw new Error('interlaced');
		} else if (t === 'PLTE') palette = Array.from({ length: n / 3 }, (_, k) => [d[3 * k], d[3 * k + 1], d[3 * k + 2]]);
		else if (t === 'tRNS') alpha = [...d];
		else if (t === 'IDAT') idat.push(d);
		at += 12 + n;
	}
	if (!((type === 0 && (depth === 8 || depth === 16)) || (type === 3 && depth === 8))) throw new Error(`colour type ${type}, depth ${depth}`);
	const bpp = depth / 8;
	const stride = w * bpp;
	const raw = zlib.inflateSync(Buffer.concat(idat));
	const out = Buffer.alloc(stride * h);
	for (let y = 0; y < h; y++) {
		const f = raw[y * (stride + 1)];
		for (let i = 0; i < stride; i++) {
			const x = raw[y * (stride + 1) + 1 + i];
			const a = i >= bpp ? out[y * stride + i - bpp] : 0;
			const b = y > 0 ? out[(y - 1) * stride + i] : 0;
			const c = i >= bpp && y > 0 ? out[(y - 1) * stride + i - bpp] : 0;
			const p = a + b - c;
			const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
			out[y * stride + i] = (x + [0, a, b, (a + b) >> 1, paeth][f]) & 255;
		}
	}
	const values = Array.from({ length: w * h }, (_, i) => (bpp === 2 ? out.readUInt16BE(2 * i) : out[i]));
	return { w, h, depth, type, palette, alpha, values };
}

// COCO RLE (cocoapi maskApi.c): the counts of the runs of a row-major 0/1 mask read in
// column-major order, starting with 0s (rleEncode); their compressed string (rleToString)
// and back (rleFrString); a mask from counts (rleDecode).
function cocoCounts(m, w, h) {
	const counts = [];
	let cur = 0;
	let run = 0;
	for (let x = 0; x < w; x++) {
		for (let y = 0; y < h; y++) {
			const v = m[y * w + x] ? 1 : 0;
			if (v !== cur) {
				counts.push(run);
				run = 0;
				cur = v;
			}
			run++;
		}
	}
	counts.push(run);
	return counts;
}
function cocoString(cnts) {
	let s = '';
	cnts.forEach((cnt, i) => {
		let x = i > 2 ? cnt - cnts[i - 2] : cnt;
		for (let more = true; more;) {
			let c = x & 0x1f;
			x = Math.floor(x / 32);
			more = c & 0x10 ? x !== -1 : x !== 0;
			if (more) c |= 0x20;
			s += String.fromCharCode(c + 48);
		}
	});
	return s;
}
function cocoFromString(s) {
	const cnts = [];
	for (let p = 0; p < s.length;) {
		let x = 0;
		let k = 0;
		let c = 0;
		for (let more = true; more; p++, k++) {
			c = s.charCodeAt(p) - 48;
			x += (c & 0x1f) * 2 ** (5 * k);
			more = (c & 0x20) !== 0;
		}
		if (c & 0x10) x -= 2 ** (5 * k);
		if (cnts.length > 2) x += cnts[cnts.length - 2];
		cnts.push(x);
	}
	return cnts;
}
function cocoMask(cnts, w, h) {
	const m = new Array(w * h).fill(0);
	let i = 0;
	cnts.forEach((c, k) => {
		for (let j = 0; j < c; j++, i++) if (k % 2) m[(i % h) * w + Math.floor(i / h)] = 1;
	});
	if (i !== w * h) throw new Error(`counts cover ${i} pixels, not ${w * h}`);
	return m;
}

// The legends the spec gives (ErrorsLegend), value by value.
const LEGEND_BINARY = [['true_negative', '#00000000'], ['true_positive', '#009e73ff'], ['false_positive', '#d55e00ff'], ['false_negative', '#0072b2ff']]
	.map(([name, color], value) => ({ value, name, color }));
const LEGEND_MULTI = [['background_right', '#00000000'], ['class_right', '#009e73ff'], ['predicted_on_background', '#d55e00ff'], ['wrong_class', '#0072b2ff'],
	['ignored', '#999999a0']].map(([name, color], value) => ({ value, name, color }));

// Checks one categorical map object against the values it must hold (row-major, w x h): .npy
// and PNG pixel for pixel (a PNG mask of 0/1 values holds 0/255; an errors PNG is a palette
// whose colours and alphas are the legend's), COCO RLE one mask per key of rleKeys (value -> key).
// Returns true or what differs.
function categoricalIs(m, want, w, h, { format, legend, rleKeys, dtype = 'uint8', grey255 = false }) {
	const diff = (got) => {
		const i = got.findIndex((v, k) => v !== want[k]);
		return i < 0 ? null : `pixel (${i % w}, ${Math.floor(i / w)}) is ${got[i]}, expected ${want[i]}`;
	};
	if (m?.format !== format) return `format ${m?.format}, expected ${format}`;
	if (json(m.legend) !== json(legend)) return `legend ${json(m.legend)}, expected ${json(legend)}`;
	if (format === 'coco_rle') {
		if (json(Object.keys(m.rle)) !== json(Object.values(rleKeys))) return `rle keys ${json(Object.keys(m.rle))}, expected ${json(Object.values(rleKeys))}`;
		for (const [value, key] of Object.entries(rleKeys)) {
			const r = m.rle[key];
			if (json(r.size) !== json([h, w])) return `rle ${key} size ${json(r.size)}`;
			const got = cocoMask(cocoFromString(r.counts), w, h);
			const d = got.findIndex((v, k) => v !== (want[k] === Number(value) ? 1 : 0));
			if (d >= 0) return `rle ${key}: pixel (${d % w}, ${Math.floor(d / w)}) is ${got[d]}`;
			if (cocoString(cocoCounts(got, w, h)) !== r.counts) return `rle ${key}: counts ${r.counts} are not as pycocotools writes them`;
		}
		return true;
	}
	if (m.dtype !== dtype || json(m.shape) !== json([h, w])) return `dtype ${m.dtype}, shape ${json(m.shape)}, expected ${dtype} [${h}, ${w}]`;
	const raw = Buffer.from(m.data, 'base64');
	if (format === 'npy') {
		const a = readNpy(raw);
		if (a.descr !== (dtype === 'uint8' ? '|u1' : '<u2') || json(a.shape) !== json([h, w])) return `.npy ${a.descr} ${json(a.shape)}`;
		return diff(a.values) ?? true;
	}
	const p = readPng(raw);
	if (p.w !== w || p.h !== h || p.depth !== (dtype === 'uint8' ? 8 : 16)) return `PNG ${p.w}x${p.h} depth ${p.depth}`;
	if (legend) {
		if (p.type !== 3) return `errors PNG of colour type ${p.type}, not a palette`;
		const colours = p.palette.map((rgb, k) => `#${[...rgb, p.alpha?.[k] ?? 255].map((v) => v.toString(16).padStart(2, '0')).join('')}`);
		if (json(colours) !== json(legend.map((e) => e.color))) return `palette ${json(colours)}, expected the legend's ${json(legend.map((e) => e.color))}`;
		return diff(p.values) ?? true;
	}
	if (p.type !== 0) return `mask PNG of colour type ${p.type}, not grey`;
	return diff(grey255 ? p.values.map((v) => (v === 255 ? 1 : v === 0 ? 0 : -1)) : p.values) ?? true;
}

async function mapsPhase(port) {
	const step = (c) => runCase(port, { method: 'POST', path: E, headers: JSON_T, status: 200, ...c });
	// Binary: a rectangle target; a prediction whose values put the two thresholds in different places.
	const inT = (x, y) => x >= 5 && x <= 14 && y >= 3 && y <= 10;
	const prob = (x, y) => Math.fround(inT(x - 2, y) ? 0.45 + 0.1 * ((x + y) % 3) : (x + 2 * y) % 7 === 0 ? 0.35 : 0.05);
	const P = grid(prob);
	const Tb = grid((x, y) => (inT(x, y) ? 1 : 0));
	const hard = (thr) => P.map((p) => (p >= Math.fround(thr) ? 1 : 0));
	const errorsOf = (a) => a.map((v, i) => (v && Tb[i] ? 1 : v ? 2 : Tb[i] ? 3 : 0));
	const body = (map_format) => json({ target: b64(greyPng(MC_W, MC_H, (x, y) => (inT(x, y) ? 255 : 0))), prediction: { npy: b64(npyArray('<f4', [MC_H, MC_W], P)) },
		metrics: ['iou'], losses: [], maps: ['mask', 'errors', 'mask:threshold=0.3,as=mask03', { name: 'errors', threshold: 0.3, as: 'errors03' }], map_format });
	for (const format of ['npy', 'png', 'coco_rle']) {
		await step({ name: `binary maps mask and errors as ${format}, at two thresholds`, body: body(format), schema: true,
			then: (b) => {
				for (const [key, thr] of [['', 0.5], ['03', 0.3]]) {
					const r1 = categoricalIs(b.maps[`mask${key}`], hard(thr), MC_W, MC_H, { format, rleKeys: { 1: 'mask' }, grey255: true });
					if (r1 !== true) return `mask${key}: ${r1}`;
					const r2 = categoricalIs(b.maps[`errors${key}`], errorsOf(hard(thr)), MC_W, MC_H,
						{ format, legend: LEGEND_BINARY, rleKeys: { 1: 'true_positive', 2: 'false_positive', 3: 'false_negative' } });
					if (r2 !== true) return `errors${key}: ${r2}`;
				}
				return json(hard(0.5)) !== json(hard(0.3)) || 'the two thresholds give one mask: the test proves nothing';
			} });
	}
	// The PNG mask reads back as the same prediction (a hard mask, 0/255).
	const maskPng = await step({ name: 'binary map mask as PNG', body: body('png') });
	if (maskPng) {
		await step({ name: 'binary map mask sent back as the prediction scores as the probabilities did', schema: true,
			body: json({ target: b64(greyPng(MC_W, MC_H, (x, y) => (inT(x, y) ? 255 : 0))), prediction: maskPng.body.maps.mask.data, metrics: ['iou', 'dice'], losses: [] }),
			then: (b) => (b.metrics.iou === maskPng.body.metrics.iou && b.warnings.length === 0) || `iou ${b.metrics.iou}, expected ${maskPng.body.metrics.iou}` });
	}

	// Multi-class: the hard prediction as class ids (uint8, and uint16 for ids over 255), the errors
	// with the ignored pixels; from a label map and from per-class probabilities (their argmax).
	const T = grid(mcT);
	const Pm = grid(mcP);
	const errorsMc = Pm.map((p, i) => (T[i] === IGN ? 4 : p === T[i] ? (T[i] === 0 ? 0 : 1) : T[i] === 0 ? 2 : 3));
	const present = (v, keys) => Object.fromEntries([...new Set(v)].sort((a, b) => a - b).map((k) => [k, keys[k]]));
	const mcBody = (extra) => json({ target: b64(greyPng(MC_W, MC_H, mcT)), prediction: b64(greyPng(MC_W, MC_H, mcP)), classes: NAMES, ignore_index: IGN,
		metrics: ['iou'], losses: [], maps: ['mask', 'errors'], ...extra });
	const MC_RLE_ERRORS = { 1: 'class_right', 2: 'predicted_on_background', 3: 'wrong_class', 4: 'ignored' };
	for (const format of ['npy', 'png', 'coco_rle']) {
		await step({ name: `multi-class maps mask and errors as ${format}`, body: mcBody({ map_format: format }), schema: true,
			then: (b) => {
				const r1 = categoricalIs(b.maps.mask, Pm, MC_W, MC_H, { format, rleKeys: present(Pm, NAMES) });
				if (r1 !== true) return `mask: ${r1}`;
				const r2 = categoricalIs(b.maps.errors, errorsMc, MC_W, MC_H, { format, legend: LEGEND_MULTI, rleKeys: MC_RLE_ERRORS });
				return r2 === true || `errors: ${r2}`;
			} });
	}
	await step({ name: 'multi-class map mask of per-class probabilities: their argmax', schema: true,
		body: mcBody({ prediction: b64(npyArray('<f4', [3, MC_H, MC_W], chw(mcProbs(mcP)))), maps: [{ name: 'mask', as: 'argmax' }] }),
		then: (b) => categoricalIs(b.maps.argmax, Pm, MC_W, MC_H, { format: 'npy' }) });
	{
		// Sparse ids: the mask holds the ids themselves, 16 bits wide when one is over 255.
		const ids = [0, 7, 300];
		const classes = ids.map((id, k) => ({ id, name: NAMES[k] }));
		const byId = (f) => b64(npyArray('<i4', [MC_H, MC_W], grid((x, y) => (f(x, y) === IGN ? IGN : ids[f(x, y)]))));
		const want = Pm.map((k) => ids[k]);
		for (const format of ['npy', 'png', 'coco_rle']) {
			await step({ name: `multi-class map mask of class ids up to 300 as ${format}`, schema: true,
				body: mcBody({ target: { npy: byId(mcT) }, prediction: { npy: byId(mcP) }, classes, map_format: format, maps: ['mask'] }),
				then: (b) => categoricalIs(b.maps.mask, want, MC_W, MC_H, { format, dtype: 'uint16', rleKeys: present(want, Object.fromEntries(ids.map((id, k) => [id, NAMES[k]]))) }) });
		}
	}
	// The multipart form takes map_format coco_rle too.
	{
		const f = multipart([['target', greyPng(MC_W, MC_H, mcT)], ['prediction', greyPng(MC_W, MC_H, mcP)], ['classes', NAMES.join(',')], ['ignore_index', '255'],
			['metrics', 'iou'], ['maps', 'errors'], ['map_format', 'coco_rle']]);
		await step({ name: 'multi-class map errors as COCO RLE, multipart', headers: { 'Content-Type': f.type }, body: f.body,
			then: (b) => categoricalIs(b.maps.errors, errorsMc, MC_W, MC_H, { format: 'coco_rle', legend: LEGEND_MULTI, rleKeys: MC_RLE_ERRORS }) });
	}
	// Without maps the answer has "maps": {} (the schema requires it); a batch item has none.
	await step({ name: 'multi-class answer without maps: "maps": {}', body: mcBody({ maps: [] }), schema: true,
		then: (b) => json(b.maps) === '{}' || json(b.maps) });

	// The 422s.
	const inv = (name, b, detail, schema) => step({ name: `maps 422: ${name}`, status: 422, body: json(b), schema, then: (r) => r.detail === detail || r.detail });
	const bin = { target: b64(greyPng(MC_W, MC_H, (x, y) => (inT(x, y) ? 255 : 0))), prediction: { npy: b64(npyArray('<f4', [MC_H, MC_W], P)) }, metrics: ['iou'] };
	await inv('a float map as COCO RLE', { ...bin, maps: ['mask', 'bce'], map_format: 'coco_rle' },
		'map \'bce\' holds floats, which have no COCO RLE form: "map_format": "coco_rle" is for the maps mask and errors', false);
	await inv('range on the mask map', { ...bin, maps: [{ name: 'mask', range: [0, 1] }], map_format: 'png' },
		'map \'mask\' has no colour scale: "range" is for the float maps weight and bce', false);
	await inv('range on the errors map (spec string)', { ...bin, maps: ['errors:range=[0,3]'], map_format: 'png' },
		'map \'errors\' has no colour scale: "range" is for the float maps weight and bce', false);
	await inv('an unknown map_format', { ...bin, maps: ['mask'], map_format: 'rle' }, 'map_format must be "npy", "png" or "coco_rle", got "rle"', false);
	await inv('a float map in a multi-class request, as COCO RLE', JSON.parse(mcBody({ maps: ['bce'], map_format: 'coco_rle' })),
		'map \'bce\' holds floats, which have no COCO RLE form: "map_format": "coco_rle" is for the maps mask and errors', false);
	await inv('a map\'s threshold in a multi-class request (spec string)', JSON.parse(mcBody({ maps: ['errors:threshold=0.4'] })),
		"parameter 'threshold' of map 'errors' applies to binary requests: a multi-class prediction's classes are its labels or the argmax of its scores", false);
}

// ---- annotation tools' exports as masks -------------------------------------------------------
//
// Each form is written here from the test's own label maps (COCO RLE as rleEncode and
// rleToString write it, COCO polygons of rectangles, Label Studio brush streams packed as
// @thi.ng/rle-pack does, CVAT points and XML attributes) and must evaluate exactly as the same
// mask sent as a PNG: in JSON bodies, as multipart parts of JSON text, binary and multi-class
// (classes matched by id and by name), and for weight maps.

// A Label Studio brush result's rle: the W x H x 4 RGBA canvas (R = G = B = A = alpha) packed with
// word size 8 and run sizes [3, 4, 8, 16], one repeat record per run, padded to a byte.
function lsBrush(alpha, w, h) {
	const bits = [];
	const put = (v, n) => { for (let i = n - 1; i >= 0; i--) bits.push(Math.floor(v / 2 ** i) % 2); };
	const sizes = [3, 4, 8, 16];
	const bytes = alpha.flatMap((a) => [a, a, a, a]);
	put(bytes.length, 32);
	put(7, 5);
	sizes.forEach((s) => put(s - 1, 4));
	for (let i = 0; i < bytes.length;) {
		let j = i;
		while (j < bytes.length && bytes[j] === bytes[i] && j - i < 65536) j++;
		const t = sizes.findIndex((s) => j - i - 1 < 2 ** s);
		put(1, 1);
		put(t, 2);
		put(j - i - 1, sizes[t]);
		put(bytes[i], 8);
		i = j;
	}
	while (bits.length % 8) bits.push(0);
	return Array.from({ length: bits.length / 8 }, (_, k) => bits.slice(8 * k, 8 * k + 8).reduce((a, b) => 2 * a + b, 0));
}

// CVAT mask shape points: row-major run lengths inside the tight box, starting with 0s, then
// left, top, right, bottom (inclusive).
function cvatBox(m, w, h) {
	let [l, t, r, b] = [w, h, -1, -1];
	m.forEach((v, i) => {
		if (!v) return;
		const x = i % w;
		const y = Math.floor(i / w);
		[l, t, r, b] = [Math.min(l, x), Math.min(t, y), Math.max(r, x), Math.max(b, y)];
	});
	const counts = [];
	let cur = 0;
	let run = 0;
	for (let y = t; y <= b; y++) {
		for (let x = l; x <= r; x++) {
			const v = m[y * w + x] ? 1 : 0;
			if (v !== cur) {
				counts.push(run);
				run = 0;
				cur = v;
			}
			run++;
		}
	}
	counts.push(run);
	return { counts, l, t, r, b };
}
const cvatPoints = (m, w, h) => {
	const { counts, l, t, r, b } = cvatBox(m, w, h);
	return [...counts, l, t, r, b];
};

async function exportsPhase(port, limitsPort) {
	const step = (c) => runCase(port, { method: 'POST', path: E, headers: JSON_T, status: 200, ...c });
	const W_ = MC_W;
	const H_ = MC_H;
	const T0 = grid(mcT0); // tumour (1) and vessel (2) rectangles on background
	const P = grid(mcP); // the prediction: both moved, a stray tumour pixel, a stray vessel block
	const of = (v, k) => v.map((x) => (x === k ? 1 : 0));
	const any = (v) => v.map((x) => (x ? 1 : 0));
	// The rectangles of the target, as pixel boxes [x0, y0, x1, y1] inclusive.
	const RECT = { 1: [3, 2, 10, 7], 2: [12, 9, 21, 13] };
	const poly = ([x0, y0, x1, y1]) => [x0, y0, x1 + 1, y0, x1 + 1, y1 + 1, x0, y1 + 1];
	const rleOf = (m, compressed = true) => ({ size: [H_, W_], counts: compressed ? cocoString(cocoCounts(m, W_, H_)) : cocoCounts(m, W_, H_) });
	const lsResult = (m, name) => ({ id: `r${name}`, type: 'brushlabels', from_name: 'tag', to_name: 'image', original_width: W_, original_height: H_,
		value: { format: 'rle', rle: lsBrush(m.map((v) => (v ? 255 : 0)), W_, H_), ...(name ? { brushlabels: [name] } : {}) } });
	const cvatShape = (m, extra) => ({ type: 'mask', frame: 0, z_order: 0, points: cvatPoints(m, W_, H_), ...extra });
	const cvat = (shapes) => ({ cvat: { width: W_, height: H_, shapes } });
	const cvatXml = (m, extra) => {
		const { counts, l, t, r, b } = cvatBox(m, W_, H_);
		return { rle: counts.join(', '), left: String(l), top: String(t), width: String(r - l + 1), height: String(b - t + 1), ...extra };
	};

	// Binary: every form of the target (tumour and vessel, two objects) against the label PNG
	// holding them as instances 1 and 2 (shape_aware's weight map is computed on those instances).
	// COCO polygons are one object (pycocotools unites an object's polygons), so they come after.
	const twoPolygons = { coco_polygons: [poly(RECT[1]), poly(RECT[2])], width: W_, height: H_ };
	const pred = { npy: b64(npyArray('<f4', [H_, W_], grid((x, y) => Math.fround(mcP(x, y) ? 0.6 + 0.05 * (x % 5) : 0.1 + 0.02 * (y % 4))))) };
	const binBase = { prediction: pred, metrics: ['iou', 'hausdorff95', 'surface_dice'], losses: ['bce', 'shape_aware'] };
	const ref = await step({ name: 'exports: binary reference, the target as a label PNG', body: json({ target: b64(greyPng(W_, H_, mcT0)), ...binBase }), schema: true });
	// One object of two separate parts is one instance: the reference is the union as a 0/255 PNG
	// read as one instance (shape_aware's instances=labels; the default would find two components).
	const oneRef = await step({ name: 'exports: binary reference, the union as one instance',
		body: json({ target: b64(greyPng(W_, H_, (x, y) => (mcT0(x, y) ? 255 : 0))), ...binBase, losses: ['bce', 'shape_aware:instances=labels'] }) });
	const same = (r) => (b) => !r || withoutTiming(b) === withoutTiming(r.body) || `the answer differs from the PNG's: ${withoutTiming(b).slice(0, 300)}`;
	const binaryForms = {
		'coco_rle, a list of uncompressed RLEs with width and height': { coco_rle: [rleOf(of(T0, 1), false), rleOf(of(T0, 2), false)], width: W_, height: H_ },
		'coco, an RLE and a polygon annotation': { coco: { width: W_, height: H_, annotations: [
			{ id: 1, image_id: 3, category_id: 1, iscrowd: 0, area: 48, bbox: [3, 2, 8, 6], segmentation: rleOf(of(T0, 1)) },
			{ id: 2, image_id: 3, category_id: 2, iscrowd: false, segmentation: [poly(RECT[2])], score: 0.9 }] } },
		'labelstudio, a list of results and a threshold': { labelstudio: [lsResult(of(T0, 1), 'tumour'), lsResult(of(T0, 2), 'vessel')], threshold: 200 },
		'cvat, points': { cvat: { width: W_, height: H_, shapes: [cvatShape(of(T0, 1), { label: 'tumour' }), cvatShape(of(T0, 2), { label_id: 2, z_order: 1 })] } },
		'cvat, XML attributes': { cvat: { width: W_, height: H_, shapes: [cvatXml(of(T0, 1), { label: 'tumour' }), cvatXml(of(T0, 2), { label: 'vessel' })] } },
	};
	const oneObjectForms = {
		'coco_rle, one compressed RLE (one object)': { coco_rle: rleOf(any(T0)) },
		'coco_polygons (one object of two polygons)': twoPolygons,
		'coco, one crowd annotation': { coco: { width: W_, height: H_, annotations: [{ iscrowd: 1, segmentation: rleOf(any(T0), false) }] } },
		'labelstudio, one result (one object)': { labelstudio: lsResult(any(T0), 'thing') },
		'cvat, one shape (one object)': cvat([cvatShape(any(T0), { label: 'thing' })]),
	};
	for (const [forms, r] of [[binaryForms, ref], [oneObjectForms, oneRef]]) {
		for (const [form, mask] of Object.entries(forms)) {
			await step({ name: `exports: binary target, ${form}`, body: json({ target: mask, ...binBase }), schema: true, then: same(r) });
			const f = multipart([['target', { file: Buffer.from(json(mask)), type: form.startsWith('coco') ? 'application/json' : 'application/octet-stream' }],
				['prediction', Buffer.from(pred.npy, 'base64')], ['metrics', binBase.metrics.join(',')], ['losses', binBase.losses.join(',')]]);
			await step({ name: `exports: binary target, ${form}, multipart`, headers: { 'Content-Type': f.type }, body: f.body, then: same(r) });
		}
	}
	await step({ name: 'exports: binary target, the JSON text in base64', body: json({ target: b64(Buffer.from(`\n ${json(binaryForms['cvat, points'])}`)), ...binBase }),
		schema: true, then: same(ref) });
	await step({ name: 'exports: binary target, one object as JSON text in base64', body: json({ target: b64(Buffer.from(`\n ${json(twoPolygons)}`)), ...binBase }),
		schema: true, then: same(oneRef) });
	// Label Studio strokes have anti-aliased edges: a pixel is foreground where its alpha is at least
	// the threshold (128 by default). The tumour at alpha 200 with a ring of alpha 100 around it.
	{
		const [x0, y0, x1, y1] = RECT[1];
		const inRect = (x, y, d) => x >= x0 - d && x <= x1 + d && y >= y0 - d && y <= y1 + d;
		const alpha = grid((x, y) => (inRect(x, y, 0) ? 200 : inRect(x, y, 1) ? 100 : 0));
		const stroke = (extra) => ({ labelstudio: { type: 'brushlabels', original_width: W_, original_height: H_, value: { rle: lsBrush(alpha, W_, H_) } }, ...extra });
		const base = { prediction: pred, metrics: ['iou', 'hausdorff95'], losses: ['dice'] };
		for (const [what, extra, d] of [['the default threshold 128 keeps alpha 200', {}, 0], ['threshold 100 keeps the ring', { threshold: 100 }, 1]]) {
			const r = await step({ name: `exports: Label Studio reference for ${what}`, body: json({ ...base, target: b64(greyPng(W_, H_, (x, y) => (inRect(x, y, d) ? 255 : 0))) }) });
			await step({ name: `exports: Label Studio, ${what}`, schema: true, body: json({ ...base, target: stroke(extra) }), then: same(r) });
		}
		await step({ name: 'exports: Label Studio, a threshold above every alpha: an empty object, warned', schema: true,
			body: json({ ...base, target: stroke({ threshold: 201 }) }),
			then: (b) => b.warnings.includes(`target: labelstudio: all ${(x1 - x0 + 3) * (y1 - y0 + 3)} pixels with alpha above 0 are below threshold 201, so the object is empty`) ||
				json(b.warnings) });
	}

	// The prediction as an export: the union of its objects, a hard mask (as a 0/255 PNG reads).
	{
		const base = { target: b64(greyPng(W_, H_, mcT0)), metrics: ['iou', 'dice', 'hausdorff'], losses: ['dice', 'bce'] };
		const pref = await step({ name: 'exports: binary reference, the prediction as a 0/255 PNG', body: json({ ...base, prediction: b64(greyPng(W_, H_, (x, y) => (mcP(x, y) ? 255 : 0))) }) });
		await step({ name: 'exports: binary prediction, labelstudio', schema: true,
			body: json({ ...base, prediction: { labelstudio: [lsResult(of(P, 1), 'tumour'), lsResult(of(P, 2), 'vessel')] } }), then: same(pref) });
		await step({ name: 'exports: binary prediction, coco_rle', schema: true, body: json({ ...base, prediction: { coco_rle: [rleOf(of(P, 1)), rleOf(of(P, 2))] } }), then: same(pref) });
		await step({ name: 'exports: a batch of export pairs', schema: true,
			body: json({ items: [{ target: binaryForms['cvat, points'], prediction: { coco_rle: rleOf(any(P)) }, item: 'a' }], metrics: base.metrics, losses: base.losses }),
			then: (b) => !pref || json(b.items[0]) === json({ ...JSON.parse(withoutTiming(pref.body)), maps: undefined, item: 'a' }) || json(b.items[0]) });
	}

	// Multi-class: the categories are the classes, matched by id (COCO category_id, CVAT label_id),
	// else by name (Label Studio brushlabels, CVAT label, a COCO category's name); the rest is
	// background. Against the label PNGs.
	const mcBase = { classes: NAMES, metrics: ['iou', 'dice', 'hausdorff95'], losses: ['cross_entropy', 'dice'], confusion: true };
	const mref = await step({ name: 'exports: multi-class reference, label PNGs', schema: true,
		body: json({ ...mcBase, target: b64(greyPng(W_, H_, mcT0)), prediction: b64(greyPng(W_, H_, mcP)) }) });
	const perClass = (v, make) => [1, 2].map((k) => make(of(v, k), k, NAMES[k]));
	const mcForms = {
		'coco by category_id': (v) => ({ coco: { width: W_, height: H_, annotations: perClass(v, (m, k) => ({ image_id: 'a.png', category_id: k, segmentation: rleOf(m, k === 2) })) } }),
		'coco by category name (ids no class has)': (v) => ({ coco: { width: W_, height: H_, categories: [{ id: 11, name: 'tumour', supercategory: 'x' }, { id: 12, name: 'vessel' }],
			annotations: perClass(v, (m, k) => ({ category_id: 10 + k, segmentation: rleOf(m) })) } }),
		'labelstudio by brushlabels': (v) => ({ labelstudio: perClass(v, (m, k, n) => lsResult(m, n)) }),
		'cvat by label_id': (v) => ({ cvat: { width: W_, height: H_, shapes: perClass(v, (m, k) => cvatShape(m, { label_id: k })) } }),
		'cvat by label': (v) => ({ cvat: { width: W_, height: H_, shapes: perClass(v, (m, k, n) => cvatXml(m, { label: n })) } }),
	};
	for (const [form, make] of Object.entries(mcForms)) {
		await step({ name: `exports: multi-class target and prediction, ${form}`, schema: true, then: same(mref),
			body: json({ ...mcBase, target: make(T0), prediction: make(P) }) });
	}
	// An id wins over a name: shapes whose labels name the other class are read by their label_id.
	await step({ name: 'exports: multi-class, an id wins over a name', schema: true, then: same(mref),
		body: json({ ...mcBase, target: { cvat: { width: W_, height: H_, shapes: perClass(T0, (m, k) => cvatShape(m, { label_id: k, label: NAMES[3 - k] })) } },
			prediction: b64(greyPng(W_, H_, mcP)) }) });
	{
		const f = multipart([['target', { file: Buffer.from(json(mcForms['cvat by label_id'](T0))), type: 'application/json' }],
			['prediction', Buffer.from(` ${json(mcForms['labelstudio by brushlabels'](P))}`)], ['classes', NAMES.join(',')],
			['metrics', mcBase.metrics.join(',')], ['losses', mcBase.losses.join(',')], ['confusion', 'true']]);
		await step({ name: 'exports: multi-class, CVAT and Label Studio parts', headers: { 'Content-Type': f.type }, body: f.body, then: same(mref) });
	}
	{
		// Sparse class ids: COCO category ids 5 and 900 are the classes' ids.
		const ids = [0, 5, 900];
		const classes = ids.map((id, k) => ({ id, name: NAMES[k] }));
		const byId = (f) => ({ npy: b64(npyArray('<i4', [H_, W_], grid((x, y) => ids[f(x, y)]))) });
		const sref = await step({ name: 'exports: multi-class reference, sparse ids', schema: true, body: json({ ...mcBase, classes, target: byId(mcT0), prediction: byId(mcP) }) });
		const coco = (v) => ({ coco: { width: W_, height: H_, annotations: perClass(v, (m, k) => ({ category_id: ids[k], segmentation: rleOf(m) })) } });
		await step({ name: 'exports: multi-class, COCO category ids are class ids', schema: true, then: same(sref),
			body: json({ ...mcBase, classes, target: coco(T0), prediction: coco(P) }) });
	}

	// Weight maps: the objects are the instances; with classes, their categories the classes.
	{
		const wm = (name, body, then) => runCase(port, { name: `exports: weight-map, ${name}`, method: 'POST', path: W, headers: JSON_T, body: json(body), status: 200, schema: true, then });
		const wref = await wm('reference, a label PNG', { target: b64(greyPng(W_, H_, mcT0)) });
		await wm('a COCO RLE list (each RLE an instance)', { target: { coco_rle: [rleOf(of(T0, 1)), rleOf(of(T0, 2))] } }, same(wref));
		// A lone object is one instance whatever its parts: never split into connected components.
		const one = (b) => b.instances === 1 || `instances ${b.instances}`;
		await wm('a lone crowd region of two parts is one instance', { target: { coco: { width: 6, height: 3,
			annotations: [{ iscrowd: 1, segmentation: { size: [3, 6], counts: [6, 1, 7, 1, 3] } }] } } }, one);
		const uref = await wm('reference, the union of two rectangles as one instance', { target: b64(greyPng(W_, H_, (x, y) => (mcT0(x, y) ? 255 : 0))), instances: 'labels' }, one);
		const lone = {
			'one coco_polygons object of two polygons': twoPolygons,
			'one COCO RLE of two parts': { coco_rle: rleOf(any(T0)) },
			'a COCO crowd annotation of two parts': { coco: { width: W_, height: H_, annotations: [{ iscrowd: 1, category_id: 1, segmentation: rleOf(any(T0), false) }] } },
			'one CVAT shape of two parts': cvat([cvatShape(any(T0), { label: 'tumour' })]),
			'one Label Studio stroke of two parts': { labelstudio: lsResult(any(T0), 'tumour') },
		};
		for (const [name, target] of Object.entries(lone)) await wm(name, { target }, same(uref));
		const cref = await wm('reference, a label map with classes', { target: b64(greyPng(W_, H_, mcT0)), classes: NAMES });
		await wm('CVAT shapes with classes', { target: mcForms['cvat by label_id'](T0), classes: NAMES }, same(cref));
		const f = multipart([['target', Buffer.from(json(mcForms['labelstudio by brushlabels'](T0)))], ['classes', NAMES.join(',')]]);
		await runCase(port, { name: 'exports: weight-map, a Label Studio part with classes', method: 'POST', path: W, headers: { 'Content-Type': f.type }, body: f.body, status: 200,
			then: same(cref) });
		await runCase(port, { name: 'exports 422: weight-map, a category no class has', method: 'POST', path: W, headers: JSON_T, status: 422, schema: true,
			body: json({ target: cvat([cvatShape(of(T0, 1), { label: 'cyst', label_id: 7 })]), classes: NAMES }),
			then: (b) => b.detail === 'target: no class for category "cyst" (id 7)' || b.detail });
	}

	// Warnings the exports give: overlapping objects, results under min_score, empty objects.
	await step({ name: 'exports: overlaps, dropped results and empty objects are warned', schema: true,
		body: json({ target: { coco: { width: W_, height: H_, annotations: [
			{ segmentation: rleOf(of(T0, 1)) }, { segmentation: [poly([3, 2, 4, 3])], score: 0.8 }, { segmentation: [poly([0, 0, 1, 1])], score: 0.2 },
			{ segmentation: [[30, 30, 40, 30, 40, 40]] }] } }, prediction: pred, metrics: ['iou'], losses: [] }),
		then: (b) => json(b.warnings) === json(['target: 4 pixels are covered by more than one object; each goes to the later annotation in the list',
			'target: 1 annotations with a score below min_score were dropped', 'target: 1 object covers no pixel of the image (instance 3)']) || json(b.warnings) });

	// The refusals.
	const inv = (name, body, detail, schema, status = 422) => step({ name: `exports ${status}: ${name}`, status, body: json(body), schema,
		then: (b) => b.detail === detail || b.detail });
	const mc = { classes: NAMES, prediction: b64(greyPng(W_, H_, mcP)), metrics: ['iou'] };
	await inv('a category no class has (name and id)', { ...mc, target: cvat([cvatShape(of(T0, 1), { label: 'cyst', label_id: 7 })]) }, 'target: no class for category "cyst" (id 7)', true);
	await inv('a category no class has (name)', { ...mc, target: mcForms['labelstudio by brushlabels'](T0), prediction: { labelstudio: [lsResult(of(P, 1), 'tumor')] } },
		'prediction: no class for category "tumor"', true);
	await inv('a category id no class has', { ...mc, target: { coco: { width: W_, height: H_, annotations: [{ category_id: 7, segmentation: rleOf(of(T0, 1)) }] } } },
		'target: no class for category id 7', true);
	await inv('an object without a category, multi-class', { ...mc, target: { coco_rle: rleOf(of(T0, 1)) } }, 'target: an object has no category, so it has no class', true);
	await inv('no background class', { ...mc, classes: [{ id: 1, name: 'tumour' }, { id: 2, name: 'vessel' }], target: mcForms['cvat by label_id'](T0) },
		'target is an annotation, whose pixels outside every object need a background class: add {"id": 0, "name": "background"} to "classes", or set "background"', true);
	await inv('"logits": true with an export prediction', { target: b64(greyPng(W_, H_, mcT0)), prediction: twoPolygons, logits: true },
		'prediction is an annotation (hard shapes), not of kind logits', true);
	{
		const f = multipart([['target', greyPng(W_, H_, mcT0)], ['prediction', Buffer.from(json(twoPolygons))], ['prediction_kind', 'probability']]);
		await step({ name: 'exports 422: an export part of kind probability', status: 422, headers: { 'Content-Type': f.type }, body: f.body,
			then: (b) => b.detail === 'prediction is an annotation (hard shapes), not of kind probability' || b.detail });
		const g = multipart([['target', Buffer.from('{"coco_rle": {"size": [16, 24], ')], ['prediction', greyPng(W_, H_, mcP)]]);
		await step({ name: 'exports 400: a part whose JSON text does not parse', status: 400, headers: { 'Content-Type': g.type }, body: g.body,
			then: (b) => b.detail === 'target: MASK is not valid JSON' || b.detail });
	}
	const t34 = b64(greyPng(4, 3, () => 0));
	await inv('a kind beside the export', { target: { coco_rle: { size: [3, 4], counts: '32103' }, kind: 'mask' }, prediction: t34 },
		'target: unknown key "kind" beside "coco_rle"', false);
	await inv('two forms in one object', { target: { coco_rle: { size: [3, 4], counts: '32103' }, cvat: { width: 4, height: 3, shapes: [] } }, prediction: t34 },
		'target: a MASK holds one format, but this one has both "coco_rle" and "cvat"', false);
	await inv('counts that do not cover the image', { target: { coco_rle: { size: [3, 4], counts: [3, 2, 1, 2, 5] } }, prediction: t34 },
		'target: coco_rle: counts sum to 13 but size [3, 4] has 12 pixels', true);
	await inv('a swapped size', { target: { coco_rle: { size: [4, 3], counts: '32103' }, width: 4, height: 3 }, prediction: t34 },
		'target: coco_rle.size is [4, 3] but width and height say 4x3 (size is [height, width])', true);
	await inv('a polygon of 4 numbers', { target: { coco_polygons: [[0, 0, 4, 3]], width: 4, height: 3 }, prediction: t34 },
		'target: coco_polygons[0]: polygon has 4 numbers, which pycocotools reads as a box [x, y, width, height], not as 2 points; send a box as its 4 corners', false);
	await inv('a Label Studio stream cut short', { target: { labelstudio: { original_width: 3, original_height: 2, value: { rle: [0, 0, 0, 24, 57, 27, 252, 96, 19, 255, 206] } } },
		prediction: b64(greyPng(3, 2, () => 0)) }, 'target: labelstudio.value.rle ends at bit 88 inside a record, with 12 of 24 values decoded', true, 400);
	await inv('a CVAT shape whose counts overrun its box', { target: { cvat: { width: 4, height: 3, shapes: [{ points: [0, 5, 1, 1, 0, 2, 1] }] } }, prediction: t34 },
		'target: cvat.shapes[0]: counts are longer than the box: points[0..1] already cover 5 pixels but the 2x2 box has 4', true);
	await inv('a CVAT box outside the image', { target: { cvat: { width: 4, height: 3, shapes: [{ points: [0, 3, 1, 1, 0, 4, 1] }] } }, prediction: t34 },
		'target: cvat.shapes[0]: box left 1, top 0, right 4, bottom 1 (inclusive) is not inside the 4x3 image', true);
	await inv('sizes that differ', { target: twoPolygons, prediction: t34 }, 'prediction is 4x3 but target is 24x16', true);
	// More polygon points than one mask may hold (262,144): 413 naming the limit.
	await step({ name: 'exports 413: polygons over the limit of points', status: 413, schema: true,
		body: json({ target: { coco_polygons: [new Array(2 * 262145).fill(0)], width: 4, height: 3 }, prediction: t34 }),
		then: (b) => b.detail === 'target: coco_polygons[0]: 262145 points, over the limit of 262144 polygon points per mask' || b.detail });
	// Over --max-pixels (1000 on the limits daemon): 413 naming it.
	await runCase(limitsPort, { name: 'exports 413: an export over --max-pixels', method: 'POST', path: E, headers: JSON_T, status: 413,
		body: json({ target: { coco_rle: { size: [40, 40], counts: [1600] } }, prediction: b64(greyPng(40, 40, () => 0)) }),
		then: (b) => b.detail === 'target: coco_rle: the 40x40 image is over the limit of 1000 pixels' || b.detail });
}

// ---- float16 and quantised uint8 scores ------------------------------------------------------
//
// A float16 prediction must evaluate exactly as its float32 twin (every half is a float32); uint8
// per-class probabilities are p = v/255 renormalised per pixel (p_c = v_c / Σv), so their answer is
// the recomputation from those values and lies within 1/255 of the float32 probabilities they
// quantise; a pixel whose values do not sum to 255 within C/2 is refused.

// IEEE 754 binary16 bits of v (finite, |v| < 65504), rounded to nearest; and back.
function toHalf(v) {
	const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
	const a = Math.abs(v);
	if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
	let e = Math.floor(Math.log2(a));
	let m = Math.round((a / 2 ** e - 1) * 1024);
	if (m === 1024) {
		m = 0;
		e++;
	}
	return sign | ((e + 15) << 10) | m;
}
function fromHalf(h) {
	const e = (h >> 10) & 0x1f;
	const m = h & 0x3ff;
	const v = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
	return h & 0x8000 ? -v : v;
}
function npyHalf(shape, values) {
	const f32 = npyArray('<f4', shape, values.map(() => 0));
	const head = f32.subarray(0, f32.length - 4 * values.length).toString('latin1').replace("'<f4'", "'<f2'");
	const data = Buffer.alloc(2 * values.length);
	values.forEach((v, i) => data.writeUInt16LE(toHalf(v), 2 * i));
	return Buffer.concat([Buffer.from(head, 'latin1'), data]);
}

async function scoresPhase(port) {
	const step = (c) => runCase(port, { method: 'POST', path: E, headers: JSON_T, status: 200, ...c });
	const T = grid(mcT);
	const P = grid(mcP);
	// Binary: a float16 probability map and its float32 twin.
	{
		const p = grid((x, y) => 0.03 + 0.94 * (((7 * x + 5 * y) % 23) / 22) * (mcP(x, y) ? 1 : 0.6));
		const twin = p.map((v) => fromHalf(toHalf(v)));
		const base = { target: b64(greyPng(MC_W, MC_H, (x, y) => (mcT0(x, y) ? 255 : 0))), losses: ['bce', 'focal', 'dice', 'shape_aware'],
			metrics: ['iou', 'hausdorff95'], maps: ['bce', 'mask'] };
		const ref = await step({ name: 'scores: binary float32 reference', schema: true, body: json({ ...base, prediction: { npy: b64(npyArray('<f4', [MC_H, MC_W], twin)) } }) });
		await step({ name: 'scores: a float16 binary prediction evaluates as its float32 twin', schema: true,
			body: json({ ...base, prediction: b64(npyHalf([MC_H, MC_W], p)) }),
			then: (b) => !ref || withoutTiming(b) === withoutTiming(ref.body) || `the answer differs: ${withoutTiming(b).slice(0, 300)}` });
		const logits = p.map((v) => 8 * v - 4);
		const lref = await step({ name: 'scores: binary float32 logits reference', schema: true,
			body: json({ ...base, prediction: { npy: b64(npyArray('<f4', [MC_H, MC_W], logits.map((v) => fromHalf(toHalf(v))))), logits: true } }) });
		await step({ name: 'scores: float16 logits evaluate as their float32 twin', schema: true,
			body: json({ ...base, prediction: { npy: b64(npyHalf([MC_H, MC_W], logits)), logits: true } }),
			then: (b) => !lref || withoutTiming(b) === withoutTiming(lref.body) || `the answer differs: ${withoutTiming(b).slice(0, 300)}` });
	}
	// Multi-class: float16 per-class probabilities (C, H, W) and their float32 twin.
	const probs = mcProbs(mcP);
	const half = probs.map((pl) => pl.map((v) => fromHalf(toHalf(v))));
	const base = { target: b64(greyPng(MC_W, MC_H, mcT)), classes: NAMES, ignore_index: IGN, losses: ['cross_entropy', 'dice'], metrics: ['iou', 'dice'], confusion: true };
	const ref16 = await step({ name: 'scores: multi-class float32 reference', schema: true, body: json({ ...base, prediction: b64(npyArray('<f4', [3, MC_H, MC_W], chw(half))) }) });
	await step({ name: 'scores: float16 per-class probabilities evaluate as their float32 twin', schema: true,
		body: json({ ...base, prediction: b64(npyHalf([3, MC_H, MC_W], chw(probs))) }),
		then: (b) => !ref16 || withoutTiming(b) === withoutTiming(ref16.body) || `the answer differs: ${withoutTiming(b).slice(0, 300)}` });
	// uint8 quantised probabilities: v = round(255 p); read as v/Σv (float32), recomputed here, and
	// within 1/255 of the float32 probabilities' answer.
	const q = probs.map((pl) => pl.map((v) => Math.round(255 * v)));
	const deq = q.map((pl) => pl.map((v, i) => {
		const sum = Math.fround(q.reduce((a, p2) => Math.fround(a + p2[i]), 0));
		return Math.fround(v * Math.fround(1 / sum));
	}));
	const refF = await step({ name: 'scores: multi-class float32 probabilities', schema: true, body: json({ ...base, prediction: b64(npyArray('<f4', [3, MC_H, MC_W], chw(probs))) }) });
	for (const [layout, data, axis] of [['(C, H, W)', chw(q), [3, MC_H, MC_W]], ['(H, W, C)', hwc(q), [MC_H, MC_W, 3]]]) {
		await step({ name: `scores: uint8 quantised probabilities ${layout}`, schema: true, body: json({ ...base, prediction: b64(npyArray('|u1', axis, data)) }),
			then: (b) => {
				const r = mcCheck(b, { names: NAMES, M: confusionOf(T, P, 3), t: T, p: P, metrics: ['iou', 'dice'], confusion: true,
					losses: { cross_entropy: crossEntropyOf(T, logClip(deq)), dice: diceLossOf(T, deq, [true, true, true]) } });
				if (r !== true) return r;
				if (!refF) return true;
				for (const k of ['cross_entropy', 'dice']) if (!(Math.abs(b.losses[k] - refF.body.losses[k]) <= 1 / 255)) return `${k} ${b.losses[k]} is not within 1/255 of ${refF.body.losses[k]}`;
				return json(b.confusion) === json(refF.body.confusion) || 'the argmax changed';
			} });
	}
	// A pixel whose quantised values sum to 200: refused, naming it.
	const bad = q.map((pl, c) => pl.map((v, i) => (i === 3 * MC_W + 5 ? [120, 50, 30][c] : v)));
	await step({ name: 'scores 422: quantised probabilities that do not sum to 255', status: 422, schema: true,
		body: json({ ...base, prediction: b64(npyArray('|u1', [3, MC_H, MC_W], chw(bad))) }),
		then: (b) => b.detail === "prediction's quantised class probabilities sum to 200/255 at row 3, column 5; they must sum to 255/255 within 3 classes/2 = 1.5" || b.detail });
	await step({ name: 'scores 422: quantised probabilities said to be logits', status: 422, schema: true,
		body: json({ ...base, prediction: { npy: b64(npyArray('|u1', [3, MC_H, MC_W], chw(q))), kind: 'logits' } }),
		then: (b) => b.detail === 'prediction: uint8 per-class scores are quantised probabilities, not logits' || b.detail });
}

// ---- jobs: submit, poll, replay, cancel ---------------------------------------

const PNG_SIG = Buffer.from('89504e470d0a1a0a', 'hex');

// A PNG's tEXt chunks, keyword -> text.
function pngText(png) {
	const out = {};
	for (let at = 8; at + 12 <= png.length;) {
		const n = png.readUInt32BE(at);
		if (png.toString('latin1', at + 4, at + 8) === 'tEXt') {
			const data = png.subarray(at + 8, at + 8 + n);
			const z = data.indexOf(0);
			out[data.toString('latin1', 0, z)] = data.toString('latin1', z + 1);
		}
		at += 12 + n;
	}
	return out;
}
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
	let c = n;
	for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
	return c >>> 0;
});
function pngChunk(type, data) {
	const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
	let c = 0xffffffff;
	for (const x of td) c = CRC_TABLE[(c ^ x) & 255] ^ (c >>> 8);
	const out = Buffer.alloc(8 + data.length + 4);
	out.writeUInt32BE(data.length, 0);
	td.copy(out, 4);
	out.writeUInt32BE((c ^ 0xffffffff) >>> 0, 8 + data.length);
	return out;
}
// An 8-bit grey PNG with pixel (x, y) = f(x, y).
function greyPng(w, h, f) {
	const raw = Buffer.alloc((w + 1) * h);
	for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw[y * (w + 1) + 1 + x] = f(x, y);
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(w, 0);
	ihdr.writeUInt32BE(h, 4);
	ihdr[8] = 8;
	return Buffer.concat([PNG_SIG, pngChunk('IHDR', ihdr), pngChunk('IDAT', zlib.deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0))]);
}

const FINISHED = ['done', 'failed', 'canceled'];

// Polls GET /v1/jobs/{id} (each answer validated) until until(body); returns the body.
async function pollJob(port, name, id, until = (b) => FINISHED.includes(b.status), timeout = 120000) {
	const t0 = Date.now();
	for (;;) {
		const r = await runCase(port, {
			name: `${name}: poll`, method: 'GET', path: `/v1/jobs/${id}`, status: 200,
			then: (b, res) => {
				if (b.id !== id) return `id ${b.id}`;
				const active = b.status === 'queued' || b.status === 'running';
				return ('retry-after' in res.headers) === active || `Retry-After ${res.headers['retry-after']} with status ${b.status}`;
			},
		});
		if (!r) return null;
		if (until(r.body)) return r.body;
		if (Date.now() - t0 > timeout) {
			fail(name, `job ${id} is still ${r.body.status} after ${timeout} ms`);
			return null;
		}
		await sleep(20);
	}
}

const accepted = (b, res) => (res.headers.location === `/v1/jobs/${b.id}` && res.headers['retry-after'] === '1') ||
	`Location ${res.headers.location}, Retry-After ${res.headers['retry-after']}`;

// Submits a job (expecting 202 and the given status) and polls it until it finishes; returns the final status.
async function submitAndWait(port, name, c) {
	const r = await runCase(port, { method: 'POST', path: '/v1/jobs', status: 202, ...c, name, then: (b, res) => {
		const a = accepted(b, res);
		return a === true && c.then ? c.then(b, res) : a;
	} });
	return r ? pollJob(port, name, r.body.id) : null;
}

const withoutTiming = (o) => {
	const { timing_ms: _, ...rest } = o;
	return json(rest);
};

async function jobsPhase(port) {
	const step = (c) => runCase(port, c);
	const J = '/v1/jobs';

	// The spec's own request examples: 202, then done.
	for (const [ex, { value }] of Object.entries(spec.paths[J].post.requestBody.content['application/json'].examples)) {
		const st = await submitAndWait(port, `jobs: example "${ex}"`, { headers: JSON_T, body: json(value), schema: true });
		if (st) passed += check(`jobs: example "${ex}"`, st.status === 'done', `status ${st.status}: ${json(st.error)}`) ? 1 : 0;
	}

	// A job's result is what /v1/evaluate answers for the same body (a recorded single pair without
	// item is named after the job).
	const single = { target: b64(blobsT), prediction: b64(blobsP), losses: ['dice', 'focal:gamma=3'], metrics: ['iou'], maps: ['weight'], run: 'contract-jobs' };
	const direct = await step({ name: 'jobs: the same body on /v1/evaluate', method: 'POST', path: E, headers: JSON_T, body: json(single), status: 200 });
	let id = null;
	let st = await submitAndWait(port, 'jobs: single pair', {
		headers: { ...JSON_T, 'Idempotency-Key': 'contract-key-1' }, body: json(single), schema: true,
		then: (b) => {
			id = b.id;
			return b.status === 'queued' || `status ${b.status}`;
		},
	});
	if (st && direct) {
		const want = { ...direct.body, item: st.id };
		passed += check('jobs: single pair result', st.status === 'done' && withoutTiming(st.result) === withoutTiming(want) &&
			st.result.timing_ms.receive === 0 && st.progress.done === 1 && st.progress.total === 1,
		`status ${st.status}; result ${withoutTiming(st.result ?? {}).slice(0, 300)}\nexpected ${withoutTiming(want).slice(0, 300)}`) ? 1 : 0;
	}
	await step({
		name: 'jobs: Idempotency-Key replay, same body', method: 'POST', path: J, headers: { ...JSON_T, 'Idempotency-Key': 'contract-key-1' },
		body: json(single), status: 202,
		then: (b, res) => (b.id === id && b.status === 'done' && withoutTiming(b.result) === withoutTiming(st?.result ?? {}) && accepted(b, res) === true) ||
			`id ${b.id} (first ${id}) status ${b.status}`,
	});
	await step({
		name: 'jobs: Idempotency-Key reused with another body', method: 'POST', path: J, headers: { ...JSON_T, 'Idempotency-Key': 'contract-key-1' },
		body: json({ ...single, losses: ['dice'] }), status: 422,
		then: (b) => b.detail === "Idempotency-Key 'contract-key-1' was already used with a different body" || b.detail,
	});
	await step({
		name: 'jobs: Idempotency-Key reused with another Content-Type', method: 'POST', path: J,
		headers: { 'Content-Type': 'application/json; charset=utf-8', 'Idempotency-Key': 'contract-key-1' }, body: json(single), status: 422,
	});
	await step({ name: 'jobs: Idempotency-Key with a space', method: 'POST', path: J, headers: { ...JSON_T, 'Idempotency-Key': 'two words' },
		body: json(single), status: 422, then: (b) => b.detail === 'Idempotency-Key must be printable ASCII without spaces' || b.detail });
	await step({ name: 'jobs: Idempotency-Key of 256 characters', method: 'POST', path: J, headers: { ...JSON_T, 'Idempotency-Key': 'k'.repeat(256) },
		body: json(single), status: 422,
		then: (b) => b.detail === 'Idempotency-Key must be 1 to 255 characters' || b.detail });
	st = await submitAndWait(port, 'jobs: Idempotency-Key of 255 characters', { headers: { ...JSON_T, 'Idempotency-Key': 'q'.repeat(255) },
		body: json({ target: b64(hand2T), prediction: b64(hand2P) }) });
	if (st) passed += check('jobs: Idempotency-Key of 255 characters', st.status === 'done', st.status) ? 1 : 0;

	// Multipart, and a recorded batch with a failing pair.
	{
		const f = multipart([['target', blobsT], ['prediction', blobsP], ['losses', 'dice'], ['run', 'contract-jobs'], ['item', 'multipart']]);
		st = await submitAndWait(port, 'jobs: multipart', { headers: { 'Content-Type': f.type }, body: f.body });
		if (st) passed += check('jobs: multipart result', st.status === 'done' && st.result.item === 'multipart' && st.result.run === 'contract-jobs', json(st).slice(0, 300)) ? 1 : 0;
	}
	st = await submitAndWait(port, 'jobs: batch', {
		headers: JSON_T, schema: true,
		body: json({ items: [{ target: b64(blobsT), prediction: b64(blobsP), item: 'b1' }, { target: b64(blobsT), prediction: b64(hand2P), item: 'b2' }],
			losses: ['dice'], run: 'contract-jobs' }),
	});
	if (st) {
		passed += check('jobs: batch result', st.status === 'done' && st.progress.done === 2 && st.progress.total === 2 && st.result.count === 2 &&
			st.result.failed === 1 && st.result.items[1].error?.status === 422, json(st).slice(0, 400)) ? 1 : 0;
	}

	// Parsed, not decoded: what only decoding can find makes the job fail later.
	const failing = [
		['sizes differ', { target: b64(blobsT), prediction: b64(hand2P) }, 422, /^prediction is 2x2 but target is 64x64$/],
		['corrupt PNG', { target: b64(corruptIdat(blobsT)), prediction: b64(blobsP) }, 400, /^target: png: CRC error in IDAT$/],
		['upload neither PNG nor .npy', { target: b64(Buffer.from('hello')), prediction: b64(blobsP) }, 415, /neither a PNG nor a \.npy file$/],
	];
	let failedId = null;
	for (const [what, body, status, re] of failing) {
		st = await submitAndWait(port, `jobs: ${what}`, { headers: JSON_T, body: json(body), schema: true });
		if (!st) continue;
		failedId = st.id;
		passed += check(`jobs: ${what}`, st.status === 'failed' && st.error.status === status && re.test(st.error.detail),
			`status ${st.status}, error ${json(st.error)}`) ? 1 : 0;
	}

	// Refused at once.
	await step({ name: 'jobs: bad JSON', method: 'POST', path: J, headers: JSON_T, body: '{"target": ', status: 400 });
	await step({ name: 'jobs: bad base64', method: 'POST', path: J, headers: JSON_T, body: json({ target: '@@@@', prediction: b64(blobsP) }), status: 400 });
	{
		const f = multipart([['target', blobsT], ['prediction', blobsP], ['metrics', '[bad']]);
		await step({ name: 'jobs: multipart field not a JSON array', method: 'POST', path: J, headers: { 'Content-Type': f.type }, body: f.body, status: 400 });
	}
	await step({ name: 'jobs: text/plain', method: 'POST', path: J, headers: { 'Content-Type': 'text/plain' }, body: '{}', status: 415 });
	await step({ name: 'jobs: no Content-Type', method: 'POST', path: J, body: '{}', status: 415 });
	await step({ name: 'jobs: unknown loss', method: 'POST', path: J, headers: JSON_T, body: evalBody({ losses: ['dcie'] }), schema: false, status: 422,
		then: (b) => /^unknown loss 'dcie'/.test(b.detail) || b.detail });
	await step({ name: 'jobs: missing prediction', method: 'POST', path: J, headers: JSON_T, body: json({ target: b64(blobsT) }), schema: false, status: 422 });
	await step({ name: 'jobs: item without run', method: 'POST', path: J, headers: JSON_T, body: evalBody({ item: 'x' }), schema: false, status: 422 });
	await step({ name: 'jobs: batch with maps', method: 'POST', path: J, headers: JSON_T,
		body: json({ items: [{ target: b64(blobsT), prediction: b64(blobsP) }], maps: ['weight'] }), schema: false, status: 422 });

	// Unknown and malformed ids.
	const none = '0123456789abcdef0123456789abcdef';
	await step({ name: 'jobs: unknown id', method: 'GET', path: `${J}/${none}`, status: 404, then: (b) => b.detail === `no job '${none}'` || b.detail });
	await step({ name: 'jobs: id not hex', method: 'GET', path: `${J}/not-a-job`, status: 404 });
	await step({ name: 'jobs: id in upper case', method: 'GET', path: `${J}/${(id ?? none).toUpperCase()}`, status: 404 });
	await step({ name: 'jobs: id of 31 digits', method: 'GET', path: `${J}/${none.slice(1)}`, status: 404 });
	await step({ name: 'jobs: HEAD unknown id', method: 'HEAD', path: `${J}/${none}`, status: 404 });
	await step({ name: 'jobs: cancel unknown id', method: 'DELETE', path: `${J}/${none}`, status: 404 });
	await step({ name: 'jobs: cancel malformed id', method: 'DELETE', path: `${J}/xyz`, status: 404 });
	if (id) {
		await step({ name: 'jobs: HEAD done job', method: 'HEAD', path: `${J}/${id}`, status: 200,
			then: (_, res) => !('retry-after' in res.headers) || 'Retry-After on a finished job' });
		await step({ name: 'jobs: cancel a done job', method: 'DELETE', path: `${J}/${id}`, status: 409,
			then: (b) => b.detail === `job '${id}' is already done` || b.detail });
	}
	if (failedId) await step({ name: 'jobs: cancel a failed job', method: 'DELETE', path: `${J}/${failedId}`, status: 409 });

	// Cancel: a slow job runs (seconds of work), a second waits behind it (jobs run one at a time).
	const SLOW = 20;
	const slowBody = json({ items: slowItems(SLOW, 'slow'), losses: ['hausdorff_dt', 'boundary'], run: 'contract-slow' });
	const submit = (name, body, headers = JSON_T) => step({ name, method: 'POST', path: J, headers, body, status: 202,
		then: (b, res) => (b.status === 'queued' && accepted(b, res)) || `status ${b.status}` });
	const a = await submit('jobs: slow job A', slowBody);
	const b = await submit('jobs: slow job B', slowBody);
	const c = await submit('jobs: small job C', json({ target: b64(hand2T), prediction: b64(hand2P) }));
	if (!a || !b || !c) return;
	const running = await pollJob(port, 'jobs: A starts', a.body.id, (x) => x.status !== 'queued');
	if (!running || !check('jobs: A starts', running.status === 'running', `status ${running.status}`)) return;
	passed++;
	await step({ name: 'jobs: B waits', method: 'GET', path: `${J}/${b.body.id}`, status: 200,
		then: (x, res) => (x.status === 'queued' && x.progress.done === 0 && x.progress.total === SLOW && res.headers['retry-after'] === '1') || json(x) });
	await step({ name: 'jobs: HEAD a queued job', method: 'HEAD', path: `${J}/${b.body.id}`, status: 200,
		then: (_, res) => res.headers['retry-after'] === '1' || `Retry-After ${res.headers['retry-after']}` });
	await step({ name: 'jobs: cancel queued B', method: 'DELETE', path: `${J}/${b.body.id}`, status: 200,
		then: (x) => (x.id === b.body.id && x.status === 'canceled') || json(x) });
	await step({ name: 'jobs: canceled B', method: 'GET', path: `${J}/${b.body.id}`, status: 200,
		then: (x) => (x.status === 'canceled' && !('started' in x) && x.finished >= x.created && x.progress.done === 0) || json(x) });
	await step({ name: 'jobs: cancel running A', method: 'DELETE', path: `${J}/${a.body.id}`, status: 202,
		then: (x) => (x.id === a.body.id && x.status === 'canceling') || json(x) });
	const endA = await pollJob(port, 'jobs: A stops', a.body.id);
	if (endA) {
		passed += check('jobs: A stops', endA.status === 'canceled' && endA.progress.done < SLOW && endA.started >= endA.created &&
			endA.finished >= endA.started && !('result' in endA), json(endA)) ? 1 : 0;
		await step({ name: 'jobs: the items A did stay recorded', method: 'GET', path: '/v1/runs/contract-slow', status: 200,
			then: (x) => x.count === endA.progress.done || `count ${x.count}, done ${endA.progress.done}` });
	}
	const endC = await pollJob(port, 'jobs: C runs', c.body.id);
	if (endC) passed += check('jobs: C runs', endC.status === 'done', endC.status) ? 1 : 0;
	await step({ name: 'jobs: cancel canceled B', method: 'DELETE', path: `${J}/${b.body.id}`, status: 409,
		then: (x) => x.detail === `job '${b.body.id}' is already canceled` || x.detail });
	await step({ name: 'jobs: cancel done C', method: 'DELETE', path: `${J}/${c.body.id}`, status: 409 });

	// The list: newest first (A, B, C were submitted last), as GET /v1/jobs/{id} gives each but without
	// its result, filtered by status, paged by a cursor.
	const list = await step({
		name: 'jobs: list', method: 'GET', path: `${J}?limit=1000`, status: 200,
		then: (x) => {
			if (x.next !== null) return `next ${x.next} on the only page`;
			if (json(x.jobs.slice(0, 3).map((j) => j.id)) !== json([c.body.id, b.body.id, a.body.id])) return json(x.jobs.slice(0, 3));
			if (x.jobs.some((j) => 'result' in j)) return 'a listed job carries its result';
			if (new Set(x.jobs.map((j) => j.id)).size !== x.jobs.length) return 'a job listed twice';
			return x.jobs.find((j) => j.id === endC?.id)?.status === 'done' || 'C is not listed done';
		},
	});
	const byStatus = (q, ok) => step({ name: `jobs: list, status=${q}`, method: 'GET', path: `${J}?status=${q}`, status: 200, then: ok });
	await byStatus('canceled', (x) => json(x.jobs.map((j) => j.id)) === json([b.body.id, a.body.id]) || json(x.jobs.map((j) => j.id)));
	await byStatus('failed', (x) => (x.jobs.length >= 3 && x.jobs.every((j) => j.status === 'failed' && j.error)) || json(x.jobs));
	await byStatus('done,failed', (x) => (x.jobs.length > 3 && x.jobs.every((j) => j.status === 'done' || j.status === 'failed')) || json(x.jobs));
	await byStatus('queued,running', (x) => x.jobs.length === 0 || json(x.jobs));
	if (list) {
		const ids = [];
		let after = 0;
		for (let page = 0; page <= list.body.jobs.length; page++) {
			const r = await step({ name: 'jobs: list, a page of 3', method: 'GET', path: `${J}?limit=3${after ? `&after=${after}` : ''}`, status: 200,
				then: (x) => (x.jobs.length <= 3 && (x.next === null || x.jobs.length === 3)) || json(x) });
			if (!r) break;
			ids.push(...r.body.jobs.map((j) => j.id));
			if (r.body.next === null) break;
			after = r.body.next;
		}
		passed += check('jobs: the pages make the list', json(ids) === json(list.body.jobs.map((j) => j.id)), `${ids.length} paged, ${list.body.jobs.length} listed`) ? 1 : 0;
	}
	await step({ name: 'jobs: HEAD list', method: 'HEAD', path: `${J}?status=done&limit=1`, status: 200 });
	for (const [q, re] of [
		['status=fail', /^status must be queued, running, done, failed or canceled, or several of them comma-separated, got 'fail' \(did you mean 'failed'\?\)$/],
		['status=done,', /got ''$/], ['status=', /got ''$/], ['limit=0', /^query argument 'limit' must be an integer in \[1, 1000\], got '0'$/],
		['after=-1', /^query argument 'after' must be an integer/], ['order=desc', /^unknown query parameter 'order': GET \/v1\/jobs takes status, after, limit$/],
	]) {
		await step({ name: `jobs: list, ${q}`, method: 'GET', path: `${J}?${q}`, status: 422, then: (x) => re.test(x.detail) || x.detail });
	}
	await step({ name: 'jobs: HEAD list, limit=0', method: 'HEAD', path: `${J}?limit=0`, status: 422 });
	await step({ name: 'jobs: the list is counted as route "jobs"', method: 'GET', path: '/metrics', status: 200,
		then: (x) => /^segloss_http_requests_total\{route="jobs",code="200"\} [1-9]\d*$/m.test(x) || 'no jobs 200 counter' });
}

// A daemon whose PostgreSQL cannot be reached (port 1 on loopback: refused): it starts and
// stays ready, names the store's state in /readyz, answers 503 with Retry-After and the cause
// where the store is needed, evaluates without a run, shows segloss_store_up 0, and never
// logs the address's password.
async function storeDownPhase() {
	const d = await startDaemon('seglossd with PostgreSQL down', ['--db', 'postgres://segloss:s3cret@127.0.0.1:1/segloss?connect_timeout=2']);
	const UNREACHABLE = /^store: PostgreSQL is unreachable: .*refused/;
	try {
		passed += check('store down: the log hides the password', !d.log.includes('s3cret') &&
			d.log.includes('db=postgresql://segloss@127.0.0.1:1/segloss'), d.log.slice(0, 800)) ? 1 : 0;
		await runCase(d.port, { name: 'store down: GET /readyz', method: 'GET', path: '/readyz', status: 200,
			then: (b) => (b.store === 'down' && b.store_backend === 'postgres' && /refused/.test(b.store_detail)) || json(b) });
		for (const [m, p] of [['GET', '/v1/runs'], ['GET', '/v1/runs/unet-v2'], ['GET', '/v1/jobs'], ['GET', `/v1/jobs/${'b'.repeat(32)}`]]) {
			await runCase(d.port, { name: `store down: ${m} ${p}`, method: m, path: p, status: 503,
				then: (b, r) => (UNREACHABLE.test(b.detail) && r.headers['retry-after'] === '1') || `${b.detail} / Retry-After ${r.headers['retry-after']}` });
		}
		await runCase(d.port, { name: 'store down: POST /v1/jobs', method: 'POST', path: '/v1/jobs', headers: JSON_T, body: evalBody(), status: 503,
			then: (b) => UNREACHABLE.test(b.detail) || b.detail });
		await runCase(d.port, { name: 'store down: evaluate with a run', method: 'POST', path: E, headers: JSON_T, body: evalBody({ run: 'unet-v2' }), status: 503,
			then: (b) => UNREACHABLE.test(b.detail) || b.detail });
		await runCase(d.port, { name: 'store down: evaluate without a run', method: 'POST', path: E, headers: JSON_T, body: evalBody(), status: 200 });
		await runCase(d.port, { name: 'store down: /metrics', method: 'GET', path: '/metrics', status: 200,
			then: (b) => (b.includes('segloss_store_up{backend="postgres"} 0') && /segloss_store_errors_total\{backend="postgres"\} [1-9]/.test(b)) ||
				b.split('\n').filter((l) => l.startsWith('segloss_store')).join('\n') });
	} finally {
		await stopDaemon(d);
	}
}

// Cases for a daemon started with --db off: runs and jobs answer 503.
function noStoreCases() {
	const NS = /^runs and jobs are not available: the daemon has no store$/;
	const job = `/v1/jobs/${'a'.repeat(32)}`;
	const t = [];
	for (const [m, p] of [
		['GET', '/v1/runs'], ['HEAD', '/v1/runs'], ['GET', '/v1/runs/unet-v2'], ['HEAD', '/v1/runs/unet-v2'], ['DELETE', '/v1/runs/unet-v2'],
		['GET', '/v1/runs/unet-v2/items?limit=5'], ['HEAD', '/v1/runs/unet-v2/items'], ['GET', '/v1/runs/a/compare/b'], ['HEAD', '/v1/runs/a/compare/b'],
		['GET', job], ['HEAD', job], ['DELETE', job], ['GET', '/v1/jobs?status=done'], ['HEAD', '/v1/jobs'],
		['GET', '/v1/runs/unet-v2/items/1/target'], ['HEAD', '/v1/runs/unet-v2/items/1/target'],
		['GET', '/v1/runs/unet-v2/items/1/prediction'], ['HEAD', '/v1/runs/unet-v2/items/1/prediction'],
		['GET', '/v1/runs/unet-v2/items/1/options'], ['HEAD', '/v1/runs/unet-v2/items/1/options'],
	]) {
		t.push({ name: `--db off: ${m} ${p}`, method: m, path: p, status: 503,
			then: (b, r) => (m === 'HEAD' || NS.test(b.detail)) && r.headers['retry-after'] === '1' ? true : `${b.detail} / Retry-After ${r.headers['retry-after']}` });
	}
	t.push({ name: '--db off: POST /v1/jobs', method: 'POST', path: '/v1/jobs', headers: JSON_T, body: evalBody(), status: 503, then: (b) => NS.test(b.detail) || b.detail });
	t.push({ name: '--db off: POST /v1/jobs, malformed body (the store is checked first)', method: 'POST', path: '/v1/jobs', headers: JSON_T, body: '{', status: 503 });
	t.push({ name: '--db off: evaluate with a run', method: 'POST', path: E, headers: JSON_T, body: evalBody({ run: 'unet-v2' }), status: 503,
		then: (b) => b.detail === 'recording runs is not available: the daemon has no store' || b.detail });
	t.push({ name: '--db off: evaluate without a run', method: 'POST', path: E, headers: JSON_T, body: evalBody(), status: 200 });
	t.push({ name: '--db off: batch without a run', method: 'POST', path: E, headers: JSON_T,
		body: json({ items: [{ target: b64(blobsT), prediction: b64(blobsP) }] }), status: 200 });
	t.push({ name: '--db off: /readyz', method: 'GET', path: '/readyz', status: 200, then: (b) => b.store === 'none' || json(b) });
	// This instance also runs with --ui off: no page.
	t.push({ name: '--ui off: GET / is a 404 that says why', method: 'GET', path: '/', status: 404,
		then: (b) => b.detail === "no route for '/' (the web page is off: --ui off)" || b.detail });
	t.push({ name: '--ui off: GET /ui/app.js is a 404', method: 'GET', path: '/ui/app.js', status: 404 });
	t.push({ name: '--ui off: HEAD / is a 404', method: 'HEAD', path: '/', status: 404 });
	return t;
}

// ---- the web page: GET / and /ui/{file} ------------------------------------------

async function pagePhase(port) {
	const file = (f) => fs.readFileSync(path.join(ROOT, 'ui', f));
	const tag = (f) => `"${crypto.createHash('sha256').update(file(f)).digest('hex').slice(0, 16)}"`;
	const rebuild = ': rebuild seglossd (make)';
	const csp = (r) => /^default-src 'none';/.test(r.headers['content-security-policy'] ?? '') || `CSP ${r.headers['content-security-policy']}`;
	await runCase(port, { name: 'GET / serves ui/index.html', method: 'GET', path: '/', status: 200,
		then: (b, r) => (b === file('index.html').toString('utf8') && r.headers.etag === tag('index.html') && csp(r) === true) ||
			`ETag ${r.headers.etag}, CSP ${r.headers['content-security-policy']}${rebuild}` });
	await runCase(port, { name: 'HEAD /', method: 'HEAD', path: '/', status: 200,
		then: (_, r) => Number(r.headers['content-length']) === file('index.html').length || `Content-Length ${r.headers['content-length']}` });
	for (const m of ['GET', 'HEAD']) {
		await runCase(port, { name: `${m} / with its ETag: 304`, method: m, path: '/', headers: { 'If-None-Match': tag('index.html') }, status: 304 });
		await runCase(port, { name: `${m} /ui/app.js with its ETag: 304`, method: m, path: '/ui/app.js', headers: { 'If-None-Match': `W/"x", ${tag('app.js')}` }, status: 304 });
	}
	await runCase(port, { name: 'GET /ui/app.js', method: 'GET', path: '/ui/app.js', status: 200,
		then: (b, r) => (b === file('app.js').toString('utf8') && r.headers['content-encoding'] === undefined && r.headers.vary === 'Accept-Encoding') ||
			`encoding ${r.headers['content-encoding']}, vary ${r.headers.vary}${rebuild}` });
	await runCase(port, { name: 'GET /ui/app.js, Accept-Encoding: gzip', method: 'GET', path: '/ui/app.js', headers: { 'Accept-Encoding': 'gzip' }, status: 200,
		then: (_, r) => (r.headers['content-encoding'] === 'gzip' && r.headers.etag === tag('app.js').replace(/"$/, '-gz"') &&
			zlib.gunzipSync(r.body).equals(file('app.js'))) || `encoding ${r.headers['content-encoding']}, ETag ${r.headers.etag}` });
	await runCase(port, { name: 'GET /ui/app.js with the gzip form\'s ETag, not asking for gzip: 200', method: 'GET', path: '/ui/app.js',
		headers: { 'If-None-Match': tag('app.js').replace(/"$/, '-gz"') }, status: 200 });
	await runCase(port, { name: 'HEAD /ui/app.css', method: 'HEAD', path: '/ui/app.css', status: 200,
		then: (_, r) => r.headers['content-type'] === 'text/css; charset=utf-8' || r.headers['content-type'] });
	await runCase(port, { name: 'GET /ui/icon.svg', method: 'GET', path: '/ui/icon.svg', status: 200 });
	await runCase(port, { name: 'GET /ui/index.html', method: 'GET', path: '/ui/index.html', status: 200 });
	await runCase(port, { name: 'GET /ui/nope.js: 404', method: 'GET', path: '/ui/nope.js', status: 404 });
	await runCase(port, { name: 'HEAD /ui/nope.js: 404', method: 'HEAD', path: '/ui/nope.js', status: 404 });
	await runCase(port, { name: 'GET /?anything: the page ignores queries', method: 'GET', path: '/?run=unet', status: 200 });
	for (const [m, p] of [['POST', '/'], ['DELETE', '/ui/app.js']]) {
		await runCase(port, { name: `${m} ${p} -> 405`, method: m, path: p, status: 405, headers: m === 'POST' ? JSON_T : {}, body: m === 'POST' ? '{}' : undefined,
			then: (_, r) => r.headers.allow === 'GET, HEAD' || `Allow: ${r.headers.allow}` });
	}
}

// ---- keep_masks: an item's uploads, by its seq ----------------------------------

async function keptPhase(port) {
	const K = '/v1/runs/contract-kept/items';
	const keep = (extra) => json({ target: b64(hand2T), prediction: b64(hand2P), run: 'contract-kept', keep_masks: true, ...extra });
	await runCase(port, { name: 'keep_masks: JSON, an item named with a /', method: 'POST', path: E, headers: JSON_T,
		body: keep({ item: 'scans/0001' }), status: 200, schema: true, then: (b) => (b.masks_kept === true && b.warnings.length === 0) || json(b) });
	const f = multipart([['target', blobsT], ['prediction', blobsP], ['run', 'contract-kept'], ['item', 'form'], ['keep_masks', 'true']]);
	await runCase(port, { name: 'keep_masks: multipart', method: 'POST', path: E, headers: { 'Content-Type': f.type }, body: f.body, status: 200,
		then: (b) => b.masks_kept === true || json(b) });
	const rle = { coco_rle: { size: [2, 2], counts: [1, 3] } };
	await runCase(port, { name: 'keep_masks: an annotation export as the target', method: 'POST', path: E, headers: JSON_T,
		body: keep({ target: rle, item: 'rle' }), status: 200, then: (b) => b.masks_kept === true || json(b) });
	await runCase(port, { name: 'keep_masks: a batch', method: 'POST', path: E, headers: JSON_T, schema: true,
		body: json({ items: [{ target: b64(hand2T), prediction: b64(hand2P), item: 'b1' }], run: 'contract-kept-batch', keep_masks: true }), status: 200,
		then: (b) => b.items[0].masks_kept === true || json(b) });
	await runCase(port, { name: 'keep_masks without a run: 422', method: 'POST', path: E, headers: JSON_T, status: 422,
		body: json({ target: b64(hand2T), prediction: b64(hand2P), keep_masks: true }),
		then: (b) => b.detail === '"keep_masks" needs a "run" to keep the masks in' || b.detail });
	const same = (want) => (b) => Buffer.from(b).equals(want) || `got ${Buffer.from(b).length} bytes, want ${want.length}`;
	const t1 = await runCase(port, { name: 'keep_masks: the target comes back as uploaded (.png)', method: 'GET', path: `${K}/1/target`, status: 200, then: same(hand2T) });
	await runCase(port, { name: 'keep_masks: the prediction comes back as uploaded (.npy)', method: 'GET', path: `${K}/1/prediction`, status: 200, then: same(hand2P) });
	await runCase(port, { name: 'keep_masks: multipart files come back', method: 'GET', path: `${K}/2/prediction`, status: 200, then: same(blobsP) });
	await runCase(port, { name: 'keep_masks: an export comes back as its JSON', method: 'GET', path: `${K}/3/target`, status: 200,
		then: (b) => json(b) === json(rle) || json(b) });
	await runCase(port, { name: 'HEAD of a kept target', method: 'HEAD', path: `${K}/1/target`, status: 200 });
	const etag = t1?.res.headers.etag;
	let p1 = null;
	for (const m of ['GET', 'HEAD']) {
		await runCase(port, { name: `${m} a kept target with its ETag: 304`, method: m, path: `${K}/1/target`, headers: { 'If-None-Match': etag }, status: 304 });
		const p = p1 = await runCase(port, { name: `${m} the prediction with the target's ETag: 200`, method: m, path: `${K}/1/prediction`,
			headers: { 'If-None-Match': etag }, status: 200, then: (_, r) => r.headers.etag !== etag || 'the target and the prediction share an ETag' });
		await runCase(port, { name: `${m} a kept prediction with its ETag: 304`, method: m, path: `${K}/1/prediction`,
			headers: { 'If-None-Match': p?.res.headers.etag }, status: 304 });
	}
	await runCase(port, { name: 'keep_masks: a seq no item has: 404', method: 'GET', path: `${K}/99/target`, status: 404,
		then: (b) => b.detail === "run 'contract-kept' has no item with seq 99 (an item posted again takes a new seq)" || b.detail });
	await runCase(port, { name: 'an item recorded without keep_masks', method: 'POST', path: E, headers: JSON_T, status: 200,
		body: json({ target: b64(hand2T), prediction: b64(hand2P), run: 'contract-kept', item: 'plain' }), then: (b) => b.masks_kept === undefined || json(b) });
	await runCase(port, { name: 'keep_masks: an item kept without masks: 404', method: 'GET', path: `${K}/4/prediction`, status: 404,
		then: (b) => b.detail === "item 'plain' (seq 4) of run 'contract-kept' was recorded without its masks (send \"keep_masks\": true)" || b.detail });
	await runCase(port, { name: 'keep_masks: no such run: 404', method: 'HEAD', path: '/v1/runs/nothing-here/items/1/target', status: 404 });
	await runCase(port, { name: 'keep_masks: seq not a number: 422', method: 'GET', path: `${K}/latest/target`, status: 422,
		then: (b) => b.detail === "seq must be an item's sequence number (a positive integer), got 'latest'" || b.detail });
	await runCase(port, { name: 'keep_masks: a query parameter: 422', method: 'HEAD', path: `${K}/1/prediction?x=1`, status: 422 });
	await runCase(port, { name: 'keep_masks: a bad run name: 422', method: 'GET', path: '/v1/runs/a!b/items/1/target', status: 422 });
	// The options the masks are read with: only those the request set, as form fields; the three ETags differ.
	const opt = await runCase(port, { name: 'keep_masks: the options of an item sent with none are {}', method: 'GET', path: `${K}/1/options`, status: 200,
		then: (b, r) => (json(b) === '{}' && r.headers.etag !== etag && r.headers.etag !== p1?.res.headers.etag) || `${json(b)} ${r.headers.etag}` });
	await runCase(port, { name: 'keep_masks: HEAD of the options', method: 'HEAD', path: `${K}/1/options`, status: 200 });
	for (const m of ['GET', 'HEAD']) {
		await runCase(port, { name: `${m} the options with their ETag: 304`, method: m, path: `${K}/1/options`, headers: { 'If-None-Match': opt?.res.headers.etag }, status: 304 });
	}
	await runCase(port, { name: 'keep_masks: logits and a threshold (JSON)', method: 'POST', path: E, headers: JSON_T,
		body: json({ target: b64(logitT), prediction: b64(logitP), logits: true, metrics: [{ name: 'dice', threshold: 0.3 }], run: 'contract-kept-options', item: 'l', keep_masks: true }),
		status: 200, then: (b) => b.masks_kept === true || json(b) });
	await runCase(port, { name: 'keep_masks: the options say logits and the threshold', method: 'GET', path: '/v1/runs/contract-kept-options/items/1/options', status: 200,
		then: (b) => json(b) === json({ logits: true, threshold: 0.3 }) || json(b) });
	const mcForm = multipart([['target', FIX('multiclass/coins/target.png')], ['prediction', FIX('multiclass/coins/prediction.npy')], ['classes', 'a,b,c'],
		['ignore_index', '255'], ['prediction_kind', 'probabilities'], ['run', 'contract-kept-options'], ['item', 'mc'], ['keep_masks', 'true']]);
	await runCase(port, { name: 'keep_masks: a multi-class item (multipart)', method: 'POST', path: E, headers: { 'Content-Type': mcForm.type }, body: mcForm.body,
		status: 200, then: (b) => b.masks_kept === true || json(b) });
	await runCase(port, { name: 'keep_masks: the options say the classes, the ignore label and the kind', method: 'GET', path: '/v1/runs/contract-kept-options/items/2/options',
		status: 200, then: (b) => json(b) === json({ prediction_kind: 'probabilities', classes: [{ id: 0, name: 'a' }, { id: 1, name: 'b' }, { id: 2, name: 'c' }], ignore_index: 255 }) || json(b) });
	await runCase(port, { name: 'keep_masks: options of an item kept without masks: 404', method: 'GET', path: `${K}/4/options`, status: 404,
		then: (b) => /recorded without its masks/.test(b.detail) || b.detail });
	for (const which of ['target', 'prediction', 'options']) {
		await runCase(port, { name: `keep_masks: POST on a kept ${which}: 405`, method: 'POST', path: `${K}/1/${which}`, headers: JSON_T, body: '{}', status: 405,
			then: (_, r) => r.headers.allow === 'GET, HEAD' || `Allow: ${r.headers.allow}` });
	}
}

// The work queue full (--workers 1 --queue 1): one request runs, one waits, the next is refused
// with 503 and Retry-After; the two taken still finish. The daemon's own gauges say when each is
// where it should be.
async function queueFullPhase(port) {
	const name = 'queue full';
	const running = send(port, { method: 'POST', path: E, headers: JSON_T, body: json({ items: slowItems(2), losses: ['hausdorff_dt'], metrics: [] }) });
	if (!(await waitGauge(port, name, 'workers_busy', (v) => v === 1))) return;
	const waiting = send(port, { method: 'POST', path: E, headers: JSON_T, body: evalBody() });
	if (!(await waitGauge(port, name, 'queue_depth', (v) => v === 1))) return;
	await runCase(port, { name: `${name}: POST /v1/evaluate is refused`, method: 'POST', path: E, headers: JSON_T, body: evalBody(), status: 503,
		then: (b, r) => (b.detail === 'the work queue is full; retry shortly' && r.headers['retry-after'] === '1') || `${b.detail}, Retry-After ${r.headers['retry-after']}` });
	await runCase(port, { name: `${name}: GET /readyz is not ready`, method: 'GET', path: '/readyz', status: 503 });
	for (const [what, pending] of [['the running request', running], ['the waiting request', waiting]]) {
		const res = await pending;
		if (validateResponse(`${name}: ${what}`, 'POST', E, res) !== null && check(`${name}: ${what}`, res.status === 200, `got ${res.status}`)) passed++;
	}
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
					const t = timeErrors(ex.value);
					n++;
					if (e) fail(`example ${pointer}/examples/${k}`, e);
					if (t.length) fail(`example ${pointer}/examples/${k}`, t.join('\n'));
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

// Every problem example of the spec says what the server says: some answer of the run had the
// example's status and its detail, word for word, numbers and 'quoted' names aside (an example's
// sizes, pixels, ids and names stand for any). PROBLEM_EXAMPLES_NOT_SEEN lists the few that no
// test can provoke.
const PROBLEM_EXAMPLES_NOT_SEEN = {
	'InternalError internal': 'an internal failure (a bug)',
	'StoreUnavailable store-failed': 'a failing store (SQLite reporting the disk full)',
};
function checkProblemExamples() {
	const before = failures.length;
	const NUM = /-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/;
	const numbers = (t) => t.split(NUM).map(escRe).join(NUM.source);
	const templ = (d) => new RegExp(`^${d.split(/'[^']*'/).map(numbers).join("'[^']*'")}$`);
	const live = [...liveDetails].map((x) => ({ status: Number(x.slice(0, 3)), detail: x.slice(4) }));
	let n = 0;
	const visit = (where, resp) => {
		for (const [k, ex] of Object.entries(resp?.content?.['application/problem+json']?.examples ?? {})) {
			const key = `${where} ${k}`;
			if (key in PROBLEM_EXAMPLES_NOT_SEEN) continue;
			const re = templ(ex.value.detail);
			n++;
			check(`problem example ${key}`, live.some((l) => l.status === ex.value.status && re.test(l.detail)),
				`no ${ex.value.status} of the run said ${json(ex.value.detail)}`);
		}
	};
	for (const [name, resp] of Object.entries(spec.components.responses)) visit(name, resp);
	for (const [p, item] of Object.entries(spec.paths)) {
		for (const m of METHODS) {
			for (const [status, resp] of Object.entries(item[m]?.responses ?? {})) if (!resp.$ref) visit(`${m.toUpperCase()} ${p} ${status}`, resp);
		}
	}
	for (const key of Object.keys(PROBLEM_EXAMPLES_NOT_SEEN)) {
		const [name, ex] = key.split(' ');
		check('problem examples', spec.components.responses[name]?.content?.['application/problem+json']?.examples?.[ex],
			`PROBLEM_EXAMPLES_NOT_SEEN lists ${key}, which the spec does not have`);
	}
	if (failures.length === before) passed++;
	console.log(`${n} problem examples of the spec matched by the server's answers`);
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
			// name, as and a heatmap's range belong to the spec object, not to the function's parameters.
			const props = Object.keys(obj.properties).filter((k) => k !== 'name' && k !== 'as' && k !== 'range');
			const params = entry.parameters.map((p) => p.name);
			check(where, json([...props].sort()) === json([...params].sort()), `spec parameters ${props.join(', ')}; server ${params.join(', ')}`);
			for (const p of entry.parameters) {
				if (!(p.name in obj.properties)) continue;
				checkParam(`${where}.${p.name}`, p, deref(`${objPtr}/properties/${esc(p.name)}`));
			}
		}
	}
	// Which kind of request takes each function: the catalogue's `requests` against the spec's name
	// enums (maps: every map is a binary request's; the categorical maps are also a multi-class
	// request's, and the weight map a label map's, from POST /v1/weight-map with classes), and the
	// request rules' string patterns against those enums.
	const modes = {
		losses: [S.BinaryLossName.enum, S.MulticlassLossName.enum],
		metrics: [S.BinaryMetricName.enum, S.MulticlassMetricName.enum],
		maps: [S.MapName.enum, ['weight', ...S.CategoricalMapName.enum]],
	};
	for (const list of ['losses', 'metrics', 'maps']) {
		for (const entry of cat[list]) {
			const want = [modes[list][0].includes(entry.name) && 'binary', modes[list][1].includes(entry.name) && 'multiclass'].filter(Boolean);
			check(`catalogue ${list} ${entry.name}`, json(entry.requests) === json(want), `requests ${json(entry.requests)}, the spec says ${json(want)}`);
			check(`catalogue ${list} ${entry.name}`, !('multiclass_formula' in entry) || want.length === 2,
				`multiclass_formula on a function of ${json(want)} requests`);
		}
	}
	const only = (a, b) => a.filter((n) => !b.includes(n));
	for (const [rule, names, members] of [
		['BinaryOnlyLoss', S.LossName.enum, only(modes.losses[0], modes.losses[1])],
		['MulticlassOnlyLoss', S.LossName.enum, only(modes.losses[1], modes.losses[0])],
		['MulticlassOnlyMetric', S.MetricName.enum, only(modes.metrics[1], modes.metrics[0])],
		['CategoricalMapSpec', S.MapName.enum, S.CategoricalMapName.enum],
	]) {
		for (const n of names) {
			for (const form of [n, `${n}:as=x`, { name: n }]) {
				const matches = schemaErrors(ptr('components', 'schemas', rule), form) === null;
				check(`request rules ${rule}`, matches === members.includes(n), `${json(form)} ${matches ? 'matches' : 'does not match'}`);
			}
		}
	}
	// The spec's excerpt is the server's catalogue, entry for entry: its defaults, its conventions,
	// and each entry it shows.
	const excerpt = spec.paths['/v1/losses'].get.responses['200'].content['application/json'].examples.excerpt.value;
	check('catalogue defaults', json(cat.defaults) === json(excerpt.defaults), `server defaults ${json(cat.defaults)} differ from the spec's example`);
	check('catalogue conventions', json(cat.conventions) === json(excerpt.conventions),
		`server conventions ${json(cat.conventions)}\ndiffer from the spec's example ${json(excerpt.conventions)}`);
	for (const list of ['losses', 'metrics', 'maps']) {
		for (const e of excerpt[list]) {
			const live = cat[list].find((x) => x.name === e.name);
			check(`catalogue example ${list} ${e.name}`, json(live) === json(e), `the server says ${json(live)}`);
		}
	}
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

// ---- draining ----------------------------------------------------------------
//
// From SIGTERM on, every answer carries Connection: close and its connection closes after it. A
// keep-alive connection idle at the signal is kept: its next request is answered (503 for work,
// the probes as usual) and then it closes. Requests already received are answered; an upload still
// arriving gets 503. What keeps the daemon up meanwhile is known, not hoped for: an upload it
// counts in flight, and workers it reports busy.

async function drainPhase(d) {
	const name = 'draining';
	const port = d.port;
	const idle = await idleConnections(port, 7, name);
	if (!idle) return;
	const upload = await partialUpload(d, name);
	if (!upload) return;
	// Two slow evaluations take both workers; a 304 and a 204 wait behind them on keep-alive
	// connections, so the workers answer them once the drain has begun.
	const rec = await send(port, { method: 'POST', path: E, headers: JSON_T, body: json({ target: b64(hand2T), prediction: b64(hand2P), run: 'contract-drain', item: 'x' }) });
	if (!check(name, rec.status === 200, `recording an item: ${rec.status}`)) return;
	const slowBody = json({ items: slowItems(4), losses: ['hausdorff_dt', 'boundary'], metrics: [] });
	const slow = [0, 1].map(() => send(port, { method: 'POST', path: E, headers: JSON_T, body: slowBody }));
	if (!(await waitGauge(port, name, 'workers_busy', (v) => v === 2))) return;
	const queued = [['GET', '/v1/runs', { 'If-None-Match': '*' }, 304], ['DELETE', '/v1/runs/contract-drain', {}, 204]];
	const qconns = [];
	for (const [m, p, h] of queued) {
		const c = new RawConn(port);
		await c.open();
		let text = `${m} ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
		for (const [k, v] of Object.entries(h)) text += `${k}: ${v}\r\n`;
		c.write(Buffer.from(`${text}\r\n`, 'latin1'));
		qconns.push(c);
	}
	if (!(await waitGauge(port, name, 'queue_depth', (v) => v === 2))) return;
	d.child.kill('SIGTERM');

	const D = /^draining: shutting down$/;
	await drainedAnswer(`${name}: GET /readyz`, 'GET', '/readyz', idle[0], await untilDraining(idle[0], name), 503, D);
	await drainedAnswer(`${name}: HEAD /readyz`, 'HEAD', '/readyz', idle[1], await idle[1].request('HEAD', '/readyz'), 503);
	await drainedAnswer(`${name}: POST /v1/evaluate`, 'POST', E, idle[2], await idle[2].request('POST', E, JSON_T, evalBody()), 503, D);
	await drainedAnswer(`${name}: POST /v1/weight-map`, 'POST', W, idle[3], await idle[3].request('POST', W, JSON_T, json({ target: b64(instT) })), 503, D);
	await drainedAnswer(`${name}: GET /healthz`, 'GET', '/healthz', idle[4], await idle[4].request('GET', '/healthz'), 200);
	await drainedAnswer(`${name}: GET /v1/runs`, 'GET', '/v1/runs', idle[5], await idle[5].request('GET', '/v1/runs'), 503, D);
	await drainedAnswer(`${name}: POST /v1/jobs`, 'POST', '/v1/jobs', idle[6], await idle[6].request('POST', '/v1/jobs', JSON_T, evalBody()), 503, D);
	// The upload in flight completes: answered, not dropped.
	await drainedAnswer(`${name}: the upload in flight`, 'POST', E, upload.conn, await upload.finish(), 503, D);
	// The work received before the signal is done and answered.
	for (const pending of slow) {
		const res = await pending;
		const b = validateResponse(`${name}: a slow evaluation`, 'POST', E, res);
		if (b !== null && check(`${name}: a slow evaluation`, res.status === 200 && b.count === 4 && b.failed === 0, `got ${res.status}`)) passed++;
	}
	for (let i = 0; i < queued.length; i++) {
		const [m, p, , status] = queued[i];
		await drainedAnswer(`${name}: ${m} ${p} waiting for a worker`, m, p, qconns[i], await qconns[i].readResponse(), status);
	}
	for (const c of [...idle, upload.conn, ...qconns]) c.close();
}

// ---- API keys: 401 on /v1 without a valid key, open probes --------------------
//
// A daemon started with SEGLOSS_API_KEY and --api-keys-file. Every /v1
// operation is sent without Authorization, with a wrong bearer key and with
// Basic credentials (401 each, with its WWW-Authenticate challenge), then
// with a valid key (the scheme in any case, each source of keys in turn).
// The same daemon runs with one worker and --drain-timeout 0 for the
// drain-deadline 503s at its shutdown.

const KEY_ENV = 'contract-env-key.0123';
const KEY_FILE_1 = 'contract-file-key-1';
const KEY_FILE_2 = 'contract-file-key_2~';
const KEY_ROTATED = 'contract-rotated-key';
const KEY_WRONG = 'contract-wrong-key';
const NEED_KEY = 'an API key is required: send Authorization: Bearer <key>';
const BAD_KEY = 'the bearer token is not a valid API key';
const CHALLENGE = 'Bearer realm="segloss"';
const CHALLENGE_INVALID = 'Bearer realm="segloss", error="invalid_token"';

// One key per line, # comments, blank lines, spaces around keys, a CRLF line.
const keysFileText = (keys) => `# contract test keys\n\n   ${keys[0]}   \r\n# ${KEY_WRONG} (commented out)\n${keys.slice(1).join('\n')}\n`;

// The 401 checks beyond the spec: challenge and detail for how the key was (not) sent.
const denied = (given) => (b, r) => {
	const want = given ? CHALLENGE_INVALID : CHALLENGE;
	if (r.headers['www-authenticate'] !== want) return `WWW-Authenticate ${JSON.stringify(r.headers['www-authenticate'])}, expected ${want}`;
	if (b.detail !== undefined && b.detail !== (given ? BAD_KEY : NEED_KEY)) return `detail ${JSON.stringify(b.detail)}`;
	return true;
};

const NO_KEY_WAYS = [
	['no Authorization', undefined],
	['a wrong bearer key', `Bearer ${KEY_WRONG}`],
	['Basic credentials', `Basic ${Buffer.from(`contract:${KEY_ENV}`).toString('base64')}`],
];

// Whether an operation's security (its own, else the document's) asks for bearerAuth.
function needsKey(op) {
	const [m, p] = op.split(' ');
	const sec = spec.paths[p][m.toLowerCase()].security ?? spec.security ?? [];
	return sec.some((req) => 'bearerAuth' in req);
}
const openWithoutKey = new Set(); // open operations that answered 200 without a key

// The spec's security against itself and the keyed daemon: bearerAuth is an HTTP
// bearer scheme; an operation that may need a key documents 401 and also allows
// no key ({}: keys are optional); an open one documents no 401 and was
// answered 200 without a key.
function checkSecurity() {
	const before = failures.length;
	const scheme = spec.components?.securitySchemes?.bearerAuth;
	check('security', scheme?.type === 'http' && scheme.scheme?.toLowerCase() === 'bearer', `components.securitySchemes.bearerAuth: ${json(scheme)}`);
	for (const op of documented.keys()) {
		if (op === DEFAULT_KEY) continue;
		const [m, p] = op.split(' ');
		const o = spec.paths[p][m.toLowerCase()];
		const sec = o.security ?? spec.security ?? [];
		if (needsKey(op)) {
			check('security', '401' in o.responses, `${op} may need an API key (bearerAuth) but documents no 401`);
			check('security', sec.some((req) => Object.keys(req).length === 0), `${op}: its security does not allow a request without a key ({}), as a daemon without keys takes it`);
		} else {
			check('security', !('401' in o.responses), `${op} is open (no bearerAuth) but documents a 401`);
			check('security', openWithoutKey.has(op), `${op} is open (no bearerAuth) but was not answered 200 without a key by the daemon with keys`);
		}
	}
	check('security', '401' in (spec['x-default-responses']?.responses ?? {}), 'x-default-responses: no 401 for an unknown path under /v1/ without a key');
	if (failures.length === before) passed++;
}

// ---- CORS: preflights and the grant, on a daemon with an allowed origin and a key ----

const ORIGIN = 'https://app.example';
const concretePath = (p) => p.replace('{run}', 'cors-run').replace('{id}', '0'.repeat(32)).replace('{a}', 'a').replace('{b}', 'b')
	.replace('{seq}', '1').replace('{file}', 'app.js');

async function corsPhase(d, plain) {
	const port = d.port;
	for (const op of [...documented.keys()].filter((k) => k.startsWith('OPTIONS '))) {
		const p = concretePath(op.split(' ')[1]);
		const allowed = spec.paths[op.split(' ')[1]].post ? 'POST' : 'GET';
		const ok = await runCase(port, {
			name: `cors: preflight ${p} from ${ORIGIN}, no key: 204`, method: 'OPTIONS', path: p, status: 204,
			headers: { Origin: ORIGIN, 'Access-Control-Request-Method': allowed, 'Access-Control-Request-Headers': 'authorization' },
			then: (_, r) => (r.headers['access-control-allow-origin'] === ORIGIN && r.headers.vary === 'Origin' &&
				r.headers['access-control-allow-methods'].split(', ').includes(allowed)) ||
				`grant ${r.headers['access-control-allow-origin']}, vary ${r.headers.vary}, methods ${r.headers['access-control-allow-methods']}`,
		});
		if (ok && !needsKey(op)) openWithoutKey.add(op);
		await runCase(port, {
			name: `cors: preflight ${p} from another origin: 403`, method: 'OPTIONS', path: p, status: 403,
			headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': allowed },
			then: (b, r) => (r.headers['access-control-allow-origin'] === undefined && b.detail.includes('https://evil.example')) ||
				`grant ${r.headers['access-control-allow-origin']}, detail ${b.detail}`,
		});
		// Not a preflight: an ordinary OPTIONS, behind the key under /v1/.
		await runCase(port, { name: `cors: OPTIONS ${p} without Access-Control-Request-Method`, method: 'OPTIONS', path: p,
			headers: { Origin: ORIGIN }, status: needsKey(op) ? 401 : 405 });
		// Without --cors-origins a preflight is an ordinary OPTIONS: 405, no grant.
		await runCase(plain.port, {
			name: `cors off: preflight ${p}: 405`, method: 'OPTIONS', path: p, status: 405,
			headers: { Origin: ORIGIN, 'Access-Control-Request-Method': allowed },
			then: (_, r) => r.headers['access-control-allow-origin'] === undefined || 'granted without --cors-origins',
		});
	}
	const grant = (_, r) => (r.headers['access-control-allow-origin'] === ORIGIN && r.headers.vary === 'Origin' &&
		['ETag', 'X-Request-Id', 'X-Map-Min', 'X-Map-Max'].every((h) => (r.headers['access-control-expose-headers'] ?? '').split(', ').includes(h))) ||
		`headers ${json(r.headers)}`;
	await runCase(port, { name: 'cors: GET /v1/losses from the origin, with the key: granted', method: 'GET', path: '/v1/losses',
		headers: { Origin: ORIGIN, Authorization: `Bearer ${KEY_ENV}` }, status: 200, then: grant });
	await runCase(port, { name: 'cors: GET /v1/losses from the origin, no key: 401, granted (readable)', method: 'GET', path: '/v1/losses',
		headers: { Origin: ORIGIN }, status: 401, then: grant });
	await runCase(port, { name: 'cors: GET /healthz from another origin: no grant', method: 'GET', path: '/healthz',
		headers: { Origin: 'https://evil.example' }, status: 200,
		then: (_, r) => r.headers['access-control-allow-origin'] === undefined || `granted ${r.headers['access-control-allow-origin']}` });

	// Draining: a preflight on a keep-alive connection idle at SIGTERM is answered, then the
	// connection closes; an upload in flight (with the key) holds the daemon up meanwhile.
	const name = 'cors: draining';
	const idle = await idleConnections(port, 2, name);
	const upload = idle && (await partialUpload(d, name, { Authorization: `Bearer ${KEY_ENV}` }));
	if (!upload) return;
	d.child.kill('SIGTERM');
	await drainedAnswer(`${name}: GET /readyz`, 'GET', '/readyz', idle[0], await untilDraining(idle[0], name), 503, /^draining/);
	const pre = await idle[1].request('OPTIONS', E, { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST' });
	await drainedAnswer(`${name}: preflight`, 'OPTIONS', E, idle[1], pre, 204);
	await drainedAnswer(`${name}: the upload in flight`, 'POST', E, upload.conn, await upload.finish(), 503, /^draining/);
	for (const c of [...idle, upload.conn]) c.close();
}

async function authPhase(d, keysPath) {
	const port = d.port;
	const valid = [`Bearer ${KEY_ENV}`, `bearer ${KEY_FILE_1}`, `BEARER ${KEY_FILE_2}`];
	let turn = 0;
	const withKey = (h = {}, auth = valid[turn++ % valid.length]) => ({ ...h, Authorization: auth });
	// The three refusals of one request, then (when ok is given) the request with a valid key.
	const guarded = async (label, c, ok) => {
		for (const [how, auth] of NO_KEY_WAYS) {
			await runCase(port, { ...c, name: `keys: ${label}, ${how}: 401`, headers: auth ? { ...c.headers, Authorization: auth } : c.headers,
				status: 401, then: denied(auth !== undefined && /^bearer +\S/i.test(auth)) });
		}
		if (!ok) return null;
		const headers = withKey(c.headers);
		return runCase(port, { ...c, ...ok, name: `keys: ${label}, ${headers.Authorization.split(' ')[0]} <key>: ${ok.status}`, headers });
	};

	// The operations the spec leaves open (security: []) answer without a key, and ignore a wrong one.
	// (Their OPTIONS, CORS preflights, are checked by corsPhase.)
	for (const op of [...documented.keys()].filter((k) => k !== DEFAULT_KEY && !needsKey(k) && !k.startsWith('OPTIONS '))) {
		const [m, sp] = op.split(' ');
		const p = concretePath(sp);
		const ok = await runCase(port, { name: `keys: ${op} without a key`, method: m, path: p, status: 200 });
		await runCase(port, { name: `keys: ${op} with a wrong key`, method: m, path: p, headers: { Authorization: `Bearer ${KEY_WRONG}` }, status: 200 });
		if (ok) openWithoutKey.add(op);
	}
	await runCase(port, { name: 'keys: PATCH /metrics without a key: 405, not 401', method: 'PATCH', path: '/metrics', status: 405 });

	// Writes: refused ones record nothing.
	const rec = (run, item) => json({ target: b64(hand2T), prediction: b64(hand2P), losses: ['dice'], metrics: ['iou'], run, item });
	await guarded('POST /v1/evaluate (recording)', { method: 'POST', path: E, headers: JSON_T, body: rec('auth-a', 'refused') },
		{ status: 200, body: rec('auth-a', 'x'), then: (b) => b.run === 'auth-a' || `run ${b.run}` });
	await guarded('POST /v1/evaluate, multipart', (() => {
		const f = multipart([['target', hand2T], ['prediction', hand2P], ['run', 'auth-b'], ['item', 'y']]);
		return { method: 'POST', path: E, headers: { 'Content-Type': f.type }, body: f.body };
	})(), { status: 200 });
	await guarded('POST /v1/weight-map', { method: 'POST', path: W, headers: { ...JSON_T, Accept: 'application/x-npy' }, body: json({ target: b64(instT) }) },
		{ status: 200 });
	// The refused submissions use the Idempotency-Key with another body: had one of them made
	// a job, the accepted one would be a 422 (the key reused with a different body).
	const job = await guarded('POST /v1/jobs', { method: 'POST', path: '/v1/jobs', headers: { ...JSON_T, 'Idempotency-Key': 'auth-1' },
		body: json({ target: b64(hand2T), prediction: b64(hand2P), losses: ['dice'] }) },
	{ status: 202, body: json({ target: b64(hand2T), prediction: b64(hand2P) }), then: accepted });
	const J = `/v1/jobs/${job?.body.id ?? '0'.repeat(32)}`;
	for (const until = Date.now() + 60000; job;) {
		const r = await runCase(port, { name: 'keys: poll the job', method: 'GET', path: J, headers: withKey(), status: 200 });
		if (!r || FINISHED.includes(r.body.status)) break;
		if (Date.now() > until) {
			fail('keys: poll the job', `job ${job.body.id} is still ${r.body.status} after 60 s`);
			break;
		}
		await sleep(20);
	}

	// Reads.
	await guarded('GET /v1/runs', { method: 'GET', path: '/v1/runs' }, { status: 200,
		then: (b) => json(b.runs.map((x) => x.name)) === '["auth-a","auth-b"]' || json(b.runs) });
	await guarded('HEAD /v1/runs', { method: 'HEAD', path: '/v1/runs' }, { status: 200 });
	await guarded('GET /v1/runs/{run}', { method: 'GET', path: '/v1/runs/auth-a' }, { status: 200,
		then: (b) => b.count === 1 || `count ${b.count}: a refused request recorded an item` });
	await guarded('HEAD /v1/runs/{run}', { method: 'HEAD', path: '/v1/runs/auth-a' }, { status: 200 });
	await guarded('GET /v1/runs/{run}/items', { method: 'GET', path: '/v1/runs/auth-a/items?limit=5' }, { status: 200,
		then: (b) => json(b.items.map((x) => x.item)) === '["x"]' || json(b.items) });
	await guarded('HEAD /v1/runs/{run}/items', { method: 'HEAD', path: '/v1/runs/auth-a/items' }, { status: 200 });
	await guarded('GET /v1/runs/{a}/compare/{b}', { method: 'GET', path: '/v1/runs/auth-a/compare/auth-b' }, { status: 200 });
	await guarded('HEAD /v1/runs/{a}/compare/{b}', { method: 'HEAD', path: '/v1/runs/auth-a/compare/auth-b' }, { status: 200 });
	for (const which of ['target', 'prediction', 'options']) {
		const kp = `/v1/runs/auth-a/items/1/${which}`;
		await guarded(`GET /v1/runs/{run}/items/{seq}/${which}`, { method: 'GET', path: kp }, { status: 404,
			then: (b) => /recorded without its masks/.test(b.detail) || b.detail });
		await guarded(`HEAD /v1/runs/{run}/items/{seq}/${which}`, { method: 'HEAD', path: kp }, { status: 404 });
	}
	await guarded('GET /v1/jobs/{id}', { method: 'GET', path: J }, { status: 200, then: (b) => b.status === 'done' || `status ${b.status}` });
	await guarded('GET /v1/jobs', { method: 'GET', path: '/v1/jobs' }, { status: 200,
		then: (b) => (b.jobs.length === 1 && b.jobs[0].id === job?.body.id) || `a refused submission made a job: ${json(b.jobs)}` });
	await guarded('HEAD /v1/jobs', { method: 'HEAD', path: '/v1/jobs' }, { status: 200 });
	await guarded('HEAD /v1/jobs/{id}', { method: 'HEAD', path: J }, { status: 200 });
	await guarded('GET /v1/losses', { method: 'GET', path: '/v1/losses' }, { status: 200 });
	await guarded('HEAD /v1/losses', { method: 'HEAD', path: '/v1/losses' }, { status: 200 });
	await guarded('GET /v1/profiles', { method: 'GET', path: '/v1/profiles' }, { status: 200 });
	await guarded('HEAD /v1/profiles', { method: 'HEAD', path: '/v1/profiles' }, { status: 200 });
	await guarded('GET /v1/openapi.yaml', { method: 'GET', path: '/v1/openapi.yaml' }, { status: 200 });
	await guarded('HEAD /v1/openapi.yaml', { method: 'HEAD', path: '/v1/openapi.yaml' }, { status: 200 });

	// Deletes: a refused one deletes nothing.
	await guarded('DELETE /v1/jobs/{id}', { method: 'DELETE', path: J }, { status: 409 });
	await guarded('DELETE /v1/runs/{run}', { method: 'DELETE', path: '/v1/runs/auth-b' });
	await runCase(port, { name: 'keys: a refused DELETE deleted nothing', method: 'GET', path: '/v1/runs/auth-b', headers: withKey(), status: 200 });
	await runCase(port, { name: 'keys: DELETE /v1/runs/{run} with a key', method: 'DELETE', path: '/v1/runs/auth-b', headers: withKey(), status: 204 });

	// The key is checked first: before the path (404), the method (405) and the body's length (411, 413).
	await guarded('GET /v1/evaluat (no such path)', { method: 'GET', path: '/v1/evaluat' }, { status: 404 });
	await guarded('GET /v1/ (no such path)', { method: 'GET', path: '/v1/' }, { status: 404 });
	await guarded('PUT /v1/evaluate (no such method)', { method: 'PUT', path: E, headers: JSON_T, body: '{}' }, { status: 405 });
	await guarded('DELETE /v1/losses (no such method)', { method: 'DELETE', path: '/v1/losses' }, { status: 405 });
	await guarded('POST /v1/jobs, chunked', { method: 'POST', path: '/v1/jobs', headers: JSON_T, body: evalBody(), chunked: true }, { status: 411 });
	// A 100 MB upload announced but never sent: the 401 (or, with a key, the 413) comes without it.
	for (const [how, auth, status] of [['no key', undefined, 401], ['a valid key', `Bearer ${KEY_ENV}`, 413]]) {
		const name = `keys: POST /v1/evaluate of 100 MB, ${how}: ${status} before the body`;
		const c = new RawConn(port);
		try {
			await c.open();
			c.write(Buffer.from(`POST ${E} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n` +
				`${auth ? `Authorization: ${auth}\r\n` : ''}\r\n{"target": "`, 'latin1'));
			const res = await c.readResponse();
			const b = validateResponse(name, 'POST', E, res);
			if (b !== null && check(name, res.status === status, `expected ${status}, got ${res.status}`) &&
				(status !== 401 || check(name, denied(false)(b, res) === true, String(denied(false)(b, res))))) passed++;
		} catch (e) {
			fail(name, e.message);
		} finally {
			c.close();
		}
	}

	// Keys are case-sensitive; a bearer header without a token presents no key.
	await runCase(port, { name: 'keys: a key in the wrong case', method: 'GET', path: '/v1/losses', headers: { Authorization: `Bearer ${KEY_ENV.toUpperCase()}` },
		status: 401, then: denied(true) });
	await runCase(port, { name: 'keys: Bearer without a token', method: 'GET', path: '/v1/losses', headers: { Authorization: 'Bearer' }, status: 401, then: denied(false) });
	await runCase(port, { name: 'keys: a commented-out key', method: 'GET', path: '/v1/losses', headers: { Authorization: `Bearer ${KEY_WRONG}` }, status: 401 });
	await runCase(port, { name: 'keys: /metrics counts the 401s', method: 'GET', path: '/metrics', status: 200,
		then: (b) => /^segloss_http_requests_total\{route="evaluate",code="401"\} [1-9]\d*$/m.test(b) || 'no evaluate 401 counter' });

	// Rotation: SIGHUP re-reads the file; a file that does not load keeps the keys.
	const reloaded = async (name, re) => {
		const from = d.log.length;
		d.child.kill('SIGHUP');
		for (const until = Date.now() + 30000; !re.test(d.log.slice(from)) && Date.now() < until;) await sleep(20);
		return check(name, re.test(d.log.slice(from)), `no ${re} in the log after SIGHUP:\n${d.log.slice(from, from + 500)}`);
	};
	fs.writeFileSync(keysPath, keysFileText([KEY_FILE_1, KEY_ROTATED]));
	if (await reloaded('keys: SIGHUP reloads the file', /SIGHUP: API keys reloaded \(3 keys\)/)) {
		passed++;
		await runCase(port, { name: 'keys: the new key after SIGHUP', method: 'GET', path: '/v1/losses', headers: { Authorization: `Bearer ${KEY_ROTATED}` }, status: 200 });
		await runCase(port, { name: 'keys: the removed key after SIGHUP', method: 'GET', path: '/v1/losses', headers: { Authorization: `Bearer ${KEY_FILE_2}` },
			status: 401, then: denied(true) });
		await runCase(port, { name: 'keys: SEGLOSS_API_KEY after SIGHUP', method: 'GET', path: '/v1/losses', headers: { Authorization: `Bearer ${KEY_ENV}` }, status: 200 });
	}
	fs.writeFileSync(keysPath, `${KEY_FILE_1}\nnot a key\n`);
	if (await reloaded('keys: SIGHUP with a bad file', /SIGHUP: API keys not reloaded: API keys file line 2/)) {
		passed++;
		await runCase(port, { name: 'keys: a bad file keeps the keys', method: 'GET', path: '/v1/losses', headers: { Authorization: `Bearer ${KEY_ROTATED}` }, status: 200 });
	}
}

// The drain deadline (--workers 1 --drain-timeout 0): one request runs, two wait for the
// worker; on SIGTERM the waiting ones get 503 at once and the running one finishes. Meanwhile a
// keep-alive connection idle at the signal is answered 401 without a key, and closed.
async function drainDeadlinePhase(d) {
	const name = 'drain deadline';
	const auth = { Authorization: `Bearer ${KEY_ENV}` };
	const idle = await idleConnections(d.port, 2, name);
	if (!idle) return;
	const slowBody = json({ items: slowItems(4), losses: ['hausdorff_dt', 'boundary'], metrics: [] });
	const running = send(d.port, { method: 'POST', path: E, headers: { ...JSON_T, ...auth }, body: slowBody });
	if (!(await waitGauge(d.port, name, 'workers_busy', (v) => v === 1))) return;
	const waiting = [
		['POST', E, send(d.port, { method: 'POST', path: E, headers: { ...JSON_T, ...auth }, body: evalBody() })],
		['GET', '/v1/runs', send(d.port, { method: 'GET', path: '/v1/runs', headers: auth })],
	];
	if (!(await waitGauge(d.port, name, 'queue_depth', (v) => v === 2))) return;
	d.child.kill('SIGTERM');
	for (const [m, p, pending] of waiting) {
		const res = await pending;
		const b = validateResponse(`${name}: ${m} ${p}`, m, p, res);
		if (b !== null && check(`${name}: ${m} ${p}`, res.status === 503 && res.headers['retry-after'] === '1' &&
			b.detail === 'shutting down: the request was not started before the drain deadline',
		`got ${res.status}, Retry-After ${res.headers['retry-after']}: ${b.detail}`)) passed++;
	}
	// The 503s above come after the signal was handled: the daemon drains now.
	await drainedAnswer(`${name}: GET /readyz`, 'GET', '/readyz', idle[0], await idle[0].request('GET', '/readyz'), 503, /^draining: shutting down$/);
	const res401 = await idle[1].request('GET', '/v1/losses');
	await drainedAnswer(`${name}: GET /v1/losses without a key`, 'GET', '/v1/losses', idle[1], res401, 401, /^an API key is required/);
	const res = await running;
	const b = validateResponse(`${name}: the running request`, 'POST', E, res);
	if (b !== null && check(`${name}: the running request`, res.status === 200 && b.count === 4, `got ${res.status}`)) passed++;
	for (const c of idle) c.close();
}

// ---- main ----------------------------------------------------------------------

async function main() {
	console.log(`spec ${path.relative(ROOT, SPEC_FILE)}, server ${path.relative(ROOT, BIN) || BIN}`);
	checkExamples();

	const mainDb = CONTRACT_DB ? ['--db', CONTRACT_DB, ...(CONTRACT_DB_FILE ? ['--db-file', CONTRACT_DB_FILE] : [])] : [];
	const main = await startDaemon(`seglossd${CONTRACT_DB ? ' on PostgreSQL' : ''}`, mainDb);
	const limits = await startDaemon('seglossd --max-body 4K --max-pixels 1000', ['--max-body', '4K', '--max-pixels', '1000']);
	const nostore = await startDaemon('seglossd --db off --ui off --workers 1 --queue 1', ['--db', 'off', '--ui', 'off', '--workers', '1', '--queue', '1']);
	const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'segloss-contract-'));
	const keysPath = path.join(keysDir, 'api-keys');
	fs.writeFileSync(keysPath, keysFileText([KEY_FILE_1, KEY_FILE_2]));
	let keyed = null;
	let cors = null;
	try {
		cors = await startDaemon('seglossd with CORS and a key', ['--cors-origins', ORIGIN, '--api-key', KEY_ENV]);
		keyed = await startDaemon('seglossd with API keys', ['--api-keys-file', keysPath, '--workers', '1', '--drain-timeout', '0'],
			{ SEGLOSS_API_KEY: KEY_ENV });
		const catRes = await send(main.port, { method: 'GET', path: '/v1/losses' });
		const catalogue = validateResponse('catalogue', 'GET', '/v1/losses', catRes);
		if (!catalogue || catRes.status !== 200) throw new Error('GET /v1/losses failed; cannot go on');
		checkCatalogue(catalogue);

		for (const c of cases({ catalogue })) await runCase(main.port, c);
		await encodingPhase(main.port);
		await emptyPostPhase(main.port);
		await runsPhase(main.port);
		await multiclassPhase(main.port, catalogue);
		await multiclassRunPhase(main.port);
		await mapsPhase(main.port);
		await exportsPhase(main.port, limits.port);
		await scoresPhase(main.port);
		await jobsPhase(main.port);
		await pagePhase(main.port);
		await keptPhase(main.port);
		for (const c of limitCases()) await runCase(limits.port, c);
		await limitJobs(limits.port);
		await stopDaemon(limits);
		for (const c of noStoreCases()) await runCase(nostore.port, c);
		await queueFullPhase(nostore.port);
		await stopDaemon(nostore);
		await storeDownPhase();
		await corsPhase(cors, main);
		await stopDaemon(cors);
		await authPhase(keyed, keysPath);
		await drainDeadlinePhase(keyed);
		checkSecurity();
		await stopDaemon(keyed);
		await drainPhase(main);
		await stopDaemon(main);
	} finally {
		for (const d of [main, limits, nostore, keyed, cors]) if (d && d.exited === null) d.child.kill('SIGKILL');
		fs.rmSync(keysDir, { recursive: true, force: true });
	}

	checkProblemExamples();

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
if (known.length) {
	console.log(`${known.length} checks failed on known server defects (not counted; CONTRACT_STRICT=1 counts them):`);
	for (const k of knownKeys) console.log(`  ${k}: ${KNOWN_DEFECTS[k]}`);
}
process.exit(failures.length ? 1 : 0);
