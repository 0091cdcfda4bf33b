// Verifies `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw request body keyed with
// WEBHOOK_SECRET (the scheme GitHub and many others use), before trusting the payload.
const crypto = require('crypto');

function jsonResponse(context, status, doc) {
  return new context.Response(JSON.stringify(doc), {}, 'application/json', status);
}

// Header names may arrive in any case.
function getHeader(headers, name) {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(headers || {})) {
    if (key.toLowerCase() === wanted) return String(headers[key]);
  }
  return undefined;
}

// The signature covers the exact bytes sent. If the body was already decoded into an object,
// re-serialising it is the best we can do, and only matches compact JSON.
function rawBody(body) {
  if (Buffer.isBuffer(body)) return body;
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

exports.handler = function (context, event) {
  const secret = process.env.WEBHOOK_SECRET;
  if (!secret) {
    context.logger.error('WEBHOOK_SECRET is not set');
    return context.callback(jsonResponse(context, 500, { error: 'WEBHOOK_SECRET is not configured' }));
  }

  const header = getHeader(event.headers, 'X-Hub-Signature-256');
  const match = /^sha256=([0-9a-f]{64})$/i.exec((header || '').trim());
  if (!match) {
    context.logger.warn('Rejected webhook: missing or malformed X-Hub-Signature-256');
    return context.callback(jsonResponse(context, 401, { error: 'missing or malformed X-Hub-Signature-256 header' }));
  }

  const body = rawBody(event.body);
  const expected = crypto.createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(match[1], 'hex');
  // Constant-time comparison, so the response time leaks nothing about the right signature.
  if (!crypto.timingSafeEqual(expected, given)) {
    context.logger.warn('Rejected webhook: signature mismatch');
    return context.callback(jsonResponse(context, 401, { error: 'signature mismatch' }));
  }

  const eventName = getHeader(event.headers, 'X-GitHub-Event') || null;
  context.logger.infoWith('Verified webhook', { bytes: body.length, event: eventName });
  context.callback(jsonResponse(context, 200, { verified: true, bytes: body.length, event: eventName }));
};
