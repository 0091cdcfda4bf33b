# A nuclio_sdk-compatible module for Protium's python runtime, so that handlers written for Nuclio
# (`from nuclio_sdk import Response`, `context.Response`, `context.logger.info_with`, ...) run unchanged.
# It mirrors the public surface of nuclio-sdk-py: Response, Context, Event, TriggerInfo, Logger, Platform.

import base64
import datetime
import json
import sys

__all__ = ['Response', 'Context', 'Event', 'TriggerInfo', 'Logger', 'Platform']


class TriggerInfo(object):
    def __init__(self, klass='', kind='', name=''):
        self.klass = klass
        self.kind = kind
        self.name = name


class Event(object):
    def __init__(self, body=None, content_type=None, trigger=None, fields=None, headers=None, _id=None,
                 method=None, path=None, size=None, timestamp=None, url=None, shard_id=None, num_shards=None,
                 _type=None, type_version=None, version=None, offset=None, topic=None, last_in_batch=None):
        self.body = body
        self.content_type = content_type
        self.trigger = trigger or TriggerInfo()
        self.fields = fields or {}
        self.headers = headers or {}
        self.id = _id
        self.method = method
        self.path = path or '/'
        self.size = size
        self.timestamp = timestamp or 0
        self.url = url
        self.shard_id = shard_id
        self.num_shards = num_shards
        self.type = _type
        self.type_version = type_version
        self.version = version
        self.offset = offset
        self.topic = topic
        self.last_in_batch = last_in_batch

    def get_header(self, header_key):
        for key, value in self.headers.items():
            if key.lower() == header_key.lower():
                return value

    def to_json(self):
        obj = {k: v for k, v in vars(self).items() if k != 'trigger'}
        obj['trigger'] = {'class': self.trigger.klass, 'kind': self.trigger.kind, 'name': self.trigger.name}
        if isinstance(obj.get('body'), bytes):
            obj['body'] = base64.b64encode(obj['body']).decode('ascii')
        if isinstance(obj.get('timestamp'), datetime.datetime):
            obj['timestamp'] = obj['timestamp'].isoformat()
        return json.dumps(obj, default=str)

    @staticmethod
    def decode_body(body, content_type):
        """A JSON body (content type application/json) becomes a dict or list, as nuclio-sdk-py does."""
        if content_type == 'application/json':
            try:
                return json.loads(body.decode('utf-8'))
            except Exception as exc:
                sys.stderr.write(str(exc))
        return body

    def __repr__(self):
        return self.to_json()


class Response(object):
    def __init__(self, headers=None, body=None, content_type=None, status_code=200, event_id=None):
        self.headers = headers or {}
        self.body = body
        self.status_code = status_code
        self.content_type = content_type or 'text/plain'
        self.event_id = event_id

    def __repr__(self):
        items = ('{}={!r}'.format(k, v) for k, v in self.__dict__.items())
        return 'Response({})'.format(', '.join(items))

    def ensure_no_ack(self):
        """Tells a stream trigger not to commit this event's offset."""
        self.headers['x-nuclio-stream-no-ack'] = True

    @staticmethod
    def from_entrypoint_output(json_encoder, handler_output):
        """The response dict for a handler's return value (str, bytes, (status, body), dict/list, Response)."""
        response = Response.empty_response()
        if isinstance(handler_output, str):
            response['body'] = handler_output
        elif isinstance(handler_output, tuple) and len(handler_output) == 2:
            response['status_code'] = handler_output[0]
            if isinstance(handler_output[1], (str, bytes)):
                response['body'] = handler_output[1]
            else:
                response['body'] = json_encoder(handler_output[1])
                response['content_type'] = 'application/json'
        elif isinstance(handler_output, (dict, list)):
            response['content_type'] = 'application/json'
            response['body'] = json_encoder(handler_output)
        elif isinstance(handler_output, Response):
            if isinstance(handler_output.body, (dict, list)):
                response['body'] = json_encoder(handler_output.body)
                response['content_type'] = 'application/json'
            else:
                response['body'] = handler_output.body
                response['content_type'] = handler_output.content_type
            if handler_output.event_id:
                response['event_id'] = handler_output.event_id
            response['headers'] = handler_output.headers
            response['status_code'] = handler_output.status_code
        elif handler_output is None:
            response['body'] = ''
        else:
            response['body'] = handler_output
        if response['body'] is None:
            response['body'] = ''
        if not isinstance(response['body'], (bytes, bytearray)):
            response['body'] = str(response['body'])
        return response

    @staticmethod
    def empty_response():
        return {'body': '', 'content_type': 'text/plain', 'headers': {}, 'status_code': 200}


class Logger(object):
    """Nuclio's logger: debug/info/warn/error(message, *args) and the *_with(message, **kwargs) forms."""

    def __init__(self, emit, name='handler', bound=None):
        self._emit = emit
        self.name = name
        self._bound = bound or {}

    def _log(self, level, message, args, kwargs):
        text = str(message)
        if args:
            try:
                text = text % args
            except Exception:
                text = ' '.join([text] + [str(a) for a in args])
        data = dict(self._bound)
        data.update(kwargs)
        self._emit(level, text, data)

    def debug(self, message, *args):
        self._log('debug', message, args, {})

    def info(self, message, *args):
        self._log('info', message, args, {})

    def warn(self, message, *args):
        self._log('warn', message, args, {})

    warning = warn

    def error(self, message, *args):
        self._log('error', message, args, {})

    def exception(self, message, *args):
        import traceback
        self._log('error', message, args, {'exc': traceback.format_exc()})

    def debug_with(self, message, *args, **kwargs):
        self._log('debug', message, args, kwargs)

    def info_with(self, message, *args, **kwargs):
        self._log('info', message, args, kwargs)

    def warn_with(self, message, *args, **kwargs):
        self._log('warn', message, args, kwargs)

    warning_with = warn_with

    def error_with(self, message, *args, **kwargs):
        self._log('error', message, args, kwargs)

    def bind(self, **kwargs):
        bound = dict(self._bound)
        bound.update(kwargs)
        return Logger(self._emit, self.name, bound)


class Platform(object):
    def __init__(self, kind='local', namespace='nuclio'):
        self.kind = kind
        self.namespace = namespace

    def call_function(self, *args, **kwargs):
        raise NotImplementedError('call_function is not supported by Protium yet')


class _UserData(object):
    """An attribute bag shared by every event of a worker (context.user_data)."""


class Context(object):
    def __init__(self, logger=None, platform=None, worker_id=None, trigger=None):
        self.platform = platform or Platform()
        self.logger = logger
        self.user_data = _UserData()
        self.Response = Response
        self.worker_id = worker_id
        self.trigger = trigger
        if trigger is not None:
            self.trigger_name = trigger.name
