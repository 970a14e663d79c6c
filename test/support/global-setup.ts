/**
 * Compiles src/ to dist/ once before the suite, so tests that run the real `cbhs` binary
 * (bin/run.js loads dist/commands) always see the code under test. Type errors do not stop the
 * emit; `npm test` runs the typecheck on its own first.
 *
 * Also the suite-wide secrets check (test/support/secrets.ts): every CLI run's output and the state
 * tests dump goes to one capture file, and teardown fails the run if a test secret is in it.
 */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {testServer} from './db.js'
import {ensureSecretDbUser, findSecrets, readCapture} from './secrets.js'

export default async function setup(): Promise<() => void> {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url))
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], {cwd: root, encoding: 'utf8'})
  if (result.status !== 0 && result.stdout) process.stderr.write(`tsc reported (dist was still emitted):\n${result.stdout}\n`)

  // workers are forked after global setup, so they inherit this variable (test/support/cli.ts reads it)
  const dir = mkdtempSync(join(tmpdir(), 'cbhs-capture-'))
  const file = join(dir, 'capture.log')
  process.env.CBHS_TEST_CAPTURE = file
  await ensureSecretDbUser(testServer())

  return () => {
    const text = readCapture(file)
    const leaked = findSecrets(text)
    if (leaked.length > 0) {
      const lines = text.split('\n').filter((line) => findSecrets(line, leaked).length > 0).slice(0, 5)
      // the capture file stays for inspection; the message names which secret, never its value.
      // vitest reports a teardown error but still exits 0, so the exit code is set here as well
      process.exitCode = 1
      throw new Error(`secrets check: ${leaked.length} test secret(s) appeared in cbhs output or stored state (see ${file}); first lines:\n${lines.map((l) => l.replace(/\S{6,}/g, (w) => (findSecrets(w, leaked).length ? '<SECRET>' : w)).slice(0, 300)).join('\n')}`)
    }
    process.stderr.write(`secrets check: ${text.length} bytes of cbhs output and stored state scanned, no test secret found\n`)
    rmSync(dir, {recursive: true, force: true})
  }
}
