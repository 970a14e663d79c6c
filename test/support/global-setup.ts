/**
 * Compiles src/ to dist/ once before the suite, so tests that run the real `cbhs` binary
 * (bin/run.js loads dist/commands) always see the code under test. Type errors do not stop the
 * emit; `npm test` runs the typecheck on its own first.
 */
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url))
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], {cwd: root, encoding: 'utf8'})
  if (result.status !== 0 && result.stdout) process.stderr.write(`tsc reported (dist was still emitted):\n${result.stdout}\n`)
}
