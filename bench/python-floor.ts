/**
 * The floor of a python runtime behind a Node HTTP server: a trivial Node parent that answers each
 * request with what a trivial Python child sends back over a socket (one line per event, a burst answered
 * with one write). No event object, no handler, no framing beyond a newline: what a Node parent ↔ Python
 * child round trip costs at the least, to measure the python runtime against.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const PY = `
import socket
s = socket.socket(fileno=3)
while True:
    d = s.recv(65536)
    if not d:
        break
    s.sendall(b'hello\\n' * d.count(b'\\n'))
`;

const parent = (port: number, python: string) => `
const { spawn } = require('child_process');
const py = spawn(${JSON.stringify(python)}, ['-c', ${JSON.stringify(PY)}], {
  stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
});
const ch = py.stdio[3];
const waiting = [];
let buf = '';
ch.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const body = buf.slice(0, i);
    buf = buf.slice(i + 1);
    waiting.shift()(body);
  }
});
require('http').createServer((req, res) => {
  waiting.push((body) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(body); });
  ch.write('e\\n');
}).listen(${port}, '127.0.0.1');
`;

/** Starts the floor server on `port` (its own process group: kill -pid takes the python child along). */
export function startPythonFloor(port: number, python = 'python3'): ChildProcess {
  return spawn(process.execPath, ['-e', parent(port, python)], { stdio: 'ignore', detached: true });
}
