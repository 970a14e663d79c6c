/**
 * reconcile with activity sync on: comments and calendar activities are compared with HubSpot's
 * engagements on the synced records — links whose engagement is archived or gone, links whose
 * coreBOS row is trashed or gone, engagements and comments on synced parents without a link, and
 * values that drifted from the snapshot (on either side, even without a modified date) — and
 * --apply repairs them through the activity streams; a second --apply writes nothing.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openHubSpot} from '../../src/context.js'
import {ensureSyncProperties, syncedObjectTypes} from '../../src/hubspot/setup.js'
import {runReconcile} from '../../src/pass.js'
import type {ReconcileItem, ReconcileReport} from '../../src/sync/reconcile.js'
import type {CrmModule} from '../../src/sync/types.js'
import {addCalendar, addComment, useTimezone} from '../support/corebos-activities.js'
import {runCli} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

const M = 'ModComments' as CrmModule
const CAL = 'cbCalendar' as CrmModule

describe('reconcile: activities', () => {
  let env: SyncEnv
  let contact: number
  let hsContact: string
  const c: Record<string, number> = {}
  let ana: string
  const hs: Record<string, string> = {}

  async function reconcile(apply = false): Promise<ReconcileReport> {
    const outcome = await runReconcile({config: env.config, flags: {details: true, apply}, renderer: 'silent', warn: () => undefined})
    if (!outcome.report) throw new Error('reconcile skipped')
    return outcome.report
  }
  const linkOf = async (crmid: number) => (await env.testDb.query<{hubspot_id: string; archived: number}>('SELECT hubspot_id, archived FROM cbhs_link WHERE crmid = ?', [crmid]))[0]
  const comment = async (crmid: number) => (await env.testDb.query<{commentcontent: string; deleted: number}>('SELECT m.commentcontent, e.deleted FROM vtiger_modcomments m JOIN vtiger_crmentity e ON e.crmid = m.modcommentsid WHERE m.modcommentsid = ?', [crmid]))[0]

  beforeAll(async () => {
    env = await createSyncEnv({configFile: {sync: {activities: true}}})
    useTimezone(env.config.timezone)
    await ensureSyncProperties(openHubSpot(env.config), {propertyName: env.config.hubspot.uniqueProperty, objectTypes: syncedObjectTypes(true)})
    ;[contact] = await env.create('Contacts', [{lastname: 'Doe', email: 'jane@reconcile.example'}])
    for (const name of ['trashed', 'archived', 'purged', 'gone', 'hubspotDrift', 'crmDrift', 'inSync']) c[name] = await addComment(env.testDb, contact, `comment ${name}`)
    await env.testDb.query("INSERT INTO vtiger_users (id, user_name, email1, status, date_entered) VALUES (20, 'ana', 'ana@reconcile.example', 'Active', '2024-01-01 00:00:00')")
    ana = env.emu.control.addOwner({email: 'ana@reconcile.example'})
    c.call = await addCalendar(env.testDb, {activitytype: 'Call', subject: 'Intro call', dtstart: '2026-03-10 09:00:00', dtend: '2026-03-10 09:30:00', eventstatus: 'Held', contacts: [contact]})
    for (const r of await env.pass('push')) expect(r.failures).toEqual([])
    hsContact = (await env.testDb.query<{hubspotid: string}>('SELECT hubspotid FROM vtiger_contactdetails WHERE contactid = ?', [contact]))[0].hubspotid
    for (const name of Object.keys(c)) hs[name] = (await linkOf(c[name])).hubspot_id

    // what no incremental pass sees, or has not seen yet
    await env.testDb.query('UPDATE vtiger_crmentity SET deleted = 1 WHERE crmid = ?', [c.trashed])
    env.emu.control.archive('notes', hs.archived)
    env.emu.control.purge('notes', hs.purged)
    await env.testDb.query('DELETE FROM vtiger_modcomments WHERE modcommentsid = ?', [c.gone])
    await env.testDb.query('DELETE FROM vtiger_crmentity WHERE crmid = ?', [c.gone])
    env.emu.control.update('notes', hs.hubspotDrift, {hs_note_body: 'edited in HubSpot'})
    // a data fix in SQL: modifiedtime does not move
    await env.testDb.query("UPDATE vtiger_modcomments SET commentcontent = 'fixed in SQL' WHERE modcommentsid = ?", [c.crmDrift])
    const [onlyHs] = env.emu.control.seed('notes', [{hs_timestamp: '2026-03-10T09:00:00.000Z', hs_note_body: 'only in HubSpot'}])
    env.emu.control.associate('notes', onlyHs.id, 'contacts', hsContact)
    hs.onlyHubSpot = onlyHs.id
    // on nobody cbhs syncs: not reconcile's business
    env.emu.control.seed('notes', [{hs_timestamp: '2026-03-10T09:00:00.000Z', hs_note_body: 'on nobody'}])
    c.onlyCrm = await addComment(env.testDb, contact, 'only in coreBOS')
    // the call: retitled in HubSpot, handed to Ana in coreBOS by SQL; a second call only in coreBOS
    env.emu.control.update('calls', hs.call, {hs_call_title: 'Intro call (rescheduled)'})
    await env.testDb.query('UPDATE vtiger_crmentity SET smownerid = 20 WHERE crmid = ?', [c.call])
    c.onlyCrmCall = await addCalendar(env.testDb, {activitytype: 'Call', subject: 'Follow-up', dtstart: '2026-03-12 09:00:00', dtend: '2026-03-12 09:15:00', contacts: [contact]})
  })
  afterAll(async () => env?.close())

  const byCrmid = (items: ReconcileItem[], crmid: number) => items.filter((i) => i.crmid === crmid)

  it('the dry run lists each difference with what apply would do, and writes nothing', async () => {
    const mark = env.mark()
    const report = await reconcile()
    expect(env.writesSince(mark)).toEqual([])
    expect(report.modules[M]).toMatchObject({inSync: 1, different: 2, onlyCrm: 1, onlyHubSpot: 1, brokenLink: 4})
    const items = report.items.filter((i) => i.module === M)
    expect(byCrmid(items, c.trashed)).toEqual([expect.objectContaining({class: 'brokenLink', action: 'archive-hubspot', hubspotId: hs.trashed})])
    expect(byCrmid(items, c.archived)).toEqual([expect.objectContaining({class: 'brokenLink', action: 'mark-deleted', hubspotId: hs.archived})])
    expect(byCrmid(items, c.purged)).toEqual([expect.objectContaining({class: 'brokenLink', action: 'mark-deleted', hubspotId: hs.purged})])
    expect(byCrmid(items, c.gone)).toEqual([expect.objectContaining({class: 'brokenLink', action: 'archive-hubspot', hubspotId: hs.gone})])
    expect(byCrmid(items, c.hubspotDrift)).toEqual([
      expect.objectContaining({class: 'different', action: 'update', changes: [expect.objectContaining({key: 'hs_note_body', crm: 'comment hubspotDrift', hubspot: 'edited in HubSpot', changed: 'hubspot', winner: 'hubspot'})]}),
    ])
    expect(byCrmid(items, c.crmDrift)).toEqual([
      expect.objectContaining({class: 'different', action: 'update', changes: [expect.objectContaining({key: 'hs_note_body', crm: 'fixed in SQL', hubspot: 'comment crmDrift', changed: 'crm', winner: 'crm'})]}),
    ])
    expect(byCrmid(items, c.onlyCrm)).toEqual([expect.objectContaining({class: 'onlyCrm', action: 'create-hubspot'})])
    expect(items.filter((i) => i.hubspotId === hs.onlyHubSpot)).toEqual([expect.objectContaining({class: 'onlyHubSpot', action: 'create-crm', crmid: null})])

    expect(report.modules[CAL]).toMatchObject({inSync: 0, different: 1, onlyCrm: 1, onlyHubSpot: 0, brokenLink: 0})
    const [call] = byCrmid(report.items, c.call)
    expect(call).toMatchObject({class: 'different', action: 'update'})
    expect(call.changes!.map((x) => [x.key, x.changed])).toEqual([['hubspot_owner_id', 'crm'], ['hs_call_title', 'hubspot']])
    expect(byCrmid(report.items, c.onlyCrmCall)).toEqual([expect.objectContaining({class: 'onlyCrm', action: 'create-hubspot'})])
  })

  it('--apply repairs them through the activity streams; a second --apply writes nothing', async () => {
    const report = await reconcile(true)
    expect(report.failures).toEqual([])
    expect(env.emu.control.get('notes', hs.trashed)).toMatchObject({archived: true})
    expect(env.emu.control.all('notes', {archived: true}).map((n) => n.id)).toEqual(expect.arrayContaining([hs.trashed, hs.gone]))
    expect(await comment(c.archived)).toMatchObject({deleted: 1})
    expect(await comment(c.purged)).toMatchObject({deleted: 1})
    for (const name of ['trashed', 'archived', 'purged', 'gone']) expect((await linkOf(c[name])).archived, name).toBe(1)
    expect(await comment(c.hubspotDrift)).toMatchObject({commentcontent: 'edited in HubSpot', deleted: 0})
    expect(env.emu.control.get('notes', hs.crmDrift)!.properties.hs_note_body).toBe('fixed in SQL')
    expect(env.emu.control.get('notes', (await linkOf(c.onlyCrm)).hubspot_id)!.properties.hs_note_body).toBe('only in coreBOS')
    const [pulled] = await env.testDb.query<{crmid: number}>("SELECT crmid FROM cbhs_link WHERE object_type = 'notes' AND hubspot_id = ?", [hs.onlyHubSpot])
    expect(await comment(pulled.crmid)).toMatchObject({commentcontent: 'only in HubSpot', deleted: 0})
    expect(report.applied[M]).toMatchObject({archivedHubSpot: 2, markedDeleted: 2, updatedCrm: 1, updatedHubSpot: 1, createdHubSpot: 1, createdCrm: 1, failed: 0})
    expect(env.emu.control.get('calls', hs.call)!.properties).toMatchObject({hs_call_title: 'Intro call (rescheduled)', hubspot_owner_id: ana})
    const [subject] = await env.testDb.query<{subject: string}>('SELECT subject FROM vtiger_activity WHERE activityid = ?', [c.call])
    expect(subject.subject).toBe('Intro call (rescheduled)')
    expect(env.emu.control.get('calls', (await linkOf(c.onlyCrmCall)).hubspot_id)!.properties.hs_call_title).toBe('Follow-up')

    const mark = env.mark()
    const again = await reconcile(true)
    expect(env.writesSince(mark)).toEqual([])
    expect(again.failures).toEqual([])
    expect(again.modules[M]).toMatchObject({inSync: 5, different: 0, onlyCrm: 0, onlyHubSpot: 0, brokenLink: 0})
    expect(again.modules[CAL]).toMatchObject({inSync: 2, different: 0, onlyCrm: 0, onlyHubSpot: 0, brokenLink: 0})
    expect(Object.values(again.applied[M] ?? {}).every((n) => n === 0)).toBe(true)
  })

  it('the binary shows the activity modules beside the record modules; --module ModComments narrows it to comments', async () => {
    const on = {...env.env, CBHS_ACTIVITIES: 'true'}
    const table = await runCli(['reconcile'], {env: on})
    expect(table.code, table.stderr).toBe(0)
    expect(table.stdout).toMatch(/^\s*ModComments\s+5\b/m)
    expect(table.stdout).toMatch(/^\s*cbCalendar\s+2\b/m)
    const only = await runCli(['reconcile', '--module', 'ModComments', '--json'], {env: on})
    expect(only.code, only.stderr).toBe(0)
    expect(Object.keys(only.json.result.report.modules)).toEqual(['ModComments'])
  })
})
