/**
 * Picklist correspondences that are not a matter of spelling: coreBOS sales stages ↔ HubSpot deal
 * stage ids, and coreBOS lead statuses ↔ HubSpot hs_lead_status. coreBOS has more values than
 * HubSpot, so coreBOS → HubSpot is many-to-one and every HubSpot value has one canonical coreBOS
 * value, chosen inside its group so that HubSpot → coreBOS → HubSpot always comes back unchanged.
 */
import type {Pipeline, PipelineStage} from '../sync/ports.js'

export interface ValueMapping {
  /** coreBOS value → HubSpot value (keys as coreBOS spells them; looked up case-insensitively) */
  toHubSpot: Record<string, string>
  /** HubSpot value → canonical coreBOS value */
  toCoreBos: Record<string, string>
  /** what could not be matched, for `map:validate --online` and logs */
  warnings: string[]
}

export interface StageMapping extends ValueMapping {
  /** the deal pipeline cbhs writes; `pipeline` is set to it on create when a map does not set it */
  pipelineId: string
  /** that pipeline's stages (ids, labels) */
  stages: PipelineStage[]
}

export const COREBOS_SALES_STAGES = [
  'Prospecting',
  'Qualification',
  'Needs Analysis',
  'Value Proposition',
  'Id. Decision Makers',
  'Perception Analysis',
  'Proposal/Price Quote',
  'Negotiation/Review',
  'Closed Won',
  'Closed Lost',
] as const

/** HubSpot's default pipeline ('default'): id → label. */
export const HUBSPOT_DEFAULT_STAGES: Readonly<Record<string, string>> = {
  appointmentscheduled: 'Appointment Scheduled',
  qualifiedtobuy: 'Qualified To Buy',
  presentationscheduled: 'Presentation Scheduled',
  decisionmakerboughtin: 'Decision Maker Bought-In',
  contractsent: 'Contract Sent',
  closedwon: 'Closed Won',
  closedlost: 'Closed Lost',
}

/**
 * coreBOS sales stage → default HubSpot stage id. Order-preserving: a later coreBOS stage never
 * maps to an earlier HubSpot stage.
 */
export const DEFAULT_STAGE_TO_HUBSPOT: Readonly<Record<string, string>> = {
  Prospecting: 'appointmentscheduled',
  Qualification: 'qualifiedtobuy',
  'Needs Analysis': 'qualifiedtobuy',
  'Value Proposition': 'presentationscheduled',
  'Id. Decision Makers': 'decisionmakerboughtin',
  'Perception Analysis': 'decisionmakerboughtin',
  'Proposal/Price Quote': 'contractsent',
  'Negotiation/Review': 'contractsent',
  'Closed Won': 'closedwon',
  'Closed Lost': 'closedlost',
}

/** Default HubSpot stage id → canonical coreBOS stage: the first coreBOS stage of its group. */
export const DEFAULT_STAGE_TO_COREBOS: Readonly<Record<string, string>> = {
  appointmentscheduled: 'Prospecting',
  qualifiedtobuy: 'Qualification',
  presentationscheduled: 'Value Proposition',
  decisionmakerboughtin: 'Id. Decision Makers',
  contractsent: 'Proposal/Price Quote',
  closedwon: 'Closed Won',
  closedlost: 'Closed Lost',
}

export const COREBOS_LEAD_STATUSES = [
  'Attempted to Contact',
  'Cold',
  'Contact in Future',
  'Contacted',
  'Hot',
  'Junk Lead',
  'Lost Lead',
  'Not Contacted',
  'Pre Qualified',
  'Qualified',
  'Warm',
] as const

export const HUBSPOT_LEAD_STATUSES = ['NEW', 'OPEN', 'IN_PROGRESS', 'OPEN_DEAL', 'UNQUALIFIED', 'ATTEMPTED_TO_CONTACT', 'CONNECTED', 'BAD_TIMING'] as const

export const DEFAULT_LEAD_STATUS_TO_HUBSPOT: Readonly<Record<string, string>> = {
  'Not Contacted': 'NEW',
  Cold: 'OPEN',
  Warm: 'IN_PROGRESS',
  Hot: 'IN_PROGRESS',
  'Pre Qualified': 'IN_PROGRESS',
  'Attempted to Contact': 'ATTEMPTED_TO_CONTACT',
  Contacted: 'CONNECTED',
  'Contact in Future': 'BAD_TIMING',
  Qualified: 'OPEN_DEAL',
  'Junk Lead': 'UNQUALIFIED',
  'Lost Lead': 'UNQUALIFIED',
}

export const DEFAULT_LEAD_STATUS_TO_COREBOS: Readonly<Record<string, string>> = {
  NEW: 'Not Contacted',
  OPEN: 'Cold',
  IN_PROGRESS: 'Pre Qualified',
  ATTEMPTED_TO_CONTACT: 'Attempted to Contact',
  CONNECTED: 'Contacted',
  BAD_TIMING: 'Contact in Future',
  OPEN_DEAL: 'Qualified',
  UNQUALIFIED: 'Junk Lead',
}

const lower = (s: string) => s.trim().toLowerCase()

/** Case-insensitive lookup in a value mapping's table. */
export function lookup(table: Record<string, string>, key: string): string | undefined {
  if (key in table) return table[key]
  const k = lower(key)
  for (const [from, to] of Object.entries(table)) if (lower(from) === k) return to
  return undefined
}

export interface StageOverrides {
  /** the pipeline to use (id or label); default: 'default', else the first pipeline */
  pipelineId?: string
  /** coreBOS stage → HubSpot stage id or label */
  toHubSpot?: Record<string, string>
  /** HubSpot stage id or label → coreBOS stage */
  toCoreBos?: Record<string, string>
}

/**
 * Builds the sales_stage ↔ dealstage correspondence for the configured pipeline. Precedence for
 * each coreBOS stage: override, a pipeline stage with the same label, the default correspondence
 * (by default stage id, or by that default stage's label in a custom pipeline). For each pipeline
 * stage: override, a coreBOS stage with the same label, the default canonical stage, else the
 * first coreBOS stage that maps to it. Anything left unmatched is listed in `warnings`, and
 * converting it fails for that record rather than guessing.
 */
export function buildStageMapping(pipelines: Pipeline[], overrides: StageOverrides = {}): StageMapping {
  const warnings: string[] = []
  const wanted = overrides.pipelineId ?? 'default'
  const pipeline =
    pipelines.find((p) => p.id === wanted) ??
    pipelines.find((p) => lower(p.label) === lower(wanted)) ??
    (overrides.pipelineId === undefined ? pipelines[0] : undefined)
  if (!pipeline) {
    warnings.push(
      overrides.pipelineId === undefined
        ? 'HubSpot has no deal pipeline'
        : `no deal pipeline '${overrides.pipelineId}' in HubSpot (pipelines: ${pipelines.map((p) => `${p.id} "${p.label}"`).join(', ') || 'none'})`,
    )
    return {pipelineId: wanted, stages: [], toHubSpot: {}, toCoreBos: {}, warnings}
  }
  const stages = pipeline.stages
  const stageByRef = (ref: string): PipelineStage | undefined =>
    stages.find((s) => s.id === ref) ?? stages.find((s) => lower(s.label) === lower(ref))
  const stageForDefaultId = (id: string): PipelineStage | undefined =>
    stages.find((s) => s.id === id) ?? stages.find((s) => lower(s.label) === lower(HUBSPOT_DEFAULT_STAGES[id] ?? ''))

  const toHubSpot: Record<string, string> = {}
  const crmStages = [...new Set([...COREBOS_SALES_STAGES, ...Object.keys(overrides.toHubSpot ?? {}), ...Object.values(overrides.toCoreBos ?? {})])]
  for (const crm of crmStages) {
    const override = overrides.toHubSpot ? lookup(overrides.toHubSpot, crm) : undefined
    let stage: PipelineStage | undefined
    if (override !== undefined) {
      stage = stageByRef(override)
      if (!stage) warnings.push(`stage override ${crm} → '${override}': no such stage in pipeline ${pipeline.id}`)
    }
    stage ??= stages.find((s) => lower(s.label) === lower(crm))
    if (!stage && DEFAULT_STAGE_TO_HUBSPOT[crm]) stage = stageForDefaultId(DEFAULT_STAGE_TO_HUBSPOT[crm])
    if (stage) toHubSpot[crm] = stage.id
    else warnings.push(`coreBOS sales stage '${crm}' has no deal stage in pipeline ${pipeline.id}`)
  }

  const toCoreBos: Record<string, string> = {}
  for (const stage of stages) {
    const override = overrides.toCoreBos ? (lookup(overrides.toCoreBos, stage.id) ?? lookup(overrides.toCoreBos, stage.label)) : undefined
    let crm = override
    crm ??= crmStages.find((c) => lower(c) === lower(stage.label))
    if (crm === undefined) {
      const defaultId = DEFAULT_STAGE_TO_COREBOS[stage.id] ? stage.id : Object.keys(HUBSPOT_DEFAULT_STAGES).find((id) => lower(HUBSPOT_DEFAULT_STAGES[id]) === lower(stage.label))
      if (defaultId) crm = DEFAULT_STAGE_TO_COREBOS[defaultId]
    }
    crm ??= crmStages.find((c) => toHubSpot[c] === stage.id)
    if (crm !== undefined) toCoreBos[stage.id] = crm
    else warnings.push(`deal stage ${stage.id} "${stage.label}" has no coreBOS sales stage`)
  }
  return {pipelineId: pipeline.id, stages, toHubSpot, toCoreBos, warnings}
}

/**
 * The leadstatus ↔ hs_lead_status correspondence. `options` are the property's options when known
 * (a portal may have edited them): values are matched by value, then label, then the defaults.
 */
export function buildLeadStatusMapping(
  options?: Array<{label: string; value: string}>,
  overrides: {toHubSpot?: Record<string, string>; toCoreBos?: Record<string, string>} = {},
): ValueMapping {
  const warnings: string[] = []
  const opts = options ?? HUBSPOT_LEAD_STATUSES.map((v) => ({value: v, label: v}))
  const option = (ref: string) => opts.find((o) => o.value === ref) ?? opts.find((o) => lower(o.value) === lower(ref) || lower(o.label) === lower(ref))
  const crmValues = [...new Set([...COREBOS_LEAD_STATUSES, ...Object.keys(overrides.toHubSpot ?? {}), ...Object.values(overrides.toCoreBos ?? {})])]
  const toHubSpot: Record<string, string> = {}
  for (const crm of crmValues) {
    const ref = (overrides.toHubSpot && lookup(overrides.toHubSpot, crm)) ?? crm
    const o = option(ref) ?? (DEFAULT_LEAD_STATUS_TO_HUBSPOT[crm] ? option(DEFAULT_LEAD_STATUS_TO_HUBSPOT[crm]) : undefined)
    if (o) toHubSpot[crm] = o.value
    else warnings.push(`coreBOS lead status '${crm}' has no hs_lead_status option`)
  }
  const toCoreBos: Record<string, string> = {}
  for (const o of opts) {
    const crm =
      (overrides.toCoreBos && (lookup(overrides.toCoreBos, o.value) ?? lookup(overrides.toCoreBos, o.label))) ??
      crmValues.find((c) => lower(c) === lower(o.label) || lower(c) === lower(o.value)) ??
      DEFAULT_LEAD_STATUS_TO_COREBOS[o.value] ??
      crmValues.find((c) => toHubSpot[c] === o.value)
    if (crm !== undefined) toCoreBos[o.value] = crm
    else warnings.push(`hs_lead_status option ${o.value} has no coreBOS lead status`)
  }
  return {toHubSpot, toCoreBos, warnings}
}
