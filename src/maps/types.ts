/** The typed model of a coreBOS Business Map of type "Mapping" (reference/corebos.md §5). */

/**
 * How one `<Orgfield>` contributes to a value:
 * - field: a plain source field name (no OrgfieldID, or a numeric/informational one)
 * - const: OrgfieldName literally (OrgfieldID CONST)
 * - field-template: OrgfieldID FIELD, rendered as the template `$name`
 * - template: OrgfieldID TEMPLATE, free text with `$field` placeholders
 * - expression / rule: need coreBOS's PHP engines; parsed so validation can report them
 */
export type PieceKind = 'field' | 'const' | 'expression' | 'field-template' | 'template' | 'rule'

export interface MapPiece {
  kind: PieceKind
  /** OrgfieldName: trimmed for field names, verbatim for CONST and TEMPLATE text */
  value: string
  /** `<Rule>` of a RULE piece */
  rule?: string
  /** `<postProcess>` function name, applied to the accumulated value after this piece */
  postProcess?: string
  /** the raw OrgfieldID, when one was given */
  id?: string
  /** line of the `<Orgfield>` start tag */
  line: number
}

export interface MappedField {
  /** `<fieldname>`: the destination key */
  target: string
  /** line of the `<field>` start tag */
  line: number
  pieces: MapPiece[]
  /** appended after every piece; '' when absent */
  delimiter: string
  master?: boolean
}

export interface FieldMap {
  /** the map's name: the file name without `.xml`, or vtiger_cbmap.mapname */
  name: string
  /** `<originname>`: a coreBOS module, or 'HubSpot' */
  origin: string
  /** `<targetname>` */
  target: string
  fields: MappedField[]
  /** where it came from, for messages */
  file?: string
  /** lines of `<map>`, `<originname>` and `<targetname>`, for messages */
  lines?: {map?: number; origin?: number; target?: number}
}

export interface MapIssue {
  severity: 'error' | 'warning'
  /** stable SCREAMING_SNAKE code */
  code: string
  message: string
  file?: string
  /** the map's name, when known */
  map?: string
  line?: number
  column?: number
}
