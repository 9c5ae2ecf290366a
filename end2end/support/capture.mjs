// What the portal delivers, caught for the end-to-end tests: one process with
//
//   (a) an SMTP server (nodemailer's smtp-server) on CAPTURE_SMTP_PORT that accepts every message
//       without auth or TLS and parses it with mailparser, so tests read the real MIME the
//       portal's lettre transport sent, not a copy of the template; and
//   (b) a Twilio-compatible HTTP fake on CAPTURE_HTTP_PORT:
//         POST   /2010-04-01/Accounts/:sid/Messages.json   form To/From/Body, basic auth sid:token
//         GET    /messages   captured emails [{to, from, subject, text, html, messageId, at}]
//         DELETE /messages   forget captured emails
//         GET    /sms        captured SMS [{sid, to, from, body, at}]
//         DELETE /sms        forget captured SMS
//         GET    /health     liveness, for Playwright's webServer wait
//
// STARTTLS is switched off because lettre's smtp:// transport upgrades opportunistically and this
// server has no certificate; that mirrors a local relay, not production.

import http from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const SMTP_PORT = Number(process.env.CAPTURE_SMTP_PORT ?? 2525);
const HTTP_PORT = Number(process.env.CAPTURE_HTTP_PORT ?? 3101);
const HOST = process.env.CAPTURE_HOST ?? '127.0.0.1';
const TWILIO_SID = process.env.CAPTURE_TWILIO_SID ?? 'ACtest';
const TWILIO_TOKEN = process.env.CAPTURE_TWILIO_TOKEN ?? 'secret-token';
const QUIET = process.env.CAPTURE_QUIET === '1';

/** @type {Array<{raw?: Buffer, at: string, envelopeTo: string[], to?: string, from?: string, subject?: string, text?: string, html?: string, messageId?: string}>} */
const emails = [];
/** @type {Array<{sid: string, to: string, from: string, body: string, at: string}>} */
const sms = [];
/** Twilio's idempotency header: a retried POST with the same token is answered, not stored twice. */
const smsByIdempotencyKey = new Map();

function log(...args) {
  if (!QUIET) console.log('[capture]', ...args);
}

/** The addresses of a mailparser AddressObject (or array of them), lower-cased. */
function addresses(field) {
  if (!field) return [];
  const list = Array.isArray(field) ? field : [field];
  return list.flatMap((a) => (a.value ?? []).map((v) => String(v.address ?? '').toLowerCase()));
}

// ---------------------------------------------------------------- SMTP

const smtp = new SMTPServer({
  secure: false,
  disabledCommands: ['STARTTLS'],
  authOptional: true,
  logger: false,
  banner: 'portal end-to-end capture',
  size: 10 * 1024 * 1024,
  // A message is accepted as soon as its bytes are in (that moment is its `at`), like a relay
  // that queues before it looks inside; it is parsed when someone reads /messages. Parsing MIME
  // in the SMTP dialogue made the capture, not the portal, the bottleneck under load.
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('error', (err) => callback(err));
    stream.on('end', () => {
      if (stream.sizeExceeded) {
        const e = new Error('message too large');
        e.responseCode = 552;
        callback(e);
        return;
      }
      const raw = Buffer.concat(chunks);
      if (raw.indexOf('\r\n\r\n') < 0) {
        // No header/body separator: not a message. 451, so the portal's outbox retries.
        const e = new Error('cannot parse message');
        e.responseCode = 451;
        callback(e);
        return;
      }
      emails.push({
        raw,
        at: new Date().toISOString(),
        envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
      });
      log(`email accepted (${raw.length} bytes)`);
      callback();
    });
  },
});

/** Parses what arrived since the last read; each message once. */
async function parsed() {
  for (const m of emails) {
    if (m.subject !== undefined) continue;
    const mail = await simpleParser(m.raw);
    const to = addresses(mail.to);
    Object.assign(m, {
      to: (to.length ? to : m.envelopeTo).join(', '),
      from: addresses(mail.from).join(', '),
      subject: mail.subject ?? '',
      text: mail.text ?? '',
      html: typeof mail.html === 'string' ? mail.html : '',
      messageId: mail.messageId ?? '',
    });
    delete m.raw;
  }
  return emails.map(({ to, from, subject, text, html, messageId, at }) => ({ to, from, subject, text, html, messageId, at }));
}
smtp.on('error', (err) => console.error('[capture] smtp error:', err.message));

// ---------------------------------------------------------------- HTTP

function send(res, status, body, headers = {}) {
  const json = JSON.stringify(body, null, 2);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(json);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 1024 * 1024) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sameString(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Basic auth as Twilio checks it: account SID as user, auth token as password. */
function authorised(req) {
  const header = req.headers.authorization ?? '';
  const match = /^Basic\s+(.+)$/i.exec(header);
  if (!match) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  return sameString(decoded.slice(0, colon), TWILIO_SID) && sameString(decoded.slice(colon + 1), TWILIO_TOKEN);
}

/** Twilio's error body shape: {code, message, more_info, status}. */
function twilioError(res, status, code, message, headers = {}) {
  send(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }, headers);
}

/** A message resource as Twilio answers it (the fields a client reads). */
function messageResource(m) {
  const created = new Date(m.at).toUTCString().replace('GMT', '+0000');
  return {
    sid: m.sid,
    account_sid: TWILIO_SID,
    api_version: '2010-04-01',
    to: m.to,
    from: m.from,
    body: m.body,
    status: 'queued',
    direction: 'outbound-api',
    num_segments: String(Math.max(1, Math.ceil(m.body.length / 153))),
    num_media: '0',
    price: null,
    price_unit: 'USD',
    error_code: null,
    error_message: null,
    messaging_service_sid: null,
    date_created: created,
    date_updated: created,
    date_sent: null,
    uri: `/2010-04-01/Accounts/${TWILIO_SID}/Messages/${m.sid}.json`,
    subresource_uris: { media: `/2010-04-01/Accounts/${TWILIO_SID}/Messages/${m.sid}/Media.json` },
  };
}

async function twilioCreate(req, res, sid) {
  if (!authorised(req) || sid !== TWILIO_SID) {
    twilioError(res, 401, 20003, 'Authenticate', { 'www-authenticate': 'Basic realm="Twilio API"' });
    return;
  }
  const type = String(req.headers['content-type'] ?? '');
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    twilioError(res, 400, 20001, 'Expected a form-urlencoded body');
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  const to = form.get('To') ?? '';
  const from = form.get('From') ?? '';
  const body = form.get('Body') ?? '';
  if (!to) return twilioError(res, 400, 21604, "A 'To' phone number is required.");
  if (!from) return twilioError(res, 400, 21603, "A 'From' phone number is required.");
  if (!body) return twilioError(res, 400, 21602, 'Message body is required.');
  if (!/^\+[1-9]\d{6,14}$/.test(to)) return twilioError(res, 400, 21211, `The 'To' number ${to} is not a valid phone number.`);

  const key = req.headers['i-twilio-idempotency-token'];
  if (typeof key === 'string' && smsByIdempotencyKey.has(key)) {
    send(res, 201, messageResource(smsByIdempotencyKey.get(key)));
    return;
  }
  const m = { sid: `SM${randomBytes(16).toString('hex')}`, to, from, body, at: new Date().toISOString() };
  sms.push(m);
  if (typeof key === 'string') smsByIdempotencyKey.set(key, m);
  log(`sms to ${to}`);
  send(res, 201, messageResource(m));
}

const MESSAGES_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    const twilio = MESSAGES_PATH.exec(url.pathname);
    if (twilio && req.method === 'POST') return await twilioCreate(req, res, decodeURIComponent(twilio[1]));
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /health':
        return send(res, 200, { status: 'ok', emails: emails.length, sms: sms.length });
      case 'GET /messages':
        return send(res, 200, await parsed());
      case 'DELETE /messages':
        emails.length = 0;
        res.writeHead(204).end();
        return;
      case 'GET /sms':
        return send(
          res,
          200,
          sms.map(({ sid, to, from, body, at }) => ({ sid, to, from, body, at })),
        );
      case 'DELETE /sms':
        sms.length = 0;
        smsByIdempotencyKey.clear();
        res.writeHead(204).end();
        return;
      default:
        return send(res, 404, { error: 'not_found', message: `no route for ${route}` });
    }
  } catch (err) {
    console.error('[capture] request failed:', err);
    if (!res.headersSent) send(res, 500, { error: 'internal', message: String(err?.message ?? err) });
    else res.destroy();
  }
});

function listen(target, port, name) {
  return new Promise((resolve, reject) => {
    target.once('error', reject);
    target.listen(port, HOST, () => {
      target.off('error', reject);
      log(`${name} listening on ${HOST}:${port}`);
      resolve();
    });
  });
}

try {
  await listen(smtp.server, SMTP_PORT, 'smtp');
  await listen(server, HTTP_PORT, 'http');
} catch (err) {
  console.error(`[capture] cannot start: ${err.message}`);
  process.exit(1);
}

function shutdown() {
  server.close();
  smtp.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
