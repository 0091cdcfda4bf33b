/** API gateway bodies as tests send them. */

/** A gateway body: `upstreams` are [function, percentage?, rewriteTarget?]; `extra` is merged into the spec. */
export const gatewayBody = (
  name: string,
  host: string,
  path: string,
  upstreams: [string, number?, string?][],
  extra: Record<string, unknown> = {},
) => ({
  metadata: { name, labels: { 'nuclio.io/project-name': 'default' } },
  spec: {
    name,
    host,
    path,
    authenticationMode: 'none',
    upstreams: upstreams.map(([fn, pct, rewrite]) => ({
      kind: 'nucliofunction',
      nucliofunction: { name: fn },
      ...(pct === undefined ? {} : { percentage: pct }),
      ...(rewrite === undefined ? {} : { rewriteTarget: rewrite }),
    })),
    ...extra,
  },
});
