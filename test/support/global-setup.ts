/**
 * Compiles src/ to dist/ once before the suite, so tests that run the real `cbhs` binary
 * (bin/run.js loads dist/commands) always see the code under test.
 */
import {execFileSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  execFileSync(process.execPath, [fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.json'], {
    cwd: root,
    stdio: 'inherit',
  })
}
