/**
 * How deeply JSON nests, measured without recursion. A body like `[[[[…]]]]` a hundred thousand levels
 * deep parses fine (V8's JSON.parse is iterative) but then blows the stack of every recursive walk after
 * it — validation, JSON.stringify, structuredClone — so the dashboard refuses such bodies before parsing.
 * Pure.
 */

/** The deepest nesting of objects and arrays a request body may have (resources need fewer than 15). */
export const MAX_JSON_DEPTH = 128;

/**
 * The nesting depth of JSON text: the most `[`/`{` open at once outside strings. Scanning stops as soon
 * as `limit` is passed (the result is then `limit + 1`). Text that is not JSON gets some number; the
 * parser reports it.
 */
export function jsonTextDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Jump to the closing quote: one not preceded by an odd number of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j < 0) return max;
        let slashes = 0;
        while (text.charCodeAt(j - 1 - slashes) === 0x5c /* \ */) slashes++;
        if (slashes % 2 === 0) break;
      }
      i = j;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return max;
}

/**
 * The nesting depth of a value (objects and arrays), walking with a stack; stops past `limit`. Each
 * object is walked once, so shared and cyclic references (YAML aliases) end the walk too.
 */
export function valueDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let max = 0;
  const seen = new WeakSet<object>();
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (d + 1 > max) {
      max = d + 1;
      if (max > limit) return max;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}
