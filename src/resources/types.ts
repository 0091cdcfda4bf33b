/**
 * The resource types of the Nuclio dashboard API, as pure data.
 *
 * Field names are the JSON names on the wire. Every field is optional on input; the enrichment in
 * `function-enrich.ts` fills the ones Nuclio always emits. Nothing here imports I/O or platform types.
 */

/** Metadata shared by every resource. */
export interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Store-assigned version of the spec; a stale value on update or delete gives 409. */
  resourceVersion?: string;
  creationTimestamp?: string;
}

/** A Kubernetes-style environment variable (spec.env). */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

/** A trigger of a function. `attributes` is kind-specific. */
export interface Trigger {
  class: string;
  kind: string;
  name: string;
  disabled?: boolean;
  numWorkers?: number;
  maxWorkers?: number;
  url?: string;
  paths?: string[];
  username?: string;
  password?: string;
  secret?: string;
  workerAvailabilityTimeoutMilliseconds?: number;
  workerTerminationTimeout?: string;
  explicitAckMode?: string;
  annotations?: Record<string, string>;
  attributes?: Record<string, unknown>;
  [extra: string]: unknown;
}

/** spec.build: where the code comes from and how it is built. */
export interface BuildSpec {
  path?: string;
  functionSourceCode?: string;
  codeEntryType?: string;
  codeEntryAttributes?: Record<string, unknown>;
  commands?: string[];
  noCache?: boolean;
  image?: string;
  registry?: string;
  baseImage?: string;
  noBaseImagesPull?: boolean;
  offline?: boolean;
  timestamp?: number;
  buildTimeoutSeconds?: number;
  mode?: string;
  [extra: string]: unknown;
}

/** One scale-to-zero rule: idle for `windowSize` (Go duration) → scale to zero. */
export interface ScaleResource {
  metricName?: string;
  windowSize?: string;
  threshold?: number;
}

/**
 * spec.asyncInvocation: how the function's asynchronous invocations are retried (Protium's own field;
 * Nuclio has no asynchronous invocation).
 */
export interface AsyncInvocationSpec {
  /** Attempts an invocation gets before it becomes a dead letter (1 to 100; default 3). */
  maxAttempts?: number;
  /** Answers that are retried: statuses 400–599 and "4xx", "5xx" (default ["5xx", 408, 429]). */
  retryStatuses?: (number | '4xx' | '5xx')[];
}

/** spec of a function. Unknown fields are kept as given. */
export interface FunctionSpec {
  description?: string;
  disable?: boolean;
  handler?: string;
  runtime?: string;
  env?: EnvVar[];
  resources: Record<string, unknown>;
  image?: string;
  replicas?: number;
  minReplicas?: number;
  maxReplicas?: number;
  targetCPU?: number;
  triggers?: Record<string, Trigger>;
  version?: number;
  alias?: string;
  build: BuildSpec;
  runRegistry?: string;
  runtimeAttributes?: Record<string, unknown>;
  platform: { attributes?: Record<string, unknown> };
  readinessTimeoutSeconds?: number;
  scaleToZero?: { scaleResources?: ScaleResource[] };
  disableDefaultHTTPTrigger?: boolean;
  securityContext?: Record<string, unknown>;
  eventTimeout: string;
  asyncInvocation?: AsyncInvocationSpec;
  [extra: string]: unknown;
}

/** Function states (resources/function-state.ts says what each means). */
export type FunctionState =
  | 'waitingForBuild'
  | 'building'
  | 'waitingForResourceConfiguration'
  | 'waitingForScaleResourceFromZero'
  | 'waitingForScaleResourceToZero'
  | 'configuringResources'
  | 'ready'
  | 'error'
  | 'unhealthy'
  | 'scaledToZero'
  | 'imported';

/** One log record of a deploy (status.logs). */
export interface LogRecord {
  level: string;
  time: number;
  name?: string;
  message: string;
  [extra: string]: unknown;
}

/** status of a function. Every field is omitted when empty. */
export interface FunctionStatus {
  state?: FunctionState;
  message?: string;
  logs?: LogRecord[];
  httpPort?: number;
  internalInvocationUrls?: string[];
  externalInvocationUrls?: string[];
  apiGateways?: string[];
  containerImage?: string;
  scaleToZero?: { lastScaleEvent?: string; lastScaleEventTime?: string };
  [extra: string]: unknown;
}

export interface FunctionConfig {
  metadata: Meta;
  spec: FunctionSpec;
}

/** A function as stored and served: config plus status. */
export interface FunctionRecord extends FunctionConfig {
  status: FunctionStatus;
}

export interface ProjectSpec {
  description?: string;
  owner?: string;
  defaultFunctionNodeSelector?: Record<string, string>;
  [extra: string]: unknown;
}
export interface Project {
  metadata: Meta;
  spec: ProjectSpec;
  status: Record<string, unknown>;
}

export interface FunctionEventSpec {
  displayName?: string;
  triggerName?: string;
  triggerKind?: string;
  body?: string;
  attributes?: Record<string, unknown>;
  [extra: string]: unknown;
}
export interface FunctionEvent {
  metadata: Meta;
  spec: FunctionEventSpec;
}

export interface ApiGatewayUpstream {
  kind: string;
  nucliofunction?: { name: string };
  port?: number;
  percentage?: number;
  rewriteTarget?: string;
  extraAnnotations?: Record<string, string>;
  extraLabels?: Record<string, string>;
  [extra: string]: unknown;
}
export type AuthenticationMode = 'none' | 'basicAuth' | 'accessKey';
export interface ApiGatewaySpec {
  name?: string;
  host?: string;
  description?: string;
  path?: string;
  authenticationMode?: string;
  authentication?: { basicAuth?: { username?: string; password?: string }; [extra: string]: unknown };
  upstreams?: ApiGatewayUpstream[];
  [extra: string]: unknown;
}
export type ApiGatewayState = '' | 'ready' | 'error' | 'waitingForProvisioning';
export interface ApiGatewayStatus {
  name?: string;
  state?: ApiGatewayState;
  last_error?: string;
  description?: string;
  [extra: string]: unknown;
}
export interface ApiGateway {
  metadata: Meta;
  spec: ApiGatewaySpec;
  status: ApiGatewayStatus;
}

/** A reference to one function. */
export interface FunctionRef {
  namespace: string;
  name: string;
}

/** The labels every resource family uses. */
export const PROJECT_LABEL = 'nuclio.io/project-name';
export const FUNCTION_LABEL = 'nuclio.io/function-name';
export const DEFAULT_PROJECT = 'default';
