/**
 * Activities on the real coreBOS schema and the emulator, through the passes as the commands run
 * them: HubSpot's notes, calls, meetings, tasks and logged e-mails on synced contacts, companies
 * and deals land in coreBOS as comments and calendar activities attached to the right records, and
 * coreBOS comments and calendar calls reach HubSpot associated with their records; edits and
 * deletes travel; a second pass writes nothing.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openHubSpot} from '../../src/context.js'
import {ensureSyncProperties, syncedObjectTypes} from '../../src/hubspot/setup.js'
import {addCalendar, addComment, touch, useTimezone} from '../support/corebos-activities.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

const SPEC = (id: number) => id

describe('activities: HubSpot engagements ↔ coreBOS comments and calendar', () => {
  let env: SyncEnv
  let account: number
  let contact: number
  let deal: number
  let hs: {company: string; contact: string; deal: string}

  beforeAll(async () => {
    env = await createSyncEnv({configFile: {sync: {activities: true}}})
    useTimezone(env.config.timezone)
    await ensureSyncProperties(openHubSpot(env.config), {propertyName: env.config.hubspot.uniqueProperty, objectTypes: syncedObjectTypes(true)})
    ;[account] = await env.create('Accounts', [{accountname: 'Acme Ltd'}])
    ;[contact] = await env.create('Contacts', [{firstname: 'Ada', lastname: 'Lovelace', email: 'ada@acme.example', account_id: String(account)}])
    ;[deal] = await env.create('Potentials', [{potentialname: 'Big deal', related_to: String(account), sales_stage: 'Prospecting', closingdate: '2026-12-31', amount: '100'}])
    const [report] = await env.pass('push')
    expect(report.failures).toEqual([])
    const link = async (table: string, key: string, id: number) => (await env.testDb.query<{hubspotid: string}>(`SELECT hubspotid FROM ${table} WHERE ${key} = ?`, [id]))[0].hubspotid
    hs = {company: await link('vtiger_account', 'accountid', account), contact: await link('vtiger_contactdetails', 'contactid', contact), deal: await link('vtiger_potential', 'potentialid', deal)}
  })
  afterAll(async () => env?.close())

  const comments = () => env.testDb.query<{crmid: number; commentcontent: string; related_to: number; deleted: number; setype: string}>(
    'SELECT e.crmid, m.commentcontent, m.related_to, e.deleted, e.setype FROM vtiger_modcomments m JOIN vtiger_crmentity e ON e.crmid = m.modcommentsid ORDER BY e.crmid')
  const calendar = () => env.testDb.query<{crmid: number; subject: string; activitytype: string; dtstart: string; dtend: string; eventstatus: string | null; priority: string | null; location: string | null; description: string; deleted: number; setype: string; date_start: string; time_start: string}>(
    `SELECT e.crmid, a.subject, a.activitytype, DATE_FORMAT(a.dtstart, '%Y-%m-%d %H:%i:%s') AS dtstart, DATE_FORMAT(a.dtend, '%Y-%m-%d %H:%i:%s') AS dtend, a.eventstatus, a.priority, a.location, e.description, e.deleted, e.setype,
            DATE_FORMAT(a.date_start, '%Y-%m-%d') AS date_start, a.time_start
       FROM vtiger_activity a JOIN vtiger_crmentity e ON e.crmid = a.activityid ORDER BY e.crmid`)
  const relations = async (activityid: number) => ({
    se: (await env.testDb.query<{crmid: number}>('SELECT crmid FROM vtiger_seactivityrel WHERE activityid = ? ORDER BY crmid', [activityid])).map((r) => r.crmid),
    cnt: (await env.testDb.query<{contactid: number}>('SELECT contactid FROM vtiger_cntactivityrel WHERE activityid = ? ORDER BY contactid', [activityid])).map((r) => r.contactid),
  })

  it('pulls each engagement type created in HubSpot on a synced contact, company or deal, attached to the right records', async () => {
    const c = env.emu.control
    const at = '2026-03-10T09:00:00.000Z'
    const [note] = c.seed('notes', [{hs_timestamp: at, hs_note_body: 'Asked for a quote'}])
    c.associate('notes', note.id, 'contacts', hs.contact)
    const [call] = c.seed('calls', [{hs_timestamp: at, hs_call_title: 'Intro call', hs_call_body: 'Talked pricing', hs_call_duration: '1800000', hs_call_status: 'COMPLETED', hs_call_direction: 'OUTBOUND'}])
    c.associate('calls', call.id, 'contacts', hs.contact)
    c.associate('calls', call.id, 'companies', hs.company)
    const [meeting] = c.seed('meetings', [{hs_timestamp: at, hs_meeting_title: 'Demo', hs_meeting_start_time: at, hs_meeting_end_time: '2026-03-10T10:30:00.000Z', hs_meeting_location: 'Room 1', hs_meeting_outcome: 'SCHEDULED'}])
    c.associate('meetings', meeting.id, 'deals', hs.deal)
    const [task] = c.seed('tasks', [{hs_timestamp: '2026-03-12T17:00:00.000Z', hs_task_subject: 'Send the quote', hs_task_status: 'NOT_STARTED', hs_task_priority: 'HIGH'}])
    c.associate('tasks', task.id, 'companies', hs.company)
    const [email] = c.seed('emails', [{hs_timestamp: at, hs_email_subject: 'Your quote', hs_email_text: 'Attached, as promised.', hs_email_direction: 'EMAIL'}])
    c.associate('emails', email.id, 'contacts', hs.contact)
    // a note on a deal and a company (no contact) hangs off the company; one on a deal alone off the deal
    const [onCompany, onDeal] = c.seed('notes', [{hs_timestamp: at, hs_note_body: 'Company-wide discount'}, {hs_timestamp: at, hs_note_body: 'Deal needs legal review'}])
    c.associate('notes', onCompany.id, 'companies', hs.company)
    c.associate('notes', onCompany.id, 'deals', hs.deal)
    c.associate('notes', onDeal.id, 'deals', hs.deal)
    // an engagement on nobody cbhs syncs stays in HubSpot
    const [orphan] = c.seed('notes', [{hs_timestamp: at, hs_note_body: 'on nobody'}])

    const [report] = await env.pass('pull')
    expect(report.failures).toEqual([])
    for (const t of ['calls', 'meetings', 'tasks', 'emails']) expect(report.modules[t as never], t).toMatchObject({created: 1, failed: 0})
    expect(report.modules['notes' as never]).toMatchObject({created: 3, failed: 0})

    const rows = await comments()
    expect(rows.map((r) => [r.commentcontent, r.related_to, r.setype])).toEqual([
      ['Asked for a quote', contact, 'ModComments'],
      ['Company-wide discount', account, 'ModComments'],
      ['Deal needs legal review', deal, 'ModComments'],
      ['E-mail: Your quote\n\nAttached, as promised.', contact, 'ModComments'],
    ])
    const cal = await calendar()
    // the test install's zone is UTC: the naive times are the instants
    expect(cal.map((r) => [r.activitytype, r.subject, r.dtstart, r.dtend, r.eventstatus, r.priority, r.setype])).toEqual([
      ['Call', 'Intro call', '2026-03-10 09:00:00', '2026-03-10 09:30:00', 'Held', null, 'cbCalendar'],
      ['Meeting', 'Demo', '2026-03-10 09:00:00', '2026-03-10 10:30:00', 'Planned', null, 'cbCalendar'],
      ['Task', 'Send the quote', '2026-03-12 17:00:00', '2026-03-12 17:00:00', 'Not Started', 'High', 'cbCalendar'],
    ])
    expect(cal[0]).toMatchObject({description: 'Talked pricing', date_start: '2026-03-10', time_start: '09:00:00'})
    expect(cal[1].location).toBe('Room 1')
    expect(await relations(cal[0].crmid)).toEqual({se: [account], cnt: [contact]})
    expect(await relations(cal[1].crmid)).toEqual({se: [deal], cnt: []})
    expect(await relations(cal[2].crmid)).toEqual({se: [account], cnt: []})
    // written the way coreBOS writes them: a crmobject row, the cf row, the owner in salesmanactivityrel
    const crmids = [...rows.map((r) => r.crmid), ...cal.map((r) => r.crmid)]
    expect((await env.testDb.query('SELECT crmid FROM vtiger_crmobject WHERE crmid IN (?)', [crmids])).length).toBe(7)
    expect((await env.testDb.query('SELECT activityid FROM vtiger_activitycf WHERE activityid IN (?)', [cal.map((r) => r.crmid)])).length).toBe(3)
    expect((await env.testDb.query('SELECT activityid FROM vtiger_salesmanactivityrel WHERE activityid IN (?)', [cal.map((r) => r.crmid)])).length).toBe(3)
    // relatedassignedemail, as ModComments' save fills it: the e-mail of the parent's owner
    const [owner] = await env.testDb.query<{email1: string}>('SELECT u.email1 FROM vtiger_users u JOIN vtiger_crmentity e ON e.smownerid = u.id WHERE e.crmid = ?', [contact])
    const [mail] = await env.testDb.query<{relatedassignedemail: string}>('SELECT relatedassignedemail FROM vtiger_modcomments WHERE modcommentsid = ?', [rows[0].crmid])
    expect(mail.relatedassignedemail).toBe(owner.email1)
    // the comment is dated at the note's timeline moment
    const [created] = await env.testDb.query<{createdtime: string}>("SELECT DATE_FORMAT(createdtime, '%Y-%m-%d %H:%i:%s') AS createdtime FROM vtiger_crmentity WHERE crmid = ?", [rows[0].crmid])
    expect(created.createdtime).toBe('2026-03-10 09:00:00')
    // HubSpot learns the crmid of each; the orphan was left alone
    expect(c.get('notes', note.id)!.properties.corebos_crmid).toBe(String(rows[0].crmid))
    expect(c.get('notes', orphan.id)!.properties.corebos_crmid ?? null).toBeNull()
  })

  it('a second pass in both directions writes nothing', async () => {
    const before = {comments: await comments(), calendar: await calendar()}
    const mark = env.mark()
    const reports = await env.pass('sync')
    for (const r of reports) {
      expect(r.failures).toEqual([])
      for (const [m, counts] of Object.entries(r.modules)) expect({m, created: counts!.created, updated: counts!.updated, archived: counts!.archived}).toEqual({m, created: 0, updated: 0, archived: 0})
    }
    expect(env.writesSince(mark)).toEqual([])
    expect({comments: await comments(), calendar: await calendar()}).toEqual(before)
  })

  let comment: number
  let callId: number
  it('pushes a coreBOS comment and a calendar call on a synced contact, associated with it; and again writes nothing', async () => {
    comment = await addComment(env.testDb, contact, 'Prefers e-mail over phone')
    callId = await addCalendar(env.testDb, {activitytype: 'Call', subject: 'Follow-up', description: 'Left a message', dtstart: '2026-04-01 10:00:00', dtend: '2026-04-01 10:15:00', eventstatus: 'Planned', contacts: [contact]})
    const [report] = await env.pass('push')
    expect(report.failures).toEqual([])
    expect(report.modules['ModComments' as never]).toMatchObject({created: 1})
    expect(report.modules['cbCalendar' as never]).toMatchObject({created: 1})
    const c = env.emu.control
    const note = c.all('notes').find((n) => n.properties.corebos_crmid === String(comment))!
    expect(note.properties.hs_note_body).toBe('Prefers e-mail over phone')
    expect(note.properties.hs_timestamp).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(c.associations('notes', note.id, 'contacts')).toEqual([{toId: hs.contact, typeIds: [SPEC(202)]}])
    const call = c.all('calls').find((n) => n.properties.corebos_crmid === String(callId))!
    expect(call.properties).toMatchObject({hs_call_title: 'Follow-up', hs_call_body: 'Left a message', hs_timestamp: '2026-04-01T10:00:00.000Z', hs_call_duration: '900000', hs_call_status: 'QUEUED'})
    expect(c.associations('calls', call.id, 'contacts')).toEqual([{toId: hs.contact, typeIds: [SPEC(194)]}])

    const mark = env.mark()
    const again = await env.pass('sync')
    for (const r of again) expect(r.failures).toEqual([])
    expect(env.writesSince(mark)).toEqual([])
  })

  it('edits travel both ways', async () => {
    const c = env.emu.control
    await touch(env.testDb, comment, 'UPDATE vtiger_modcomments SET commentcontent = ? WHERE modcommentsid = ?', ['Prefers e-mail, never before 10', comment])
    const [push] = await env.pass('push')
    expect(push.failures).toEqual([])
    expect(push.modules['ModComments' as never]).toMatchObject({updated: 1})
    const note = c.all('notes').find((n) => n.properties.corebos_crmid === String(comment))!
    expect(note.properties.hs_note_body).toBe('Prefers e-mail, never before 10')

    const call = c.all('calls').find((n) => n.properties.corebos_crmid === String(callId))!
    c.update('calls', call.id, {hs_call_title: 'Follow-up (reached her)', hs_call_status: 'COMPLETED'})
    const [pull] = await env.pass('pull')
    expect(pull.failures).toEqual([])
    expect(pull.modules['calls' as never]).toMatchObject({updated: 1})
    const row = (await calendar()).find((r) => r.crmid === callId)!
    expect(row).toMatchObject({subject: 'Follow-up (reached her)', eventstatus: 'Held', dtstart: '2026-04-01 10:00:00', dtend: '2026-04-01 10:15:00'})

    const mark = env.mark()
    for (const r of await env.pass('sync')) expect(r.failures).toEqual([])
    expect(env.writesSince(mark)).toEqual([])
  })

  it('an engagement that came from HubSpot travels back when edited in coreBOS, and so do the parents of a calendar activity', async () => {
    const c = env.emu.control
    const meetingRow = (await calendar()).find((r) => r.activitytype === 'Meeting')!
    await touch(env.testDb, meetingRow.crmid, "UPDATE vtiger_activity SET subject = ?, eventstatus = 'Held' WHERE activityid = ?", ['Demo (done)', meetingRow.crmid])
    // a contact added to the call in coreBOS is associated in HubSpot
    const [grace] = await env.create('Contacts', [{firstname: 'Grace', lastname: 'Hopper', email: 'grace@acme.example', account_id: String(account)}])
    await env.pass('push', {module: ['Contacts']})
    const graceHs = (await env.testDb.query<{hubspotid: string}>('SELECT hubspotid FROM vtiger_contactdetails WHERE contactid = ?', [grace]))[0].hubspotid
    await touch(env.testDb, callId, 'INSERT INTO vtiger_cntactivityrel (contactid, activityid) VALUES (?, ?)', [grace, callId])
    const [push] = await env.pass('push')
    expect(push.failures).toEqual([])
    const meeting = c.all('meetings').find((m) => m.properties.corebos_crmid === String(meetingRow.crmid))!
    expect(meeting.properties).toMatchObject({hs_meeting_title: 'Demo (done)', hs_meeting_outcome: 'COMPLETED'})
    const call = c.all('calls').find((n) => n.properties.corebos_crmid === String(callId))!
    expect(c.associations('calls', call.id, 'contacts').map((a) => a.toId).sort()).toEqual([hs.contact, graceHs].sort())

    // and a contact HubSpot unlinks from the call leaves the coreBOS activity
    c.dissociate('calls', call.id, 'contacts', hs.contact)
    c.update('calls', call.id, {hs_call_body: 'Grace took over'})
    const [pull] = await env.pass('pull')
    expect(pull.failures).toEqual([])
    expect(await relations(callId)).toEqual({se: [], cnt: [grace]})
    expect((await calendar()).find((r) => r.crmid === callId)!.description).toBe('Grace took over')

    const mark = env.mark()
    for (const r of await env.pass('sync')) expect(r.failures).toEqual([])
    expect(env.writesSince(mark)).toEqual([])
  })

  it('deletes travel both ways: a trashed comment archives its note; an archived task trashes its activity', async () => {
    const c = env.emu.control
    const note = c.all('notes').find((n) => n.properties.corebos_crmid === String(comment))!
    await touch(env.testDb, comment, 'UPDATE vtiger_crmentity SET deleted = 1 WHERE crmid = ?', [comment])
    const [push] = await env.pass('push')
    expect(push.failures).toEqual([])
    expect(push.modules['ModComments' as never]).toMatchObject({archived: 1})
    expect(c.all('notes', {archived: true}).map((n) => n.id)).toContain(note.id)

    const task = c.all('tasks')[0]
    c.archive('tasks', task.id)
    const [pull] = await env.pass('pull')
    expect(pull.failures).toEqual([])
    const row = (await calendar()).find((r) => r.subject === 'Send the quote')!
    expect(row.deleted).toBe(1)

    const mark = env.mark()
    for (const r of await env.pass('sync')) expect(r.failures).toEqual([])
    expect(env.writesSince(mark)).toEqual([])
  })

  it('a purged comment and a purged calendar call (recycle bin emptied, no modifiedtime change) archive their engagements', async () => {
    const c = env.emu.control
    const gone = await addComment(env.testDb, contact, 'about to be purged')
    const call = await addCalendar(env.testDb, {activitytype: 'Call', subject: 'Purged call', dtstart: '2026-04-01 10:00:00', dtend: '2026-04-01 10:15:00', contacts: [contact]})
    const [first] = await env.pass('push')
    expect(first.failures).toEqual([])
    const note = c.all('notes').find((n) => n.properties.corebos_crmid === String(gone))!
    const hsCall = c.all('calls').find((n) => n.properties.corebos_crmid === String(call))!
    for (const sql of ['DELETE FROM vtiger_modcomments WHERE modcommentsid = ?', 'DELETE FROM vtiger_crmentity WHERE crmid = ?']) await env.testDb.query(sql, [gone])
    for (const sql of ['DELETE FROM vtiger_cntactivityrel WHERE activityid = ?', 'DELETE FROM vtiger_seactivityrel WHERE activityid = ?', 'DELETE FROM vtiger_activity WHERE activityid = ?', 'DELETE FROM vtiger_crmentity WHERE crmid = ?']) await env.testDb.query(sql, [call])
    const [push] = await env.pass('push')
    expect(push.failures).toEqual([])
    expect(push.modules['ModComments' as never]).toMatchObject({archived: 1})
    expect(push.modules['cbCalendar' as never]).toMatchObject({archived: 1})
    expect(c.all('notes', {archived: true}).map((n) => n.id)).toContain(note.id)
    expect(c.all('calls', {archived: true}).map((n) => n.id)).toContain(hsCall.id)
    const mark = env.mark()
    for (const r of await env.pass('sync')) expect(r.failures).toEqual([])
    expect(env.writesSince(mark)).toEqual([])
  })

  it('a comment on a record that is opted in but not in HubSpot yet waits in the ledger, and goes with its record', async () => {
    const [newbie] = await env.create('Contacts', [{firstname: 'Linus', lastname: 'Torvalds', email: 'linus@acme.example'}])
    const onIt = await addComment(env.testDb, newbie, 'met at the conference')
    const [first] = await env.pass('push', {module: ['ModComments']})
    expect(first.failures.map((f) => [f.crmid, f.category])).toEqual([[onIt, 'PARENT_PENDING']])
    expect(first.failures[0].message).toContain(`Contacts ${newbie}`)
    // the ledger retries it on the next pass, once its contact is in HubSpot (however old the comment)
    await env.testDb.query("UPDATE cbhs_failure SET next_retry_at = UTC_TIMESTAMP() - INTERVAL 1 MINUTE WHERE crmid = ?", [onIt])
    const [second] = await env.pass('push')
    expect(second.failures).toEqual([])
    const note = env.emu.control.all('notes').find((n) => n.properties.corebos_crmid === String(onIt))!
    const linusHs = (await env.testDb.query<{hubspotid: string}>('SELECT hubspotid FROM vtiger_contactdetails WHERE contactid = ?', [newbie]))[0].hubspotid
    expect(env.emu.control.associations('notes', note.id, 'contacts').map((a) => a.toId)).toEqual([linusHs])
    expect(await env.testDb.query("SELECT id FROM cbhs_failure WHERE crmid = ? AND resolved_at IS NULL", [onIt])).toEqual([])
  })

  it('a note on a HubSpot contact not pulled yet waits in the ledger, and comes with its contact', async () => {
    const c = env.emu.control
    const [grace] = c.seed('contacts', [{firstname: 'Grace', lastname: 'Hopper-Murray', email: 'g.hopper@navy.example'}])
    const [note] = c.seed('notes', [{hs_timestamp: '2026-04-02T09:00:00.000Z', hs_note_body: 'Grace wants a demo'}])
    c.associate('notes', note.id, 'contacts', grace.id)
    // the contacts' pull comes later: this pass pulls the comments' engagements only
    const [first] = await env.pass('pull', {module: ['ModComments']})
    expect(first.failures.map((f) => [f.hubspotId, f.category])).toEqual([[note.id, 'PARENT_PENDING']])
    expect(first.failures[0].message).toContain(`contacts ${grace.id}`)
    await env.testDb.query("UPDATE cbhs_failure SET next_retry_at = UTC_TIMESTAMP() - INTERVAL 1 MINUTE WHERE hubspot_id = ?", [note.id])
    const [second] = await env.pass('pull')
    expect(second.failures).toEqual([])
    const graceCrmid = (await env.testDb.query<{contactid: number}>('SELECT contactid FROM vtiger_contactdetails WHERE email = ?', ['g.hopper@navy.example']))[0].contactid
    expect((await comments()).filter((r) => r.commentcontent === 'Grace wants a demo').map((r) => r.related_to)).toEqual([graceCrmid])
    expect(await env.testDb.query('SELECT id FROM cbhs_failure WHERE hubspot_id = ? AND resolved_at IS NULL', [note.id])).toEqual([])
  })

  it('an emoji and an over-long title are adjusted with a warning, not failed, and never echoed back', async () => {
    const c = env.emu.control
    const [note] = c.seed('notes', [{hs_timestamp: '2026-05-01T10:00:00Z', hs_note_body: 'Great call 🎉 see you'}])
    c.associate('notes', note.id, 'contacts', hs.contact)
    const [call] = c.seed('calls', [{hs_timestamp: '2026-05-01T11:00:00Z', hs_call_title: 'x'.repeat(300), hs_call_status: 'COMPLETED'}])
    c.associate('calls', call.id, 'contacts', hs.contact)
    const [pull] = await env.pass('pull')
    expect(pull.failures).toEqual([])
    expect(pull.warnings.some((w) => w.includes(`HubSpot notes ${note.id}`) && w.includes('U+FFFD'))).toBe(true)
    expect(pull.warnings.some((w) => w.includes(`HubSpot calls ${call.id}`) && w.includes('cut to 255'))).toBe(true)
    expect((await comments()).map((r) => r.commentcontent)).toContain('Great call \uFFFD see you')
    expect((await calendar()).some((r) => r.subject === 'x'.repeat(255))).toBe(true)
    const mark = env.mark()
    const again = await env.pass('sync')
    for (const r of again) expect(r.failures).toEqual([])
    expect(env.writesSince(mark)).toEqual([])
    expect(c.get('notes', note.id)!.properties.hs_note_body).toBe('Great call 🎉 see you')
  })

  it('an activity on a record that is not synced stays in coreBOS', async () => {
    const lonely = await env.db.records.create('Accounts', [{fields: {accountname: 'Not synced'}, control: {hubspotsyncwith: '0'}}], 1)
    const onIt = await addComment(env.testDb, lonely[0].crmid, 'internal only')
    const [report] = await env.pass('push')
    expect(report.failures).toEqual([])
    expect(env.emu.control.all('notes').some((n) => n.properties.corebos_crmid === String(onIt))).toBe(false)
  })
})

describe('activities: off by default, and planned without writing in a dry run', () => {
  let env: SyncEnv
  let contact: number
  beforeAll(async () => {
    env = await createSyncEnv()
    useTimezone(env.config.timezone)
    ;[contact] = await env.create('Contacts', [{firstname: 'Grace', lastname: 'Hopper', email: 'grace@example.org'}])
    await env.pass('push')
  })
  afterAll(async () => env?.close())

  it('with sync.activities off, passes over comments, calendar activities and engagements write nothing for them', async () => {
    expect(env.config.sync.activities).toBe(false)
    await addComment(env.testDb, contact, 'stays here')
    await addCalendar(env.testDb, {activitytype: 'Call', subject: 'stays too', dtstart: '2026-04-01 10:00:00', dtend: '2026-04-01 10:15:00', contacts: [contact]})
    const [hsContact] = env.emu.control.all('contacts')
    const [note] = env.emu.control.seed('notes', [{hs_timestamp: '2026-03-10T09:00:00Z', hs_note_body: 'stays in HubSpot'}])
    env.emu.control.associate('notes', note.id, 'contacts', hsContact.id)
    const commentsBefore = await env.testDb.query('SELECT COUNT(*) AS n FROM vtiger_modcomments')
    const mark = env.mark()
    const reports = await env.pass('sync')
    for (const r of reports) {
      expect(r.failures).toEqual([])
      expect(Object.keys(r.modules).filter((m) => !['Accounts', 'Contacts', 'Leads', 'Potentials'].includes(m))).toEqual([])
    }
    expect(env.writesSince(mark)).toEqual([])
    // not even read: no engagement endpoint was called
    expect(env.emu.control.requests().slice(mark).filter((r) => /notes|calls|meetings|tasks|emails/.test(r.endpoint))).toEqual([])
    expect(await env.testDb.query('SELECT COUNT(*) AS n FROM vtiger_modcomments')).toEqual(commentsBefore)
    await expect(env.pass('push', {module: ['ModComments']})).rejects.toThrow(/sync\.activities/)
  })

  it('a dry run plans activity creates on both sides and writes nothing', async () => {
    const config = {...env.config, sync: {...env.config.sync, activities: true}}
    await ensureSyncProperties(openHubSpot(config), {propertyName: config.hubspot.uniqueProperty, objectTypes: syncedObjectTypes(true)})
    const {runPass} = await import('../../src/pass.js')
    const mark = env.mark()
    const commentsBefore = await env.testDb.query('SELECT COUNT(*) AS n FROM vtiger_modcomments')
    const outcome = await runPass({command: 'sync', config, flags: {'dry-run': true}, renderer: 'silent', warn: () => undefined})
    const [pull, push] = outcome.reports
    expect(pull.plan.filter((p) => p.module === ('notes' as never)).map((p) => [p.action, p.changes.find((c) => c.key === 'commentcontent')?.new])).toEqual([['create', 'stays in HubSpot']])
    expect(push.plan.filter((p) => p.module === ('ModComments' as never)).map((p) => [p.action, p.changes.find((c) => c.key === 'hs_note_body')?.new])).toEqual([['create', 'stays here']])
    expect(push.plan.filter((p) => p.module === ('cbCalendar' as never)).map((p) => [p.action, p.changes.find((c) => c.key === 'hs_call_title')?.new])).toEqual([['create', 'stays too']])
    expect(env.writesSince(mark)).toEqual([])
    expect(await env.testDb.query('SELECT COUNT(*) AS n FROM vtiger_modcomments')).toEqual(commentsBefore)
  })
})
