# Reverses the text of the request body.

import json


def _as_text(body):
    if body is None:
        return ''
    if isinstance(body, (bytes, bytearray)):
        return body.decode('utf-8', errors='replace')
    if isinstance(body, str):
        return body
    # A JSON body the runtime already decoded: reverse its JSON text.
    return json.dumps(body)


def handler(context, event):
    text = _as_text(event.body)
    context.logger.info_with('Reversing body', length=len(text))
    # Slicing a str (not bytes) reverses characters, so multi-byte UTF-8 stays valid.
    return context.Response(body=text[::-1],
                            headers={},
                            content_type='text/plain; charset=utf-8',
                            status_code=200)
