/**
 * The contract of the hook execution engine: what a caller passes in ({@link HookContext},
 * {@link ExecutionDeps}) and what it gets back ({@link HookResult}) or throws (shared/errors.ts).
 */
import { AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, Exec, KubeConfig } from '@kubernetes/client-node';
import type { HookName, HookScope } from '../../shared/conditions.js';
import type { HookAction } from '../../shared/errors.js';
import type { Handler, TargetRef } from '../../shared/resources.js';
import type { Summary } from '../../shared/summary.js';
import type { NetworkGuardOptions } from './network-guard.js';

/** Where and for what a hook runs, resolved by the worker from the session. */
export interface HookContext {
  hookName: HookName;
  scope: HookScope;
  /** The session's namespace: Secrets, `executor.pod` and targets default to it. */
  namespace: string;
  /** Absent for global hooks. */
  target?: TargetRef;
  summary: Summary;
  /** Aborts every action still running (worker shutdown). */
  signal?: AbortSignal;
}

/** The Kubernetes clients the engine uses; build one with {@link kubeAccessFromConfig}. */
export interface KubeAccess {
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  /** Leases: Stash's leader lock says which replica runs a workload's hooks. */
  coordination: CoordinationV1Api;
  exec: Exec;
}

/** The Kubernetes clients of `kubeConfig`. */
export function kubeAccessFromConfig(kubeConfig: KubeConfig): KubeAccess {
  return {
    core: kubeConfig.makeApiClient(CoreV1Api),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    custom: kubeConfig.makeApiClient(CustomObjectsApi),
    coordination: kubeConfig.makeApiClient(CoordinationV1Api),
    exec: new Exec(kubeConfig),
  };
}

export type ExecutionLogLevel = 'debug' | 'info' | 'warn';
/** Receives only redacted text. */
export type ExecutionLog = (level: ExecutionLogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** I/O and limits the engine needs, passed in by the worker. */
export interface ExecutionDeps {
  kube: KubeAccess;
  /** Deny/allow CIDRs for HTTP and TCP; default deny-list when absent. */
  network?: NetworkGuardOptions;
  /** Hosts run at once when a hook fans out over pods. Default 10. */
  maxParallel?: number;
  /** Timeout of a hook without `timeoutSeconds`. Default 300. */
  defaultTimeoutSeconds?: number;
  log?: ExecutionLog;
  /**
   * Namespaces no hook from another namespace may act in, opt-in or not (DESIGN §11):
   * `--protected-namespaces`. Default `kube-system` only; the worker passes its own too.
   */
  protectedNamespaces?: readonly string[];
  /** User-Agent of HTTP hooks that set none (a hook's own User-Agent header is kept). */
  userAgent?: string;
  /**
   * Renders a Handler's templates (the worker's render pool: off the event loop, one budget per
   * hook); default: in-line with `renderHandler`.
   */
  render?: (handler: Handler, summary: Summary) => Promise<Handler>;
}

/** One host's outcome: a pod/container for exec, a URL for HTTP, `host:port` for TCP. */
export interface HostResult {
  action: HookAction;
  where: string;
  statusCode?: number;
  exitCode?: number;
  durationMs: number;
  /**
   * HTTP: the first 10 KiB of the body, secrets redacted. exec: empty — a command's output is kept
   * only when it fails, as the end of its stderr in the error (DESIGN §11 "Bounded and redacted").
   */
  output: string;
}

/** A hook that succeeded everywhere. Failures are thrown, never returned. */
export interface HookResult {
  ok: true;
  /** The actions run, in Stash's order. */
  actions: HookAction[];
  hosts: HostResult[];
  durationMs: number;
}

/** What every action runner gets besides its own spec. */
export interface ActionOptions {
  timeoutSeconds: number;
  /** Values that must never appear in a result, message or log. */
  secrets: readonly string[];
  signal?: AbortSignal;
}
