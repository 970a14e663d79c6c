/**
 * How each engagement type corresponds to its coreBOS activity, field by field, in both
 * directions, with the value conversions (install-timezone DATETIMEs ↔ instants, statuses,
 * priorities). Each shape is also offered as a ModuleMapper, so activity pairs settle in the same
 * three-way merge as every other pair (settle.ts).
 */
import type {MappedValues, ModuleMapper} from './engine.js'
import {ACTIVITY_TYPE, asModuleKey, asObjectType, type ActivityModule, type EngagementType} from './activity-types.js'
import {epochMsToNaive, naiveToEpochMs} from './time.js'
import {OWNER_FIELD, OWNER_PROPERTY, type OwnerLookup} from '../maps/owners.js'
import type {CrmRecord, HubSpotObject} from './types.js'

type Values = Record<string, string | null>

interface PushRule {
  property: string
  sources: string[]
  value: (fields: Values, tz: string) => string | null
}

interface PullRule {
  field: string
  sources: string[]
  value: (properties: Values, tz: string) => string | null
}

export interface ActivityShape {
  type: EngagementType
  module: ActivityModule
  /** false for logged e-mails: HubSpot's e-mail is the record, the comment its copy */
  canPush: boolean
  push: PushRule[]
  pull: PullRule[]
  /** sent only when the engagement is created (a note's timeline moment is its comment's creation) */
  createOnlyPush: PushRule[]
  /** written only when the activity is created in coreBOS */
  createOnlyPull: PullRule[]
  datetimeProperties: ReadonlySet<string>
  numberProperties: ReadonlySet<string>
  datetimeFields: ReadonlySet<string>
}

const text = (v: string | null | undefined): string | null => (v === undefined || v === null || v === '' ? null : v)

/** An instant as HubSpot gives it (ISO or epoch ms) → epoch ms; null when empty or not a time. */
export function instantMs(value: string | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
  return Number.isFinite(ms) ? ms : null
}

function toInstant(naive: string | null | undefined, tz: string): string | null {
  if (!naive || naive.startsWith('0000')) return null
  try {
    return new Date(naiveToEpochMs(naive, tz)).toISOString()
  } catch {
    return null
  }
}

function toNaive(instant: string | null | undefined, tz: string): string | null {
  const ms = instantMs(instant)
  return ms === null ? null : epochMsToNaive(ms, tz)
}

function mapped(table: Record<string, string>, fallback: string | null = null) {
  return (v: string | null | undefined): string | null => (v ? (table[v] ?? fallback) : null)
}

// coreBOS eventstatus ↔ each engagement's status; the reverse of a lossy pair is settled by the snapshot
const CALL_STATUS = mapped({Planned: 'QUEUED', Held: 'COMPLETED', 'Not Held': 'NO_ANSWER', Completed: 'COMPLETED'})
const CALL_EVENT = mapped({COMPLETED: 'Held', NO_ANSWER: 'Not Held', BUSY: 'Not Held', FAILED: 'Not Held', CANCELED: 'Not Held', QUEUED: 'Planned', RINGING: 'Planned', CONNECTING: 'Planned', IN_PROGRESS: 'Planned', CALLING_CRM_USER: 'Planned'})
const MEETING_OUTCOME = mapped({Planned: 'SCHEDULED', Held: 'COMPLETED', 'Not Held': 'CANCELED', Completed: 'COMPLETED'})
const MEETING_EVENT = mapped({SCHEDULED: 'Planned', RESCHEDULED: 'Planned', COMPLETED: 'Held', NO_SHOW: 'Not Held', CANCELED: 'Not Held'})
const TASK_STATUS = mapped({'Not Started': 'NOT_STARTED', 'In Progress': 'IN_PROGRESS', 'Pending Input': 'WAITING', Completed: 'COMPLETED', Deferred: 'DEFERRED', Planned: 'NOT_STARTED', Held: 'COMPLETED', 'Not Held': 'DEFERRED'})
const TASK_EVENT = mapped({NOT_STARTED: 'Not Started', IN_PROGRESS: 'In Progress', WAITING: 'Pending Input', COMPLETED: 'Completed', DEFERRED: 'Deferred'})
const PRIORITY = mapped({High: 'HIGH', Medium: 'MEDIUM', Low: 'LOW'})
const TASK_PRIORITY = mapped({HIGH: 'High', MEDIUM: 'Medium', LOW: 'Low'})

const EMAIL_LABEL: Record<string, string> = {INCOMING_EMAIL: 'E-mail received', FORWARDED_EMAIL: 'E-mail forwarded', EMAIL: 'E-mail'}

function shape(type: EngagementType, module: ActivityModule, rules: Partial<ActivityShape>): ActivityShape {
  return {
    type,
    module,
    canPush: true,
    push: [],
    pull: [],
    createOnlyPush: [],
    createOnlyPull: [],
    datetimeProperties: new Set(['hs_timestamp']),
    numberProperties: new Set(),
    datetimeFields: new Set(['dtstart', 'dtend', 'createdtime']),
    ...rules,
  }
}

const same = (field: string) => ({sources: [field], value: (f: Values) => text(f[field])})

export const SHAPES: Readonly<Record<EngagementType, ActivityShape>> = {
  notes: shape('notes', 'ModComments', {
    push: [{property: 'hs_note_body', ...same('commentcontent')}],
    pull: [{field: 'commentcontent', ...same('hs_note_body')}],
    createOnlyPush: [{property: 'hs_timestamp', sources: ['createdtime'], value: (f, tz) => toInstant(f.createdtime, tz)}],
  }),
  emails: shape('emails', 'ModComments', {
    canPush: false,
    pull: [
      {
        field: 'commentcontent',
        sources: ['hs_email_subject', 'hs_email_text', 'hs_email_direction'],
        value: (p) => {
          const label = EMAIL_LABEL[p.hs_email_direction ?? ''] ?? 'E-mail'
          return `${label}: ${p.hs_email_subject ?? ''}${p.hs_email_text ? `\n\n${p.hs_email_text}` : ''}`
        },
      },
    ],
  }),
  calls: shape('calls', 'cbCalendar', {
    numberProperties: new Set(['hs_call_duration']),
    push: [
      {property: 'hs_call_title', ...same('subject')},
      {property: 'hs_call_body', ...same('description')},
      {property: 'hs_timestamp', sources: ['dtstart'], value: (f, tz) => toInstant(f.dtstart, tz)},
      {
        property: 'hs_call_duration',
        sources: ['dtstart', 'dtend'],
        value: (f, tz) => {
          const start = instantMs(toInstant(f.dtstart, tz))
          const end = instantMs(toInstant(f.dtend, tz))
          return start !== null && end !== null && end >= start ? String(end - start) : null
        },
      },
      {property: 'hs_call_status', sources: ['eventstatus'], value: (f) => CALL_STATUS(f.eventstatus)},
    ],
    pull: [
      {field: 'subject', ...same('hs_call_title')},
      {field: 'description', ...same('hs_call_body')},
      {field: 'dtstart', sources: ['hs_timestamp'], value: (p, tz) => toNaive(p.hs_timestamp, tz)},
      {
        field: 'dtend',
        sources: ['hs_timestamp', 'hs_call_duration'],
        value: (p, tz) => {
          const start = instantMs(p.hs_timestamp)
          return start === null ? null : epochMsToNaive(start + (Number(p.hs_call_duration) || 0), tz)
        },
      },
      {field: 'eventstatus', sources: ['hs_call_status'], value: (p) => CALL_EVENT(p.hs_call_status)},
    ],
  }),
  meetings: shape('meetings', 'cbCalendar', {
    datetimeProperties: new Set(['hs_timestamp', 'hs_meeting_start_time', 'hs_meeting_end_time']),
    push: [
      {property: 'hs_meeting_title', ...same('subject')},
      {property: 'hs_meeting_body', ...same('description')},
      {property: 'hs_meeting_start_time', sources: ['dtstart'], value: (f, tz) => toInstant(f.dtstart, tz)},
      {property: 'hs_meeting_end_time', sources: ['dtend'], value: (f, tz) => toInstant(f.dtend, tz)},
      {property: 'hs_timestamp', sources: ['dtstart'], value: (f, tz) => toInstant(f.dtstart, tz)},
      {property: 'hs_meeting_location', ...same('location')},
      {property: 'hs_meeting_outcome', sources: ['eventstatus'], value: (f) => MEETING_OUTCOME(f.eventstatus)},
    ],
    pull: [
      {field: 'subject', ...same('hs_meeting_title')},
      {field: 'description', ...same('hs_meeting_body')},
      {field: 'dtstart', sources: ['hs_meeting_start_time', 'hs_timestamp'], value: (p, tz) => toNaive(p.hs_meeting_start_time ?? p.hs_timestamp, tz)},
      {field: 'dtend', sources: ['hs_meeting_end_time', 'hs_meeting_start_time', 'hs_timestamp'], value: (p, tz) => toNaive(p.hs_meeting_end_time ?? p.hs_meeting_start_time ?? p.hs_timestamp, tz)},
      {field: 'location', ...same('hs_meeting_location')},
      {field: 'eventstatus', sources: ['hs_meeting_outcome'], value: (p) => MEETING_EVENT(p.hs_meeting_outcome)},
    ],
  }),
  tasks: shape('tasks', 'cbCalendar', {
    push: [
      {property: 'hs_task_subject', ...same('subject')},
      {property: 'hs_task_body', ...same('description')},
      // a task sits on the timeline at its due date, which coreBOS keeps in dtend ("Due Date")
      {property: 'hs_timestamp', sources: ['dtend'], value: (f, tz) => toInstant(f.dtend, tz)},
      {property: 'hs_task_status', sources: ['eventstatus'], value: (f) => TASK_STATUS(f.eventstatus)},
      {property: 'hs_task_priority', sources: ['taskpriority'], value: (f) => PRIORITY(f.taskpriority) ?? (f.taskpriority === null || f.taskpriority === '' ? 'NONE' : null)},
    ],
    pull: [
      {field: 'subject', ...same('hs_task_subject')},
      {field: 'description', ...same('hs_task_body')},
      {field: 'dtend', sources: ['hs_timestamp'], value: (p, tz) => toNaive(p.hs_timestamp, tz)},
      {field: 'eventstatus', sources: ['hs_task_status'], value: (p) => TASK_EVENT(p.hs_task_status)},
      {field: 'taskpriority', sources: ['hs_task_priority'], value: (p) => TASK_PRIORITY(p.hs_task_priority)},
    ],
    createOnlyPull: [{field: 'dtstart', sources: ['hs_timestamp'], value: (p, tz) => toNaive(p.hs_timestamp, tz)}],
  }),
}

/** The engagement type of a coreBOS activity: a comment is a note; a calendar activity by its type. */
export function engagementOf(module: ActivityModule, activitytype: string | null | undefined): EngagementType | null {
  if (module === 'ModComments') return 'notes'
  for (const [type, name] of Object.entries(ACTIVITY_TYPE)) if (name === activitytype) return type as EngagementType
  return null
}

/**
 * Every HubSpot property a shape reads or writes. The owner is read always: a mapper given the
 * pass's owner lookup pairs it with the activity's coreBOS owner.
 */
export function shapeProperties(s: ActivityShape): string[] {
  return [...new Set([...s.push.map((r) => r.property), ...s.createOnlyPush.map((r) => r.property), ...s.pull.flatMap((r) => r.sources), ...s.createOnlyPull.flatMap((r) => r.sources), OWNER_PROPERTY])]
}

/** vtiger_activity's varchar lengths (subject 255, location 150); the other text columns are TEXT. */
const COLUMN_LENGTH: Readonly<Record<string, number>> = {subject: 255, location: 150}

/**
 * What the utf8mb3 coreBOS columns can hold: characters outside the Basic Multilingual Plane
 * (emoji) become U+FFFD, a value longer than its column is cut; each said in a warning that starts
 * with the field (settle.ts reports it once, when the value travels). The snapshot keeps each
 * side's own form, so the difference is never read back as an edit.
 */
function storable(field: string, value: string, warnings: string[]): string {
  let text = value
  const astral = text.match(/[\u{10000}-\u{10FFFF}]/gu)
  if (astral) {
    text = text.replace(/[\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    warnings.push(`${field}: ${astral.length} character(s) outside the Basic Multilingual Plane (emoji…) replaced by U+FFFD: the column is utf8mb3`)
  }
  const max = COLUMN_LENGTH[field]
  if (max !== undefined && [...text].length > max) {
    text = [...text].slice(0, max).join('')
    warnings.push(`${field}: cut to ${max} characters (the column's length)`)
  }
  return text
}

function sameText(a: string | null | undefined, b: string | null | undefined): boolean {
  return (a ?? '').trim() === (b ?? '').trim()
}

/**
 * The shape as a ModuleMapper for settle.ts; its `module` and `objectType` are the activity's own.
 * Given the pass's owner lookup, it also pairs the activity's owner (assigned_user_id, smownerid)
 * with hubspot_owner_id the way a record map's owner entry does (maps/owners.ts): a user ↔ the
 * owner with its e-mail; a group or unmatched user travels as no owner, an unmatched owner as the
 * default user, each with a warning; HubSpot's empty owner keeps the coreBOS one.
 */
export function shapeMapper(s: ActivityShape, timezone: string, owners?: OwnerLookup): ModuleMapper {
  const ownerPush = Boolean(owners) && s.canPush
  const pushSources = new Map<string, string[]>(s.push.map((r) => [r.property, r.sources]))
  if (ownerPush) pushSources.set(OWNER_PROPERTY, [OWNER_FIELD])
  const pullSources = new Map<string, string[]>(s.pull.map((r) => [r.field, r.sources]))
  if (owners) pullSources.set(OWNER_FIELD, [OWNER_PROPERTY])
  const crmKeys = [...new Set([...s.pull.map((r) => r.field), ...s.push.flatMap((r) => r.sources), ...(owners ? [OWNER_FIELD] : [])])]
  const hsKeys = shapeProperties(s)
  const sameHubSpotValue = (property: string, a: string | null | undefined, b: string | null | undefined): boolean => {
    if (s.datetimeProperties.has(property)) return instantMs(a) === instantMs(b)
    if (s.numberProperties.has(property)) return (a ?? '') === (b ?? '') || (a !== null && b !== null && a !== undefined && b !== undefined && Number(a) === Number(b))
    return sameText(a, b)
  }
  const sameCrmValue = (field: string, a: string | null | undefined, b: string | null | undefined): boolean => {
    if (s.datetimeFields.has(field)) return (a ?? '').slice(0, 19) === (b ?? '').slice(0, 19)
    return sameText(a, b)
  }
  return {
    module: asModuleKey(s.module),
    objectType: asObjectType(s.type),
    canPush: s.canPush,
    canPull: true,
    pullProperties: hsKeys,
    pushProperties: [...pushSources.keys()],
    pullFields: [...pullSources.keys()],
    createOnly: new Set(s.createOnlyPush.map((r) => r.property)),
    pushSources,
    pullSources,
    crmKeys,
    hsKeys,
    toHubSpot(record: CrmRecord): MappedValues<Record<string, string>> {
      const values: Record<string, string> = {}
      for (const r of s.push) {
        const v = r.value(record.fields, timezone)
        if (v !== null) values[r.property] = v
        // an emptied text travels as empty; a time or status that cannot be converted stays as it is
        else if (r.sources.length === 1 && !s.datetimeFields.has(r.sources[0]) && !r.property.endsWith('_status') && !r.property.endsWith('_outcome')) values[r.property] = ''
      }
      const warnings: string[] = []
      if (owners && ownerPush) {
        const owner = owners.toHubSpot(record.fields[OWNER_FIELD] ?? '')
        values[OWNER_PROPERTY] = owner.value
        if (owner.warning) warnings.push(`${OWNER_PROPERTY}: ${owner.warning}`)
      }
      return {values, errors: [], warnings}
    },
    toCrm(object: HubSpotObject, current?: Values): MappedValues<Values> {
      const values: Values = {}
      const warnings: string[] = []
      for (const r of s.pull) {
        const v = r.value(object.properties, timezone)
        if (v !== null || !s.datetimeFields.has(r.field)) values[r.field] = v ?? (r.field === 'eventstatus' || r.field === 'taskpriority' ? null : '')
        if (typeof values[r.field] === 'string') values[r.field] = storable(r.field, values[r.field]!, warnings)
      }
      for (const k of Object.keys(values)) if (values[k] === null && (k === 'eventstatus' || k === 'taskpriority')) delete values[k]
      if (owners) {
        const ownerId = object.properties[OWNER_PROPERTY] ?? ''
        const kept = current?.[OWNER_FIELD]
        if (ownerId === '' && kept) values[OWNER_FIELD] = kept
        else {
          const owner = owners.toCoreBos(ownerId)
          values[OWNER_FIELD] = owner.value
          if (owner.warning) warnings.push(`${OWNER_FIELD}: ${owner.warning}`)
        }
      }
      return {values, errors: [], warnings}
    },
    sameHubSpotValue,
    sameCrmValue,
  }
}
