// Hidden mode's timing, measured on the server: does asking for a code for an existing account
// take longer than for an unknown identifier (OWASP Forgot Password Cheat Sheet: "consistent
// response times")? For each request the script reads the server's request-duration histogram
// for /api/reset/start just before and just after it; the sum's difference is that request's
// time inside the server, untouched by the client, the network or wrk. Between requests it
// waits until every real message asked for so far was sent (decoys are never sent, and stay in
// the outbox until pruned), so a real message being sent never overlaps the next request.
// The order is ABBA, then BAAB, so drift on a shared machine falls on both sides alike.
//
//   node bench/hidden.mjs BASE TOKEN ROUNDS KNOWN_EMAIL UNKNOWN_EMAIL KNOWN_PHONE UNKNOWN_PHONE \
//     PROVIDER_EMAIL
//
// The third pair, "provider", is an account that signs in with Google against an unknown
// address: its owner is emailed where to reset (three times a day at most), after the answer.
//
// Prints "BENCH key value" lines: per channel the median time of each side (ms), and the
// difference: the median over the rounds of each round's known-minus-unknown mean. Pairing the
// requests of one round cancels the drift of a shared machine that separate medians keep.

const [base, token, roundsArg, ...idents] = process.argv.slice(2);
const rounds = Number(roundsArg);
const [knownEmail, unknownEmail, knownPhone, unknownPhone, providerEmail] = idents;
const auth = { authorization: `Bearer ${token}` };

async function metrics() {
  const res = await fetch(`${base}/metrics`, { headers: auth });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

// The histogram's sum for start requests, and the messages sent, from one scrape.
function read(text) {
  let sum = 0;
  let sent = 0;
  for (const line of text.split("\n")) {
    const value = Number(line.trim().split(/\s+/).pop());
    if (line.includes("http_request_duration_seconds_sum") && line.includes('route="/api/reset/start"')) {
      sum += value;
    } else if (line.startsWith("portal_notifications_total") && line.includes('outcome="sent"')) {
      sent += value;
    }
  }
  return { sum, sent };
}

let realAsked = 0;
let unsettled = 0;

async function settled() {
  const deadline = Date.now() + 5000;
  for (;;) {
    const m = read(await metrics());
    if (m.sent >= realAsked) return m;
    if (Date.now() > deadline) {
      unsettled++;
      return m;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function timed(identifier) {
  const before = await settled();
  const res = await fetch(`${base}/api/reset/start`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ identifier }),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`start for ${identifier} answered ${res.status}`);
  const after = read(await metrics());
  return (after.sum - before.sum) * 1000;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

for (const [channel, known, unknown] of [
  ["email", knownEmail, unknownEmail],
  ["phone", knownPhone, unknownPhone],
  ["provider", providerEmail, unknownEmail],
]) {
  const times = { known: [], unknown: [] };
  const paired = [];
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? ["known", "unknown", "unknown", "known"] : ["unknown", "known", "known", "unknown"];
    const round = { known: 0, unknown: 0 };
    for (const side of order) {
      const ms = await timed(side === "known" ? known : unknown);
      times[side].push(ms);
      round[side] += ms / 2;
      // A provider account's owner gets three notices a day; the rest are sent nothing.
      if (side === "known" && (channel !== "provider" || times.known.length <= 3)) realAsked++;
    }
    paired.push(round.known - round.unknown);
  }
  const k = median(times.known);
  const u = median(times.unknown);
  console.log(`BENCH ${channel}_known_ms ${k.toFixed(3)}`);
  console.log(`BENCH ${channel}_unknown_ms ${u.toFixed(3)}`);
  console.log(`BENCH ${channel}_diff_ms ${Math.abs(median(paired)).toFixed(3)}`);
  console.log(`BENCH ${channel}_n ${times.known.length}`);
}
// Requests that started while a real message was still being sent (its 5 s wait ran out).
console.log(`BENCH unsettled ${unsettled}`);
