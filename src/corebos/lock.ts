/**
 * The single-writer lock (DESIGN §5.8): MariaDB/MySQL GET_LOCK on one connection taken out of the
 * pool and held for the whole pass.
 *
 * Why a dedicated connection: a named lock belongs to the session that took it. Run through the
 * pool's rotation, GET_LOCK and RELEASE_LOCK would land on different sessions, and the lock would
 * vanish whenever the pool recycled its connection.
 *
 * If the process dies (kill -9, crash, network loss) the server ends the session and releases the
 * lock by itself, so a crashed pass never blocks the next one. The flip side: if the connection is
 * lost mid-pass, the lock is gone too; a keep-alive ping keeps an idle lock session from hitting
 * wait_timeout during long HubSpot phases, and `assertHeld()` lets the engine check before commits.
 *
 * Lock names are server-wide, and one server often hosts many CRMs: the name includes the database
 * (`lockNameFor`).
 */
import {createHash} from 'node:crypto'
import {CbhsError, EXIT} from '../errors.js'
import type {PassLock} from '../sync/ports.js'
import type {Pool, PoolConnection} from './connection.js'

/** GET_LOCK names are limited to 64 characters. */
const MAX_LOCK_NAME = 64
/** below MariaDB's default wait_timeout (8 h) and common hosting settings (60–600 s) */
const DEFAULT_KEEPALIVE_MS = 30_000

/** `cbhs:<database>`, hashed down when the database name would make it too long. */
export function lockNameFor(database: string, scope = 'pass'): string {
  const name = scope === 'pass' ? `cbhs:${database}` : `cbhs:${database}:${scope}`
  if (name.length <= MAX_LOCK_NAME) return name
  const hash = createHash('sha1').update(name).digest('hex').slice(0, 16)
  return `${name.slice(0, MAX_LOCK_NAME - 17)}~${hash}`
}

export class LockLostError extends CbhsError {
  constructor(name: string, cause?: unknown) {
    super('LOCK_LOST', `Lost the database lock '${name}' during the pass (the connection to the database dropped).`, {
      exitCode: EXIT.UNAVAILABLE,
      suggestion: 'Check the database connection; the next cron run resumes where this pass stopped.',
      cause,
    })
  }
}

export interface LockHolder {
  connectionId: number
  /** from information_schema.PROCESSLIST when visible to this user */
  user?: string
  host?: string
  /** seconds the holder's current command (usually Sleep) has been running */
  idleSeconds?: number
  /** the holder's open cbhs_run row, when it recorded one */
  run?: {id: number; command: string; startedAt: string; host: string | null; pid: number | null}
}

export class DbPassLock implements PassLock {
  private conn: PoolConnection | null = null
  private connectionIdValue: number | null = null
  private readonly held = new Set<string>()
  private keepalive: NodeJS.Timeout | null = null
  private lost: unknown = null
  private readonly onError = (error: unknown) => {
    this.lost = error
  }

  constructor(
    private readonly pool: Pool,
    private readonly options: {keepAliveMs?: number} = {},
  ) {}

  /** The session id holding our locks, once one was acquired (for cbhs_run.lock_connection_id). */
  get connectionId(): number | null {
    return this.connectionIdValue
  }

  async acquire(name: string): Promise<boolean> {
    if (this.held.has(name)) {
      // GET_LOCK is re-entrant per session and would need as many releases: count it once
      return true
    }
    const conn = await this.connection()
    const [rows] = await conn.query('SELECT GET_LOCK(?, 0) AS got', [name])
    const got = (rows as Array<{got: number | string | null}>)[0]?.got
    if (Number(got) === 1) {
      this.held.add(name)
      this.startKeepAlive()
      return true
    }
    if (this.held.size === 0) this.releaseConnection()
    return false
  }

  async release(name: string): Promise<void> {
    if (!this.held.has(name)) return
    this.held.delete(name)
    try {
      await this.conn?.query('SELECT RELEASE_LOCK(?)', [name])
    } catch (error) {
      // a dead session has released the lock already; it must not go back to the pool
      this.lost = error
    }
    if (this.held.size === 0) this.releaseConnection()
  }

  /** Releases every lock this instance holds (for finally blocks and signal handlers). */
  async releaseAll(): Promise<void> {
    for (const name of [...this.held]) await this.release(name)
  }

  async holder(name: string): Promise<{connectionId: number} | null> {
    const [rows] = await this.pool.query('SELECT IS_USED_LOCK(?) AS id', [name])
    const id = (rows as Array<{id: number | string | null}>)[0]?.id
    return id === null || id === undefined ? null : {connectionId: Number(id)}
  }

  /** Who holds the lock and since when, as far as this user can see. */
  async describeHolder(name: string): Promise<LockHolder | null> {
    const found = await this.holder(name)
    if (!found) return null
    const out: LockHolder = {connectionId: found.connectionId}
    try {
      const [rows] = await this.pool.query('SELECT USER AS user, HOST AS host, TIME AS time FROM information_schema.PROCESSLIST WHERE ID = ?', [
        found.connectionId,
      ])
      const row = (rows as Array<{user: string; host: string; time: number | string}>)[0]
      if (row) Object.assign(out, {user: row.user, host: row.host, idleSeconds: Number(row.time)})
    } catch {
      // PROCESSLIST may be hidden from this user; the connection id is still useful
    }
    try {
      const [rows] = await this.pool.query(
        'SELECT id, command, started_at, host, pid FROM cbhs_run WHERE lock_connection_id = ? AND finished_at IS NULL ORDER BY id DESC LIMIT 1',
        [found.connectionId],
      )
      const run = (rows as Array<{id: number | string; command: string; started_at: string; host: string | null; pid: number | string | null}>)[0]
      if (run) {
        out.run = {
          id: Number(run.id),
          command: run.command,
          startedAt: run.started_at.replace(' ', 'T') + 'Z',
          host: run.host,
          pid: run.pid === null ? null : Number(run.pid),
        }
      }
    } catch {
      // no cbhs_run table yet (setup not run): nothing more to tell
    }
    return out
  }

  /** Throws LockLostError when the session holding `name` is gone or no longer holds it. */
  async assertHeld(name: string): Promise<void> {
    if (!this.held.has(name) || !this.conn) throw new LockLostError(name, this.lost ?? undefined)
    try {
      const [rows] = await this.conn.query('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', [name])
      if (Number((rows as Array<{mine: number | null}>)[0]?.mine) !== 1) throw new LockLostError(name)
    } catch (error) {
      if (error instanceof LockLostError) throw error
      this.lost = error
      throw new LockLostError(name, error)
    }
  }

  private async connection(): Promise<PoolConnection> {
    if (this.conn) return this.conn
    const conn = await this.pool.getConnection()
    const [rows] = await conn.query('SELECT CONNECTION_ID() AS id')
    this.connectionIdValue = Number((rows as Array<{id: number | string}>)[0].id)
    this.lost = null
    // remember a dropped session: it is destroyed, not handed back to the pool
    conn.on('error', this.onError)
    this.conn = conn
    return conn
  }

  private startKeepAlive(): void {
    if (this.keepalive) return
    const every = this.options.keepAliveMs ?? DEFAULT_KEEPALIVE_MS
    this.keepalive = setInterval(() => {
      this.conn?.query('SELECT 1').catch((error: unknown) => {
        this.lost = error
      })
    }, every)
    // the ping must never keep a finished process alive
    this.keepalive.unref()
  }

  private releaseConnection(): void {
    if (this.keepalive) clearInterval(this.keepalive)
    this.keepalive = null
    const conn = this.conn
    this.conn = null
    if (!conn) return
    conn.removeListener('error', this.onError)
    if (this.lost) conn.destroy()
    else conn.release()
  }
}
