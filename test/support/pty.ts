/**
 * Runs the real `cbhs` binary under a pseudo-terminal of a given width, as a person at a terminal
 * does, through util-linux `script` (no native module needed). stdout and stderr both reach the
 * terminal, so the output is what the person sees, ANSI sequences removed.
 */
import {spawn} from 'node:child_process'
import {BIN, ROOT} from './cli.js'

export interface PtyResult {
  code: number | null
  /** what the terminal showed, ANSI escapes and carriage returns removed */
  screen: string
}

const ANSI = /\u001B(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007]*\u0007|[@-Z\\-_])/g

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

export function runInTerminal(args: string[], options: {columns: number; env?: Record<string, string>; timeoutMs?: number}): Promise<PtyResult> {
  const command = `stty cols ${options.columns} rows 50; exec ${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(' ')}`
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries({...process.env, ...options.env})) if (v !== undefined) env[k] = v
    delete env.COLUMNS
    env.TERM = 'xterm-256color'
    const child = spawn('script', ['-qfec', command, '/dev/null'], {cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, screen: out.replace(ANSI, '').replace(/\r\n/g, '\n')})
    })
    child.stdin.end()
  })
}

/** The lines of a screen as a terminal shows them: a carriage return redraws the line from its start. */
export function screenLines(screen: string): string[] {
  return screen.split('\n').map((line) => line.split('\r').pop() ?? '')
}
