# The python worker's end of the frames it exchanges with the processor (../python-frames.ts documents
# them and is the other end): reading events off the socket, and queueing answers and log records.
#
# Frames, both ways: 4-byte big-endian header length, 4-byte big-endian body length, header, body. A
# header starting with '{' is JSON; any other is compact: text fields separated by NUL.

import datetime
import json
import socket
import struct

import nuclio_sdk

HEAD = struct.Struct('>II')
# Bytes asked of each recv: a burst of pipelined events fits in one.
RECV_SIZE = 262144
# Where the header count sits among a compact event header's fields; its pairs follow it.
N_HEADERS = 15


class WireEvent(nuclio_sdk.Event):
    """An event straight from a frame: fields set directly, the timestamp made a datetime only when read."""

    def __init__(self, event_id, trigger, content_type, headers, fields, method, path, url, ts, shard_id,
                 num_shards, offset, topic, key, body):
        self.body = nuclio_sdk.Event.decode_body(body, content_type) if content_type == 'application/json' else body
        self.content_type = content_type
        self.trigger = trigger
        self.fields = fields
        self.headers = headers
        self.id = event_id
        self.method = method
        self.path = path or '/'
        self.size = len(body)
        self._ts = ts
        self.url = url
        self.shard_id = shard_id
        self.num_shards = num_shards
        self.type = None
        self.type_version = None
        self.version = None
        self.offset = offset
        self.topic = topic
        # A Kafka record's key (UTF-8), for broker triggers; None otherwise.
        self.key = key
        self.last_in_batch = None

    @property
    def timestamp(self):
        # A naive UTC datetime, as nuclio-sdk-py gives it (handlers write `timestamp.isoformat() + 'Z'`).
        return datetime.datetime.fromtimestamp(self._ts, tz=datetime.timezone.utc).replace(tzinfo=None)

    @timestamp.setter
    def timestamp(self, value):
        self._ts = value.timestamp() if isinstance(value, datetime.datetime) else value


def _number(text):
    """A number field of a compact header: an int when it is one (as JSON would give it), else a float."""
    if text == '0':
        return 0
    try:
        return int(text)
    except ValueError:
        return float(text)


def decode_event(header, body):
    """(seq, event) from an event frame's header (bytes, either form) and body (bytes)."""
    if header[:1] == b'{':
        h = json.loads(header)
        trig = h.get('trigger') or {}
        trigger = nuclio_sdk.TriggerInfo(trig.get('class', ''), trig.get('kind', ''), trig.get('name', ''))
        return h.get('seq'), WireEvent(
            h.get('id'), trigger, h.get('content_type', ''), h.get('headers') or {}, h.get('fields') or {},
            h.get('method'), h.get('path'), h.get('url'), h.get('timestamp', 0), h.get('shard_id'),
            h.get('num_shards'), h.get('offset'), h.get('topic'), h.get('key'), body)
    p = header.decode('utf-8').split('\0')
    end = N_HEADERS + 1 + 2 * int(p[N_HEADERS])
    # A loop, not dict(zip(...)) of two slices: half the time for a few headers.
    headers = {}
    for i in range(N_HEADERS + 1, end, 2):
        headers[p[i]] = p[i + 1]
    fields = {}
    for i in range(end, len(p) - 1, 2):
        fields[p[i]] = p[i + 1]
    topic = p[13]
    key = p[14]
    return int(p[0]), WireEvent(
        p[1], nuclio_sdk.TriggerInfo(p[7], p[8], p[9]), p[5], headers, fields, p[2], p[3], p[4], float(p[6]),
        _number(p[10]), _number(p[11]), _number(p[12]), topic[1:] if topic else None, key[1:] if key else None,
        body)


def _plain(text):
    return type(text) is str and '\0' not in text


def answer_header(seq, status, content_type, headers):
    """The header of the answer to event `seq` (bytes): compact when every text can be, JSON otherwise.
    `headers` maps names to text."""
    if _plain(content_type) and all(_plain(k) and _plain(v) for k, v in headers.items()):
        parts = [str(seq), str(status), content_type]
        for k, v in headers.items():
            parts.append(k)
            parts.append(v)
        try:
            return '\0'.join(parts).encode('utf-8')
        except UnicodeEncodeError:
            pass  # a lone surrogate: JSON escapes it
    return json.dumps({'t': 'r', 'seq': seq, 'status': status, 'content_type': content_type, 'headers': headers},
                      default=str, separators=(',', ':')).encode('utf-8')


class Channel(object):
    """Frames over the socket. Answers are batched: they go out together when no complete frame is left
    to handle, so a burst of pipelined events costs one read and one write, not one per event."""

    def __init__(self, fd):
        self.sock = socket.socket(fileno=fd)
        # Reads land in one buffer allocated once: a recv() of RECV_SIZE bytes allocates (and maps) that
        # much per call, ~12 µs, for bursts of a few hundred bytes.
        self.buf = bytearray(RECV_SIZE)
        self.view = memoryview(self.buf)
        # The bytes read and not yet handled: buf[start:end].
        self.start = 0
        self.end = 0
        self.pending = []

    def read(self):
        """The next frame as (header bytes, body bytes); (None, None) once the processor has gone."""
        while True:
            start = self.start
            if self.end - start >= 8:
                hl, bl = HEAD.unpack_from(self.buf, start)
                mid = start + 8 + hl
                end = mid + bl
                if end <= self.end:
                    self.start = end
                    view = self.view
                    return bytes(view[start + 8:mid]), bytes(view[mid:end])
                if end - start > RECV_SIZE:
                    return self._read_large(end - start)
            self.flush()
            if not self._fill():
                return None, None

    def _fill(self):
        """Reads more after the bytes not handled yet (moved to the front first); False at the end of the
        stream."""
        have = self.end - self.start
        if self.start:
            self.buf[:have] = self.view[self.start:self.end]
            self.start = 0
            self.end = have
        n = self.sock.recv_into(self.view[have:])
        self.end += n
        return n > 0

    def _read_large(self, size):
        """A frame larger than the read buffer, read straight into a buffer of its own."""
        frame = bytearray(size)
        got = self.end - self.start
        frame[:got] = self.view[self.start:self.end]
        self.start = self.end = 0
        view = memoryview(frame)
        while got < size:
            n = self.sock.recv_into(view[got:], size - got)
            if not n:
                return None, None
            got += n
        hl = HEAD.unpack_from(frame, 0)[0]
        return bytes(view[8:8 + hl]), bytes(view[8 + hl:])

    def queue(self, header, body=b''):
        """Queues a JSON frame (written with the next flush)."""
        data = json.dumps(header, default=str, separators=(',', ':')).encode('utf-8')
        self.pending.append(HEAD.pack(len(data), len(body)) + data)
        if body:
            self.pending.append(body)

    def queue_answer(self, seq, status, content_type, headers, body):
        """Queues the answer to event `seq`; `body` is bytes."""
        data = answer_header(seq, status, content_type, headers)
        self.pending.append(HEAD.pack(len(data), len(body)) + data)
        if body:
            self.pending.append(body)

    def queue_text(self, seq, text):
        """Queues a 200 text/plain answer (a handler returned a str)."""
        body = text.encode('utf-8')
        data = b'%d\x00200\x00text/plain' % seq
        self.pending.append(HEAD.pack(len(data), len(body)) + data + body)

    def write(self, header, body=b''):
        """Writes a JSON frame now, after the answers queued before it."""
        self.queue(header, body)
        self.flush()

    def flush(self):
        if self.pending:
            data = b''.join(self.pending)
            self.pending = []
            self.sock.sendall(data)
