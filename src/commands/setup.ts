import {Flags} from '@oclif/core'
import {resolve} from 'node:path'
import {CbhsCommand, PACKAGE_ROOT} from '../base-command.js'
import {openDatabase, openHubSpot} from '../context.js'
import {classifyDbError, type DbUse} from '../corebos/connection.js'
import {DbPassLock, lockNameFor} from '../corebos/lock.js'
import {forgetModuleMeta} from '../corebos/metadata.js'
import {readLegacySettings} from '../corebos/settings.js'
import {setupCoreBos} from '../corebos/setup.js'
import {ensureSyncProperties, syncedObjectTypes} from '../hubspot/setup.js'
import {renderTable} from '../output/table.js'
import {HUBSPOT_ANALYTICS_SOURCES, MARKETING_FIELDS} from '../maps/marketing.js'
import {registerMarketingMaps} from '../maps/marketing-files.js'
import type {HubSpotGateway} from '../hubspot/gateway.js'

/** The portal's Original Source options (HubSpot adds some over the years); the known ones if it has none. */
async function portalSources(gateway: HubSpotGateway): Promise<ReadonlyArray<{value: string; label: string}>> {
  const source = (await gateway.getProperties('contacts')).find((p) => p.name === 'hs_analytics_source')
  return source?.options?.length ? source.options : HUBSPOT_ANALYTICS_SOURCES
}

export interface SetupResult {
  dryRun: boolean
  corebos: Array<{kind: string; target: string; detail: string}>
  suggestions: Array<{kind: string; target: string; detail: string}>
  hubspot: Array<{objectType: string; kind: string; name: string; description: string; applied: boolean}> | null
  legacy: {found: boolean; linkedRecords: Record<string, number>; suggestedCronMinutes: number | null}
}

export default class Setup extends CbhsCommand<typeof Setup> {
  static override description = `prepare coreBOS and HubSpot for syncing (idempotent)

coreBOS: creates the cbhs_* state tables and installs the seven HubSpot control fields on Accounts, Contacts, Leads and Potentials (block LBL_HUBSPOT_INFORMATION), as vtlib installs fields; columns left by the legacy integration are adopted with their data. HubSpot: a "coreBOS" property group and the unique property corebos_crmid on contacts, companies and deals. --marketing also installs the HubSpot Marketing block on Contacts and Leads (read-only fields for HubSpot's original source, page views, visits, conversions, e-mail opens and clicks, lifecycle stage) and maps them in HubSpot2Contacts and HubSpot2Leads. Never drops anything; run it again after an upgrade. --dry-run lists what it would change.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --dry-run',
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --corebos-dir /var/www/corebos --add-index',
    '<%= config.bin %> <%= command.id %> --marketing',
  ]

  static override flags = {
    'add-index': Flags.boolean({description: 'also add an index for incremental scans on modifiedtime (a schema change on a core table)'}),
    'dry-run': Flags.boolean({description: 'list what would change and change nothing'}),
    'skip-hubspot': Flags.boolean({description: 'prepare only the coreBOS side'}),
    marketing: Flags.boolean({description: 'also install the HubSpot Marketing fields on Contacts and Leads and map them in the pull maps'}),
  }

  async run(): Promise<SetupResult> {
    const config = this.loadConfig()
    const dryRun = this.flags['dry-run']
    // setup --dry-run only reads; setup also creates tables, columns and indexes (exit 3 naming the GRANT when it may not)
    const use: DbUse = {command: dryRun ? 'setup --dry-run' : 'setup', purpose: dryRun ? 'read' : 'setup'}
    const db = await openDatabase(config, use)
    use.account = db.account
    const lock = new DbPassLock(db.pool)
    try {
      const lockName = lockNameFor(db.settings.database)
      if (!dryRun && !(await lock.acquire(lockName))) {
        process.stderr.write('cbhs setup: a cbhs pass is running; setup waits for the next quiet moment. Nothing done.\n')
        return {dryRun, corebos: [], suggestions: [], hubspot: null, legacy: {found: false, linkedRecords: {}, suggestedCronMinutes: null}}
      }
      const useHubSpot = !this.flags['skip-hubspot'] && Boolean(config.hubspot.accessToken)
      const marketing = this.flags.marketing ? {sourceOptions: useHubSpot ? await portalSources(openHubSpot(config, (line) => this.debugLine(line))) : HUBSPOT_ANALYTICS_SOURCES} : undefined
      const corebos = await setupCoreBos(db.pool, {dryRun, database: db.settings.database, addModifiedTimeIndex: this.flags['add-index'], optIn: config.sync.optIn, marketing})
      if (marketing) {
        if (config.maps.source === 'files' && resolve(config.maps.dir) === resolve(PACKAGE_ROOT, 'maps')) {
          // the bundled maps belong to the package: an upgrade would replace them, edits included
          this.note(`maps.dir is cbhs's bundled maps, which setup does not edit: copy ${resolve(config.maps.dir)} to a folder of yours, set CBHS_MAPS_DIR (maps.dir) to it and run \`cbhs setup --marketing\` again to map the HubSpot Marketing fields.`)
        } else if (config.maps.source === 'files') {
          for (const r of registerMarketingMaps(config.maps.dir, dryRun)) corebos.changes.push({kind: 'add-map-field', target: r.file, detail: r.added.join(', ')})
        } else {
          this.note(`maps.source is database: add the HubSpot Marketing fields to HubSpot2Contacts and HubSpot2Leads in coreBOS (${MARKETING_FIELDS.map((f) => `${f.name} ← ${f.property}`).join(', ')}).`)
        }
      }
      forgetModuleMeta(db.pool)
      for (const warning of corebos.warnings) this.note(warning)
      const legacy = await readLegacySettings(db.pool)
      for (const warning of legacy.warnings ?? []) this.note(warning)
      if (legacy.hasLegacyApiKey && !legacy.hasOAuthTokens) {
        this.note('The legacy integration used a HubSpot API key (hapikey); HubSpot retired those in 2022. Create a private app or service key and set HUBSPOT_ACCESS_TOKEN.')
      }

      let hubspot: SetupResult['hubspot'] = null
      if (this.flags['skip-hubspot']) {
        this.note('HubSpot side skipped (--skip-hubspot).')
      } else if (!config.hubspot.accessToken) {
        this.note('HubSpot side skipped: no HUBSPOT_ACCESS_TOKEN. Set it and run `cbhs setup` again.')
      } else {
        const gateway = openHubSpot(config, (line) => this.debugLine(line))
        hubspot = await ensureSyncProperties(gateway, {propertyName: config.hubspot.uniqueProperty, groupName: config.hubspot.propertyGroup, dryRun, objectTypes: syncedObjectTypes(config.sync.activities)})
      }

      const result: SetupResult = {
        dryRun,
        corebos: corebos.changes,
        suggestions: corebos.suggestions,
        hubspot,
        legacy: {
          found: legacy.found,
          linkedRecords: corebos.legacyLinkedRecords as Record<string, number>,
          suggestedCronMinutes: legacy.pollFrequencySeconds ? Math.max(1, Math.round(legacy.pollFrequencySeconds / 60)) : null,
        },
      }
      this.print(renderSetup(result))
      return result
    } catch (error) {
      throw classifyDbError(error, db.settings, use)
    } finally {
      await lock.releaseAll().catch(() => undefined)
      await db.close().catch(() => undefined)
    }
  }
}

function renderSetup(result: SetupResult): string {
  const out: string[] = []
  const verb = result.dryRun ? 'would change' : 'changed'
  const rows = [
    ...result.corebos.map((c) => ['coreBOS', c.kind, c.target, c.detail]),
    ...(result.hubspot ?? []).map((c) => ['HubSpot', c.kind, `${c.objectType}.${c.name}`, c.description]),
  ]
  if (rows.length === 0) out.push(`Setup ${verb} nothing: coreBOS${result.hubspot ? ' and HubSpot are' : ' is'} already set up.`)
  else {
    out.push(`Setup ${verb} ${rows.length} thing(s)${result.dryRun ? ' (dry run)' : ''}:`)
    out.push(renderTable(['side', 'kind', 'target', 'detail'], rows))
  }
  for (const s of result.suggestions) out.push(`Suggestion: ${s.detail} (${s.target}); run \`cbhs setup --add-index\` to apply.`)
  const linked = Object.entries(result.legacy.linkedRecords).filter(([, n]) => n > 0)
  if (linked.length > 0) {
    out.push(`Legacy HubSpot links kept: ${linked.map(([m, n]) => `${m} ${n}`).join(', ')}; the first push verifies each one.`)
  }
  if (result.legacy.suggestedCronMinutes) {
    out.push(`The legacy integration polled every ${result.legacy.suggestedCronMinutes} min: a matching cron line is */${result.legacy.suggestedCronMinutes} * * * * cbhs sync`)
  }
  return out.join('\n')
}
