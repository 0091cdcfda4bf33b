/** The schemas of the misc routes (routes/misc.ts) and of this document's own route (api-docs.ts). */
import { json, routeSchema } from './route-schema.js';
import type { JsonSchema } from './json-schema.js';

const strings: JsonSchema = { type: 'array', items: { type: 'string' } };

export const miscSchemas = {
  versions: routeSchema({
    operationId: 'getVersions',
    tag: 'Misc',
    summary: "The dashboard's version (public: clients probe it before they have a token)",
    access: 'public',
    success: {
      200: json('The version', {
        type: 'object',
        properties: {
          dashboard: {
            type: 'object',
            properties: {
              label: { type: 'string' },
              gitCommit: { type: 'string' },
              os: { type: 'string' },
              arch: { type: 'string' },
            },
          },
        },
      }),
    },
  }),
  externalIpAddresses: routeSchema({
    operationId: 'getExternalIpAddresses',
    tag: 'Misc',
    summary: 'The addresses external invocation URLs use',
    success: {
      200: json('The addresses', {
        type: 'object',
        properties: { externalIPAddresses: { type: 'object', properties: { addresses: strings } } },
      }),
    },
  }),
  namespaces: routeSchema({
    operationId: 'listNamespaces',
    tag: 'Misc',
    summary: 'The namespaces that hold resources, and the default one',
    success: {
      200: json('The namespaces', {
        type: 'object',
        properties: { namespaces: { type: 'object', properties: { names: strings } } },
      }),
    },
  }),
  frontendSpec: routeSchema({
    operationId: 'getFrontendSpec',
    tag: 'Misc',
    summary: 'What the web UI reads at start, and where API gateways are served',
    success: {
      200: json('The frontend spec', {
        type: 'object',
        properties: {
          externalIPAddresses: strings,
          namespace: { type: 'string' },
          platformKind: { type: 'string', enum: ['local'] },
          defaultFunctionConfig: { type: 'object' },
          scaleToZero: { type: 'object' },
          allowedAuthenticationModes: strings,
          apiGatewayListenUrl: {
            type: 'string',
            description: "http://host:port of the API gateway listener (Protium's own key)",
          },
        },
      }),
    },
  }),
  openapi: routeSchema({
    operationId: 'getOpenApiDocument',
    tag: 'Misc',
    summary: "This document (OpenAPI 3.1), generated from the routes' schemas",
    description: 'Public, as it describes the API and holds no data; /api/docs shows it.',
    access: 'public',
    success: { 200: json('The OpenAPI document', { type: 'object', properties: { openapi: { type: 'string' } } }) },
  }),
};
