// Adds {"value": N, "unit": "<unit>"} to the current time and answers the result as an ISO 8601 string,
// like Nuclio's moment.js-based "dates" example, but with plain Date arithmetic.

// Units of fixed length, in milliseconds.
const FIXED = { millisecond: 1, second: 1e3, minute: 60e3, hour: 3600e3, day: 86400e3, week: 7 * 86400e3 };
// Calendar units, in months: their length varies, so they are added on the calendar instead.
const CALENDAR = { month: 1, quarter: 3, year: 12 };
// Short forms accepted as well (as moment.js does).
const ALIASES = { ms: 'millisecond', s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', M: 'month', Q: 'quarter', y: 'year' };

function normaliseUnit(unit) {
  if (typeof unit !== 'string') return undefined;
  if (ALIASES[unit]) return ALIASES[unit]; // before lower-casing: 'm' is minute, 'M' is month
  const u = unit.toLowerCase().replace(/s$/, '');
  return u in FIXED || u in CALENDAR ? u : undefined;
}

// Adds whole months in UTC, clamping the day as moment.js does (Jan 31 + 1 month = Feb 28/29).
function addMonths(date, months) {
  const d = new Date(date.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, lastDay));
  return d;
}

function parseBody(body) {
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    const text = body.toString('utf8');
    if (text.trim() === '') throw new Error('expected a JSON body like {"value": 3, "unit": "days"}');
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new Error('body is not valid JSON: ' + err.message);
    }
  }
  return body; // already decoded by the runtime
}

function badRequest(context, message) {
  return new context.Response(JSON.stringify({ error: message }), {}, 'application/json', 400);
}

exports.handler = function (context, event) {
  let request;
  try {
    request = parseBody(event.body);
  } catch (err) {
    return context.callback(badRequest(context, err.message));
  }
  if (!request || typeof request !== 'object' || Array.isArray(request)) {
    return context.callback(badRequest(context, 'expected a JSON object like {"value": 3, "unit": "days"}'));
  }

  const value = typeof request.value === 'string' && request.value.trim() !== '' ? Number(request.value) : request.value;
  const unit = normaliseUnit(request.unit);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return context.callback(badRequest(context, '"value" must be a number'));
  }
  if (!unit) {
    return context.callback(badRequest(context, '"unit" must be one of: ' + Object.keys(FIXED).concat(Object.keys(CALENDAR)).map((u) => u + 's').join(', ')));
  }
  if (unit in CALENDAR && !Number.isInteger(value)) {
    return context.callback(badRequest(context, '"value" must be a whole number for ' + unit + 's'));
  }

  const now = new Date();
  const result = unit in FIXED ? new Date(now.getTime() + value * FIXED[unit]) : addMonths(now, value * CALENDAR[unit]);
  if (Number.isNaN(result.getTime())) {
    return context.callback(badRequest(context, 'the resulting date is out of range'));
  }

  context.logger.infoWith('Adding to now', { value: value, unit: unit, now: now.toISOString() });
  context.callback(result.toISOString());
};
