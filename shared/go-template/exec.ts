/**
 * Executes a parsed Go template with text/template's semantics (Go 1.19
 * src/text/template/exec.go): variables and their scopes, field chains on structs and maps
 * (Stash renders with `missingkey=default`: a missing map key is `<no value>`, an unknown struct
 * field is an error), function calls with Go's argument conversion, pipelines, `if`/`with`/`range`
 * (maps in sorted key order) with `break`/`continue`, and printing as `fmt.Fprint` does.
 */
import { GoExecError, GoInt, GoList, GoMap, GoStruct, formatV, int, isTrue, typeName } from './values.js';
import type { GoValue } from './values.js';
import { GO_FUNCS, PARAM_TYPE_NAME } from './funcs.js';
import type { CallContext, ParamType } from './funcs.js';
import { nodeString, position } from './parse.js';
import type { ArgNode, CommandNode, GoTemplateTree, Node, PipeNode } from './parse.js';

/** An execution error with the position of the node that failed, as Go reports it. */
export class GoTemplateExecError extends Error {
  constructor(
    readonly detail: string,
    readonly line: number,
    readonly col: number,
    readonly at: string,
  ) {
    super(detail);
    this.name = 'GoTemplateExecError';
  }
}

/** Thrown when a template exceeds its work or output budget. */
export class GoBudgetError extends Error {}

/** Budget and clock for one execution. */
export interface ExecOptions extends CallContext {
  /** Maximum evaluation steps (nodes, commands, iterations). */
  maxSteps: number;
  /** Maximum output length in characters. */
  maxOutput: number;
}

const MISSING = Symbol('missing');
type Final = GoValue | typeof MISSING;

class Control {
  constructor(readonly kind: 'break' | 'continue') {}
}

/** Runs `tree` against `data`; returns the output. */
export function execute(tree: GoTemplateTree, data: GoValue, opts: ExecOptions): string {
  const vars: Array<{ name: string; value: GoValue }> = [{ name: '$', value: data }];
  let out = '';
  let steps = 0;
  // Where execution is, for error messages; the node is turned into text only when something fails.
  let atNode: { pos: number; node: ArgNode | string } = { pos: 0, node: '' };

  const step = () => {
    if (++steps > opts.maxSteps) throw new GoBudgetError(`more than ${opts.maxSteps} evaluation steps`);
  };
  const write = (s: string) => {
    out += s;
    if (out.length > opts.maxOutput) throw new GoBudgetError(`output longer than ${opts.maxOutput} characters`);
  };
  const at = (pos: number, node: ArgNode | string) => {
    atNode = { pos, node };
  };
  const fail = (msg: string): never => {
    const { line, col } = position(tree.source, atNode.pos);
    throw new GoTemplateExecError(msg, line, col, typeof atNode.node === 'string' ? atNode.node : nodeString(atNode.node));
  };
  /** Runs a function body, turning its GoExecError into Go's "error calling X: …". */
  const callFn = (name: string, fn: () => GoValue): GoValue => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof GoExecError) return fail(`error calling ${name}: ${err.message}`);
      throw err;
    }
  };

  function varValue(name: string): GoValue {
    for (let i = vars.length - 1; i >= 0; i--) if (vars[i].name === name) return vars[i].value;
    return fail(`undefined variable: ${name}`);
  }
  function setVar(name: string, value: GoValue): void {
    for (let i = vars.length - 1; i >= 0; i--) {
      if (vars[i].name === name) {
        vars[i].value = value;
        return;
      }
    }
    fail(`undefined variable: ${name}`);
  }

  function walkList(dot: GoValue, list: Node[]): void {
    for (const n of list) walk(dot, n);
  }

  function walk(dot: GoValue, node: Node): void {
    step();
    switch (node.type) {
      case 'text':
        write(node.text);
        return;
      case 'action': {
        const v = evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) {
          at(node.pipe.pos, node.pipe);
          write(printable(v));
        }
        return;
      }
      case 'if':
      case 'with': {
        const mark = vars.length;
        const v = evalPipeline(dot, node.pipe);
        if (isTrue(v)) {
          if (node.type === 'with') walkList(v, node.list);
          else walkList(dot, node.list);
        } else if (node.elseList) walkList(dot, node.elseList);
        vars.length = mark;
        return;
      }
      case 'range':
        walkRange(dot, node);
        return;
      case 'break':
      case 'continue':
        throw new Control(node.type);
    }
  }

  function walkRange(dot: GoValue, node: Extract<Node, { type: 'range' }>): void {
    const outer = vars.length;
    const val = evalPipeline(dot, node.pipe);
    const mark = vars.length;
    const one = (index: GoValue, elem: GoValue): boolean => {
      step();
      if (node.pipe.decl.length > 0) vars[mark - 1].value = elem;
      if (node.pipe.decl.length > 1) vars[mark - 2].value = index;
      try {
        walkList(elem, node.list);
        return true;
      } catch (err) {
        if (err instanceof Control) return err.kind === 'continue';
        throw err;
      } finally {
        vars.length = mark;
      }
    };
    let iterated = false;
    if (val instanceof GoList) {
      if (val.items.length > 0) {
        iterated = true;
        for (let i = 0; i < val.items.length; i++) if (!one(int(i), val.items[i])) break;
      }
    } else if (val instanceof GoMap) {
      if (val.entries.size > 0) {
        iterated = true;
        for (const k of val.sortedKeys()) if (!one(k, val.entries.get(k))) break;
      }
    } else if (val !== undefined && val !== null) {
      at(node.pipe.pos, node.pipe);
      fail(`range can't iterate over ${formatV(val)}`);
    }
    if (!iterated && node.elseList) walkList(dot, node.elseList);
    vars.length = outer;
  }

  function evalPipeline(dot: GoValue, pipe: PipeNode): GoValue {
    at(pipe.pos, pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = evalCommand(dot, cmd, value);
      // An interface{} holding nil becomes Go's invalid value once the command returns.
      if (value === null) value = undefined;
    }
    const v = value === MISSING ? undefined : value;
    for (const name of pipe.decl) {
      if (pipe.isAssign) setVar(name, v);
      else vars.push({ name, value: v });
    }
    return v;
  }

  function notAFunction(args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING) fail(`can't give argument to non-function ${nodeString(args[0])}`);
  }

  function evalCommand(dot: GoValue, cmd: CommandNode, final: Final): GoValue {
    step();
    const first = cmd.args[0];
    switch (first.type) {
      case 'field':
        at(first.pos, first);
        return evalFieldChain(dot, first.ident, cmd.args, final);
      case 'chain':
        return evalChain(dot, first, cmd.args, final);
      case 'identifier':
        return evalFunction(dot, first, cmd.args, final);
      case 'pipe':
        notAFunction(cmd.args, final);
        return evalPipeline(dot, first);
      case 'variable':
        return evalVariable(first, cmd.args, final);
    }
    at(first.pos, first);
    notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        return fail('nil is not a command');
      case 'number':
        return idealConstant(first);
      case 'string':
        return first.text;
    }
    return fail(`can't evaluate command ${nodeString(first)}`);
  }

  function idealConstant(n: Extract<ArgNode, { type: 'number' }>): GoValue {
    if (n.overflow) return fail(`${n.text} overflows int`);
    if (n.isChar) return int(n.int);
    if (n.isFloat && !/^[+-]?0[xX]/.test(n.text) && /[.eEpP]/.test(n.text)) return n.float;
    if (n.isInt) return int(n.int);
    return n.float;
  }

  function evalVariable(node: Extract<ArgNode, { type: 'variable' }>, args: ArgNode[], final: Final): GoValue {
    at(node.pos, node);
    const [name, ...fields] = node.ident.join('.').split('.');
    const value = varValue(name);
    if (fields.length === 0) {
      notAFunction(args, final);
      return value;
    }
    return evalFieldChain(value, fields, args, final);
  }

  function evalChain(dot: GoValue, chain: Extract<ArgNode, { type: 'chain' }>, args: ArgNode[], final: Final): GoValue {
    at(chain.pos, chain);
    if (chain.node.type === 'nil') fail(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = evalArg(dot, 'any', chain.node);
    return evalFieldChain(pipe, chain.field, args, final);
  }

  function evalFieldChain(receiver: GoValue, ident: string[], args: ArgNode[], final: Final): GoValue {
    const names = ident.flatMap((s) => s.split('.')).filter((s) => s !== '');
    for (let i = 0; i < names.length - 1; i++) receiver = evalField(names[i], [], MISSING, receiver);
    return evalField(names[names.length - 1], args, final, receiver);
  }

  function evalField(name: string, args: ArgNode[], final: Final, receiver: GoValue): GoValue {
    if (receiver === undefined) return undefined;
    if (receiver === null) return fail(`nil pointer evaluating interface {}.${name}`);
    const hasArgs = args.length > 1 || final !== MISSING;
    if (receiver instanceof GoStruct) {
      const f = receiver.field(name);
      if (f) {
        if (hasArgs) fail(`${name} has arguments but cannot be invoked as function`);
        return f.value;
      }
    } else if (receiver instanceof GoMap) {
      if (hasArgs) fail(`${name} is not a method but has arguments`);
      if (receiver.entries.has(name)) return receiver.entries.get(name);
      return undefined; // missingkey=default: the invalid value, printed <no value>
    }
    return fail(`can't evaluate field ${name} in type ${typeName(receiver)}`);
  }

  function evalFunction(dot: GoValue, node: Extract<ArgNode, { type: 'identifier' }>, args: ArgNode[], final: Final): GoValue {
    at(node.pos, node.name);
    const fn = GO_FUNCS[node.name];
    if (!fn) return fail(`"${node.name}" is not a defined function`);
    const given = args.slice(1);
    const numIn = given.length + (final !== MISSING ? 1 : 0);
    const numFixed = fn.variadic ? fn.params.length : given.length;
    if (fn.variadic) {
      if (numIn < fn.params.length) fail(`wrong number of args for ${node.name}: want at least ${fn.params.length} got ${given.length}`);
    } else if (numIn !== fn.params.length) {
      fail(`wrong number of args for ${node.name}: want ${fn.params.length} got ${numIn}`);
    }
    if (fn.builtin && (node.name === 'and' || node.name === 'or')) {
      let v: GoValue = undefined;
      for (const a of given) {
        v = evalArg(dot, 'value', a);
        if (isTrue(v) === (node.name === 'or')) return v;
      }
      if (final !== MISSING) v = validateType(final, 'value');
      return v;
    }
    const argv: GoValue[] = [];
    let i = 0;
    for (; i < numFixed && i < given.length; i++) argv.push(evalArg(dot, fn.params[i], given[i]));
    if (fn.variadic) for (; i < given.length; i++) argv.push(evalArg(dot, fn.variadic, given[i]));
    if (final !== MISSING) {
      let t: ParamType = fn.params[fn.params.length - 1];
      if (fn.variadic) t = numIn - 1 < numFixed ? fn.params[numIn - 1] : fn.variadic;
      argv.push(validateType(final, t));
    }
    at(node.pos, node.name);
    return callFn(node.name, () => fn.call(argv, opts));
  }

  /** text/template's validateType: checks (and converts) a computed value for a parameter. */
  function validateType(v: GoValue, t: ParamType): GoValue {
    if (v === undefined) {
      if (t === 'any') return null;
      if (t === 'map') return new GoMap(new Map());
      if (t === 'value') return undefined;
      return fail(`invalid value; expected ${PARAM_TYPE_NAME[t]}`);
    }
    const ok =
      t === 'any' ||
      t === 'value' ||
      (t === 'string' && typeof v === 'string') ||
      (t === 'bool' && typeof v === 'boolean') ||
      (t === 'float64' && typeof v === 'number') ||
      (t === 'int' && v instanceof GoInt && v.type === 'int') ||
      (t === 'map' && v instanceof GoMap && v.elem === 'any');
    if (!ok) fail(`wrong type for value; expected ${PARAM_TYPE_NAME[t]}; got ${v === null ? 'interface {}' : typeName(v)}`);
    return v;
  }

  function evalArg(dot: GoValue, t: ParamType, n: ArgNode): GoValue {
    at(n.pos, n);
    switch (n.type) {
      case 'dot':
        return validateType(dot, t);
      case 'nil':
        if (t === 'any' || t === 'value') return null;
        if (t === 'map') return new GoMap(new Map());
        return fail(`cannot assign nil to ${PARAM_TYPE_NAME[t]}`);
      case 'field':
        return validateType(evalFieldChain(dot, n.ident, [n], MISSING), t);
      case 'variable':
        return validateType(evalVariable(n, [], MISSING), t);
      case 'pipe':
        return validateType(evalPipeline(dot, n), t);
      case 'identifier':
        return validateType(evalFunction(dot, n, [n], MISSING), t);
      case 'chain':
        return validateType(evalChain(dot, n, [], MISSING), t);
    }
    switch (t) {
      case 'bool':
        if (n.type === 'bool') return n.value;
        return fail(`expected bool; found ${nodeString(n)}`);
      case 'float64':
        if (n.type === 'number' && n.isFloat) return n.float;
        return fail(`expected float; found ${nodeString(n)}`);
      case 'int':
        if (n.type === 'number' && n.isInt) return int(n.int);
        return fail(`expected integer; found ${nodeString(n)}`);
      case 'string':
        if (n.type === 'string') return n.text;
        return fail(`expected string; found ${nodeString(n)}`);
      case 'map':
        return fail(`can't handle ${nodeString(n)} for arg of type map[string]interface {}`);
    }
    // interface{} and reflect.Value: the literal's own Go value.
    if (n.type === 'bool') return n.value;
    if (n.type === 'string') return n.text;
    return idealConstant(n);
  }

  /** text/template's printValue: `<no value>` for the invalid value, else fmt.Fprint. */
  function printable(v: GoValue): string {
    if (v === undefined) return '<no value>';
    // printableValue dereferences a pointer first: `{{ . }}` prints {…}, not &{…}.
    return formatV(v, v instanceof GoStruct ? 1 : 0);
  }

  try {
    walkList(data, tree.root);
  } catch (err) {
    if (err instanceof Control) fail(`{{${err.kind}}} outside {{range}}`);
    throw err;
  }
  return out;
}
