/**
 * coreBOS in memory: the four modules with the real schema's fields (test/unit/maps/crm-fields.ts)
 * plus the seven control fields `cbhs setup` adds. Values are stored the way MariaDB hands them
 * back: through coreBOS's own column rules (src/corebos/values.ts, which refuse what the column
 * cannot hold, e.g. 101 characters into a varchar(100) or an emoji into a utf8mb3 column), decimals
 * rounded and padded to the column's scale. Every save bumps modifiedtime from the kit's clock as a
 * naive datetime in the install's zone; control-field writes do not.
 */
import {RecordWriteError} from '../../../src/corebos/records.js'
import {CONTROL_FIELD_SPECS} from '../../../src/corebos/setup.js'
import {naiveNow, toColumnValue, ValueError, type ColumnInfo} from '../../../src/corebos/values.js'
import {numericColumn, parseDecimal, roundDecimal} from '../../../src/maps/numbers.js'
import type {CountChangedOptions, CreateInput, CrmFieldMeta, CrmOwners, CrmUser, CrmRecords, ModuleMeta, ReadChangedOptions, RecordUpdate, WriteResult} from '../../../src/sync/ports.js'
import {CONTROL_FIELDS, type ControlValues, type CrmModule, type CrmRecord} from '../../../src/sync/types.js'
import {crmFields} from '../../unit/maps/crm-fields.js'
import type {TestClock} from './clock.js'

const MODULES: Record<CrmModule, {tabid: number; baseTable: string; baseKey: string; prefix: string}> = {
  Accounts: {tabid: 6, baseTable: 'vtiger_account', baseKey: 'accountid', prefix: 'ACC'},
  Contacts: {tabid: 4, baseTable: 'vtiger_contactdetails', baseKey: 'contactid', prefix: 'CON'},
  Leads: {tabid: 7, baseTable: 'vtiger_leaddetails', baseKey: 'leadid', prefix: 'LEA'},
  Potentials: {tabid: 2, baseTable: 'vtiger_potential', baseKey: 'potentialid', prefix: 'POT'},
}

/** Entity columns coreBOS maintains itself; a caller's value for them is ignored. */
const SYSTEM_FIELDS = new Set(['createdtime', 'modifiedtime', 'modifiedby', 'created_user_id'])
/** displaytypes coreBOS writes on create even when empty (insertIntoEntityTable's $creatingdisplay) */
const CREATE_DISPLAYTYPES = new Set([1, 3, 4, 5])
const TEXT_BYTES: Record<string, number> = {tinytext: 255, text: 65_535, mediumtext: 16_777_215, longtext: 4_294_967_295}

interface Row {
  module: CrmModule
  crmid: number
  deleted: boolean
  converted: boolean
  modifiedtime: string
  fields: Record<string, string | null>
}

export interface CrmWrite {
  op: 'create' | 'update' | 'trash' | 'control' | 'relate'
  module: CrmModule
  crmid: number
  fields: Record<string, string | null>
}

function buildMeta(module: CrmModule): ModuleMeta {
  const m = MODULES[module]
  const fields = crmFields(module)
  for (const spec of CONTROL_FIELD_SPECS) {
    const [sqlType, length] = /^(\w+)(?:\((\d+)\))?$/.exec(spec.sqlType)!.slice(1)
    fields.set(spec.name, {
      name: spec.name,
      label: spec.label,
      table: m.baseTable,
      column: spec.name,
      uitype: spec.uitype,
      dataType: spec.typeofdata.split('~')[0],
      mandatory: false,
      maxLength: length ? Number(length) : null,
      sqlType,
      displaytype: spec.displaytype,
      presence: 2,
    })
  }
  const tables = [...new Set([m.baseTable, ...[...fields.values()].map((f) => f.table)])].filter((t) => t !== 'vtiger_crmentity')
  const numberField = [...fields.values()].find((f) => f.uitype === 4)!.name
  return {
    module,
    tabid: m.tabid,
    baseTable: m.baseTable,
    baseKey: m.baseKey,
    tables: tables.map((name) => ({name, key: m.baseKey})),
    entityTable: 'vtiger_crmentity',
    denormalized: false,
    fields,
    numberField,
  }
}

const columns = new WeakMap<CrmFieldMeta, ColumnInfo>()

/** What information_schema would say of the field's column (the schema is utf8, i.e. utf8mb3). */
function columnOf(f: CrmFieldMeta): ColumnInfo {
  let column = columns.get(f)
  if (!column) columns.set(f, (column = describeColumn(f)))
  return column
}

function describeColumn(f: CrmFieldMeta): ColumnInfo {
  const numeric = numericColumn(f.sqlType, f.table, f.column)
  const decimal = numeric.kind === 'decimal' ? numeric : null
  const text = ['char', 'varchar', ...Object.keys(TEXT_BYTES)].includes(f.sqlType)
  return {
    name: f.column,
    dataType: f.sqlType,
    columnType: decimal ? `decimal(${decimal.precision},${decimal.scale})` : f.maxLength ? `${f.sqlType}(${f.maxLength})` : f.sqlType,
    maxLength: f.maxLength,
    octetLength: TEXT_BYTES[f.sqlType] ?? null,
    charset: text ? 'utf8' : null,
    nullable: true,
    hasDefault: true,
    precision: decimal?.precision ?? null,
    scale: decimal?.scale ?? null,
  }
}

/** The value as MariaDB returns it after storing `raw`, or a ValueError. */
function stored(f: CrmFieldMeta, raw: string | null | undefined): string | null {
  const column = columnOf(f)
  const value = toColumnValue(raw, column, f.uitype)
  if (value === null || column.scale === null) return value
  // DECIMAL rounds extra fraction digits and answers with exactly `scale` of them
  const d = roundDecimal(parseDecimal(value)!, column.scale)
  const frac = d.frac.padEnd(column.scale, '0')
  return `${d.negative ? '-' : ''}${d.int || '0'}${column.scale > 0 ? `.${frac}` : ''}`
}

/** Control values are written as given: empty clears to NULL, checkboxes become '1'/'0'. */
function storedControl(f: CrmFieldMeta, raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined || raw === '') return null
  return toColumnValue(raw, columnOf(f), f.uitype === 56 ? 56 : 1)
}

export class MemoryCrm implements CrmRecords {
  private readonly metas = new Map<CrmModule, ModuleMeta>()
  private readonly rows = new Map<number, Row>()
  private nextId = 100
  private readonly numbers: Record<CrmModule, number> = {Accounts: 1, Contacts: 1, Leads: 1, Potentials: 1}
  /** every write the engine made through the port, in order */
  readonly log: CrmWrite[] = []
  /**
   * Runs once, right before the engine's next record update is applied: what a coreBOS user saves
   * between the engine's read of a record and its write (a save made while a pass is running).
   */
  beforeNextUpdate: ((module: CrmModule, crmid: number) => void) | null = null
  /** vtiger_users and vtiger_groups as owners(): the admin, as a fresh install has it */
  readonly users: CrmUser[] = [{id: 1, email: 'admin@example.com', active: true}]
  readonly groupIds: number[] = [2]
  /** vtiger_contpotentialrel: potentialid → contactids */
  private readonly contactRel = new Map<number, Set<number>>()

  constructor(
    private readonly clock: TestClock,
    readonly timezone = 'UTC',
    private readonly userId = 1,
  ) {}

  async meta(module: CrmModule): Promise<ModuleMeta> {
    return this.metaOf(module)
  }

  private metaOf(module: CrmModule): ModuleMeta {
    let meta = this.metas.get(module)
    if (!meta) this.metas.set(module, (meta = buildMeta(module)))
    return meta
  }

  async now(): Promise<string> {
    return this.naiveNow()
  }

  async nowMs(): Promise<number> {
    return this.clock.nowMs()
  }

  async owners(): Promise<CrmOwners> {
    return {users: this.users.map((u) => ({...u})), groupIds: [...this.groupIds]}
  }

  naiveNow(): string {
    return naiveNow(this.timezone, new Date(this.clock.nowMs()))
  }

  // ------------------------------------------------------------------------------------------
  // reads
  // ------------------------------------------------------------------------------------------

  private toRecord(row: Row): CrmRecord {
    const record: CrmRecord = {
      module: row.module,
      crmid: row.crmid,
      modifiedtime: row.modifiedtime,
      deleted: row.deleted || row.converted,
      fields: {...row.fields, modifiedtime: row.modifiedtime},
    }
    if (row.module === 'Leads') record.converted = row.converted
    if (row.module === 'Potentials') {
      record.relatedContacts = [...(this.contactRel.get(row.crmid) ?? [])].filter((c) => {
        const contact = this.rows.get(c)
        return contact !== undefined && contact.module === 'Contacts' && !contact.deleted
      }).sort((a, b) => a - b)
    }
    return record
  }

  async relateContacts(potentialid: number, change: {add: number[]; remove: number[]}): Promise<void> {
    this.relateByUser(potentialid, change)
    this.log.push({op: 'relate', module: 'Potentials', crmid: potentialid, fields: {add: change.add.join(','), remove: change.remove.join(',')}})
  }

  /** a user adding or removing contacts in the potential's Contacts list: no modifiedtime change, as coreBOS */
  relateByUser(potentialid: number, change: {add?: number[]; remove?: number[]}): void {
    const set = this.contactRel.get(potentialid) ?? this.contactRel.set(potentialid, new Set()).get(potentialid)!
    for (const c of change.add ?? []) set.add(c)
    for (const c of change.remove ?? []) set.delete(c)
  }

  relatedContactsOf(potentialid: number): number[] {
    return [...(this.contactRel.get(potentialid) ?? [])].sort((a, b) => a - b)
  }

  private moduleRows(module: CrmModule): Row[] {
    return [...this.rows.values()].filter((r) => r.module === module).sort((a, b) => a.crmid - b.crmid)
  }

  private live(row: Row): boolean {
    return !row.deleted && !row.converted
  }

  /** The one predicate of a change read, as the adapter's: deletion, opt-in and keyset position. */
  private changed(options: CountChangedOptions): (row: Row) => boolean {
    const since = options.since
    return (row) => {
      if (!options.includeDeleted && !this.live(row)) return false
      const syncwith = row.fields.hubspotsyncwith ?? ''
      if (options.optIn === 'explicit' && syncwith !== '1') return false
      if (options.optIn === 'default-on' && syncwith === '0') return false
      if (options.until && row.modifiedtime > options.until) return false
      return !since || row.modifiedtime > since.modifiedtime || (row.modifiedtime === since.modifiedtime && row.crmid >= since.crmid)
    }
  }

  async countChanged(module: CrmModule, options: CountChangedOptions): Promise<number> {
    return this.moduleRows(module).filter(this.changed(options)).length
  }

  readChanged(module: CrmModule, options: ReadChangedOptions): AsyncIterable<CrmRecord[]> {
    const self = this
    const matches = this.changed({...options, since: null})
    const inRange = this.changed(options)
    return {
      async *[Symbol.asyncIterator]() {
        // the id scan comes first, as in the adapter; a record changed since sorts later and is read there
        const scan = self
          .moduleRows(module)
          .filter(inRange)
          .sort((a, b) => (a.modifiedtime < b.modifiedtime ? -1 : a.modifiedtime > b.modifiedtime ? 1 : a.crmid - b.crmid))
          .map((r) => ({crmid: r.crmid, modifiedtime: r.modifiedtime}))
        const size = Math.max(1, Math.floor(options.pageSize))
        for (let i = 0; i < scan.length; i += size) {
          const page = scan
            .slice(i, i + size)
            .map((s) => self.rows.get(s.crmid))
            .filter((r, k): r is Row => !!r && matches(r) && r.modifiedtime === scan[i + k].modifiedtime)
            .map((r) => self.toRecord(r))
          if (page.length > 0) yield page
        }
      },
    }
  }

  async readByIds(module: CrmModule, crmids: number[]): Promise<CrmRecord[]> {
    const out: CrmRecord[] = []
    for (const id of new Set(crmids.map(Number))) {
      const row = this.rows.get(id)
      if (row && row.module === module) out.push(this.toRecord(row))
    }
    return out
  }

  async findByHubSpotIds(module: CrmModule, hubspotIds: string[]): Promise<Map<string, CrmRecord>> {
    const wanted = new Set(hubspotIds.map(String).filter(Boolean))
    const out = new Map<string, CrmRecord>()
    // two records claiming one object: the oldest is the one the link most likely named
    for (const row of this.moduleRows(module)) {
      const id = row.fields.hubspotid
      if (this.live(row) && id && wanted.has(id) && !out.has(id)) out.set(id, this.toRecord(row))
    }
    return out
  }

  async findByEmails(module: CrmModule, emails: string[], options: {only?: readonly string[]} = {}): Promise<Map<string, CrmRecord[]>> {
    const out = new Map<string, CrmRecord[]>()
    if (this.metaOf(module).fields.get('email')?.table !== MODULES[module].baseTable) return out
    const wanted = new Set(emails.map((e) => e.trim().toLowerCase()).filter(Boolean))
    const only = options.only && new Set(['email', ...options.only])
    for (const row of this.moduleRows(module)) {
      const email = (row.fields.email ?? '').trim().toLowerCase()
      if (!this.live(row) || !wanted.has(email)) continue
      const record = this.toRecord(row)
      // as the adapter: only the fields asked for
      if (only) record.fields = Object.fromEntries(Object.entries(record.fields).filter(([f]) => only.has(f)))
      ;(out.get(email) ?? out.set(email, []).get(email)!).push(record)
    }
    return out
  }

  // ------------------------------------------------------------------------------------------
  // writes through the port (counted)
  // ------------------------------------------------------------------------------------------

  async create(module: CrmModule, inputs: CreateInput[], userId: number): Promise<WriteResult[]> {
    return inputs.map((input, i) => {
      try {
        const crmid = this.insertRow(module, input.fields, input.control ?? {}, userId)
        this.log.push({op: 'create', module, crmid, fields: {...input.fields, ...input.control}})
        return {crmid, ok: true}
      } catch (error) {
        if (!(error instanceof RecordWriteError)) throw error
        return {crmid: 0, ok: false, error: `${module} input #${i + 1}: ${error.message}`}
      }
    })
  }

  async update(module: CrmModule, crmid: number, fields: Record<string, string | null>, userId: number): Promise<void> {
    this.updateRow(module, crmid, fields, userId)
    this.log.push({op: 'update', module, crmid, fields: {...fields}})
  }

  async updateMany(module: CrmModule, updates: RecordUpdate[], userId: number): Promise<WriteResult[]> {
    return updates.map((u) => {
      const hook = this.beforeNextUpdate
      this.beforeNextUpdate = null
      hook?.(module, u.crmid)
      // compare-and-set, as the adapter: a record saved since it was read is left alone
      const row = this.rows.get(u.crmid)
      const expected = u.expected
      if (expected && row && row.module === module) {
        if (row.modifiedtime !== expected.modifiedtime) {
          return {crmid: u.crmid, ok: false, stale: true, error: `${module} ${u.crmid} changed in coreBOS since it was read (modifiedtime ${row.modifiedtime}, read ${expected.modifiedtime})`}
        }
        const changed = Object.entries(expected.fields ?? {}).find(([f, v]) => (row.fields[f] ?? null) !== v)
        if (changed) return {crmid: u.crmid, ok: false, stale: true, error: `${module} ${u.crmid} changed in coreBOS since it was read (${changed[0]} is no longer what was read)`}
      }
      try {
        this.updateRow(module, u.crmid, u.fields, userId)
        this.log.push({op: 'update', module, crmid: u.crmid, fields: {...u.fields}})
        return {crmid: u.crmid, ok: true}
      } catch (error) {
        if (!(error instanceof RecordWriteError)) throw error
        return {crmid: u.crmid, ok: false, error: error.message}
      }
    })
  }

  async trash(module: CrmModule, crmid: number, _userId: number): Promise<void> {
    if (this.trashRow(module, crmid)) this.log.push({op: 'trash', module, crmid, fields: {}})
  }

  async setControl(module: CrmModule, crmid: number, values: ControlValues): Promise<void> {
    const row = this.rows.get(crmid)
    if (!row || row.module !== module || Object.keys(values).length === 0) return
    Object.assign(row.fields, this.controlValues(module, crmid, values))
    this.log.push({op: 'control', module, crmid, fields: {...values}})
  }

  async setControlMany(module: CrmModule, rows: Array<{crmid: number; values: ControlValues}>): Promise<void> {
    for (const r of rows) await this.setControl(module, r.crmid, r.values)
  }

  /** Record writes (create, update, trash) the engine made, and control-field writes apart. */
  writes(): {records: number; control: number} {
    return {records: this.log.filter((w) => w.op !== 'control').length, control: this.log.filter((w) => w.op === 'control').length}
  }

  // ------------------------------------------------------------------------------------------
  // what users do in coreBOS (not counted as engine writes)
  // ------------------------------------------------------------------------------------------

  /** A record saved in the coreBOS UI; `optIn` ticks "Sync with HubSpot" (default) or leaves it off. */
  insert(module: CrmModule, fields: Record<string, string | null>, options: {optIn?: boolean; control?: ControlValues} = {}): number {
    const control = {hubspotsyncwith: options.optIn === false ? '0' : '1', ...options.control}
    return this.insertRow(module, fields, control, this.userId)
  }

  /** A user's save of some fields (control fields such as hubspotsyncwith included): bumps modifiedtime. */
  edit(module: CrmModule, crmid: number, fields: Record<string, string | null>): void {
    this.updateRow(module, crmid, fields, this.userId)
  }

  /** A user moving the record to the recycle bin. */
  trashByUser(module: CrmModule, crmid: number): void {
    this.trashRow(module, crmid)
  }

  /** Writes storage directly, bypassing coreBOS's rules: legacy rows such as a '0000-00-00' modifiedtime. */
  setRaw(module: CrmModule, crmid: number, change: {modifiedtime?: string; fields?: Record<string, string | null>}): void {
    const row = this.row(module, crmid)
    if (change.modifiedtime !== undefined) row.modifiedtime = change.modifiedtime
    Object.assign(row.fields, change.fields ?? {})
  }

  get(module: CrmModule, crmid: number): CrmRecord | undefined {
    const row = this.rows.get(crmid)
    return row && row.module === module ? this.toRecord(row) : undefined
  }

  /** Trashed, converted or purged: what linksWithGoneRecords looks for. */
  isGone(module: CrmModule, crmid: number): boolean {
    const row = this.rows.get(crmid)
    return !row || row.module !== module || !this.live(row)
  }

  all(module: CrmModule): CrmRecord[] {
    return this.moduleRows(module).map((r) => this.toRecord(r))
  }

  // ------------------------------------------------------------------------------------------

  private row(module: CrmModule, crmid: number): Row {
    const row = this.rows.get(crmid)
    if (!row || row.module !== module) throw new RecordWriteError('RECORD_NOT_FOUND', `${module} ${crmid} does not exist (purged from coreBOS).`)
    return row
  }

  private controlValues(module: CrmModule, crmid: number, values: ControlValues): Record<string, string | null> {
    const meta = this.metaOf(module)
    const out: Record<string, string | null> = {}
    const errors: string[] = []
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) continue
      if (!(CONTROL_FIELDS as readonly string[]).includes(name)) {
        errors.push(`'${name}' is not a HubSpot control field`)
        continue
      }
      try {
        out[name] = storedControl(meta.fields.get(name)!, value)
      } catch (error) {
        if (!(error instanceof ValueError)) throw error
        errors.push(`control field '${name}' ${error.message}`)
      }
    }
    if (errors.length > 0) throw new RecordWriteError('RECORD_INVALID', `${module} ${crmid}: ${errors.join('; ')}`)
    return out
  }

  /** Converts given fields to storage form; collects every reason a value cannot be stored. */
  private convertFields(module: CrmModule, fields: Record<string, string | null>, creating: boolean, errors: string[]): Record<string, string | null> {
    const meta = this.metaOf(module)
    const out: Record<string, string | null> = {}
    for (const [name, raw] of Object.entries(fields)) {
      if (raw === undefined) continue
      const f = meta.fields.get(name)
      if (!f) {
        errors.push(`unknown field '${name}' for ${module}`)
        continue
      }
      if (SYSTEM_FIELDS.has(name) || (f.uitype === 4 && !creating)) continue
      if ((CONTROL_FIELDS as readonly string[]).includes(name)) {
        try {
          out[name] = storedControl(f, raw)
        } catch (error) {
          if (!(error instanceof ValueError)) throw error
          errors.push(`control field '${name}' ${error.message}`)
        }
        continue
      }
      if (name === 'assigned_user_id') {
        const s = String(raw ?? '').trim()
        if (/^\d+$/.test(s) && Number(s) > 0) out[name] = s
        else errors.push(`field 'assigned_user_id' '${s}' is not a user or group id`)
        continue
      }
      if (f.mandatory && (raw === null || String(raw).trim() === '') && f.displaytype !== 2 && f.uitype !== 4) {
        errors.push(creating ? `field '${name}' is mandatory and has no value` : `field '${name}' is mandatory and cannot be emptied`)
        continue
      }
      try {
        out[name] = stored(f, raw)
      } catch (error) {
        if (!(error instanceof ValueError)) throw error
        errors.push(`field '${name}' (${f.table}.${f.column}) ${error.message}`)
      }
    }
    return out
  }

  private insertRow(module: CrmModule, fields: Record<string, string | null>, control: ControlValues, userId: number): number {
    const meta = this.metaOf(module)
    const errors: string[] = []
    const given = this.convertFields(module, fields, true, errors)
    // a mandatory field given empty was refused above; one not given at all is refused here
    for (const f of meta.fields.values()) {
      if (f.mandatory && fields[f.name] === undefined && f.uitype !== 4 && f.displaytype !== 2 && f.name !== 'assigned_user_id') {
        errors.push(`field '${f.name}' is mandatory and has no value`)
      }
    }
    const crmid = this.nextId
    const controls = this.collect(() => this.controlValues(module, crmid, control), errors)
    if (errors.length > 0) throw new RecordWriteError('RECORD_INVALID', errors.join('; '))
    this.nextId++
    const now = this.naiveNow()
    const row: Row = {module, crmid, deleted: false, converted: false, modifiedtime: now, fields: {}}
    for (const f of meta.fields.values()) {
      if ((CONTROL_FIELDS as readonly string[]).includes(f.name)) row.fields[f.name] = null
      else if (CREATE_DISPLAYTYPES.has(f.displaytype)) row.fields[f.name] = stored(f, null)
      else row.fields[f.name] = null
    }
    Object.assign(row.fields, given, controls ?? {})
    row.fields[meta.numberField] = given[meta.numberField] || `${MODULES[module].prefix}${this.numbers[module]++}`
    row.fields.assigned_user_id = given.assigned_user_id ?? String(userId)
    row.fields.created_user_id = String(userId)
    row.fields.modifiedby = String(userId)
    row.fields.createdtime = now
    this.rows.set(crmid, row)
    return crmid
  }

  private collect<T>(fn: () => T, errors: string[]): T | undefined {
    try {
      return fn()
    } catch (error) {
      if (!(error instanceof RecordWriteError)) throw error
      errors.push(error.message)
      return undefined
    }
  }

  private updateRow(module: CrmModule, crmid: number, fields: Record<string, string | null>, userId: number): void {
    const errors: string[] = []
    const values = this.convertFields(module, fields, false, errors)
    if (errors.length > 0) throw new RecordWriteError('RECORD_INVALID', `${module} ${crmid}: ${errors.join('; ')}`)
    const row = this.row(module, crmid)
    Object.assign(row.fields, values)
    row.fields.modifiedby = String(userId)
    row.modifiedtime = this.naiveNow()
  }

  private trashRow(module: CrmModule, crmid: number): boolean {
    const row = this.rows.get(crmid)
    // a purged record has nothing left to trash
    if (!row || row.module !== module) return false
    row.deleted = true
    row.modifiedtime = this.naiveNow()
    return true
  }
}
