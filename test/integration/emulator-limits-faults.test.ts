import {describe, expect, it} from 'vitest'
import {ManualClock, raw, withEmulator} from '../support/emulator.js'
import {startEmulator} from '../../src/emulator/index.js'

async function rejection(p: Promise<unknown>): Promise<{code: number; body: any; message: string}> {
  try {
    await p
  } catch (e) {
    const err = e as {code: number; body: any; message: string}
    return {code: err.code, body: err.body, message: err.message}
  }
  throw new Error('expected the call to fail')
}

describe('emulator: rate limits', () => {
  it('refuses the 101st call in a rolling 10 s window with a TEN_SECONDLY_ROLLING 429 and counts it', async () => {
    const clock = new ManualClock()
    await withEmulator({clock, limits: {tenSecondly: 100}}, async (emu, client) => {
      let last: Record<string, string> = {}
      for (let i = 0; i < 100; i++) {
        last = (await client.crm.contacts.basicApi.getPageWithHttpInfo()).headers
        clock.advance(10)
      }
      expect(last['x-hubspot-ratelimit-max']).toBe('100')
      expect(last['x-hubspot-ratelimit-remaining']).toBe('0')
      expect(last['x-hubspot-ratelimit-interval-milliseconds']).toBe('10000')
      expect(last['x-hubspot-ratelimit-daily']).toBe('250000')
      expect(last['x-hubspot-ratelimit-daily-remaining']).toBe('249900')
      const refused = await rejection(client.crm.contacts.basicApi.getPage())
      expect(refused.code).toBe(429)
      expect(refused.body).toMatchObject({
        status: 'error', message: 'You have reached your ten_secondly_rolling limit.', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING',
      })
      expect(refused.body.correlationId).toBeDefined()
      expect(refused.body.groupName).toBeDefined()
      expect(emu.control.overBudget()).toBe(1)
      clock.advance(10_000 - 1_000)
      // the window rolls: the earliest calls have aged out
      expect((await client.crm.contacts.basicApi.getPageWithHttpInfo()).httpStatusCode).toBe(200)
      expect(emu.control.requests().filter((r) => r.status === 429)).toHaveLength(1)
      expect(emu.control.counts()['GET /crm/v3/objects/contacts']).toBe(102)
    })
  })

  it('limits search separately per second, and stops everything at the daily limit', async () => {
    const clock = new ManualClock()
    await withEmulator({clock, limits: {tenSecondly: 190, daily: 1000, searchPerSecond: 5}}, async (emu, client) => {
      const body = {filterGroups: [], sorts: [], properties: [], limit: 1, after: '0'} as any
      for (let i = 0; i < 5; i++) await client.crm.contacts.searchApi.doSearch(body)
      const refused = await rejection(client.crm.contacts.searchApi.doSearch(body))
      expect(refused.code).toBe(429)
      expect(refused.body).toMatchObject({message: 'You have reached your secondly limit.', policyName: 'SECONDLY', errorType: 'RATE_LIMIT'})
      // search is exempt from the ten-secondly burst: other calls still pass
      expect((await client.crm.contacts.basicApi.getPageWithHttpInfo()).headers['x-hubspot-ratelimit-remaining']).toBe('189')
      clock.advance(1_000)
      await client.crm.contacts.searchApi.doSearch(body)

      emu.control.setDailyUsage(1000)
      const daily = await rejection(client.crm.companies.basicApi.getPage())
      expect(daily.code).toBe(429)
      expect(daily.body).toMatchObject({message: 'You have reached your daily limit.', policyName: 'DAILY', errorType: 'RATE_LIMIT'})
      expect(emu.control.overBudget()).toBe(2)
      const usage = await raw(emu, 'GET', '/account-info/v3/api-usage/daily/private-apps')
      expect(usage.status).toBe(429)
      clock.advance(86_400_000)
      expect((await raw(emu, 'GET', '/account-info/v3/api-usage/daily/private-apps')).json.results[0]).toMatchObject({usageLimit: 1000, currentUsage: 1})
    })
  })
})

describe('emulator: faults', () => {
  it('injects JSON 5xx, 423 and 429 on the next N matching requests, then recovers', async () => {
    await withEmulator({}, async (emu, client) => {
      emu.control.injectFaults({count: 5, kinds: [500, 502, 504, 423, 429], match: /\/batch\/read$/})
      expect((await client.crm.contacts.basicApi.getPageWithHttpInfo()).httpStatusCode).toBe(200)
      const codes: number[] = []
      for (let i = 0; i < 5; i++) {
        const r = await rejection(client.crm.contacts.batchApi.read({inputs: [], properties: [], propertiesWithHistory: []}))
        codes.push(r.code)
        expect(r.body.status).toBe('error')
      }
      expect(codes).toEqual([500, 502, 504, 423, 429])
      expect((await client.crm.contacts.batchApi.readWithHttpInfo({inputs: [], properties: [], propertiesWithHistory: []})).httpStatusCode).toBe(200)
      expect(emu.control.overBudget()).toBe(0)
      expect(emu.control.requests().filter((r) => r.fault).map((r) => r.fault)).toEqual(['500', '502', '504', '423', '429'])
    })
  })

  it('serves HTML error bodies and bodies without Content-Type', async () => {
    await withEmulator({}, async (emu, client) => {
      emu.control.injectFaults({count: 1, kinds: ['html']})
      const html = await rejection(client.crm.contacts.basicApi.getPage())
      expect(html.code).toBe(502)
      expect(typeof html.body).toBe('string')
      expect(html.body).toContain('<html>')

      emu.control.injectFaults({count: 1, kinds: ['no-content-type']})
      const bare = await rejection(client.crm.contacts.basicApi.create({properties: {firstname: 'Z'}, associations: []}))
      expect(bare.message).toMatch(/Content-Type|parse/i)
      // the write went through: only the answer was unreadable
      expect(emu.control.all('contacts')).toHaveLength(1)
    })
  })

  it('applies a seeded rate deterministically', async () => {
    const run = async () => withEmulator({}, async (emu) => {
      emu.control.injectFaults({rate: 0.3, kinds: [500, 502], seed: 7})
      const statuses: number[] = []
      for (let i = 0; i < 30; i++) statuses.push((await raw(emu, 'GET', '/crm/v3/objects/deals')).status)
      return statuses
    })
    const a = await run()
    expect(a.filter((s) => s !== 200).length).toBeGreaterThan(3)
    expect(await run()).toEqual(a)
  })

  it('resets connections, hangs requests, and still closes promptly', async () => {
    const emu = await startEmulator()
    emu.control.injectFaults({count: 1, kinds: ['reset']})
    await expect(fetch(`${emu.url}/crm/v3/objects/contacts`, {headers: {Authorization: `Bearer ${emu.token}`}})).rejects.toThrow()

    emu.control.injectFaults({count: 1, kinds: ['hang']})
    let settled = false
    const hung = fetch(`${emu.url}/crm/v3/objects/contacts`, {headers: {Authorization: `Bearer ${emu.token}`}}).then(
      () => 'answered', () => 'failed').finally(() => {
      settled = true
    })
    await new Promise((r) => setTimeout(r, 200))
    expect(settled).toBe(false)
    const started = Date.now()
    await emu.close()
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(await hung).toBe('failed')
  })
})
