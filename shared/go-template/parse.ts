/**
 * Parser of Go's text/template syntax (Go 1.19 src/text/template/parse/parse.go): actions,
 * pipelines, declarations and assignments, parenthesised pipelines, field chains, `if`/`else if`/`else`/`end`, `range` with
 * `else`, `break` and `continue`, `with`/`else`. As in Go, an unknown function or an undeclared
 * variable is a parse error. `define`, `template` and `block` name other templates; a hook field
 * is one template, so they are rejected.
 */

import { GoParseError, lex, position } from './lex.js';
import type { Item, ItemType } from './lex.js';

export { GoParseError, position } from './lex.js';

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
      if (e === 'x')
        out += Buffer.from([cp]).toString('latin1') === String.fromCharCode(cp) && cp < 0x80 ? String.fromCharCode(cp) : String.fromCharCode(0xfffd);
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
      const it = peek();
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
