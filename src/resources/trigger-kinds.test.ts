import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isApiError } from '../errors.js';
import { validateFunctionSpec } from './function-validate.js';
import { OTHER_NUCLIO_TRIGGER_KINDS, RUN_TRIGGER_KINDS, triggerKindError } from './trigger-kinds.js';

describe('triggerKindError()', () => {
  for (const kind of [...RUN_TRIGGER_KINDS, ...OTHER_NUCLIO_TRIGGER_KINDS]) {
    it(`accepts Nuclio's kind ${kind}`, () => assert.equal(triggerKindError('spec.triggers.t.kind', kind), undefined));
  }
  const bad: [unknown, RegExp][] = [
    [
      'htp',
      /^spec\.triggers\.t\.kind "htp" is not a trigger kind: use one of http, cron, v3ioStream, nats, mqtt, rabbit-mq, rabbitMq, kafka-cluster, kafka \(run here\), or iotCoreMqtt, .* \(Nuclio's, accepted but not run here\)$/,
    ],
    ['HTTP', /"HTTP" is not a trigger kind/],
    ['', /^spec\.triggers\.t\.kind is missing: use one of http/],
    [undefined, /^spec\.triggers\.t\.kind is missing/],
  ];
  for (const [kind, msg] of bad) {
    it(`refuses ${JSON.stringify(kind)} naming the field and listing the kinds`, () =>
      assert.match(triggerKindError('spec.triggers.t.kind', kind) ?? '', msg));
  }
});

describe('validateFunctionSpec() and trigger kinds', () => {
  it('refuses an unknown kind with 400 naming spec.triggers.<key>.kind', () => {
    assert.throws(
      () => validateFunctionSpec({ triggers: { web: { kind: 'htp' } } }),
      (e: unknown) =>
        isApiError(e, 'INVALID_FIELD') &&
        e.status === 400 &&
        e.field === 'spec.triggers.web.kind' &&
        /"htp" is not a trigger kind/.test(e.message),
    );
  });
  it('refuses a trigger without a kind', () => {
    assert.throws(
      () => validateFunctionSpec({ triggers: { web: { attributes: {} } } }),
      /spec\.triggers\.web\.kind is missing/,
    );
  });
  it('accepts Nuclio kinds this platform does not run (a function exported from Nuclio keeps them)', () => {
    validateFunctionSpec({
      triggers: {
        k: { kind: 'kinesis', attributes: { streamName: 's' } },
        old: { kind: 'pubsub', attributes: { topic: 't' } },
      },
    });
  });
});
