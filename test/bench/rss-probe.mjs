// Preloaded into `node bin/run.js …` by the bench (node --import): on exit, writes the process's
// peak RSS (KiB) and what it asked of MariaDB to $BENCH_RSS_FILE as JSON, so the real binary is
// measured without changing it.
import {writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'

const file = process.env.BENCH_RSS_FILE
if (file) {
  const db = {statements: 0, busyMs: 0, byKind: {}}
  try {
    // mysql2's connection, by absolute path (its exports map hides it); the pool cbhs builds uses it
    const require = createRequire(join(process.cwd(), 'package.json'))
    const Base = require(join(dirname(require.resolve('mysql2')), 'lib/base/connection.js'))
    let inFlight = 0
    let since = 0
    for (const method of ['query', 'execute']) {
      const original = Base.prototype[method]
      Base.prototype[method] = function (...args) {
        const command = original.apply(this, args)
        const sql = typeof args[0] === 'string' ? args[0] : String(args[0]?.sql ?? '')
        const kind = sql.trim().replace(/\s+/g, ' ').slice(0, 70)
        const started = performance.now()
        db.statements++
        if (inFlight++ === 0) since = started
        command?.once?.('end', () => {
          const k = (db.byKind[kind] ??= {n: 0, ms: 0})
          k.n++
          k.ms += performance.now() - started
          if (--inFlight === 0) db.busyMs += performance.now() - since
        })
        return command
      }
    }
  } catch {
    // without the tally the RSS is still worth having
  }
  process.on('exit', () => {
    try {
      const slowest = Object.entries(db.byKind)
        .sort((a, b) => b[1].ms - a[1].ms)
        .slice(0, 5)
        .map(([sql, v]) => ({sql, n: v.n, ms: Math.round(v.ms)}))
      const upMs = Math.round(performance.now())
      writeFileSync(file, JSON.stringify({maxRssKb: process.resourceUsage().maxRSS, upMs, dbStatements: db.statements, dbBusyMs: Math.round(db.busyMs), slowest}))
    } catch {
      // a failed probe must not change the command's exit
    }
  })
}
