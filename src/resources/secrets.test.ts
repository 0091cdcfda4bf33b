import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSecretName, isSecretValue, nameWords, redactEnv, redactSecrets } from './secrets.js';

describe('nameWords', () => {
  const cases: [string, string[]][] = [
    ['AWS_SECRET_ACCESS_KEY', ['aws', 'secret', 'access', 'key']],
    ['accessKeyID', ['access', 'key', 'id']],
    ['s3SecretAccessKey', ['s3', 'secret', 'access', 'key']],
    ['X-V3io-Session-Key', ['x', 'v3io', 'session', 'key']],
    ['nuclio.io/kafka-sasl-password', ['nuclio', 'io', 'kafka', 'sasl', 'password']],
    ['HTTPServerURL', ['http', 'server', 'url']],
    ['', []],
  ];
  for (const [name, words] of cases) {
    it(`nameWords(${JSON.stringify(name)}) is ${JSON.stringify(words)}`, () =>
      assert.deepEqual(nameWords(name), words));
  }
});

describe('isSecretName', () => {
  const secret = [
    // the examples
    'AWS_SECRET_ACCESS_KEY',
    'SECRET_KEY',
    'password',
    'accessKey',
    'Authorization',
    // their kind
    'DB_PASSWORD',
    'MYSQL_ROOT_PASSWORD',
    'DB_PASS',
    'PGPASSWD',
    'pwd',
    'passphrase',
    'GITHUB_TOKEN',
    'token',
    'authToken',
    'API_KEY',
    'apiKey',
    'APIKEY',
    'x-api-key',
    'X-V3io-Session-Key',
    'PRIVATE_KEY',
    'privateKey',
    'ENCRYPTION_KEY',
    'accessKeyID',
    'secretAccessKey',
    's3SecretAccessKey',
    's3SessionToken',
    'clientSecret',
    'secret',
    'SECRETS',
    'GOOGLE_APPLICATION_CREDENTIALS_JSON',
    'credentials',
    'creds',
    'Cookie',
    'Proxy-Authorization',
    'caCert',
    'accessCertificate',
    'nuclio.io/kafka-sasl-password',
    'nuclio.io/kafka-access-key',
    'nuclio.io/kafka-ca-cert',
    'PARTITION_KEY',
  ];
  const notSecret = [
    'DATABASE_URL',
    'MODE',
    'username',
    'user',
    'key',
    'keys',
    'KEYBOARD_LAYOUT',
    'MONKEY',
    'TOKENIZERS_PARALLELISM',
    'secretName',
    'secretKeyRef',
    'TOKEN_FILE',
    'passwordPath',
    'SECRET_DIR',
    'authenticationMode',
    'basicAuth',
    'bypass',
    'passthrough',
    'name',
    'url',
    'host',
    'brokers',
    'topics',
    'tokenEnabled',
    '',
  ];
  for (const name of secret)
    it(`isSecretName(${JSON.stringify(name)}) is true`, () => assert.equal(isSecretName(name), true));
  for (const name of notSecret)
    it(`isSecretName(${JSON.stringify(name)}) is false`, () => assert.equal(isSecretName(name), false));
});

describe('isSecretValue', () => {
  const secret = [
    'postgres://app:hunter2@db.internal:5432/app',
    'redis://:hunter2@cache:6379/0',
    'https://ghp_abc123@github.com/org/repo.git',
    'amqp://guest:guest@localhost',
    'pip install --index-url https://user:pw@pypi.example.com/simple x',
    '-----BEGIN RSA PRIVATE KEY-----\nMIIE...',
    '-----BEGIN PRIVATE KEY-----',
    'Server=db;Database=app;User Id=sa;Password=hunter2;',
    'host=db user=app pwd=hunter2',
  ];
  const notSecret = [
    'postgres://db.internal:5432/app',
    'http://127.0.0.1:8070/bigdata/orders@workers',
    'https://example.com/a@b',
    'user@example.com',
    'fast',
    '-----BEGIN CERTIFICATE-----',
    'the password is not here',
    '',
  ];
  for (const v of secret)
    it(`isSecretValue(${JSON.stringify(v.slice(0, 40))}) is true`, () => assert.equal(isSecretValue(v), true));
  for (const v of notSecret)
    it(`isSecretValue(${JSON.stringify(v)}) is false`, () => assert.equal(isSecretValue(v), false));
});

describe('redactSecrets', () => {
  it("redactSecrets() blanks trigger passwords, sasl.password, accessKey and a cron event's Authorization header, and keeps the rest", () => {
    const triggers = {
      kafka: {
        kind: 'kafka-cluster',
        username: 'u',
        password: 'p@ss',
        attributes: {
          brokers: ['b:9092'],
          sasl: {
            enable: true,
            user: 'u',
            password: 'sasl-pw',
            oauth: { clientSecret: 'cs', tokenURL: 'https://idp' },
          },
          accessKey: 'ak',
          caCert: 'PEM',
        },
      },
      v3io: {
        kind: 'v3ioStream',
        attributes: { password: 'v3-pw', url: 'http://host/container/path@group', numPartitions: 4 },
      },
      cron: {
        kind: 'cron',
        attributes: {
          interval: '1h',
          event: { body: 'hi', headers: { Authorization: 'Bearer t0k3n', 'Content-Type': 'text/plain' } },
        },
      },
      ref: { kind: 'kafka', password: '$ref:/spec/triggers/ref/password' },
    };
    assert.deepEqual(redactSecrets(triggers), {
      kafka: {
        kind: 'kafka-cluster',
        username: 'u',
        password: '',
        attributes: {
          brokers: ['b:9092'],
          sasl: { enable: true, user: 'u', password: '', oauth: { clientSecret: '', tokenURL: '' } },
          accessKey: '',
          caCert: '',
        },
      },
      v3io: {
        kind: 'v3ioStream',
        attributes: { password: '', url: 'http://host/container/path@group', numPartitions: 4 },
      },
      cron: {
        kind: 'cron',
        attributes: {
          interval: '1h',
          event: { body: 'hi', headers: { Authorization: '', 'Content-Type': 'text/plain' } },
        },
      },
      ref: { kind: 'kafka', password: '$ref:/spec/triggers/ref/password' },
    });
  });

  it('redactSecrets() blanks strings, numbers and lists under a secret name, looks into objects field by field, and blanks secret values under any name', () => {
    assert.deepEqual(
      redactSecrets({
        credentials: { user: 'u', pass: 'p', port: 5432 },
        pin: { password: 1234 },
        tokens: ['t1', 't2'],
        dsn: 'mysql://u:p@h/db',
        list: ['a', 'https://t@h'],
      }),
      {
        credentials: { user: 'u', pass: '', port: 5432 },
        pin: { password: '' },
        tokens: ['', ''],
        dsn: '',
        list: ['a', ''],
      },
    );
  });

  it("redactSecrets() keeps an API gateway's user name and blanks its basic-auth password", () => {
    const spec = {
      host: 'h',
      path: '/',
      authenticationMode: 'basicAuth',
      authentication: { basicAuth: { username: 'ann', password: 's3cret' } },
      upstreams: [{ kind: 'nucliofunction', nucliofunction: { name: 'f' } }],
    };
    assert.deepEqual(redactSecrets(spec), {
      ...spec,
      authentication: { basicAuth: { username: 'ann', password: '' } },
    });
  });

  it('redactSecrets() leaves Kubernetes-style names and keys (volumes, selectors) alone', () => {
    const volumes = [
      {
        volume: { name: 'v', secret: { secretName: 'db', items: [{ key: 'password', path: 'pw' }] } },
        volumeMount: { name: 'v', mountPath: '/s' },
      },
    ];
    assert.deepEqual(redactSecrets(volumes), volumes);
  });

  it('redactSecrets() does not change its input', () => {
    const input = { password: 'x' };
    redactSecrets(input);
    assert.deepEqual(input, { password: 'x' });
  });
});

describe('redactEnv', () => {
  it('redactEnv() blanks secret names and secret values (a DATABASE_URL holding a password), keeps the rest and valueFrom', () => {
    const env = [
      { name: 'AWS_SECRET_ACCESS_KEY', value: 'aws' },
      { name: 'SECRET_KEY', value: 'django' },
      { name: 'DATABASE_URL', value: 'postgres://app:hunter2@db/app' },
      { name: 'PUBLIC_URL', value: 'https://example.com' },
      { name: 'MODE', value: 'fast' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      { name: 'EMPTY_TOKEN', value: '' },
    ];
    assert.deepEqual(redactEnv(env), [
      { name: 'AWS_SECRET_ACCESS_KEY', value: '' },
      { name: 'SECRET_KEY', value: '' },
      { name: 'DATABASE_URL', value: '' },
      { name: 'PUBLIC_URL', value: 'https://example.com' },
      { name: 'MODE', value: 'fast' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      { name: 'EMPTY_TOKEN', value: '' },
    ]);
  });
});
