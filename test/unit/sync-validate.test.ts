/**
 * cbhs's prediction of HubSpot's refusals (src/sync/validate.ts). It only predicts what HubSpot
 * surely refuses: an address HubSpot takes must never be held back, so every address the
 * emulator (our model of HubSpot's validation) accepts passes, whatever fast-check makes up.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {isValidEmail} from '../../src/emulator/values.js'
import {hubspotRejections, isRefusedEmail} from '../../src/sync/validate.js'

describe('e-mail addresses HubSpot refuses', () => {
  it.each(['grace@@acme.example', 'ada lovelace@acme.example', 'no-at-sign.example', '@acme.example', 'ada@', 'ada@acme', 'ada@acme.', 'ada..l@acme.example', 'ada@acme.c', 'ada@acme.123', '"ada"@acme.example', 'ada@acme,example.com'])(
    '%s is refused',
    (email) => {
      expect(isRefusedEmail(email)).toBe(true)
      expect(isValidEmail(email.trim().toLowerCase())).toBe(false)
    },
  )

  it.each(['ada@acme.example', 'Ada.Lovelace+crm@Acme.Example', ' ada@acme.example ', "o'brien@acme.co.uk", 'a_b-c@sub-domain.acme.io'])('%s is taken', (email) => {
    expect(isRefusedEmail(email)).toBe(false)
    expect(isValidEmail(email.trim().toLowerCase())).toBe(true)
  })

  it('an empty e-mail clears the property and is no refusal', () => {
    expect(hubspotRejections('contacts', {email: ''}, {creating: true})).toEqual([])
  })

  it('never holds back an address the emulator accepts', () => {
    const part = (maxLength: number) => fc.string({unit: fc.constantFrom('a', 'B', '1', '.', '-', '_', '+', '@', ' ', '"', ','), maxLength})
    const address = fc.oneof(
      fc.emailAddress(),
      fc.tuple(part(8), part(8), fc.constantFrom('', 'io', 'c', 'Example', '12', 'c0m')).map(([local, domain, tld]) => `${local}@${domain}.${tld}`),
      part(24),
    )
    fc.assert(
      fc.property(address, (email) => {
        if (isValidEmail(email.trim().toLowerCase())) expect(isRefusedEmail(email)).toBe(false)
      }),
      {numRuns: 2000},
    )
  })
})

describe('properties HubSpot needs on a create', () => {
  it('a deal needs a name and a stage; an update needs neither', () => {
    expect(hubspotRejections('deals', {dealname: 'Big', dealstage: ''}, {creating: true})).toEqual([expect.objectContaining({property: 'dealstage', category: 'REQUIRED'})])
    expect(hubspotRejections('deals', {amount: '10'}, {creating: false})).toEqual([])
  })

  it('a company needs a name or a domain', () => {
    expect(hubspotRejections('companies', {domain: 'acme.example'}, {creating: true})).toEqual([])
    expect(hubspotRejections('companies', {phone: '1'}, {creating: true})).toEqual([expect.objectContaining({property: 'name', category: 'REQUIRED'})])
  })

  it('the e-mail is judged only on contacts, and the message names the value', () => {
    expect(hubspotRejections('companies', {name: 'Acme', email: 'x@@y'}, {creating: true})).toEqual([])
    const [rejection] = hubspotRejections('contacts', {email: 'x@@y.example'}, {creating: false})
    expect(rejection).toMatchObject({property: 'email', category: 'INVALID_EMAIL'})
    expect(rejection!.message).toMatch(/^Email address x@@y\.example is invalid/)
  })
})
