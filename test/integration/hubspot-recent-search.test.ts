/**
 * The idle pull's one search through the official client against the emulator (issue 19): OR'ed
 * filter groups, the descending sort and `total` as HubSpot documents them, read into the changes
 * since the watermark and the count of objects carrying the unique property.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {startEmulator} from '../../src/emulator/index.js'
import {createHubSpotGateway, ensureSyncProperties, type HubSpotGateway} from '../../src/hubspot/index.js'

type Emulator = Awaited<ReturnType<typeof startEmulator>>

const open: Array<{close(): unknown}> = []
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close()
})

const SINCE = Date.UTC(2026, 5, 1)
const UNTIL = SINCE + 600_000

async function portal(): Promise<{emu: Emulator; gateway: HubSpotGateway}> {
  const emu = await startEmulator({limits: false, searchLagMs: 0})
  open.push(emu)
  const gateway = createHubSpotGateway({baseUrl: emu.url, accessToken: emu.token})
  open.push(gateway)
  await ensureSyncProperties(gateway)
  // 500 linked contacts, unchanged since long before the watermark
  emu.control.seed('contacts', Array.from({length: 500}, (_, i) => ({email: `kept${i}@acme.test`, corebos_crmid: String(1000 + i)})), {modifiedAt: SINCE - 86_400_000})
  return {emu, gateway}
}

const ask = (gateway: HubSpotGateway, properties = ['email', 'corebos_crmid']) =>
  gateway.searchRecentWithCarriers('contacts', {sinceMs: SINCE, untilMs: UNTIL, properties, carrierProperty: 'corebos_crmid'})

describe('one search for the changes and the carriers', () => {
  it('counts the carriers, hands out the changes oldest first, and leaves out what changed after the pass began', async () => {
    const {emu, gateway} = await portal()
    const [edited] = emu.control.seed('contacts', [{email: 'edited@acme.test', corebos_crmid: '2001'}], {modifiedAt: SINCE + 1_000})
    const [created] = emu.control.seed('contacts', [{email: 'new@acme.test'}], {modifiedAt: SINCE + 500})
    // linked by another pass after this one began, and a contact cbhs has nothing to do with yet
    emu.control.seed('contacts', [{email: 'later@acme.test', corebos_crmid: '2002'}], {modifiedAt: UNTIL + 1_000})
    emu.control.seed('contacts', [{email: 'later-new@acme.test'}], {modifiedAt: UNTIL + 2_000})
    emu.control.archive('contacts', emu.control.all('contacts')[7].id)
    const mark = emu.control.requests().length

    const answer = await ask(gateway)
    expect(answer?.carriers).toBe(500 - 1 + 2)
    expect(answer?.objects.map((o) => o.id)).toEqual([created.id, edited.id])
    expect(answer?.objects[1].properties).toMatchObject({email: 'edited@acme.test', corebos_crmid: '2001'})
    const sent = emu.control.requests().slice(mark)
    expect(sent).toHaveLength(1)
  })

  it('more changes than a page holds: null, so the pass asks the two searches', async () => {
    const {emu, gateway} = await portal()
    emu.control.seed('contacts', Array.from({length: 201}, (_, i) => ({email: `new${i}@acme.test`})), {modifiedAt: SINCE + 10})
    expect(await ask(gateway)).toBeNull()
  })

  it('with more properties than a search body takes, searches for ids and reads the changes by id', async () => {
    const {emu, gateway} = await portal()
    const [created] = emu.control.seed('contacts', [{email: 'new@acme.test', firstname: 'New'}], {modifiedAt: SINCE + 500})
    const many = ['email', 'firstname', ...Array.from({length: 150}, (_, i) => `unknown_property_${i}`)]
    const mark = emu.control.requests().length
    const answer = await ask(gateway, many)
    expect(answer?.carriers).toBe(500)
    expect(answer?.objects.map((o) => [o.id, o.properties.firstname])).toEqual([[created.id, 'New']])
    expect(emu.control.requests().slice(mark).map((r) => r.endpoint.replace(/.*\/contacts/, ''))).toEqual(['/search', '/batch/read'])
  })
})
