/**
 * Activity owners: the coreBOS owner of a comment or calendar activity (vtiger_crmentity.smownerid)
 * ↔ the engagement's hubspot_owner_id, users matched to owners by e-mail as for the record modules
 * (maps/owners.ts), three-way merged, both ways. What has no counterpart falls back as for records:
 * no owner in HubSpot, the default user in coreBOS, with a warning naming it; nothing echoes.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openHubSpot} from '../../src/context.js'
import {ensureSyncProperties, syncedObjectTypes} from '../../src/hubspot/setup.js'
import {addCalendar, addComment, touch, useTimezone} from '../support/corebos-activities.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

describe('activity owners ↔ hubspot_owner_id', () => {
  let env: SyncEnv
  let contact: number
  let hsContact: string
  let ana: string
  let bo: string
  let stranger: string

  const ownerOf = async (crmid: number) => Number((await env.testDb.query<{smownerid: number}>('SELECT smownerid FROM vtiger_crmentity WHERE crmid = ?', [crmid]))[0].smownerid)
  const linked = async (crmid: number) => (await env.testDb.query<{hubspot_id: string}>('SELECT hubspot_id FROM cbhs_link WHERE crmid = ?', [crmid]))[0].hubspot_id

  beforeAll(async () => {
    env = await createSyncEnv({configFile: {sync: {activities: true}}})
    useTimezone(env.config.timezone)
    await ensureSyncProperties(openHubSpot(env.config), {propertyName: env.config.hubspot.uniqueProperty, objectTypes: syncedObjectTypes(true)})
    for (const [id, email] of [[20, 'ana@owners.test'], [21, 'bo@owners.test']] as const) {
      await env.testDb.query("INSERT INTO vtiger_users (id, user_name, email1, status, date_entered) VALUES (?, ?, ?, 'Active', '2024-01-01 00:00:00')", [id, `user${id}`, email])
    }
    ana = env.emu.control.addOwner({email: 'ana@owners.test'})
    bo = env.emu.control.addOwner({email: 'bo@owners.test'})
    stranger = env.emu.control.addOwner({email: 'stranger@elsewhere.test'})
    ;[contact] = await env.create('Contacts', [{lastname: 'Doe', email: 'jane@owners.test', assigned_user_id: '20'}])
    const [report] = await env.pass('push')
    expect(report.failures).toEqual([])
    hsContact = (await env.testDb.query<{hubspotid: string}>('SELECT hubspotid FROM vtiger_contactdetails WHERE contactid = ?', [contact]))[0].hubspotid
  })
  afterAll(async () => env?.close())

  it('a comment and a call reach HubSpot with their owner; a group owner goes without one, with a warning', async () => {
    const comment = await addComment(env.testDb, contact, 'owned by Ana')
    await touch(env.testDb, comment, 'UPDATE vtiger_crmentity SET smownerid = 20 WHERE crmid = ?', [comment])
    const call = await addCalendar(env.testDb, {activitytype: 'Call', subject: 'Owned by Bo', dtstart: '2026-03-10 09:00:00', dtend: '2026-03-10 09:30:00', contacts: [contact]})
    await touch(env.testDb, call, 'UPDATE vtiger_crmentity SET smownerid = 21 WHERE crmid = ?', [call])
    // 3 is the fixture's Marketing Group
    const team = await addComment(env.testDb, contact, 'owned by a group')
    await touch(env.testDb, team, 'UPDATE vtiger_crmentity SET smownerid = 3 WHERE crmid = ?', [team])

    const [report] = await env.pass('push')
    expect(report.failures).toEqual([])
    expect(env.emu.control.get('notes', await linked(comment))!.properties.hubspot_owner_id).toBe(ana)
    expect(env.emu.control.get('calls', await linked(call))!.properties.hubspot_owner_id).toBe(bo)
    expect(env.emu.control.get('notes', await linked(team))!.properties.hubspot_owner_id ?? '').toBe('')
    expect(report.warnings.join('\n')).toContain('coreBOS group 3 has no HubSpot owner')

    // a pull after it keeps the group (HubSpot's empty owner is no change) and writes nothing back
    const mark = env.mark()
    const [pull] = await env.pass('pull')
    expect(pull.failures).toEqual([])
    expect(await ownerOf(team)).toBe(3)
    expect(env.writesSince(mark)).toEqual([])
  })

  it('an owner changed on either side reaches the other, and nothing echoes', async () => {
    const [comment] = (await env.testDb.query<{crmid: number}>("SELECT modcommentsid AS crmid FROM vtiger_modcomments WHERE commentcontent = 'owned by Ana'"))
    const [call] = (await env.testDb.query<{crmid: number}>("SELECT activityid AS crmid FROM vtiger_activity WHERE subject = 'Owned by Bo'"))
    // coreBOS → HubSpot
    await touch(env.testDb, comment.crmid, 'UPDATE vtiger_crmentity SET smownerid = 21 WHERE crmid = ?', [comment.crmid])
    await env.pass('push')
    expect(env.emu.control.get('notes', await linked(comment.crmid))!.properties.hubspot_owner_id).toBe(bo)
    // HubSpot → coreBOS
    env.emu.control.update('calls', await linked(call.crmid), {hubspot_owner_id: ana})
    await env.pass('pull')
    expect(await ownerOf(call.crmid)).toBe(20)
    const [rel] = await env.testDb.query<{smid: number}>('SELECT smid FROM vtiger_salesmanactivityrel WHERE activityid = ?', [call.crmid])
    expect(Number(rel.smid)).toBe(20)

    const mark = env.mark()
    for (const r of await env.pass('sync')) {
      expect(r.failures).toEqual([])
      for (const [m, c] of Object.entries(r.modules)) expect({m, created: c!.created, updated: c!.updated}).toEqual({m, created: 0, updated: 0})
    }
    expect(env.writesSince(mark)).toEqual([])
    expect(await ownerOf(call.crmid)).toBe(20)
    expect(env.emu.control.get('notes', await linked(comment.crmid))!.properties.hubspot_owner_id).toBe(bo)
  })

  it('an engagement pulled from HubSpot gets the matching user; an owner without one gets the default user, with a warning', async () => {
    const at = '2026-03-11T09:00:00.000Z'
    const [mine, theirs] = env.emu.control.seed('notes', [
      {hs_timestamp: at, hs_note_body: 'from Ana in HubSpot', hubspot_owner_id: ana},
      {hs_timestamp: at, hs_note_body: 'from a stranger', hubspot_owner_id: stranger},
    ])
    env.emu.control.associate('notes', mine.id, 'contacts', hsContact)
    env.emu.control.associate('notes', theirs.id, 'contacts', hsContact)
    const [report] = await env.pass('pull')
    expect(report.failures).toEqual([])
    const crmidOf = async (id: string) => (await env.testDb.query<{crmid: number}>("SELECT crmid FROM cbhs_link WHERE object_type = 'notes' AND hubspot_id = ?", [id]))[0].crmid
    expect(await ownerOf(await crmidOf(mine.id))).toBe(20)
    expect(await ownerOf(await crmidOf(theirs.id))).toBe(env.config.sync.userId)
    expect(report.warnings.join('\n')).toContain(`HubSpot owner ${stranger} (stranger@elsewhere.test) has no active coreBOS user`)

    // HubSpot keeps the stranger: the default user stood in for it, it is no edit in coreBOS
    const mark = env.mark()
    await env.pass('sync')
    expect(env.writesSince(mark)).toEqual([])
    expect(env.emu.control.get('notes', theirs.id)!.properties.hubspot_owner_id).toBe(stranger)
  })
})
