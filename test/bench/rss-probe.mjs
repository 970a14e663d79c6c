// Preloaded into `node bin/run.js …` by the bench (node --import): on exit, writes the process's
// peak RSS (KiB) to $BENCH_RSS_FILE, so the real binary is measured without changing it.
import {writeFileSync} from 'node:fs'

const file = process.env.BENCH_RSS_FILE
if (file) {
  process.on('exit', () => {
    try {
      writeFileSync(file, String(process.resourceUsage().maxRSS))
    } catch {
      // a failed probe must not change the command's exit
    }
  })
}
