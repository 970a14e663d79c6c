/**
 * How `map:validate` shows issues: one issue per line, compiler style, because CI logs are read
 * with grep and editors jump to `file:line:col`; or GitHub Actions workflow commands, which turn
 * each issue into an annotation on the pull request.
 */
import type {MapIssue} from '../maps/index.js'

export type IssueFormat = 'text' | 'github'

/** `file:line:col`, as far as it is known. */
export function issueLocation(issue: MapIssue): string {
  let where = issue.file ?? issue.map ?? ''
  if (issue.line !== undefined) {
    where += `:${issue.line}`
    if (issue.column !== undefined) where += `:${issue.column}`
  }
  return where
}

/** `maps/Contacts2HubSpot.xml:12:5: error UNKNOWN_CRM_FIELD source 'x' is not a field …` */
export function formatIssueLine(issue: MapIssue): string {
  const where = issueLocation(issue)
  return `${where ? `${where}: ` : ''}${issue.severity} ${issue.code} ${oneLine(issue.message)}`
}

/** `::error file=…,line=…,col=…,title=CODE::message` (GitHub's escaping rules for properties and data). */
export function formatGithubAnnotation(issue: MapIssue): string {
  const props: string[] = []
  if (issue.file) props.push(`file=${escapeProperty(issue.file)}`)
  if (issue.line !== undefined) props.push(`line=${issue.line}`)
  if (issue.column !== undefined) props.push(`col=${issue.column}`)
  props.push(`title=${escapeProperty(`${issue.code}${issue.map ? ` (${issue.map})` : ''}`)}`)
  return `::${issue.severity} ${props.join(',')}::${escapeData(issue.message)}`
}

export function formatIssues(issues: MapIssue[], format: IssueFormat): string[] {
  return issues.map((i) => (format === 'github' ? formatGithubAnnotation(i) : formatIssueLine(i)))
}

/**
 * Issues in reading order: sources in the order they were given, then by line and column; the
 * issues of a whole set (missing maps) after that set's files.
 */
export function sortIssues(issues: MapIssue[], sourceOrder: string[]): MapIssue[] {
  const rank = new Map(sourceOrder.map((s, i) => [s, i]))
  const rankOf = (i: MapIssue) => rank.get(i.file ?? '') ?? sourceOrder.length
  return issues
    .map((issue, index) => ({issue, index}))
    .sort(
      (a, b) =>
        rankOf(a.issue) - rankOf(b.issue) ||
        (a.issue.line ?? Number.MAX_SAFE_INTEGER) - (b.issue.line ?? Number.MAX_SAFE_INTEGER) ||
        (a.issue.column ?? 0) - (b.issue.column ?? 0) ||
        a.index - b.index,
    )
    .map((x) => x.issue)
}

export function summaryLine(summary: {maps: number; errors: number; warnings: number; online: boolean; strict: boolean; valid: boolean}): string {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`
  const scope = summary.online ? 'offline and online checks' : 'offline checks; add --online to check against coreBOS and HubSpot'
  const verdict = summary.valid ? 'valid' : summary.errors > 0 ? 'INVALID' : 'INVALID (--strict: warnings fail)'
  return `${count(summary.maps, 'map')} checked: ${count(summary.errors, 'error')}, ${count(summary.warnings, 'warning')}, ${verdict} (${scope}).`
}

function oneLine(text: string): string {
  return text.replace(/\r?\n/g, ' ')
}

function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C')
}
