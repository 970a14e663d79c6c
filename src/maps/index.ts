/** Business Map XML: parse, validate, apply, convert. */
export * from './types.js'
export {parseMapXml, mapNameOf, type MapSource, type ParseResult} from './parse.js'
export {decodeCbMapContent, decodeHtmlEntities} from './entities.js'
export {loadMapsFromDir, loadMapsFromDb, hasErrors, type LoadedMaps} from './load.js'
export {applyMap, mapSources, sourcesByTarget, directCopies, trimTrailingDelimiter, type ApplyResult, type Origin} from './apply.js'
export * from './convert.js'
export * from './stages.js'
export * from './owners.js'
export * from './marketing.js'
export {LOSSY_CONVERSIONS} from './lossy.js'
export * from './names.js'
export {
  validateMaps,
  validateMapsOnline,
  validateParsedMaps,
  checkMap,
  checkMapOnline,
  compatibility,
  effectiveFields,
  roleOfMap,
  SAFE_NAME,
  type MapInput,
  type ValidateOptions,
  type OnlineSchemas,
  type CrmModuleLike,
} from './validate.js'
export {isValidTimezone} from './time.js'
export {HUBSPOT_DEFAULT_PROPERTIES, HUBSPOT_DEFAULT_PIPELINE} from './hubspot-defaults.js'
