/**
 * The suite-wide secrets check (DESIGN §5.9). Tests that run cbhs use these secret-looking values
 * as the HubSpot token (emulator) and the database password (a MariaDB user global setup creates);
 * everything cbhs prints or stores is collected in the CBHS_TEST_CAPTURE file, and global teardown
 * fails the run if any of these values appears in it.
 *
 * The values look like the real thing on purpose (a HubSpot private-app token, a password with
 * shell and SQL metacharacters), so a leak through quoting or URL-encoding would still be caught.
 */
import {appendFileSync, readFileSync} from 'node:fs'
import mysql from 'mysql2/promise'
import type {TestDatabase, TestDbSettings} from './db.js'

export const SECRET_HUBSPOT_TOKEN = 'pat-eu1-testonly-3b2f-4c8d-9e6a-77f0c0ffee42'
export const SECRET_DB_PASSWORD = "Db-s3cr3t!pw#'x9Zq"
/** the MariaDB user that logs in with SECRET_DB_PASSWORD, granted the per-file test databases */
export const SECRET_DB_USER = 'cbhs_secret_t'

/** Every value that must never appear in any output, log, ledger row or run record. */
export const TEST_SECRETS: readonly string[] = [SECRET_HUBSPOT_TOKEN, SECRET_DB_PASSWORD]

/** Forms a secret may leak in besides its plain text (URL-encoded, JSON-escaped, base64 of a Bearer header). */
export function secretForms(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1), Buffer.from(secret).toString('base64')])
  return [...forms]
}

/** The secrets found in `text` (empty when clean). */
export function findSecrets(text: string, secrets: readonly string[] = TEST_SECRETS): string[] {
  return secrets.filter((s) => secretForms(s).some((form) => text.includes(form)))
}

/**
 * Creates (or resets) the MariaDB user that logs in with the secret password, allowed on every
 * cbhs_t_* test database. Called once by global setup with the server's admin account.
 */
export async function ensureSecretDbUser(server: Omit<TestDbSettings, 'database'>): Promise<void> {
  const conn = await mysql.createConnection(server)
  try {
    for (const host of ['127.0.0.1', 'localhost', '::1']) {
      await conn.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [SECRET_DB_USER, host, SECRET_DB_PASSWORD])
      await conn.query('ALTER USER ?@? IDENTIFIED BY ?', [SECRET_DB_USER, host, SECRET_DB_PASSWORD])
      // every per-file database is named cbhs_t_<pid>_<hex> (db.ts)
      await conn.query(`GRANT ALL PRIVILEGES ON \`cbhs\\_t\\_%\`.* TO ?@?`, [SECRET_DB_USER, host])
    }
  } finally {
    await conn.end()
  }
}

/**
 * createSyncEnv options that make cbhs use the secrets: the emulator wants the secret token and
 * cbhs logs in to the test database as the secret user.
 */
export function secretEnvOptions(): {emulator: {token: string}; env: Record<string, string>} {
  return {
    emulator: {token: SECRET_HUBSPOT_TOKEN},
    env: {CBHS_DB_USER: SECRET_DB_USER, CBHS_DB_PASSWORD: SECRET_DB_PASSWORD},
  }
}

/** Appends text to the capture file global teardown scans (no-op when the suite runs without one). */
export function capture(label: string, data: unknown): void {
  const file = process.env.CBHS_TEST_CAPTURE
  if (!file) return
  appendFileSync(file, `\n### ${label}\n${typeof data === 'string' ? data : JSON.stringify(data)}\n`)
}

/**
 * Dumps what cbhs stored for people to read (the ledger, run records, watermark messages, the
 * coreBOS errorlog mirror) into the capture file. Call before dropping a test database.
 */
export async function captureStoredState(testDb: TestDatabase, label = testDb.settings.database): Promise<void> {
  const tables: Array<[string, string]> = [
    ['cbhs_failure', 'SELECT * FROM cbhs_failure'],
    ['cbhs_run', 'SELECT * FROM cbhs_run'],
    ['cbhs_watermark', 'SELECT * FROM cbhs_watermark'],
    ['cb_messagequeue', 'SELECT * FROM cb_messagequeue'],
  ]
  for (const [name, sql] of tables) {
    try {
      capture(`${label} ${name}`, await testDb.query(sql))
    } catch {
      // a table cbhs did not create in this database (setup never ran) holds nothing to scan
    }
  }
}

/** Reads the capture file (empty string when there is none yet). */
export function readCapture(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}
