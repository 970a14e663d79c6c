/**
 * `cbhs map:validate --online` and `--source database` through the real binary, against a fresh
 * coreBOS database (real schema, setup applied) and the HubSpot emulator.
 */
import {cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ROOT, runCli} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

const DEFAULTS = join(ROOT, 'maps')

const field = (target: string, source: string, id = '') =>
  `    <field>\n      <fieldname>${target}</fieldname>\n      <Orgfields>\n        <Orgfield>\n          <OrgfieldName>${source}</OrgfieldName>\n${id ? `          <OrgfieldID>${id}</OrgfieldID>\n` : ''}        </Orgfield>\n      </Orgfields>\n    </field>\n`

/** `xml` with fields added before `</fields>`, and the line of each added `<field>`. */
function withFields(xml: string, fields: string[]): {xml: string; lines: number[]} {
  const at = xml.indexOf('  </fields>')
  let line = xml.slice(0, at).split('\n').length
  const lines = fields.map((f) => {
    const mine = line
    line += f.split('\n').length - 1
    return mine
  })
  return {xml: xml.slice(0, at) + fields.join('') + xml.slice(at), lines}
}

/** PHP's htmlentities(ENT_QUOTES): how the coreBOS UI stores a map's XML in vtiger_cbmap.content. */
function htmlentities(text: string): string {
  const named: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#039;', é: '&eacute;', ñ: '&ntilde;'}
  return text.replace(/[&<>"'éñ]/g, (c) => named[c]!)
}

describe('cbhs map:validate --online / --source database', () => {
  let env: SyncEnv
  let tmp: string
  beforeAll(async () => {
    env = await createSyncEnv()
    tmp = mkdtempSync(join(tmpdir(), 'cbhs-mapval-online-'))
  })
  afterAll(async () => {
    await env?.close()
    rmSync(tmp, {recursive: true, force: true})
  })

  it('the eight default maps pass against the real coreBOS schema and the emulator', async () => {
    const mark = env.mark()
    const r = await runCli(['map:validate', '--online', '--json'], {env: env.env})
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.json.result).toMatchObject({valid: true, errors: 0, online: true, source: 'files'})
    expect(r.json.result.maps).toHaveLength(8)
    // the properties were read through the gateway from the emulator, once per object type
    const reads = env.emu.control.requests().slice(mark).filter((q) => q.method === 'GET' && /^\/crm\/properties\/2026-03\/[a-z]+$/.test(q.path))
    expect(reads.map((q) => q.path).sort()).toEqual(['/crm/properties/2026-03/companies', '/crm/properties/2026-03/contacts', '/crm/properties/2026-03/deals'])
  })

  it('the online and database examples of --help work as written', async () => {
    const help = await runCli(['map:validate', '--help'])
    const examples = [...help.stdout.slice(help.stdout.indexOf('EXAMPLES')).matchAll(/^\s+\$ cbhs (map:validate.*)$/gm)]
      .map((m) => m[1]!.trim())
      .filter((e) => e.includes('--online') || e.includes('--source database'))
    expect(examples.length).toBeGreaterThanOrEqual(2)
    for (const example of examples) {
      const r = await runCli(example.split(/\s+/), {env: env.env})
      // vtiger_cbmap holds none of the eight maps yet: missing maps are warnings
      expect(r.code, `${example}\n${r.stdout}${r.stderr}`).toBe(0)
    }
  })

  it('finds a coreBOS field that does not exist and a read-only HubSpot property written, with their lines', async () => {
    const dir = join(tmp, 'modified')
    cpSync(DEFAULTS, dir, {recursive: true})
    const file = join(dir, 'Contacts2HubSpot.xml')
    const {xml, lines} = withFields(readFileSync(file, 'utf8'), [field('salutation', 'salutation_nosuch'), field('hs_email_last_open_date', 'birthday')])
    writeFileSync(file, xml)

    const offline = await runCli(['map:validate', dir], {env: env.env})
    expect(offline.code).toBe(0)

    const r = await runCli(['map:validate', dir, '--online'], {env: env.env})
    expect(r.code, r.stdout + r.stderr).toBe(3)
    // the unknown source at its <Orgfield>, the read-only destination at its <field>
    expect(r.stdout).toContain(`${file}:${lines[0]! + 3}: error UNKNOWN_CRM_FIELD source 'salutation_nosuch' is not a field of Contacts`)
    expect(r.stdout).toContain(`${file}:${lines[1]}: error READ_ONLY_HUBSPOT_PROPERTY 'hs_email_last_open_date' is calculated in HubSpot`)
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('8 maps checked: 2 errors, 0 warnings, INVALID (offline and online checks).')

    const json = await runCli(['map:validate', file, '--online', '--json'], {env: env.env})
    expect(json.code).toBe(3)
    expect(json.json.result.issues.map((i: {code: string; line: number}) => [i.code, i.line])).toEqual([
      ['UNKNOWN_CRM_FIELD', lines[0]! + 3],
      ['READ_ONLY_HUBSPOT_PROPERTY', lines[1]],
    ])
  })

  it('a HubSpot token that is refused exits 4 (HubSpot unavailable), not 3 (maps invalid), and is never shown', async () => {
    const token = 'pat-na1-refused-0000-1111'
    const r = await runCli(['map:validate', '--online', '--json'], {env: {...env.env, HUBSPOT_ACCESS_TOKEN: token}})
    expect(r.code, r.stdout + r.stderr).toBe(4)
    expect(r.json.error.code).toBeTypeOf('string')
    expect(r.stdout + r.stderr).not.toContain(token)
  })

  it('--source database validates the maps stored in vtiger_cbmap, entity-encoded as the UI saves them', async () => {
    const [{next}] = await env.testDb.query<{next: number}>('SELECT MAX(crmid) + 100 AS next FROM vtiger_crmentity')
    const contacts = withFields(readFileSync(join(DEFAULTS, 'Contacts2HubSpot.xml'), 'utf8'), [
      field('salutation', 'Señor Pérez', 'CONST'),
      field('company', "concat(firstname, ' ', lastname)", 'EXPRESSION'),
    ])
    const rows = [
      {id: next, name: 'Contacts2HubSpot', target: 'HubSpot', xml: contacts.xml, deleted: 0},
      {id: next + 1, name: 'HubSpot2Accounts', target: 'Accounts', xml: readFileSync(join(DEFAULTS, 'HubSpot2Accounts.xml'), 'utf8'), deleted: 0},
      // in the recycle bin: coreBOS ignores it, and so must map:validate
      {id: next + 2, name: 'HubSpot2Contacts', target: 'Contacts', xml: '<map><broken>', deleted: 1},
    ]
    for (const row of rows) {
      await env.testDb.query(
        `INSERT INTO vtiger_crmentity (crmid, smcreatorid, smownerid, modifiedby, setype, createdtime, modifiedtime, presence, deleted)
         VALUES (?, 1, 1, 1, 'cbMap', NOW(), NOW(), 1, ?)`,
        [row.id, row.deleted],
      )
      await env.testDb.query(`INSERT INTO vtiger_crmobject (crmid, deleted, setype, smownerid, modifiedtime) VALUES (?, ?, 'cbMap', 1, NOW())`, [row.id, row.deleted])
      await env.testDb.query(`INSERT INTO vtiger_cbmap (cbmapid, mapname, mapnumber, maptype, targetname, content) VALUES (?, ?, ?, 'Mapping', ?, ?)`, [
        row.id, row.name, `BMAP-T${row.id}`, row.target, htmlentities(row.xml),
      ])
      await env.testDb.query('INSERT INTO vtiger_cbmapcf (cbmapid) VALUES (?)', [row.id])
    }
    const stored = await env.testDb.query<{content: string}>('SELECT content FROM vtiger_cbmap WHERE cbmapid = ?', [next])
    expect(stored[0]!.content).toContain('&lt;fieldname&gt;salutation&lt;/fieldname&gt;')
    expect(stored[0]!.content).toContain('Se&ntilde;or P&eacute;rez')

    const r = await runCli(['map:validate', '--source', 'database', '--json'], {env: env.env})
    expect(r.code, r.stdout + r.stderr).toBe(3)
    const {result} = r.json
    expect(result).toMatchObject({valid: false, errors: 1, warnings: 6, source: 'database', online: false})
    expect(result.issues[0]).toEqual({
      severity: 'error', code: 'UNSUPPORTED_EXPRESSION', message: expect.stringContaining('EXPRESSION'),
      file: 'vtiger_cbmap:Contacts2HubSpot', map: 'Contacts2HubSpot', line: contacts.lines[1]! + 3,
    })
    const missing = result.issues.filter((i: {code: string}) => i.code === 'MISSING_MAP').map((i: {map: string; file: string}) => `${i.file} ${i.map}`)
    expect(missing.sort()).toEqual(
      ['Accounts2HubSpot', 'HubSpot2Contacts', 'HubSpot2Leads', 'HubSpot2Potentials', 'Leads2HubSpot', 'Potentials2HubSpot'].map((n) => `vtiger_cbmap ${n}`).sort(),
    )
    expect(result.maps).toEqual([
      {name: 'Contacts2HubSpot', file: 'vtiger_cbmap:Contacts2HubSpot', origin: 'Contacts', target: 'HubSpot', module: 'Contacts', direction: 'push', fields: 15, errors: 1, warnings: 0},
      {name: 'HubSpot2Accounts', file: 'vtiger_cbmap:HubSpot2Accounts', origin: 'HubSpot', target: 'Accounts', module: 'Accounts', direction: 'pull', fields: expect.any(Number), errors: 0, warnings: 0},
    ])

    // online as well: the decoded accented CONST is fine for a text property; the expression stays the only error
    const online = await runCli(['map:validate', '--source', 'database', '--online'], {env: env.env})
    expect(online.code).toBe(3)
    expect(online.stdout).toContain(`vtiger_cbmap:Contacts2HubSpot:${contacts.lines[1]! + 3}: error UNSUPPORTED_EXPRESSION `)
    expect(online.stdout.trimEnd().split('\n').at(-1)).toBe('2 maps checked: 1 error, 6 warnings, INVALID (offline and online checks).')
  })
})
