// Echoes a JSON request body back as JSON; a body that is not JSON gets a 400.

function badRequest(context, message) {
  return new context.Response(JSON.stringify({ error: message }), {}, 'application/json', 400);
}

exports.handler = function (context, event) {
  let doc = event.body;

  // The body is normally a Buffer, but may already be a string or a parsed object.
  if (Buffer.isBuffer(doc) || typeof doc === 'string') {
    const text = doc.toString('utf8');
    if (text.trim() === '') {
      return context.callback(badRequest(context, 'expected a JSON body'));
    }
    try {
      doc = JSON.parse(text);
    } catch (err) {
      return context.callback(badRequest(context, 'body is not valid JSON: ' + err.message));
    }
  }

  context.logger.infoWith('Echoing JSON', { type: Array.isArray(doc) ? 'array' : typeof doc });
  // Stringify ourselves so that scalars (numbers, strings, null) are sent as JSON too.
  context.callback(new context.Response(JSON.stringify(doc), {}, 'application/json', 200));
};
