// The first visit to /forgot_password in headless Chromium: time from navigation to the
// "Email or phone number" field being ready to type, over cold loads (a new browser context per
// load: empty HTTP cache, no compiled-wasm cache, no cookies).
//
//   node bench/spa.mjs BASE [LOADS] [SLOW_LOADS]
//
// SLOW_LOADS more cold loads run on a simulated slow 3G link (Chromium's network emulation over
// CDP: 400 kbit/s each way, 400 ms round trip), reported as slow_*.
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

const [base, loadsArg, slowArg] = process.argv.slice(2);
const loads = Number(loadsArg ?? 10);
const slowLoads = Number(slowArg ?? 5);

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
  // process start-up, which no user's visit does); the page caches are per context. It also
  // records what the browser fetched, as it fetched it (its own Accept-Encoding).
  const fetched = [];
  {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const seen = [];
    page.on('requestfinished', (req) => seen.push(req));
    await page.goto(`${base}/forgot_password`);
    await page.getByLabel('Email or phone number').waitFor();
    await page.waitForLoadState('networkidle');
    for (const req of seen) {
      const res = await req.response();
      const sizes = await req.sizes();
      fetched.push({
        path: new URL(req.url()).pathname,
        encoding: (await res?.headerValue('content-encoding')) ?? 'identity',
        accept: (await req.headerValue('accept-encoding')) ?? '',
        body: sizes.responseBodySize,
      });
    }
    await ctx.close();
  }
  const node = [];
  const inPage = [];
  const wasmDone = [];
  for (let i = 0; i < loads; i++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const field = page.getByLabel('Email or phone number');
    const t0 = performance.now();
    await page.goto(`${base}/forgot_password`, { waitUntil: 'commit' });
    await field.waitFor({ state: 'visible', timeout: 30_000 });
    while (!(await field.isEditable())) await page.waitForTimeout(1);
    node.push(performance.now() - t0);
    const t = await page.evaluate(() => ({
      now: performance.now(),
      wasm: performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm'))?.responseEnd ?? NaN,
    }));
    inPage.push(t.now);
    wasmDone.push(t.wasm);
    await ctx.close();
  }
  // The same cold load on a slow 3G link.
  const slow = [];
  for (let i = 0; i < slowLoads; i++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 400,
      downloadThroughput: 400_000 / 8,
      uploadThroughput: 400_000 / 8,
    });
    const field = page.getByLabel('Email or phone number');
    const t0 = performance.now();
    await page.goto(`${base}/forgot_password`, { waitUntil: 'commit', timeout: 120_000 });
    await field.waitFor({ state: 'visible', timeout: 120_000 });
    while (!(await field.isEditable())) await page.waitForTimeout(1);
    slow.push(performance.now() - t0);
    await ctx.close();
  }
  console.log(`BENCH slow_loads ${slowLoads}`);
  if (slowLoads > 0) {
    console.log(`BENCH slow_median_ms ${median(slow).toFixed(0)}`);
    console.log(`BENCH slow_each_ms ${slow.map((x) => x.toFixed(0)).join(',')}`);
  }
  console.log(`BENCH loads ${loads}`);
  console.log(`BENCH median_ms ${median(node).toFixed(0)}`);
  console.log(`BENCH in_page_median_ms ${median(inPage).toFixed(0)}`);
  console.log(`BENCH wasm_received_median_ms ${median(wasmDone).toFixed(0)}`);
  console.log(`BENCH each_ms ${node.map((x) => x.toFixed(0)).join(',')}`);
  const total = fetched.reduce((n, f) => n + f.body, 0);
  console.log(`BENCH browser_requests ${fetched.length}`);
  console.log(`BENCH browser_body_bytes ${total}`);
  console.log(`BENCH browser_accept_encoding ${(fetched[0]?.accept ?? '').replace(/\s+/g, '')}`);
  for (const f of fetched) console.log(`BENCH fetched ${f.path} ${f.encoding} ${f.body}`);
} finally {
  await browser.close();
}
