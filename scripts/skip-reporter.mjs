// A node:test reporter that writes one JSON line per skipped test or suite ({file, name, reason}) to its
// destination. scripts/run-tests.mjs runs it beside the visible reporter to list skips in the summary and,
// in CI, to fail the run on them: a suite that skipped itself tested nothing.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (
      (event.type === 'test:pass' || event.type === 'test:fail') &&
      event.data.skip !== undefined &&
      event.data.skip !== false
    ) {
      const { file, name, skip } = event.data;
      yield (
        JSON.stringify({ file: file ?? '', name, reason: typeof skip === 'string' ? skip : '(no reason given)' }) + '\n'
      );
    }
  }
}
