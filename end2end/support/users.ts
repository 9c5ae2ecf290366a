// Users of their own for the specs that need one, made with the operator command line
// (`portal user add`, `portal user set-password`) against this run's database while the server
// runs (SQLite in WAL mode takes the second writer). A spec that owns its users cannot be broken by
// another spec that resets or changes a demo user's password, whatever order they run in.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DEMO_PASSWORD } from './portal';

const root = path.resolve(__dirname, '..', '..');
const binary = path.join(root, 'target', 'release', 'portal');

function cli(args: string[], password: string): { ok: boolean; out: string } {
  const dataDir = process.env.E2E_PORTAL_DATA_DIR;
  if (!dataDir) throw new Error('E2E_PORTAL_DATA_DIR is not set (playwright.config.ts sets it)');
  try {
    const out = execFileSync(binary, args, {
      input: `${password}\n`,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        RUST_LOG: 'warn',
        PORTAL_CONFIG: '', // empty: no file layer
        PORTAL_DATA_DIR: dataDir,
        PORTAL_SECRET: process.env.E2E_PORTAL_SECRET ?? '',
        DATABASE_URL: `sqlite://${path.join(dataDir, 'portal.db')}?mode=rwc`,
      },
    });
    return { ok: true, out };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` || err.message };
  }
}

export interface OwnUser {
  email: string;
  name: string;
  password: string;
}

/**
 * A member with a password, created on first use. When it exists already (a second test, or
 * `--repeat-each`), a fresh password is set (the portal refuses one from the user's history,
 * from the command line as from the page), and the caller gets the one now in force.
 */
export function ensureUser(email: string, name: string, password: string = DEMO_PASSWORD): OwnUser {
  const added = cli(['user', 'add', '--email', email, '--name', name, '--password-stdin'], password);
  if (added.ok) return { email, name, password };
  if (!/exists/.test(added.out)) throw new Error(`portal user add ${email}: ${added.out}`);
  return { email, name, password: setPassword(email) };
}

/** A strong password never used before: the password history refuses a repeated one. */
export function freshPassword(): string {
  return `Tide-${randomBytes(4).toString('hex')}-Lantern-${randomBytes(2).readUInt16BE() % 90 + 10}`;
}

/**
 * Sets a user's password as an operator would (signs the user out everywhere) and returns it: a
 * fresh one unless given. With `requireChange` the user must choose a new one at the next
 * sign-in (/choose_password).
 */
export function setPassword(
  email: string,
  password: string = freshPassword(),
  { requireChange = false } = {},
): string {
  const args = ['user', 'set-password', '--email', email, '--password-stdin'];
  if (requireChange) args.push('--require-change');
  const r = cli(args, password);
  if (!r.ok) throw new Error(`portal user set-password ${email}: ${r.out}`);
  return password;
}
