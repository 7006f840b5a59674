/**
 * Every function a Go-dialect hook template can call: text/template's builtins (builtins.ts) and
 * the sprig functions plus `shellQuote` (sprig.ts).
 */
import { BUILTINS } from './builtins.js';
import { SPRIG } from './sprig.js';
import type { GoFunc } from './func-types.js';

export { PARAM_TYPE_NAME } from './func-types.js';
export type { CallContext, GoFunc, ParamType } from './func-types.js';
export { htmlEscape } from './builtins.js';
export { shellQuote, strval } from './sprig.js';

/** Every function a Go-dialect template may call, by name. */
export const GO_FUNCS: Record<string, GoFunc> = { ...BUILTINS, ...SPRIG };
