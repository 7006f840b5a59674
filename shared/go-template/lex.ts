/**
 * Lexer of Go's text/template syntax (Go 1.19 src/text/template/parse/lex.go): text and `{{ }}`
 * actions, `{{- `/` -}}` trim markers, comments, and the tokens inside an action. A lexing error
 * becomes an `error` item, reported where the parser meets it, as Go's parser pulls items lazily.
 */

/** A parse error: message as Go words it, with the 1-based line and column. */
export class GoParseError extends Error {
  constructor(
    readonly detail: string,
    readonly line: number,
    readonly col: number,
  ) {
    super(detail);
    this.name = 'GoParseError';
  }
}

export type ItemType =
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'bool'
  | 'char'
  | 'charConstant'
  | 'number'
  | 'string'
  | 'rawString'
  | 'identifier'
  | 'field'
  | 'dot'
  | 'variable'
  | 'nil'
  | 'pipe'
  | 'assign'
  | 'declare'
  | 'leftParen'
  | 'rightParen'
  | 'keyword'
  | 'eof'
  | 'error';

export interface Item {
  typ: ItemType;
  val: string;
  pos: number;
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);
export const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const UNICODE_ALNUM = /[\p{L}\p{Nd}_]/u;
/** Go's isAlphaNumeric (letters, digits, underscore), with an ASCII fast path. */
const isAlnum = (c: string | undefined): boolean => {
  if (c === undefined) return false;
  const code = c.charCodeAt(0);
  if (code < 0x80) return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
  return UNICODE_ALNUM.test(c);
};

/** Tokenises a template into Go's item stream (comments dropped, trim markers applied). */
export function lex(input: string): Item[] {
  const items: Item[] = [];
  try {
    lexInto(input, items);
  } catch (err) {
    // Go's parser pulls items one by one, so a lexing error surfaces only when the parser
    // reaches it (an undefined variable before it is reported first): keep it as an item.
    if (!(err instanceof LexError)) throw err;
    items.push({ typ: 'error', val: err.message, pos: err.pos });
  }
  return items;
}

class LexError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

function lexInto(input: string, items: Item[]): void {
  let pos = 0;
  let parenDepth = 0;
  const fail = (msg: string, at = pos): never => {
    throw new LexError(msg, at);
  };
  const atRightDelim = (p: number): { trim: boolean } | undefined => {
    if (isSpace(input[p]) && input[p + 1] === '-' && input.startsWith('}}', p + 2)) return { trim: true };
    if (input.startsWith('}}', p)) return { trim: false };
    return undefined;
  };
  while (pos < input.length) {
    // Text up to the next `{{`.
    const open = input.indexOf('{{', pos);
    const textEnd = open < 0 ? input.length : open;
    let text = input.slice(pos, textEnd);
    let afterDelim = textEnd + 2;
    const leftTrim = open >= 0 && input[open + 2] === '-' && isSpace(input[open + 3]);
    if (leftTrim) {
      text = text.replace(/[ \t\r\n]+$/, '');
      afterDelim = open + 4;
    }
    if (text.length > 0) items.push({ typ: 'text', val: text, pos });
    if (open < 0) break;
    pos = afterDelim;
    // Comment: `{{/*` … `*/}}`, immediately after the delimiter (and its trim marker).
    if (input.startsWith('/*', pos)) {
      const end = input.indexOf('*/', pos + 2);
      if (end < 0) fail('unclosed comment', open);
      pos = end + 2;
      const rd = atRightDelim(pos);
      if (!rd) fail('comment ends before closing delimiter', open);
      pos += rd!.trim ? 4 : 2;
      if (rd!.trim) pos = skipSpaces(input, pos);
      continue;
    }
    items.push({ typ: 'leftDelim', val: '{{', pos: open });
    parenDepth = 0;
    // Inside the action.
    for (;;) {
      const rd = atRightDelim(pos);
      if (rd) {
        if (parenDepth > 0) fail('unclosed left paren', pos);
        const at = rd.trim ? pos + 2 : pos;
        items.push({ typ: 'rightDelim', val: '}}', pos: at });
        pos = at + 2;
        if (rd.trim) pos = skipSpaces(input, pos);
        break;
      }
      if (pos >= input.length) fail('unclosed action', open);
      const c = input[pos];
      const start = pos;
      if (isSpace(c)) {
        let p = pos;
        while (isSpace(input[p])) p++;
        // The last space may begin ` -}}`: leave it to the right delimiter.
        pos = input[p] === '-' && input.startsWith('}}', p + 1) ? p - 1 : p;
        items.push({ typ: 'space', val: input.slice(start, pos), pos: start });
        continue;
      }
      if (c === '=') {
        items.push({ typ: 'assign', val: '=', pos });
        pos++;
      } else if (c === ':') {
        if (input[pos + 1] !== '=') fail('expected :=', pos);
        items.push({ typ: 'declare', val: ':=', pos });
        pos += 2;
      } else if (c === '|') {
        items.push({ typ: 'pipe', val: '|', pos });
        pos++;
      } else if (c === '"') {
        pos++;
        for (;;) {
          const d = input[pos];
          if (d === '\\') {
            if (input[pos + 1] === undefined || input[pos + 1] === '\n') fail('unterminated quoted string', start);
            pos += 2;
            continue;
          }
          if (d === undefined || d === '\n') fail('unterminated quoted string', start);
          pos++;
          if (d === '"') break;
        }
        items.push({ typ: 'string', val: input.slice(start, pos), pos: start });
      } else if (c === '`') {
        const end = input.indexOf('`', pos + 1);
        if (end < 0) fail('unterminated raw quoted string', start);
        pos = end + 1;
        items.push({ typ: 'rawString', val: input.slice(start, pos), pos: start });
      } else if (c === "'") {
        pos++;
        for (;;) {
          const d = input[pos];
          if (d === '\\') {
            if (input[pos + 1] === undefined || input[pos + 1] === '\n') fail('unterminated character constant', start);
            pos += 2;
            continue;
          }
          if (d === undefined || d === '\n') fail('unterminated character constant', start);
          pos++;
          if (d === "'") break;
        }
        items.push({ typ: 'charConstant', val: input.slice(start, pos), pos: start });
      } else if (c === '$') {
        pos++;
        while (isAlnum(input[pos])) pos++;
        checkTerminator(pos);
        items.push({ typ: 'variable', val: input.slice(start, pos), pos: start });
      } else if (c === '.') {
        if (/[0-9]/.test(input[pos + 1] ?? '')) {
          pos = lexNumber(pos);
        } else {
          pos++;
          if (!isAlnum(input[pos])) {
            checkTerminator(pos);
            items.push({ typ: 'dot', val: '.', pos: start });
          } else {
            while (isAlnum(input[pos])) pos++;
            checkTerminator(pos);
            items.push({ typ: 'field', val: input.slice(start, pos), pos: start });
          }
        }
      } else if (c === '+' || c === '-' || /[0-9]/.test(c)) {
        pos = lexNumber(pos);
      } else if (isAlnum(c)) {
        while (isAlnum(input[pos])) pos++;
        checkTerminator(pos);
        const word = input.slice(start, pos);
        let typ: ItemType = 'identifier';
        if (KEYWORDS.has(word)) typ = 'keyword';
        else if (word === 'true' || word === 'false') typ = 'bool';
        else if (word === 'nil') typ = 'nil';
        items.push({ typ, val: word, pos: start });
      } else if (c === '(') {
        parenDepth++;
        items.push({ typ: 'leftParen', val: '(', pos });
        pos++;
      } else if (c === ')') {
        parenDepth--;
        items.push({ typ: 'rightParen', val: ')', pos });
        pos++;
      } else if (c.charCodeAt(0) < 0x80 && c >= ' ' && c <= '~') {
        items.push({ typ: 'char', val: c, pos });
        pos++;
      } else {
        const cp = input.codePointAt(pos)!;
        fail(`unrecognized character in action: U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${String.fromCodePoint(cp)}'`, pos);
      }
    }
  }
  items.push({ typ: 'eof', val: '', pos: input.length });

  function checkTerminator(p: number): void {
    const c = input[p];
    if (c === undefined || isSpace(c) || '.,|:)('.includes(c) || atRightDelim(p)) return;
    const cp = input.codePointAt(p)!;
    fail(`bad character U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${String.fromCodePoint(cp)}'`, p);
  }

  function lexNumber(p: number): number {
    const start = p;
    if (input[p] === '+' || input[p] === '-') p++;
    let digits = '0123456789_';
    if (input[p] === '0' && /[xXoObB]/.test(input[p + 1] ?? '')) {
      const base = input[p + 1].toLowerCase();
      p += 2;
      digits = base === 'x' ? '0123456789abcdefABCDEF_' : base === 'o' ? '01234567_' : '01_';
    }
    while (input[p] !== undefined && digits.includes(input[p])) p++;
    if (input[p] === '.') {
      p++;
      while (input[p] !== undefined && digits.includes(input[p])) p++;
    }
    if (digits.length === 11 && /[eE]/.test(input[p] ?? '')) {
      p++;
      if (input[p] === '+' || input[p] === '-') p++;
      while (/[0-9_]/.test(input[p] ?? '')) p++;
    } else if (digits.length > 11 && /[pP]/.test(input[p] ?? '')) {
      p++;
      if (input[p] === '+' || input[p] === '-') p++;
      while (/[0-9_]/.test(input[p] ?? '')) p++;
    }
    if (input[p] === 'i') p++;
    if (isAlnum(input[p])) fail(`bad number syntax: "${input.slice(start, p + 1)}"`, start);
    items.push({ typ: 'number', val: input.slice(start, p), pos: start });
    return p;
  }
}

function skipSpaces(input: string, p: number): number {
  while (isSpace(input[p])) p++;
  return p;
}

/** 1-based line and column of offset `pos`. */
export function position(input: string, pos: number): { line: number; col: number } {
  const before = input.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - (before.lastIndexOf('\n') + 1) + 1;
  return { line, col };
}
