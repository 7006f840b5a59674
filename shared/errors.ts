/**
 * The one error hierarchy of stash-hooks (CONVENTIONS "Errors").
 *
 * Every error carries a stable `code`; errors cross Redis as plain `{name, message}` and lose
 * their class, so callers test `code`/`name`, never `instanceof` across a queue boundary.
 * The original error, if any, is kept as `cause`.
 */

export const ErrorCode = {
  Config: 'ERR_CONFIG',
  HookSpec: 'ERR_HOOK_SPEC',
  Template: 'ERR_TEMPLATE',
  HookFailed: 'ERR_HOOK_FAILED',
  HookTimeout: 'ERR_HOOK_TIMEOUT',
  Target: 'ERR_TARGET',
  NetworkDenied: 'ERR_NETWORK_DENIED',
  NamespaceDenied: 'ERR_NAMESPACE_DENIED',
  Kubernetes: 'ERR_KUBERNETES',
  Redis: 'ERR_REDIS',
  NotImplemented: 'ERR_NOT_IMPLEMENTED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class StashHooksError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StashHooksError';
    this.code = code;
  }
}

/** A bad setting (flag or environment variable); `problems` lists every one found. */
export class ConfigError extends StashHooksError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(ErrorCode.Config, problems.length === 1 ? problems[0] : `invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A malformed hook spec; `problems` are `path: message` lines from `validateHandler`. */
export class HookSpecError extends StashHooksError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(ErrorCode.HookSpec, problems.join('; '));
    this.name = 'HookSpecError';
    this.problems = problems;
  }
}

/** A template that does not parse or names an unknown variable. */
export class TemplateError extends StashHooksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Template, message, options);
    this.name = 'TemplateError';
  }
}

export type HookAction = 'exec' | 'httpGet' | 'httpPost' | 'tcpSocket';

/** The hook ran and failed (non-2xx/3xx, exit code ≠ 0, port closed …). Final unless `maxRetry`. */
export class HookFailedError extends StashHooksError {
  readonly action?: HookAction;
  constructor(message: string, options?: { action?: HookAction; cause?: unknown }) {
    super(ErrorCode.HookFailed, message, options);
    this.name = 'HookFailedError';
    this.action = options?.action;
  }
}

/** The hook did not finish within its `timeoutSeconds`. */
export class HookTimeoutError extends StashHooksError {
  readonly action?: HookAction;
  constructor(message: string, options?: { action?: HookAction; cause?: unknown }) {
    super(ErrorCode.HookTimeout, message, options);
    this.name = 'HookTimeoutError';
    this.action = options?.action;
  }
}

/** Where the hook should run cannot be resolved: missing pod, container, port, AppBinding … */
export class TargetError extends StashHooksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Target, message, options);
    this.name = 'TargetError';
  }
}

/** The network guard refused a destination. */
export class NetworkDeniedError extends StashHooksError {
  constructor(message: string) {
    super(ErrorCode.NetworkDenied, message);
    this.name = 'NetworkDeniedError';
  }
}

/** The hook points at a namespace that has not opted in for the invoker's, or a protected one (DESIGN §11). */
export class NamespaceDeniedError extends StashHooksError {
  constructor(message: string) {
    super(ErrorCode.NamespaceDenied, message);
    this.name = 'NamespaceDeniedError';
  }
}

/** The Kubernetes API failed or is unreachable: infrastructure, retried by BullMQ. */
export class KubernetesApiError extends StashHooksError {
  readonly statusCode?: number;
  constructor(message: string, options?: { statusCode?: number; cause?: unknown }) {
    super(ErrorCode.Kubernetes, message, options);
    this.name = 'KubernetesApiError';
    this.statusCode = options?.statusCode;
  }
}

/** Redis failed or is unreachable: infrastructure, retried. */
export class RedisError extends StashHooksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Redis, message, options);
    this.name = 'RedisError';
  }
}

export class NotImplementedError extends StashHooksError {
  constructor(message: string) {
    super(ErrorCode.NotImplemented, message);
    this.name = 'NotImplementedError';
  }
}

/** Codes of failures that belong to the hook itself (final unless `maxRetry`), not to infrastructure. */
export const HOOK_OWN_FAILURE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.HookSpec,
  ErrorCode.Template,
  ErrorCode.HookFailed,
  ErrorCode.HookTimeout,
  ErrorCode.Target,
  ErrorCode.NetworkDenied,
  ErrorCode.NamespaceDenied,
]);

/** True when `err` is the hook's own failure rather than an infrastructure fault. */
export function isHookOwnFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && HOOK_OWN_FAILURE_CODES.has((err as { code?: string }).code ?? '');
}

/** The message of anything thrown, for conditions and logs. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
