// Reading what the portal delivered: emails caught by the SMTP capture and SMS caught by the
// Twilio fake (support/capture.mjs). A test learns a code or a link only from here, as a user
// would from their inbox or phone.

import type { APIRequestContext } from '@playwright/test';

export const CAPTURE_URL = `http://127.0.0.1:${process.env.CAPTURE_HTTP_PORT ?? '3101'}`;

export interface CapturedEmail {
  /** Recipient addresses, lower-case, comma-separated. */
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  /** ISO time the capture received it. */
  at: string;
}

export interface CapturedSms {
  /** The message SID the fake answered with ("SM…"). */
  sid: string;
  /** E.164, e.g. "+46701234567". */
  to: string;
  from: string;
  body: string;
  at: string;
}

export interface WaitOptions {
  /** How long to poll; outbox delivery is asynchronous. */
  timeout?: number;
  /** Messages to pass over (email `messageId`, SMS `sid`), e.g. an earlier code that must not be
   * mistaken for the new one. */
  notIds?: string[];
}

const POLL_MS = 200;

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function millis(since: number | Date) {
  return since instanceof Date ? since.getTime() : since;
}

async function fetchJson<T>(request: APIRequestContext, url: string): Promise<T> {
  const res = await request.get(url);
  if (!res.ok()) throw new Error(`GET ${url}: ${res.status()} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Every email the capture holds, oldest first. */
export async function allEmails(request: APIRequestContext): Promise<CapturedEmail[]> {
  return fetchJson<CapturedEmail[]>(request, `${CAPTURE_URL}/messages`);
}

/** Every SMS the fake Twilio holds, oldest first. */
export async function allSms(request: APIRequestContext): Promise<CapturedSms[]> {
  return fetchJson<CapturedSms[]>(request, `${CAPTURE_URL}/sms`);
}

/**
 * Waits for an email to `to` whose subject matches `subject`, received at or after `since`
 * (a `Date.now()` taken before the action that sends it), and returns the newest such email.
 */
export async function waitForEmail(
  request: APIRequestContext,
  to: string,
  subject: RegExp,
  since: number | Date,
  { timeout = 15_000, notIds = [] }: WaitOptions = {},
): Promise<CapturedEmail> {
  const after = millis(since);
  const who = to.toLowerCase();
  const deadline = Date.now() + timeout;
  let seen: CapturedEmail[] = [];
  for (;;) {
    seen = await allEmails(request);
    const matching = seen.filter(
      (m) =>
        m.to.split(/,\s*/).includes(who) &&
        subject.test(m.subject) &&
        Date.parse(m.at) >= after &&
        !notIds.includes(m.messageId),
    );
    if (matching.length > 0) return matching[matching.length - 1];
    if (Date.now() > deadline) break;
    await sleep(POLL_MS);
  }
  const summary = seen.map((m) => `  ${m.at} to ${m.to}: ${m.subject}`).join('\n') || '  (none)';
  throw new Error(
    `No email to ${to} with a subject matching ${subject} since ${new Date(after).toISOString()} ` +
      `within ${timeout} ms. Captured:\n${summary}`,
  );
}

/** Waits for an SMS to `to` (any spacing; compared as digits) received at or after `since`. */
export async function waitForSms(
  request: APIRequestContext,
  to: string,
  since: number | Date = 0,
  { timeout = 15_000, notIds = [] }: WaitOptions = {},
): Promise<CapturedSms> {
  const after = millis(since);
  const digits = (s: string) => s.replace(/[^\d]/g, '');
  const want = digits(to);
  const deadline = Date.now() + timeout;
  let seen: CapturedSms[] = [];
  for (;;) {
    seen = await allSms(request);
    const matching = seen.filter(
      (m) => digits(m.to) === want && Date.parse(m.at) >= after && !notIds.includes(m.sid),
    );
    if (matching.length > 0) return matching[matching.length - 1];
    if (Date.now() > deadline) break;
    await sleep(POLL_MS);
  }
  const summary = seen.map((m) => `  ${m.at} to ${m.to}`).join('\n') || '  (none)';
  throw new Error(
    `No SMS to ${to} since ${new Date(after).toISOString()} within ${timeout} ms. Captured:\n${summary}`,
  );
}

/** The 6-digit code of a reset email: from the subject ("…: 123456"), else the line it sits on. */
export function codeFrom(mail: CapturedEmail): string {
  const fromSubject = /(?:^|\D)(\d{6})\s*$/.exec(mail.subject);
  if (fromSubject) return fromSubject[1];
  const line = /^\s*(\d{6})\s*$/m.exec(mail.text);
  if (line) return line[1];
  throw new Error(`No 6-digit code in the email "${mail.subject}":\n${mail.text}`);
}

/** The `/reset#token=…` link of a reset email, from its plain-text part. */
export function linkFrom(mail: CapturedEmail): string {
  const m = /(https?:\/\/[^\s<>"]+\/reset#token=[A-Za-z0-9_\-.~%]+)/.exec(mail.text);
  if (!m) throw new Error(`No reset link in the email "${mail.subject}":\n${mail.text}`);
  return m[1];
}

/**
 * The code of a reset SMS: from the Web OTP line ("@host #123456") when there is one, else the
 * first 6-digit number.
 */
export function codeFromSms(sms: CapturedSms | string): string {
  const body = typeof sms === 'string' ? sms : sms.body;
  const otp = /^@\S+\s+#(\d{6})\s*$/m.exec(body) ?? /\b(\d{6})\b/.exec(body);
  if (!otp) throw new Error(`No 6-digit code in the SMS:\n${body}`);
  return otp[1];
}
