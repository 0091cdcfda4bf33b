/**
 * The checks of a function's source the API makes when the function is written, so that a source the
 * build would refuse is a 400 naming the field, not an `error` state later: a local path that leads out
 * of the source roots once links are followed, inline code that decodes to more than --max-source-size,
 * an inline zip whose directory already says it is over the limits. Only what is cheap is checked here
 * (a zip's directory, not a gzip's contents); the build checks again what it actually reads and writes.
 */
import yauzl from 'yauzl';
import { fieldError } from '../errors.js';
import { isBase64, sourceKind } from '../resources/function-source.js';
import type { FunctionSpec } from '../resources/types.js';
import { sniffArchive } from './archive.js';
import { filesLimitMessage, sizeLimitMessage, type SourceLimits } from './source-limits.js';
import { resolveLocalSource, type SourceRoots } from './source-path.js';

/** Throws INVALID_FIELD (400) for a source the build would refuse, when that is cheap to tell. */
export async function checkSourceAtEdge(
  spec: FunctionSpec,
  opts: { roots: SourceRoots; limits: SourceLimits },
): Promise<void> {
  const kind = sourceKind(spec);
  const b = spec.build ?? {};
  if (kind === 'local') {
    const resolved = await resolveLocalSource(b.path!, opts.roots);
    if ('refused' in resolved) throw fieldError('spec.build.path', resolved.refused);
    return;
  }
  if (kind !== 'inline' || !b.functionSourceCode || !isBase64(b.functionSourceCode)) return;
  const field = 'spec.build.functionSourceCode';
  const code = b.functionSourceCode;
  const chars = code.replace(/\s/g, '');
  const decodedBytes = (chars.length / 4) * 3 - (chars.endsWith('==') ? 2 : chars.endsWith('=') ? 1 : 0);
  if (decodedBytes > opts.limits.maxBytes) throw fieldError(field, sizeLimitMessage(`${field} (decoded)`, opts.limits));
  if (b.codeEntryType !== 'archive') return;
  const bytes = Buffer.from(code, 'base64');
  if (sniffArchive(bytes) !== 'zip') return;
  const declared = await zipDeclaredSize(bytes).catch(() => undefined);
  if (!declared) return; // a broken zip: the build says what is wrong with it
  if (declared.entries > opts.limits.maxFiles)
    throw fieldError(field, filesLimitMessage('The archive in spec.build.functionSourceCode', opts.limits));
  if (declared.bytes > opts.limits.maxBytes)
    throw fieldError(field, sizeLimitMessage('The archive in spec.build.functionSourceCode (expanded)', opts.limits));
}

/** What a zip's central directory declares: entries and total uncompressed bytes (a bomb may lie lower). */
function zipDeclaredSize(bytes: Buffer): Promise<{ entries: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      let total = 0;
      zip.on('entry', (e: yauzl.Entry) => {
        total += e.uncompressedSize;
        zip.readEntry();
      });
      zip.on('end', () => resolve({ entries: zip.entryCount, bytes: total }));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}
