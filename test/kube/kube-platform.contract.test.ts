/**
 * The Platform contract (platform.contract.ts) run against the kube platform over the fake API server
 * (kube-subject.ts): Deployments → ReplicaSets → pods whose containers are the real artifact fetcher and
 * the real processor, reached through the fake kube-proxy at the Service's address; a fresh server,
 * endpoint and data dir per case. The dashboard's Role (deploy/kubernetes/rbac.yaml) is enforced.
 */
import { platformContract } from '../../src/platform/platform.contract.js';
import { kubeSubject } from './kube-subject.js';

platformContract('KubePlatform (fake API server, processor pods)', () => kubeSubject());
