/** Reading the maps cbhs runs with: from a directory of XML files, or from vtiger_cbmap rows. */
import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {decodeCbMapContent} from './entities.js'
import type {FieldMap, MapIssue} from './types.js'
import {validateParsedMaps, type MapInput, type ValidateOptions} from './validate.js'

export interface LoadedMaps {
  /** the maps that parsed (an invalid one is still here when it parsed; check `issues` for errors) */
  maps: FieldMap[]
  /** every parse and offline-validation issue */
  issues: MapIssue[]
}

/** True when any issue is an error: the caller refuses to sync (exit 3). */
export function hasErrors(issues: MapIssue[]): boolean {
  return issues.some((i) => i.severity === 'error')
}

/** Loads every `*.xml` of a directory (sorted by name), with offline validation. */
export async function loadMapsFromDir(dir: string, options: ValidateOptions = {}): Promise<LoadedMaps> {
  const names = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith('.xml')).sort()
  const inputs: MapInput[] = []
  for (const name of names) inputs.push({file: join(dir, name), xml: await readFile(join(dir, name), 'utf8')})
  return validateParsedMaps(inputs, options)
}

/**
 * Loads maps from vtiger_cbmap rows (the query, `deleted = 0` and the GlobalVariable override are
 * the caller's). Content is entity-decoded as coreBOS does; issues name `vtiger_cbmap:<mapname>`.
 */
export function loadMapsFromDb(rows: Array<{mapname: string; content: string | null}>, options: ValidateOptions = {}): LoadedMaps {
  const inputs = rows.map((row) => ({file: `vtiger_cbmap:${row.mapname}`, mapName: row.mapname, xml: decodeCbMapContent(row.content ?? '')}))
  return validateParsedMaps(inputs, options)
}
