// End-to-end tests of the password-reset portal: the real release binary serving the built SPA
// (../dist) against a fresh SQLite database with the demo data, real SMTP delivery into a capture
// server and SMS through a Twilio-compatible fake (support/capture.mjs). Tests read codes and links
// only from what was delivered there.
//
// Run (from end2end/, after `cargo build --release -p server` and `script/build-web`):
//   npm ci && npx playwright test
// Chromium is Debian's (/usr/bin/chromium, `apt-get install chromium`); `playwright install` is not
// used. Ports: E2E_PORTAL_PORT (3100), CAPTURE_SMTP_PORT (2525), CAPTURE_HTTP_PORT (3101).
// Server logs: E2E_PORTAL_RUST_LOG=info (default warn). Each run's database is kept in
// .run/data-*/ until the next run, for a look after a failure.

import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { defineConfig, devices } from '@playwright/test';

const here = __dirname;
const root = path.resolve(here, '..');

// Workers load this file too and inherit the runner's environment: defaults are written into
// process.env once, so every process agrees on the ports and on the one data directory.
process.env.E2E_PORTAL_PORT ??= '3100';
process.env.CAPTURE_SMTP_PORT ??= '2525';
process.env.CAPTURE_HTTP_PORT ??= '3101';
// The server's secret, shared with the operator CLI the specs run (support/users.ts), so the
// confirmation mail a CLI password change queues opens in the server's outbox worker.
process.env.E2E_PORTAL_SECRET ??= 'e2e0'.repeat(16);
const portalPort = process.env.E2E_PORTAL_PORT;
const smtpPort = process.env.CAPTURE_SMTP_PORT;
const captureHttpPort = process.env.CAPTURE_HTTP_PORT;
const baseURL = `http://127.0.0.1:${portalPort}`;

if (!process.env.E2E_PORTAL_DATA_DIR) {
  // The runner: drop the previous runs' databases and start this run with an empty one, which
  // `portal serve --demo` seeds with the demo users.
  const runs = path.join(here, '.run');
  mkdirSync(runs, { recursive: true });
  for (const old of readdirSync(runs)) {
    if (old.startsWith('data-')) rmSync(path.join(runs, old), { recursive: true, force: true });
  }
  const dir = path.join(runs, `data-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  process.env.E2E_PORTAL_DATA_DIR = dir;
}
const dataDir = process.env.E2E_PORTAL_DATA_DIR;

const twilio = { sid: 'ACtest', token: 'secret-token', from: '+46700000000' };

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  // One browser at a time against one server and one database: the specs share the demo
  // account, and the machine is small. Isolation comes from each spec using its own demo users.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    locale: 'en-US',
    timezoneId: 'Europe/Stockholm',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
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
        },
      },
    },
  ],
  webServer: [
    {
      name: 'capture',
      command: 'node support/capture.mjs',
      url: `http://127.0.0.1:${captureHttpPort}/health`,
      cwd: here,
      reuseExistingServer: false,
      timeout: 15_000,
      stdout: 'ignore',
      env: {
        CAPTURE_SMTP_PORT: smtpPort,
        CAPTURE_HTTP_PORT: captureHttpPort,
        CAPTURE_TWILIO_SID: twilio.sid,
        CAPTURE_TWILIO_TOKEN: twilio.token,
      },
    },
    {
      name: 'portal',
      // exec: the signal Playwright sends at the end reaches the server, not only the shell.
      command: `exec "${path.join(root, 'target/release/portal')}" serve --demo`,
      url: `${baseURL}/readyz`,
      cwd: dataDir,
      // Never someone else's server: the tests need this run's fresh database.
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
      gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
      env: {
        RUST_LOG: process.env.E2E_PORTAL_RUST_LOG ?? 'warn',
        PORTAL_CONFIG: '', // empty: no file layer
        PORTAL_BIND: `127.0.0.1:${portalPort}`,
        PORTAL_PUBLIC_URL: baseURL,
        PORTAL_DATA_DIR: dataDir,
        DATABASE_URL: `sqlite://${path.join(dataDir, 'portal.db')}?mode=rwc`,
        PORTAL_STATIC_DIR: path.join(root, 'dist'),
        PORTAL_SECRET: process.env.E2E_PORTAL_SECRET,
        PORTAL_LOG_FORMAT: 'text',
        PORTAL_HIDE_ACCOUNT_EXISTENCE: 'false',
        SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        MAIL_FROM: 'no-reply@example.com',
        SMS_PROVIDER: 'twilio',
        TWILIO_ACCOUNT_SID: twilio.sid,
        TWILIO_AUTH_TOKEN: twilio.token,
        TWILIO_FROM: twilio.from,
        TWILIO_API_BASE: `http://127.0.0.1:${captureHttpPort}`,
        // Every test comes from 127.0.0.1: the per-IP caps (60 and 120 an hour) would trip long
        // before the per-account rules the specs exercise.
        PORTAL_IP_REQUESTS_PER_HOUR: '10000',
        PORTAL_IP_VERIFICATIONS_PER_HOUR: '10000',
        // The resend cooldown is 60 s (doubling per resend) by default; 2 s lets the resend test
        // wait for the real countdown instead of skipping it.
        PORTAL_RESEND_COOLDOWN_SECS: '2',
      },
    },
  ],
});
