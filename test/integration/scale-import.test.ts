/**
 * A project import writes its functions many at once (issue 21); what it reports must not change with
 * that: every entry created or failed, failures in the bundle's order, a name given twice refused as an
 * existing one (once, whichever entry came second), the list answer from memory agreeing with the store.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { functionBody, startTestDashboard, type TestDashboard } from '../helpers/start-dashboard.js';
import type { FunctionRecord } from '../../src/resources/types.js';

const source = 'exports.handler = async () => "imported";';

describe('project import of many functions', () => {
  let d: TestDashboard;
  before(async () => {
    d = await startTestDashboard();
  });
  after(async () => {
    await d.close();
  });

  it('reports each failure once, in the bundle order, and stores every other function', async () => {
    const functions: Record<string, unknown> = {};
    for (let i = 0; i < 80; i++) {
      const body = functionBody(`many-${i}`, 'nodejs', source);
      functions[`many-${i}`] = { metadata: { name: body.metadata.name }, spec: body.spec };
    }
    // Entry 20 names function many-3 (given twice), entry 50 is no function, entry 70 an invalid name.
    functions['many-20'] = { metadata: { name: 'many-3' }, spec: functionBody('many-3', 'nodejs', source).spec };
    functions['many-50'] = 'not an object';
    functions['many-70'] = { metadata: { name: 'Not_A_Name' }, spec: functionBody('x', 'nodejs', source).spec };
    const res = await d.api<{
      functionImportResult: {
        createdAmount: number;
        failedAmount: number;
        failedFunctions: { function: string; error: string }[];
      };
    }>('POST', '/api/projects?import=true', {
      body: { project: { metadata: { name: 'p-many' }, spec: {} }, functions },
    });
    assert.equal(res.status, 201, res.text);
    const result = res.json.functionImportResult;
    assert.equal(result.createdAmount, 77);
    assert.equal(result.failedAmount, 3);
    assert.deepEqual(
      result.failedFunctions.map((f) => f.function),
      ['many-3', 'many-50', 'many-70'],
    );
    assert.equal(result.failedFunctions[0].error, 'Function name already exists');
    const list = await d.api<Record<string, FunctionRecord>>('GET', '/api/functions', {
      headers: { 'x-nuclio-project-name': 'p-many' },
    });
    const names = Object.keys(list.json).sort();
    const expected = Array.from({ length: 80 }, (_, i) => `many-${i}`)
      .filter((n) => !['many-20', 'many-50', 'many-70'].includes(n))
      .sort();
    assert.deepEqual(names, expected);
    // The same records through the store's path (the name filter reads the store).
    for (const name of ['many-0', 'many-3', 'many-79']) {
      const one = await d.api<Record<string, FunctionRecord>>('GET', '/api/functions', {
        headers: { 'x-nuclio-project-name': 'p-many', 'x-nuclio-function-name': name },
      });
      assert.deepEqual(one.json[name], list.json[name]);
    }
  });
});
