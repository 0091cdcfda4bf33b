/**
 * Checks of a set of Kubernetes objects that their OpenAPI schemas cannot make (schema.ts checks the
 * shapes): names a cluster would refuse (DNS-1123 labels, at most 63), labels, a Deployment whose
 * selector does not select its own pods, a Service or an Ingress pointing at nothing, probes on ports the
 * container does not have, requests above limits, mounts of volumes that do not exist, ConfigMaps and
 * owners referred to but absent from the set. Pure: the objects in, the problems out (empty: none).
 */
import { parseQuantity } from '../../resources/quantity.js';
import { DNS1035_LABEL, DNS1123_LABEL, MAX_NAME } from './names.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** Kinds whose names become host names or DNS labels: at most 63 (a Deployment's name prefixes its pods'). */
const LABEL_NAMED = new Set(['Service', 'Deployment', 'StatefulSet', 'Namespace']);

/** `Kind/name` of an object, for messages. */
export const idOf = (o: Obj): string => `${String(o.kind)}/${String(obj(o.metadata).name)}`;

function checkLabels(where: string, labels: unknown, out: string[]): void {
  for (const [k, v] of Object.entries(obj(labels))) {
    const [prefix, name] = k.includes('/') ? [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)] : ['', k];
    if (prefix && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)))
      out.push(`${where}: label key "${k}" has an invalid prefix`);
    if (!name || name.length > 63 || !LABEL_NAME.test(name)) out.push(`${where}: label key "${k}" is invalid`);
    if (typeof v !== 'string' || v.length > 63 || (v !== '' && !LABEL_NAME.test(v)))
      out.push(
        `${where}: label ${k} has an invalid value ${JSON.stringify(v)} (at most 63 alphanumerics, '-', '_', '.')`,
      );
  }
}

const matches = (selector: Obj, labels: Obj) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

function checkResources(where: string, resources: unknown, out: string[]): void {
  const r = obj(resources);
  const limits = obj(r.limits);
  for (const [key, group] of [
    ['requests', obj(r.requests)],
    ['limits', limits],
  ] as const) {
    for (const [name, q] of Object.entries(group)) {
      if (quantity(q) === undefined)
        out.push(`${where}: resources.${key}.${name} is not a quantity: ${JSON.stringify(q)}`);
    }
  }
  for (const [name, q] of Object.entries(obj(r.requests))) {
    const req = quantity(q);
    const lim = limits[name] === undefined ? undefined : quantity(limits[name]);
    if (req !== undefined && lim !== undefined && req > lim)
      out.push(`${where}: resources.requests.${name} (${String(q)}) is above its limit (${String(limits[name])})`);
  }
}

/** A Kubernetes quantity as a number: parseQuantity's suffixes plus milli (`500m`, as CPU is written). */
function quantity(q: unknown): number | undefined {
  if (typeof q === 'string' && /^\d+(\.\d+)?m$/.test(q)) return Number(q.slice(0, -1)) / 1000;
  return parseQuantity(q);
}

function checkProbe(where: string, probe: unknown, ports: Set<string | number>, out: string[]): void {
  if (probe === undefined) return;
  const p = obj(probe);
  const handlers = ['httpGet', 'tcpSocket', 'exec', 'grpc'].filter((h) => p[h] !== undefined);
  if (handlers.length !== 1)
    out.push(`${where}: a probe needs exactly one handler, has ${handlers.join(', ') || 'none'}`);
  const port = obj(p.httpGet ?? p.tcpSocket).port;
  if (port !== undefined && !ports.has(port as string | number))
    out.push(`${where}: probes port ${JSON.stringify(port)}, which the container does not declare`);
  for (const f of ['periodSeconds', 'failureThreshold', 'timeoutSeconds'])
    if (p[f] !== undefined && !(Number(p[f]) >= 1)) out.push(`${where}: ${f} must be at least 1`);
}

function checkPodSpec(
  where: string,
  spec: Obj,
  configMaps: Set<string>,
  out: string[],
  claims: string[] = [],
): Map<string, Set<string | number>> {
  // A StatefulSet's volumeClaimTemplates are volumes of its pods too.
  const volumes = new Set([...arr(spec.volumes).map((v) => str(v.name)), ...claims]);
  for (const v of arr(spec.volumes)) {
    const cm = str(obj(v.configMap).name);
    if (cm && configMaps.size && !configMaps.has(cm))
      out.push(`${where}: volume ${String(v.name)} mounts ConfigMap ${cm}, which is not in the set`);
  }
  const portsByContainer = new Map<string, Set<string | number>>();
  const containers = [...arr(spec.initContainers), ...arr(spec.containers)];
  if (!arr(spec.containers).length) out.push(`${where}: no containers`);
  const names = new Set<string>();
  for (const c of containers) {
    const cw = `${where} container ${String(c.name)}`;
    if (names.has(String(c.name))) out.push(`${cw}: the name is used twice`);
    names.add(String(c.name));
    if (!str(c.image)) out.push(`${cw}: no image`);
    const ports = new Set<string | number>();
    for (const p of arr(c.ports)) {
      const n = Number(p.containerPort);
      if (!Number.isInteger(n) || n < 1 || n > 65535)
        out.push(`${cw}: containerPort ${String(p.containerPort)} is not 1-65535`);
      ports.add(n);
      if (p.name !== undefined) {
        const name = String(p.name);
        if (name.length > 15 || !IANA_SVC_NAME.test(name) || !/[a-z]/.test(name))
          out.push(`${cw}: port name "${name}" is not an IANA service name (at most 15, lower case)`);
        if (ports.has(name)) out.push(`${cw}: port name "${name}" is used twice`);
        ports.add(name);
      }
    }
    portsByContainer.set(String(c.name), ports);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'])
      checkProbe(`${cw} ${probe}`, c[probe], ports, out);
    checkResources(cw, c.resources, out);
    for (const m of arr(c.volumeMounts))
      if (!volumes.has(str(m.name))) out.push(`${cw}: mounts volume ${String(m.name)}, which the pod does not have`);
    const env = new Set<string>();
    for (const e of arr(c.env)) {
      if (env.has(String(e.name))) out.push(`${cw}: env ${String(e.name)} is set twice`);
      env.add(String(e.name));
    }
  }
  return portsByContainer;
}

/** The problems of a set of objects applied together (a function's, or an install's). */
export function semanticProblems(objects: Array<Record<string, unknown>>): string[] {
  const out: string[] = [];
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const configMaps = new Set(byKind('ConfigMap').map((o) => String(obj(o.metadata).name)));
  const uids = new Set<string>();
  const seen = new Set<string>();
  /** Pod labels and port names of each workload, for Services to select. */
  const workloads: Array<{ labels: Obj; ports: Set<string | number> }> = [];

  for (const o of objects) {
    const meta = obj(o.metadata);
    const name = str(meta.name) ?? '';
    const id = idOf(o);
    if (seen.has(id)) out.push(`${id}: appears twice`);
    seen.add(id);
    if (!name) out.push(`${id}: no name`);
    else if (
      LABEL_NAMED.has(String(o.kind))
        ? name.length > MAX_NAME || !DNS1123_LABEL.test(name)
        : name.length > 253 || !DNS1123_SUBDOMAIN.test(name)
    )
      out.push(
        `${id}: the name is not a DNS-1123 ${LABEL_NAMED.has(String(o.kind)) ? 'label of at most 63' : 'subdomain'}`,
      );
    if (o.kind === 'Service' && name && !DNS1035_LABEL.test(name))
      out.push(`${id}: a Service name must start with a letter`);
    checkLabels(id, meta.labels, out);
    if (typeof meta.uid === 'string') uids.add(meta.uid);

    if (o.kind === 'Deployment' || o.kind === 'StatefulSet') {
      const spec = obj(o.spec);
      const template = obj(spec.template);
      const podLabels = obj(obj(template.metadata).labels);
      checkLabels(`${id} pod template`, podLabels, out);
      const selector = obj(obj(spec.selector).matchLabels);
      if (!matches(selector, podLabels)) out.push(`${id}: spec.selector does not select the pod template's labels`);
      const claims = arr(spec.volumeClaimTemplates).map((c) => String(obj(c.metadata).name));
      const ports = checkPodSpec(`${id}`, obj(template.spec), configMaps, out, claims);
      workloads.push({ labels: podLabels, ports: new Set([...ports.values()].flatMap((s) => [...s])) });
      if (Number(spec.replicas) < 0) out.push(`${id}: replicas is negative`);
      if (
        o.kind === 'StatefulSet' &&
        spec.serviceName &&
        !byKind('Service').some((s) => obj(s.metadata).name === spec.serviceName)
      )
        out.push(`${id}: serviceName ${String(spec.serviceName)} is not a Service in the set`);
    }
  }

  for (const s of byKind('Service')) {
    const id = idOf(s);
    const spec = obj(s.spec);
    const selector = obj(spec.selector);
    const targets = workloads.filter((w) => matches(selector, w.labels));
    if (workloads.length && !targets.length) out.push(`${id}: its selector matches no pod template in the set`);
    const names = new Set<string>();
    for (const p of arr(spec.ports)) {
      const port = Number(p.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) out.push(`${id}: port ${String(p.port)} is not 1-65535`);
      if (p.nodePort !== undefined && !(Number(p.nodePort) >= 30000 && Number(p.nodePort) <= 32767))
        out.push(`${id}: nodePort ${String(p.nodePort)} is outside 30000-32767`);
      if (names.has(String(p.name))) out.push(`${id}: port name ${String(p.name)} is used twice`);
      names.add(String(p.name));
      const target = p.targetPort ?? p.port;
      if (targets.length && !targets.every((w) => w.ports.has(target as string | number)))
        out.push(`${id}: targetPort ${JSON.stringify(target)} is not a port of the pods it selects`);
    }
  }

  const services = new Map(byKind('Service').map((s) => [String(obj(s.metadata).name), s]));
  for (const ing of byKind('Ingress')) {
    const id = idOf(ing);
    for (const rule of arr(obj(ing.spec).rules)) {
      for (const path of arr(obj(rule.http).paths)) {
        const svc = obj(obj(path.backend).service);
        const target = services.get(String(svc.name));
        if (!target) {
          out.push(`${id}: backend Service ${String(svc.name)} is not in the set`);
          continue;
        }
        const port = obj(svc.port);
        const ports = arr(obj(target.spec).ports);
        if (!ports.some((p) => (port.name !== undefined ? p.name === port.name : p.port === port.number)))
          out.push(`${id}: backend port ${JSON.stringify(port)} is not a port of Service ${String(svc.name)}`);
        const p = String(path.path ?? '');
        if (!p.startsWith('/')) out.push(`${id}: path ${JSON.stringify(p)} must start with /`);
      }
    }
  }

  for (const h of byKind('HorizontalPodAutoscaler')) {
    const id = idOf(h);
    const spec = obj(h.spec);
    const ref = obj(spec.scaleTargetRef);
    if (!objects.some((o) => o.kind === ref.kind && obj(o.metadata).name === ref.name))
      out.push(`${id}: scaleTargetRef ${String(ref.kind)}/${String(ref.name)} is not in the set`);
    if (Number(spec.minReplicas ?? 1) < 1) out.push(`${id}: minReplicas must be at least 1`);
    if (Number(spec.maxReplicas) < Number(spec.minReplicas ?? 1)) out.push(`${id}: maxReplicas is below minReplicas`);
  }

  for (const rb of byKind('RoleBinding')) {
    const id = idOf(rb);
    const role = obj(rb.roleRef);
    if (role.kind === 'Role' && !byKind('Role').some((r) => obj(r.metadata).name === role.name))
      out.push(`${id}: roleRef Role/${String(role.name)} is not in the set`);
    for (const s of arr(rb.subjects))
      if (s.kind === 'ServiceAccount' && !byKind('ServiceAccount').some((a) => obj(a.metadata).name === s.name))
        out.push(`${id}: subject ServiceAccount/${String(s.name)} is not in the set`);
  }

  for (const o of objects)
    for (const ref of arr(obj(o.metadata).ownerReferences))
      if (!uids.has(String(ref.uid)) && !objects.some((x) => x.kind === ref.kind && obj(x.metadata).name === ref.name))
        out.push(`${idOf(o)}: owner ${String(ref.kind)}/${String(ref.name)} is not in the set`);
  return out;
}
