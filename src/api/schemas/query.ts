/**
 * The query parameters routes read, each described once. Values are strings (a repeated parameter is a
 * list, which the schema refuses with INVALID_QUERY); what a value means is the handler's rule.
 */
import { text, type JsonSchema } from './json-schema.js';

const BOOL = " (true, 1, t, TRUE, True: as Go's strconv.ParseBool; anything else is false)";

export const EXPORT: Record<string, JsonSchema> = {
  export: text(`true: answer the export form${BOOL}`, ['true']),
  includeSecrets: text(`true: keep secrets in the export (blanked otherwise)${BOOL}`, ['true']),
};

/** The `name` path parameter of a resource. */
export const NAME_PARAM = (what: string): Record<string, JsonSchema> => ({ name: text(`The ${what}'s name`) });
