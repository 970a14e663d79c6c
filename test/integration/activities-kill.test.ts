/**
 * Kill trials for the activity streams (fast subset, like reliability-kill): the real binary
 * SIGKILLed at random instants of an activity push and of an engagement pull, then run to the end.
 * Every comment is one note in HubSpot, every HubSpot note one comment in coreBOS: no duplicate,
 * none missing (DESIGN §5.2, §5.3). The seed is printed; set CBHS_CHAOS_SEED to replay one.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openHubSpot} from '../../src/context.js'
import {ensureSyncProperties, syncedObjectTypes} from '../../src/hubspot/setup.js'
import {createMany, Rng, runAndKill, runToEnd, trialLine} from '../chaos/harness.js'
import {addComment, useTimezone} from '../support/corebos-activities.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

const SEED = Number(process.env.CBHS_CHAOS_SEED ?? Date.now() % 1_000_000)

describe('reliability: kill -9 during the activity streams', () => {
  let env: SyncEnv
  let contacts: number[]
  const rng = new Rng(SEED)

  beforeAll(async () => {
    env = await createSyncEnv({env: {CBHS_ACTIVITIES: 'true'}})
    useTimezone(env.config.timezone)
    await ensureSyncProperties(openHubSpot(env.config), {propertyName: env.config.hubspot.uniqueProperty, objectTypes: syncedObjectTypes(true)})
    contacts = await createMany(env, 'Contacts', 20, (i) => ({firstname: `A${i}`, lastname: `Active ${i}`, email: `a${i}@act.example`}))
    await env.pass('push')
    process.stderr.write(`activities-kill seed ${SEED}\n`)
  })
  afterAll(async () => env?.close())

  it('a push of 250 comments killed at 3 random points, then run to the end, makes each one note, on its contact', async () => {
    const comments: number[] = []
    for (let i = 0; i < 250; i++) comments.push(await addComment(env.testDb, contacts[i % contacts.length], `coreBOS comment ${i}`))
    let kills = 0
    for (let t = 1; t <= 3; t++) {
      const outcome = await runAndKill(['push', '--module', 'ModComments'], env.env, env.emu, {afterRequests: rng.int(1, 6), extraMs: rng.int(0, 30)})
      if (outcome.killed) kills++
      process.stderr.write(`${trialLine('activity push', t, SEED, outcome, null)}\n`)
    }
    await runToEnd(['push', '--module', 'ModComments'], env.env)
    const notes = env.emu.control.all('notes')
    const byCrmid = new Map<string, number>()
    for (const n of notes) byCrmid.set(n.properties.corebos_crmid ?? '', (byCrmid.get(n.properties.corebos_crmid ?? '') ?? 0) + 1)
    expect(notes).toHaveLength(250)
    expect([...byCrmid.values()].every((n) => n === 1)).toBe(true)
    expect([...byCrmid.keys()].sort()).toEqual(comments.map(String).sort())
    const hsContact = new Map((await env.testDb.query<{contactid: number; hubspotid: string}>('SELECT contactid, hubspotid FROM vtiger_contactdetails')).map((r) => [r.hubspotid, r.contactid]))
    for (const n of notes) {
      const i = comments.indexOf(Number(n.properties.corebos_crmid))
      expect(env.emu.control.associations('notes', n.id, 'contacts').map((a) => hsContact.get(a.toId))).toEqual([contacts[i % contacts.length]])
    }
    const [{links}] = await env.testDb.query<{links: number}>("SELECT COUNT(*) AS links FROM cbhs_link WHERE module = 'ModComments'")
    expect(Number(links)).toBe(250)
    expect(kills).toBeGreaterThan(0)
  })

  it('a pull of 200 HubSpot notes killed twice, then run to the end, creates each once in coreBOS', async () => {
    const hsContacts = env.emu.control.all('contacts')
    const notes = env.emu.control.seed('notes', Array.from({length: 200}, (_, i) => ({hs_timestamp: '2026-02-01T10:00:00Z', hs_note_body: `HubSpot note ${i}`})))
    for (const [i, n] of notes.entries()) env.emu.control.associate('notes', n.id, 'contacts', hsContacts[i % hsContacts.length]!.id)
    for (let t = 1; t <= 2; t++) {
      const outcome = await runAndKill(['pull', '--module', 'ModComments'], env.env, env.emu, {afterRequests: rng.int(2, 10), extraMs: rng.int(0, 60)})
      process.stderr.write(`${trialLine('engagement pull', t, SEED, outcome, null)}\n`)
    }
    await runToEnd(['pull', '--module', 'ModComments'], env.env)
    const rows = await env.testDb.query<{commentcontent: string; n: number}>(
      "SELECT commentcontent, COUNT(*) AS n FROM vtiger_modcomments m JOIN vtiger_crmentity e ON e.crmid = m.modcommentsid WHERE commentcontent LIKE 'HubSpot note %' AND e.deleted = 0 GROUP BY commentcontent",
    )
    expect(rows).toHaveLength(200)
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true)
    const [{links}] = await env.testDb.query<{links: number}>("SELECT COUNT(*) AS links FROM cbhs_link WHERE module = 'ModComments' AND object_type = 'notes'")
    expect(Number(links)).toBe(450)
  })
})
