/**
 * coreBOS's `getXMLContent` runs html_entity_decode(ENT_QUOTES, UTF-8) on vtiger_cbmap.content
 * because maps saved from the UI are stored entity-encoded (`&lt;map&gt;…`). This is that decode.
 */

// ISO-8859-1 named entities in code point order from U+00A0: what PHP's htmlentities produces for
// accented letters in UI-saved maps
const LATIN1 =
  'nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 acute micro ' +
  'para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil ' +
  'Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave ' +
  'Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml ' +
  'igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute ' +
  'thorn yuml'

const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  euro: '€',
  hellip: '…',
  ndash: '–',
  mdash: '—',
  lsquo: '‘',
  rsquo: '’',
  sbquo: '‚',
  ldquo: '“',
  rdquo: '”',
  bdquo: '„',
  bull: '•',
  trade: '™',
  dagger: '†',
  Dagger: '‡',
  permil: '‰',
  lsaquo: '‹',
  rsaquo: '›',
  OElig: 'Œ',
  oelig: 'œ',
  Scaron: 'Š',
  scaron: 'š',
  Yuml: 'Ÿ',
  fnof: 'ƒ',
  circ: 'ˆ',
  tilde: '˜',
}
LATIN1.split(' ').forEach((name, i) => {
  NAMED[name] = String.fromCodePoint(0xa0 + i)
})

/** Decodes HTML entities (named, decimal and hex), once, like PHP's html_entity_decode. */
export function decodeHtmlEntities(text: string): string {
  return text.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});/g, (whole, body: string) => {
    if (body.startsWith('#')) {
      const code = body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number.parseInt(body.slice(1), 10)
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole
    }
    return NAMED[body] ?? whole
  })
}

/**
 * Turns vtiger_cbmap.content into XML. Only content that is itself encoded (it starts with
 * `&lt;`) is decoded: coreBOS decodes every map, which breaks raw maps written by changesets that
 * legitimately contain `&amp;` (decoding makes them malformed); cbhs does not repeat that.
 */
export function decodeCbMapContent(content: string): string {
  const text = content.replace(/^\uFEFF/, '')
  if (!/^\s*&lt;/.test(text)) return text
  return decodeHtmlEntities(text)
}
