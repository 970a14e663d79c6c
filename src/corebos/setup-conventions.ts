/**
 * The parts of `cbhs setup` that make coreBOS treat the control fields as its own:
 * - checkboxes hold '0' or '1', never NULL: coreBOS stores '0' for every unticked box, and its list
 *   filters, reports and workflow conditions ("Deleted in HubSpot = no") do not match NULL. Each
 *   record keeps its opt-in meaning: a never-written "Sync with HubSpot" meant opted in under
 *   `default-on` ('1') and not opted in under `explicit` ('0').
 * - `default-on` the coreBOS way: vtiger_field.defaultvalue = '1' on hubspotsyncwith, so the edit
 *   form, quick create and vtws_create tick it on every new record (they write an explicit '0'
 *   otherwise). Under `explicit` a default of '1' is taken away again.
 * - lead conversion carries the link: vtiger_convertleadmapping rows Lead field → Contact field
 *   (vtws_populateConvertLeadEntities copies only mapped fields), editable = 0 so the Settings
 *   mapping page shows them fixed and its save (which deletes editable = 1 rows) keeps them.
 */
import {quoteIdent, type Pool} from './connection.js'
import type {CrmModule} from '../sync/types.js'
import type {CoreBosModuleInfo, SetupChange, SetupOptions, SetupResult} from './setup.js'

const CHECKBOXES = ['hubspotcreated', 'hubspotdeleted', 'hubspotsyncwith'] as const

/**
 * Carried from a converted Lead to its Contact. The two datetimes are left out: they are
 * displaytype 2, which coreBOS's create does not write.
 */
export const LEAD_CONVERSION_FIELDS = ['hubspotid', 'hubspotcreated', 'hubspotrecord', 'hubspotdeleted', 'hubspotsyncwith'] as const

const neverWritten = (column: string): string => `(${quoteIdent(column)} IS NULL OR ${quoteIdent(column)} = '')`

function change(result: SetupResult, c: SetupChange): void {
  result.changes.push(c)
}

/** After the control columns and fields of the module exist (or, in a dry run, would). */
export async function setupCheckboxes(pool: Pool, info: CoreBosModuleInfo, baseColumns: ReadonlyMap<string, string>, options: SetupOptions, result: SetupResult): Promise<void> {
  const {module, tabid, baseTable} = info
  const defaultOn = options.optIn?.[module] === 'default-on'
  const q = quoteIdent
  const fills: Array<{column: string; value: '0' | '1'}> = []
  for (const column of CHECKBOXES) {
    // a column this run adds is NULL in every existing row
    const where = baseColumns.has(column) ? `WHERE ${neverWritten(column)}` : ''
    const [rows] = await pool.query(`SELECT COUNT(*) AS n FROM ${q(baseTable)} ${where}`)
    const n = Number((rows as Array<{n: number | string}>)[0].n)
    if (n === 0) continue
    const value = column === 'hubspotsyncwith' && defaultOn ? '1' : '0'
    fills.push({column, value})
    const why = column === 'hubspotsyncwith' ? (defaultOn ? ' (default-on: never asked means opted in)' : ' (explicit: never asked means not opted in)') : ''
    change(result, {kind: 'fill-checkbox', target: `${module}.${column}`, detail: `${n} record(s) without a value get '${value}'${why}`})
  }

  const [fieldRows] = await pool.query("SELECT fieldid, defaultvalue FROM vtiger_field WHERE tabid = ? AND fieldname = 'hubspotsyncwith'", [tabid])
  const current = String((fieldRows as Array<{defaultvalue: string | null}>)[0]?.defaultvalue ?? '')
  const wanted = defaultOn ? '1' : current === '1' ? '' : current
  if (wanted !== current) {
    change(result, {
      kind: 'set-field-default',
      target: `${module}.hubspotsyncwith`,
      detail: defaultOn ? "default value '1': coreBOS ticks Sync with HubSpot on every new record" : "default value '1' removed (sync.optIn is explicit)",
    })
  }

  if (defaultOn && baseColumns.has('hubspotsyncwith')) {
    const [rows] = await pool.query(`SELECT COUNT(*) AS n FROM ${q(baseTable)} WHERE ${q('hubspotsyncwith')} = '0'`)
    const unticked = Number((rows as Array<{n: number | string}>)[0].n)
    if (unticked > 0) {
      result.warnings.push(
        `${module} is default-on, but ${unticked} record(s) have Sync with HubSpot unticked ('0'): coreBOS stored '0' in records created before the default was set, ` +
          `and users may have unticked others. cbhs leaves them out. To opt all of them in: UPDATE ${baseTable} SET hubspotsyncwith = '1' WHERE hubspotsyncwith = '0';`,
      )
    }
  }

  if (options.dryRun) return
  if (fills.length > 0) {
    // a plain UPDATE: modifiedtime stays, since no record changes meaning
    await pool.query(
      `UPDATE ${q(baseTable)} SET ${fills.map((f) => `${q(f.column)} = IF(${neverWritten(f.column)}, '${f.value}', ${q(f.column)})`).join(', ')}
        WHERE ${fills.map((f) => neverWritten(f.column)).join(' OR ')}`,
    )
  }
  if (wanted !== current) {
    await pool.query("UPDATE vtiger_field SET defaultvalue = ? WHERE tabid = ? AND fieldname = 'hubspotsyncwith'", [wanted, tabid])
  }
}

/** After the control fields of Leads and Contacts exist (or, in a dry run, would). */
export async function setupLeadConversion(pool: Pool, modules: ReadonlyMap<CrmModule, CoreBosModuleInfo>, hasTable: boolean, options: SetupOptions, result: SetupResult): Promise<void> {
  const leads = modules.get('Leads')
  const contacts = modules.get('Contacts')
  if (!leads || !contacts) return
  if (!hasTable) {
    result.warnings.push('This coreBOS has no vtiger_convertleadmapping table: a converted Lead\'s Contact will not keep its HubSpot link.')
    return
  }
  const ids = async (tabid: number): Promise<Map<string, number>> => {
    const [rows] = await pool.query('SELECT fieldid, fieldname FROM vtiger_field WHERE tabid = ? AND fieldname IN (?) ORDER BY fieldid DESC', [tabid, LEAD_CONVERSION_FIELDS])
    return new Map((rows as Array<{fieldid: number; fieldname: string}>).map((r) => [r.fieldname, Number(r.fieldid)]))
  }
  const leadIds = await ids(leads.tabid)
  const contactIds = await ids(contacts.tabid)
  const known = [...leadIds.values()]
  const [mapRows] = known.length
    ? await pool.query('SELECT cfmid, leadfid, contactfid FROM vtiger_convertleadmapping WHERE leadfid IN (?) ORDER BY cfmid', [known])
    : [[]]
  const existing = new Map<number, {cfmid: number; contactfid: number}>()
  for (const r of mapRows as Array<{cfmid: number; leadfid: number; contactfid: number | null}>) {
    if (!existing.has(Number(r.leadfid))) existing.set(Number(r.leadfid), {cfmid: Number(r.cfmid), contactfid: Number(r.contactfid ?? 0)})
  }
  const inserts: Array<[number, number]> = []
  const updates: Array<[number, number]> = []
  for (const field of LEAD_CONVERSION_FIELDS) {
    const leadfid = leadIds.get(field)
    const contactfid = contactIds.get(field)
    const mapped: SetupChange = {kind: 'add-lead-mapping', target: `vtiger_convertleadmapping.${field}`, detail: `Leads.${field} → Contacts.${field} on conversion (fixed, editable 0)`}
    if (leadfid === undefined || contactfid === undefined) {
      // only in a dry run: the fields are added by this setup
      change(result, mapped)
      continue
    }
    const row = existing.get(leadfid)
    if (row && row.contactfid === contactfid) continue
    if (row && row.contactfid !== 0) {
      result.warnings.push(`vtiger_convertleadmapping ${row.cfmid} maps Leads.${field} to Contacts field ${row.contactfid}, not Contacts.${field}; left as it is, so a converted Lead's Contact may lose its HubSpot link.`)
      continue
    }
    change(result, mapped)
    if (row) updates.push([row.cfmid, contactfid])
    else inserts.push([leadfid, contactfid])
  }
  if (options.dryRun) return
  for (const [leadfid, contactfid] of inserts) {
    await pool.query('INSERT INTO vtiger_convertleadmapping (leadfid, accountfid, contactfid, potentialfid, editable) VALUES (?, 0, ?, 0, 0)', [leadfid, contactfid])
  }
  for (const [cfmid, contactfid] of updates) {
    await pool.query('UPDATE vtiger_convertleadmapping SET contactfid = ?, editable = 0 WHERE cfmid = ?', [contactfid, cfmid])
  }
}
