/**
 * `cbhs status` with activity sync on: each activity stream (push per coreBOS module, pull per
 * engagement type) is shown like a record module — watermark, last pass, pending and lag, open
 * failures by category — and `--check` judges it: a stream that stopped completing passes is
 * CRITICAL as a record module is. With activity sync off nothing of it appears (status.test.ts
 * holds the exact JSON shape).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {openHubSpot} from '../../src/context.js'
import {CoreBosStateStore} from '../../src/corebos/state.js'
import {ensureSyncProperties, syncedObjectTypes} from '../../src/hubspot/setup.js'
import {addComment, useTimezone} from '../support/corebos-activities.js'
import {runCli} from '../support/cli.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'

const MIN = 60_000

interface Stream {
  stream: string
  direction: string
  linked: number
  watermark: string | null
  lastOutcome: string | null
  lastCompletedAt: string | null
  pending: number | null
  behindSeconds: number | null
  failed: number
  failuresByCategory: Record<string, number>
  stale: boolean
}

describe('cbhs status knows the activity streams', () => {
  let env: SyncEnv
  let on: Record<string, string>
  let contact: number

  beforeAll(async () => {
    env = await createSyncEnv({env: {CBHS_ACTIVITIES: 'true'}})
    on = env.env
    useTimezone(env.config.timezone)
    await ensureSyncProperties(openHubSpot(env.config), {propertyName: env.config.hubspot.uniqueProperty, objectTypes: syncedObjectTypes(true)})
    ;[contact] = await env.create('Contacts', [{firstname: 'Ada', lastname: 'Lovelace', email: 'ada@status.example'}])
    await addComment(env.testDb, contact, 'first comment')
  })
  afterAll(async () => env?.close())

  const streams = (result: {activities?: Stream[]}) => new Map((result.activities ?? []).map((s) => [`${s.direction} ${s.stream}`, s]))

  it('--json lists every activity stream with its watermark, last pass, pending and linked count', async () => {
    const sync = await runCli(['sync'], {env: on})
    expect(sync.code, sync.stderr).toBe(0)
    await addComment(env.testDb, contact, 'waiting for the next push')

    const r = await runCli(['status', '--json'], {env: on})
    expect(r.code, r.stderr).toBe(0)
    const s = streams(r.json.result)
    expect([...s.keys()]).toEqual(['push ModComments', 'push cbCalendar', 'pull notes', 'pull calls', 'pull meetings', 'pull tasks', 'pull emails'])
    const comments = s.get('push ModComments')!
    expect(comments).toMatchObject({linked: 1, lastOutcome: 'ok', pending: 1, failed: 0, failuresByCategory: {}, stale: false})
    expect(comments.watermark).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
    expect(comments.lastCompletedAt).not.toBeNull()
    expect(s.get('pull notes')).toMatchObject({linked: 1, lastOutcome: 'ok', pending: null})
    expect(s.get('pull notes')!.watermark).not.toBeNull()
    expect(s.get('pull calls')).toMatchObject({linked: 0, lastOutcome: 'ok'})
    // the record modules are where they were
    expect(r.json.result.modules.map((m: {module: string}) => m.module)).toEqual(['Accounts', 'Contacts', 'Leads', 'Potentials'])

    const table = await runCli(['status'], {env: on})
    expect(table.stdout).toMatch(/^ModComments +push +\S+( \S+)? +1 +0 +1 /m)
    expect(table.stdout).toMatch(/^notes +pull +/m)
  })

  it('open failures of an activity stream are counted by category; --check judges a stuck stream CRITICAL', async () => {
    await env.db.state.recordFailure({module: 'ModComments' as never, direction: 'push', crmid: 990_001, category: 'PARENT_PENDING', message: 'waits for its contact'})
    await env.db.state.recordFailure({module: 'ModComments' as never, direction: 'push', crmid: 990_002, category: 'PARENT_PENDING', message: 'waits for its contact'})
    await env.db.state.recordFailure({module: 'notes' as never, direction: 'pull', hubspotId: '990003', category: 'WRITE_FAILED', message: 'not written'})
    // the notes pull last completed 47 minutes ago (stale at 3 × 6 min), the rest just now
    const earlier = new CoreBosStateStore(env.testDb.pool, {now: () => Date.now() - 47 * MIN})
    await earlier.recordOutcome('notes' as never, 'pull', {outcome: 'ok'})

    const r = await runCli(['status', '--json', '--max-failures', '10'], {env: on})
    expect(r.code).toBe(5)
    const s = streams(r.json.result)
    expect(s.get('push ModComments')).toMatchObject({failed: 2, failuresByCategory: {PARENT_PENDING: 2}})
    expect(s.get('pull notes')).toMatchObject({failed: 1, failuresByCategory: {WRITE_FAILED: 1}, stale: true})
    expect(r.json.result.health.problems).toContainEqual(expect.objectContaining({rule: 'stale', severity: 'CRITICAL', subject: 'pull notes'}))

    const check = await runCli(['status', '--check', '--max-failures', '10'], {env: on})
    expect(check.code).toBe(2)
    expect(check.stdout).toMatch(/^CBHS CRITICAL - pull notes: last completed pass 47 min ago \(> 18 min\)/)

    const table = await runCli(['status'], {env: on})
    expect(table.stdout).toMatch(/^notes +pull .*47 min STALE/m)
    expect(table.stdout).toContain('ModComments push: 2 open (PARENT_PENDING 2)')
  })

  it('with activity sync off, status shows no activity stream', async () => {
    const {CBHS_ACTIVITIES: _, ...off} = on
    const r = await runCli(['status', '--json', '--max-failures', '10'], {env: off})
    expect(r.json.result.activities).toBeUndefined()
    expect(r.json.result.health.problems.map((p: {subject: string}) => p.subject)).not.toContain('pull notes')
  })
})
