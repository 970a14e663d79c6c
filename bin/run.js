#!/usr/bin/env node
import {execute} from '@oclif/core'

// `cbhs status | head`: the reader has what it wanted; a closed pipe is no error of ours
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error
    process.exit()
  })
}

await execute({dir: import.meta.url})
// The command has finished (the emulator command returns only once stopped): a socket that a hung
// HubSpot request left open must not keep a cron job alive. But a pipe read slowly (`| jq`, `| mail`)
// still holds part of the output in our buffers: exit only once stdout and stderr have drained, or a
// large --json document arrives cut.
const drained = (stream) => new Promise((resolve) => (stream.writableLength === 0 && !stream.writableNeedDrain ? resolve() : stream.write('', () => resolve())))
await Promise.all([drained(process.stdout), drained(process.stderr)])
process.exit()
