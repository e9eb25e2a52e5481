import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * - `open`: bytes flow both ways.
 * - `cut`: the database is gone. Every connection is reset, and so is each new one as soon as it is accepted
 *   (the port stays bound, so the client sees ECONNRESET rather than ECONNREFUSED: a failure just as fast).
 * - `blackhole`: the network drops everything. Connections are accepted but nothing is forwarded either way,
 *   so a query or a handshake waits until its own timeout.
 */
export type ProxyMode = 'open' | 'cut' | 'blackhole';

export interface ProxyTarget {
  host: string;
  port: number;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

const LOOPBACK = '127.0.0.1';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, to give a test a database that goes away and comes back
 * without touching the server itself.
 *
 * It listens on one port from start to close: a cut or a blackhole changes what it does with connections, never
 * where it listens, so a client configured with the port reaches the server again after a restore.
 *
 * A blackhole only stops reading: what was sent meanwhile waits in the socket buffers and is delivered on
 * restore, as TCP retransmission delivers it when a short partition heals. A cut loses every connection for
 * good, as a crashed or restarted server does.
 */
export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private current: ProxyMode = 'open';
  private accepted = 0;

  private readonly server: Server = createServer((client) => this.accept(client));
  private listenPort = 0;

  private constructor(private readonly target: ProxyTarget) {}

  /** Listens on an ephemeral port of 127.0.0.1, forwarding to `target`. */
  static async start(target: ProxyTarget): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    const { server } = proxy;
    proxy.listenPort = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, LOOPBACK, () => {
        server.off('error', reject);
        const address = server.address();
        if (address === null || typeof address === 'string') {
          reject(new Error('the proxy has no TCP address'));
        } else {
          resolve(address.port);
        }
      });
    });
    return proxy;
  }

  /** The port to connect to instead of the target's; the same for the proxy's whole life. */
  get port(): number {
    return this.listenPort;
  }

  get mode(): ProxyMode {
    return this.current;
  }

  /** Connections accepted (and forwarded) since the proxy started. */
  get acceptedConnections(): number {
    return this.accepted;
  }

  /** Connections currently open through the proxy. */
  get openConnections(): number {
    return this.pairs.size;
  }

  /** Resets every connection, and every new one from now on; resolves once every socket is closed. */
  async cut(): Promise<void> {
    this.current = 'cut';
    await Promise.all([...this.pairs].map((pair) => this.reset(pair)));
  }

  /** Keeps every connection open, and accepts new ones, but forwards nothing. */
  blackhole(): void {
    if (this.current === 'cut') throw new Error('restore the proxy before blackholing it');
    this.current = 'blackhole';
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream.pause();
    }
  }

  /** Back to `open`: forwards new connections after a cut, resumes the held ones after a blackhole. */
  restore(): void {
    this.current = 'open';
    for (const { client, upstream } of this.pairs) {
      client.resume();
      upstream.resume();
    }
  }

  /** Stops for good: resets every connection and stops listening. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.cut();
    await closed;
  }

  private accept(client: Socket): void {
    if (this.current === 'cut') {
      client.resetAndDestroy();
      return;
    }
    this.accepted++;
    const upstream = connect(this.target.port, this.target.host);
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    const teardown = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', teardown);
      socket.on('close', teardown);
    }
    this.forward(client, upstream);
    this.forward(upstream, client);
    if (this.current === 'blackhole') {
      client.pause();
      upstream.pause();
    }
  }

  /** Copies one direction by hand rather than with pipe(), so pause() alone decides whether bytes flow. */
  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (this.current === 'open') from.resume();
    });
    from.on('end', () => to.end());
  }

  private async reset({ client, upstream }: Pair): Promise<void> {
    const closed = [client, upstream].map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.closed) resolve();
          else socket.once('close', () => resolve());
        }),
    );
    // An RST, as from a host whose server process died; the upstream side just closes.
    if (!client.destroyed) client.resetAndDestroy();
    upstream.destroy();
    await Promise.all(closed);
  }
}
