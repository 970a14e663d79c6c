import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createTestDatabase, type TestDatabase} from '../support/db.js'

describe('test database harness', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => db?.drop())

  it('loads the real coreBOS schema with its metadata rows', async () => {
    const [seq] = await db.query<{id: number}>('SELECT id FROM vtiger_crmentity_seq')
    expect(seq.id).toBe(8407)
    const tabs = await db.query<{name: string; tabid: number}>(
      "SELECT name, tabid FROM vtiger_tab WHERE name IN ('Accounts','Contacts','Leads','Potentials') ORDER BY tabid",
    )
    expect(tabs.map((t) => t.name)).toEqual(['Potentials', 'Contacts', 'Accounts', 'Leads'])
  })
})
