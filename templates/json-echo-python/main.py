# Echoes a JSON request body back as JSON; a body that is not JSON gets a 400.

import json


def _json_response(context, doc, status_code=200):
    return context.Response(body=json.dumps(doc),
                            headers={},
                            content_type='application/json',
                            status_code=status_code)


def handler(context, event):
    doc = event.body

    # With an application/json content type the body arrives already decoded;
    # otherwise it is raw bytes (or a str) that we parse ourselves.
    if isinstance(doc, (bytes, bytearray, str)):
        text = doc.decode('utf-8', errors='replace') if isinstance(doc, (bytes, bytearray)) else doc
        if not text.strip():
            return _json_response(context, {'error': 'expected a JSON body'}, 400)
        try:
            doc = json.loads(text)
        except ValueError as exc:
            return _json_response(context, {'error': 'body is not valid JSON: {}'.format(exc)}, 400)

    context.logger.info_with('Echoing JSON', type=type(doc).__name__)
    return _json_response(context, doc)
