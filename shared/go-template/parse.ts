/**
 * Lexer and parser of Go's text/template syntax (Go 1.19 src/text/template/parse/lex.go and
 * parse.go): `{{`/`}}` actions with `{{- `/` -}}` trimming, comments, pipelines, declarations and
 * assignments, parenthesised pipelines, field chains, `if`/`else if`/`else`/`end`, `range` with
 * `else`, `break` and `continue`, `with`/`else`. As in Go, an unknown function or an undeclared
 * variable is a parse error. `define`, `template` and `block` name other templates; a hook field
 * is one template, so they are rejected.
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

type ItemType =
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

interface Item {
  typ: ItemType;
  val: string;
  pos: number;
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
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

// ---- AST ----

export interface NumberNode {
  type: 'number';
  pos: number;
  text: string;
  isInt: boolean;
  isFloat: boolean;
  int: bigint;
  float: number;
  /** A character constant (`'a'`) or a hex/rune literal: an integer even when it looks like a float. */
  isChar: boolean;
  /** An integer literal outside int64: an execution error where Go needs an int. */
  overflow?: boolean;
}
export type ArgNode =
  | { type: 'dot'; pos: number }
  | { type: 'nil'; pos: number }
  | { type: 'bool'; pos: number; value: boolean }
  | { type: 'string'; pos: number; text: string; quoted: string }
  | NumberNode
  | { type: 'field'; pos: number; ident: string[] }
  | { type: 'variable'; pos: number; ident: string[] }
  | { type: 'identifier'; pos: number; name: string }
  | { type: 'chain'; pos: number; node: ArgNode; field: string[] }
  | PipeNode;
export interface CommandNode {
  pos: number;
  args: ArgNode[];
}
export interface PipeNode {
  type: 'pipe';
  pos: number;
  isAssign: boolean;
  decl: string[];
  cmds: CommandNode[];
}
export type Node =
  | { type: 'text'; pos: number; text: string }
  | { type: 'action'; pos: number; pipe: PipeNode }
  | { type: 'if' | 'with'; pos: number; pipe: PipeNode; list: Node[]; elseList?: Node[] }
  | { type: 'range'; pos: number; pipe: PipeNode; list: Node[]; elseList?: Node[] }
  | { type: 'break' | 'continue'; pos: number };

/** Renders an argument node back to source, as Go's `Node.String()` does for error messages. */
export function nodeString(n: ArgNode): string {
  switch (n.type) {
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(n.value);
    case 'string':
      return n.quoted;
    case 'number':
      return n.text;
    case 'field':
      return '.' + n.ident.join('.');
    case 'variable':
      return n.ident.join('.');
    case 'identifier':
      return n.name;
    case 'chain': {
      const inner = n.node.type === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node);
      return inner + '.' + n.field.join('.');
    }
    case 'pipe':
      return (
        (n.decl.length ? `${n.decl.join(', ')} ${n.isAssign ? '=' : ':='} ` : '') +
        n.cmds.map((c) => c.args.map((a) => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ')).join(' | ')
      );
  }
}

/** Go's `strconv.Unquote` for "…" and '…' literals; undefined when the escape is invalid. */
export function unquote(lit: string): string | undefined {
  const q = lit[0];
  const body = lit.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      if (c === q) return undefined;
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
    if (e in simple) out += simple[e];
    else if (e === q) out += q;
    else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) return undefined;
      const cp = parseInt(hex, 16);
      if (e === 'x') out += Buffer.from([cp]).toString('latin1') === String.fromCharCode(cp) && cp < 0x80 ? String.fromCharCode(cp) : String.fromCharCode(0xfffd);
      else {
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
        out += String.fromCodePoint(cp);
      }
      i += n;
    } else if (e !== undefined && /[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) return undefined;
      const v = parseInt(oct, 8);
      if (v > 255) return undefined;
      out += v < 0x80 ? String.fromCharCode(v) : String.fromCharCode(0xfffd);
      i += 2;
    } else return undefined;
  }
  return out;
}

function parseNumber(text: string, pos: number, isChar: boolean): NumberNode | string {
  const node: NumberNode = { type: 'number', pos, text, isInt: false, isFloat: false, int: 0n, float: 0, isChar };
  if (isChar) {
    const s = unquote(text);
    if (s === undefined || [...s].length !== 1) return `malformed character constant: ${text}`;
    const cp = s.codePointAt(0)!;
    return { ...node, isInt: true, isFloat: true, int: BigInt(cp), float: cp };
  }
  if (text.endsWith('i')) return `complex numbers are not supported: ${text}`;
  const clean = text.replace(/_/g, '');
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(clean);
  if (m && !(text.includes('_') && !/^[+-]?0[xXoObB]?[0-9a-fA-F]/.test(text) && /__|_$|^[+-]?_/.test(text))) {
    const sign = m[1] === '-' ? -1n : 1n;
    let digits = m[2];
    if (/^0[0-7]+$/.test(digits)) digits = '0o' + digits.slice(1);
    const v = sign * BigInt(digits);
    if (v > 2n ** 63n - 1n || v < -(2n ** 63n)) {
      // Go parses it (as uint64 or float) and fails only when it is used as an int.
      return { ...node, isFloat: true, float: Number(v), overflow: true };
    }
    return { ...node, isInt: true, isFloat: true, int: v, float: Number(v) };
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(clean)) {
    const f = Number(clean);
    if (!Number.isFinite(f)) return `illegal number syntax: "${text}"`;
    const asInt = Number.isInteger(f) && Math.abs(f) < 2 ** 63;
    return { ...node, isFloat: true, float: f, isInt: asInt, int: asInt ? BigInt(f) : 0n };
  }
  return `illegal number syntax: "${text}"`;
}

/** The result of {@link parse}: the node list and the source it came from. */
export interface GoTemplateTree {
  source: string;
  root: Node[];
}

/** Parses `source`; `hasFunction` says which function names exist (Go checks them at parse time). */
export function parse(source: string, hasFunction: (name: string) => boolean): GoTemplateTree {
  const items = lex(source);
  let i = 0;
  const vars: string[] = ['$'];
  let rangeDepth = 0;
  let depth = 0;
  /** Nesting (parentheses and blocks) deeper than this is refused rather than overflowing the stack. */
  const MAX_DEPTH = 500;
  const enter = (pos: number) => {
    if (++depth > MAX_DEPTH) fail(`template nested too deeply (more than ${MAX_DEPTH} levels of parentheses and blocks)`, pos);
  };
  const fail = (msg: string, pos: number): never => {
    const { line, col } = position(source, pos);
    throw new GoParseError(msg, line, col);
  };
  const next = () => items[i++];
  const backup = (n = 1) => {
    i -= n;
  };
  const peek = () => items[i];
  const nextNonSpace = () => {
    let it = next();
    while (it.typ === 'space') it = next();
    return it;
  };
  const peekNonSpace = () => {
    const it = nextNonSpace();
    backup();
    return it;
  };
  const describe = (it: Item) => {
    switch (it.typ) {
      case 'eof':
        return 'EOF';
      case 'rightDelim':
        return '"}}"';
      case 'keyword':
        return `<${it.val}>`;
      case 'space':
        return 'space';
      default:
        return it.val.length > 10 ? `${JSON.stringify(it.val.slice(0, 10))}...` : JSON.stringify(it.val);
    }
  };
  // A lexing error is an item; like Go, it is reported where the parser finds it unexpected.
  const unexpected = (it: Item, context: string): never =>
    it.typ === 'error' ? fail(it.val, it.pos) : fail(`unexpected ${describe(it)} in ${context}`, it.pos);
  const expect = (typ: ItemType, context: string) => {
    const it = nextNonSpace();
    if (it.typ !== typ) unexpected(it, context);
    return it;
  };

  type End = { kind: 'end' | 'else'; pos: number };
  /** Parses nodes until `{{end}}`/`{{else}}` (returned) or EOF (allowed only at top level). */
  function itemList(top: boolean): { list: Node[]; end?: End } {
    const list: Node[] = [];
    for (;;) {
      const it = peekNonSpaceOrText();
      if (it.typ === 'eof') {
        if (!top) fail('unexpected EOF', it.pos);
        return { list };
      }
      const n = textOrAction();
      if (n && 'kind' in n) {
        if (top) fail(`unexpected {{${n.kind}}}`, n.pos);
        return { list, end: n };
      }
      if (n) list.push(n);
    }
  }
  function peekNonSpaceOrText() {
    return peek();
  }
  function textOrAction(): Node | End | undefined {
    const it = next();
    if (it.typ === 'text') return { type: 'text', pos: it.pos, text: it.val };
    if (it.typ === 'leftDelim') return action(it.pos);
    return unexpected(it, 'input');
  }
  function action(pos: number): Node | End {
    const it = nextNonSpace();
    if (it.typ === 'keyword') {
      switch (it.val) {
        case 'end':
          expect('rightDelim', 'end');
          return { kind: 'end', pos: it.pos };
        case 'else': {
          const p = peekNonSpace();
          if (p.typ === 'keyword' && p.val === 'if') return { kind: 'else', pos: it.pos, elseIf: true } as End;
          expect('rightDelim', 'else');
          return { kind: 'else', pos: it.pos };
        }
        case 'if':
          return control('if', it.pos);
        case 'with':
          return control('with', it.pos);
        case 'range':
          return control('range', it.pos);
        case 'break':
        case 'continue':
          if (rangeDepth === 0) fail(`{{${it.val}}} outside {{range}}`, it.pos);
          expect('rightDelim', it.val);
          return { type: it.val, pos: it.pos };
        default:
          fail(`{{${it.val}}} is not supported: a hook field is a single template`, it.pos);
      }
    }
    backup();
    const pipe = pipeline('command', 'rightDelim');
    return { type: 'action', pos, pipe };
  }
  function control(kind: 'if' | 'with' | 'range', pos: number): Node {
    enter(pos);
    const mark = vars.length;
    const pipe = pipeline(kind, 'rightDelim');
    if (kind === 'range') rangeDepth++;
    const body = itemList(false);
    if (kind === 'range') rangeDepth--;
    let elseList: Node[] | undefined;
    const end = body.end!;
    if (end.kind === 'else') {
      if (kind === 'if' && (end as End & { elseIf?: boolean }).elseIf) {
        // `{{else if …}}`: a nested if that shares this if's single {{end}}.
        nextNonSpace(); // the `if` keyword
        elseList = [control('if', end.pos)];
      } else {
        // `{{else if}}` after range/with: Go reads it as {{else}}{{if …, and `if` cannot start input.
        if ((end as End & { elseIf?: boolean }).elseIf) unexpected(peekNonSpace(), 'input');
        const rest = itemList(false);
        if (rest.end!.kind !== 'end') fail(`expected end; found {{else}}`, rest.end!.pos);
        elseList = rest.list;
      }
    }
    vars.length = mark;
    depth--;
    return { type: kind, pos, pipe, list: body.list, elseList };
  }
  function pipeline(context: string, end: 'rightDelim' | 'rightParen'): PipeNode {
    const start = peekNonSpace();
    const pipe: PipeNode = { type: 'pipe', pos: start.pos, isAssign: false, decl: [], cmds: [] };
    // Declarations: `$x :=`, `$x =`, `$i, $v :=` (range only).
    decls: for (;;) {
      const v = peekNonSpace();
      if (v.typ !== 'variable') break;
      nextNonSpace();
      const after = peek();
      const n = peekNonSpace();
      if (n.typ === 'assign' || n.typ === 'declare') {
        pipe.isAssign = n.typ === 'assign';
        nextNonSpace();
        pipe.decl.push(v.val);
        vars.push(v.val);
        break;
      }
      if (n.typ === 'char' && n.val === ',') {
        nextNonSpace();
        pipe.decl.push(v.val);
        vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const nv = peekNonSpace();
          if (nv.typ === 'variable') continue decls;
          fail('missing variable after comma', nv.pos);
        }
        fail(`too many declarations in ${context}`, n.pos);
      }
      if (after.typ === 'space') {
        backup(2);
      } else {
        backup();
      }
      break;
    }
    for (;;) {
      const it = nextNonSpace();
      if (it.typ === end) {
        if (pipe.cmds.length === 0) fail(`missing value for ${context}`, it.pos);
        pipe.cmds.slice(1).forEach((c, k) => {
          const t = c.args[0].type;
          if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') {
            fail(`non executable command in pipeline stage ${k + 2}`, c.pos);
          }
        });
        return pipe;
      }
      switch (it.typ) {
        case 'bool':
        case 'charConstant':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'nil':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          backup();
          pipe.cmds.push(command());
          break;
        default:
          unexpected(it, context);
      }
    }
  }
  function command(): CommandNode {
    const cmd: CommandNode = { pos: peekNonSpace().pos, args: [] };
    for (;;) {
      peekNonSpace();
      const op = operand();
      if (op) cmd.args.push(op);
      const it = next();
      if (it.typ === 'space') continue;
      if (it.typ === 'rightDelim' || it.typ === 'rightParen') backup();
      else if (it.typ !== 'pipe') unexpected(it, 'operand');
      break;
    }
    if (cmd.args.length === 0) fail('empty command', cmd.pos);
    return cmd;
  }
  function operand(): ArgNode | undefined {
    let node = term();
    if (!node) return undefined;
    if (peek().typ === 'field') {
      const fields: string[] = [];
      while (peek().typ === 'field') fields.push(next().val.slice(1));
      switch (node.type) {
        case 'field':
          node = { type: 'field', pos: node.pos, ident: [...node.ident, ...fields] };
          break;
        case 'variable':
          node = { type: 'variable', pos: node.pos, ident: [...node.ident, ...fields] };
          break;
        case 'bool':
        case 'string':
        case 'number':
        case 'nil':
        case 'dot':
          fail(`unexpected . after term ${JSON.stringify(nodeString(node))}`, node.pos);
          break;
        default:
          node = { type: 'chain', pos: node.pos, node, field: fields };
      }
    }
    return node;
  }
  function term(): ArgNode | undefined {
    const it = nextNonSpace();
    switch (it.typ) {
      case 'identifier':
        if (!hasFunction(it.val)) fail(`function "${it.val}" not defined`, it.pos);
        return { type: 'identifier', pos: it.pos, name: it.val };
      case 'dot':
        return { type: 'dot', pos: it.pos };
      case 'nil':
        return { type: 'nil', pos: it.pos };
      case 'variable': {
        const parts = it.val.split('.');
        if (!vars.includes(parts[0])) fail(`undefined variable "${parts[0]}"`, it.pos);
        return { type: 'variable', pos: it.pos, ident: [it.val] };
      }
      case 'field':
        return { type: 'field', pos: it.pos, ident: [it.val.slice(1)] };
      case 'bool':
        return { type: 'bool', pos: it.pos, value: it.val === 'true' };
      case 'charConstant':
      case 'number': {
        const n = parseNumber(it.val, it.pos, it.typ === 'charConstant');
        if (typeof n === 'string') return fail(n, it.pos);
        return n;
      }
      case 'leftParen': {
        enter(it.pos);
        const p = pipeline('parenthesized pipeline', 'rightParen');
        depth--;
        return p;
      }
      case 'string':
      case 'rawString': {
        const text = it.typ === 'rawString' ? it.val.slice(1, -1).replace(/\r/g, '') : unquote(it.val);
        if (text === undefined) fail('invalid syntax', it.pos);
        return { type: 'string', pos: it.pos, text: text!, quoted: it.val };
      }
    }
    backup();
    return undefined;
  }

  const { list } = itemList(true);
  return { source, root: list };
}
