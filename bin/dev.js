#!/usr/bin/env -S node --import tsx
// Runs the TypeScript sources without a build: tsx is loaded by the line above, and oclif is pointed
// at src/ directly (its own transpiler lookup maps dist/ to src/ only through ts-node or its tsx
// registration, which fails for this ESM project, and would then fall back to dist/).
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {execute, settings} from '@oclif/core'

const root = fileURLToPath(new URL('../', import.meta.url))
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const toSource = (path) => path.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts')
pjson.oclif = {...pjson.oclif, commands: toSource(pjson.oclif.commands)}
if (pjson.oclif.helpClass) pjson.oclif.helpClass = toSource(pjson.oclif.helpClass)
for (const [event, file] of Object.entries(pjson.oclif.hooks ?? {})) pjson.oclif.hooks[event] = toSource(file)
settings.enableAutoTranspile = false

await execute({development: true, dir: import.meta.url, loadOptions: {root, pjson}})
