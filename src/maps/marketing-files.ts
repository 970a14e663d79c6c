/** `setup --marketing` registers the marketing fields in the pull maps of a maps directory. */
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {MapError} from '../errors.js'
import {MARKETING_MODULES, withMarketingFields} from './marketing.js'
import {mapName} from './names.js'
import {parseMapXml} from './parse.js'

export interface MapRegistration {
  file: string
  added: string[]
}

export function registerMarketingMaps(dir: string, dryRun: boolean): MapRegistration[] {
  const out: MapRegistration[] = []
  for (const module of MARKETING_MODULES) {
    const file = join(dir, `${mapName(module, 'pull')}.xml`)
    if (!existsSync(file)) continue
    const xml = readFileSync(file, 'utf8')
    const parsed = parseMapXml(xml, {file})
    if (!parsed.map) throw new MapError('MAP_INVALID', `${file} cannot be read as a map; the marketing fields were not added to it.`)
    const next = withMarketingFields(xml, new Set(parsed.map.fields.map((f) => f.target)))
    if (next.added.length === 0) continue
    if (!dryRun) writeFileSync(file, next.xml)
    out.push({file, added: next.added})
  }
  return out
}
