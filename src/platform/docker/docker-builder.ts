/**
 * The builder of the docker platform: the local builder (sources into content-addressed artifacts, build
 * commands in the processor image: container-build-commands.ts), with two differences.
 *
 * - Every build first makes sure the processor image exists on the engine, so that the first deploy's
 *   build log shows the image being built (it takes a while once) rather than a deploy that seems stuck.
 * - A function whose only source is `spec.image` naming an image of the user's own (not an artifact this
 *   dashboard built, `protium/processor-<fn>:<id>`) runs that image as given: its "artifact" is a reference
 *   to the image, with nothing to fetch (userImageArtifact).
 */
import { createHash } from 'node:crypto';
import { artifactIdOfImage } from '../../builder/artifact-gc.js';
import type { Artifact, BuildOptions, Builder } from '../../builder/builder.js';
import { sourceKind } from '../../resources/function-source.js';
import { runtimeFamily } from '../../resources/runtimes.js';
import type { FunctionConfig } from '../../resources/types.js';
import type { ProcessorImage } from './processor-image.js';

const USER_IMAGE_ID = /^image-[0-9a-f]{24}$/;

/** The artifact of a user's own image: no files, the image itself runs. Pure. */
export function userImageArtifact(image: string, runtime?: string, handler?: string): Artifact {
  const id = `image-${createHash('sha256').update(image).digest('hex').slice(0, 24)}`;
  return {
    id,
    image,
    runtime: runtime ?? '',
    family: runtimeFamily(runtime) ?? 'shell',
    handler: handler ?? '',
  };
}

/** True when an artifact is a user's image (userImageArtifact) rather than files this dashboard built. */
export function isUserImage(artifact: Pick<Artifact, 'id'>): boolean {
  return USER_IMAGE_ID.test(artifact.id);
}

/** The user's own image a function names as its only source, if it does. */
function userImageOf(fn: FunctionConfig): string | undefined {
  if (sourceKind(fn.spec) !== 'image') return undefined;
  const image = fn.spec.image || fn.spec.build?.image;
  return image && !artifactIdOfImage(image) ? image : undefined;
}

export class DockerBuilder implements Builder {
  constructor(
    private readonly inner: Builder,
    private readonly image: ProcessorImage,
  ) {}

  async build(fn: FunctionConfig, opts: BuildOptions = {}): Promise<Artifact> {
    const own = userImageOf(fn);
    if (own) {
      opts.onLog?.({
        time: Date.now(),
        level: 'info',
        message: `Running the image ${own} as given (spec.image): nothing to build`,
      });
      return userImageArtifact(own, fn.spec.runtime, fn.spec.handler);
    }
    await this.image.ensure((level, message) => opts.onLog?.({ time: Date.now(), level, message }));
    return this.inner.build(fn, opts);
  }

  async fromImage(image: string): Promise<Artifact | undefined> {
    if (!artifactIdOfImage(image)) return userImageArtifact(image);
    return this.inner.fromImage(image);
  }
}
