// Request smuggling (RFC 9112 section 6): a request whose body length two parsers could
// read differently is answered 400 and the connection closed; the request hidden after it
// is never served. Raw TCP, so the bytes are exactly what an attacker would send.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer } from './lib.mjs';

let server, port;
before(async () => {
  server = await startServer();
  port = Number(new URL(server.url).port);
});
after(async () => {
  assert.equal((await fetch(server.url + '/healthz')).status, 200);
  assert.equal(server.proc.exitCode, null, 'server must not have crashed');
  await server.stop();
});

// Sends raw bytes, collects the answer until the server closes (or 2 s pass).
function exchange(bytes) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(bytes));
    let data = '';
    let closed = false;
    const timer = setTimeout(() => { sock.destroy(); resolve({ data, closed }); }, 2000);
    sock.on('data', (d) => { data += d; });
    sock.on('close', () => { closed = true; clearTimeout(timer); resolve({ data, closed }); });
    sock.on('error', () => {});
  });
}

const smuggled = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
// The first request's body as Content-Length reads it is "0\r\n\r\n"; a chunked reader sees
// the same, so whatever comes after would be a second request.
const ambiguous = (fields, version = 'HTTP/1.1') =>
  `POST /api/v1/auth/login ${version}\r\nHost: x\r\n${fields}\r\n0\r\n\r\n${smuggled}`;

const cases = {
  'Transfer-Encoding: xchunked with Content-Length': 'Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n',
  'Transfer-Encoding: chunked, identity with Content-Length': 'Transfer-Encoding: chunked, identity\r\nContent-Length: 5\r\n',
  'obs-folded Transfer-Encoding with Content-Length': 'Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n',
  'Transfer-Encoding: chunked with Content-Length': 'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n',
  'Content-Length before Transfer-Encoding': 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n',
  'unknown coding before chunked': 'Transfer-Encoding: gzip, chunked\r\n',
  'chunked twice over two lines': 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n',
  'final coding not chunked, alone': 'Transfer-Encoding: identity\r\n',
  'obs-fold in another header': 'X-Note: a\r\n\tb\r\nContent-Length: 5\r\n',
  'space before the colon': 'Transfer-Encoding : chunked\r\n',
};

for (const [name, fields] of Object.entries(cases)) {
  test(`${name}: 400, closed, the hidden request is not served`, async () => {
    const { data, closed } = await exchange(ambiguous(fields));
    assert.match(data, /^HTTP\/1\.1 400 /, data);
    assert.equal((data.match(/HTTP\/1\.[01] \d{3}/g) ?? []).length, 1, `one answer only: ${data}`);
    assert.ok(closed, 'the connection is closed');
  });
}

test('Transfer-Encoding in an HTTP/1.0 request: 400 and closed', async () => {
  const { data, closed } = await exchange(ambiguous('Transfer-Encoding: chunked\r\n', 'HTTP/1.0'));
  assert.match(data, /^HTTP\/1\.1 400 /, data);
  assert.equal((data.match(/HTTP\/1\.[01] \d{3}/g) ?? []).length, 1, data);
  assert.ok(closed);
});

test('well-framed requests still work, pipelined, chunked or not', async () => {
  const body = JSON.stringify({ username: 'nobody_here', password: 'wrong password' });
  const chunked = 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    `Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const { data } = await exchange(chunked + smuggled.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
  const statuses = [...data.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['401', '200'], data);
});
