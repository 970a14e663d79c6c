#!/usr/bin/env node
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
// The command has finished (the emulator command returns only once stopped): a socket that a hung
// HubSpot request left open must not keep a cron job alive.
process.exit()
