/**
 * What the API is built from: every part the composition root (dashboard.ts) hands to `buildApi`. Each
 * route group takes only the part it uses (a `Pick` of this), so its signature says what it touches.
 * Its own module, so that route groups import it without importing the server that imports them.
 */
import type { AsyncInvocations } from '../async/async-invocations.js';
import type { TemplateCatalog } from '../builder/template-catalog.js';
import type { Config } from '../config.js';
import type { BuildLogs } from '../controllers/build-log.js';
import type { FunctionDirectory } from '../invoke/function-directory.js';
import type { FunctionList } from './function-list.js';
import type { Invoker } from '../invoke/invoker.js';
import type { Logger } from '../log.js';
import type { Platform } from '../platform/platform.js';
import type { Store } from '../store/store.js';
import type { StreamService } from '../streams/stream-service.js';
import type { DashboardMetrics } from '../metrics/dashboard-metrics.js';
import type { Credentials } from './auth.js';
import type { ArtifactRouteDeps } from './routes/artifacts.js';

/** The parts the API is built from (dashboard.ts wires them). */
export interface ApiDeps {
  config: Config;
  store: Store;
  platform: Platform;
  /** Build logs, served beside replica logs as `nuclio-<ns>-<fn>-build`. */
  buildLogs: BuildLogs;
  invoker: Invoker;
  templates: TemplateCatalog;
  /** Function states and URLs in memory, for the invocation path. */
  directory: FunctionDirectory;
  /** Function records serialised in memory, for GET /api/functions. */
  functionList: FunctionList;
  /** The embedded stream service: /v3io/… and the shard lags of /api/v3io_streams. */
  streams: StreamService;
  /** Asynchronous invocations: queued on the invocation path, read and acted on at /api/function_invocations/ID. */
  asyncInvocations: AsyncInvocations;
  log: Logger;
  /** This host's addresses for external invocation URLs (`--external-ip`, else the platform's host addresses). */
  externalIps: () => string[];
  /** The token every route but the public ones requires, and the stream credential; undefined → no auth. */
  credentials?: Credentials;
  /** http://host:port of the API gateway listener, once it listens (for /api/frontend_spec). */
  gatewayUrl?: () => string | undefined;
  /** Artifact archives and the credentials for them: what replicas that do not share this disk fetch. */
  artifacts: ArtifactRouteDeps;
  /** The dashboard's metrics (`GET /metrics`, the charts, request counters); absent with --metrics off. */
  metrics?: DashboardMetrics;
}
