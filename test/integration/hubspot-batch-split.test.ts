/**
 * A HubSpot that ignores objectWriteTraceId and fails whole batches (all-or-nothing), as batch
 * create does without trace ids: the gateway must still fail only the bad inputs.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {createHubSpotGateway} from '../../src/hubspot/index.js'

interface Input {
  id: string
  idProperty?: string
  properties: Record<string, string>
}

const json = {'content-type': 'application/json;charset=utf-8'}
let server: Server | undefined
afterEach(
  () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve()
      server.close(() => resolve())
      server.closeAllConnections()
    }),
)

async function allOrNothingHubSpot() {
  const log: string[] = []
  server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c) => (raw += c))
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as {inputs: Input[]}
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, json)
        res.end(JSON.stringify(payload))
      }
      const path = (req.url ?? '').split('?')[0]
      log.push(`${path} ${body.inputs?.length}`)
      if (path === '/crm/objects/2026-03/contacts/batch/read') {
        return reply(200, {status: 'COMPLETE', results: [{id: '77', properties: {email: 'dup@example.com'}}], startedAt: new Date().toISOString(), completedAt: new Date().toISOString()})
      }
      const bad = body.inputs.find((i) => i.properties.email?.includes('@@'))
      if (bad) {
        const inner = JSON.stringify([{isValid: false, message: `Email address ${bad.properties.email} is invalid`, error: 'INVALID_EMAIL', name: 'email'}])
        return reply(400, {status: 'error', message: `Property values were not valid: ${inner}`, category: 'VALIDATION_ERROR', correlationId: 'c'})
      }
      if (body.inputs.some((i) => i.properties.email?.toLowerCase() === 'dup@example.com')) {
        return reply(409, {status: 'error', message: 'Contact already exists. Existing ID: 77', category: 'CONFLICT', correlationId: 'c'})
      }
      if (body.inputs.some((i) => i.properties.firstname === 'weird')) {
        return reply(400, {status: 'error', message: 'Something is off with one record', category: 'VALIDATION_ERROR', correlationId: 'c'})
      }
      // results in reverse order and without trace ids: matched back by the unique property
      const results = body.inputs
        .map((i, n) => ({id: String(1000 + Number(i.id)), properties: {...i.properties}, new: n % 2 === 0, createdAt: new Date().toISOString(), updatedAt: new Date().toISOString()}))
        .reverse()
      reply(200, {status: 'COMPLETE', results, startedAt: new Date().toISOString(), completedAt: new Date().toISOString()})
    })
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`
  const gateway = createHubSpotGateway({baseUrl: url, accessToken: 'split-test-token', requestTimeoutMs: 5000, maxRetries: 0})
  return {gateway, log}
}

function inputs(n: number) {
  return Array.from({length: n}, (_, i) => ({key: String(i + 1), properties: {email: `p${i + 1}@example.com`, firstname: `P${i + 1}`}}))
}

describe('whole-batch rejections', () => {
  it('fails the input with the invalid e-mail and resends the rest once', async () => {
    const {gateway, log} = await allOrNothingHubSpot()
    const batch = inputs(100)
    batch[10].properties.email = 'bad@@example.com'
    const {results, errors} = await gateway.upsert('contacts', batch)
    gateway.close()
    expect(errors).toEqual([{key: '11', status: 400, category: 'INVALID_EMAIL', message: 'Email address bad@@example.com is invalid'}])
    expect(results).toHaveLength(99)
    expect(results.find((r) => r.key === '12')).toMatchObject({id: '1012'})
    expect(log).toEqual(['/crm/objects/2026-03/contacts/batch/upsert 100', '/crm/objects/2026-03/contacts/batch/upsert 99'])
  })

  it('finds the input behind a 409 through the existing contact, with its id', async () => {
    const {gateway, log} = await allOrNothingHubSpot()
    const batch = inputs(100)
    batch[60].properties.email = 'DUP@example.com'
    const {results, errors} = await gateway.upsert('contacts', batch)
    gateway.close()
    expect(errors).toEqual([expect.objectContaining({key: '61', status: 409, category: 'CONFLICT', existingId: '77'})])
    expect(results).toHaveLength(99)
    expect(log).toHaveLength(3)
  })

  it('bisects when the answer names no input', async () => {
    const {gateway, log} = await allOrNothingHubSpot()
    const batch = inputs(100)
    batch[33].properties.firstname = 'weird'
    batch[80].properties.firstname = 'weird'
    const {results, errors} = await gateway.upsert('contacts', batch)
    gateway.close()
    expect(errors.map((e) => e.key).sort()).toEqual(['34', '81'])
    expect(errors[0].message).toBe('Something is off with one record')
    expect(results).toHaveLength(98)
    expect(new Set(results.map((r) => r.key)).size).toBe(98)
    // two culprits among 100: about 2·log2(100) requests, far fewer than one per record
    expect(log.length).toBeLessThan(30)
  })
})
