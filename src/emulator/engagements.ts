/**
 * HubSpot's timeline engagements as CRM objects (notes, calls, meetings, tasks, e-mails): their
 * object type ids, default properties and the HubSpot-defined association types to contacts,
 * companies and deals (reference/hubspot-api.md addendum, "Engagements"). Each requires
 * `hs_timestamp`, the moment it shows at on the timeline.
 */

export type EngagementTypeName = 'notes' | 'calls' | 'meetings' | 'tasks' | 'emails'
export const ENGAGEMENT_TYPES: readonly EngagementTypeName[] = ['notes', 'calls', 'meetings', 'tasks', 'emails']

export const ENGAGEMENT_TYPE_ID: Readonly<Record<EngagementTypeName, string>> = {
  notes: '0-46',
  calls: '0-48',
  meetings: '0-47',
  tasks: '0-27',
  emails: '0-49',
}

export const ENGAGEMENT_SINGULAR: Readonly<Record<EngagementTypeName, string>> = {
  notes: 'NOTE',
  calls: 'CALL',
  meetings: 'MEETING',
  tasks: 'TASK',
  emails: 'EMAIL',
}

/** Property specs in schema.ts's form: [name, label, type, fieldType, options as [value, label] pairs]. */
export type EngagementPropertySpec = [name: string, label: string, type: 'string' | 'number' | 'datetime' | 'enumeration', fieldType: string, options?: Array<[string, string]>]

const pairs = (values: string[]): Array<[string, string]> =>
  values.map((v) => [v, v.toLowerCase().split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ')])

export const ENGAGEMENT_PROPERTIES: Readonly<Record<EngagementTypeName, EngagementPropertySpec[]>> = {
  notes: [['hs_note_body', 'Note body', 'string', 'html']],
  calls: [
    ['hs_call_title', 'Call Title', 'string', 'text'],
    ['hs_call_body', 'Call notes', 'string', 'html'],
    ['hs_call_duration', 'Call duration', 'number', 'number'],
    ['hs_call_direction', 'Call direction', 'enumeration', 'select', [['INBOUND', 'Inbound'], ['OUTBOUND', 'Outbound']]],
    ['hs_call_status', 'Call status', 'enumeration', 'select',
      pairs(['BUSY', 'CALLING_CRM_USER', 'CANCELED', 'COMPLETED', 'CONNECTING', 'FAILED', 'IN_PROGRESS', 'NO_ANSWER', 'QUEUED', 'RINGING'])],
  ],
  meetings: [
    ['hs_meeting_title', 'Meeting name', 'string', 'text'],
    ['hs_meeting_body', 'Meeting description', 'string', 'html'],
    ['hs_meeting_start_time', 'Start Time', 'datetime', 'date'],
    ['hs_meeting_end_time', 'End Time', 'datetime', 'date'],
    ['hs_meeting_location', 'Location', 'string', 'text'],
    ['hs_meeting_outcome', 'Meeting outcome', 'enumeration', 'select', pairs(['SCHEDULED', 'COMPLETED', 'RESCHEDULED', 'NO_SHOW', 'CANCELED'])],
  ],
  tasks: [
    ['hs_task_subject', 'Task Title', 'string', 'text'],
    ['hs_task_body', 'Task notes', 'string', 'html'],
    ['hs_task_status', 'Task Status', 'enumeration', 'select', pairs(['NOT_STARTED', 'IN_PROGRESS', 'WAITING', 'COMPLETED', 'DEFERRED'])],
    ['hs_task_priority', 'Priority', 'enumeration', 'select', pairs(['NONE', 'LOW', 'MEDIUM', 'HIGH'])],
    ['hs_task_type', 'Task Type', 'enumeration', 'select', pairs(['CALL', 'EMAIL', 'TODO'])],
  ],
  emails: [
    ['hs_email_subject', 'Email subject', 'string', 'text'],
    ['hs_email_text', 'Email body', 'string', 'textarea'],
    ['hs_email_direction', 'Email direction', 'enumeration', 'select', [['EMAIL', 'Logged or sent e-mail'], ['INCOMING_EMAIL', 'Incoming e-mail'], ['FORWARDED_EMAIL', 'Forwarded e-mail']]],
    ['hs_email_status', 'Email send status', 'enumeration', 'select', pairs(['BOUNCED', 'FAILED', 'SCHEDULED', 'SENDING', 'SENT'])],
  ],
}

/** HUBSPOT_DEFINED association type ids, engagement → parent and back (HubSpot's association type table). */
export const ENGAGEMENT_ASSOCIATION_IDS: Readonly<Record<EngagementTypeName, {contacts: [number, number]; companies: [number, number]; deals: [number, number]}>> = {
  // [engagement → parent, parent → engagement]
  notes: {contacts: [202, 201], companies: [190, 189], deals: [214, 213]},
  calls: {contacts: [194, 193], companies: [182, 181], deals: [206, 205]},
  meetings: {contacts: [200, 199], companies: [188, 187], deals: [212, 211]},
  tasks: {contacts: [204, 203], companies: [192, 191], deals: [216, 215]},
  emails: {contacts: [198, 197], companies: [186, 185], deals: [210, 209]},
}
