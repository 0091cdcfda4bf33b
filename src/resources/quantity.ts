/**
 * Kubernetes resource quantities (`128Mi`, `1Gi`, `500M`, `0.5Gi`, `1e9`), as spec.resources uses them.
 * Only what memory limits need: a number with an optional binary or decimal suffix.
 */
const SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const QUANTITY = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/** Bytes of a quantity string (or number), or undefined when it is not one. */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = QUANTITY.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * 10 ** Number(m[2] ?? 0) * SUFFIX[m[3] ?? ''];
  return Number.isFinite(n) ? n : undefined;
}

/** The memory limit of a function spec in bytes (spec.resources.limits.memory), if set. */
export function memoryLimitBytes(resources: Record<string, unknown> | undefined): number | undefined {
  const limits = resources?.limits as Record<string, unknown> | undefined;
  return limits?.memory === undefined ? undefined : parseQuantity(limits.memory);
}

/** CPU cores of a quantity (`500m`, `0.5`, `2`, a number), or undefined when it is not one. */
export function parseCpu(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(m?)$/.exec(value.trim());
  return m ? Number(m[1]) / (m[2] ? 1000 : 1) : undefined;
}

/** spec.resources limits and requests: memory in bytes, cpu in cores (each when set and valid). */
export function resourceLimits(resources: Record<string, unknown> | undefined): {
  memory?: number;
  cpu?: number;
  memoryRequest?: number;
  cpuRequest?: number;
} {
  const limits = resources?.limits as Record<string, unknown> | undefined;
  const requests = resources?.requests as Record<string, unknown> | undefined;
  const out: { memory?: number; cpu?: number; memoryRequest?: number; cpuRequest?: number } = {};
  const memory = limits?.memory === undefined ? undefined : parseQuantity(limits.memory);
  const cpu = limits?.cpu === undefined ? undefined : parseCpu(limits.cpu);
  const memoryRequest = requests?.memory === undefined ? undefined : parseQuantity(requests.memory);
  const cpuRequest = requests?.cpu === undefined ? undefined : parseCpu(requests.cpu);
  if (memory) out.memory = memory;
  if (cpu) out.cpu = cpu;
  if (memoryRequest) out.memoryRequest = memoryRequest;
  if (cpuRequest) out.cpuRequest = cpuRequest;
  return out;
}
