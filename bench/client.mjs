// The benchmark's HTTP helpers, driven by script/bench. Plain node:http, so no request carries
// headers a browser would add (Origin, Sec-Fetch-*): the portal's CSRF guard treats the bench as
// the non-browser client it is.
//
//   node client.mjs flows  BASE PREFIX FIRST LAST OUT       request a code for PREFIX{n}@bench.test,
//                                                           n = FIRST..LAST, 16 at a time; OUT gets
//                                                           "email flow-token" lines
//   node client.mjs codes  CAPTURE FLOWS OUT                join FLOWS with the codes the SMTP
//                                                           capture received: "flow-token code"
//   node client.mjs probe  BASE SECONDS INTERVAL_MS OUT     one code request for a fresh probe user
//                                                           every INTERVAL_MS; OUT is JSON
//   node client.mjs steady BASE RATE SECONDS FIRST OUT      a constant offered load: RATE code
//                                                           requests a second for SECONDS, for
//                                                           probe{FIRST…}@bench.test, each sent on
//                                                           schedule whether or not the earlier
//                                                           ones were answered (open loop); OUT
//                                                           is JSON, as probe's
//   node client.mjs match  CAPTURE PROBES                   when did each probe's email arrive?
//   node client.mjs count  CAPTURE                          how many emails the capture holds
//
// Results are printed as "BENCH key value" lines.

import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/** One HTTP request; resolves with {status, headers, body} (body as text). */
function call(method, url, body, headers = {}) {
  return callWith(agent, method, url, body, headers);
}

function callWith(agent, method, url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const data = body === undefined ? undefined : Buffer.from(body);
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        agent,
        headers: {
          ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

const startBody = (email) => JSON.stringify({ identifier: email });

function flowToken(headers) {
  for (const c of headers['set-cookie'] ?? []) {
    const m = /^portal_reset_flow=([^;]+)/.exec(c);
    if (m) return m[1];
  }
  return null;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Everything the capture holds; the one place the (possibly large) list is read. */
async function messages(capture) {
  const r = await call('GET', `${capture}/messages`);
  if (r.status !== 200) throw new Error(`capture answered ${r.status}`);
  return JSON.parse(r.body);
}

async function flows([base, prefix, first, last, out]) {
  const emails = [];
  for (let n = Number(first); n <= Number(last); n++) emails.push(`${prefix}${n}@bench.test`);
  const lines = [];
  let failed = 0;
  let next = 0;
  const started = performance.now();
  async function worker() {
    while (next < emails.length) {
      const email = emails[next++];
      const r = await call('POST', `${base}/api/reset/start`, startBody(email));
      const token = r.status === 200 ? flowToken(r.headers) : null;
      if (token) lines.push(`${email} ${token}`);
      else failed++;
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker));
  writeFileSync(out, lines.join('\n') + '\n');
  const secs = (performance.now() - started) / 1000;
  console.log(`BENCH flows ${lines.length}`);
  console.log(`BENCH failed ${failed}`);
  console.log(`BENCH seconds ${secs.toFixed(2)}`);
}

async function codes([capture, flowsFile, out]) {
  const latest = new Map();
  for (const m of await messages(capture)) {
    const code = /(\d{6})/.exec(m.subject ?? '') ?? /\b(\d{6})\b/.exec(m.text ?? '');
    // Later messages replace earlier ones: a new code kills the previous one.
    if (code) latest.set(String(m.to).toLowerCase(), code[1]);
  }
  const pairs = [];
  let missing = 0;
  for (const line of readFileSync(flowsFile, 'utf8').split('\n')) {
    const [email, token] = line.trim().split(/\s+/);
    if (!email || !token) continue;
    const code = latest.get(email.toLowerCase());
    if (code) pairs.push(`${token} ${code}`);
    else missing++;
  }
  writeFileSync(out, pairs.join('\n') + '\n');
  console.log(`BENCH pairs ${pairs.length}`);
  console.log(`BENCH missing ${missing}`);
}

async function probe([base, seconds, intervalMs, out]) {
  const results = [];
  const until = Date.now() + Number(seconds) * 1000;
  let n = 0;
  while (Date.now() < until) {
    const tick = Date.now();
    n += 1;
    const email = `probe${n}@bench.test`;
    const sent = performance.now();
    let status = 0;
    try {
      status = (await call('POST', `${base}/api/reset/start`, startBody(email))).status;
    } catch {
      status = 0;
    }
    // Wall-clock time of the response, comparable with the capture's `at` (same machine).
    results.push({ email, status, respondedAt: Date.now(), rttMs: performance.now() - sent });
    const wait = Number(intervalMs) - (Date.now() - tick);
    if (wait > 0) await sleep(wait);
  }
  writeFileSync(out, JSON.stringify(results));
  console.log(`BENCH probes ${results.length}`);
  console.log(`BENCH probes_ok ${results.filter((r) => r.status === 200).length}`);
}

async function steady([base, rate, seconds, first, out]) {
  const total = Number(rate) * Number(seconds);
  const interval = 1000 / Number(rate);
  const open = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const results = [];
  const pending = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const email = `probe${Number(first) + i}@bench.test`;
    const sent = performance.now();
    pending.push(
      callWith(open, 'POST', `${base}/api/reset/start`, startBody(email))
        .then((r) => r.status)
        .catch(() => 0)
        .then((status) => {
          results.push({ email, status, respondedAt: Date.now(), rttMs: performance.now() - sent, lagMs: sent - due });
        }),
    );
  }
  const offeredSecs = (performance.now() - t0) / 1000;
  await Promise.all(pending);
  open.destroy();
  writeFileSync(out, JSON.stringify(results));
  const rtts = results.map((r) => r.rttMs).sort((a, b) => a - b);
  console.log(`BENCH sent ${total}`);
  console.log(`BENCH offered_rps ${(total / offeredSecs).toFixed(0)}`);
  console.log(`BENCH ok ${results.filter((r) => r.status === 200).length}`);
  console.log(`BENCH rtt_p50_ms ${percentile(rtts, 50).toFixed(1)}`);
  console.log(`BENCH rtt_p99_ms ${percentile(rtts, 99).toFixed(1)}`);
}

async function match([capture, probesFile]) {
  const all = JSON.parse(readFileSync(probesFile, 'utf8'));
  // The probe's own response times, early in the load and late: does request-code slow down as
  // the load goes on?
  const quarter = Math.max(1, Math.floor(all.length / 4));
  const med = (xs) => percentile([...xs].sort((a, b) => a - b), 50);
  console.log(`BENCH rtt_first_quarter_ms ${med(all.slice(0, quarter).map((p) => p.rttMs)).toFixed(1)}`);
  console.log(`BENCH rtt_last_quarter_ms ${med(all.slice(-quarter).map((p) => p.rttMs)).toFixed(1)}`);
  const probes = all.filter((p) => p.status === 200);
  const arrived = new Map();
  for (const m of await messages(capture)) {
    const to = String(m.to).toLowerCase();
    if (to.startsWith('probe') && !arrived.has(to)) arrived.set(to, Date.parse(m.at));
  }
  // A message that has not arrived yet has waited at least until now: a lower bound. A percentile
  // that falls on (or above) such a bound is itself only a lower bound, printed as ">=".
  const now = Date.now();
  const lat = probes
    .map((p) =>
      arrived.has(p.email)
        ? { ms: arrived.get(p.email) - p.respondedAt, exact: true }
        : { ms: now - p.respondedAt, exact: false },
    )
    .sort((a, b) => a.ms - b.ms);
  const at = (p) => {
    if (lat.length === 0) return 'n/a';
    const i = Math.min(lat.length - 1, Math.max(0, Math.ceil((p / 100) * lat.length) - 1));
    const bound = lat.slice(0, i + 1).some((x) => !x.exact);
    return `${bound ? '>=' : ''}${(lat[i].ms / 1000).toFixed(3)}`;
  };
  // How fast the messages reached the capture: delivered over the time from the first answer to
  // the last arrival.
  const times = probes.filter((p) => arrived.has(p.email));
  if (times.length > 1) {
    const from = Math.min(...times.map((p) => p.respondedAt));
    const to = Math.max(...times.map((p) => arrived.get(p.email)));
    console.log(`BENCH delivery_rps ${(times.length / Math.max(0.001, (to - from) / 1000)).toFixed(0)}`);
  }
  console.log(`BENCH probes ${probes.length}`);
  console.log(`BENCH delivered ${lat.filter((x) => x.exact).length}`);
  console.log(`BENCH p50_s ${at(50)}`);
  console.log(`BENCH p99_s ${at(99)}`);
  console.log(`BENCH max_s ${at(100)}`);
}

async function count([capture]) {
  const r = await call('GET', `${capture}/health`);
  console.log(`BENCH emails ${JSON.parse(r.body).emails}`);
}

const [cmd, ...args] = process.argv.slice(2);
const commands = { flows, codes, probe, steady, match, count };
if (!commands[cmd]) {
  console.error(`usage: node client.mjs ${Object.keys(commands).join('|')} …`);
  process.exit(2);
}
try {
  await commands[cmd](args);
  agent.destroy();
} catch (err) {
  console.error(`client.mjs ${cmd}: ${err.message}`);
  process.exit(1);
}
