/** The in-memory kit: ports, clock, engine builder and the three passes. */
export {TestClock} from './clock.js'
export {MemoryCrm, type CrmWrite} from './crm.js'
export {MemoryHubSpot, type HubSpotWrite, type MemoryHubSpotOptions} from './hubspot.js'
export {MemoryState} from './state.js'
export {buildMemoryEngine, type MemoryEngineOptions, type MemoryKit} from './engine.js'
export {runPull, runPush, runReconcile} from './passes.js'
export {writesOf, type Writes} from './writes.js'
