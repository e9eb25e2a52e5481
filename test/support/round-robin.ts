import { request } from 'node:http';
import { startServer, type TestServer } from './http-server.js';

/** One request the balancer passed on: to which instance (its index), and what it answered. */
export interface Served {
  instance: number;
  method: string;
  path: string;
  /** The instance's status; 502 when it could not be reached. */
  status: number;
}

export interface RoundRobinBalancer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Every request, in the order the balancer received them. */
  served: Served[];
  close(): Promise<void>;
}

/**
 * A load balancer in front of several instances on 127.0.0.1: each request goes to the next instance in turn
 * (whatever connection it came on), and the balancer records which instance served it.
 */
export async function startRoundRobin(ports: readonly number[]): Promise<RoundRobinBalancer> {
  const served: Served[] = [];
  let next = 0;
  const server: TestServer = await startServer((req, res) => {
    const instance = next++ % ports.length;
    const record: Served = { instance, method: req.method!, path: req.url!, status: 0 };
    served.push(record);
    const upstream = request(
      {
        host: '127.0.0.1',
        port: ports[instance],
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        record.status = answer.statusCode!;
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (res.headersSent) return void res.destroy();
      record.status = 502;
      res.writeHead(502).end();
    });
    req.pipe(upstream);
  });
  return { url: server.url, served, close: () => server.close() };
}
