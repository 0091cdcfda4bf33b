# Protium's python wrapper: one worker process of a python function. It loads the handler module
# (`module:function`), runs `init_context(context)` if the module has one, then serves events that the
# processor sends over the socket on fd 3. The protocol is documented in ../python-runtime.ts.
#
# Frames, both ways: 4-byte big-endian header length, 4-byte big-endian body length, header JSON, body.

import asyncio
import datetime
import importlib.util
import inspect
import json
import os
import socket
import struct
import sys
import traceback

import nuclio_sdk

HEAD = struct.Struct('>II')


class Channel(object):
    def __init__(self, fd):
        self.sock = socket.socket(fileno=fd)
        self.reader = self.sock.makefile('rb', buffering=256 * 1024)

    def read(self):
        head = self.reader.read(8)
        if len(head) < 8:
            return None, None
        hl, bl = HEAD.unpack(head)
        header = json.loads(self.reader.read(hl))
        body = self.reader.read(bl) if bl else b''
        return header, body

    def write(self, header, body=b''):
        data = json.dumps(header, default=str, separators=(',', ':')).encode('utf-8')
        self.sock.sendall(HEAD.pack(len(data), len(body)) + data + body)


def load_handler(handler, root):
    module_name, _, entry = handler.partition(':')
    rel = module_name[:-3] if module_name.endswith('.py') else module_name
    path = os.path.join(root, *rel.split('.')) + '.py'
    if not os.path.exists(path):
        raise RuntimeError('Handler module file {} does not exist in the function (spec.handler "{}")'.format(
            os.path.relpath(path, root), handler))
    spec = importlib.util.spec_from_file_location(rel, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[rel] = module
    spec.loader.exec_module(module)
    fn = getattr(module, entry, None)
    if not callable(fn):
        raise RuntimeError('Handler function "{}" is not defined in {}'.format(entry, os.path.relpath(path, root)))
    return module, fn


def json_encoder(obj):
    return json.dumps(obj, default=str)


def main():
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    channel = Channel(int(args.get('--socket-fd', '3')))
    current = {'id': None}

    def emit(level, message, data):
        header = {'t': 'l', 'level': level, 'message': message, 'id': current['id']}
        if data:
            header['with'] = data
        try:
            channel.write(header)
        except Exception:
            pass

    trigger = nuclio_sdk.TriggerInfo('', args.get('--trigger-kind', ''), args.get('--trigger-name', ''))
    context = nuclio_sdk.Context(
        logger=nuclio_sdk.Logger(emit),
        platform=nuclio_sdk.Platform('local', args.get('--namespace', 'nuclio')),
        worker_id=int(args.get('--worker-id', '0')),
        trigger=trigger,
    )
    loop = None
    try:
        module, handler = load_handler(args['--handler'], os.getcwd())
        init = getattr(module, 'init_context', None)
        if callable(init):
            result = init(context)
            if inspect.isawaitable(result):
                loop = loop or asyncio.new_event_loop()
                loop.run_until_complete(result)
    except BaseException:
        channel.write({'t': 'f', 'message': traceback.format_exc()})
        sys.exit(1)
    channel.write({'t': 's'})

    while True:
        header, body = channel.read()
        if header is None:
            return
        current['id'] = header.get('id')
        trig = header.get('trigger') or {}
        content_type = header.get('content_type', '')
        event = nuclio_sdk.Event(
            body=nuclio_sdk.Event.decode_body(body, content_type),
            content_type=content_type,
            trigger=nuclio_sdk.TriggerInfo(trig.get('class', ''), trig.get('kind', ''), trig.get('name', '')),
            fields=header.get('fields'),
            headers=header.get('headers'),
            _id=header.get('id'),
            method=header.get('method'),
            path=header.get('path'),
            size=len(body),
            timestamp=datetime.datetime.fromtimestamp(header.get('timestamp', 0), tz=datetime.timezone.utc),
            url=header.get('url'),
            shard_id=header.get('shard_id'),
            num_shards=header.get('num_shards'),
            offset=header.get('offset'),
        )
        try:
            output = handler(context, event)
            if inspect.isawaitable(output):
                loop = loop or asyncio.new_event_loop()
                output = loop.run_until_complete(output)
            response = nuclio_sdk.Response.from_entrypoint_output(json_encoder, output)
        except SystemExit as exc:
            # The worker process ends; the processor answers this event and starts a new worker.
            channel.write({'t': 'r', 'id': current['id'], 'status': 500, 'content_type': 'text/plain',
                           'headers': {}}, 'Handler called sys.exit({})'.format(exc.code).encode('utf-8'))
            raise
        except Exception as exc:
            tb = traceback.format_exc()
            emit('error', 'Exception caught in handler: {}'.format(exc), {'traceback': tb})
            response = {'status_code': 500, 'content_type': 'text/plain', 'headers': {},
                        'body': 'Exception caught in handler "{}": {}'.format(exc, tb)}
        out = response['body']
        if not isinstance(out, (bytes, bytearray)):
            out = str(out).encode('utf-8')
        headers = {}
        for k, v in (response.get('headers') or {}).items():
            headers[str(k)] = v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list, bool)) else str(v)
        try:
            status = int(response.get('status_code') or 200)
        except (TypeError, ValueError):
            status = 500
        channel.write({'t': 'r', 'id': current['id'], 'status': status,
                       'content_type': response.get('content_type') or 'text/plain', 'headers': headers}, bytes(out))
        current['id'] = None


if __name__ == '__main__':
    main()
