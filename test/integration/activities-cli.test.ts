/**
 * Activity sync through the real binary, as users turn it on: `setup` gives the five engagement
 * types the unique crmid property, `sync` shows the activity streams' task lines, and naming an
 * activity module while activity sync is off is a usage error that says which setting to change.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {addComment, useTimezone} from '../support/corebos-activities.js'
import {raw} from '../support/emulator.js'
import {runCli} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

describe('activities through the binary', () => {
  let env: SyncEnv
  beforeAll(async () => {
    env = await createSyncEnv()
    useTimezone(env.config.timezone)
  })
  afterAll(async () => env?.close())

  it('--module ModComments with activity sync off is a usage error naming the setting', async () => {
    const r = await runCli(['push', '--module', 'ModComments'], {env: env.env})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('sync.activities')
    expect(r.stderr).toContain('CBHS_ACTIVITIES=true')
  })

  it('setup with CBHS_ACTIVITIES=true adds corebos_crmid to notes, calls, meetings, tasks and e-mails; sync then carries a comment', async () => {
    const on = {...env.env, CBHS_ACTIVITIES: 'true'}
    const setup = await runCli(['setup'], {env: on})
    expect(setup.code, setup.stderr).toBe(0)
    for (const type of ['notes', 'calls', 'meetings', 'tasks', 'emails']) {
      const res = await raw(env.emu, 'GET', `/crm/properties/2026-03/${type}/corebos_crmid`)
      expect(res.status, type).toBe(200)
      expect(res.json).toMatchObject({name: 'corebos_crmid', hasUniqueValue: true})
    }
    const [contact] = await env.create('Contacts', [{firstname: 'Ada', lastname: 'Lovelace', email: 'ada@cli.example'}])
    await addComment(env.testDb, contact, 'from the command line')
    const sync = await runCli(['sync'], {env: on})
    expect(sync.code, sync.stderr).toBe(0)
    expect(sync.stderr).toMatch(/push ModComments: 1 read, 1 created/)
    expect(sync.stdout).toMatch(/ModComments\s+1\s+1/)
    const note = env.emu.control.all('notes').find((n) => n.properties.hs_note_body === 'from the command line')
    expect(note).toBeDefined()
  })
})
