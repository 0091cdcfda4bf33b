/**
 * The resources of the dashboard API as JSON Schemas, shared by every route through `$ref` (`addSchema`
 * ids): functions, projects, function events, API gateways, templates, and the error body. They mirror
 * `resources/types.ts`: each `properties` map is typed with `KnownKeys` of its interface, so a field added
 * to a type and not here (or here and not there) does not compile.
 *
 * Requests are validated with these same schemas (Fastify's Ajv) before a handler runs, so the rule of
 * what to type is the handlers' own: a field the resource validators (`resources/*-validate.ts`,
 * `shape.ts`) check is typed here exactly as they check it — its type or null, its integer range — and
 * a field they do not check is described and left untyped, so that the schema never refuses a body the
 * handlers accept (`schemas-agree.test.ts` holds both to that). Name rules, durations, cron schedules,
 * quantities and the rules between fields stay in the validators, whose messages say more than a schema
 * keyword can. Unknown fields are always allowed: Nuclio clients send them.
 */
import { FUNCTION_STATES } from '../../resources/function-state.js';
import type {
  ApiGatewaySpec,
  ApiGatewayStatus,
  ApiGatewayUpstream,
  BuildSpec,
  EnvVar,
  FunctionEventSpec,
  FunctionSpec,
  FunctionStatus,
  LogRecord,
  Meta,
  ProjectSpec,
  ScaleResource,
  Trigger,
} from '../../resources/types.js';
import { ERRORS } from '../../errors.js';
import { keyedBy, orNull, ref, stringMap, type JsonSchema, type KnownKeys } from './json-schema.js';

const props = <T>(p: Record<KnownKeys<T>, JsonSchema>): Record<string, JsonSchema> => p;
const described = (description: string): JsonSchema => ({ description });
const intRange = (description: string, minimum: number, maximum?: number): JsonSchema =>
  orNull('integer', description, maximum === undefined ? { minimum } : { minimum, maximum });
const stringList = (description: string): JsonSchema => ({
  type: ['array', 'null'],
  description,
  items: { type: 'string' },
});

const Meta: JsonSchema = {
  $id: 'Meta',
  type: ['object', 'null'],
  description:
    'Identity and labels of a resource. `name` is required in every body (it identifies the resource); a missing ' +
    "`namespace` is the dashboard's (or the namespace header's).",
  properties: props<Meta>({
    name: orNull('string', 'The resource name (functions, projects and gateways: a DNS-1123 label)'),
    namespace: orNull('string', 'The namespace; the namespace header or the dashboard default when absent'),
    labels: stringMap(
      "Labels; `nuclio.io/project-name` names the project, `nuclio.io/function-name` an event's function",
    ),
    annotations: stringMap('Annotations'),
    resourceVersion: {
      type: ['string', 'number', 'null'],
      description: 'The stored version; a stale one on update or delete answers 409',
    },
    creationTimestamp: described('When the resource was created (RFC 3339), set by the dashboard'),
  }),
};

const EnvVar: JsonSchema = {
  $id: 'EnvVar',
  type: 'object',
  description: "An environment variable of the function's replicas",
  properties: props<EnvVar>({
    name: orNull('string', 'The variable name', { pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$' }),
    value: orNull('string', 'Its value'),
    valueFrom: described('A Kubernetes value source (secrets are redacted in exports)'),
  }),
};

const Trigger: JsonSchema = {
  $id: 'Trigger',
  type: 'object',
  description:
    'A trigger: http, cron, v3ioStream, nats, mqtt, rabbit-mq, kafka-cluster. `attributes` are kind-specific and ' +
    'checked by kind.',
  properties: props<Trigger>({
    class: described('Unused on this platform'),
    kind: orNull(
      'string',
      'http, cron, v3ioStream, nats, mqtt, rabbit-mq or kafka-cluster (other Nuclio kinds are kept and reported as ' +
        'not running)',
    ),
    name: orNull('string', 'The trigger name; must equal its key in spec.triggers'),
    disabled: described('true: the trigger does not run (boolean)'),
    numWorkers: intRange('Workers of this trigger (events handled at once per replica)', 0, 100_000),
    maxWorkers: intRange('Deprecated alias of numWorkers', 0, 100_000),
    url: described('The broker URL (message triggers, v3ioStream)'),
    paths: described('Topics, subjects or queues (message triggers), a list of strings'),
    username: described('Broker user name'),
    password: described('Broker password (redacted in exports)'),
    secret: described('Broker secret (redacted in exports)'),
    workerAvailabilityTimeoutMilliseconds: intRange('How long an event waits for a free worker before 503', 0),
    workerTerminationTimeout: described('A duration such as "10s"'),
    explicitAckMode: described('enable, disable or explicitOnly (stream triggers)'),
    annotations: described('Annotations of the trigger'),
    attributes: orNull(
      'object',
      'Kind-specific settings: http `port`; cron `schedule` or `interval` and `event`; broker settings',
    ),
  }),
};

const BuildSpec: JsonSchema = {
  type: ['object', 'null'],
  description: 'How the function is built: inline source, a URL, a local path or an archive, plus build commands',
  properties: props<BuildSpec>({
    path: orNull('string', 'Where the source is: a URL, a local path under --source-root, or an archive'),
    functionSourceCode: orNull('string', "The handler's source, base64-encoded"),
    codeEntryType: orNull('string', 'sourceCode, archive, s3, github, image'),
    codeEntryAttributes: orNull('object', 'Settings of the code entry type (redacted in exports)'),
    commands: stringList('Shell commands run in the staging folder before the build'),
    noCache: orNull('boolean', 'true: build again even when an artifact with the same content exists'),
    image: orNull('string', 'Image name (kept for Nuclio clients)'),
    registry: orNull('string', 'Registry (kept for Nuclio clients)'),
    baseImage: described('Base image (kept for Nuclio clients)'),
    noBaseImagesPull: described('Kept for Nuclio clients (boolean)'),
    offline: described('Kept for Nuclio clients (boolean)'),
    timestamp: described('When the build ran (Unix seconds), set by the dashboard'),
    buildTimeoutSeconds: intRange('How long the build may take', 1, 86_400),
    mode: described('neverBuild or alwaysBuild (kept for Nuclio clients)'),
  }),
};

const ScaleResource: JsonSchema = {
  type: 'object',
  properties: props<ScaleResource>({
    metricName: described('Unused on this platform'),
    windowSize: orNull('string', 'Idle for this long (a duration such as "5m") → scale to zero'),
    threshold: described('Unused on this platform'),
  }),
};

const FunctionSpec: JsonSchema = {
  $id: 'FunctionSpec',
  type: ['object', 'null'],
  description: 'What the function is and how it runs; unknown fields are kept as given',
  properties: props<FunctionSpec>({
    description: orNull('string', 'Free text'),
    disable: orNull('boolean', 'true: deployed but not serving (calls answer 503)'),
    handler: orNull(
      'string',
      'file:function, e.g. "main:handler" (python), "handler:handler" (nodejs), "main.sh:main" (shell)',
    ),
    runtime: orNull('string', 'nodejs, python, python:3.9 …, shell'),
    env: { type: ['array', 'null'], description: 'Environment variables of the replicas', items: ref('EnvVar') },
    resources: {
      type: ['object', 'null'],
      description: 'Kubernetes-style resources; limits.memory (a quantity of at least 16Mi) bounds a replica',
      properties: {
        limits: orNull('object', "limits.memory bounds a replica's memory"),
        requests: described('Requests (kept)'),
      },
    },
    image: orNull('string', 'The artifact to run, set by the build (protium/processor-<name>:<hash>)'),
    replicas: intRange('Fixed replica count', 0, 1000),
    minReplicas: intRange('Fewest replicas (0: scale to zero when idle)', 0, 100),
    maxReplicas: intRange('Most replicas', 0, 100),
    targetCPU: intRange('Autoscaling target CPU percentage', 0),
    triggers: {
      type: ['object', 'null'],
      description: 'Triggers keyed by name (an http trigger is added when none is declared)',
      additionalProperties: ref('Trigger'),
    },
    version: described('Function version (integer; -1: latest)'),
    alias: described('Version alias ("latest")'),
    build: BuildSpec,
    runRegistry: orNull('string', 'Registry to run from (kept for Nuclio clients)'),
    runtimeAttributes: orNull('object', 'Runtime-specific settings'),
    platform: orNull('object', 'Platform-specific settings (attributes)'),
    readinessTimeoutSeconds: intRange('How long a deploy waits for replicas to be ready', 0, 86_400),
    scaleToZero: {
      type: ['object', 'null'],
      description: 'When an idle function scales to zero',
      properties: { scaleResources: { type: ['array', 'null'], items: ScaleResource } },
    },
    disableDefaultHTTPTrigger: described('true: no default http trigger is added (boolean)'),
    securityContext: described('Kubernetes security context (kept)'),
    eventTimeout: orNull('string', 'How long an event may run (a duration such as "30s"); 408 after it'),
    asyncInvocation: {
      type: ['object', 'null'],
      description: "How the function's asynchronous invocations are retried (Protium's own field)",
      properties: {
        maxAttempts: intRange('Attempts before an invocation is a dead letter (default 3)', 1, 100),
        retryStatuses: {
          type: ['array', 'null'],
          description:
            'Answers that are retried (default ["5xx", 408, 429]); timeouts and connection errors always are',
          items: { anyOf: [{ type: 'integer', minimum: 400, maximum: 599 }, { enum: ['4xx', '5xx'] }] },
        },
      },
    },
  }),
};

const LogRecord: JsonSchema = {
  type: 'object',
  properties: props<LogRecord>({
    level: { type: 'string', description: 'debug, info, warn or error' },
    time: { type: 'number', description: 'Unix milliseconds' },
    name: { type: 'string', description: 'Who logged it' },
    message: { type: 'string' },
  }),
};

const FunctionStatus: JsonSchema = {
  $id: 'FunctionStatus',
  type: 'object',
  description: 'Where the function is in its lifecycle, written by the dashboard; ignored in requests',
  properties: props<FunctionStatus>({
    state: { type: 'string', enum: FUNCTION_STATES, description: 'The lifecycle state (resources/function-state.ts)' },
    message: { type: 'string', description: 'Why it is in error or unhealthy' },
    logs: { type: 'array', description: "The deploy's records, bounded", items: LogRecord },
    httpPort: { type: 'integer', description: 'The port it serves on (kept across updates and restarts)' },
    internalInvocationUrls: { type: 'array', items: { type: 'string' } },
    externalInvocationUrls: { type: 'array', items: { type: 'string' } },
    apiGateways: {
      type: 'array',
      items: { type: 'string' },
      description: 'Gateways that route to it (with X-Nuclio-Function-Enrich-Apigateways: true)',
    },
    containerImage: { type: 'string' },
    scaleToZero: {
      type: 'object',
      properties: { lastScaleEvent: { type: 'string' }, lastScaleEventTime: { type: 'string' } },
    },
  }),
};

const Function: JsonSchema = {
  $id: 'Function',
  type: 'object',
  description:
    'A function as stored and served. With ?export=true: the export form (no status, secrets blanked, skip-build ' +
    'annotations).',
  properties: { metadata: ref('Meta'), spec: ref('FunctionSpec'), status: ref('FunctionStatus') },
};

const FunctionBody: JsonSchema = {
  $id: 'FunctionBody',
  type: 'object',
  description: 'A function to create or update: metadata (name required) and spec; a status sent along is ignored',
  properties: { metadata: ref('Meta'), spec: ref('FunctionSpec'), status: described('Ignored') },
};

const Identity: JsonSchema = {
  $id: 'Identity',
  type: 'object',
  description:
    'The identity of the resource to delete: metadata.name (and namespace, resourceVersion); other fields are ignored',
  properties: { metadata: ref('Meta') },
};

const ProjectSpecSchema: JsonSchema = {
  type: ['object', 'null'],
  properties: props<ProjectSpec>({
    description: orNull('string', 'Free text'),
    owner: orNull('string', 'Who owns it'),
    defaultFunctionNodeSelector: stringMap('Kept for Nuclio clients'),
  }),
};

const Project: JsonSchema = {
  $id: 'Project',
  type: 'object',
  description: 'A project: a name space for functions and API gateways',
  properties: { metadata: ref('Meta'), spec: ProjectSpecSchema, status: described('Empty; ignored in requests') },
};

const FunctionEventSpecSchema: JsonSchema = {
  type: ['object', 'null'],
  properties: props<FunctionEventSpec>({
    displayName: orNull('string', 'Shown in the UI; the name when absent'),
    triggerName: orNull('string', 'The trigger it is sent to'),
    triggerKind: orNull('string', 'http (the default)'),
    body: orNull('string', 'The request body'),
    attributes: orNull('object', 'http: method, path, headers'),
  }),
};

const FunctionEvent: JsonSchema = {
  $id: 'FunctionEvent',
  type: 'object',
  description: 'A saved test event of a function (label nuclio.io/function-name)',
  properties: { metadata: ref('Meta'), spec: FunctionEventSpecSchema },
};

const Upstream: JsonSchema = {
  type: 'object',
  properties: props<ApiGatewayUpstream>({
    kind: orNull('string', 'nucliofunction (the only kind)'),
    nucliofunction: { type: ['object', 'null'], properties: { name: orNull('string', 'The function') } },
    port: intRange('The function port (kept for Nuclio clients)', 0, 65_535),
    percentage: intRange('Canary: the share of requests the second upstream gets', 0, 100),
    rewriteTarget: described('Kept for Nuclio clients'),
    extraAnnotations: described('Kept for Nuclio clients'),
    extraLabels: described('Kept for Nuclio clients'),
  }),
};

const ApiGatewaySpecSchema: JsonSchema = {
  type: ['object', 'null'],
  properties: props<ApiGatewaySpec>({
    name: orNull('string', 'Must equal metadata.name'),
    host: orNull('string', 'The Host it answers (required)'),
    description: orNull('string', 'Free text'),
    path: orNull('string', 'The path prefix it answers ("/" when absent)'),
    authenticationMode: orNull('string', 'none, basicAuth or accessKey'),
    authentication: {
      type: ['object', 'null'],
      description:
        'basicAuth: {username, password} when authenticationMode is basicAuth (the password is blanked in exports)',
      properties: { basicAuth: described('{username, password}') },
    },
    upstreams: {
      type: ['array', 'null'],
      description: 'One or two nucliofunction upstreams (two: a canary)',
      items: Upstream,
    },
  }),
};

const ApiGatewayStatusSchema: JsonSchema = {
  type: 'object',
  description: 'Written by the gateway controller',
  properties: props<ApiGatewayStatus>({
    name: { type: 'string' },
    state: { type: 'string', enum: ['', 'ready', 'error', 'waitingForProvisioning'] },
    last_error: { type: 'string', description: 'Why it is in error' },
    description: { type: 'string' },
  }),
};

const ApiGateway: JsonSchema = {
  $id: 'ApiGateway',
  type: 'object',
  description: 'An API gateway: a host and path routed to one or two functions',
  properties: { metadata: ref('Meta'), spec: ApiGatewaySpecSchema, status: ApiGatewayStatusSchema },
};

const ApiGatewayBody: JsonSchema = {
  $id: 'ApiGatewayBody',
  type: 'object',
  description: 'An API gateway to create or update; a status sent along is ignored',
  properties: { metadata: ref('Meta'), spec: ApiGatewaySpecSchema, status: described('Ignored') },
};

const FunctionTemplate: JsonSchema = {
  $id: 'FunctionTemplate',
  type: 'object',
  description:
    "A ready-made function: {metadata, spec} as the seed shows, and the same objects under `rendered`, as Nuclio's " +
    'UI reads them',
  properties: {
    metadata: { type: 'object', properties: { name: { type: 'string' } } },
    spec: ref('FunctionSpec'),
    rendered: { type: 'object', properties: { metadata: { type: 'object' }, spec: ref('FunctionSpec') } },
  },
};

const ErrorBody: JsonSchema = {
  $id: 'ErrorBody',
  type: 'object',
  description:
    'Every error answer (src/errors.ts, rendered by src/error-body.ts), with Content-Type: application/json and ' +
    'X-Protium-Internal: true',
  required: ['error', 'code'],
  properties: {
    error: { type: 'string', description: "What failed, in Nuclio's words where clients match them" },
    field: { type: 'string', description: 'The request field it is about, when there is one' },
    code: {
      type: 'string',
      enum: Object.keys(ERRORS),
      description: 'The stable code of the catalogue: test this, not the message',
    },
  },
};

/** Every shared schema, in the order `addSchema` needs (a schema after those it refers to). */
export const SHARED_SCHEMAS: readonly JsonSchema[] = [
  Meta,
  EnvVar,
  Trigger,
  FunctionSpec,
  FunctionStatus,
  Function,
  FunctionBody,
  Identity,
  Project,
  FunctionEvent,
  ApiGateway,
  ApiGatewayBody,
  FunctionTemplate,
  ErrorBody,
];

/** A list answer of functions, keyed by name. */
export const FUNCTION_MAP = keyedBy(ref('Function'), 'Functions keyed by name');
