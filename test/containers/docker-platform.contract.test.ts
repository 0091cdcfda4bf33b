/**
 * The Platform contract (platform.contract.ts) run against the docker platform: real containers of the
 * processor image on the engine scripts/container-host.sh sets up, artifacts built by the real local
 * builder and fetched by the real fetcher from the real artifact endpoint (docker-subject.ts), a fresh data
 * dir per case. Everything a case made is removed by its dashboard id.
 */
import { describe, it } from 'node:test';
import { platformContract } from '../../src/platform/platform.contract.js';
import { dockerSubject } from './docker-subject.js';
import { DOCKER_HOST, engineMissing } from './engine.js';

const missing = await engineMissing();

if (missing) {
  describe('Platform contract: DockerPlatform', () => {
    it('runs against a container engine', { skip: missing }, () => {});
  });
} else {
  platformContract(`DockerPlatform (${DOCKER_HOST})`, dockerSubject);
}
