/** Business maps stored in coreBOS (vtiger_cbmap), for `--maps-source database`. */
import type {Pool} from './connection.js'
import {quoteIdent} from './connection.js'

/**
 * The maps with these names whose cbMap record is not deleted, joined through the cbMap entity
 * table (which a denormalized install keeps elsewhere). Content comes back as stored: it may be
 * HTML-entity-encoded when the map was saved through the UI.
 */
export async function readCbMaps(pool: Pool, names: readonly string[]): Promise<Array<{mapname: string; content: string | null}>> {
  const [entity] = (await pool.query("SELECT isdenormalized, denormtable FROM vtiger_entityname WHERE modulename = 'cbMap'")) as unknown as [
    Array<{isdenormalized: string | null; denormtable: string | null}>,
  ]
  const table = entity[0]?.isdenormalized === '1' && entity[0].denormtable ? entity[0].denormtable : 'vtiger_crmentity'
  const [rows] = (await pool.query(
    `SELECT m.mapname, m.content FROM vtiger_cbmap m JOIN ${quoteIdent(table)} e ON e.crmid = m.cbmapid
     WHERE e.deleted = 0 AND m.mapname IN (?) ORDER BY m.cbmapid`,
    [names],
  )) as unknown as [Array<{mapname: string; content: string | null}>]
  // coreBOS finds a map by name and takes the first; so do we
  const seen = new Set<string>()
  return rows.filter((r) => !seen.has(r.mapname) && seen.add(r.mapname))
}
