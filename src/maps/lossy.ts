/**
 * What does not come back unchanged after coreBOS → HubSpot → coreBOS (or the reverse). Everything
 * else that the default maps copy both ways round-trips, compared in normalizeCrmValue /
 * normalizeHubSpotValue form (the property tests check exactly this list). Text for the README.
 */
export const LOSSY_CONVERSIONS: ReadonlyArray<{conversion: string; loss: string}> = [
  {conversion: 'empty values', loss: "NULL and '' are the same empty value on both sides; an unset HubSpot checkbox becomes '0' in coreBOS."},
  {conversion: 'numbers', loss: "formatting is not kept: '1500.000000' and '1500' are the same number; exponent notation (1.5E7) is written out. A value with more decimals than the coreBOS column is rounded to the column's scale (with a warning); one too large for the column is refused."},
  {conversion: 'sales_stage ↔ dealstage', loss: "several coreBOS stages share one HubSpot stage (Qualification and Needs Analysis → qualifiedtobuy; Id. Decision Makers and Perception Analysis → decisionmakerboughtin; Proposal/Price Quote and Negotiation/Review → contractsent). A stage changed in HubSpot comes back as the first coreBOS stage of its group; an unchanged one keeps the coreBOS stage the record already has."},
  {conversion: 'leadstatus ↔ hs_lead_status', loss: 'likewise: Warm, Hot and Pre Qualified → IN_PROGRESS (back as Pre Qualified); Junk Lead and Lost Lead → UNQUALIFIED (back as Junk Lead).'},
  {conversion: 'datetime → HubSpot date property', loss: 'the time of day is dropped (the calendar day in the install time zone is kept).'},
  {conversion: 'HubSpot datetime → coreBOS date', loss: "the time of day is dropped. Midnight UTC (what cbhs writes for a coreBOS date, e.g. closingdate → closedate) comes back as that same day in every time zone; any other instant (set by a person in HubSpot) becomes its calendar day in the install's time zone."},
  {conversion: 'HubSpot datetime → coreBOS datetime', loss: 'milliseconds are dropped (coreBOS stores seconds). In the repeated hour when clocks go back, coreBOS cannot tell the two instants apart: both are read back as the first.'},
  {conversion: 'coreBOS datetime in a daylight-saving gap', loss: "a local time that does not exist (02:30 on the spring-forward night) is read as the time after the gap (03:30), with a warning."},
  {conversion: "'0000-00-00' dates", loss: 'old coreBOS rows with zero dates are sent as empty, with a warning.'},
  {conversion: 'multipicklists ↔ multi-select properties', loss: "entries are trimmed, empty and duplicate entries dropped; an entry containing ';' cannot be represented in HubSpot."},
  {conversion: 'picklists ↔ enumerations', loss: "options are matched case-insensitively by value, then label, and written as the receiving side spells them ('banking' → BANKING → Banking)."},
  {conversion: 'checkboxes', loss: "coreBOS values other than '1'/'0' (on, yes, true) are normalised to '1'/'0'."},
  {conversion: 'text stored into coreBOS', loss: "longer than the column: truncated; 4-byte characters (emoji) on utf8mb3 tables: replaced by U+FFFD; NUL characters: removed. Each with a warning naming the field. HubSpot text over 65,536 characters is truncated the same way."},
  {conversion: 'composite fields', loss: 'a destination built from several Orgfields, a delimiter, CONST or TEMPLATE is one-way: the reverse map cannot split it back.'},
]
