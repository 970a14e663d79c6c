import {afterEach, describe, expect, it} from 'vitest'
import {startEmulator} from '../../src/emulator/index.js'
import {HubSpotUnavailableError} from '../../src/errors.js'
import {createHubSpotGateway, ensureSyncProperties, type HubSpotGatewayOptions, type RetryInfo} from '../../src/hubspot/index.js'
import type {HubSpotGateway} from '../../src/hubspot/index.js'

type Emulator = Awaited<ReturnType<typeof startEmulator>>

const open: Array<{close(): unknown}> = []
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close()
})

async function emulator(options: Parameters<typeof startEmulator>[0] = {}): Promise<Emulator> {
  const emu = await startEmulator({limits: false, searchLagMs: 0, ...options})
  open.push(emu)
  return emu
}

function gatewayFor(emu: Emulator, options: Partial<HubSpotGatewayOptions> = {}): HubSpotGateway {
  const gateway = createHubSpotGateway({baseUrl: emu.url, accessToken: emu.token, ...options})
  open.push(gateway)
  return gateway
}

/** One virtual clock for the emulator and the gateway: waiting costs no real time. */
function virtualTime(start = Date.UTC(2026, 2, 10, 12)) {
  const t = {now: start}
  return {
    clock: {nowMs: () => t.now},
    sleep: async (ms: number) => {
      t.now += ms
      await new Promise((r) => setImmediate(r))
    },
  }
}

async function collect<T>(iterable: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = []
  for await (const page of iterable) out.push(...page)
  return out
}

function people(from: number, n: number): Array<{key: string; properties: Record<string, string>}> {
  return Array.from({length: n}, (_, i) => ({
    key: String(from + i),
    properties: {email: `person${from + i}@example.com`, firstname: `P${from + i}`},
  }))
}

describe('HubSpot gateway against the emulator', () => {
  it('searches 25,000 modified contacts, 300 on one millisecond, each exactly once', async () => {
    const emu = await emulator()
    const base = Date.UTC(2025, 0, 1)
    const tie = base + 3_000_000
    emu.control.seed('contacts', Array.from({length: 300}, (_, i) => ({email: `tie${i}@example.com`})), {modifiedAt: tie})
    for (let g = 0; g < 24_700 / 10; g++) {
      const props = Array.from({length: 10}, (_, i) => ({email: `c${g * 10 + i}@example.com`}))
      emu.control.seed('contacts', props, {modifiedAt: base + g * 2_000})
    }
    const gateway = gatewayFor(emu, {searchPerSecond: 200})
    const found = await collect(
      gateway.searchModified('contacts', {sinceMs: base, untilMs: base + 10_000_000, properties: ['email', 'lastmodifieddate']}),
    )
    const ids = found.map((o) => o.id)
    expect(new Set(ids).size).toBe(25_000)
    expect(ids.length).toBe(25_000)
    const times = found.map((o) => Date.parse(o.properties.lastmodifieddate!))
    expect(times).toEqual([...times].sort((a, b) => a - b))
    expect(Object.keys(found[0].properties).sort()).toEqual(['email', 'lastmodifieddate'])
    expect(gateway.callCounts()['search contacts']).toBeLessThan(25_000 / 200 + 20)
  }, 60_000)

  it('a search asked for associations reads each page\'s with it (search answers none inline): one read per page and type', async () => {
    const emu = await emulator()
    const base = Date.UTC(2025, 0, 1)
    const people = emu.control.seed('contacts', Array.from({length: 250}, (_, i) => ({email: `a${i}@example.com`})), {modifiedAt: base})
    const [company] = emu.control.seed('companies', [{name: 'One'}])
    emu.control.associate('contacts', people[7]!.id, 'companies', company!.id)
    const gateway = gatewayFor(emu, {searchPerSecond: 200})
    const found = await collect(gateway.searchModified('contacts', {sinceMs: base, untilMs: base + 1_000, properties: ['email'], associations: ['companies']}))
    expect(found).toHaveLength(250)
    expect(found.find((o) => o.id === people[7]!.id)!.associations).toEqual({companies: [company!.id]})
    expect(found.filter((o) => o.associations?.companies?.length === 0)).toHaveLength(249)
    expect(gateway.callCounts()['associations/read contacts->companies']).toBe(2)
  })

  it('upserts 5,000 records through 20 % 429/5xx faults without going over the rate limit', async () => {
    const {clock, sleep} = virtualTime()
    const emu = await emulator({clock, limits: {tenSecondly: 20}})
    emu.control.createProperty('contacts', {name: 'corebos_crmid', label: 'coreBOS record id', type: 'string', fieldType: 'text', hasUniqueValue: true})
    emu.control.injectFaults({rate: 0.2, kinds: [429, 500, 502, 504], seed: 42})
    const retries: RetryInfo[] = []
    const gateway = gatewayFor(emu, {clock, sleep, onRetry: (r) => retries.push(r)})
    const {results, errors} = await gateway.upsert('contacts', people(1, 5_000))
    expect(errors).toEqual([])
    expect(results).toHaveLength(5_000)
    const all = emu.control.all('contacts')
    expect(all).toHaveLength(5_000)
    expect(new Set(all.map((o) => o.properties.corebos_crmid)).size).toBe(5_000)
    expect(emu.control.overBudget()).toBe(0)
    expect(retries.length).toBeGreaterThan(0)
    // the header said Max 20: the gateway adopted it although configured for Starter
    expect(gateway.limiter.windowLimit).toBe(20)
  }, 60_000)

  it('fails one bad e-mail alone; the other 99 land', async () => {
    const emu = await emulator()
    const gateway = gatewayFor(emu)
    await ensureSyncProperties(gateway)
    const inputs = people(1, 100)
    inputs[41].properties.email = 'not-an-email@@example'
    const {results, errors} = await gateway.upsert('contacts', inputs)
    expect(results).toHaveLength(99)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({key: '42', status: 400})
    expect(errors[0].message).toContain('not-an-email@@example')
    expect(emu.control.all('contacts')).toHaveLength(99)
    expect(results.every((r) => r.isNew)).toBe(true)
  })

  it('reports a duplicate e-mail as a CONFLICT with the existing id', async () => {
    const emu = await emulator()
    const gateway = gatewayFor(emu)
    await ensureSyncProperties(gateway)
    const [existing] = emu.control.seed('contacts', [{email: 'taken@example.com'}])
    const inputs = people(1, 10)
    inputs[3].properties.email = 'Taken@example.com'
    const {results, errors} = await gateway.upsert('contacts', inputs)
    expect(results).toHaveLength(9)
    expect(errors).toEqual([expect.objectContaining({key: '4', status: 409, category: 'CONFLICT', existingId: existing.id})])
  })

  it('stops on the daily limit with exit code 4 and says when it resets', async () => {
    const emu = await emulator({limits: {tenSecondly: 100, daily: 1000}})
    emu.control.setDailyUsage(1000)
    const gateway = gatewayFor(emu)
    const error = await gateway.getProperties('contacts').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HubSpotUnavailableError)
    expect(error).toMatchObject({code: 'HUBSPOT_DAILY_LIMIT', exitCode: 4})
    expect((error as Error).message).toContain('midnight')
    expect(gateway.totalCalls()).toBe(1)
  })

  it('names the reset time in the portal time zone once the account details are known', async () => {
    const emu = await emulator({limits: {tenSecondly: 100, daily: 1000}})
    const gateway = gatewayFor(emu)
    await gateway.getPortalId()
    emu.control.setDailyUsage(1000)
    const error = await collect(gateway.list('deals', {properties: ['dealname']})).catch((e: unknown) => e)
    expect(error).toMatchObject({code: 'HUBSPOT_DAILY_LIMIT', exitCode: 4})
    expect((error as Error).message).toMatch(/resets at midnight US\/Eastern \(.+Z\), in about \d+ h \d+ min/)
  })

  it('refuses a wrong token with exit code 4 and never shows it', async () => {
    const emu = await emulator()
    const token = 'pat-na1-wrong-0123456789abcdef'
    const gateway = gatewayFor(emu, {accessToken: token})
    const error = await gateway.upsert('contacts', people(1, 3)).catch((e: unknown) => e)
    expect(error).toMatchObject({code: 'HUBSPOT_AUTH_REFUSED', exitCode: 4})
    const text = JSON.stringify({m: (error as Error).message, s: (error as HubSpotUnavailableError).suggestion, d: (error as HubSpotUnavailableError).data})
    expect(text).not.toContain(token)
    expect((error as Error).message).toMatch(/401/)
  })

  it('times out a hung request and retries it', async () => {
    const emu = await emulator()
    emu.control.injectFaults({count: 1, kinds: ['hang']})
    const retries: RetryInfo[] = []
    const gateway = gatewayFor(emu, {requestTimeoutMs: 400, onRetry: (r) => retries.push(r)})
    const started = Date.now()
    const properties = await gateway.getProperties('contacts')
    expect(properties.some((p) => p.name === 'email')).toBe(true)
    expect(retries).toEqual([expect.objectContaining({reason: 'timeout', attempt: 1})])
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('names the host when HubSpot cannot be reached', async () => {
    const gateway = createHubSpotGateway({baseUrl: 'http://127.0.0.1:9', accessToken: 'x-token-1234', maxRetries: 2, sleep: async () => {}})
    open.push(gateway)
    const error = await gateway.getPortalId().catch((e: unknown) => e)
    expect(error).toMatchObject({code: 'HUBSPOT_UNREACHABLE', exitCode: 4})
    expect((error as Error).message).toContain('127.0.0.1:9')
    expect(gateway.totalCalls()).toBe(3)
  })

  it('recovers from HTML error pages, bodies without content type and resets', async () => {
    const emu = await emulator()
    emu.control.injectFaults({count: 3, kinds: ['html', 'no-content-type', 'reset']})
    const gateway = gatewayFor(emu, {sleep: async () => {}})
    await ensureSyncProperties(gateway)
    const {results, errors} = await gateway.upsert('contacts', people(1, 5))
    expect(errors).toEqual([])
    expect(results).toHaveLength(5)
    expect(emu.control.all('contacts')).toHaveLength(5)
  })

  it('reads by id, follows merges, and lists missing ids', async () => {
    const emu = await emulator()
    const gateway = gatewayFor(emu)
    const [a, b, c] = emu.control.seed('contacts', [{email: 'a@example.com'}, {email: 'b@example.com'}, {email: 'c@example.com'}])
    const survivor = emu.control.merge('contacts', a.id, b.id)
    const {found, missing} = await gateway.read('contacts', [a.id, b.id, c.id, '999999'], ['email'])
    expect(missing).toEqual(['999999'])
    const byRequested = new Map(found.map((o) => [o.requestedId, o]))
    expect(byRequested.get(b.id)?.id).toBe(survivor.id)
    expect(byRequested.get(a.id)?.id).toBe(survivor.id)
    expect(byRequested.get(c.id)?.properties).toEqual({email: 'c@example.com'})
  })

  it('updates, archives, and lists live and archived objects', async () => {
    const emu = await emulator()
    const gateway = gatewayFor(emu)
    const seeded = emu.control.seed('companies', Array.from({length: 250}, (_, i) => ({name: `Co ${i}`})))
    const updated = await gateway.update('companies', [
      {id: seeded[0].id, properties: {name: 'Renamed'}},
      {id: '987654321', properties: {name: 'Ghost'}},
    ])
    expect(updated.results).toEqual([expect.objectContaining({key: seeded[0].id, id: seeded[0].id, isNew: false})])
    expect(updated.errors).toEqual([expect.objectContaining({key: '987654321', status: 404})])
    expect((await gateway.archive('companies', [seeded[1].id, seeded[2].id])).errors).toEqual([])
    const live = await collect(gateway.list('companies', {properties: ['name']}))
    expect(live).toHaveLength(248)
    const archived = await collect(gateway.list('companies', {properties: ['name'], archived: true}))
    expect(archived.map((o) => o.id).sort()).toEqual([seeded[1].id, seeded[2].id].sort())
    expect(archived[0].archived).toBe(true)
    expect(gateway.callCounts()['list companies']).toBe(3)
  })

  it('a listing asked for associations brings each object\'s associated ids along, [] where it has none', async () => {
    const emu = await emulator()
    const gateway = gatewayFor(emu)
    const [linked, alone] = emu.control.seed('contacts', [{email: 'a@x.com'}, {email: 'b@x.com'}])
    const [one, two] = emu.control.seed('companies', [{name: 'One'}, {name: 'Two'}])
    emu.control.associate('contacts', linked!.id, 'companies', one!.id)
    emu.control.associate('contacts', linked!.id, 'companies', two!.id)
    emu.control.associate('contacts', linked!.id, 'companies', one!.id, 1)
    const listed = new Map((await collect(gateway.list('contacts', {properties: ['email'], associations: ['companies']}))).map((o) => [o.id, o]))
    expect(listed.get(linked!.id)!.associations!.companies!.sort()).toEqual([one!.id, two!.id].sort())
    expect(listed.get(alone!.id)!.associations).toEqual({companies: []})
    expect(listed.get(linked!.id)!.properties).toEqual({email: 'a@x.com'})
    const plain = await collect(gateway.list('contacts', {properties: ['email']}))
    for (const o of plain) expect(o).not.toHaveProperty('associations')
    expect(Object.keys(gateway.callCounts()).filter((k) => k.startsWith('associations'))).toEqual([])
  })

  it('finds contacts by e-mail, case-insensitively', async () => {
    const emu = await emulator()
    const gateway = gatewayFor(emu)
    const seeded = emu.control.seed('contacts', Array.from({length: 150}, (_, i) => ({email: `x${i}@example.com`})))
    const wanted = [...seeded.slice(0, 130).map((o) => o.properties.email!.toUpperCase()), 'nobody@example.com']
    const found = await gateway.findContactsByEmail(wanted)
    expect(found.size).toBe(130)
    expect(found.get('x7@example.com')).toBe(seeded[7].id)
    expect(gateway.callCounts()['search contacts by email']).toBe(2)
  })

  it('creates, reads and removes associations', async () => {
    const emu = await emulator()
    const gateway = gatewayFor(emu)
    const contacts = emu.control.seed('contacts', [{email: 'a@example.com'}, {email: 'b@example.com'}])
    const [company] = emu.control.seed('companies', [{name: 'Acme'}])
    const created = await gateway.createAssociations('contacts', 'companies', contacts.map((c) => ({fromId: c.id, toId: company.id})))
    expect(created.errors).toEqual([])
    const read = await gateway.readAssociations('companies', 'contacts', [company.id])
    expect(read.get(company.id)?.sort()).toEqual(contacts.map((c) => c.id).sort())
    await gateway.removeAssociations('contacts', 'companies', [{fromId: contacts[0].id, toId: company.id}])
    const after = await gateway.readAssociations('contacts', 'companies', contacts.map((c) => c.id))
    expect(after.get(contacts[0].id)).toEqual([])
    expect(after.get(contacts[1].id)).toEqual([company.id])
  })

  it('association batch calls draw nothing from the ten-second budget, batch reads do; a 429 on one pauses and retries only it', async () => {
    const emu = await emulator()
    const [contact] = emu.control.seed('contacts', [{email: 'budget@example.com'}])
    const [company] = emu.control.seed('companies', [{name: 'Budget'}])
    emu.control.associate('contacts', contact!.id, 'companies', company!.id)
    const {clock, sleep} = virtualTime()
    let slept = 0
    const retries: RetryInfo[] = []
    const gateway = gatewayFor(emu, {
      tier: 'starter',
      clock,
      sleep: async (ms) => {
        slept += ms
        await sleep(ms)
      },
      random: () => 0,
      onRetry: (info) => retries.push(info),
    })
    // 150 association reads: more than a starter window's 100, and not one wait for it
    for (let i = 0; i < 150; i++) expect((await gateway.readAssociations('contacts', 'companies', [contact!.id])).get(contact!.id)).toEqual([company!.id])
    expect(slept).toBe(0)
    expect(gateway.limiter.msUntilWindowFrees()).toBe(0)

    // their own 429: honoured (a pause, then a retry), and the answer still arrives
    emu.control.injectFaults({count: 1, kinds: [429], match: /^\/crm\/associations\/2026-03\//})
    expect((await gateway.readAssociations('contacts', 'companies', [contact!.id])).get(contact!.id)).toEqual([company!.id])
    expect(retries).toEqual([expect.objectContaining({label: 'associations/read contacts->companies', status: 429, attempt: 1})])
    expect(slept).toBeGreaterThanOrEqual(10_000)

    // the same number of object batch reads does wait for the window
    const before = slept
    for (let i = 0; i < 150; i++) await gateway.read('contacts', [contact!.id], ['email'])
    expect(slept).toBeGreaterThan(before)
  })

  it('calls the configured API release, and refuses one that is not a release naming the setting', async () => {
    const emu = await emulator()
    const gateway = gatewayFor(emu, {apiVersion: '2026-09'})
    await ensureSyncProperties(gateway)
    const {results} = await gateway.upsert('contacts', people(1, 2))
    expect(results).toHaveLength(2)
    const paths = emu.control.requests().map((q) => q.path)
    expect(paths.length).toBeGreaterThan(0)
    expect(paths.filter((p) => !p.includes('/2026-09'))).toEqual([])
    expect(() => createHubSpotGateway({baseUrl: emu.url, accessToken: emu.token, apiVersion: 'v3'})).toThrow(
      expect.objectContaining({code: 'CONFIG_INVALID', exitCode: 3, message: expect.stringContaining("hubspot.apiVersion must be a HubSpot API release such as 2026-03, got 'v3'")}),
    )
  })

  it('caches properties, pipelines and the portal id for the run', async () => {
    const emu = await emulator()
    const gateway = gatewayFor(emu)
    await gateway.getProperties('deals')
    await gateway.getProperties('deals')
    const pipelines = await gateway.getDealPipelines()
    await gateway.getDealPipelines()
    const stages = pipelines.find((p) => p.id === 'default')?.stages ?? []
    expect(stages.map((s) => s.id)).toContain('closedwon')
    expect(stages.find((s) => s.id === 'closedwon')).toMatchObject({isClosed: true, probability: 1})
    const portal = await gateway.getPortalId()
    expect(portal).toMatch(/^\d+$/)
    expect(await gateway.getPortalId()).toBe(portal)
    expect(gateway.callCounts()).toEqual({'account-info details': 1, 'pipelines deals': 1, 'properties deals': 1})
  })
})

describe('ensureSyncProperties', () => {
  it('creates the group and unique property once, and reports what a dry run would do', async () => {
    const emu = await emulator()
    const gateway = gatewayFor(emu)
    const planned = await ensureSyncProperties(gateway, {dryRun: true})
    expect(planned).toHaveLength(6)
    expect(planned.every((c) => !c.applied)).toBe(true)
    expect((await gateway.getProperties('contacts')).some((p) => p.name === 'corebos_crmid')).toBe(false)
    const made = await ensureSyncProperties(gateway)
    expect(made.map((c) => `${c.objectType}:${c.kind}`)).toEqual([
      'companies:property-group',
      'companies:property',
      'contacts:property-group',
      'contacts:property',
      'deals:property-group',
      'deals:property',
    ])
    for (const type of ['contacts', 'companies', 'deals'] as const) {
      const property = (await gateway.getProperties(type)).find((p) => p.name === 'corebos_crmid')
      expect(property).toMatchObject({hasUniqueValue: true, type: 'string', groupName: 'corebos', label: 'coreBOS record id'})
    }
    expect(await ensureSyncProperties(gateway)).toEqual([])
  })

  it('fails clearly, changing nothing, when an object type has no unique-property slot left', async () => {
    const emu = await emulator()
    for (let i = 0; i < 10; i++) {
      emu.control.createProperty('deals', {name: `ext_id_${i}`, label: `Ext ${i}`, type: 'string', fieldType: 'text', hasUniqueValue: true})
    }
    const gateway = gatewayFor(emu)
    const error = await ensureSyncProperties(gateway).catch((e: unknown) => e)
    expect(error).toMatchObject({code: 'HUBSPOT_UNIQUE_PROPERTY_CAP', exitCode: 3})
    expect((error as Error).message).toContain('deals')
    expect((await gateway.getProperties('contacts')).some((p) => p.name === 'corebos_crmid')).toBe(false)
  })
})
