/**
 * Runs the real `cbhs` binary (bin/run.js on the compiled dist/) as a child process, the way cron
 * and users run it. Every run's output is also collected for the suite-wide secrets check.
 */
import {spawn} from 'node:child_process'
import {appendFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stdout parsed as JSON when it is JSON */
  json?: any
}

/** Where every CLI run's stdout/stderr is appended, so a test can scan all of it for secrets. */
export const CAPTURE_FILE = process.env.CBHS_TEST_CAPTURE ?? ''

export function runCli(
  args: string[],
  options: {env?: Record<string, string | undefined>; input?: string; timeoutMs?: number; cwd?: string} = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries({...process.env, ...options.env})) if (v !== undefined) env[k] = v
    // a test never inherits the developer's real secrets or config
    if (!options.env?.HUBSPOT_ACCESS_TOKEN) delete env.HUBSPOT_ACCESS_TOKEN
    env.NO_COLOR = '1'
    const child = spawn(process.execPath, [BIN, ...args], {cwd: options.cwd ?? ROOT, env, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (CAPTURE_FILE) appendFileSync(CAPTURE_FILE, `\n### cbhs ${args.join(' ')}\n${stdout}\n${stderr}`)
      let json: unknown
      try {
        json = JSON.parse(stdout)
      } catch {
        json = undefined
      }
      resolve({code, signal, stdout, stderr, json})
    })
    child.stdin.end(options.input ?? '')
  })
}
