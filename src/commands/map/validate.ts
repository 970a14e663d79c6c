import {readdir, readFile, stat} from 'node:fs/promises'
import {dirname, isAbsolute, join, relative, resolve} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {CbhsCommand} from '../../base-command.js'
import {openDatabase, openHubSpot, type Database} from '../../context.js'
import {readCbMaps} from '../../corebos/maps.js'
import {EXIT, UsageError} from '../../errors.js'
import {commonFlags} from '../../flags.js'
import type {HubSpotGateway} from '../../hubspot/gateway.js'
import {
  DEFAULT_MAP_NAMES,
  decodeCbMapContent,
  mapNameOf,
  roleOfMap,
  roleOfMapName,
  validateMapsOnline,
  validateParsedMaps,
  type CrmModuleLike,
  type FieldMap,
  type MapInput,
  type MapIssue,
  type OnlineSchemas,
} from '../../maps/index.js'
import {formatIssues, sortIssues, summaryLine, type IssueFormat} from '../../output/map-issues.js'
import type {PropertyDefinition} from '../../sync/ports.js'
import type {CrmModule, HubSpotObjectType} from '../../sync/types.js'

export interface ValidatedMap {
  /** the name cbhs looks the map up by (file name without .xml, or vtiger_cbmap.mapname) */
  name: string
  /** the file, or vtiger_cbmap:<mapname> */
  file: string
  /** null when the XML could not be read as a map */
  origin: string | null
  target: string | null
  /** the module and direction cbhs uses the map for; null for names cbhs does not use */
  module: CrmModule | null
  direction: 'push' | 'pull' | null
  fields: number
  errors: number
  warnings: number
}

export interface MapValidateResult {
  /** false when any issue is an error (with --strict: any issue at all) */
  valid: boolean
  errors: number
  warnings: number
  source: 'files' | 'database'
  online: boolean
  issues: MapIssue[]
  maps: ValidatedMap[]
}

/**
 * The maps validated together: one folder (its duplicates and its missing maps are checked), the
 * files given from one folder, or the maps stored in vtiger_cbmap.
 */
interface MapSet {
  /** the folder as given, or 'vtiger_cbmap'; issues about the whole set (missing maps) name it */
  label: string
  inputs: MapInput[]
  /** a whole folder or the database must hold all eight maps; hand-picked files need not */
  requireAll: boolean
  /** paths that could not be read, found before parsing */
  issues: MapIssue[]
}

export default class MapValidate extends CbhsCommand<typeof MapValidate> {
  static override description = `check Business Maps and report every issue at once

Offline by default, so CI can run it with no database and no network: well-formed XML (line and column), the Mapping grammar, names and direction (file name and content agree), duplicate targets, what cbhs cannot run (EXPRESSION, RULE, relation templates), what creations need, and, for a folder, which of the eight maps are missing. PATH is a map file or a folder of them (default: the configured maps folder). --source database checks the maps stored in coreBOS (vtiger_cbmap) instead. --online also checks against the live schemas: coreBOS fields exist and are active (vtiger_field), HubSpot properties exist and are writable, types convert, and this install's mandatory fields are filled.

One issue per line, file:line:col first; --format github turns them into pull-request annotations. Exits 3 when any issue is an error (with --strict, also on warnings), else 0.`

  static override examples = [
    {description: 'Check the configured maps folder (the maps shipped with cbhs unless CBHS_MAPS_DIR says otherwise)', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Check a project maps folder in CI, failing on warnings too', command: '<%= config.bin %> <%= command.id %> maps/ --strict'},
    {description: 'Check one draft map; GitHub Actions shows each issue on the pull request', command: '<%= config.bin %> <%= command.id %> maps/Contacts2HubSpot.xml --format github'},
    {description: 'Check the maps against this coreBOS and this HubSpot portal', command: '<%= config.bin %> <%= command.id %> maps/ --online'},
    {description: 'Check the maps stored in coreBOS, machine-readable', command: '<%= config.bin %> <%= command.id %> --source database --json'},
  ]

  static override strict = false

  static override args = {
    path: Args.string({description: 'map files or folders of maps (several allowed; default: the configured maps folder)'}),
  }

  static override flags = {
    source: Flags.string({
      description: 'where the maps come from: files (PATH or the maps folder) or database (vtiger_cbmap); default: maps.source of the configuration',
      options: ['files', 'database'],
    }),
    online: Flags.boolean({description: 'also check against the live coreBOS fields and HubSpot properties (needs the database and HUBSPOT_ACCESS_TOKEN)'}),
    strict: Flags.boolean({description: 'warnings fail too (exit 3)'}),
    format: Flags.string({
      description: 'text: one issue per line (file:line:col: severity CODE message); github: GitHub Actions annotations',
      options: ['text', 'github'],
      default: 'text',
    }),
  }

  async run(): Promise<MapValidateResult> {
    // variadic PATHs: the base command keeps only the first positional argument
    const {argv} = await this.parse({
      args: MapValidate.args,
      baseFlags: commonFlags,
      enableJsonFlag: true,
      flags: MapValidate.flags,
      strict: false,
    })
    const paths = (argv as string[]).filter((a) => a !== '')
    const online = Boolean(this.flags.online)
    const strict = Boolean(this.flags.strict)
    const format = this.flags.format as IssueFormat
    const needsConfig = paths.length === 0 || this.flags.source === 'database' || online
    const config = needsConfig ? this.loadConfig() : undefined
    const source = (this.flags.source ?? (paths.length > 0 ? 'files' : config!.maps.source)) as 'files' | 'database'
    if (source === 'database' && paths.length > 0) {
      throw new UsageError('PATH and --source database exclude each other: the maps come either from files or from vtiger_cbmap.', 'Drop the paths, or drop --source database.')
    }

    let db: Database | undefined
    let gateway: HubSpotGateway | undefined
    try {
      if (source === 'database' || online) db = await openDatabase(config!)
      const sets = source === 'database' ? [await databaseSet(db!)] : await fileSets(paths.length > 0 ? paths : [displayPath(config!.maps.dir)])
      if (online) gateway = openHubSpot(config!, (line) => this.debugLine(line))

      const issues: MapIssue[] = []
      const maps: ValidatedMap[] = []
      const order: string[] = []
      for (const set of sets) {
        const options = {requireAll: set.requireAll}
        const parsed = validateParsedMaps(set.inputs, options)
        const setIssues = online ? await validateMapsOnline(set.inputs, await prefetchSchemas(parsed.maps, db!, gateway!), options) : parsed.issues
        // missing maps belong to the folder (or vtiger_cbmap) they are missing from
        const located = [...set.issues, ...setIssues].map((i) => (i.file === undefined ? {...i, file: set.label} : i))
        order.push(...set.issues.map((i) => i.file!), ...set.inputs.map((i) => i.file), set.label)
        issues.push(...located)
        maps.push(...set.inputs.map((input) => describeMap(input, parsed.maps, located)))
      }

      const sorted = sortIssues(issues, order)
      const errors = sorted.filter((i) => i.severity === 'error').length
      const warnings = sorted.length - errors
      const valid = errors === 0 && (!strict || warnings === 0)
      const result: MapValidateResult = {valid, errors, warnings, source, online, issues: sorted, maps}
      const lines = formatIssues(sorted, format)
      lines.push(summaryLine({maps: maps.length, errors, warnings, online, strict, valid}))
      this.print(lines.join('\n'), {wrap: false})
      if (!valid) process.exitCode = EXIT.CONFIG
      return result
    } finally {
      gateway?.close()
      await db?.close().catch(() => undefined)
    }
  }
}

/** Groups PATHs into sets: each folder is a set; files given from one folder form one set. */
async function fileSets(paths: string[]): Promise<MapSet[]> {
  const sets = new Map<string, MapSet & {seen: Set<string>}>()
  const setFor = (dir: string, label: string) => {
    const key = resolve(dir)
    let set = sets.get(key)
    if (!set) sets.set(key, (set = {label, inputs: [], requireAll: false, issues: [], seen: new Set()}))
    return set
  }
  const add = async (set: MapSet & {seen: Set<string>}, file: string) => {
    if (set.seen.has(resolve(file))) return
    set.seen.add(resolve(file))
    try {
      set.inputs.push({file, xml: await readFile(file, 'utf8')})
    } catch (error) {
      set.issues.push(unreadable(file, error))
    }
  }

  for (const path of paths) {
    let isDir: boolean
    try {
      isDir = (await stat(path)).isDirectory()
    } catch (error) {
      setFor(dirname(path), dirname(path)).issues.push(unreadable(path, error))
      continue
    }
    if (isDir) {
      const set = setFor(path, path)
      set.requireAll = true
      set.label = path
      const names = (await readdir(path)).filter((n) => n.toLowerCase().endsWith('.xml')).sort()
      if (names.length === 0) {
        set.issues.push({severity: 'error', code: 'NO_MAPS', message: 'this folder holds no *.xml map files', file: path})
      }
      for (const name of names) await add(set, join(path, name))
    } else {
      await add(setFor(dirname(path), dirname(path)), path)
    }
  }
  return [...sets.values()].map(({seen: _seen, ...set}) => set)
}

function unreadable(file: string, error: unknown): MapIssue {
  const code = (error as NodeJS.ErrnoException).code
  const why = code === 'ENOENT' ? 'no such file or folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message
  return {severity: 'error', code: 'MAP_UNREADABLE', message: `cannot read ${file}: ${why}`, file}
}

/** The eight maps as coreBOS stores them (entity-decoded, as coreBOS reads them). */
async function databaseSet(db: Database): Promise<MapSet> {
  const rows = await readCbMaps(db.pool, DEFAULT_MAP_NAMES)
  return {
    label: 'vtiger_cbmap',
    inputs: rows.map((row) => ({file: `vtiger_cbmap:${row.mapname}`, mapName: row.mapname, xml: decodeCbMapContent(row.content ?? '')})),
    requireAll: true,
    issues: [],
  }
}

/**
 * Reads every schema the maps need before validating. validateMapsOnline would turn an unreachable
 * database or HubSpot into a map issue (exit 3); reading first lets those fail as what they are
 * (exit 4, or exit 3 for a refused token's configuration).
 */
async function prefetchSchemas(maps: FieldMap[], db: Database, gateway: HubSpotGateway): Promise<OnlineSchemas> {
  const crm = new Map<CrmModule, CrmModuleLike>()
  const hubspot = new Map<HubSpotObjectType, PropertyDefinition[]>()
  for (const map of maps) {
    const role = roleOfMap(map)
    if (!role) continue
    if (!crm.has(role.module)) crm.set(role.module, await db.records.meta(role.module))
    if (!hubspot.has(role.objectType)) hubspot.set(role.objectType, await gateway.getProperties(role.objectType))
  }
  return {
    crm: (module) => crm.get(module) ?? db.records.meta(module),
    hubspot: (type) => hubspot.get(type) ?? gateway.getProperties(type),
  }
}

function describeMap(input: MapInput, parsed: FieldMap[], issues: MapIssue[]): ValidatedMap {
  const map = parsed.find((m) => m.file === input.file)
  // by name: a map under another name is checked, but cbhs will not run it
  const role = map ? roleOfMapName(map.name) : null
  const own = issues.filter((i) => i.file === input.file)
  const errors = own.filter((i) => i.severity === 'error').length
  return {
    name: map?.name ?? mapNameOf(input),
    file: input.file,
    origin: map?.origin ?? null,
    target: map?.target ?? null,
    module: role?.module ?? null,
    direction: role?.direction ?? null,
    fields: map?.fields.length ?? 0,
    errors,
    warnings: own.length - errors,
  }
}

/** The configured maps folder, relative to the working directory when it lies inside it (shorter CI lines). */
function displayPath(dir: string): string {
  const rel = relative(process.cwd(), dir)
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? dir : rel
}
