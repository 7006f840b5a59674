/**
 * TypeScript shapes of the Kubernetes resources stash-hooks reads and writes (DESIGN §3).
 *
 * They follow Stash's `stash.appscode.com/v1beta1` Go types field for field (JSON names), plus
 * our Handler additions (`timeoutSeconds`, `maxRetry`, `retryDelaySeconds`,
 * `insecureSkipTLSVerify`, `httpHeaders[].valueFrom`, `executor`). Every field the API server may
 * omit is optional: objects come from users and are validated by `hook-spec.ts`, not trusted.
 */

export const STASH_GROUP = 'stash.appscode.com';
export const STASH_VERSION = 'v1beta1';
export const STASH_API_VERSION = `${STASH_GROUP}/${STASH_VERSION}` as const;
export const APPCATALOG_GROUP = 'appcatalog.appscode.com';
export const APPCATALOG_API_VERSION = `${APPCATALOG_GROUP}/v1alpha1` as const;

/** Plural resource names of the Stash kinds, as served by the API. */
export const StashResource = {
  BackupConfiguration: 'backupconfigurations',
  BackupBatch: 'backupbatches',
  BackupSession: 'backupsessions',
  RestoreSession: 'restoresessions',
} as const;
export type StashKind = keyof typeof StashResource;

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
  finalizers?: string[];
}

/** `metav1.Condition`. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}
export type ConditionStatus = 'True' | 'False' | 'Unknown';

// ---- Handler (a hook) -------------------------------------------------------------------------

export interface SecretKeySelector {
  name: string;
  key: string;
}

export interface HTTPHeader {
  name: string;
  value?: string;
  /** Our addition: a header value read from a Secret at run time, never stored in Redis. */
  valueFrom?: { secretKeyRef: SecretKeySelector };
}

export interface ExecAction {
  command: string[];
}

export type IntOrString = number | string;

export interface HTTPGetAction {
  host?: string;
  port: IntOrString;
  path?: string;
  /** `HTTP` or `HTTPS` in any case (Stash lower-cases it); empty means HTTP (Stash leaves it to Go's URL, which fails). */
  scheme?: string;
  httpHeaders?: HTTPHeader[];
}

export interface FormEntry {
  key: string;
  values: string[];
}

export interface HTTPPostAction extends HTTPGetAction {
  body?: string;
  form?: FormEntry[];
}

export interface TCPSocketAction {
  host?: string;
  port: IntOrString;
}

export const ExecutorStrategy = { ExecuteOnOne: 'ExecuteOnOne', ExecuteOnAll: 'ExecuteOnAll' } as const;
export type ExecutorStrategy = (typeof ExecutorStrategy)[keyof typeof ExecutorStrategy];

/** Our addition, shaped like KubeStash's HookTemplate `executor.pod`. */
export interface PodExecutorSpec {
  /** Defaults to the session's namespace. */
  namespace?: string;
  /** A label selector string, e.g. `app=mysql,tier in (db)`. */
  selector: string;
  /** Default `ExecuteOnOne`. */
  strategy?: ExecutorStrategy;
}

export interface Handler {
  exec?: ExecAction;
  httpGet?: HTTPGetAction;
  httpPost?: HTTPPostAction;
  tcpSocket?: TCPSocketAction;
  containerName?: string;
  /** Our addition: bounds every action of the hook; default 300. */
  timeoutSeconds?: number;
  /** Our addition: retries of a failed hook; default 0. */
  maxRetry?: number;
  retryDelaySeconds?: number;
  /** Our addition: TLS is verified unless this is true. */
  insecureSkipTLSVerify?: boolean;
  executor?: { pod?: PodExecutorSpec };
}

export const ExecutionPolicy = {
  Always: 'Always',
  OnSuccess: 'OnSuccess',
  OnFailure: 'OnFailure',
  OnFinalRetryFailure: 'OnFinalRetryFailure',
} as const;
export type ExecutionPolicy = (typeof ExecutionPolicy)[keyof typeof ExecutionPolicy];

export interface PostHook extends Handler {
  executionPolicy?: ExecutionPolicy;
}

export interface BackupHooks {
  preBackup?: Handler;
  postBackup?: PostHook;
}

export interface RestoreHooks {
  preRestore?: Handler;
  postRestore?: PostHook;
}

// ---- Targets and invokers ----------------------------------------------------------------------

export interface TargetRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface BackupTarget {
  ref: TargetRef;
  paths?: string[];
  [extra: string]: unknown;
}

export interface BackupConfigurationSpec {
  target?: BackupTarget;
  hooks?: BackupHooks;
  /** A duration such as `30m`; bounds a session. */
  timeOut?: string;
  schedule?: string;
  paused?: boolean;
  [extra: string]: unknown;
}

export interface BackupConfiguration {
  apiVersion?: string;
  kind?: 'BackupConfiguration';
  metadata: ObjectMeta;
  spec: BackupConfigurationSpec;
}

export interface BackupBatchMember {
  target?: BackupTarget;
  hooks?: BackupHooks;
  [extra: string]: unknown;
}

export const ExecutionOrder = { Parallel: 'Parallel', Sequential: 'Sequential' } as const;
export type ExecutionOrder = (typeof ExecutionOrder)[keyof typeof ExecutionOrder];

export interface BackupBatchSpec {
  members?: BackupBatchMember[];
  hooks?: BackupHooks;
  executionOrder?: ExecutionOrder;
  timeOut?: string;
  schedule?: string;
  paused?: boolean;
  [extra: string]: unknown;
}

export interface BackupBatch {
  apiVersion?: string;
  kind?: 'BackupBatch';
  metadata: ObjectMeta;
  spec: BackupBatchSpec;
}

// ---- Sessions ----------------------------------------------------------------------------------

export const SessionPhase = {
  Pending: 'Pending',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Skipped: 'Skipped',
  Unknown: 'Unknown',
} as const;
export type SessionPhase = (typeof SessionPhase)[keyof typeof SessionPhase];

export const TargetPhase = {
  Pending: 'Pending',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
} as const;
export type TargetPhase = (typeof TargetPhase)[keyof typeof TargetPhase];

export const HostPhase = { Succeeded: 'Succeeded', Failed: 'Failed', Unknown: 'Unknown' } as const;
export type HostPhase = (typeof HostPhase)[keyof typeof HostPhase];

export interface HostStats {
  hostname: string;
  phase: HostPhase;
  duration?: string;
  error?: string;
  [extra: string]: unknown;
}

export interface BackupTargetStatus {
  ref: TargetRef;
  phase?: TargetPhase;
  totalHosts?: number;
  stats?: HostStats[];
  conditions?: Condition[];
}

export interface InvokerRef {
  apiGroup?: string;
  kind: 'BackupConfiguration' | 'BackupBatch' | string;
  name: string;
}

export interface BackupSession {
  apiVersion?: string;
  kind?: 'BackupSession';
  metadata: ObjectMeta;
  spec: {
    invoker?: InvokerRef;
    /** Retries left for this backup; `OnFinalRetryFailure` fires when it is 0. */
    retryLeft?: number;
  };
  status?: {
    phase?: SessionPhase;
    sessionDuration?: string;
    sessionDeadline?: string;
    targets?: BackupTargetStatus[];
    conditions?: Condition[];
  };
}

export interface RestoreTarget {
  ref: TargetRef;
  [extra: string]: unknown;
}

export interface RestoreSession {
  apiVersion?: string;
  kind?: 'RestoreSession';
  metadata: ObjectMeta;
  spec: {
    target?: RestoreTarget;
    hooks?: RestoreHooks;
    timeOut?: string;
    [extra: string]: unknown;
  };
  status?: {
    phase?: SessionPhase;
    totalHosts?: number;
    sessionDuration?: string;
    sessionDeadline?: string;
    stats?: HostStats[];
    conditions?: Condition[];
  };
}

export type Session = BackupSession | RestoreSession;
export type SessionKind = 'BackupSession' | 'RestoreSession';

// ---- AppBinding (appcatalog.appscode.com/v1alpha1) ---------------------------------------------

export interface AppBinding {
  apiVersion?: string;
  kind?: 'AppBinding';
  metadata: ObjectMeta;
  spec: {
    type?: string;
    clientConfig?: {
      url?: string;
      service?: { scheme?: string; name: string; port?: number; path?: string; query?: string };
      insecureSkipTLSVerify?: boolean;
      caBundle?: string;
    };
    [extra: string]: unknown;
  };
}

/**
 * Kinds whose pods host a target's hooks: the kinds stash `pkg/util/util.go` `BackupModel` backs
 * up with a sidecar (DeploymentConfig is OpenShift's `apps.openshift.io/v1`).
 */
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'DeploymentConfig'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
export function isWorkloadKind(kind: string): kind is WorkloadKind {
  return (WORKLOAD_KINDS as readonly string[]).includes(kind);
}

/** Where OpenShift serves DeploymentConfigs, for the custom objects API. */
export const DEPLOYMENT_CONFIG = { group: 'apps.openshift.io', version: 'v1', plural: 'deploymentconfigs' } as const;
