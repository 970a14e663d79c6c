/**
 * `cbhs map:validate` offline, through the real binary: no database, no network, as CI runs it.
 */
import {cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BROKEN_MAP_CASES} from '../fixtures/maps/broken-cases.js'
import {ROOT, runCli} from '../support/cli.js'

const BROKEN = join(ROOT, 'test/fixtures/maps/broken')
const DEFAULTS = join(ROOT, 'maps')
// `file:line[:col]: severity CODE message`
const LINE = /^(.+?):(\d+)(?::(\d+))?: (error|warning) ([A-Z_]+) (.+)$/

// an offline run must not depend on anything configured on the machine running the tests
const OFFLINE_ENV = {CBHS_DB_HOST: '192.0.2.1', CBHS_DB_PORT: '1', CBHS_HUBSPOT_URL: 'http://192.0.2.1:1', CBHS_MAPS_DIR: undefined, CBHS_MAPS_SOURCE: undefined, CBHS_CONFIG: undefined}

/** A field pushing `source` to HubSpot property `target`. */
const field = (target: string, source: string, id = '') =>
  `    <field>\n      <fieldname>${target}</fieldname>\n      <Orgfields>\n        <Orgfield>\n          <OrgfieldName>${source}</OrgfieldName>\n${id ? `          <OrgfieldID>${id}</OrgfieldID>\n` : ''}        </Orgfield>\n      </Orgfields>\n    </field>\n`

/** Adds fields before `</fields>`; returns the line of each added `<field>`. */
function addFields(file: string, fields: string[]): number[] {
  const xml = readFileSync(file, 'utf8')
  const at = xml.indexOf('  </fields>')
  let line = xml.slice(0, at).split('\n').length
  const lines = fields.map((f) => {
    const mine = line
    line += f.split('\n').length - 1
    return mine
  })
  writeFileSync(file, xml.slice(0, at) + fields.join('') + xml.slice(at))
  return lines
}

describe.concurrent('cbhs map:validate (offline)', () => {
  let tmp: string
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'cbhs-mapval-'))
  })
  afterAll(() => rmSync(tmp, {recursive: true, force: true}))

  it('the eight default maps pass: the configured folder by default, and maps/ as a path', async () => {
    const byDefault = await runCli(['map:validate'], {env: OFFLINE_ENV})
    expect(byDefault.code, byDefault.stderr).toBe(0)
    expect(byDefault.stdout).toMatch(/^8 maps checked: 0 errors, 0 warnings, valid/m)

    const json = await runCli(['map:validate', 'maps/', '--json'], {env: OFFLINE_ENV})
    expect(json.code).toBe(0)
    expect(json.json).toMatchObject({status: 0, result: {valid: true, errors: 0, warnings: 0, source: 'files', online: false, issues: []}})
    expect(json.json.result.maps.map((m: {name: string}) => m.name).sort()).toEqual(readdirSync(DEFAULTS).map((f) => f.replace(/\.xml$/, '')).sort())
    expect(json.json.result.maps.find((m: {name: string}) => m.name === 'HubSpot2Leads')).toMatchObject({
      file: 'maps/HubSpot2Leads.xml', origin: 'HubSpot', target: 'Leads', module: 'Leads', direction: 'pull', errors: 0, warnings: 0,
    })
  })

  it('the offline examples of --help work as written', async () => {
    const help = await runCli(['map:validate', '--help'])
    const examples = [...help.stdout.slice(help.stdout.indexOf('EXAMPLES')).matchAll(/^\s+\$ cbhs (map:validate.*)$/gm)].map((m) => m[1]!.trim())
    expect(examples.length).toBeGreaterThanOrEqual(4)
    const offline = examples.filter((e) => !e.includes('--online') && !e.includes('--source database'))
    expect(offline.length).toBeGreaterThanOrEqual(3)
    for (const example of offline) {
      const r = await runCli(example.split(/\s+/), {env: OFFLINE_ENV})
      expect(r.code, `${example}\n${r.stdout}${r.stderr}`).toBe(0)
    }
  })

  it('reports every file of the broken corpus with its code, severity, line and column in one run', async () => {
    // each case under the map name its expectation assumes, one folder per case (no duplicate names)
    const paths: string[] = []
    for (const c of BROKEN_MAP_CASES) {
      const name = c.mapName === null ? c.file : (c.mapName ?? 'Contacts2HubSpot')
      mkdirSync(join(tmp, 'corpus', c.file), {recursive: true})
      cpSync(join(BROKEN, `${c.file}.xml`), join(tmp, 'corpus', c.file, `${name}.xml`))
      paths.push(join(tmp, 'corpus', c.file, `${name}.xml`))
    }
    const r = await runCli(['map:validate', ...paths], {env: OFFLINE_ENV})
    expect(r.code).toBe(3)
    const lines = r.stdout.trimEnd().split('\n')
    const summary = lines.pop()!
    const parsed = lines.map((l) => {
      const m = LINE.exec(l)
      expect(m, `not file:line: ${l}`).not.toBeNull()
      return {file: m![1]!, line: Number(m![2]), column: m![3] === undefined ? undefined : Number(m![3]), severity: m![4]!, code: m![5]!, message: m![6]!}
    })
    for (const [i, c] of BROKEN_MAP_CASES.entries()) {
      const hit = parsed.find((p) => p.file === paths[i] && p.code === c.code)
      expect(hit, `${c.file}: ${c.code}\n${r.stdout}`).toBeDefined()
      expect(hit!.severity).toBe(c.severity ?? 'error')
      expect(hit!.line).toBe(c.line)
      if (c.column !== undefined) expect(hit!.column).toBe(c.column)
      expect(hit!.message.length).toBeGreaterThan(10)
    }
    // files are validated where they are: no set-wide noise (missing maps, duplicates) from 34 folders
    expect(parsed.filter((p) => p.code === 'MISSING_MAP' || p.code === 'DUPLICATE_MAP')).toEqual([])
    const errors = parsed.filter((p) => p.severity === 'error').length
    expect(summary).toBe(`${paths.length} maps checked: ${errors} errors, ${parsed.length - errors} warnings, INVALID (offline checks; add --online to check against coreBOS and HubSpot).`)
  })

  it('the corpus folder as it is: every file reported, unused names flagged', async () => {
    const r = await runCli(['map:validate', 'test/fixtures/maps/broken', '--json'], {env: OFFLINE_ENV})
    expect(r.code).toBe(3)
    const issues = r.json.result.issues as Array<{file: string; code: string}>
    for (const c of BROKEN_MAP_CASES) {
      const file = `test/fixtures/maps/broken/${c.file}.xml`
      expect(issues.some((i) => i.file === file), file).toBe(true)
    }
    // none of the corpus is named as cbhs looks maps up, so every one of the eight is missing from the folder
    expect(issues.filter((i) => i.code === 'MISSING_MAP').map((i) => i.file)).toEqual(Array(8).fill('test/fixtures/maps/broken'))
  })

  it('exit 3 with the --json result when a map has an error; warnings alone exit 0 unless --strict', async () => {
    const dir = join(tmp, 'expression')
    cpSync(DEFAULTS, dir, {recursive: true})
    // the issue points at the <Orgfield> of the added field, three lines below its <field>
    const [line] = addFields(join(dir, 'Contacts2HubSpot.xml'), [field('salutation', "concat(firstname, ' ', lastname)", 'EXPRESSION')])
    const r = await runCli(['map:validate', dir, '--json'], {env: OFFLINE_ENV})
    expect(r.code).toBe(3)
    expect(r.stderr).toBe('')
    expect(r.json).toEqual({
      status: 3,
      result: {
        valid: false,
        errors: 1,
        warnings: 0,
        source: 'files',
        online: false,
        issues: [{severity: 'error', code: 'UNSUPPORTED_EXPRESSION', message: expect.stringContaining('EXPRESSION'), file: join(dir, 'Contacts2HubSpot.xml'), map: 'Contacts2HubSpot', line: line! + 3}],
        maps: expect.arrayContaining([
          {name: 'Contacts2HubSpot', file: join(dir, 'Contacts2HubSpot.xml'), origin: 'Contacts', target: 'HubSpot', module: 'Contacts', direction: 'push', fields: 14, errors: 1, warnings: 0},
        ]),
      },
      warnings: [],
    })
    expect(r.json.result.maps).toHaveLength(8)

    const warnDir = join(tmp, 'duplicate')
    cpSync(DEFAULTS, warnDir, {recursive: true})
    const [dup] = addFields(join(warnDir, 'Accounts2HubSpot.xml'), [field('phone', 'otherphone')])
    const lenient = await runCli(['map:validate', warnDir], {env: OFFLINE_ENV})
    expect(lenient.code).toBe(0)
    expect(lenient.stdout).toContain(`${join(warnDir, 'Accounts2HubSpot.xml')}:${dup}: warning DUPLICATE_TARGET `)
    expect(lenient.stdout).toMatch(/0 errors, 1 warning, valid/)
    const strict = await runCli(['map:validate', warnDir, '--strict'], {env: OFFLINE_ENV})
    expect(strict.code).toBe(3)
    expect(strict.stdout).toMatch(/0 errors, 1 warning, INVALID \(--strict: warnings fail\)/)
  })

  it('--format github writes one annotation per issue; missing and unreadable paths are issues too', async () => {
    const r = await runCli(['map:validate', 'test/fixtures/maps/broken/malformed-bare-ampersand.xml', 'no/such/Contacts2HubSpot.xml', '--format', 'github'], {env: OFFLINE_ENV})
    expect(r.code).toBe(3)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^::error file=test\/fixtures\/maps\/broken\/malformed-bare-ampersand\.xml,line=21,col=31,title=XML_MALFORMED \(malformed-bare-ampersand\)::/)
    expect(lines).toContain('::error file=no/such/Contacts2HubSpot.xml,title=MAP_UNREADABLE::cannot read no/such/Contacts2HubSpot.xml: no such file or folder')
    expect(lines.at(-1)).toMatch(/^1 map checked: 2 errors, 0 warnings, INVALID/)

    const empty = join(tmp, 'empty')
    mkdirSync(empty)
    const none = await runCli(['map:validate', empty], {env: OFFLINE_ENV})
    expect(none.code).toBe(3)
    expect(none.stdout).toContain(`${empty}: error NO_MAPS `)
  })

  it('PATH with --source database is a usage error (exit 2)', async () => {
    const r = await runCli(['map:validate', 'maps/', '--source', 'database'], {env: OFFLINE_ENV})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/exclude each other/)
  })
})
