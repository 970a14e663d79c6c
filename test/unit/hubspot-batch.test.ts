import {describe, expect, it} from 'vitest'
import {attributeErrors, chunk, describeError, findCulprits, itemError} from '../../src/hubspot/batch.js'
import {chunkByBodySize, mapPool} from '../../src/hubspot/gateway.js'

const invalidEmail =
  'Property values were not valid: [{"isValid":false,"message":"Email address bad@@example is invalid","error":"INVALID_EMAIL","name":"email"}]'

describe('207 decoding', () => {
  it('maps errors back by objectWriteTraceId, then by ids', () => {
    const keys = new Set(['10', '11', '12', '13'])
    const {byKey, unattributed} = attributeErrors(
      [
        {status: 'error', category: 'VALIDATION_ERROR', message: invalidEmail, context: {objectWriteTraceId: ['11']}},
        {status: 'error', category: 'OBJECT_NOT_FOUND', message: 'not found', context: {ids: ['13', '99']}},
        {status: 'error', category: 'VALIDATION_ERROR', message: 'something else'},
      ],
      keys,
    )
    expect(byKey.get('11')).toEqual({key: '11', status: 400, category: 'INVALID_EMAIL', message: 'Email address bad@@example is invalid'})
    expect(byKey.get('13')).toMatchObject({status: 404, category: 'OBJECT_NOT_FOUND'})
    expect(byKey.has('99')).toBe(false)
    expect(unattributed).toHaveLength(1)
  })

  it('keeps the existing id of a duplicate contact', () => {
    expect(itemError('5', 409, 'CONFLICT', 'Contact already exists. Existing ID: 4711')).toEqual({
      key: '5',
      status: 409,
      category: 'CONFLICT',
      message: 'Contact already exists. Existing ID: 4711',
      existingId: '4711',
    })
  })

  it('unwraps property validation messages and leaves others alone', () => {
    expect(describeError(invalidEmail, 'VALIDATION_ERROR')).toEqual({message: 'Email address bad@@example is invalid', category: 'INVALID_EMAIL'})
    expect(describeError('Property values were not valid: [oops', 'VALIDATION_ERROR').category).toBe('VALIDATION_ERROR')
    expect(describeError(undefined, undefined).message).toBe('HubSpot gave no message')
  })
})

describe('findCulprits', () => {
  const inputs: Array<{key: string; properties: Record<string, string>}> = [
    {key: '1', properties: {email: 'ok@example.com'}},
    {key: '2', properties: {email: 'Bad@@Example'}},
    {key: '3', properties: {firstname: 'x', shoesize: '42'}},
  ]

  it('names the input with the invalid e-mail', () => {
    expect(findCulprits({message: invalidEmail}, inputs)).toEqual(new Set(['2']))
  })

  it('names the inputs using a property that does not exist', () => {
    const body = {
      message: 'Property "shoesize" does not exist',
      errors: [{message: 'Property "shoesize" does not exist', code: 'PROPERTY_DOESNT_EXIST', context: {propertyName: ['shoesize']}}],
    }
    expect(findCulprits(body, inputs)).toEqual(new Set(['3']))
  })

  it('returns null when nothing identifies an input', () => {
    expect(findCulprits({message: 'Contact already exists. Existing ID: 1'}, inputs)).toBeNull()
  })
})

describe('helpers', () => {
  it('chunks', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]])
  })

  it('splits e-mail searches by count and by body size', () => {
    const emails = Array.from({length: 250}, (_, i) => `person${i}@example.com`)
    const groups = chunkByBodySize(emails, 100, 2700)
    expect(groups.flat()).toEqual(emails)
    for (const g of groups) {
      expect(g.length).toBeLessThanOrEqual(100)
      expect(JSON.stringify(g).length).toBeLessThanOrEqual(2700)
    }
  })

  it('runs a pool in order with bounded concurrency', async () => {
    let running = 0
    let peak = 0
    const out = await mapPool([5, 1, 4, 2, 3], 2, async (n) => {
      running++
      peak = Math.max(peak, running)
      await new Promise((r) => setTimeout(r, n))
      running--
      return n * 10
    })
    expect(out).toEqual([50, 10, 40, 20, 30])
    expect(peak).toBe(2)
  })
})
