/**
 * The crmid a full pull writes back into the objects it created coreBOS records for (the unique
 * property that makes them "carriers", archived.ts). It is sent beside the listing, one batch at a
 * time, instead of inside each page: the page's records, links and bookmark do not wait on it.
 *
 * What it is for stays: a rerun finds the counterpart by the link or the record's hubspotid (both
 * written before this), and by the end of a completed listing every write-back has been answered,
 * so the archived check meets the same carriers as before. A pass killed first leaves some objects
 * without the property: the archived check finds them as linked but unseen, reads them live and
 * writes it then (archived.ts), and any later settlement of the pair writes it too (settle.ts).
 */
import type {HubSpotPort} from './ports.js'
import type {HubSpotObjectType} from './types.js'

/** HubSpot's batch update takes 100 inputs */
const BATCH = 100

export class CarrierWrites {
  private readonly queue: Array<{id: string; crmid: number}> = []
  private sending: Promise<void> | null = null
  private failure: {error: unknown} | null = null

  constructor(
    private readonly hubspot: HubSpotPort,
    private readonly type: HubSpotObjectType,
    private readonly property: string,
  ) {}

  /** Queues write-backs; a full batch leaves at once when none is on the way. A failed send stops the caller here. */
  add(items: Array<{id: string; crmid: number}>): void {
    if (this.failure) throw this.failure.error
    this.queue.push(...items)
    this.pump()
  }

  /** Sends what is left and waits for every answer; throws the first failure. */
  async drain(): Promise<void> {
    while (this.sending || this.queue.length > 0) {
      if (this.sending) await this.sending
      else await this.send(this.queue.splice(0, BATCH))
    }
    if (this.failure) throw this.failure.error
  }

  private pump(): void {
    if (this.sending || this.failure || this.queue.length < BATCH) return
    this.sending = this.send(this.queue.splice(0, BATCH)).finally(() => {
      this.sending = null
      this.pump()
    })
  }

  private async send(items: Array<{id: string; crmid: number}>): Promise<void> {
    if (this.failure) return
    try {
      // an object that refuses the write (archived or merged away meanwhile) is met by the next pass
      await this.hubspot.update(this.type, items.map((c) => ({id: c.id, properties: {[this.property]: String(c.crmid)}})))
    } catch (error) {
      this.failure ??= {error}
    }
  }
}
