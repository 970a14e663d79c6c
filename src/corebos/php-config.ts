/**
 * Runs the statements of a coreBOS config.inc.php that decide its database settings and time zone,
 * without PHP. Exactly the forms coreBOS's installer template (config.template.php) uses are
 * evaluated: assignments of literals, known variables, `.` concatenation, `getenv('X')`, the
 * ternary `getenv('X') ? getenv('X') : $fallback`, `if (…) {…}` / `elseif` / `else` on such
 * conditions (with `!`, `&&`, `||`, `empty()`, `isset()`, `function_exists()`, `file_exists()`),
 * `date_default_timezone_set(…)`, and `include 'config-dev.inc.php'` when that file exists.
 * Anything else is not run: a value that depends on it is a failure naming its file and line,
 * reported only if cbhs needs that value.
 */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, isAbsolute, join} from 'node:path'
import type {Token} from './settings.js'

export type PhpValue = string | boolean | null
export type Evaluated = {ok: true; value: PhpValue; line: number; file: string} | {ok: false; line: number; file: string; reason: string}

export interface PhpConfigState {
  /** simple variables by name ('$default_timezone') */
  vars: Map<string, Evaluated>
  /** $dbconfig['key'] */
  dbconfig: Map<string, Evaluated>
  /** the argument of the last date_default_timezone_set() that ran */
  timezoneSet?: Evaluated
}

export interface PhpRunContext {
  env: Record<string, string | undefined>
  tokenize(source: string, file: string): Token[]
}

/** the only file an include is followed to (coreBOS's developer override) */
const DEV_CONFIG = 'config-dev.inc.php'

class Unsupported extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(reason)
  }
}

type Node =
  | {t: 'lit'; v: PhpValue; line: number}
  | {t: 'var'; name: string; index?: Node; line: number}
  | {t: 'call'; name: string; args: Node[]; line: number}
  | {t: 'not'; x: Node; line: number}
  | {t: 'bin'; op: string; a: Node; b: Node; line: number}
  | {t: 'cond'; c: Node; a: Node | null; b: Node; line: number}
  | {t: 'array'; entries: Array<[string, Node]>; line: number}

type Mode = {kind: 'run'} | {kind: 'skip'} | {kind: 'poison'; line: number; reason: string}

export const phpTruthy = (v: PhpValue): boolean => !(v === false || v === null || v === '' || v === '0')
export const phpString = (v: PhpValue): string => (v === true ? '1' : v === false || v === null ? '' : v)

const isP = (t: Token | undefined, v: string): boolean => t?.type === 'punct' && t.value === v
const isI = (t: Token | undefined, v: string): boolean => t?.type === 'ident' && t.value.toLowerCase() === v

const FUNCTIONS = new Set(['getenv', 'empty', 'isset', 'function_exists', 'file_exists'])

export class PhpConfigRunner {
  private i = 0
  private end = 0

  constructor(
    private readonly tokens: Token[],
    private readonly file: string,
    private readonly state: PhpConfigState,
    private readonly ctx: PhpRunContext,
    private readonly depth = 0,
  ) {}

  run(): void {
    while (this.i < this.tokens.length) this.statement({kind: 'run'})
  }

  // ------------------------------------------------------------------------------------------
  // statements
  // ------------------------------------------------------------------------------------------

  private statement(mode: Mode): void {
    const t = this.tokens[this.i]
    if (!t) return
    if (isP(t, ';')) {
      this.i++
      return
    }
    if (isP(t, '{')) {
      this.i++
      while (this.i < this.tokens.length && !isP(this.tokens[this.i], '}')) this.statement(mode)
      this.i++
      return
    }
    if (isI(t, 'if')) return this.ifStatement(mode)
    if (isI(t, 'function') || isI(t, 'class')) return this.skipDeclaration()
    if (['foreach', 'for', 'while', 'switch', 'do', 'try'].some((k) => isI(t, k))) {
      // a loop body may or may not run: whatever it assigns is unknown
      return this.skipHeader(mode.kind === 'skip' ? mode : {kind: 'poison', line: t.line, reason: `is set inside a \`${t.value}\` block, which cbhs does not evaluate`})
    }
    const stmtEnd = this.statementEnd(this.i)
    if (t.type === 'var') this.assignment(t, stmtEnd, mode)
    else if (['include', 'include_once', 'require', 'require_once'].some((k) => isI(t, k))) this.include(stmtEnd, mode)
    else {
      const call = isP(t, '@') ? this.tokens[this.i + 1] : t
      if (isI(call, 'date_default_timezone_set') && mode.kind !== 'skip') {
        this.state.timezoneSet = this.evalRange(this.i + (call === t ? 0 : 1), stmtEnd, mode, (node) => (node.t === 'call' ? node.args[0] ?? null : null))
      }
    }
    // past the ';'; a closing '}' is left for the block that owns it
    this.i = isP(this.tokens[stmtEnd], ';') ? stmtEnd + 1 : Math.max(stmtEnd, this.i + 1)
  }

  /**
   * Index of the token ending the statement at `from`: its ';', the '}' closing the enclosing
   * block (brackets balanced), or the token count.
   */
  private statementEnd(from: number): number {
    let depth = 0
    for (let k = from; k < this.tokens.length; k++) {
      const t = this.tokens[k]
      if (t.type !== 'punct') continue
      if (t.value === '(' || t.value === '[' || t.value === '{') depth++
      else if (t.value === ')' || t.value === ']' || t.value === '}') {
        if (depth === 0) return k
        depth--
      } else if (t.value === ';' && depth === 0) return k
    }
    return this.tokens.length
  }

  /** Index of the bracket closing the one at `open`. */
  private closing(open: number): number {
    let depth = 0
    for (let k = open; k < this.tokens.length; k++) {
      const v = this.tokens[k].type === 'punct' ? this.tokens[k].value : ''
      if (v === '(' || v === '[' || v === '{') depth++
      else if (v === ')' || v === ']' || v === '}') {
        depth--
        if (depth === 0) return k
      }
    }
    throw new Unsupported(this.tokens[open].line, 'has an unclosed bracket')
  }

  private skipDeclaration(): void {
    let k = this.i
    while (k < this.tokens.length && !isP(this.tokens[k], '{') && !isP(this.tokens[k], ';')) k++
    this.i = isP(this.tokens[k], '{') ? this.closing(k) + 1 : k + 1
  }

  /** `keyword (…) body`: the body runs in `mode`. */
  private skipHeader(mode: Mode): void {
    this.i++
    if (isP(this.tokens[this.i], '(')) this.i = this.closing(this.i) + 1
    this.statement(mode)
  }

  private ifStatement(mode: Mode): void {
    // `if` / `elseif` / `else if` / `else`: the first true branch runs, the others are skipped;
    // a condition cbhs cannot evaluate makes every branch's assignments unknown
    let decided = mode.kind !== 'run'
    let branchMode: Mode = mode
    let first = true
    for (;;) {
      const t = this.tokens[this.i]
      let isElse = false
      if (first || isI(t, 'elseif')) this.i++
      else if (isI(t, 'else') && isI(this.tokens[this.i + 1], 'if')) this.i += 2
      else if (isI(t, 'else')) {
        this.i++
        isElse = true
      } else return
      first = false
      let take: Mode
      if (isElse) {
        take = decided ? (branchMode.kind === 'poison' ? branchMode : {kind: 'skip'}) : {kind: 'run'}
      } else {
        if (!isP(this.tokens[this.i], '(')) throw new Unsupported(t.line, 'has an `if` without a condition')
        const close = this.closing(this.i)
        const cond = this.evalRange(this.i + 1, close, {kind: 'run'}, (n) => n)
        this.i = close + 1
        if (decided) take = branchMode.kind === 'poison' ? branchMode : {kind: 'skip'}
        else if (!cond.ok) {
          branchMode = {kind: 'poison', line: cond.line, reason: `depends on a condition cbhs cannot evaluate (line ${cond.line}: ${cond.reason})`}
          take = branchMode
          decided = true
        } else if (phpTruthy(cond.value)) {
          take = {kind: 'run'}
          decided = true
          branchMode = {kind: 'skip'}
        } else take = {kind: 'skip'}
      }
      this.statement(take)
      if (isElse) return
    }
  }

  private assignment(head: Token, stmtEnd: number, mode: Mode): void {
    if (mode.kind === 'skip') return
    let k = this.i + 1
    let key: Evaluated | null = null
    if (isP(this.tokens[k], '[')) {
      const close = this.closing(k)
      // the key itself is a literal even where the value is unknown
      key = this.evalRange(k + 1, close, {kind: 'run'}, (n) => n)
      k = close + 1
    }
    const op = this.tokens[k]
    const line = head.line
    const isSet = op?.type === 'punct' && (op.value === '=' || op.value === '.=')
    if (head.value === '$dbconfig' && key === null) {
      // `$dbconfig = array(…)` replaces every key
      const node = isSet && op.value === '=' ? this.parseRange(k + 1, stmtEnd) : null
      this.state.dbconfig.clear()
      if (node?.ok && node.node.t === 'array') {
        for (const [name, n] of node.node.entries) this.state.dbconfig.set(name, this.evaluate(n, mode))
      }
      return
    }
    let value: Evaluated
    if (!isSet) {
      value = {ok: false, line, file: this.file, reason: 'is changed by an operation cbhs does not evaluate'}
    } else {
      value = this.evalRange(k + 1, stmtEnd, mode, (n) => n)
      if (op.value === '.=' && value.ok) {
        const before = key === null ? this.state.vars.get(head.value) : key.ok ? this.state.dbconfig.get(phpString(key.value)) : undefined
        if (before && !before.ok) value = before
        else value = {...value, value: phpString(before?.ok ? before.value : null) + phpString(value.value)}
      }
    }
    if (head.value === '$dbconfig' && key !== null) {
      if (key.ok) this.state.dbconfig.set(phpString(key.value), value)
      return
    }
    if (key === null) this.state.vars.set(head.value, value)
  }

  private include(stmtEnd: number, mode: Mode): void {
    if (mode.kind === 'skip') return
    const target = this.evalRange(this.i + 1, stmtEnd, {kind: 'run'}, (n) => n)
    if (!target.ok || phpString(target.value) !== DEV_CONFIG) return
    const path = join(dirname(this.file), DEV_CONFIG)
    if (this.depth > 0 || !existsSync(path)) return
    const tokens = this.ctx.tokenize(readFileSync(path, 'utf8'), path)
    const runner = new PhpConfigRunner(tokens, path, this.state, this.ctx, this.depth + 1)
    if (mode.kind === 'run') runner.run()
    else while (runner.i < tokens.length) runner.statement(mode)
  }

  // ------------------------------------------------------------------------------------------
  // expressions
  // ------------------------------------------------------------------------------------------

  private parseRange(from: number, to: number): {ok: true; node: Node} | {ok: false; line: number; reason: string} {
    const saveI = this.i
    const saveEnd = this.end
    this.i = from
    this.end = to
    try {
      if (from >= to) throw new Unsupported(this.tokens[from - 1]?.line ?? 1, 'has no value')
      const node = this.expression()
      if (this.i < this.end) throw new Unsupported(this.tokens[this.i].line, `is an expression cbhs cannot evaluate (unexpected '${this.tokens[this.i].value}')`)
      return {ok: true, node}
    } catch (error) {
      if (error instanceof Unsupported) return {ok: false, line: error.line, reason: error.reason}
      throw error
    } finally {
      this.i = saveI
      this.end = saveEnd
    }
  }

  private evalRange(from: number, to: number, mode: Mode, pick: (n: Node) => Node | null): Evaluated {
    const parsed = this.parseRange(from, to)
    if (!parsed.ok) return {ok: false, line: parsed.line, file: this.file, reason: parsed.reason}
    const node = pick(parsed.node)
    if (!node) return {ok: false, line: parsed.node.line, file: this.file, reason: 'has no value'}
    return this.evaluate(node, mode)
  }

  private peek(): Token | undefined {
    return this.i < this.end ? this.tokens[this.i] : undefined
  }

  private expect(v: string): void {
    const t = this.peek()
    if (!isP(t, v)) throw new Unsupported(t?.line ?? this.tokens[this.i - 1]?.line ?? 1, `is an expression cbhs cannot evaluate (expected '${v}')`)
    this.i++
  }

  private expression(): Node {
    const c = this.binary(0)
    const t = this.peek()
    if (!isP(t, '?')) return c
    this.i++
    let a: Node | null = null
    if (!isP(this.peek(), ':')) a = this.binary(0)
    this.expect(':')
    return {t: 'cond', c, a, b: this.expression(), line: t!.line}
  }

  private static readonly LEVELS: string[][] = [['??'], ['||', 'or'], ['&&', 'and'], ['==', '!=', '===', '!==', '<>'], ['.']]

  private binary(level: number): Node {
    if (level >= PhpConfigRunner.LEVELS.length) return this.unary()
    let left = this.binary(level + 1)
    for (;;) {
      const t = this.peek()
      const op = t && (t.type === 'punct' || t.type === 'ident') ? t.value.toLowerCase() : ''
      if (!PhpConfigRunner.LEVELS[level].includes(op)) return left
      this.i++
      left = {t: 'bin', op, a: left, b: this.binary(level + 1), line: t!.line}
    }
  }

  private unary(): Node {
    const t = this.peek()
    if (isP(t, '!')) {
      this.i++
      return {t: 'not', x: this.unary(), line: t!.line}
    }
    if (isP(t, '@')) {
      this.i++
      return this.unary()
    }
    return this.primary()
  }

  private primary(): Node {
    const t = this.peek()
    if (!t) throw new Unsupported(this.tokens[this.i - 1]?.line ?? 1, 'has no value')
    this.i++
    if (t.type === 'string') {
      if (!t.literal) throw new Unsupported(t.line, 'uses PHP variable interpolation in a double-quoted string, which cbhs cannot evaluate')
      return {t: 'lit', v: t.value, line: t.line}
    }
    if (t.type === 'number') return {t: 'lit', v: t.value, line: t.line}
    if (t.type === 'var') {
      let index: Node | undefined
      if (isP(this.peek(), '[')) {
        this.i++
        index = this.expression()
        this.expect(']')
      }
      if (isP(this.peek(), '[') || isP(this.peek(), '->')) throw new Unsupported(t.line, 'is an expression cbhs cannot evaluate (nested or object access)')
      return {t: 'var', name: t.value, index, line: t.line}
    }
    if (isP(t, '(')) {
      const inner = this.expression()
      this.expect(')')
      return inner
    }
    if (t.type === 'ident') {
      const name = t.value.toLowerCase()
      if (name === 'true' || name === 'false' || name === 'null') return {t: 'lit', v: name === 'null' ? null : name === 'true', line: t.line}
      if (name === 'array' && isP(this.peek(), '(')) return this.arrayLiteral(')', t.line)
      if (isP(this.peek(), '(')) {
        this.i++
        const args: Node[] = []
        while (!isP(this.peek(), ')')) {
          args.push(this.expression())
          if (isP(this.peek(), ',')) this.i++
          else break
        }
        this.expect(')')
        return {t: 'call', name, args, line: t.line}
      }
      throw new Unsupported(t.line, `is an expression cbhs cannot evaluate (the constant ${t.value})`)
    }
    if (isP(t, '[')) {
      this.i--
      return this.arrayLiteral(']', t.line)
    }
    throw new Unsupported(t.line, `is an expression cbhs cannot evaluate (only literal values, variables, '.', getenv() and ?: are read; found '${t.value}')`)
  }

  private arrayLiteral(close: string, line: number): Node {
    this.i++ // the opening bracket
    const entries: Array<[string, Node]> = []
    while (!isP(this.peek(), close)) {
      const k = this.peek()
      if (k?.type !== 'string' || !isP(this.tokens[this.i + 1], '=>')) throw new Unsupported(k?.line ?? line, "is an array cbhs cannot read (only 'key' => value entries)")
      this.i += 2
      entries.push([k.value, this.expression()])
      if (isP(this.peek(), ',')) this.i++
      else break
    }
    this.expect(close)
    return {t: 'array', entries, line}
  }

  private evaluate(node: Node, mode: Mode): Evaluated {
    if (mode.kind === 'poison') return {ok: false, line: node.line, file: this.file, reason: mode.reason}
    const ok = (value: PhpValue): Evaluated => ({ok: true, value, line: node.line, file: this.file})
    switch (node.t) {
      case 'lit':
        return ok(node.v)
      case 'var': {
        if (node.name === '$dbconfig' && node.index) {
          const key = this.evaluate(node.index, mode)
          if (!key.ok) return key
          // an unset key reads as NULL, as in PHP
          return this.state.dbconfig.get(phpString(key.value)) ?? ok(null)
        }
        if (node.index) return {ok: false, line: node.line, file: this.file, reason: `reads ${node.name}[…], which cbhs does not track`}
        return this.state.vars.get(node.name) ?? ok(null)
      }
      case 'not': {
        const x = this.evaluate(node.x, mode)
        return x.ok ? ok(!phpTruthy(x.value)) : x
      }
      case 'cond': {
        const c = this.evaluate(node.c, mode)
        if (!c.ok) return c
        if (phpTruthy(c.value)) return node.a ? this.evaluate(node.a, mode) : c
        return this.evaluate(node.b, mode)
      }
      case 'bin': {
        const a = this.evaluate(node.a, mode)
        if (!a.ok) return a
        if (node.op === '&&' || node.op === 'and') return phpTruthy(a.value) ? this.truth(this.evaluate(node.b, mode)) : ok(false)
        if (node.op === '||' || node.op === 'or') return phpTruthy(a.value) ? ok(true) : this.truth(this.evaluate(node.b, mode))
        if (node.op === '??') return a.value !== null ? a : this.evaluate(node.b, mode)
        const b = this.evaluate(node.b, mode)
        if (!b.ok) return b
        if (node.op === '.') return ok(phpString(a.value) + phpString(b.value))
        const strict = node.op === '===' || node.op === '!=='
        const same = strict ? a.value === b.value : typeof a.value === 'string' && typeof b.value === 'string' ? a.value === b.value : phpTruthy(a.value) === phpTruthy(b.value)
        return ok(node.op === '==' || node.op === '===' ? same : !same)
      }
      case 'array':
        return {ok: false, line: node.line, file: this.file, reason: 'is an array where a value is expected'}
      case 'call':
        return this.call(node, mode)
    }
  }

  private truth(e: Evaluated): Evaluated {
    return e.ok ? {...e, value: phpTruthy(e.value)} : e
  }

  private call(node: Extract<Node, {t: 'call'}>, mode: Mode): Evaluated {
    const ok = (value: PhpValue): Evaluated => ({ok: true, value, line: node.line, file: this.file})
    if (!FUNCTIONS.has(node.name)) return {ok: false, line: node.line, file: this.file, reason: `calls ${node.name}(), which cbhs does not evaluate`}
    const [first] = node.args
    if (!first) return {ok: false, line: node.line, file: this.file, reason: `calls ${node.name}() without an argument`}
    const arg = this.evaluate(first, mode)
    if (node.name === 'empty') return arg.ok ? ok(!phpTruthy(arg.value)) : arg
    if (node.name === 'isset') return arg.ok ? ok(arg.value !== null) : arg
    if (!arg.ok) return arg
    const text = phpString(arg.value)
    if (node.name === 'getenv') return ok(this.ctx.env[text] ?? false)
    // the functions a config checks for (date_default_timezone_set) exist in every PHP cbhs meets
    if (node.name === 'function_exists') return ok(true)
    return ok(existsSync(isAbsolute(text) ? text : join(dirname(this.file), text)))
  }
}
