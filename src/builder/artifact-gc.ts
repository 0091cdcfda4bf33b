/**
 * Which artifacts to collect: pure decisions over names and references, kept apart from the I/O of the
 * artifact store (artifact-store.ts) and its scheduling (controllers/artifact-collector.ts).
 *
 * An artifact is kept while any of these holds: a stored function refers to it (spec.image or
 * spec.build.image — two functions may share one), a replica runs or drains from it, or a build in
 * progress chose it (to reuse or to publish). Everything else under `artifacts/` named like an artifact
 * goes; folders with other names (staging folders of builds in progress) are never touched here.
 */
import { ARTIFACT_ID } from './artifact-layout.js';

const IMAGE_ID = /:([0-9a-f]{32})$/;

/** The artifact id an image name refers to (`protium/processor-<fn>:<id>`), if it names one. */
export function artifactIdOfImage(image: string | undefined): string | undefined {
  return image ? IMAGE_ID.exec(image)?.[1] : undefined;
}

/** The artifact ids stored functions refer to. */
export function referencedArtifacts(
  functions: Iterable<{ spec?: { image?: string; build?: { image?: string } } }>,
): Set<string> {
  const out = new Set<string>();
  for (const fn of functions) {
    for (const image of [fn.spec?.image, fn.spec?.build?.image]) {
      const id = artifactIdOfImage(image);
      if (id) out.add(id);
    }
  }
  return out;
}

/** The entries of the artifacts folder to remove: artifact ids not in `keep`, in a stable order. */
export function artifactsToCollect(present: Iterable<string>, keep: ReadonlySet<string>): string[] {
  return [...present].filter((name) => ARTIFACT_ID.test(name) && !keep.has(name)).sort();
}
