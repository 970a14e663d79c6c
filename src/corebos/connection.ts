/**
 * The mysql2 pool on the coreBOS database. DATETIMEs come back as strings (naive, in the install's
 * timezone, see reference corebos.md §6.9); connection failures become DatabaseUnavailableError
 * naming host and port, never the password.
 */
import mysql from 'mysql2/promise'
import {CbhsError, ConfigError, DatabaseUnavailableError, registerSecret} from '../errors.js'

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

/**
 * What a command needs on the coreBOS database (README "Database privileges"). A pass reads and
 * writes the coreBOS tables and the cbhs_* tables; setup also creates tables, columns and indexes; a
 * dry run, status and setup --dry-run only read (GET_LOCK needs no privilege).
 */
export const NEEDED_PRIVILEGES = {
  setup: ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'ALTER', 'INDEX'],
  pass: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  read: ['SELECT'],
} as const satisfies Record<string, readonly string[]>
export type DbPurpose = keyof typeof NEEDED_PRIVILEGES

/** How a command uses the database, for the error that says what it lacks. */
export interface DbUse {
  /** the command, as the user typed it (`push --dry-run`) */
  command?: string
  purpose?: DbPurpose
  /** CURRENT_USER() of the session, `'user'@'host'` (see currentAccount) */
  account?: string
}

export interface MissingPrivilege {
  /** SELECT, UPDATE, CREATE, ... as MySQL names it; null when the server does not say (no access to the database at all) */
  privilege: string | null
  /** `db`.`table`, `db`.`table`.`column`, `db`, or null for a global privilege */
  object: string | null
  /** 'global' privileges (SUPER, PROCESS, ...) are granted ON *.*, the others ON db.* */
  scope: 'database' | 'global'
  /** the account the server named in its message, when it names one */
  account?: string
}

const ER_DBACCESS_DENIED_ERROR = 1044
const ER_TABLEACCESS_DENIED_ERROR = 1142
const ER_COLUMNACCESS_DENIED_ERROR = 1143
const ER_SPECIFIC_ACCESS_DENIED_ERROR = 1227

const QUOTED = String.raw`[\`'"]?([^\`'"]+)[\`'"]?`
const ACCOUNT = String.raw`'([^']*)'@'([^']*)'`

/**
 * The privilege a server error says is missing, or null when the error is not a privilege error.
 * ER_ACCESS_DENIED_ERROR (1045) is not one: that is a wrong user or password.
 */
export function missingPrivilege(error: unknown, database?: string): MissingPrivilege | null {
  const err = error as {errno?: number; sqlMessage?: string; message?: string}
  const text = err?.sqlMessage ?? err?.message ?? ''
  const qualify = (table: string, db?: string) => `\`${db ?? database ?? '?'}\`.\`${table}\``
  switch (err?.errno) {
    case ER_TABLEACCESS_DENIED_ERROR: {
      // MariaDB: "UPDATE command denied to user 'u'@'h' for table `db`.`t`"; MySQL 5.7: "... for table 't'"
      const m = new RegExp(String.raw`^([A-Z ]+?) command denied to user ${ACCOUNT} for table (?:${QUOTED}\.)?${QUOTED}`).exec(text)
      if (!m) return {privilege: null, object: null, scope: 'database'}
      return {privilege: m[1], object: qualify(m[5], m[4]), scope: 'database'}
    }
    case ER_COLUMNACCESS_DENIED_ERROR: {
      const m = new RegExp(String.raw`^([A-Z ]+?) command denied to user ${ACCOUNT} for column ${QUOTED} in table ${QUOTED}`).exec(text)
      if (!m) return {privilege: null, object: null, scope: 'database'}
      return {privilege: m[1], object: `${qualify(m[5])}.\`${m[4]}\``, scope: 'database'}
    }
    case ER_DBACCESS_DENIED_ERROR: {
      // at login: the user and password are right, but the account may not use this database at all
      const m = new RegExp(String.raw`for user ${ACCOUNT} to database ${QUOTED}`).exec(text)
      return {privilege: null, object: m ? `\`${m[3]}\`` : database ? `\`${database}\`` : null, scope: 'database', account: m ? `'${m[1]}'@'${m[2]}'` : undefined}
    }
    case ER_SPECIFIC_ACCESS_DENIED_ERROR: {
      const m = /the ([A-Z_ ,]+?) privilege/.exec(text)
      return {privilege: m ? m[1] : null, object: null, scope: 'global'}
    }
    default:
      return null
  }
}

/** The session's account as GRANT spells it, `'user'@'host'`, from CURRENT_USER(). */
export async function currentAccount(conn: Pick<Pool, 'query'>): Promise<string | undefined> {
  try {
    const [rows] = await conn.query('SELECT CURRENT_USER() AS account')
    const account = String((rows as Array<{account: string}>)[0]?.account ?? '')
    const at = account.lastIndexOf('@')
    if (at < 0) return undefined
    return `'${account.slice(0, at).replace(/'/g, "''")}'@'${account.slice(at + 1).replace(/'/g, "''")}'`
  } catch {
    return undefined
  }
}

/** Errors after which nothing the pass does on the database can succeed: they stop it instead of failing one record. */
export function stopsThePass(error: unknown): boolean {
  const code = (error as {code?: string})?.code ?? ''
  return UNREACHABLE.has(code) || /^(ECONN|PROTOCOL_)/.test(code) || code === 'ER_ACCESS_DENIED_ERROR' || missingPrivilege(error) !== null
}

/**
 * Maps a mysql2 error that is about the connection, the credentials or the account's privileges to
 * a CbhsError; returns other errors unchanged. A missing privilege names the privilege, the object
 * and the GRANT to run; it is exit 3 for setup (not set up yet) and exit 4 for everything else.
 */
export function classifyDbError(error: unknown, settings: Pick<DbSettings, 'host' | 'port' | 'user' | 'database'>, use: DbUse = {}): unknown {
  if (error instanceof CbhsError) return error
  const err = error as {code?: string; errno?: number; message?: string}
  const where = `${settings.host}:${settings.port}`
  if (err?.code && UNREACHABLE.has(err.code)) {
    return new DatabaseUnavailableError('DB_UNREACHABLE', `Cannot reach the coreBOS database at ${where} (${err.code}).`, {
      suggestion: 'Check that MariaDB/MySQL runs and the host and port are right, then run `cbhs status`.',
      cause: error,
    })
  }
  if (err?.code === 'ER_ACCESS_DENIED_ERROR') {
    return new DatabaseUnavailableError('DB_AUTH_REFUSED', `The database at ${where} refused user '${settings.user}' (wrong user name or password).`, {
      suggestion: 'Check the database user and password (CBHS_DB_USER, CBHS_DB_PASSWORD or --corebos-dir).',
      cause: error,
    })
  }
  const missing = missingPrivilege(error, settings.database)
  if (missing) return privilegeError(missing, settings, use, error)
  if (err?.code === 'ER_BAD_DB_ERROR') {
    return new ConfigError('DB_NOT_FOUND', `Database '${settings.database}' does not exist on ${where}.`, {
      suggestion: 'Check CBHS_DB_NAME or the $dbconfig of the coreBOS install given with --corebos-dir.',
      cause: error,
    })
  }
  return error
}

function privilegeError(missing: MissingPrivilege, settings: Pick<DbSettings, 'user' | 'database'>, use: DbUse, cause: unknown): CbhsError {
  const purpose = use.purpose ?? 'pass'
  const command = use.command ? `cbhs ${use.command}` : 'cbhs'
  const account = use.account ?? missing.account ?? `'${settings.user.replace(/'/g, "''")}'@'%'`
  const needed: readonly string[] = NEEDED_PRIVILEGES[purpose]
  const what = missing.privilege === null ? (missing.scope === 'global' ? 'a global privilege' : 'any privilege') : `the ${missing.privilege} privilege`
  const message = `The database user ${account} lacks ${what}${missing.object ? ` on ${missing.object}` : ''}, which ${command} needs (${needed.join(', ')}).`
  const grant =
    missing.scope === 'global'
      ? `GRANT ${missing.privilege ?? 'SUPER'} ON *.* TO ${account};`
      : `GRANT ${[...new Set([...needed, ...(missing.privilege ? [missing.privilege] : [])])].join(', ')} ON \`${settings.database}\`.* TO ${account};`
  const options = {
    suggestion: `As a database administrator run: ${grant} then run the command again (README "Database privileges").`,
    data: {privilege: missing.privilege, object: missing.object, account, grant},
    cause,
  }
  return purpose === 'setup' ? new ConfigError('DB_PRIVILEGE_MISSING', message, options) : new DatabaseUnavailableError('DB_PRIVILEGE_MISSING', message, options)
}

/** Opens one connection to prove the database answers, raising a classified error otherwise; returns CURRENT_USER(). */
export async function checkConnection(pool: Pool, settings: DbSettings, use: DbUse = {}): Promise<string | undefined> {
  let conn: PoolConnection
  try {
    conn = await pool.getConnection()
  } catch (error) {
    throw classifyDbError(error, settings, use)
  }
  try {
    return await currentAccount(conn)
  } finally {
    conn.release()
  }
}

/** Runs `work` in one transaction on one connection; rolls back on any error. */
export async function inTransaction<T>(pool: Pool, work: (conn: PoolConnection) => Promise<T>, options: {readCommitted?: boolean} = {}): Promise<T> {
  const conn = await pool.getConnection()
  try {
    // applies to the next transaction of this connection only
    if (options.readCommitted) await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED')
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
