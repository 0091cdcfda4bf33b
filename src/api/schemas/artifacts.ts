/** The schema of the artifact endpoint (routes/artifacts.ts). */
import { routeSchema } from './route-schema.js';

export const artifactSchemas = {
  get: routeSchema({
    operationId: 'getArtifact',
    tag: 'Artifacts',
    summary: "An artifact's archive (an uncompressed tar), for the fetcher of a replica that runs it",
    description:
      "Needs a credential for this artifact (one a platform issued); the dashboard's token does not open it. " +
      "X-Protium-Artifact-Digest is the archive's SHA-256; the fetcher checks the bytes against the digest its " +
      'platform gave it, not against this header.',
    access: 'artifact',
    // No pattern on the id: a malformed one is refused like a credential for another artifact (401).
    params: { id: { type: 'string', description: 'The artifact id (32 hex digits: the content hash of its build)' } },
    success: {
      200: {
        description: 'The archive',
        content: { 'application/x-tar': { schema: { type: 'string', description: 'binary' } } },
        headers: {
          'X-Protium-Artifact-Digest': { type: 'string', description: "sha256:<hex> of the archive's bytes" },
        },
      },
    },
    errors: ['ARTIFACT_UNAUTHORIZED', 'ARTIFACT_NOT_FOUND'],
  }),
};
