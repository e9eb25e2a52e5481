import type { ExecutionContext } from '@nestjs/common';
import type { OAuth2Error } from '../errors/oauth2-error.js';
import { MalformedRequestError, type OAuth2HttpRequest } from '../http/http-request.js';
import { refusalOf, type OAuth2Refusal } from './oauth2-refusal.js';
import { PRINCIPAL } from './principal.js';

type Entries = Record<string, unknown>;

const isObject = (value: unknown): value is Entries => typeof value === 'object' && value !== null;

/** A method of the value, called, when it has one by that name. */
function call(value: unknown, method: string, ...args: unknown[]): unknown {
  const fn = isObject(value) ? value[method] : undefined;
  return typeof fn === 'function'
    ? (fn as (...a: unknown[]) => unknown).apply(value, args)
    : undefined;
}

/** gRPC's `Metadata` (args[1] of a gRPC handler): `get(key)` answers every value of the key, lower-cased. */
const isGrpcMetadata = (value: unknown): boolean =>
  isObject(value) && typeof value.get === 'function' && typeof value.getMap === 'function';

/**
 * One value of `authorization` from a list of them; a repeated entry is malformed, like a repeated header. A
 * value may be a list itself (Kafka headers, a payload's array) one level deep, no deeper: a nested list is
 * malformed too, rather than recursed into without end.
 */
function single(values: unknown[], nested = false): string | undefined {
  const present = values.filter((value) => value !== undefined && value !== null && value !== '');
  if (present.length > 1) {
    throw new MalformedRequestError('The authorization entry of the message is repeated');
  }
  if (present.length === 0) return undefined;
  const [value] = present;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value) && !nested) return single(value, true);
  throw new MalformedRequestError('The authorization entry of the message is not a string');
}

/** `authorization` of a headers object, its name compared case-insensitively as in HTTP (RFC 9110 §5.1). */
function fromEntries(headers: unknown): string | undefined {
  if (!isObject(headers)) return undefined;
  // NATS headers (nats.js MsgHdrs): `get(name, Match.IgnoreCase)`; the second argument is 2 in that enum.
  if (typeof headers.get === 'function') return single([call(headers, 'get', 'authorization', 2)]);
  return single(
    Object.keys(headers)
      .filter((name) => name.toLowerCase() === 'authorization')
      .map((name) => headers[name]),
  );
}

/**
 * `authorization` of the transport's own headers: gRPC metadata, NATS headers (`getHeaders()`), TCP and
 * Redis packet metadata (`getMetadata()`, Nest 12), RabbitMQ message headers and Kafka message headers
 * (`getMessage()`), MQTT 5 user properties (`getPacket()`).
 */
function fromTransport(transport: unknown): string | undefined {
  if (isGrpcMetadata(transport))
    return single(call(transport, 'get', 'authorization') as unknown[]);
  const message = call(transport, 'getMessage');
  const packet = call(transport, 'getPacket');
  return single([
    fromEntries(call(transport, 'getHeaders')),
    fromEntries(call(transport, 'getMetadata')),
    fromEntries(
      isObject(message) && isObject(message.properties) ? message.properties.headers : undefined,
    ),
    fromEntries(isObject(message) ? message.headers : undefined),
    fromEntries(
      isObject(packet) && isObject(packet.properties)
        ? packet.properties.userProperties
        : undefined,
    ),
  ]);
}

/** The accessors through which a transport's context hands over the message's own headers. */
const HEADER_ACCESSORS = ['getHeaders', 'getMetadata', 'getMessage', 'getPacket'];

/**
 * Whether the message came with a header channel of its own: gRPC metadata, or a context with one of the
 * accessors `fromTransport` reads (every transport of Nest 12, even when this message's headers are empty).
 */
const hasHeaderChannel = (transport: unknown): boolean =>
  isGrpcMetadata(transport) ||
  (isObject(transport) && HEADER_ACCESSORS.some((name) => typeof transport[name] === 'function'));

/**
 * The payload's own `headers.authorization`, only for a message without a header channel (TCP and Redis
 * before Nest 12, a custom transport whose context has none). Where the transport has headers, a payload's
 * `headers` is data: a relayed HTTP request's headers, or a Kafka tombstone's (its payload is the message).
 */
const fromPayload = (data: unknown, transport: unknown): string | undefined =>
  !hasHeaderChannel(transport) && isObject(data) ? fromEntries(data.headers) : undefined;

/** The principal verified for a context, and the `authorization` it was verified from. */
interface Verified {
  authorization: string | undefined;
  principal: unknown;
}

/** The principal OAuth2Guard set for each message's context, for `@OAuthPrincipal()` of its handler. */
const verified = new WeakMap<object, Verified>();

/**
 * A microservice message as the request OAuth2Guard reads: its `authorization` header is the message's, from
 * the transport's headers, or from the payload's `headers` when the transport has none. Read afresh from
 * every message, never cached: a transport may hand over one context object (or one payload object) for many
 * messages.
 *
 * What is kept, per context object, is the principal the guard sets on the view, with the `authorization` it
 * was verified from: the view of a later message of the same context shows it only for the same
 * `authorization`, so a reused context never lends one message's principal to another caller.
 */
export function rpcRequest(context: ExecutionContext): OAuth2HttpRequest {
  const data = context.getArgByIndex<unknown>(0);
  const transport = context.getArgByIndex<unknown>(1);
  const authorization = fromTransport(transport) ?? fromPayload(data, transport);
  const view: OAuth2HttpRequest = { method: 'RPC', headers: { authorization } };
  if (isObject(transport)) {
    Object.defineProperty(view, PRINCIPAL, {
      get: () => {
        const kept = verified.get(transport);
        return kept?.authorization === authorization ? kept?.principal : undefined;
      },
      set: (principal: unknown) => verified.set(transport, { authorization, principal }),
    });
  }
  return view;
}

/** gRPC status codes (grpc/doc/statuscodes.md) for the refusal's HTTP status, for gRPC clients. */
const GRPC_CODES: Readonly<Record<number, number>> = {
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  403: 7, // PERMISSION_DENIED
  503: 14, // UNAVAILABLE
};

type RpcExceptionClass = new (error: object) => Error;
let rpcException: RpcExceptionClass | undefined;
let loading: Promise<void> | undefined;

/**
 * Loads @nestjs/microservices' RpcException, the only error its exception filter sends to the client as it
 * is (anything else becomes "Internal server error"). Loaded on the first message, from the app's own copy:
 * the library does not depend on @nestjs/microservices.
 */
export function loadRpcException(): Promise<void> {
  loading ??= import('@nestjs/microservices').then(
    (microservices) => {
      // A CommonJS copy (Nest 11) may come as the default export only.
      const { default: commonJs } = microservices as { default?: typeof microservices };
      rpcException = microservices.RpcException ?? commonJs?.RpcException;
    },
    () => undefined,
  );
  return loading;
}

/**
 * An OAuth2Guard refusal as the error a microservice client receives: the refusal's data (`status`, RFC 6750
 * §3 `error` and `error_description`, `scope`, `retry_after`, `message`), plus the gRPC status `code` when
 * the message came over gRPC. The OAuth2Error itself when RpcException could not be loaded.
 */
export function rpcRefusal(context: ExecutionContext, error: OAuth2Error): unknown {
  if (rpcException === undefined) return error;
  const refusal: OAuth2Refusal & { code?: number } = refusalOf(error);
  if (isGrpcMetadata(context.getArgByIndex(1))) {
    refusal.code = GRPC_CODES[refusal.status] ?? 2; // UNKNOWN
  }
  return new rpcException(refusal);
}
