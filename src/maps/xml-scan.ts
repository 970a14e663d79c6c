/**
 * fast-xml-parser gives no positions, so this scanner walks the (already validated) XML once and
 * records the line and column of every start tag by element path. The nth `map/fields/field` in
 * document order is the nth `<field>` the parser returns, which is how parse.ts gives every field
 * and Orgfield a line. It also catches what XMLValidator lets through: several root elements and
 * entity references XML does not define (`&eacute;` from HTML-encoded content).
 */

export interface TagPosition {
  name: string
  /** element names from the root, joined by '/' */
  path: string
  line: number
  column: number
}

export interface ScanProblem {
  code: 'MULTIPLE_ROOTS' | 'UNDEFINED_ENTITY' | 'TEXT_OUTSIDE_ROOT'
  message: string
  line: number
  column: number
}

export interface ScanResult {
  tags: TagPosition[]
  problems: ScanProblem[]
}

/** Maps offsets to 1-based line and column. */
export class LineIndex {
  private readonly starts: number[] = [0]

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1)
  }

  position(offset: number): {line: number; column: number} {
    let lo = 0
    let hi = this.starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.starts[mid] <= offset) lo = mid
      else hi = mid - 1
    }
    return {line: lo + 1, column: offset - this.starts[lo] + 1}
  }
}

const XML_ENTITY = /&(?!(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)([^;\s<&]{0,32};?)/g

export function scanXml(xml: string): ScanResult {
  const index = new LineIndex(xml)
  const tags: TagPosition[] = []
  const problems: ScanProblem[] = []
  const stack: string[] = []
  let roots = 0
  let i = 0

  const checkEntities = (from: number, to: number): void => {
    const text = xml.slice(from, to)
    XML_ENTITY.lastIndex = 0
    let m: RegExpExecArray | null
    while ((m = XML_ENTITY.exec(text))) {
      const pos = index.position(from + m.index)
      problems.push({
        code: 'UNDEFINED_ENTITY',
        message: `'&${m[1]}' is not an XML entity (only &lt; &gt; &amp; &quot; &apos; and &#N; exist); escape '&' as &amp;`,
        ...pos,
      })
    }
  }

  while (i < xml.length) {
    const lt = xml.indexOf('<', i)
    const textEnd = lt === -1 ? xml.length : lt
    if (textEnd > i) {
      if (stack.length > 0) checkEntities(i, textEnd)
      else if (xml.slice(i, textEnd).trim() !== '' && roots > 0) {
        problems.push({code: 'TEXT_OUTSIDE_ROOT', message: 'text after the root element', ...index.position(i)})
      }
    }
    if (lt === -1) break
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt + 4)
      i = end === -1 ? xml.length : end + 3
    } else if (xml.startsWith('<![CDATA[', lt)) {
      const end = xml.indexOf(']]>', lt + 9)
      i = end === -1 ? xml.length : end + 3
    } else if (xml.startsWith('<?', lt)) {
      const end = xml.indexOf('?>', lt + 2)
      i = end === -1 ? xml.length : end + 2
    } else if (xml.startsWith('<!', lt)) {
      // DOCTYPE, possibly with an internal subset in brackets
      let j = lt + 2
      let depth = 0
      while (j < xml.length) {
        const c = xml[j]
        if (c === '[') depth++
        else if (c === ']') depth--
        else if (c === '>' && depth <= 0) break
        j++
      }
      i = j + 1
    } else if (xml.startsWith('</', lt)) {
      const end = xml.indexOf('>', lt + 2)
      stack.pop()
      i = end === -1 ? xml.length : end + 1
    } else {
      // a start tag: find its end outside quoted attribute values
      let j = lt + 1
      let quote = ''
      while (j < xml.length) {
        const c = xml[j]
        if (quote) {
          if (c === quote) quote = ''
        } else if (c === '"' || c === "'") quote = c
        else if (c === '>') break
        j++
      }
      const inner = xml.slice(lt + 1, j)
      const selfClosing = inner.endsWith('/')
      const name = /^[^\s/>]+/.exec(inner)?.[0] ?? ''
      if (stack.length === 0) {
        roots++
        if (roots === 2) {
          problems.push({
            code: 'MULTIPLE_ROOTS',
            message: `a second root element <${name}>: a map has exactly one root element <map>`,
            ...index.position(lt),
          })
        }
      }
      checkEntities(lt + 1 + name.length, j)
      const path = [...stack, name].join('/')
      tags.push({name, path, ...index.position(lt)})
      if (!selfClosing) stack.push(name)
      i = j + 1
    }
  }
  return {tags, problems}
}

/** Start tags grouped by path, in document order. */
export function linesByPath(tags: TagPosition[]): Map<string, TagPosition[]> {
  const out = new Map<string, TagPosition[]>()
  for (const tag of tags) {
    const list = out.get(tag.path)
    if (list) list.push(tag)
    else out.set(tag.path, [tag])
  }
  return out
}
