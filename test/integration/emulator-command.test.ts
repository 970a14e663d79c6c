/**
 * `cbhs emulator` as a process: start it, use it with the official HubSpot client, stop it with a
 * signal. It must not need (or read) any cbhs configuration.
 */
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {Client} from '@hubspot/api-client'
import {afterEach, describe, expect, it} from 'vitest'
import {BIN, ROOT} from '../support/cli.js'

interface Running {
  child: ChildProcessWithoutNullStreams
  /** the first stdout line */
  firstLine: Promise<string>
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string}>
}

const running: ChildProcessWithoutNullStreams[] = []

function start(args: string[], env: Record<string, string | undefined> = {}): Running {
  const merged: Record<string, string> = {}
  for (const [k, v] of Object.entries({...process.env, NO_COLOR: '1', ...env})) if (v !== undefined) merged[k] = v
  const child = spawn(process.execPath, [BIN, 'emulator', ...args], {cwd: ROOT, env: merged})
  running.push(child)
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d
      const nl = stdout.indexOf('\n')
      if (nl >= 0) resolve(stdout.slice(0, nl))
    })
    child.on('close', () => reject(new Error(`exited before printing a line: ${stderr}`)))
  })
  firstLine.catch(() => undefined)
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string}>((resolve) => {
    child.on('close', (code, signal) => resolve({code, signal, stdout, stderr}))
  })
  return {child, firstLine, exited}
}

afterEach(() => {
  // a failed assertion must not leave an emulator running
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

describe('cbhs emulator', () => {
  it('--json prints {url, port} once; the official client creates and reads a contact; SIGTERM exits 0', async () => {
    // a config file that does not exist proves the command never loads the configuration
    const emu = start(['--port', '0', '--json'], {CBHS_CONFIG: '/nonexistent/cbhs.json', CBHS_DB_HOST: '192.0.2.1'})
    const started = JSON.parse(await emu.firstLine)
    expect(started).toEqual({url: `http://127.0.0.1:${started.port}`, port: expect.any(Number)})
    expect(started.port).toBeGreaterThan(0)

    const client = new Client({accessToken: 'emulator-token', basePath: started.url})
    const created = await client.crm.contacts.basicApi.create({properties: {email: 'ada@example.com', firstname: 'Ada', lastname: 'Lovelace'}, associations: []})
    const read = await client.crm.contacts.basicApi.getById(created.id, ['email', 'firstname', 'lastname'])
    expect(read.properties).toMatchObject({email: 'ada@example.com', firstname: 'Ada', lastname: 'Lovelace'})

    emu.child.kill('SIGTERM')
    const done = await emu.exited
    expect(done.code).toBe(0)
    expect(done.signal).toBeNull()
    // exactly one JSON document: nothing else on stdout, not even an envelope at exit
    expect(done.stdout).toBe(`${JSON.stringify(started)}\n`)
  })

  it('prints one line pointing cbhs at it (the public default token), Ctrl+C exits 0', async () => {
    const emu = start([])
    const line = await emu.firstLine
    const match = /^HubSpot emulator on (http:\/\/127\.0\.0\.1:(\d+)) .*: CBHS_HUBSPOT_URL=\1 HUBSPOT_ACCESS_TOKEN=emulator-token cbhs push$/.exec(line)
    expect(match, line).not.toBeNull()
    const health = await fetch(`${match![1]}/crm/v3/objects/contacts?limit=1`, {headers: {authorization: 'Bearer emulator-token'}})
    expect(health.status).toBe(200)
    emu.child.kill('SIGINT')
    const done = await emu.exited
    expect(done.code).toBe(0)
    expect(done.stdout.trimEnd().split('\n')).toHaveLength(1)
  })

  it('never prints a token given with --token, but requires it', async () => {
    const token = 'pat-demo-own-token-4242'
    const emu = start(['--token', token, '--tier', 'starter', '--search-lag-ms', '500', '--portal-id', '777'])
    const line = await emu.firstLine
    expect(line).toContain('HUBSPOT_ACCESS_TOKEN=<your --token>')
    expect(line).toContain('portal 777, starter rate limits')
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line)![1]!
    expect((await fetch(`${url}/crm/v3/objects/contacts`, {headers: {authorization: 'Bearer emulator-token'}})).status).toBe(401)
    const ok = await fetch(`${url}/crm/v3/objects/contacts`, {headers: {authorization: `Bearer ${token}`}})
    expect(ok.status).toBe(200)
    // the starter tier's limits are on: HubSpot's rate-limit headers come back
    expect(ok.headers.get('x-hubspot-ratelimit-max')).toBe('100')
    emu.child.kill('SIGTERM')
    const done = await emu.exited
    expect(done.code).toBe(0)
    expect(done.stdout + done.stderr).not.toContain(token)
  })

  it('a port in use exits 2 naming it', async () => {
    const first = start(['--json'])
    const {port} = JSON.parse(await first.firstLine)
    const second = start(['--port', String(port)])
    const done = await second.exited
    expect(done.code).toBe(2)
    expect(done.stderr).toContain(`127.0.0.1:${port}: the port is in use`)
    first.child.kill('SIGTERM')
    expect((await first.exited).code).toBe(0)
  })
})
