/**
 * What the engine tells its reporter and its dry run, over the in-memory kit: a pass counts its
 * work before it starts (progress has a total), and a dry run predicts the failures the real pass
 * then has, HubSpot's own validation included.
 */
import {describe, expect, it, vi} from 'vitest'
import type {PassReport, Reporter} from '../../src/sync/engine.js'
import {buildMemoryEngine, runPull, runPush, writesOf, type MemoryKit} from '../support/memory/index.js'

const STEP_MS = 7 * 60_000

/** A reporter that keeps every progress call. */
function recorder(): Reporter & {calls: Array<{task: string; done: number; total?: number}>} {
  const calls: Array<{task: string; done: number; total?: number}> = []
  return {calls, progress: (task, done, total) => calls.push({task, done, total}), info() {}, warn() {}}
}

function failuresOf(report: PassReport) {
  return report.failures.map((f) => ({module: f.module, crmid: f.crmid, category: f.category})).sort((a, b) => (a.crmid ?? 0) - (b.crmid ?? 0))
}

async function contacts(kit: MemoryKit, count: number, email = (i: number) => `p${i}@acme.test`): Promise<number[]> {
  return Array.from({length: count}, (_, i) => kit.crm.insert('Contacts', {lastname: `Person${i}`, email: email(i)}))
}

describe('progress totals', () => {
  it('push counts what it will read, by the read’s own predicate: opted-out records left out, trashed ones in', async () => {
    // pages of 100: the read is more than its first page, so it is counted
    const kit = await buildMemoryEngine({pageSize: 100})
    const count = vi.spyOn(kit.crm, 'countChanged')
    await contacts(kit, 230)
    kit.crm.insert('Contacts', {lastname: 'Out', email: 'out@acme.test'}, {optIn: false})
    const trashed = kit.crm.insert('Contacts', {lastname: 'Gone', email: 'gone@acme.test'})
    kit.crm.trashByUser('Contacts', trashed)
    const reporter = recorder()
    const report = await runPush(kit.engine, {modules: ['Contacts']}, reporter)
    const calls = reporter.calls.filter((c) => c.task === 'Contacts')
    expect(calls[0]).toEqual({task: 'Contacts', done: 0, total: 231})
    expect(calls.every((c) => c.total === 231)).toBe(true)
    expect(calls[calls.length - 1]!.done).toBe(231)
    expect(report.modules.Contacts!.read).toBe(231)
    expect(count).toHaveBeenCalledTimes(1)
  })

  it('the next push counts what its read goes through (look-back included), and --limit caps the total', async () => {
    const kit = await buildMemoryEngine({pageSize: 100})
    const ids = await contacts(kit, 150)
    await runPush(kit.engine, {modules: ['Contacts']})
    kit.clock.advance(STEP_MS)
    for (const id of ids.slice(0, 40)) kit.crm.edit('Contacts', id, {title: 'Engineer'})
    const limited = recorder()
    await runPush(kit.engine, {modules: ['Contacts'], limit: 25}, limited)
    expect(limited.calls.map((c) => c.total)).toEqual(limited.calls.map(() => 25))
    const rest = recorder()
    const report = await runPush(kit.engine, {modules: ['Contacts']}, rest)
    const total = rest.calls[0]!.total!
    expect(total).toBe(report.modules.Contacts!.read)
    expect(rest.calls[rest.calls.length - 1]!.done).toBe(total)
    expect(report.modules.Contacts!.updated).toBe(40)
  })

  it('an idle push spends no COUNT: a read that fits its first page is its own total', async () => {
    const kit = await buildMemoryEngine()
    await contacts(kit, 5)
    await runPush(kit.engine, {modules: ['Contacts']})
    kit.clock.advance(STEP_MS)
    const count = vi.spyOn(kit.crm, 'countChanged')
    const reporter = recorder()
    const report = await runPush(kit.engine, {modules: ['Contacts']}, reporter)
    expect(count).not.toHaveBeenCalled()
    // the look-back re-reads the records of the watermark's second, and says how many
    expect(reporter.calls[0]).toEqual({task: 'Contacts', done: 0, total: report.modules.Contacts!.read})
  })

  it('an incremental pull takes the search’s total; a first (listing) pull has none', async () => {
    const kit = await buildMemoryEngine()
    const ids = Array.from({length: 260}, (_, i) => kit.hubspot.create('contacts', {lastname: `H${i}`, email: `h${i}@hub.test`}))
    const first = recorder()
    kit.clock.advance(STEP_MS)
    await runPull(kit.engine, {}, first)
    const listed = first.calls.filter((c) => c.task === 'contacts')
    expect(listed.length).toBeGreaterThan(0)
    expect(listed.every((c) => c.total === undefined)).toBe(true)

    // the pull told HubSpot the new crmids (a modification): one more pull goes past that
    kit.clock.advance(STEP_MS)
    await runPull(kit.engine)
    kit.clock.advance(STEP_MS)
    for (const id of ids.slice(0, 210)) kit.hubspot.edit('contacts', id, {jobtitle: 'Manager'})
    kit.clock.advance(STEP_MS)
    const next = recorder()
    await runPull(kit.engine, {}, next)
    const searched = next.calls.filter((c) => c.task === 'contacts')
    expect(searched.map((c) => c.total)).toEqual(searched.map(() => 210))
    expect(searched[searched.length - 1]!.done).toBe(210)
  })
})

describe('the dry run predicts the real pass’s failures', () => {
  it('an e-mail HubSpot refuses, a deal without a stage and a value that is no option fail in the plan as in the pass, the same records with the same categories', async () => {
    const kit = await buildMemoryEngine()
    const acc = kit.crm.insert('Accounts', {accountname: 'Acme Ltd'})
    const good = await contacts(kit, 3)
    const bad = kit.crm.insert('Contacts', {lastname: 'Typo', email: 'grace@@acme.test', account_id: String(acc)})
    const spaced = kit.crm.insert('Contacts', {lastname: 'Space', email: 'ada lovelace@acme.test'})
    const stageless = kit.crm.insert('Potentials', {potentialname: 'No stage', related_to: String(acc), closingdate: '2025-04-30', sales_stage: 'Prospecting', amount: '10'})
    // imported past coreBOS's own checks: a mandatory field left empty
    kit.crm.setRaw('Potentials', stageless, {fields: {sales_stage: ''}})
    const staged = kit.crm.insert('Potentials', {potentialname: 'Staged', related_to: String(acc), closingdate: '2025-04-30', sales_stage: 'Prospecting', amount: '10'})

    // a lead status HubSpot's hs_lead_status options have no counterpart for (the mapper's check)
    const mystery = kit.crm.insert('Leads', {lastname: 'Roe', company: 'Roe & Co', email: 'rick@roe.test', leadstatus: 'Cold'})
    kit.crm.setRaw('Leads', mystery, {fields: {leadstatus: 'Mystery'}})

    const plan = await runPush(kit.engine, {dryRun: true})
    const predicted = failuresOf(plan)
    expect(predicted).toEqual([
      {module: 'Contacts', crmid: bad, category: 'INVALID_EMAIL'},
      {module: 'Contacts', crmid: spaced, category: 'INVALID_EMAIL'},
      {module: 'Potentials', crmid: stageless, category: 'REQUIRED'},
      {module: 'Leads', crmid: mystery, category: 'INVALID_VALUE'},
    ])
    // the deal refers to an account the same pass creates: no pending association predicted
    expect(plan.plan.filter((p) => p.action === 'create').map((p) => p.crmid).sort((a, b) => a! - b!)).toEqual([acc, ...good, staged])

    kit.clock.advance(STEP_MS)
    let real!: PassReport
    const writes = await writesOf(kit, async () => (real = await runPush(kit.engine)))
    expect(failuresOf(real)).toEqual(predicted)
    // refused before the call: nothing of the three was sent
    const sent = JSON.stringify(writes.hubspot)
    expect(sent).not.toContain('grace@@acme.test')
    expect(sent).not.toContain('ada lovelace')
    expect(sent).not.toContain('No stage')
  })

  it('a first pull’s dry run plans the deal and the contact of a company it creates, as the real pull then does: no pending reference predicted', async () => {
    const kit = await buildMemoryEngine()
    const companyId = kit.hubspot.create('companies', {name: 'Globex'})
    const contactId = kit.hubspot.create('contacts', {firstname: 'Hank', lastname: 'Scorpio', email: 'hank@globex.test', lifecyclestage: 'customer'})
    kit.hubspot.associate('contacts', contactId, 'companies', companyId)
    const dealId = kit.hubspot.create('deals', {dealname: 'Globex deal', dealstage: 'appointmentscheduled', pipeline: 'default', closedate: '2025-05-01T00:00:00.000Z'})
    kit.hubspot.associate('deals', dealId, 'contacts', contactId)
    kit.clock.advance(STEP_MS)

    const plan = await runPull(kit.engine, {dryRun: true})
    expect(plan.failures).toEqual([])
    const creates = plan.plan.filter((p) => p.action === 'create')
    expect(creates.map((p) => [p.module, p.hubspotId])).toEqual([['Accounts', companyId], ['Contacts', contactId], ['Potentials', dealId]])
    // the references name the records the pass creates first
    expect(creates[1]!.changes.find((c) => c.key === 'account_id')?.new).toBe(`(new, from HubSpot companies ${companyId})`)
    expect(creates[2]!.changes.find((c) => c.key === 'related_to')?.new).toBe(`(new, from HubSpot contacts ${contactId})`)

    const real = await runPull(kit.engine)
    expect(real.failures).toEqual([])
    expect(kit.crm.all('Potentials')).toHaveLength(1)
  })
})
