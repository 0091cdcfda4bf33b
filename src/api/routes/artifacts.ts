/**
 * The artifact endpoint: how a replica that does not share the dashboard's disk gets its code. `GET
 * /api/artifacts/<id>` answers the artifact's archive (an uncompressed tar, build/artifact-archive.ts)
 * with its digest in `X-Protium-Artifact-Digest`; the fetcher checks the bytes against the digest its
 * platform gave it, not against this header.
 *
 * Access 'artifact' (auth.ts): always — with or without a dashboard token — the caller must present a
 * credential for that artifact (artifact-tokens.ts), which a platform issues for the replicas it starts.
 * The dashboard's own token does not open it: nothing but a fetcher has a use for an archive.
 */
import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { apiError } from '../../errors.js';
import type { ArtifactArchives } from '../../builder/artifact-archive.js';
import type { ArtifactTokens } from '../artifact-tokens.js';
import { artifactSchemas as schemas } from '../schemas/artifacts.js';

export const ARTIFACT_DIGEST_HEADER = 'x-protium-artifact-digest';
const ID = /^[0-9a-f]{32}$/;

export interface ArtifactRouteDeps {
  archives: ArtifactArchives;
  tokens: ArtifactTokens;
}

/** The path of an artifact's archive on the dashboard. */
export const artifactPath = (id: string) => `/api/artifacts/${id}`;

export function artifactRoutes(app: FastifyInstance, deps: ArtifactRouteDeps): void {
  app.get<{ Params: { id: string } }>(
    '/api/artifacts/:id',
    { schema: schemas.get, config: { access: 'artifact' } },
    async (req, reply) => {
      const id = req.params.id;
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      // The same answer for an unknown id and a bad credential: ids are not disclosed to guessers.
      if (!ID.test(id) || !m || !deps.tokens.verify(id, m[1])) throw apiError('ARTIFACT_UNAUTHORIZED');
      const archive = await deps.archives.archive(id);
      if (!archive) throw apiError('ARTIFACT_NOT_FOUND', id);
      reply.header('content-type', 'application/x-tar');
      reply.header('content-length', archive.size);
      reply.header(ARTIFACT_DIGEST_HEADER, archive.digest);
      reply.header('cache-control', 'no-store');
      return reply.send(req.method === 'HEAD' ? '' : createReadStream(archive.path));
    },
  );
}
