import {spawnSync} from 'node:child_process'
import {cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {ROOT, runCli} from '../support/cli.js'

/** What a new operator meets first: help, typos, module names, the documented flags, dev mode. */
describe('cbhs for a new operator: help, suggestions, flags, dev mode, licence', () => {
  const temp = mkdtempSync(join(tmpdir(), 'cbhs-dev-'))
  afterAll(() => rmSync(temp, {recursive: true, force: true}))

  it('`cbhs pusj` suggests push, without a terminal to prompt on', async () => {
    const r = await runCli(['pusj'])
    expect(r.code).toBe(127)
    expect(r.stderr).toContain('Did you mean `cbhs push`?')
    expect(r.stdout).toBe('')
  })

  it('root help lists every command, map:validate included, and shell completion', async () => {
    const r = await runCli(['--help'])
    expect(r.code).toBe(0)
    for (const command of ['map:validate', 'push', 'pull', 'sync', 'reconcile', 'status', 'setup', 'autocomplete']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\s`, 'm'))
    }
    expect(r.stdout).not.toMatch(/^TOPICS/m)
    const ac = await runCli(['autocomplete', 'bash'], {env: {HOME: temp, XDG_CACHE_HOME: join(temp, 'cache')}})
    expect(ac.code, ac.stderr).toBe(0)
    expect(ac.stdout).toContain('cbhs autocomplete:script bash')
  })

  it('module names are accepted in any case and a wrong one is refused naming the valid ones', async () => {
    const r = await runCli(['push', '--module', 'nosuch', '--dry-run'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Expected --module to be one of: Accounts, Contacts, Leads, Potentials, ModComments, cbCalendar (any case)')
    for (const command of ['push', 'pull', 'sync', 'reconcile']) {
      const help = await runCli([command, '--help'])
      expect(help.stdout).toContain('--maps-dir')
      expect(help.stdout).toMatch(/--module=<value>\.*/)
    }
  })

  it('bin/dev.js runs the TypeScript sources without dist/', async () => {
    // a copy without dist/: what a fresh clone has before any build
    for (const entry of ['bin', 'src', 'maps', 'package.json', 'tsconfig.json']) cpSync(join(ROOT, entry), join(temp, entry), {recursive: true})
    symlinkSync(join(ROOT, 'node_modules'), join(temp, 'node_modules'))
    expect(existsSync(join(temp, 'dist'))).toBe(false)
    const run = (args: string[]) => spawnSync(join(temp, 'bin', 'dev.js'), args, {cwd: temp, encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}, timeout: 120_000})
    const help = run(['status', '--help'])
    expect(help.status).toBe(0)
    expect(help.stdout).toContain('--failure=<value>')
    const validate = run(['map:validate', 'maps'])
    expect(validate.status).toBe(0)
    expect(validate.stdout).toMatch(/^8 maps checked: 0 errors/m)
  })

  it('ships the MIT licence that package.json names, and package metadata', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
    expect(pkg.license).toBe('MIT')
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /)
    expect(pkg.files).toContain('LICENSE')
    expect(pkg.keywords).toEqual(expect.arrayContaining(['corebos', 'hubspot']))
    expect(pkg.author).toBeTruthy()
  })
})
