// The first visit to /forgot_password in headless Chromium: time from navigation to the
// "Email or phone number" field being ready to type, over cold loads (a new browser context per
// load: empty HTTP cache, no compiled-wasm cache, no cookies).
//
//   node bench/spa.mjs BASE [LOADS]
//
// Prints "BENCH key value" lines: the median and each load, measured in Node with
// performance.now() from the call that starts the navigation to the field being editable, and,
// for comparison, the page's own performance.now() at that moment (milliseconds since the
// navigation started, by the browser's clock).

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
// @playwright/test lives in end2end/node_modules; resolve it from there.
const require = createRequire(path.join(here, '..', 'end2end', 'package.json'));
const { chromium } = require('@playwright/test');

const [base, loadsArg] = process.argv.slice(2);
const loads = Number(loadsArg ?? 10);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

try {
  // One throw-away load so the browser process itself is warm (its first context pays for
  // process start-up, which no user's visit does); the page caches are per context.
  {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${base}/forgot_password`);
    await page.getByLabel('Email or phone number').waitFor();
    await ctx.close();
  }
  const node = [];
  const inPage = [];
  for (let i = 0; i < loads; i++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const field = page.getByLabel('Email or phone number');
    const t0 = performance.now();
    await page.goto(`${base}/forgot_password`, { waitUntil: 'commit' });
    await field.waitFor({ state: 'visible', timeout: 30_000 });
    while (!(await field.isEditable())) await page.waitForTimeout(1);
    node.push(performance.now() - t0);
    inPage.push(await page.evaluate(() => performance.now()));
    await ctx.close();
  }
  console.log(`BENCH loads ${loads}`);
  console.log(`BENCH median_ms ${median(node).toFixed(0)}`);
  console.log(`BENCH in_page_median_ms ${median(inPage).toFixed(0)}`);
  console.log(`BENCH each_ms ${node.map((x) => x.toFixed(0)).join(',')}`);
} finally {
  await browser.close();
}
