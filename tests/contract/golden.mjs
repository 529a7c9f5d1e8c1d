// golden.mjs — binary requests with probability predictions are answered
// byte for byte as the first version answered them.
//
//   node tests/contract/golden.mjs          (from the project root; run by tests/contract/run.sh)
//
// tests/fixtures/golden/answers.json holds what the first version's
// `segloss eval` printed and its seglossd answered (tests/ref/gen_golden.py
// recorded them) for every binary fixture case: each case's losses and
// metrics, with and without the weight and BCE maps. This runs the
// current build the same way and compares the bytes (the answers'
// timing_ms, which is a measurement, removed on both sides). Only inputs
// the first version misread may be answered differently, and none of
// these is one. Environment: SEGLOSS_BIN, SEGLOSSD_BIN (default
// build/release/segloss, build/release/seglossd).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.resolve(ROOT, process.env.SEGLOSS_BIN || 'build/release/segloss');
const DAEMON = path.resolve(ROOT, process.env.SEGLOSSD_BIN || 'build/release/seglossd');
const golden = JSON.parse(readFileSync(path.join(ROOT, 'tests/fixtures/golden/answers.json'), 'utf8'));

let passed = 0;
const failures = [];
const fail = (what, why) => failures.push(`FAIL ${what}\n     ${why}`);
const stripTiming = (s) => s.replace(/,"timing_ms":\{[^}]*\}/, '');

function firstDifference(a, b) {
	let i = 0;
	while (i < a.length && a[i] === b[i]) i++;
	return `at byte ${i}: first version ${JSON.stringify(a.slice(i, i + 80))}, now ${JSON.stringify(b.slice(i, i + 80))}`;
}

function startDaemon() {
	return new Promise((resolve, reject) => {
		const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SEGLOSS_')));
		const child = spawn(DAEMON, ['--bind', '127.0.0.1', '--port', '0', '--db', 'off'], { stdio: ['ignore', 'ignore', 'pipe'], env });
		let log = '';
		child.stderr.setEncoding('utf8');
		child.stderr.on('data', (chunk) => {
			log += chunk;
			const m = /seglossd listening .*\bport=(\d+)/.exec(log);
			if (m) resolve({ child, port: Number(m[1]) });
		});
		child.on('exit', (code) => reject(new Error(`seglossd exited with ${code} before listening:\n${log}`)));
	});
}

function post(port, body) {
	return new Promise((resolve, reject) => {
		const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/evaluate', agent: false,
			headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
		});
		req.on('error', reject);
		req.end(body);
	});
}

// The CLI.
for (const c of golden.cli) {
	const what = `segloss ${c.case} (${c.args.length} arguments)`;
	let out;
	try {
		out = execFileSync(CLI, c.args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 });
	} catch (e) {
		fail(what, `exit ${e.status}: ${e.stderr}`);
		continue;
	}
	if (out === c.stdout) passed++;
	else fail(what, firstDifference(c.stdout, out));
}

// The daemon.
const d = await startDaemon();
const b64 = new Map();
const read64 = (p) => b64.get(p) ?? b64.set(p, readFileSync(path.join(ROOT, p)).toString('base64')).get(p);
try {
	for (const h of golden.http) {
		const what = `POST /v1/evaluate ${h.case}${h.body.maps ? ' with maps ' + h.body.maps.join(', ') : ''}`;
		// The first version's field order: target, prediction after the specs (JSON order does not matter to the server).
		const body = JSON.stringify({ ...h.body, target: read64(h.target), prediction: read64(h.prediction) });
		const r = await post(d.port, body);
		const got = stripTiming(r.body);
		if (r.status !== h.status) {
			fail(what, `status ${r.status}, the first version answered ${h.status}: ${got.slice(0, 300)}`);
		} else if (h.answer !== undefined) {
			if (got === h.answer) passed++;
			else fail(what, firstDifference(h.answer, got));
		} else {
			const sum = createHash('sha256').update(got, 'utf8').digest('hex');
			if (sum === h.sha256 && Buffer.byteLength(got) === h.length) passed++;
			else fail(what, `${Buffer.byteLength(got)} bytes, SHA-256 ${sum}; the first version's ${h.length} bytes, ${h.sha256}; ` +
				firstDifference(h.head, got.slice(0, h.head.length)));
		}
	}
} finally {
	d.child.kill('SIGTERM');
}

for (const f of failures) console.log(f);
console.log(`golden: ${golden.cli.length} CLI runs and ${golden.http.length} requests against ${golden.recorded_with}: ` +
	`${passed} byte for byte, ${failures.length} different`);
process.exit(failures.length ? 1 : 0);
