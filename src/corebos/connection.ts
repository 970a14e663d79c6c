/**
 * The mysql2 pool on the coreBOS database. DATETIMEs come back as strings (naive, in the install's
 * timezone, see reference corebos.md §6.9); connection failures become DatabaseUnavailableError
 * naming host and port, never the password.
 */
import mysql from 'mysql2/promise'
import {ConfigError, DatabaseUnavailableError, registerSecret} from '../errors.js'

export interface DbSettings {
  host: string
  port: number
  user: string
  password: string
  database: string
  /** the install's $default_timezone (IANA name) */
  timezone: string
}

export type Pool = mysql.Pool
export type PoolConnection = mysql.PoolConnection

export function createPool(settings: DbSettings, connectionLimit = 4): Pool {
  registerSecret(settings.password)
  return mysql.createPool({
    host: settings.host,
    port: settings.port,
    user: settings.user,
    password: settings.password,
    database: settings.database,
    dateStrings: true,
    // the tables are utf8mb3; utf8mb4 on the wire lets us detect 4-byte characters instead of mangling them
    charset: 'UTF8MB4_GENERAL_CI',
    connectionLimit,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
  })
}

// ER_CONNECTION_KILLED: a query whose session an admin (or the server) killed; the connection is gone
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'PROTOCOL_CONNECTION_LOST', 'EPIPE', 'ER_CONNECTION_KILLED', 'ER_SERVER_SHUTDOWN'])

/** Maps a mysql2 connection-level error to a CbhsError; returns other errors unchanged. */
export function classifyDbError(error: unknown, settings: Pick<DbSettings, 'host' | 'port' | 'user' | 'database'>): unknown {
  const err = error as {code?: string; errno?: number; message?: string}
  const where = `${settings.host}:${settings.port}`
  if (err?.code && UNREACHABLE.has(err.code)) {
    return new DatabaseUnavailableError('DB_UNREACHABLE', `Cannot reach the coreBOS database at ${where} (${err.code}).`, {
      suggestion: 'Check that MariaDB/MySQL runs and the host and port are right, then run `cbhs status`.',
      cause: error,
    })
  }
  if (err?.code === 'ER_ACCESS_DENIED_ERROR' || err?.code === 'ER_DBACCESS_DENIED_ERROR') {
    return new DatabaseUnavailableError('DB_AUTH_REFUSED', `The database at ${where} refused user '${settings.user}'.`, {
      suggestion: 'Check the database user and password (CBHS_DB_USER, CBHS_DB_PASSWORD or --corebos-dir).',
      cause: error,
    })
  }
  if (err?.code === 'ER_BAD_DB_ERROR') {
    return new ConfigError('DB_NOT_FOUND', `Database '${settings.database}' does not exist on ${where}.`, {
      suggestion: 'Check CBHS_DB_NAME or the $dbconfig of the coreBOS install given with --corebos-dir.',
      cause: error,
    })
  }
  return error
}

/** Opens one connection to prove the database answers, raising a classified error otherwise. */
export async function checkConnection(pool: Pool, settings: DbSettings): Promise<void> {
  try {
    const conn = await pool.getConnection()
    conn.release()
  } catch (error) {
    throw classifyDbError(error, settings)
  }
}

/** Runs `work` in one transaction on one connection; rolls back on any error. */
export async function inTransaction<T>(pool: Pool, work: (conn: PoolConnection) => Promise<T>): Promise<T> {
  const conn = await pool.getConnection()
  try {
    await conn.beginTransaction()
    const result = await work(conn)
    await conn.commit()
    return result
  } catch (error) {
    await conn.rollback().catch(() => undefined)
    throw error
  } finally {
    conn.release()
  }
}

/** Quotes an identifier that came from coreBOS metadata (never from user input). */
export function quoteIdent(name: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new ConfigError('BAD_IDENTIFIER', `Refusing the SQL identifier '${name}' found in coreBOS metadata.`, {
      suggestion: 'Inspect vtiger_field for that module; cbhs only accepts letters, digits and underscores.',
    })
  }
  return '`' + name + '`'
}
