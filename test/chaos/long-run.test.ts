/**
 * The long chaos run (`npm run test:chaos`, issue 10): the real binary SIGKILLed at random instants
 * of push, pull and `reconcile --apply` (20 trials each by default), a 10,000-record backfill killed
 * at 10 points, HubSpot failing 20 % of requests in every way, the database connections KILLed
 * mid-pass, and the bad-input corpus — each followed by normal passes and invariant checks on both
 * sides. Ends with a summary: trials, faults injected, bad inputs tried, invariants held or broken.
 *
 * CBHS_CHAOS_SEED replays a run, CBHS_CHAOS_TRIALS sets the trials per command, CBHS_CHAOS_BACKFILL
 * the backfill size. Also: every lie of the hostile-answers catalogue (test/support/emulator.ts), and
 * rounds with the host clock 10 minutes off and one record dated in the future, and kill trials of a
 * sync with the activity streams on (comments ↔ notes).
 */
import {existsSync, mkdtempSync, writeFileSync} from 'node:fs'
import {spawn} from 'node:child_process'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'
import {P, PULL_CASES, PUSH_CASES} from '../fixtures/bad-input/corpus.js'
import {BIN, ROOT, runCli} from '../support/cli.js'
import {databaseNowMs, hostSkewEnv, setModifiedtime} from '../support/clock-skew.js'
import {HOSTILE_ANSWERS} from '../support/emulator.js'
import {addComment, useTimezone} from '../support/corebos-activities.js'
import {openHubSpot} from '../../src/context.js'
import {ensureSyncProperties, syncedObjectTypes} from '../../src/hubspot/setup.js'
import {epochMsToNaive} from '../../src/sync/time.js'
import {denormalizeModule} from '../support/corebos-fixtures.js'
import {captureStoredState, secretEnvOptions} from '../support/secrets.js'
import {createSyncEnv, type SyncEnv} from '../support/sync-env.js'
import {checkPulled, checkPushed, checkState, createMany, killCbhsConnections, Rng, runAndKill, runToEnd, trialLine, type Violation} from './harness.js'

const SEED = Number(process.env.CBHS_CHAOS_SEED ?? Date.now() % 1_000_000)
const TRIALS = Number(process.env.CBHS_CHAOS_TRIALS ?? 20)
const BACKFILL = Number(process.env.CBHS_CHAOS_BACKFILL ?? 10_000)
const HAS_RECONCILE = existsSync(fileURLToPath(new URL('../../src/commands/reconcile.ts', import.meta.url)))

const summary = {
  trials: {} as Record<string, {trials: number; killed: number; broken: number}>,
  faultsInjected: 0,
  faultKinds: {} as Record<string, number>,
  dbKills: 0,
  badInputs: 0,
  violations: [] as Array<Violation & {kind: string; trial: number}>,
  notes: [] as string[],
}

function note(kind: string, trial: number, killed: boolean, violations: Violation[]): void {
  const t = (summary.trials[kind] ??= {trials: 0, killed: 0, broken: 0})
  t.trials++
  if (killed) t.killed++
  if (violations.length > 0) t.broken++
  for (const v of violations) summary.violations.push({...v, kind, trial})
}

function log(line: string): void {
  process.stderr.write(`${line}\n`)
}

async function withEnv<T>(fn: (env: SyncEnv) => Promise<T>, options: Parameters<typeof createSyncEnv>[0] = {}): Promise<T> {
  const env = await createSyncEnv({...secretEnvOptions(), ...options, env: {...secretEnvOptions().env, ...options.env}})
  try {
    return await fn(env)
  } finally {
    await captureStoredState(env.testDb).catch(() => undefined)
    await env.close()
  }
}

async function crmContactCount(env: SyncEnv): Promise<number> {
  const [row] = await env.testDb.query<{n: number}>("SELECT COUNT(*) AS n FROM vtiger_crmentity WHERE setype IN ('Contacts', 'Leads') AND deleted = 0")
  return Number(row.n)
}

function countFaults(env: SyncEnv): void {
  for (const r of env.emu.control.requests()) {
    if (!r.fault) continue
    summary.faultsInjected++
    summary.faultKinds[r.fault] = (summary.faultKinds[r.fault] ?? 0) + 1
  }
}

describe(`chaos long run (seed ${SEED})`, () => {
  afterAll(() => {
    const lines = ['', '=== cbhs chaos long run: summary ===', `seed ${SEED} (replay with CBHS_CHAOS_SEED=${SEED})`]
    for (const [kind, t] of Object.entries(summary.trials)) lines.push(`  ${kind.padEnd(22)} ${String(t.trials).padStart(3)} trials, ${String(t.killed).padStart(3)} killed mid-run, ${t.broken === 0 ? 'invariants held' : `${t.broken} BROKE invariants`}`)
    lines.push(`  faults injected: ${summary.faultsInjected} (${Object.entries(summary.faultKinds).map(([k, n]) => `${k}×${n}`).join(', ') || 'none'})`)
    lines.push(`  database connections killed: ${summary.dbKills}`)
    lines.push(`  bad inputs tried: ${summary.badInputs}`)
    for (const n of summary.notes) lines.push(`  note: ${n}`)
    if (summary.violations.length === 0) lines.push('  invariants: idempotent, nothing lost, no duplicates, ledger/watermarks/runs consistent — all HELD')
    else {
      lines.push(`  invariants BROKEN ${summary.violations.length} time(s):`)
      for (const v of summary.violations.slice(0, 30)) lines.push(`    [${v.kind} #${v.trial}] ${v.invariant}: ${v.detail}`)
    }
    log(lines.join('\n'))
  })

  it(`push: ${TRIALS} trials of coreBOS changes, a push killed at a random instant, then a normal push`, async () => {
    await withEnv(async (env) => {
      const rng = new Rng(SEED + 1)
      const accounts = await createMany(env, 'Accounts', 30, (i) => ({accountname: `Chaos Co ${i}`}))
      let contacts = await createMany(env, 'Contacts', 300, (i) => ({firstname: `C${i}`, lastname: `Chaos ${i}`, email: `c${i}@chaos.example`, account_id: String(accounts[i % 30])}))
      await createMany(env, 'Potentials', 30, (i) => ({potentialname: `Chaos deal ${i}`, related_to: String(accounts[i % 30]), sales_stage: 'Prospecting', closingdate: '2027-03-01'}))
      let estimate = 25
      for (let t = 1; t <= TRIALS; t++) {
        contacts = contacts.concat(await createMany(env, 'Contacts', rng.int(5, 60), (i) => ({firstname: `N${t}`, lastname: `New ${t}.${i}`, email: `n${t}.${i}@chaos.example`})))
        for (const id of rng.sample(contacts, rng.int(5, 30))) await env.db.records.update('Contacts', id, {firstname: `Ed${t}`, title: `Trial ${t}`}, 1)
        for (const id of rng.sample(contacts, rng.int(0, 2))) {
          await env.db.records.trash('Contacts', id, 1)
          contacts = contacts.filter((c) => c !== id)
        }
        const outcome = await runAndKill(['push'], env.env, env.emu, {afterRequests: rng.int(1, estimate), extraMs: rng.int(0, 80)})
        const mark = env.emu.control.requests().length
        await runToEnd(['push'], env.env)
        estimate = Math.max(5, env.emu.control.requests().length - mark)
        const violations = await checkPushed(env, ['Accounts', 'Contacts', 'Potentials'], {Contacts: {firstname: 'firstname', lastname: 'lastname', title: 'jobtitle'}})
        // idempotent: one more push right away writes nothing
        const quiet = env.emu.control.requests().length
        await runToEnd(['push'], env.env)
        const writes = env.emu.control.requests().slice(quiet).filter((r) => r.method !== 'GET' && !/search|batch\/read|associations.*batch\/read/.test(r.endpoint))
        if (writes.length > 0) violations.push({invariant: 'idempotent', detail: `a push with nothing changed made ${writes.length} write calls (${writes[0].endpoint})`})
        note('push', t, outcome.killed, violations)
        log(trialLine('push', t, SEED + 1, outcome, violations))
      }
    })
    expect(summary.violations.filter((v) => v.kind === 'push')).toEqual([])
  })

  it(`push: a ${BACKFILL}-record backfill killed at 10 random points, then run to the end`, async () => {
    await withEnv(async (env) => {
      const rng = new Rng(SEED + 2)
      await createMany(env, 'Contacts', BACKFILL, (i) => ({firstname: `B${i}`, lastname: `Backfill ${i}`, email: `b${i}@backfill.example`}))
      for (let t = 1; t <= 10; t++) {
        // early enough in each run that all ten land before the backfill is done (≈ 1 upsert per 100 records)
        const outcome = await runAndKill(['push'], env.env, env.emu, {afterRequests: rng.int(2, Math.max(3, Math.floor(BACKFILL / 1000))), extraMs: rng.int(0, 100)})
        note('backfill kill', t, outcome.killed, [])
        log(trialLine('backfill', t, SEED + 2, outcome, null))
      }
      await runToEnd(['push'], env.env)
      const violations = await checkPushed(env, ['Contacts'], {Contacts: {lastname: 'lastname'}})
      const count = env.emu.control.all('contacts').length
      if (count !== BACKFILL) violations.push({invariant: 'count = records', detail: `${count} HubSpot contacts for ${BACKFILL} records`})
      note('backfill final', 1, false, violations)
      log(`backfill: ${count} HubSpot contacts for ${BACKFILL} records; ${violations.length === 0 ? 'invariants held' : `BROKEN: ${violations.slice(0, 5).map((v) => v.detail).join(' | ')}`}`)
    })
    expect(summary.violations.filter((v) => v.kind.startsWith('backfill'))).toEqual([])
  })

  it(`pull: ${TRIALS} trials of HubSpot changes, a pull killed at a random instant, then a normal pull`, async () => {
    await withEnv(async (env) => {
      const rng = new Rng(SEED + 3)
      const companies = env.emu.control.seed('companies', Array.from({length: 20}, (_, i) => ({name: `Pull Co ${i}`, domain: `pullco${i}.example`})))
      let people = env.emu.control.seed('contacts', Array.from({length: 200}, (_, i) => P({firstname: `H${i}`, lastname: `Hub ${i}`, email: `h${i}@pull.example`, lifecyclestage: i % 5 === 0 ? 'lead' : 'customer'})))
      for (const [i, p] of people.entries()) if (i % 3 === 0) env.emu.control.associate('contacts', p.id, 'companies', companies[i % 20]!.id)
      let estimate = 20
      for (let t = 1; t <= TRIALS; t++) {
        people = people.concat(env.emu.control.seed('contacts', Array.from({length: rng.int(3, 40)}, (_, i) => P({firstname: `T${t}`, lastname: `Pulled ${t}.${i}`, email: `t${t}.${i}@pull.example`, lifecyclestage: rng.pick(['lead', 'customer', 'opportunity'])}))))
        for (const p of rng.sample(people, rng.int(3, 20))) env.emu.control.update('contacts', p.id, {firstname: `Upd${t}`, jobtitle: `Job ${t}`})
        if (rng.float() < 0.3) env.emu.control.seed('companies', [{name: `Late Co ${t}`, domain: `late${t}.example`}])
        const outcome = await runAndKill(['pull'], env.env, env.emu, {afterRequests: rng.int(1, estimate), extraMs: rng.int(0, 80)})
        const mark = env.emu.control.requests().length
        await runToEnd(['pull'], env.env)
        estimate = Math.max(5, env.emu.control.requests().length - mark)
        const violations = [
          ...(await checkPulled(env, ['contacts', 'companies'], {contacts: {firstname: 'firstname', lastname: 'lastname', jobtitle: 'title'}, companies: {name: 'accountname'}})),
          ...(await checkState(env, ['Accounts', 'Contacts', 'Leads'], 'pull')),
        ]
        note('pull', t, outcome.killed, violations)
        log(trialLine('pull', t, SEED + 3, outcome, violations))
      }
      // no ping-pong: a push after all those pulls sends nothing back
      const mark = env.emu.control.requests().length
      await runToEnd(['push'], env.env)
      const writes = env.emu.control.requests().slice(mark).filter((r) => r.method !== 'GET' && !/search|batch\/read/.test(r.endpoint))
      const pingPong = writes.length > 0 ? [{invariant: 'no ping-pong', detail: `push after pulls made ${writes.length} write calls (${writes[0].endpoint})`}] : []
      note('pull → push', 1, false, pingPong)
    })
    expect(summary.violations.filter((v) => v.kind.startsWith('pull'))).toEqual([])
  })

  it(`activities: ${TRIALS} trials of comments and HubSpot notes, a sync killed at a random instant, then a normal sync`, async () => {
    await withEnv(
      async (env) => {
        const rng = new Rng(SEED + 9)
        useTimezone(env.config.timezone)
        await ensureSyncProperties(openHubSpot(env.config), {propertyName: env.config.hubspot.uniqueProperty, objectTypes: syncedObjectTypes(true)})
        const contacts = await createMany(env, 'Contacts', 20, (i) => ({firstname: `Ac${i}`, lastname: `Activity ${i}`, email: `ac${i}@activity.example`}))
        await runToEnd(['sync'], env.env)
        const hsContacts = env.emu.control.all('contacts')
        const comments: number[] = []
        const notes: string[] = []
        let estimate = 20
        for (let t = 1; t <= TRIALS; t++) {
          for (let i = rng.int(1, 15); i > 0; i--) comments.push(await addComment(env.testDb, rng.pick(contacts), `coreBOS comment ${t}.${i}`))
          const seeded = env.emu.control.seed('notes', Array.from({length: rng.int(1, 15)}, (_, i) => ({hs_timestamp: '2026-02-01T10:00:00Z', hs_note_body: `HubSpot note ${t}.${i}`})))
          for (const n of seeded) env.emu.control.associate('notes', n.id, 'contacts', rng.pick(hsContacts).id)
          notes.push(...seeded.map((n) => n.id))
          const outcome = await runAndKill(['sync'], env.env, env.emu, {afterRequests: rng.int(1, estimate), extraMs: rng.int(0, 60)})
          const mark = env.emu.control.requests().length
          await runToEnd(['sync'], env.env)
          estimate = Math.max(5, env.emu.control.requests().length - mark)
          const violations: Violation[] = []
          // every coreBOS comment is one HubSpot note, every HubSpot note one coreBOS comment
          const byCrmid = new Map<string, number>()
          for (const n of env.emu.control.all('notes')) if (n.properties.corebos_crmid) byCrmid.set(n.properties.corebos_crmid, (byCrmid.get(n.properties.corebos_crmid) ?? 0) + 1)
          for (const c of comments) if (byCrmid.get(String(c)) !== 1) violations.push({invariant: byCrmid.has(String(c)) ? 'no duplicates (HubSpot)' : 'nothing lost (push)', detail: `comment ${c} is ${byCrmid.get(String(c)) ?? 0} notes in HubSpot`})
          const links = await env.testDb.query<{crmid: number; hubspot_id: string}>("SELECT crmid, hubspot_id FROM cbhs_link WHERE module = 'ModComments' AND object_type = 'notes' AND archived = 0")
          const linkedNotes = new Map<string, number>()
          for (const l of links) linkedNotes.set(String(l.hubspot_id), (linkedNotes.get(String(l.hubspot_id)) ?? 0) + 1)
          for (const id of notes) if (linkedNotes.get(id) !== 1) violations.push({invariant: linkedNotes.has(id) ? 'no duplicates (coreBOS)' : 'nothing lost (pull)', detail: `HubSpot note ${id} is linked ${linkedNotes.get(id) ?? 0} times`})
          const [dupes] = await env.testDb.query<{n: number}>(
            "SELECT COUNT(*) AS n FROM (SELECT commentcontent FROM vtiger_modcomments m JOIN vtiger_crmentity e ON e.crmid = m.modcommentsid WHERE e.deleted = 0 AND commentcontent LIKE 'HubSpot note %' GROUP BY commentcontent HAVING COUNT(*) > 1) d",
          )
          if (Number(dupes!.n) > 0) violations.push({invariant: 'no duplicates (coreBOS)', detail: `${dupes!.n} HubSpot notes are in coreBOS twice`})
          // idempotent: one more sync writes nothing to HubSpot
          const quiet = env.emu.control.requests().length
          await runToEnd(['sync'], env.env)
          const writes = env.emu.control.requests().slice(quiet).filter((r) => r.method !== 'GET' && !/search|batch\/read/.test(r.endpoint))
          if (writes.length > 0) violations.push({invariant: 'idempotent', detail: `a sync with nothing changed made ${writes.length} write calls (${writes[0]!.endpoint})`})
          note('activities', t, outcome.killed, violations)
          log(trialLine('activities', t, SEED + 9, outcome, violations))
        }
      },
      {env: {CBHS_ACTIVITIES: 'true'}},
    )
    expect(summary.violations.filter((v) => v.kind === 'activities')).toEqual([])
  })

  it(`reconcile --apply: ${TRIALS} trials killed at a random instant, then a normal reconcile --apply`, async (ctx) => {
    if (!HAS_RECONCILE) {
      summary.notes.push('reconcile kill trials skipped: src/commands/reconcile.ts does not exist yet')
      ctx.skip()
    }
    await withEnv(async (env) => {
      const rng = new Rng(SEED + 4)
      let estimate = 15
      for (let t = 1; t <= TRIALS; t++) {
        // records only in coreBOS, objects only in HubSpot, and unlinked pairs sharing an e-mail
        await createMany(env, 'Contacts', rng.int(3, 20), (i) => ({firstname: 'OnlyCrm', lastname: `R${t}.${i}`, email: `crm${t}.${i}@rec.example`}))
        env.emu.control.seed('contacts', Array.from({length: rng.int(3, 20)}, (_, i) => P({firstname: 'OnlyHs', lastname: `R${t}.${i}`, email: `hs${t}.${i}@rec.example`})))
        const pairs = rng.int(1, 8)
        await createMany(env, 'Contacts', pairs, (i) => ({firstname: 'Pair', lastname: `P${t}.${i}`, email: `pair${t}.${i}@rec.example`}))
        env.emu.control.seed('contacts', Array.from({length: pairs}, (_, i) => P({firstname: 'Pair', lastname: `P${t}.${i}`, email: `pair${t}.${i}@rec.example`})))
        const outcome = await runAndKill(['reconcile', '--apply'], env.env, env.emu, {afterRequests: rng.int(1, estimate), extraMs: rng.int(0, 80)})
        const mark = env.emu.control.requests().length
        await runToEnd(['reconcile', '--apply'], env.env, [0, 5])
        estimate = Math.max(5, env.emu.control.requests().length - mark)
        // reconcile does not move the push watermarks: those belong to push
        const violations = [...(await checkPushed(env, ['Contacts'], {Contacts: {lastname: 'lastname', email: 'email'}}, {watermarks: false})), ...(await checkPulled(env, ['contacts'], {contacts: {lastname: 'lastname'}}))]
        const emails = new Map<string, number>()
        for (const o of env.emu.control.all('contacts')) if (o.properties.email) emails.set(o.properties.email, (emails.get(o.properties.email) ?? 0) + 1)
        for (const [email, n] of emails) if (n > 1) violations.push({invariant: 'no duplicates (HubSpot)', detail: `${n} contacts with e-mail ${email}`})
        const crmDupes = await env.testDb.query<{email: string; n: number}>("SELECT email, COUNT(*) AS n FROM vtiger_contactdetails c JOIN vtiger_crmentity e ON e.crmid = c.contactid WHERE e.deleted = 0 AND email LIKE '%@rec.example' GROUP BY email HAVING n > 1")
        for (const d of crmDupes) violations.push({invariant: 'no duplicates (coreBOS)', detail: `${d.n} contacts with e-mail ${d.email}`})
        note('reconcile --apply', t, outcome.killed, violations)
        log(trialLine('reconcile --apply', t, SEED + 4, outcome, violations))
      }
    })
    expect(summary.violations.filter((v) => v.kind.startsWith('reconcile'))).toEqual([])
  })

  it('faults: HubSpot failing 20 % of requests (429, 5xx, 423, hang, reset, html, no content type) through rounds of push and pull', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cbhs-chaos-'))
    const config = join(dir, 'cbhs.json')
    writeFileSync(config, JSON.stringify({hubspot: {requestTimeoutMs: 1500}}), {mode: 0o600})
    await withEnv(async (env) => {
      const rng = new Rng(SEED + 5)
      const faultEnv = {...env.env, CBHS_CONFIG: config}
      env.emu.control.injectFaults({rate: 0.2, seed: SEED + 5, kinds: [429, 500, 502, 504, 423, 'hang', 'reset', 'html', 'no-content-type']})
      let contacts: number[] = []
      const hung: Violation[] = []
      for (let round = 1; round <= 5; round++) {
        contacts = contacts.concat(await createMany(env, 'Contacts', rng.int(20, 80), (i) => ({firstname: `F${round}`, lastname: `Fault ${round}.${i}`, email: `f${round}.${i}@faults.example`})))
        for (const id of rng.sample(contacts, rng.int(5, 20))) await env.db.records.update('Contacts', id, {title: `Round ${round}`}, 1)
        env.emu.control.seed('contacts', Array.from({length: rng.int(5, 20)}, (_, i) => P({lastname: `HsFault ${round}.${i}`, email: `hsf${round}.${i}@faults.example`})))
        const codes: string[] = []
        for (const command of ['push', 'pull']) {
          for (let attempt = 0; attempt < 8; attempt++) {
            // a pass that neither finishes nor fails within 3 minutes is hung: killed, and counted as broken
            const r = await runToEnd([command], faultEnv, [0, 4, 5, -1], 180_000)
            codes.push(`${command}:${r.code ?? r.signal}`)
            if (r.code === null) {
              hung.push({invariant: 'no hang under faults', detail: `round ${round} ${command} still running after 180 s; last output: ${r.stderr.trim().split('\n').slice(-2).join(' / ').slice(0, 300)}`})
            }
            if (r.code === 0) break
          }
        }
        log(`faults round ${round}: ${codes.join(' ')}`)
        note('faults round', round, false, hung.splice(0))
      }
      countFaults(env)
      env.emu.control.clearFaults()
      await runToEnd(['push'], env.env)
      await runToEnd(['pull'], env.env)
      const violations = [...(await checkPushed(env, ['Contacts'], {Contacts: {lastname: 'lastname', title: 'jobtitle'}})), ...(await checkPulled(env, ['contacts'], {contacts: {lastname: 'lastname'}}))]
      note('faults final', 1, false, violations)
      log(`faults: ${violations.length === 0 ? 'every record synced once' : `BROKEN: ${violations.slice(0, 5).map((v) => v.detail).join(' | ')}`}`)
    })
    expect(summary.violations.filter((v) => v.kind.startsWith('faults'))).toEqual([])
  })

  it('hostile answers: every lie of the catalogue, in random order, stops its pass with exit 4; nothing of it lands, no watermark moves, the next passes sync what was pending', async () => {
    await withEnv(async (env) => {
      const rng = new Rng(SEED + 7)
      await createMany(env, 'Contacts', 40, (i) => ({firstname: `Ho${i}`, lastname: `Hostile ${i}`, email: `ho${i}@hostile.example`}))
      // contacts in a company, so that every pull reads association rows (the association lies need some)
      const [company] = env.emu.control.seed('companies', [{name: 'Hostile Co', domain: 'hostile.example'}])
      const inCompany = (objects: Array<{id: string}>) => {
        for (const o of objects) env.emu.control.associate('contacts', o.id, 'companies', company!.id)
        return objects
      }
      let people = inCompany(env.emu.control.seed('contacts', Array.from({length: 40}, (_, i) => P({firstname: `Hh${i}`, lastname: `HsHostile ${i}`, email: `hh${i}@hostile.example`, lifecyclestage: 'customer'}))))
      await runToEnd(['push'], env.env)
      await runToEnd(['pull'], env.env)
      const rounds = Math.max(1, Math.ceil(TRIALS / HOSTILE_ANSWERS.length))
      let trial = 0
      for (let round = 1; round <= rounds; round++) {
        for (const lie of rng.sample([...HOSTILE_ANSWERS], HOSTILE_ANSWERS.length)) {
          trial++
          // something pending on both sides, less than one batch, so a refused first answer commits nothing
          await createMany(env, 'Contacts', rng.int(1, 8), (i) => ({firstname: `Pend${trial}`, lastname: `Pending ${trial}.${i}`, email: `p${trial}.${i}@hostile.example`}))
          people = people.concat(inCompany(env.emu.control.seed('contacts', Array.from({length: rng.int(1, 8)}, (_, i) => P({firstname: `HsPend${trial}`, lastname: `HsPending ${trial}.${i}`, email: `hp${trial}.${i}@hostile.example`, lifecyclestage: 'customer'})))))
          for (const p of rng.sample(people, rng.int(1, 5))) env.emu.control.update('contacts', p.id, {jobtitle: `Lie ${trial}`})
          const before = await env.testDb.query<{module: string; direction: string; value: string | null; cursor_value: string | null}>('SELECT module, direction, value, cursor_value FROM cbhs_watermark ORDER BY module, direction')
          const records = await crmContactCount(env)
          const violations: Violation[] = []
          env.emu.control.hostile(lie.spec)
          const started = Date.now()
          const r = await runCli(lie.full ? [lie.command, '--full'] : [lie.command], {env: env.env, timeoutMs: 60_000})
          env.emu.control.clearHostile()
          if (r.code !== 4) violations.push({invariant: 'a bad answer is exit 4', detail: `${lie.name}: ${lie.command} exited ${r.code ?? r.signal} after ${Date.now() - started} ms: ${r.stderr.trim().split('\n').slice(-2).join(' / ').slice(0, 300)}`})
          const after = await env.testDb.query<{module: string; direction: string; value: string | null; cursor_value: string | null}>('SELECT module, direction, value, cursor_value FROM cbhs_watermark ORDER BY module, direction')
          const stream = (w: {module: string; direction: string}) => w.direction === lie.command && w.module === 'Contacts'
          if (JSON.stringify(after.filter(stream)) !== JSON.stringify(before.filter(stream))) {
            violations.push({invariant: 'no watermark moves on a bad answer', detail: `${lie.name}: ${JSON.stringify(before.filter(stream))} → ${JSON.stringify(after.filter(stream))}`})
          }
          if (lie.command === 'pull' && (await crmContactCount(env)) !== records) violations.push({invariant: 'nothing of a bad answer lands', detail: `${lie.name}: coreBOS contacts and leads ${records} → ${await crmContactCount(env)}`})
          const [odd] = await env.testDb.query<{n: number}>("SELECT COUNT(*) AS n FROM cbhs_link WHERE hubspot_id NOT REGEXP '^[0-9]+$'")
          if (Number(odd.n) > 0) violations.push({invariant: 'ids are digits', detail: `${lie.name}: ${odd.n} links to ids that are not digits`})
          // the lock was released and what was pending travels on the next good passes
          await runToEnd(['pull'], env.env)
          await runToEnd(['push'], env.env)
          await runToEnd(['pull'], env.env)
          violations.push(...(await checkPushed(env, ['Contacts'], {Contacts: {lastname: 'lastname'}})), ...(await checkPulled(env, ['contacts', 'companies'], {contacts: {lastname: 'lastname', jobtitle: 'title'}})))
          note('hostile answers', trial, false, violations)
          log(`hostile answers trial ${trial} seed ${SEED + 7} (${lie.name}, ${lie.command}${lie.full ? ' --full' : ''}): exit ${r.code ?? r.signal}; ${violations.length === 0 ? 'invariants held' : `BROKEN: ${violations.slice(0, 3).map((v) => v.detail).join(' | ')}`}`)
        }
      }
    })
    expect(summary.violations.filter((v) => v.kind === 'hostile answers')).toEqual([])
  })

  it('clock skew: the host clock 10 minutes ahead or behind and one record dated in the future, through rounds of push and pull', async () => {
    await withEnv(async (env) => {
      const rng = new Rng(SEED + 8)
      const zone = env.config.timezone
      let contacts = await createMany(env, 'Contacts', 60, (i) => ({firstname: `Sk${i}`, lastname: `Skew ${i}`, email: `sk${i}@skew.example`}))
      let people = env.emu.control.seed('contacts', Array.from({length: 30}, (_, i) => P({firstname: `HSk${i}`, lastname: `HsSkew ${i}`, email: `hsk${i}@skew.example`, lifecyclestage: 'customer'})))
      await runToEnd(['push'], env.env)
      await runToEnd(['pull'], env.env)
      // one record dated a day ahead, as an import or a wrong clock leaves it: it must not freeze push
      const future = contacts[0]!
      await env.db.records.update('Contacts', future, {title: 'From the future'}, 1)
      await setModifiedtime(env.testDb, future, epochMsToNaive((await databaseNowMs(env.testDb)) + 86_400_000, zone))
      contacts = contacts.slice(1)
      for (let round = 1; round <= 6; round++) {
        const skew = rng.pick([600_000, -600_000, 0])
        const skewed = {...env.env, ...hostSkewEnv(skew)}
        contacts = contacts.concat(await createMany(env, 'Contacts', rng.int(1, 10), (i) => ({firstname: `SkN${round}`, lastname: `SkewNew ${round}.${i}`, email: `skn${round}.${i}@skew.example`})))
        for (const id of rng.sample(contacts, rng.int(3, 12))) await env.db.records.update('Contacts', id, {firstname: `SkEd${round}`, title: `Skew round ${round}`}, 1)
        people = people.concat(env.emu.control.seed('contacts', Array.from({length: rng.int(1, 6)}, (_, i) => P({firstname: `HSkN${round}`, lastname: `HsSkewNew ${round}.${i}`, email: `hskn${round}.${i}@skew.example`, lifecyclestage: 'customer'}))))
        for (const p of rng.sample(people, rng.int(1, 8))) env.emu.control.update('contacts', p.id, {firstname: `HsSkEd${round}`})
        const violations: Violation[] = []
        for (const command of ['pull', 'push']) {
          const r = await runCli([command], {env: skewed, timeoutMs: 120_000})
          if (r.code !== 0) violations.push({invariant: 'a skewed host changes nothing', detail: `round ${round} (host ${skew / 60_000} min) ${command} exited ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').slice(-2).join(' / ').slice(0, 300)}`})
        }
        violations.push(...(await checkPushed(env, ['Contacts'], {Contacts: {firstname: 'firstname', title: 'jobtitle'}})), ...(await checkPulled(env, ['contacts'], {contacts: {firstname: 'firstname'}})))
        // what cbhs stamped into coreBOS came from the database's clock, not the skewed host's
        const limit = epochMsToNaive((await databaseNowMs(env.testDb)) + 2_000, zone)
        const ahead = await env.testDb.query<{crmid: number; modifiedtime: string}>("SELECT crmid, modifiedtime FROM vtiger_crmentity WHERE setype IN ('Contacts', 'Leads') AND deleted = 0 AND crmid <> ? AND modifiedtime > ?", [future, limit])
        for (const a of ahead.slice(0, 3)) violations.push({invariant: 'times from the database clock', detail: `round ${round} (host ${skew / 60_000} min): record ${a.crmid} modified at ${a.modifiedtime}, past the database's ${limit}`})
        // idempotent under skew, the future record included: another pull and push write nothing
        const mark = env.emu.control.requests().length
        const stamps = await env.testDb.query<{crmid: number; modifiedtime: string}>("SELECT crmid, modifiedtime FROM vtiger_crmentity WHERE setype IN ('Contacts', 'Leads') ORDER BY crmid")
        await runToEnd(['pull'], skewed)
        await runToEnd(['push'], skewed)
        const writes = env.emu.control.requests().slice(mark).filter((r) => r.method !== 'GET' && !/search|batch\/read/.test(r.endpoint))
        if (writes.length > 0) violations.push({invariant: 'idempotent', detail: `round ${round}: a quiet pull and push made ${writes.length} HubSpot writes (${writes[0]!.endpoint})`})
        const restamped = await env.testDb.query<{crmid: number; modifiedtime: string}>("SELECT crmid, modifiedtime FROM vtiger_crmentity WHERE setype IN ('Contacts', 'Leads') ORDER BY crmid")
        if (JSON.stringify(restamped) !== JSON.stringify(stamps)) violations.push({invariant: 'idempotent', detail: `round ${round}: a quiet pull and push changed coreBOS records`})
        note('clock skew', round, false, violations)
        log(`clock skew round ${round} seed ${SEED + 8} (host ${skew >= 0 ? '+' : ''}${skew / 60_000} min, one record a day ahead): ${violations.length === 0 ? 'invariants held' : `BROKEN: ${violations.slice(0, 3).map((v) => v.detail).join(' | ')}`}`)
      }
    })
    expect(summary.violations.filter((v) => v.kind === 'clock skew')).toEqual([])
  })

  it('database: cbhs connections KILLed mid-pass exit 4, the next pass completes', async () => {
    await withEnv(async (env) => {
      const rng = new Rng(SEED + 6)
      for (let t = 1; t <= 6; t++) {
        const command = t % 2 === 1 ? 'push' : 'pull'
        if (command === 'push') await createMany(env, 'Contacts', 800, (i) => ({lastname: `Db ${t}.${i}`, email: `db${t}.${i}@dbkill.example`}))
        else env.emu.control.seed('contacts', Array.from({length: 300}, (_, i) => P({lastname: `HsDb ${t}.${i}`, email: `hsdb${t}.${i}@dbkill.example`})))
        const base = env.emu.control.requests().length
        const child = spawn(process.execPath, [BIN, command], {cwd: ROOT, env: {...process.env, ...env.env, NO_COLOR: '1'}, stdio: ['ignore', 'ignore', 'pipe']})
        let stderr = ''
        child.stderr.on('data', (d) => (stderr += d))
        const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
        const trigger = rng.int(2, 10)
        while (env.emu.control.requests().length - base < trigger && child.exitCode === null) await new Promise((r) => setTimeout(r, 2))
        await new Promise((r) => setTimeout(r, rng.int(0, 50)))
        const killed = await killCbhsConnections(env.testDb.settings.database)
        summary.dbKills += killed
        const code = await exited
        const violations: Violation[] = []
        if (code !== 4 && code !== 0) violations.push({invariant: 'exit 4 on a lost database', detail: `${command} exited ${code}: ${stderr.slice(-300)}`})
        await runToEnd([command], env.env)
        if (command === 'push') violations.push(...(await checkPushed(env, ['Contacts'], {Contacts: {lastname: 'lastname'}})))
        else violations.push(...(await checkPulled(env, ['contacts'], {contacts: {lastname: 'lastname'}})), ...(await checkState(env, ['Contacts', 'Leads'], 'pull')))
        note(`db kill (${command})`, t, killed > 0, violations)
        log(`db kill ${command} trial ${t} seed ${SEED + 6}: ${killed} connections killed after ${trigger} requests, exit ${code}; ${violations.length === 0 ? 'invariants held' : `BROKEN: ${violations.slice(0, 3).map((v) => v.detail).join(' | ')}`}`)
      }
    })
    expect(summary.violations.filter((v) => v.kind.startsWith('db kill'))).toEqual([])
  })

  it('bad inputs: the whole corpus through the binary, twice, never aborts a pass', async () => {
    await withEnv(async (env) => {
      // as in the fast subset: the Leads cases are written for a denormalized Leads module
      await denormalizeModule(env.testDb, 'Leads')
      const [account] = await env.create('Accounts', [{accountname: 'Corpus Account'}])
      for (const c of PUSH_CASES) {
        const fields = c.module === 'Potentials' ? {related_to: String(account), sales_stage: 'Prospecting', closingdate: '2026-12-31', ...c.fields} : c.fields
        const [id] = await env.create(c.module, [fields])
        const conn = await env.testDb.pool.getConnection()
        try {
          await conn.query("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'")
          for (const [sql, params] of c.sql ?? []) await conn.query(sql.replace('?id', String(id)), params)
        } finally {
          await conn.query('SET SESSION sql_mode = DEFAULT').catch(() => undefined)
          conn.release()
        }
      }
      await env.testDb.query('ALTER TABLE vtiger_crmentity MODIFY description MEDIUMTEXT')
      const [company] = env.emu.control.seed('companies', [{name: 'Corpus Company'}])
      for (const c of PULL_CASES) {
        const [o] = env.emu.control.seed(c.type, [c.properties])
        if (c.related) env.emu.control.associate('deals', o.id, 'companies', company.id)
      }
      summary.badInputs += PUSH_CASES.length + PULL_CASES.length
      const violations: Violation[] = []
      for (const command of ['push', 'pull', 'push', 'pull']) {
        const r = await runToEnd([command], env.env, [0, 1, 4, 5])
        if (r.code !== 5) violations.push({invariant: 'bad data never stops a pass', detail: `${command} exited ${r.code}: ${r.stderr.slice(-300)}`})
      }
      note('bad-input corpus', 1, false, violations)
      log(`bad inputs: ${PUSH_CASES.length} coreBOS records and ${PULL_CASES.length} HubSpot objects, two rounds of push and pull; ${violations.length === 0 ? 'every pass ended with exit 5 (records in the ledger)' : `BROKEN: ${violations.map((v) => v.detail).join(' | ')}`}`)
    })
    expect(summary.violations.filter((v) => v.kind === 'bad-input corpus')).toEqual([])
  })
})
