import { describe, expect, test } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/internal';
import {
  KafkaContext,
  MqttContext,
  NatsContext,
  RmqContext,
  RpcException,
  TcpContext,
} from '@nestjs/microservices';
import { OAuth2Error } from '../errors/oauth2-error.js';
import { MalformedRequestError } from '../http/http-request.js';
import { PRINCIPAL, principalOf } from './principal.js';
import { loadRpcException, rpcRefusal, rpcRequest } from './rpc-message.js';
import { thrownAs } from '../../test/support/thrown.js';

const BEARER = 'Bearer abc.def.ghi';

/** A handler's context as Nest builds it for a message: its arguments, typed 'rpc'. */
function message(...args: unknown[]): ExecutionContext {
  const host = new ExecutionContextHost(args);
  host.setType('rpc');
  return host;
}

const tcp = (metadata?: Record<string, string>) =>
  new TcpContext([undefined as never, 'pattern', metadata]);

/** gRPC's Metadata as @grpc/grpc-js has it: keys lower-cased, every value of a key from `get`. */
class GrpcMetadata {
  constructor(private readonly values: Record<string, string[]>) {}
  get(key: string): string[] {
    return this.values[key] ?? [];
  }
  getMap(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.values).map(([key, [value]]) => [key, value]));
  }
}

/**
 * NATS headers as nats.js has them: `get(name, match)` answers '' for a header that is not there; with
 * `Match.IgnoreCase` (2) the name's case does not matter.
 */
const natsHeaders = (values: Record<string, string>) => ({
  get: (key: string, match = 0) =>
    Object.entries(values).find(([name]) =>
      match === 2 ? name.toLowerCase() === key.toLowerCase() : name === key,
    )?.[1] ?? '',
});

/** TCP's context before Nest 12: the socket and the pattern, no packet metadata. */
const nest11Tcp = { getSocketRef: () => undefined, getPattern: () => 'pattern' };

/** A Kafka message's context, the message holding these headers. */
const kafka = (headers: Record<string, unknown>) =>
  new KafkaContext([
    { headers } as never,
    0,
    'topic',
    {} as never,
    (async () => {}) as never,
    {} as never,
  ]);

/** A list `depth` lists deep around the token. */
function deeplyNested(depth: number): unknown {
  let value: unknown = BEARER;
  for (let level = 0; level < depth; level += 1) value = [value];
  return value;
}

const authorizationOf = (context: ExecutionContext) => rpcRequest(context).headers.authorization;

describe('rpcRequest: where a message carries its token', () => {
  test.each([
    ['TCP packet metadata (Nest 12)', message({}, tcp({ authorization: BEARER }))],
    ['TCP packet metadata, the name in any case', message({}, tcp({ Authorization: BEARER }))],
    ['gRPC metadata', message({}, new GrpcMetadata({ authorization: [BEARER] }), {})],
    [
      'NATS headers (getHeaders())',
      message({}, new NatsContext(['subject', natsHeaders({ authorization: BEARER })])),
    ],
    [
      'NATS headers, the name in any case',
      message({}, new NatsContext(['subject', natsHeaders({ Authorization: BEARER })])),
    ],
    [
      'RabbitMQ message headers',
      message(
        {},
        new RmqContext([{ properties: { headers: { authorization: BEARER } } }, {}, 'p']),
      ),
    ],
    [
      'Kafka message headers (Buffers)',
      message(
        {},
        new KafkaContext([
          { headers: { authorization: Buffer.from(BEARER) } } as never,
          0,
          'topic',
          {} as never,
          (async () => {}) as never,
          {} as never,
        ]),
      ),
    ],
    [
      'MQTT 5 user properties',
      message(
        {},
        new MqttContext([
          'topic',
          { properties: { userProperties: { authorization: BEARER } } } as never,
        ]),
      ),
    ],
    [
      'the payload’s headers, for a TCP context without metadata (Nest 11)',
      message({ headers: { authorization: BEARER }, id: 1 }, nest11Tcp),
    ],
    [
      'the payload’s headers, for a custom transport without a context',
      message({ headers: { authorization: BEARER } }),
    ],
    [
      'a Kafka header of one list (one level deep)',
      message({}, kafka({ authorization: [Buffer.from(BEARER)] })),
    ],
  ])('%s', (_name, context) => {
    expect(authorizationOf(context)).toBe(BEARER);
  });

  test.each([
    ['an empty message', message({}, tcp())],
    ['a primitive payload', message(42, tcp())],
    ['NATS without the header', message({}, new NatsContext(['subject', natsHeaders({})]))],
    ['NATS without headers', message({}, new NatsContext(['subject', undefined as never]))],
    ['gRPC metadata without it', message({}, new GrpcMetadata({}), {})],
    ['a payload whose headers is not an object', message({ headers: BEARER }, nest11Tcp)],
    [
      'a payload’s headers where the transport has its own (a relayed HTTP request)',
      message({ headers: { authorization: BEARER } }, tcp()),
    ],
    [
      'a Kafka tombstone: its payload is the message, read as the transport’s, not twice',
      message({ headers: {} }, kafka({})),
    ],
  ])('no token: %s', (_name, context) => {
    expect(authorizationOf(context)).toBeUndefined();
  });

  test.each([
    [
      'a repeated gRPC metadata entry',
      message({}, new GrpcMetadata({ authorization: [BEARER, BEARER] }), {}),
      'The authorization entry of the message is repeated',
    ],
    [
      'the name twice in two cases',
      message({}, tcp({ authorization: BEARER, AUTHORIZATION: BEARER })),
      'The authorization entry of the message is repeated',
    ],
    [
      'a value that is no string',
      message({ headers: { authorization: { bearer: 'x' } } }, nest11Tcp),
      'The authorization entry of the message is not a string',
    ],
    [
      'a list in a list',
      message({}, kafka({ authorization: [[BEARER]] })),
      'The authorization entry of the message is not a string',
    ],
    [
      'a list nested deeper than the stack (no RangeError)',
      message({ headers: { authorization: deeplyNested(100_000) } }, nest11Tcp),
      'The authorization entry of the message is not a string',
    ],
  ])('invalid_request: %s', (_name, context, description) => {
    const error = thrownAs(MalformedRequestError, () => rpcRequest(context));
    expect(error.message).toBe(description);
  });

  test('the transport’s headers win over a payload’s own: a relayed HTTP request’s headers are data', () => {
    const context = message(
      { headers: { authorization: 'Bearer relayed' } },
      tcp({ authorization: BEARER }),
    );
    expect(authorizationOf(context)).toBe(BEARER);
  });

  test('a Kafka tombstone whose message has the header: the token, once', () => {
    const record = { headers: { authorization: BEARER }, value: null };
    expect(authorizationOf(message(record, kafka(record.headers)))).toBe(BEARER);
  });

  test('a reused context or payload: each message’s own token, the principal only for that token', () => {
    const metadata: Record<string, string> = { authorization: BEARER };
    const context = tcp(metadata);
    const first = rpcRequest(message({}, context));
    first[PRINCIPAL] = { clientId: 'first' };
    expect(principalOf(rpcRequest(message({}, context)))).toEqual({ clientId: 'first' });

    metadata.authorization = 'Bearer second';
    const second = rpcRequest(message({}, context));
    expect(second.headers.authorization).toBe('Bearer second');
    expect(principalOf(second)).toBeUndefined();
    expect(principalOf(rpcRequest(message({}, tcp(metadata))))).toBeUndefined();

    const payload = { headers: { authorization: BEARER } };
    expect(authorizationOf(message(payload, nest11Tcp))).toBe(BEARER);
    payload.headers.authorization = 'Bearer second';
    expect(authorizationOf(message(payload, nest11Tcp))).toBe('Bearer second');
    // Without a context object nothing is kept: never keyed by the payload.
    const view = rpcRequest(message(payload));
    view[PRINCIPAL] = { clientId: 'second' };
    expect(principalOf(rpcRequest(message(payload)))).toBeUndefined();
  });
});

describe('rpcRefusal: what the client receives', () => {
  test('an RpcException whose error is the refusal as data', async () => {
    await loadRpcException();
    const refusal = rpcRefusal(message({}, tcp()), OAuth2Error.insufficientScope(['a', 'b']));
    expect(refusal).toBeInstanceOf(RpcException);
    expect((refusal as RpcException).getError()).toEqual({
      status: 403,
      error: 'insufficient_scope',
      error_description: 'The access token does not grant the scope this resource requires',
      scope: 'a b',
      message: 'The access token does not grant the scope this resource requires',
    });
  });

  test.each([
    [OAuth2Error.missingToken(), 16],
    [OAuth2Error.invalidToken('The access token expired'), 16],
    [OAuth2Error.insufficientScope(['a']), 7],
    [OAuth2Error.invalidRequest('The Bearer credentials are malformed'), 3],
    [OAuth2Error.temporarilyUnavailable(5), 14],
    [OAuth2Error.serverError(), 2],
  ])('over gRPC, the gRPC status code too: %p → %i', async (error, code) => {
    await loadRpcException();
    const context = message({}, new GrpcMetadata({}), {});
    expect((rpcRefusal(context, error) as RpcException).getError()).toMatchObject({
      status: error.getStatus(),
      code,
    });
  });

  test('a 503 says when to retry, as Retry-After does over HTTP', async () => {
    await loadRpcException();
    const refusal = rpcRefusal(message({}, tcp()), OAuth2Error.temporarilyUnavailable(5));
    expect((refusal as RpcException).getError()).toEqual({
      status: 503,
      error: 'server_error',
      error_description: 'The service is temporarily unavailable, retry later',
      retry_after: 5,
      message: 'The service is temporarily unavailable, retry later',
    });
  });
});
