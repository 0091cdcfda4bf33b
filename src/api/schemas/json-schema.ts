/**
 * The small vocabulary the API's schemas are written in. Every schema here is read twice: by Fastify's Ajv
 * (draft-07), which validates requests with it, and by @fastify/swagger, which copies it into the OpenAPI
 * 3.1 document (JSON Schema 2020-12). So schemas use only the keywords both dialects read the same way:
 * `type` (a name or a list), `properties`, `additionalProperties`, `items` (one schema), `enum`, `minimum`,
 * `maximum`, `anyOf`, `allOf`, `$ref` (never with siblings) and the annotations `title`, `description`,
 * `examples`. Never `default` (Ajv would write it into the request: enrichment has one home, the
 * handlers) and never `additionalProperties: false` (Nuclio clients send fields we do not know).
 */

/** A JSON Schema, as these modules write one. */
export interface JsonSchema {
  $id?: string;
  $ref?: string;
  title?: string;
  description?: string;
  type?: JsonType | JsonType[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  enum?: readonly unknown[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  required?: string[];
  examples?: unknown[];
  /** OpenAPI response schemas: the media types of a body that is not JSON. */
  content?: Record<string, { schema: JsonSchema }>;
  /** OpenAPI response schemas: the headers of an answer. */
  headers?: Record<string, JsonSchema>;
}

export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

/**
 * The keys a TypeScript interface declares, without its index signature (`[extra: string]: unknown`):
 * a `properties` map typed `Record<KnownKeys<T>, JsonSchema>` must describe every field `T` declares and
 * no other, so `resources/types.ts` stays the source of truth and the compiler says when they part.
 */
export type KnownKeys<T> = keyof {
  [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K];
};

/** A reference to a shared schema (added with `addSchema`), by its `$id`. */
export const ref = (id: string): JsonSchema => ({ $ref: `${id}#` });

/**
 * A field as Nuclio (Go) reads it: of `type`, or null (Go reads null as the zero value, and so do the
 * handlers: `resources/shape.ts`).
 */
export function orNull(type: JsonType, description?: string, extra: JsonSchema = {}): JsonSchema {
  return { type: [type, 'null'], ...(description ? { description } : {}), ...extra };
}

/** A map of strings (labels, annotations, node selectors), or null. */
export function stringMap(description: string): JsonSchema {
  return { type: ['object', 'null'], description, additionalProperties: { type: 'string' } };
}

/** An object keyed by name (a list answer: Nuclio's lists are objects, never arrays). */
export function keyedBy(item: JsonSchema, description: string): JsonSchema {
  return { type: 'object', description, additionalProperties: item };
}

/** A string parameter (query, header, path): what the handler reads, validated there. */
export function text(description: string, examples?: string[]): JsonSchema {
  return { type: 'string', description, ...(examples ? { examples } : {}) };
}
