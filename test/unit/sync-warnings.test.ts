import {describe, expect, it} from 'vitest'
import {foldingWarnings} from '../../src/sync/warnings.js'

describe('a pass folds repeated warnings', () => {
  it('says a warning about many records once, for the first, with how many more it concerned', () => {
    const list: string[] = []
    const warn = foldingWarnings(list)
    for (const crmid of [8409, 8410, 8411]) warn(`Contacts ${crmid}: hubspot_owner_id: coreBOS user 1 has no HubSpot owner with that e-mail; sent without owner`)
    warn('Accounts 8400: hubspot_owner_id: coreBOS user 1 has no HubSpot owner with that e-mail; sent without owner')
    warn('Contacts 8412: lastname: cut to 100 characters')
    expect(list).toEqual([
      'Contacts 8409: hubspot_owner_id: coreBOS user 1 has no HubSpot owner with that e-mail; sent without owner (and 3 more records)',
      'Contacts 8412: lastname: cut to 100 characters',
    ])
  })

  it('keeps warnings about different values apart, and says a warning about no record once', () => {
    const list: string[] = []
    const warn = foldingWarnings(list)
    warn('HubSpot contacts 11: no lastname; stored a@b.test in Leads')
    warn('HubSpot contacts 12: no lastname; stored c@d.test in Leads')
    warn('Contacts (HubSpot 13): related contact 5 is not opted in: no association made')
    warn('Contacts: no Contacts2HubSpot map, nothing pushed')
    warn('Contacts: no Contacts2HubSpot map, nothing pushed')
    expect(list).toEqual([
      'HubSpot contacts 11: no lastname; stored a@b.test in Leads',
      'HubSpot contacts 12: no lastname; stored c@d.test in Leads',
      'Contacts (HubSpot 13): related contact 5 is not opted in: no association made',
      'Contacts: no Contacts2HubSpot map, nothing pushed',
    ])
  })

  it('folds every stream of one pass into the same list', () => {
    const list: string[] = []
    foldingWarnings(list)('Contacts 1: owner: none')
    foldingWarnings(list)('Leads 2: owner: none')
    expect(list).toEqual(['Contacts 1: owner: none (and 1 more record)'])
  })
})
