/**
 * MariaDB undoes a transaction it picked as a deadlock victim (errno 1213) and a statement that
 * waited too long on a lock (1205), only because another transaction held what it needed: running
 * it again once that one is done is safe and usually succeeds. The state writers do, a few times,
 * so that two push batches in flight never turn a lock race into a failed record or a failed pass.
 */
import {inTransaction, type Pool, type PoolConnection} from './connection.js'

const LOCK_VICTIM_ERRNOS = new Set([1213, 1205])
/** runs in all; a fourth loss in a row is not a race any more and is thrown */
export const LOCK_ATTEMPTS = 4

export function isLockVictim(error: unknown): boolean {
  return LOCK_VICTIM_ERRNOS.has(Number((error as {errno?: number} | null)?.errno))
}

/** Runs `work` again, after a short growing pause, while it fails as a lock victim, at most `attempts` times in all. */
export async function retryLockVictim<T>(work: () => Promise<T>, attempts = LOCK_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      if (attempt >= attempts || !isLockVictim(error)) throw error
      // the winner is usually done within a few milliseconds; the jitter keeps two victims apart
      await new Promise((resolve) => setTimeout(resolve, attempt * 10 + Math.random() * 10))
    }
  }
}

/**
 * One transaction, run again whole when it loses a lock race. `readCommitted` leaves out the gap
 * locks REPEATABLE READ takes on a locking read that finds nothing: two of those on the same gap,
 * each followed by an INSERT into it, deadlock every time.
 */
export function inRetriedTransaction<T>(pool: Pool, work: (conn: PoolConnection) => Promise<T>, options: {readCommitted?: boolean} = {}): Promise<T> {
  return retryLockVictim(() => inTransaction(pool, work, options))
}
