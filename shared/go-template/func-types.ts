/**
 * What the template functions share: Go's parameter types (text/template converts and checks
 * arguments by type before a call) and the error a function body raises.
 */
import { GoExecError } from './values.js';
import type { GoValue } from './values.js';

/**
 * A parameter's Go type: `value` is reflect.Value (the builtins see the raw value), `any` is
 * interface{}, `map` is map[string]interface{}.
 */
export type ParamType = 'value' | 'any' | 'string' | 'bool' | 'int' | 'float64' | 'map';

/** Go's spelling of a parameter type, for "expected %s" messages. */
export const PARAM_TYPE_NAME: Record<ParamType, string> = {
  value: 'reflect.Value',
  any: 'interface {}',
  string: 'string',
  bool: 'bool',
  int: 'int',
  float64: 'float64',
  map: 'map[string]interface {}',
};

/** What a function needs at call time: the clock (`now`, `date`, `ago`). */
export interface CallContext {
  nowMs: number;
}

/** A template function: its Go signature (fixed parameters, then an optional variadic one) and body. */
export interface GoFunc {
  params: ParamType[];
  variadic?: ParamType;
  builtin?: boolean;
  call(args: GoValue[], ctx: CallContext): GoValue;
}

/** Fails the current call; the executor reports it as Go does: "error calling <name>: <msg>". */
export const fail = (msg: string): never => {
  throw new GoExecError(msg);
};

/** fmt flags with nothing set. */
export const NO_SPEC = { minus: false, plus: false, sharp: false, space: false, zero: false };
