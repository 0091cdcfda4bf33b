import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isApiError } from '../errors.js';
import { validateFunctionSpec } from './function-validate.js';

describe("validateFunctionSpec(): spec.resources.limits.cpu (a container's CPU limit on the docker platform)", () => {
  for (const cpu of ['500m', '2', 0.5])
    it(`accepts ${JSON.stringify(cpu)}`, () => validateFunctionSpec({ resources: { limits: { cpu } } }));
  for (const cpu of ['lots', '2Gi', '0', -1, true]) {
    it(`refuses ${JSON.stringify(cpu)} with a 400 naming the field`, () => {
      assert.throws(
        () => validateFunctionSpec({ resources: { limits: { cpu } } }),
        (e) => isApiError(e, 'FIELD_MUST_BE') && e.field === 'spec.resources.limits.cpu' && e.status === 400,
      );
    });
  }
});
