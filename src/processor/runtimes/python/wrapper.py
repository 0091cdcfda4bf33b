# Protium's python wrapper: one worker process of a python function. It loads the handler module
# (`module:function`), runs `init_context(context)` if the module has one, then serves events that the
# processor sends over the socket on fd 3. The frames are documented in ../python-frames.ts.
#
# Frames: see protium_wire.py.

import asyncio
import importlib.util
import inspect
import json
import os
import sys
import traceback

import nuclio_sdk
from protium_wire import Channel, decode_event


class HandlerNotFound(Exception):
    """spec.handler names a file or function the source does not have (the message says which)."""


def load_handler(handler, root):
    module_name, _, entry = handler.partition(':')
    rel = module_name[:-3] if module_name.endswith('.py') else module_name
    path = os.path.join(root, *rel.split('.')) + '.py'
    if not os.path.exists(path):
        raise HandlerNotFound('Handler module file {} does not exist in the function (spec.handler "{}")'.format(
            os.path.relpath(path, root), handler))
    spec = importlib.util.spec_from_file_location(rel, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[rel] = module
    spec.loader.exec_module(module)
    fn = getattr(module, entry, None)
    if not callable(fn):
        raise HandlerNotFound('Handler function "{}" is not defined in {}'.format(entry, os.path.relpath(path, root)))
    return module, fn


def json_encoder(obj):
    return json.dumps(obj, default=str)


def user_error(exc, root):
    """What went wrong, for a person: the exception line with the user's file and line first (not the
    wrapper's frames), then the traceback of the user's own files only.

        NameError: name 'x' is not defined (main.py, line 4, in init_context)
        Traceback (most recent call last), in the function's files:
          File "main.py", line 4, in init_context
            x + 1
    """
    if isinstance(exc, HandlerNotFound):
        return str(exc)
    root = os.path.realpath(root)

    def mine(filename):
        path = os.path.realpath(filename or '')
        return path.startswith(root + os.sep)

    def rel(filename):
        return os.path.relpath(os.path.realpath(filename), root)

    headline = ''.join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
    last = headline[-1] if headline else type(exc).__name__
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if mine(f.filename)]
    where = ''
    details = []
    if isinstance(exc, SyntaxError) and exc.filename and mine(exc.filename):
        # The error is in a file that did not compile: its name and line are on the exception itself.
        where = '{}, line {}'.format(rel(exc.filename), exc.lineno)
        last = '{}: {}'.format(type(exc).__name__, exc.msg)
        details = ['  ' + line for line in headline[:-1]]
        details = [line.replace('"{}"'.format(exc.filename), '"{}"'.format(rel(exc.filename))) for line in details]
    elif frames:
        f = frames[-1]
        where = '{}, line {}, in {}'.format(rel(f.filename), f.lineno, f.name)
        details = ['Traceback (most recent call last), in the function\'s files:']
        for f in frames:
            details.append('  File "{}", line {}, in {}'.format(rel(f.filename), f.lineno, f.name))
            if f.line:
                details.append('    ' + f.line)
    first = '{} ({})'.format(last, where) if where else last
    return '\n'.join([first] + details)


def specialise(header, args):
    """A pre-started worker (--pooled) becomes the function's: its arguments, working folder, environment
    and import path, as a worker started for the function would have had them from the start."""
    args.update(header.get('args') or {})
    os.chdir(header['cwd'])
    env = header.get('env') or {}
    os.environ.clear()
    os.environ.update(env)
    # PYTHONPATH is read once, at start: its entries go where they would have been (after the script's folder).
    extra = [p for p in env.get('PYTHONPATH', '').split(':') if p and p not in sys.path]
    sys.path[1:1] = extra


def main():
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    channel = Channel(int(args.get('--socket-fd', '3')))
    if args.get('--pooled'):
        frame, _ = channel.read()
        header = json.loads(frame) if frame is not None and frame[:1] == b'{' else None
        if header is None or header.get('t') != 'load':
            return
        specialise(header, args)
    if args.get('--memory-limit'):
        # spec.resources.limits.memory: a handler that outgrows it gets MemoryError, and the worker restarts.
        import resource
        limit = int(args['--memory-limit'])
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    # The seq of the event being handled (its log records carry it), None between events.
    current = {'seq': None}

    def emit(level, message, data):
        header = {'t': 'l', 'level': level, 'message': message, 'seq': current['seq']}
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
    except BaseException as exc:
        channel.write({'t': 'f', 'message': user_error(exc, os.getcwd())})
        sys.exit(1)
    channel.write({'t': 's'})

    while True:
        header, body = channel.read()
        if header is None:
            return
        seq, event = decode_event(header, body)
        current['seq'] = seq
        try:
            output = handler(context, event)
            if type(output) is str:
                # The common case, without building a response dict.
                channel.queue_text(seq, output)
                current['seq'] = None
                continue
            if inspect.isawaitable(output):
                loop = loop or asyncio.new_event_loop()
                output = loop.run_until_complete(output)
            response = nuclio_sdk.Response.from_entrypoint_output(json_encoder, output)
        except SystemExit as exc:
            # The worker process ends; the processor answers this event and starts a new worker.
            channel.queue_answer(seq, 500, 'text/plain', {}, 'Handler called sys.exit({})'.format(exc.code).encode('utf-8'))
            channel.flush()
            raise
        except MemoryError:
            # Past spec.resources.limits.memory (RLIMIT_DATA): the handler still holds what it allocated, so
            # every later event would fail too. Answer this one and end the worker; the processor starts a
            # fresh one, as a container over its limit is restarted.
            emit('error', 'The handler ran out of memory (spec.resources.limits.memory): this python worker exits '
                          'and a new one starts', {'traceback': traceback.format_exc()})
            channel.queue_answer(seq, 500, 'text/plain', {},
                                 b'The handler ran out of memory (spec.resources.limits.memory); its python worker restarts')
            channel.flush()
            os._exit(1)
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
        channel.queue_answer(seq, status, response.get('content_type') or 'text/plain', headers, out)
        current['seq'] = None


if __name__ == '__main__':
    main()
