/**
 * The node's artifact cache on a container engine: a volume per artifact, filled once by the fetcher
 * (processor/fetch-artifact.ts) running in a short-lived container of the processor image — the way an
 * init container fills a pod's volume on a cluster — and mounted read-only into every replica of that
 * artifact. So a replica gets only its own artifact, cannot change it, and waking or restarting it fetches
 * nothing.
 *
 * The fetcher is given the artifact's URL on the dashboard, a credential for that artifact alone
 * (api/artifact-tokens.ts) and the digest of the archive the dashboard packed (build/artifact-archive.ts);
 * it refuses an archive with any other digest before extracting anything.
 */
import type Docker from 'dockerode';
import type { ArtifactArchives } from '../../builder/artifact-archive.js';
import type { ArtifactTokens } from '../../api/artifact-tokens.js';
import { FETCH_ENV } from '../../processor/artifact-cache.js';
import { lastLines } from './container-logs.js';
import { ARTIFACT_MOUNT, PIDS_LIMIT } from './container-spec.js';
import { engineMessage, engineStatus } from './engine.js';
import { LABELS, ROLES } from './labels.js';

/** A fetch that takes longer than this is stopped (the fetcher's own download timeout is 10 minutes). */
const FETCH_TIMEOUT_MS = 11 * 60_000;

export interface ArtifactVolumesOptions {
  dashboardId: string;
  /** The processor image's tag, once it exists (processor-image.ts). */
  image: (log?: (level: 'info' | 'warn' | 'error', message: string) => void) => Promise<string>;
  archives: ArtifactArchives;
  tokens: ArtifactTokens;
  /** The dashboard's URL as containers reach it. */
  dashboardUrl: () => Promise<string>;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** An artifact ready for replicas: the volume holding it and the digest it was fetched by. */
export interface CachedArtifact {
  volume: string;
  digest: string;
}

/** The volume name of an artifact's cache. Pure. */
export function volumeName(dashboardId: string, artifactId: string): string {
  return `protium-${dashboardId}-artifact-${artifactId}`;
}

export class ArtifactVolumes {
  private readonly pending = new Map<string, Promise<CachedArtifact>>();
  /** Volumes this run has filled (or found filled), by artifact: digest. */
  private readonly filled = new Map<string, string>();

  constructor(
    private readonly docker: Docker,
    private readonly opts: ArtifactVolumesOptions,
  ) {}

  /** The artifact in this node's cache, fetched first if it is not there yet. */
  ensure(artifactId: string): Promise<CachedArtifact> {
    const running = this.pending.get(artifactId);
    if (running) return running;
    const run = this.fill(artifactId).finally(() => this.pending.delete(artifactId));
    this.pending.set(artifactId, run);
    return run;
  }

  /**
   * Where the artifact will be cached, without filling the volume yet (a replica from the pool fetches its
   * own copy; `ensure` fills it before a container that mounts it is created).
   */
  async planned(artifactId: string): Promise<CachedArtifact> {
    const archive = await this.opts.archives.archive(artifactId);
    if (!archive)
      throw new Error(`The artifact ${artifactId} is not on the dashboard (any more): build the function again`);
    return { volume: volumeName(this.opts.dashboardId, artifactId), digest: archive.digest };
  }

  private async fill(artifactId: string): Promise<CachedArtifact> {
    const archive = await this.opts.archives.archive(artifactId);
    if (!archive)
      throw new Error(`The artifact ${artifactId} is not on the dashboard (any more): build the function again`);
    const volume = volumeName(this.opts.dashboardId, artifactId);
    if (this.filled.get(artifactId) === archive.digest) return { volume, digest: archive.digest };
    const labels = { [LABELS.dashboard]: this.opts.dashboardId, [LABELS.artifact]: artifactId };
    try {
      await this.docker.getVolume(volume).inspect();
    } catch (e) {
      if (engineStatus(e) !== 404)
        throw new Error(`Failed to look up the artifact volume ${volume}: ${engineMessage(e)}`, { cause: e });
      try {
        await this.docker.createVolume({ Name: volume, Labels: labels });
      } catch (e2) {
        if (engineStatus(e2) !== 409)
          throw new Error(`Failed to create the artifact volume ${volume}: ${engineMessage(e2)}`, { cause: e2 });
      }
    }
    const image = await this.opts.image();
    const url = `${await this.opts.dashboardUrl()}/api/artifacts/${artifactId}`;
    const started = Date.now();
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer({
        Image: image,
        Cmd: ['fetch'],
        Env: [
          `${FETCH_ENV.url}=${url}`,
          `${FETCH_ENV.token}=${this.opts.tokens.issue(artifactId)}`,
          `${FETCH_ENV.digest}=${archive.digest}`,
          `${FETCH_ENV.cache}=${ARTIFACT_MOUNT}`,
        ],
        Labels: { ...labels, [LABELS.role]: ROLES.fetch },
        // root without capabilities: it owns the new volume's root folder, and nothing else.
        User: '0:0',
        HostConfig: {
          Init: true,
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          ReadonlyRootfs: true,
          Tmpfs: { '/tmp': 'rw,nosuid,nodev' },
          PidsLimit: PIDS_LIMIT,
          Mounts: [{ Type: 'volume', Source: volume, Target: ARTIFACT_MOUNT, ReadOnly: false }],
        },
      });
    } catch (e) {
      throw new Error(`Failed to create the container that fetches artifact ${artifactId}: ${engineMessage(e)}`, {
        cause: e,
      });
    }
    try {
      await container.start();
      const timer = setTimeout(() => void container.kill().catch(() => {}), FETCH_TIMEOUT_MS);
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      clearTimeout(timer);
      const said = (await lastLines(this.docker, container, 20)).map((l) => {
        try {
          return String((JSON.parse(l) as { message?: string }).message ?? l);
        } catch {
          return l;
        }
      });
      if (StatusCode !== 0)
        throw new Error(
          said.length ? said.join('\n') : `The artifact fetch of ${artifactId} exited with code ${StatusCode}`,
        );
      this.opts.log(
        'info',
        `${said.at(-1) ?? 'Fetched the artifact'} (artifact ${artifactId}, ${Date.now() - started} ms)`,
      );
    } catch (e) {
      throw new Error(`Failed to fetch artifact ${artifactId} into the node's cache: ${engineMessage(e)}`, {
        cause: e,
      });
    } finally {
      await container.remove({ force: true }).catch(() => {});
    }
    this.filled.set(artifactId, archive.digest);
    return { volume, digest: archive.digest };
  }

  /** Removes the cache volumes of artifacts not in `keep` (the engine refuses those a container still uses). */
  async prune(keep: ReadonlySet<string>): Promise<string[]> {
    const { Volumes } = await this.docker.listVolumes({
      filters: { label: [`${LABELS.dashboard}=${this.opts.dashboardId}`] },
    });
    const removed: string[] = [];
    for (const v of Volumes ?? []) {
      const id = v.Labels?.[LABELS.artifact];
      if (!id || keep.has(id) || this.pending.has(id)) continue;
      try {
        await this.docker.getVolume(v.Name).remove();
        this.filled.delete(id);
        removed.push(v.Name);
      } catch {
        /* in use, or gone */
      }
    }
    return removed;
  }
}
