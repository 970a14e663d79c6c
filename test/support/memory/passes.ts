/**
 * The three passes over an engine, called as src/pass.ts calls them. Every kit test goes through
 * these functions, so moving the tests to another pipeline means changing only this file.
 */
import {newReport, type Engine, type PassOptions, type PassReport, type Reporter} from '../../../src/sync/engine.js'
import {newReconcileReport, RECONCILE_ORDER, reconcileType, TYPE_MODULES, type ReconcileReport} from '../../../src/sync/reconcile.js'
import {passContext, PULL_MODULES, PULL_ORDER, PUSH_ORDER, pullObjectType, pushModule, sendCarrierWrites} from '../../../src/sync/streams.js'
import {CRM_MODULES} from '../../../src/sync/types.js'
import {ACTIVITY_PULL_ORDER, ACTIVITY_PUSH_ORDER, pullEngagements, pushActivities} from '../../../src/sync/activities.js'
import {ENGAGEMENTS_OF} from '../../../src/sync/activity-types.js'

const quiet: Reporter = {progress() {}, info() {}, warn() {}}

function passOptions(options: Partial<PassOptions>): PassOptions {
  return {modules: [...CRM_MODULES], full: false, dryRun: false, ...options}
}

export async function runPush(engine: Engine, options: Partial<PassOptions> = {}, reporter: Reporter = quiet): Promise<PassReport> {
  const o = passOptions(options)
  const report = newReport('push', o.dryRun)
  const ctx = passContext(engine, report)
  for (const module of PUSH_ORDER.filter((m) => o.modules.includes(m))) await pushModule(ctx, module, o, report, reporter)
  // the activity streams run after the records, as src/pass.ts adds them (options.activities)
  for (const module of ACTIVITY_PUSH_ORDER.filter((m) => o.activities?.includes(m))) await pushActivities(ctx, module, o, report, reporter)
  return report
}

export async function runPull(engine: Engine, options: Partial<PassOptions> = {}, reporter: Reporter = quiet): Promise<PassReport> {
  const o = passOptions(options)
  const report = newReport('pull', o.dryRun)
  const ctx = passContext(engine, report)
  for (const type of PULL_ORDER.filter((t) => PULL_MODULES[t].modules.some((m) => o.modules.includes(m)))) {
    await pullObjectType(ctx, type, o, report, reporter)
  }
  for (const type of ACTIVITY_PULL_ORDER.filter((t) => o.activities?.some((m) => ENGAGEMENTS_OF[m].includes(t)))) await pullEngagements(ctx, type, o, report, reporter)
  await sendCarrierWrites(ctx, report)
  return report
}

export async function runReconcile(engine: Engine, options: {apply: boolean; modules?: PassOptions['modules']; details?: boolean}): Promise<ReconcileReport> {
  const o = {modules: options.modules ?? [...CRM_MODULES], apply: options.apply, details: options.details ?? true}
  const report = newReconcileReport(o, engine.settings.conflictPolicy)
  for (const type of RECONCILE_ORDER.filter((t) => TYPE_MODULES[t].some((m) => o.modules.includes(m)))) {
    await reconcileType(engine, type, o, report, quiet)
  }
  return report
}
