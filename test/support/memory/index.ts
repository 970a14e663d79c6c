/**
 * The in-memory kit: ports, clock, engine builder and the three passes.
 *
 *   const kit = await buildMemoryEngine({conflictPolicy: 'newest', timezone: 'Europe/Madrid'})
 *   const crmid = kit.crm.insert('Contacts', {lastname: 'Doe', email: 'jane@acme.test'})  // a user's save, opted in
 *   kit.clock.advance(7 * 60_000)
 *   const report = await runPush(kit.engine)
 *   kit.hubspot.edit('contacts', id, {phone: '555'})                                    // a HubSpot user's edit
 *   const {total} = await writesOf(kit, () => runPull(kit.engine))                      // what a pass wrote
 *
 * Users' actions (insert, edit, trashByUser, setRaw; create, edit, archiveByUser, merge, associate)
 * are not logged; every write the engine makes through a port is (kit.crm.log, kit.hubspot.log).
 */
export {TestClock} from './clock.js'
export {MemoryCrm, type CrmWrite} from './crm.js'
export {MemoryHubSpot, type HubSpotWrite, type MemoryHubSpotOptions} from './hubspot.js'
export {MemoryState} from './state.js'
export {buildMemoryEngine, type MemoryEngineOptions, type MemoryKit} from './engine.js'
export {runPull, runPush, runReconcile} from './passes.js'
export {writesOf, type Writes} from './writes.js'
