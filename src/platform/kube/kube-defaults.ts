/**
 * Defaults of the Kubernetes platform shared by the dashboard's flags, `protium kube manifests` and the
 * install manifests in deploy/kubernetes/.
 */
import { readFileSync } from 'node:fs';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The processor image the cluster pulls (built from images/processor and pushed where the cluster can pull it). */
export const DEFAULT_PROCESSOR_IMAGE = `protium-processor:${packageVersion()}`;

/** The dashboard's Service (deploy/kubernetes/) as pods of namespace `ns` reach it. */
export const DASHBOARD_SERVICE = 'protium-dashboard';
export const DASHBOARD_PORT = 8070;
export function dashboardServiceUrl(ns: string): string {
  return `http://${DASHBOARD_SERVICE}.${ns}.svc:${DASHBOARD_PORT}`;
}

/**
 * True when spec.image names a user's own image (run as given), not the record of a Protium build
 * (`protium/processor-<fn>:<id>`, builder.ts), which is no image at all.
 */
export function isUserImage(image: string | undefined): image is string {
  return !!image && !image.startsWith('protium/processor-');
}
