/**
 * coreBOS comments and calendar activities in memory, behind the CrmActivities port: keyset reads by
 * (modifiedtime, crmid) with trashed rows, parents that must be live records of the memory CRM,
 * and the link of a create saved with it (the real adapter's one transaction).
 */
import type {ActivityCreate, ActivityModule, ActivityParent, ActivityWriteResult, CrmActivities, CrmActivity} from '../../../src/sync/activity-types.js'
import {asModuleKey, asObjectType, isActivityModule} from '../../../src/sync/activity-types.js'
import type {RecordUpdate} from '../../../src/sync/ports.js'
import type {CrmCursor, CrmModule} from '../../../src/sync/types.js'
import type {MemoryCrm} from './crm.js'
import type {MemoryState} from './state.js'

/** an activity as the adapter stores it */
type Row = CrmActivity

export class MemoryActivities implements CrmActivities {
  private readonly rows = new Map<number, Row>()
  private nextId = 500_000
  /** creates, updates and trashes the engine made */
  writes = 0
  /** runs once, just before the engine's next update is applied: a user's save racing the pass */
  beforeNextUpdate: ((crmid: number) => void) | null = null

  constructor(
    private readonly crm: MemoryCrm,
    private readonly state: MemoryState,
  ) {
    state.activities = this
  }

  /** whether an activity module's row is trashed or purged; undefined for the other modules */
  isGone(module: CrmModule, crmid: number): boolean | undefined {
    if (!isActivityModule(module)) return undefined
    const r = this.rows.get(crmid)
    return !r || r.module !== module || r.deleted
  }

  private view(r: Row): CrmActivity {
    const parents = r.parents.filter((p) => {
      const rec = this.crm.get(p.module, p.crmid)
      return rec !== undefined && !rec.deleted
    })
    return {module: r.module, crmid: r.crmid, modifiedtime: r.modifiedtime, deleted: r.deleted, fields: {...r.fields}, parents: parents.map((p) => ({...p}))}
  }

  async *readChanged(module: ActivityModule, since: CrmCursor | null, pageSize: number): AsyncIterable<CrmActivity[]> {
    const all = [...this.rows.values()]
      .filter((r) => r.module === module && (!since || r.modifiedtime > since.modifiedtime || (r.modifiedtime === since.modifiedtime && r.crmid >= since.crmid)))
      .sort((a, b) => (a.modifiedtime < b.modifiedtime ? -1 : a.modifiedtime > b.modifiedtime ? 1 : a.crmid - b.crmid))
    for (let i = 0; i < all.length; i += pageSize) yield all.slice(i, i + pageSize).map((r) => this.view(r))
  }

  async readByIds(module: ActivityModule, crmids: number[]): Promise<CrmActivity[]> {
    return crmids.flatMap((id) => {
      const r = this.rows.get(id)
      return r && r.module === module ? [this.view(r)] : []
    })
  }

  async create(module: ActivityModule, inputs: ActivityCreate[], _userId: number): Promise<ActivityWriteResult[]> {
    const out: ActivityWriteResult[] = []
    for (const input of inputs) {
      const taken = await this.state.getLinksByHubSpotIds(asObjectType(input.hubspot.type), [input.hubspot.id])
      if (taken.size > 0) {
        out.push({crmid: 0, ok: false, error: `HubSpot ${input.hubspot.type} ${input.hubspot.id} is already linked to another coreBOS record`})
        continue
      }
      const crmid = this.nextId++
      const now = this.crm.naiveNow()
      this.rows.set(crmid, {module, crmid, modifiedtime: now, deleted: false, fields: {createdtime: now, assigned_user_id: '1', ...input.fields}, parents: [...input.parents]})
      await this.state.saveLinks([{module: asModuleKey(module), crmid, objectType: asObjectType(input.hubspot.type), hubspotId: input.hubspot.id, snapshot: input.snapshot, associations: input.associations, archived: false, syncedAt: new Date().toISOString()}])
      this.writes++
      out.push({crmid, ok: true})
    }
    return out
  }

  async update(module: ActivityModule, crmid: number, fields: Record<string, string | null>, parents: ActivityParent[] | null, _userId: number, expected?: RecordUpdate['expected']): Promise<ActivityWriteResult> {
    const hook = this.beforeNextUpdate
    this.beforeNextUpdate = null
    hook?.(crmid)
    const r = this.rows.get(crmid)
    if (!r || r.module !== module) return {crmid, ok: false, error: `no ${module} ${crmid}`}
    // compare-and-set, as the adapter: an activity saved since it was read is left alone
    if (expected && r.modifiedtime !== expected.modifiedtime) {
      return {crmid, ok: false, stale: true, error: `${module} ${crmid} changed in coreBOS since it was read (modifiedtime ${r.modifiedtime}, read ${expected.modifiedtime})`}
    }
    const changed = Object.entries(expected?.fields ?? {}).find(([f, v]) => f in r.fields && (r.fields[f] ?? null) !== v)
    if (changed) return {crmid, ok: false, stale: true, error: `${module} ${crmid} changed in coreBOS since it was read (${changed[0]} is no longer what was read)`}
    Object.assign(r.fields, fields)
    if (parents) r.parents = [...parents]
    r.modifiedtime = this.crm.naiveNow()
    this.writes++
    return {crmid, ok: true}
  }

  async trash(module: ActivityModule, crmid: number, _userId: number): Promise<void> {
    const r = this.rows.get(crmid)
    if (!r || r.module !== module || r.deleted) return
    r.deleted = true
    r.modifiedtime = this.crm.naiveNow()
    this.writes++
  }

  // what users do in coreBOS (not counted as engine writes)

  add(module: ActivityModule, fields: Record<string, string | null>, parents: ActivityParent[]): number {
    const crmid = this.nextId++
    const now = this.crm.naiveNow()
    this.rows.set(crmid, {module, crmid, modifiedtime: now, deleted: false, fields: {createdtime: now, assigned_user_id: '1', ...fields}, parents})
    return crmid
  }

  edit(crmid: number, fields: Record<string, string | null>): void {
    const r = this.rows.get(crmid)!
    Object.assign(r.fields, fields)
    r.modifiedtime = this.crm.naiveNow()
  }

  /** A user relating the activity to other records (the calendar's contacts list, Related To). */
  relate(crmid: number, parents: ActivityParent[]): void {
    const r = this.rows.get(crmid)!
    r.parents = [...parents]
    r.modifiedtime = this.crm.naiveNow()
  }

  trashByUser(crmid: number): void {
    const r = this.rows.get(crmid)!
    r.deleted = true
    r.modifiedtime = this.crm.naiveNow()
  }

  /** The recycle bin emptied: the row is gone, and its modifiedtime with it. */
  purgeByUser(crmid: number): void {
    this.rows.delete(crmid)
  }

  get(crmid: number): CrmActivity | undefined {
    const r = this.rows.get(crmid)
    return r ? this.view(r) : undefined
  }

  all(module: ActivityModule): CrmActivity[] {
    return [...this.rows.values()].filter((r) => r.module === module).map((r) => this.view(r))
  }
}
