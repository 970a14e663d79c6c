/**
 * The emulated portal's data and the rules HubSpot enforces on it. Transport-free: the HTTP layer
 * and the in-process control surface both call into this.
 */
import {
  EmuError,
  conflict,
  notFound,
  propertyValuesError,
  validationError,
  type PropertyProblem,
} from './errors.js'
import {
  DEFAULT_PROPERTIES,
  FIELD_TYPES,
  LIFECYCLE_STAGES,
  MODIFIED_PROP,
  OBJECT_TYPES,
  PROPERTY_TYPES,
  TYPE_ID,
  TYPE_SINGULAR,
  associationType,
  associationTypesBetween,
  dealStageOptions,
  defaultGroups,
  defaultPipelines,
  defaultProperties,
  isEngagementType,
  type AssociationTypeDef,
  type ObjectTypeName,
  type PipelineDef,
  type PropertyDef,
  type PropertyGroupDef,
  type PropertyOption,
  type PropertyType,
} from './schema.js'
import {normalizeValue} from './values.js'
import {SearchIndex} from './search.js'

export interface StoredObject {
  id: string
  /** creation order; list pages walk it */
  seq: number
  /** user-writable values only; system values are derived when read */
  props: Map<string, string>
  createdAtMs: number
  updatedAtMs: number
  archived: boolean
  archivedAtMs: number | null
  mergedIds: string[]
}

export interface TypeStore {
  type: ObjectTypeName
  props: Map<string, PropertyDef>
  groups: Map<string, PropertyGroupDef>
  objects: Map<string, StoredObject>
  /** by seq, append-only; entries whose id no longer maps to them (merged, purged) are skipped */
  order: StoredObject[]
  /** merged-away id → id it was merged into */
  aliases: Map<string, string>
  /** unique property → normalised value → id, live (unarchived) objects only */
  unique: Map<string, Map<string, string>>
  /** bumped on every change that can alter search results */
  version: number
  search: SearchIndex
}

export type MergeMode = 'new-id' | 'keep-primary'
export type WriteMode = 'api' | 'control'

export interface StoreOptions {
  nowMs: () => number
  portalId: number
  mergeMode: MergeMode
}

/** A planned write: normalised changes, checked against the store and the rest of the batch. */
export interface PlannedWrite {
  changes: Map<string, string | null>
}

const MAX_UNIQUE_CUSTOM = 10
const ISO = (ms: number) => new Date(ms).toISOString()

export function uniqueKey(prop: string, value: string): string {
  return prop === 'email' ? value.toLowerCase() : value
}

export interface OwnerDef {
  id: string
  email: string
  firstName: string
  lastName: string
  userId: number
  archived: boolean
  createdAtMs: number
  updatedAtMs: number
}

export class Store {
  readonly types: Record<ObjectTypeName, TypeStore>
  pipelines: PipelineDef[]
  /** `${type}:${id}` → `${toType}:${toId}` → association type ids seen from the first object */
  readonly assoc = new Map<string, Map<string, Set<number>>>()
  /** e-mails GDPR-deleted without a matching contact; they cannot be used again */
  readonly gdprBlocklist = new Set<string>()
  /** the portal's users as the owners API lists them (hubspot_owner_id holds an owner's id) */
  readonly owners: OwnerDef[] = []
  private nextOwnerId = 70_001
  // ids start just below a digit boundary so string-sorting bugs show even in small tests
  private nextId = 9_901
  private nextSeq = 1

  constructor(readonly options: StoreOptions) {
    const epoch = Date.UTC(2019, 0, 1)
    this.pipelines = defaultPipelines(epoch)
    const make = (type: ObjectTypeName): TypeStore => {
      const ts: TypeStore = {
        type,
        props: new Map(defaultProperties(type, epoch, this.pipelines).map((p) => [p.name, p])),
        groups: new Map(defaultGroups(type).map((g) => [g.name, g])),
        objects: new Map(),
        order: [],
        aliases: new Map(),
        unique: new Map(),
        version: 0,
        search: undefined as unknown as SearchIndex,
      }
      ts.search = new SearchIndex(ts, () => this.options.nowMs())
      return ts
    }
    this.types = Object.fromEntries(OBJECT_TYPES.map((t) => [t, make(t)])) as Record<ObjectTypeName, TypeStore>
  }

  now(): number {
    return this.options.nowMs()
  }

  /** A HubSpot user as an owner: what the owners API lists and hubspot_owner_id may name. */
  addOwner(input: {email: string; firstName?: string; lastName?: string; archived?: boolean}): OwnerDef {
    const now = this.now()
    const owner: OwnerDef = {
      id: String(this.nextOwnerId++),
      email: input.email,
      firstName: input.firstName ?? '',
      lastName: input.lastName ?? '',
      userId: 9_000_000 + this.owners.length,
      archived: input.archived ?? false,
      createdAtMs: now,
      updatedAtMs: now,
    }
    this.owners.push(owner)
    return owner
  }

  // -------------------------------------------------------------------------------------------
  // Reading
  // -------------------------------------------------------------------------------------------

  /** Follows merge aliases; merged-away ids resolve to the surviving record. */
  resolve(ts: TypeStore, id: string): StoredObject | undefined {
    let current = id
    for (let hops = 0; hops < 50; hops++) {
      const obj = ts.objects.get(current)
      if (obj) return obj
      const next = ts.aliases.get(current)
      if (next === undefined) return undefined
      current = next
    }
    return undefined
  }

  /** Finds an object by `id` interpreted through `idProperty` (none / hs_object_id = record id). */
  findBy(ts: TypeStore, id: string, idProperty: string | undefined, followMerges: boolean): StoredObject | undefined {
    if (!idProperty || idProperty === 'hs_object_id') {
      return followMerges ? this.resolve(ts, id) : ts.objects.get(id)
    }
    const owner = ts.unique.get(idProperty)?.get(uniqueKey(idProperty, id))
    return owner === undefined ? undefined : ts.objects.get(owner)
  }

  /** Property names usable as `idProperty` on reads (GET, batch read) and single PATCH. */
  checkLookupProperty(ts: TypeStore, idProperty: string | undefined): void {
    if (!idProperty || idProperty === 'hs_object_id') return
    if (ts.type === 'contacts' && idProperty === 'email') return
    this.checkUniqueCustom(ts, idProperty)
  }

  /** Batch update and upsert only take custom unique properties (upsert also e-mail, for contacts). */
  checkUniqueCustom(ts: TypeStore, idProperty: string): void {
    const def = ts.props.get(idProperty)
    if (!def) {
      throw propertyValuesError([{name: idProperty, error: 'PROPERTY_DOESNT_EXIST', message: `Property "${idProperty}" does not exist`}])
    }
    if (!def.hasUniqueValue || def.hubspotDefined) {
      throw validationError(
        `Unable to perform update/upsert by non-unique ${TYPE_ID[ts.type]} property ${idProperty} in portal ID ${this.options.portalId}`,
        {context: {propertyName: [idProperty]}},
      )
    }
  }

  valueOf(ts: TypeStore, obj: StoredObject, name: string): string | null | undefined {
    switch (name) {
      case 'hs_object_id':
        return obj.id
      case 'createdate':
        return ISO(obj.createdAtMs)
      case 'hs_merged_object_ids':
        return obj.mergedIds.length ? obj.mergedIds.join(';') : null
      case 'hs_calculated_merged_vids':
        if (ts.type !== 'contacts') break
        return obj.mergedIds.length ? obj.mergedIds.map((id) => `${id}:${obj.updatedAtMs}`).join(';') : null
    }
    if (name === MODIFIED_PROP[ts.type]) return ISO(obj.updatedAtMs)
    if (!ts.props.has(name)) return undefined
    return obj.props.get(name) ?? null
  }

  /** The JSON HubSpot returns for an object. `requested` null/empty means the default set. */
  toJson(ts: TypeStore, obj: StoredObject, requested: string[] | null, withHistory?: string[] | null): Record<string, unknown> {
    // HubSpot adds the id and the two dates to whatever was asked for
    const names = requested && requested.length
      ? [...requested, 'createdate', 'hs_object_id', MODIFIED_PROP[ts.type]]
      : DEFAULT_PROPERTIES[ts.type]
    const properties: Record<string, string | null> = {}
    for (const name of names) {
      const v = this.valueOf(ts, obj, name)
      if (v !== undefined) properties[name] = v
    }
    const out: Record<string, unknown> = {
      id: obj.id,
      properties,
      createdAt: ISO(obj.createdAtMs),
      updatedAt: ISO(obj.updatedAtMs),
      archived: obj.archived,
    }
    if (obj.archived && obj.archivedAtMs !== null) out.archivedAt = ISO(obj.archivedAtMs)
    if (withHistory && withHistory.length) {
      const history: Record<string, unknown[]> = {}
      for (const name of withHistory) {
        const v = this.valueOf(ts, obj, name)
        if (v === undefined) continue
        history[name] = v === null ? [] : [{value: v, timestamp: ISO(obj.updatedAtMs), sourceType: 'API'}]
      }
      out.propertiesWithHistory = history
    }
    return out
  }

  /** Every set property plus the system ones: what write responses carry. */
  writtenJson(ts: TypeStore, obj: StoredObject): Record<string, unknown> {
    const names = ['createdate', 'hs_object_id', MODIFIED_PROP[ts.type], ...obj.props.keys()]
    if (obj.mergedIds.length) names.push('hs_merged_object_ids')
    return this.toJson(ts, obj, names)
  }

  // -------------------------------------------------------------------------------------------
  // Writing
  // -------------------------------------------------------------------------------------------

  /**
   * Validates `properties` for a create (`existing` undefined) or an update, against the store and
   * against values other inputs of the same batch already claimed. Throws the error HubSpot would
   * answer for this input alone.
   */
  plan(
    ts: TypeStore,
    properties: unknown,
    existing: StoredObject | undefined,
    mode: WriteMode,
    claimed?: Map<string, number>,
    inputIndex = 0,
  ): PlannedWrite {
    if (properties === undefined || properties === null) properties = {}
    if (typeof properties !== 'object' || Array.isArray(properties)) {
      throw validationError('Invalid input JSON: "properties" must be an object of property name to string value')
    }
    const problems: PropertyProblem[] = []
    const changes = new Map<string, string | null>()
    for (const [name, raw] of Object.entries(properties as Record<string, unknown>)) {
      const def = ts.props.get(name)
      if (!def) {
        problems.push({name, error: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist`})
        continue
      }
      if (def.readOnlyValue && mode === 'api') {
        problems.push({name, error: 'READ_ONLY_VALUE', message: `"${name}" is a read only property; its value cannot be set.`})
        continue
      }
      const n = normalizeValue(def, raw)
      if (!n.ok) problems.push(n.problem)
      else changes.set(name, n.value)
    }
    if (problems.length) throw propertyValuesError(problems)

    if (ts.type === 'deals') this.checkDealStage(changes, existing, problems, mode)
    if (mode === 'api' && !existing) this.checkRequired(ts, changes, problems)
    if (problems.length) throw propertyValuesError(problems)

    if (mode === 'api' && existing && changes.has('lifecyclestage')) {
      // HubSpot moves lifecyclestage forward only; a backwards write is silently ignored
      const next = changes.get('lifecyclestage')
      const current = existing.props.get('lifecyclestage')
      const rank = (v: string | null | undefined) => (v ? (LIFECYCLE_STAGES as readonly string[]).indexOf(v) : -1)
      if (next && current && rank(next) < rank(current)) changes.delete('lifecyclestage')
    }

    for (const [name, value] of changes) {
      if (value === null || !this.isUniqueProp(ts, name)) continue
      const key = uniqueKey(name, value)
      if (name === 'email' && this.gdprBlocklist.has(key)) {
        throw validationError(`Property values were not valid: ${JSON.stringify([{isValid: false, message: `Email address ${value} was permanently deleted (GDPR) and is blocked`, error: 'INVALID_EMAIL', name}])}`)
      }
      const owner = ts.unique.get(name)?.get(key)
      if (owner !== undefined && owner !== existing?.id) {
        if (name === 'email') throw conflict(`Contact already exists. Existing ID: ${owner}`)
        throw conflict(`A ${TYPE_SINGULAR[ts.type].toLowerCase()} with ${name}=${value} already exists. Existing ID: ${owner}`,
          {propertyName: [name]})
      }
      if (claimed) {
        const claimKey = `${name}\u0000${key}`
        const other = claimed.get(claimKey)
        if (other !== undefined && other !== inputIndex) {
          throw conflict(`Duplicate value for unique property ${name} in this batch: ${value}`, {propertyName: [name]})
        }
        claimed.set(claimKey, inputIndex)
      }
    }
    return {changes}
  }

  private checkDealStage(changes: Map<string, string | null>, existing: StoredObject | undefined, problems: PropertyProblem[], mode: WriteMode): void {
    if (!existing && !changes.get('pipeline') && mode === 'api') changes.set('pipeline', 'default')
    const pipelineId = changes.has('pipeline') ? changes.get('pipeline') : existing?.props.get('pipeline')
    const stage = changes.has('dealstage') ? changes.get('dealstage') : existing?.props.get('dealstage')
    if (!stage || !(changes.has('dealstage') || changes.has('pipeline'))) return
    const pipeline = this.pipelines.find((p) => p.id === pipelineId)
    if (pipeline && !pipeline.stages.some((s) => s.id === stage)) {
      problems.push({name: 'dealstage', error: 'INVALID_OPTION',
        message: `${stage} is not a valid stage of pipeline ${pipeline.id}: [${pipeline.stages.map((s) => s.id).join(', ')}]`})
    }
  }

  private checkRequired(ts: TypeStore, changes: Map<string, string | null>, problems: PropertyProblem[]): void {
    const missing = (name: string) => !changes.get(name)
    if (ts.type === 'deals') {
      for (const name of ['dealname', 'dealstage']) {
        if (missing(name)) problems.push({name, error: 'REQUIRED', message: `Property "${name}" is required when creating a deal`})
      }
    }
    if (ts.type === 'companies' && missing('name') && missing('domain')) {
      problems.push({name: 'name', error: 'REQUIRED', message: 'A company needs a name or a domain'})
    }
    // an engagement sits on the timeline at hs_timestamp: HubSpot refuses one without it
    if (isEngagementType(ts.type) && missing('hs_timestamp')) {
      problems.push({name: 'hs_timestamp', error: 'REQUIRED', message: `Property "hs_timestamp" is required when creating a ${TYPE_SINGULAR[ts.type].toLowerCase()}`})
    }
  }

  isUniqueProp(ts: TypeStore, name: string): boolean {
    if (ts.type === 'contacts' && name === 'email') return true
    const def = ts.props.get(name)
    return !!def && def.hasUniqueValue && !def.hubspotDefined
  }

  private indexUnique(ts: TypeStore, name: string, value: string, id: string): void {
    let m = ts.unique.get(name)
    if (!m) ts.unique.set(name, (m = new Map()))
    m.set(uniqueKey(name, value), id)
  }

  private unindexUnique(ts: TypeStore, obj: StoredObject): void {
    for (const [name, value] of obj.props) {
      if (!this.isUniqueProp(ts, name)) continue
      const m = ts.unique.get(name)
      const key = uniqueKey(name, value)
      if (m?.get(key) === obj.id) m.delete(key)
    }
  }

  create(ts: TypeStore, planned: PlannedWrite, atMs = this.now(), createdAtMs = atMs): StoredObject {
    const obj: StoredObject = {
      id: String(this.nextId++),
      seq: this.nextSeq++,
      props: new Map(),
      createdAtMs,
      updatedAtMs: atMs,
      archived: false,
      archivedAtMs: null,
      mergedIds: [],
    }
    for (const [name, value] of planned.changes) {
      if (value === null) continue
      obj.props.set(name, value)
      if (this.isUniqueProp(ts, name)) this.indexUnique(ts, name, value, obj.id)
    }
    ts.objects.set(obj.id, obj)
    ts.order.push(obj)
    ts.version++
    return obj
  }

  apply(ts: TypeStore, obj: StoredObject, planned: PlannedWrite, atMs = this.now()): void {
    for (const [name, value] of planned.changes) {
      const unique = this.isUniqueProp(ts, name)
      const old = obj.props.get(name)
      if (unique && old !== undefined) {
        const m = ts.unique.get(name)
        if (m?.get(uniqueKey(name, old)) === obj.id) m.delete(uniqueKey(name, old))
      }
      if (value === null) obj.props.delete(name)
      else {
        obj.props.set(name, value)
        if (unique) this.indexUnique(ts, name, value, obj.id)
      }
    }
    // HubSpot bumps the modified date on every accepted write, even one that changes nothing
    obj.updatedAtMs = Math.max(atMs, obj.updatedAtMs)
    ts.version++
  }

  archive(ts: TypeStore, obj: StoredObject): void {
    if (obj.archived) return
    obj.archived = true
    obj.archivedAtMs = this.now()
    // the recycle bin does not hold unique values: a new record may take the e-mail
    this.unindexUnique(ts, obj)
    ts.version++
  }

  purge(ts: TypeStore, obj: StoredObject): void {
    this.unindexUnique(ts, obj)
    ts.objects.delete(obj.id)
    this.dropAssociations(ts.type, obj.id)
    ts.version++
  }

  merge(ts: TypeStore, primaryId: string, mergedId: string): StoredObject {
    const primary = this.resolve(ts, primaryId)
    const merged = this.resolve(ts, mergedId)
    if (!primary || primary.archived) throw notFound(`Object ${primaryId} not found`, {ids: [primaryId]})
    if (!merged || merged.archived) throw notFound(`Object ${mergedId} not found`, {ids: [mergedId]})
    if (primary === merged) throw validationError(`Cannot merge ${TYPE_SINGULAR[ts.type].toLowerCase()} ${primaryId} into itself`)
    const props = new Map(merged.props)
    for (const [k, v] of primary.props) props.set(k, v)
    if (ts.type === 'contacts') {
      const extra = new Set<string>()
      for (const o of [primary, merged]) {
        for (const e of (o.props.get('hs_additional_emails') ?? '').split(';')) if (e) extra.add(e)
      }
      const mergedEmail = merged.props.get('email')
      if (mergedEmail && mergedEmail !== props.get('email')) extra.add(mergedEmail)
      if (extra.size) props.set('hs_additional_emails', [...extra].join(';'))
    }
    for (const [k] of merged.props) {
      // a merged-away unique value is not carried over when the primary has its own
      if (this.isUniqueProp(ts, k) && primary.props.has(k)) props.set(k, primary.props.get(k)!)
    }
    const mergedIds = [...new Set([primary.id, merged.id, ...primary.mergedIds, ...merged.mergedIds])]
    const newId = this.options.mergeMode === 'new-id' && ts.type !== 'deals'
    this.unindexUnique(ts, primary)
    this.unindexUnique(ts, merged)
    let survivor: StoredObject
    if (newId) {
      ts.objects.delete(primary.id)
      ts.objects.delete(merged.id)
      survivor = this.create(ts, {changes: props}, this.now(), primary.createdAtMs)
      survivor.mergedIds = mergedIds
      ts.aliases.set(primary.id, survivor.id)
      ts.aliases.set(merged.id, survivor.id)
      this.moveAssociations(ts.type, primary.id, survivor.id)
      this.moveAssociations(ts.type, merged.id, survivor.id)
    } else {
      ts.objects.delete(merged.id)
      survivor = primary
      survivor.props = new Map()
      for (const [k, v] of props) survivor.props.set(k, v)
      for (const [k, v] of props) if (this.isUniqueProp(ts, k)) this.indexUnique(ts, k, v, survivor.id)
      survivor.mergedIds = mergedIds.filter((id) => id !== primary.id)
      survivor.updatedAtMs = Math.max(this.now(), survivor.updatedAtMs)
      ts.aliases.set(merged.id, survivor.id)
      this.moveAssociations(ts.type, merged.id, survivor.id)
    }
    ts.version++
    return survivor
  }

  // -------------------------------------------------------------------------------------------
  // Listing
  // -------------------------------------------------------------------------------------------

  list(ts: TypeStore, limit: number, afterSeq: number, archived: boolean): {objects: StoredObject[]; nextSeq: number | null} {
    let lo = 0
    let hi = ts.order.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (ts.order[mid]!.seq <= afterSeq) lo = mid + 1
      else hi = mid
    }
    const objects: StoredObject[] = []
    for (let i = lo; i < ts.order.length; i++) {
      const o = ts.order[i]!
      if (ts.objects.get(o.id) !== o || o.archived !== archived) continue
      if (objects.length === limit) return {objects, nextSeq: objects[objects.length - 1]!.seq}
      objects.push(o)
    }
    return {objects, nextSeq: null}
  }

  // -------------------------------------------------------------------------------------------
  // Associations
  // -------------------------------------------------------------------------------------------

  private edge(fromType: ObjectTypeName, fromId: string, toType: ObjectTypeName, toId: string, create: boolean): Set<number> | undefined {
    const key = `${fromType}:${fromId}`
    let m = this.assoc.get(key)
    if (!m) {
      if (!create) return undefined
      this.assoc.set(key, (m = new Map()))
    }
    const toKey = `${toType}:${toId}`
    let s = m.get(toKey)
    if (!s && create) m.set(toKey, (s = new Set()))
    return s
  }

  /** Adds one association type (and its inverse); a primary also implies the unlabelled one. */
  associate(def: AssociationTypeDef, fromId: string, toId: string): void {
    if (def.primary) {
      // the non-company side holds at most one primary company: setting a new one demotes the old
      const companySide = def.to === 'companies' ? {type: def.from, id: fromId, primary: def.typeId}
        : {type: def.to, id: toId, primary: def.inverse}
      const m = this.assoc.get(`${companySide.type}:${companySide.id}`)
      if (m) {
        for (const [toKey, set] of m) {
          if (!toKey.startsWith('companies:') || !set.has(companySide.primary)) continue
          set.delete(companySide.primary)
          const inv = associationType(companySide.type, 'companies', companySide.primary)!.inverse
          this.edge('companies', toKey.slice('companies:'.length), companySide.type, companySide.id, false)?.delete(inv)
        }
      }
      const plain = associationTypesBetween(def.from, def.to).find((t) => !t.primary)!
      this.associate(plain, fromId, toId)
    }
    this.edge(def.from, fromId, def.to, toId, true)!.add(def.typeId)
    this.edge(def.to, toId, def.from, fromId, true)!.add(def.inverse)
  }

  /** Removes every association between two records, both directions. */
  dissociate(fromType: ObjectTypeName, fromId: string, toType: ObjectTypeName, toId: string): void {
    this.assoc.get(`${fromType}:${fromId}`)?.delete(`${toType}:${toId}`)
    this.assoc.get(`${toType}:${toId}`)?.delete(`${fromType}:${fromId}`)
  }

  /** Live associated records of `toType`, with the type ids seen from `fromId`. */
  associationsOf(fromType: ObjectTypeName, fromId: string, toType: ObjectTypeName): Array<{toId: string; typeIds: number[]}> {
    const m = this.assoc.get(`${fromType}:${fromId}`)
    if (!m) return []
    const prefix = `${toType}:`
    const out: Array<{toId: string; typeIds: number[]}> = []
    const ts = this.types[toType]
    for (const [toKey, set] of m) {
      if (!toKey.startsWith(prefix) || set.size === 0) continue
      const toId = toKey.slice(prefix.length)
      const target = ts.objects.get(toId)
      if (!target || target.archived) continue
      out.push({toId, typeIds: [...set].sort((a, b) => a - b)})
    }
    out.sort((a, b) => Number(a.toId) - Number(b.toId))
    return out
  }

  private dropAssociations(type: ObjectTypeName, id: string): void {
    const key = `${type}:${id}`
    const m = this.assoc.get(key)
    if (!m) return
    for (const toKey of m.keys()) this.assoc.get(toKey)?.delete(key)
    this.assoc.delete(key)
  }

  private moveAssociations(type: ObjectTypeName, oldId: string, newId: string): void {
    const oldKey = `${type}:${oldId}`
    const m = this.assoc.get(oldKey)
    if (!m) return
    const newKey = `${type}:${newId}`
    for (const [toKey, set] of m) {
      const [toType, toId] = toKey.split(':') as [ObjectTypeName, string]
      const target = this.edge(type, newId, toType, toId, true)!
      for (const t of set) target.add(t)
      const back = this.assoc.get(toKey)
      const backSet = back?.get(oldKey)
      if (back && backSet) {
        back.delete(oldKey)
        let dest = back.get(newKey)
        if (!dest) back.set(newKey, (dest = new Set()))
        for (const t of backSet) dest.add(t)
      }
    }
    this.assoc.delete(oldKey)
  }

  // -------------------------------------------------------------------------------------------
  // Property definitions
  // -------------------------------------------------------------------------------------------

  createProperty(ts: TypeStore, body: Record<string, unknown>): PropertyDef {
    const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined)
    const name = str('name')
    const problems: string[] = []
    if (!name || !/^[a-z][a-z0-9_]*$/.test(name)) problems.push('name must be lower-case letters, digits and underscores')
    if (!str('label')) problems.push('label is required')
    const type = str('type')
    if (!type || !PROPERTY_TYPES.includes(type)) problems.push(`type must be one of ${PROPERTY_TYPES.join(', ')}`)
    const fieldType = str('fieldType')
    if (!fieldType || !FIELD_TYPES.includes(fieldType)) problems.push(`fieldType must be one of ${FIELD_TYPES.join(', ')}`)
    const groupName = str('groupName')
    if (!groupName) problems.push('groupName is required')
    else if (!ts.groups.has(groupName)) problems.push(`group ${groupName} does not exist`)
    let options: PropertyOption[] = []
    if (body.options !== undefined) {
      if (!Array.isArray(body.options)) problems.push('options must be an array')
      else {
        options = (body.options as Array<Record<string, unknown>>).map((o, i) => ({
          label: String(o?.label ?? ''),
          value: String(o?.value ?? ''),
          displayOrder: typeof o?.displayOrder === 'number' ? o.displayOrder : i,
          hidden: o?.hidden === true,
          description: typeof o?.description === 'string' ? o.description : '',
        }))
        if (options.some((o) => o.value === '' || o.label === '')) problems.push('every option needs a label and a value')
      }
    }
    if (type === 'enumeration' && options.length === 0 && fieldType !== 'booleancheckbox') problems.push('enumeration properties need options')
    if (type === 'bool' && options.length === 0) options = [{label: 'Yes', value: 'true', displayOrder: 0, hidden: false}, {label: 'No', value: 'false', displayOrder: 1, hidden: false}]
    if (problems.length) {
      throw validationError(`Invalid property definition: ${problems.join('; ')}`, {
        errors: problems.map((message) => ({message, code: 'INVALID_PROPERTY_DEFINITION'})),
      })
    }
    if (ts.props.has(name!)) throw conflict(`Property named '${name}' already exists.`, {name: [name!]})
    const hasUniqueValue = body.hasUniqueValue === true
    if (hasUniqueValue) {
      const count = [...ts.props.values()].filter((p) => p.hasUniqueValue && !p.hubspotDefined).length
      if (count >= MAX_UNIQUE_CUSTOM) {
        throw validationError(`Cannot create property ${name}: ${TYPE_ID[ts.type]} already has the maximum of ${MAX_UNIQUE_CUSTOM} unique value properties`,
          {subCategory: 'PropertyValidationError.TOO_MANY_UNIQUE_VALUE_PROPERTIES'})
      }
    }
    const now = this.now()
    const def: PropertyDef = {
      name: name!,
      label: str('label')!,
      type: type as PropertyType,
      fieldType: fieldType!,
      groupName: groupName!,
      description: str('description') ?? '',
      options,
      displayOrder: typeof body.displayOrder === 'number' ? body.displayOrder : -1,
      hasUniqueValue,
      readOnlyValue: false,
      calculated: false,
      hubspotDefined: false,
      hidden: body.hidden === true,
      formField: body.formField === true,
      externalOptions: false,
      createdAtMs: now,
      updatedAtMs: now,
    }
    ts.props.set(def.name, def)
    ts.version++
    return def
  }

  propertyJson(def: PropertyDef): Record<string, unknown> {
    return {
      name: def.name,
      label: def.label,
      type: def.type,
      fieldType: def.fieldType,
      description: def.description,
      groupName: def.groupName,
      options: def.options.map((o) => ({label: o.label, value: o.value, displayOrder: o.displayOrder, hidden: o.hidden, description: o.description ?? ''})),
      displayOrder: def.displayOrder,
      calculated: def.calculated,
      externalOptions: def.externalOptions,
      hasUniqueValue: def.hasUniqueValue,
      hidden: def.hidden,
      hubspotDefined: def.hubspotDefined,
      modificationMetadata: {archivable: !def.hubspotDefined, readOnlyDefinition: def.hubspotDefined, readOnlyValue: def.readOnlyValue},
      formField: def.formField,
      createdAt: ISO(def.createdAtMs),
      updatedAt: ISO(def.updatedAtMs),
      archived: false,
    }
  }

  createGroup(ts: TypeStore, body: Record<string, unknown>): PropertyGroupDef {
    const name = typeof body.name === 'string' ? body.name : ''
    const label = typeof body.label === 'string' ? body.label : ''
    if (!/^[a-z][a-z0-9_]*$/.test(name) || !label) throw validationError('A property group needs a lower-case name and a label')
    if (ts.groups.has(name)) throw conflict(`Property group named '${name}' already exists.`)
    const group = {name, label, displayOrder: typeof body.displayOrder === 'number' ? body.displayOrder : -1}
    ts.groups.set(name, group)
    return group
  }

  /** Keeps the deal stage and pipeline enumerations in step with the pipelines. */
  refreshPipelineOptions(): void {
    const deals = this.types.deals.props
    const stage = deals.get('dealstage')
    const pipeline = deals.get('pipeline')
    if (stage) stage.options = dealStageOptions(this.pipelines)
    if (pipeline) pipeline.options = this.pipelines.map((p, i) => ({label: p.label, value: p.id, displayOrder: i, hidden: false}))
  }

  static isObjectType(value: string): value is ObjectTypeName {
    return (OBJECT_TYPES as readonly string[]).includes(value)
  }
}

export {EmuError}
