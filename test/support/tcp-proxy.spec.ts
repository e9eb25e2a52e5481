import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { TcpProxy } from './tcp-proxy.js';

/** What one connection gets first: the bytes echoed back, its error code, or a plain close. */
function firstOutcome(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(`data:${chunk.toString()}`));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.once('close', () => resolve('closed'));
  });
}

/** A new connection to `port` that sends `text` once connected. */
function send(port: number, text: string): Promise<string> {
  const socket = connect(port, '127.0.0.1', () => socket.write(text));
  return firstOutcome(socket).finally(() => socket.destroy());
}

describe('TcpProxy', () => {
  let echo: Server;
  let proxy: TcpProxy;

  beforeAll(async () => {
    echo = createServer((socket) => socket.pipe(socket).on('error', () => {}));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const { port } = echo.address() as { port: number };
    proxy = await TcpProxy.start({ host: '127.0.0.1', port });
  });

  afterAll(async () => {
    await proxy?.close();
    await new Promise((resolve) => echo?.close(resolve));
  });

  test('a cut resets every connection on the same port; a restore serves that port again', async () => {
    const { port } = proxy;
    const held = connect(port, '127.0.0.1', () => held.write('a'));
    expect(await firstOutcome(held)).toBe('data:a');
    const heldOutcome = firstOutcome(held);

    await proxy.cut();
    expect(await heldOutcome).toBe('ECONNRESET');
    expect(proxy.openConnections).toBe(0);
    // Accepted and reset at once: the port is still bound, so no other process can take it meanwhile.
    expect(await firstOutcome(connect(port, '127.0.0.1'))).toBe('ECONNRESET');

    proxy.restore();
    expect(proxy.port).toBe(port);
    expect(await send(port, 'back')).toBe('data:back');
  });

  test('what is sent into a blackhole arrives on restore, on the same connection', async () => {
    const socket = connect(proxy.port, '127.0.0.1', () => socket.write('before'));
    try {
      expect(await firstOutcome(socket)).toBe('data:before');
      proxy.blackhole();
      const reply = firstOutcome(socket);
      socket.write('during');
      expect(proxy.openConnections).toBe(1);
      proxy.restore();
      expect(await reply).toBe('data:during');
    } finally {
      socket.destroy();
    }
  });
});
