/**
 * The crmid write-backs a full pull sends beside its listing (src/sync/carriers.ts): a batch of 100
 * leaves as soon as it is full, one at a time, the rest when the listing is done, and a send that
 * fails stops the pull rather than being forgotten.
 */
import {describe, expect, it} from 'vitest'
import {CarrierWrites} from '../../src/sync/carriers.js'
import type {HubSpotPort} from '../../src/sync/ports.js'

function port(fail?: Error) {
  const sent: Array<Array<{id: string; properties: Record<string, string>}>> = []
  let inFlight = 0
  let most = 0
  const hubspot = {
    async update(_type: string, inputs: Array<{id: string; properties: Record<string, string>}>) {
      inFlight++
      most = Math.max(most, inFlight)
      await new Promise((r) => setTimeout(r, 5))
      inFlight--
      if (fail) throw fail
      sent.push(inputs)
      return {results: [], errors: []}
    },
  } as unknown as HubSpotPort
  return {hubspot, sent, most: () => most}
}

const items = (from: number, n: number) => Array.from({length: n}, (_, i) => ({id: String(1000 + from + i), crmid: from + i}))

describe('CarrierWrites', () => {
  it('sends full batches of 100 while the listing goes on, one at a time, and the rest on drain', async () => {
    const {hubspot, sent, most} = port()
    const writes = new CarrierWrites(hubspot, 'contacts', 'corebos_crmid')
    writes.add(items(0, 60))
    expect(sent).toHaveLength(0)
    writes.add(items(60, 60))
    writes.add(items(120, 130))
    await writes.drain()
    expect(sent.map((b) => b.length)).toEqual([100, 100, 50])
    expect(most()).toBe(1)
    expect(sent.flat().map((i) => i.properties.corebos_crmid)).toEqual(items(0, 250).map((i) => String(i.crmid)))
    expect(sent[0][0]).toEqual({id: '1000', properties: {corebos_crmid: '0'}})
  })

  it('a failed send is thrown by the next add and by drain', async () => {
    const {hubspot} = port(new Error('daily limit'))
    const writes = new CarrierWrites(hubspot, 'contacts', 'corebos_crmid')
    writes.add(items(0, 100))
    await new Promise((r) => setTimeout(r, 20))
    expect(() => writes.add(items(100, 1))).toThrow('daily limit')
    await expect(writes.drain()).rejects.toThrow('daily limit')
  })
})
