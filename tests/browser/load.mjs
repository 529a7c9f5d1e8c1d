// load.mjs — opens tests/browser/page.html in Debian's headless Chromium and
// writes the page's DOM once the page has finished: when #out no longer
// says "pending" (it then holds the JSON of every call, or the error that
// stopped them). It waits for that event, with a generous deadline, rather
// than for a fixed or virtual amount of time.
//
//   node tests/browser/load.mjs URL OUT.html
//
// playwright-core comes from tests/ui's packages (tests/ui/npm.sh installs
// them); CHROMIUM_BIN names the browser (default /usr/bin/chromium).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../ui/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [url, outFile] = process.argv.slice(2);
if (!url || !outFile) {
  console.error('usage: node tests/browser/load.mjs URL OUT.html');
  process.exit(2);
}
const DEADLINE_MS = 120000;

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'segloss-browser-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let code = 0;
try {
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('console', (m) => console.error(`page console: ${m.text()}`));
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'pending', null,
    { timeout: DEADLINE_MS });
  fs.writeFileSync(outFile, await page.content());
} catch (e) {
  console.error(`load.mjs: ${e.message}`);
  code = 1;
} finally {
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(code);
