/**
 * Every example a user reads runs as written: each command's --help examples, every `cbhs` line of
 * the README's shell blocks, and the README's cron line under a cron-like environment. The only
 * substitutions are the install paths (/var/www/corebos, /opt/cbhs, /etc/cbhs/token, the log file),
 * which point into a temporary workspace holding a real config.inc.php for the test database.
 */
import {spawn} from 'node:child_process'
import {chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, ROOT} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

interface Example {
  source: string
  command: string
}

function helpExamples(): Example[] {
  const out: Example[] = []
  const commandsDir = join(ROOT, 'src/commands')
  const files = readdirSync(commandsDir, {recursive: true}).map(String).filter((f) => f.endsWith('.ts'))
  for (const file of files) {
    const id = file.replace(/\.ts$/, '').split('/').join(':')
    const text = readFileSync(join(commandsDir, file), 'utf8')
    for (const m of text.matchAll(/<%= config\.bin %> <%= command\.id %>([^'"`]*)/g)) {
      out.push({source: `cbhs ${id} --help`, command: `cbhs ${id}${m[1]}`.trim()})
    }
  }
  return out
}

function readmeExamples(): Example[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const out: Example[] = []
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of block[1].split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').trim()
      if (/^cbhs\s/.test(line) || /^\.\/bin\/run\.js\s/.test(line)) out.push({source: 'README', command: line})
    }
  }
  return out
}

function readmeCronLine(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const block = /```cron\n([\s\S]*?)```/.exec(readme)![1]
  const line = block.split('\n').find((l) => l.includes(' sync '))!
  // the five schedule fields, then the command as cron hands it to /bin/sh
  return line.split(/\s+/).slice(5).join(' ')
}

/** What a user's environment would hold; the install paths point into the workspace. */
function substitute(command: string, workspace: string): string {
  return command
    .replaceAll('/var/www/corebos', join(workspace, 'corebos'))
    .replaceAll('/opt/cbhs', ROOT.replace(/\/$/, ''))
    .replaceAll('/etc/cbhs/token', join(workspace, 'token'))
    .replaceAll('/var/log/cbhs.log', join(workspace, 'cbhs.log'))
}

function sh(command: string, options: {cwd: string; env: Record<string, string>; timeoutMs?: number}): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
}

describe('documented examples run as written', () => {
  let env: SyncEnv
  let workspace: string
  let userEnv: Record<string, string>

  beforeAll(async () => {
    env = await createSyncEnv()
    const [account] = await env.create('Accounts', [{accountname: 'Docs Ltd'}])
    await env.create('Contacts', [{lastname: 'Reader', email: 'reader@docs.test', account_id: String(account)}])
    workspace = mkdtempSync(join(tmpdir(), 'cbhs-docs-'))
    mkdirSync(join(workspace, 'corebos'))
    const db = env.testDb.settings
    writeFileSync(
      join(workspace, 'corebos/config.inc.php'),
      `<?php\n$dbconfig['db_server'] = '${db.host}';\n$dbconfig['db_port'] = ':${db.port}';\n$dbconfig['db_username'] = '${db.user}';\n` +
        `$dbconfig['db_password'] = '${db.password}';\n$dbconfig['db_name'] = '${db.database}';\n$default_timezone = 'UTC';\n`,
    )
    writeFileSync(join(workspace, 'token'), `${env.emu.token}\n`, {mode: 0o600})
    cpSync(join(ROOT, 'maps'), join(workspace, 'maps'), {recursive: true})
    mkdirSync(join(workspace, 'bin'))
    writeFileSync(join(workspace, 'bin/cbhs'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
    chmodSync(join(workspace, 'bin/cbhs'), 0o755)
    userEnv = {
      PATH: `${join(workspace, 'bin')}:/usr/bin:/bin`,
      HOME: workspace,
      NO_COLOR: '1',
      ...env.env,
    }
  })
  afterAll(async () => env?.close())

  const examples = [...helpExamples(), ...readmeExamples()]

  it('collects the examples of every command and of the README', () => {
    const commands = new Set(examples.map((e) => e.command.split(/\s+/)[1]))
    for (const c of ['setup', 'push', 'pull', 'sync', 'reconcile', 'status', 'map:validate', 'emulator']) expect(commands).toContain(c)
    expect(examples.filter((e) => e.source === 'README').length).toBeGreaterThanOrEqual(6)
  })

  it.each(examples.filter((e) => !e.command.startsWith('cbhs emulator')).map((e) => [e.source, e.command]))('%s: %s', async (_source, command) => {
    const named = /--(?:dismiss|failure) (\d+)/.exec(command)
    if (named) {
      // the open failure the example names
      await env.testDb.query(
        "REPLACE INTO cbhs_failure (id, module, direction, crmid, record_key, open_flag, category, message, attempts, first_failed_at, last_failed_at, next_retry_at) VALUES (?, 'Contacts', 'push', ?, ?, 1, 'TEST', 'example failure', 1, UTC_TIMESTAMP(), UTC_TIMESTAMP(), DATE_ADD(UTC_TIMESTAMP(), INTERVAL 1 DAY))",
        [Number(named[1]), 999_000 + Number(named[1]), `crm:${999_000 + Number(named[1])}`],
      )
    }
    // the README's ./bin/run.js lines run inside the clone, the rest wherever the user is
    const r = await sh(substitute(command, workspace), {cwd: command.startsWith('./bin/') ? ROOT : workspace, env: userEnv})
    // 0, or 5 where records failed or sync is unhealthy: both are documented outcomes, not breakage
    expect([0, 5], `${command}\n${r.stderr}`).toContain(r.code)
    expect(r.stderr).not.toMatch(/This is a bug|Error: /)
  })

  it.each(examples.filter((e) => e.command.startsWith('cbhs emulator')).map((e) => [e.source, e.command]))('%s: %s (until SIGTERM)', async (_source, command) => {
    const child = spawn('/bin/sh', ['-c', `exec ${command.replace('--port 8089', '--port 0')}`], {cwd: workspace, env: userEnv, stdio: ['ignore', 'pipe', 'pipe']})
    const firstLine = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d))))
    expect(firstLine).toMatch(/http:\/\/127\.0\.0\.1:\d+/)
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', resolve)
      child.kill('SIGTERM')
    })
    expect(code).toBe(0)
  })

  it("the README's cron line works from cron's environment and logs timestamped lines", async () => {
    const line = substitute(readmeCronLine(), workspace)
    // cron: /bin/sh, PATH=/usr/bin:/bin, no terminal; the emulator stands in for api.hubapi.com
    const cronEnv = {PATH: '/usr/bin:/bin', HOME: workspace, SHELL: '/bin/sh', CBHS_HUBSPOT_URL: env.emu.url}
    const r = await sh(line, {cwd: '/', env: cronEnv})
    const log = readFileSync(join(workspace, 'cbhs.log'), 'utf8')
    expect(r.code, log).toBe(0)
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (pull|push) \w+: /m)
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ run #\d+ sync exit 0 in [\d.]+ s: pulled \d+.*, pushed \d+/m)
    expect(log).not.toContain(env.emu.token)
  })
})
