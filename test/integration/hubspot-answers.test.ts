/**
 * Every reader of the gateway checks its answers at the one boundary (answers.ts via the transport):
 * search, list, batch read and upsert, association read and create, properties, property groups,
 * pipelines and account details each refuse an answer that is not HubSpot's documented JSON, with
 * HUBSPOT_UNAVAILABLE (exit 4) naming the endpoint, and never retry a readable lie.
 */
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {startEmulator, type HostileKind} from '../../src/emulator/index.js'
import {createHubSpotGateway, ensureSyncProperties, type HubSpotGateway} from '../../src/hubspot/index.js'

type Emulator = Awaited<ReturnType<typeof startEmulator>>

const open: Array<{close(): unknown}> = []
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close()
})

async function setup(): Promise<{emu: Emulator; gateway: HubSpotGateway; contact: string; company: string}> {
  const emu = await startEmulator({limits: false})
  open.push(emu)
  const gateway = createHubSpotGateway({baseUrl: emu.url, accessToken: emu.token, sleep: async () => {}})
  open.push(gateway)
  await ensureSyncProperties(gateway)
  const [contact] = emu.control.seed('contacts', [{email: 'reader@answers.test'}])
  const [company] = emu.control.seed('companies', [{name: 'Answers Co'}])
  emu.control.associate('contacts', contact.id, 'companies', company.id)
  return {emu, gateway, contact: contact.id, company: company.id}
}

async function drain(iterable: AsyncIterable<unknown[]>): Promise<void> {
  for await (const _ of iterable) {
    // reading is the point
  }
}

interface Reader {
  /** the test's name, when two readers share an endpoint label */
  name?: string
  label: string
  path: RegExp
  call: (g: HubSpotGateway, ids: {contact: string; company: string}) => Promise<unknown>
  /** the kinds whose lie this reader's answer can carry */
  kinds: HostileKind[]
}

const READERS: Reader[] = [
  {label: 'search contacts', path: /\/contacts\/search$/, kinds: ['wrongShape', 'duplicateIds', 'nonDigitIds', 'badTotal'],
    call: (g) => drain(g.searchModified('contacts', {sinceMs: 0, untilMs: Date.now() + 60_000, properties: ['email']}))},
  {name: 'search contacts (changes and carriers at once)', label: 'search contacts', path: /\/contacts\/search$/, kinds: ['wrongShape', 'duplicateIds', 'nonDigitIds', 'badTotal'],
    call: (g) => g.searchRecentWithCarriers('contacts', {sinceMs: 0, untilMs: Date.now() + 60_000, properties: ['email'], carrierProperty: 'corebos_crmid'})},
  {label: 'list contacts', path: /\/objects\/[^/]+\/contacts$/, kinds: ['wrongShape', 'duplicateIds', 'nonDigitIds', 'repeatCursor'],
    call: (g) => drain(g.list('contacts', {properties: ['email']}))},
  {label: 'batch/read contacts', path: /\/contacts\/batch\/read$/, kinds: ['wrongShape', 'nonDigitIds'],
    call: (g, ids) => g.read('contacts', [ids.contact], ['email'])},
  {label: 'batch/upsert contacts', path: /\/contacts\/batch\/upsert$/, kinds: ['wrongShape', 'nonDigitIds'],
    call: (g) => g.upsert('contacts', [{key: '901', properties: {email: 'upsert@answers.test'}}])},
  {label: 'associations/read contacts->companies', path: /\/associations\/.*\/batch\/read$/, kinds: ['duplicateIds', 'nonDigitIds', 'repeatCursor'],
    call: (g, ids) => g.readAssociations('contacts', 'companies', [ids.contact])},
  {label: 'associations/create contacts->companies', path: /\/associations\/.*\/batch\/create$/, kinds: ['nonDigitIds'],
    call: (g, ids) => g.createAssociations('contacts', 'companies', [{fromId: ids.contact, toId: ids.company}])},
  {label: 'properties deals', path: /\/properties\/[^/]+\/deals$/, kinds: ['wrongShape', 'duplicateIds'],
    call: (g) => g.getProperties('deals')},
  {label: 'property groups deals', path: /\/properties\/[^/]+\/deals\/groups$/, kinds: ['wrongShape'],
    call: (g) => g.getPropertyGroups('deals')},
  {label: 'pipelines deals', path: /\/pipelines\/[^/]+\/deals$/, kinds: ['wrongShape', 'duplicateIds'],
    call: (g) => g.getDealPipelines()},
]

describe('every reader checks its answers', () => {
  for (const reader of READERS) {
    for (const kind of ['html', 'emptyBody', ...reader.kinds] as HostileKind[]) {
      it(`${reader.name ?? reader.label}: ${kind} is HUBSPOT_UNAVAILABLE naming the endpoint`, async () => {
        const {emu, gateway, contact, company} = await setup()
        emu.control.hostile({kind, match: reader.path})
        const mark = emu.control.requests().length
        const error = await reader.call(gateway, {contact, company}).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toMatchObject({code: 'HUBSPOT_UNAVAILABLE', exitCode: 4})
        expect((error as Error).message).toContain(reader.label)
        const hits = emu.control.requests().slice(mark).filter((r) => r.hostile === kind).length
        // an unreadable body is asked for three times; a readable lie (or the second sight of a cursor) once or twice
        if (kind === 'html' || kind === 'emptyBody') expect(hits).toBe(3)
        else expect(hits).toBeLessThanOrEqual(2)
      })
    }
  }

  it('account details: an HTML page instead of the portal is HUBSPOT_UNAVAILABLE naming the endpoint', async () => {
    const {emu, gateway} = await setup()
    emu.control.hostile({kind: 'html', match: /account-info/})
    await expect(gateway.getPortalId()).rejects.toMatchObject({code: 'HUBSPOT_UNAVAILABLE', message: expect.stringContaining('account-info details')})
  })

  it('association rows that page on with a new cursor but nothing new each time are stopped at the second page', async () => {
    let asked = 0
    const server = createServer((req, res) => {
      asked++
      res.writeHead(200, {'Content-Type': 'application/json'})
      res.end(JSON.stringify({status: 'COMPLETE', results: [{from: {id: '1'}, to: [{toObjectId: '2'}], paging: {next: {after: `c${asked}`}}}]}))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    open.push({close: () => new Promise<void>((resolve) => server.close(() => resolve()))})
    const gateway = createHubSpotGateway({baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, accessToken: 'x-token-1234'})
    open.push(gateway)
    await expect(gateway.readAssociations('contacts', 'companies', ['1'])).rejects.toMatchObject({
      code: 'HUBSPOT_UNAVAILABLE',
      message: expect.stringMatching(/associations\/read contacts->companies .*without a new one/),
    })
    expect(asked).toBe(2)
  })

  it('a faithful emulator passes every check', async () => {
    const {gateway, contact, company} = await setup()
    for (const reader of READERS) await reader.call(gateway, {contact, company})
    await expect(gateway.getPortalId()).resolves.toMatch(/^\d+$/)
  })
})
