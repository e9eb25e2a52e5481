/** The `fetch` the key cache calls: the global one, or a test's. */
export type FetchFunction = (url: string, init: RequestInit) => Promise<Response>;

export interface FetchLimits {
  /** The whole exchange, headers and body, in milliseconds. */
  timeoutMs: number;
  /** The largest body read, in bytes. */
  maxBytes: number;
}

/** The limits of a resource server's settings: `fetchTimeoutMs` and `maxJwksBytes`. */
export function limitsOf(settings: { fetchTimeoutMs: number; maxJwksBytes: number }): FetchLimits {
  return { timeoutMs: settings.fetchTimeoutMs, maxBytes: settings.maxJwksBytes };
}

/** A JSON document and how long its response says it may be cached. */
export interface FetchedJson {
  body: unknown;
  /** Seconds from `Cache-Control: max-age` (0 for no-store/no-cache); undefined when it says nothing. */
  maxAge: number | undefined;
}

/** A POST of a form (RFC 7662 §2.1, say) instead of the GET of a document. */
export interface FormPost {
  /** The form fields, sent `application/x-www-form-urlencoded`. */
  form: Record<string, string>;
  /** An `Authorization` header value. */
  authorization?: string;
}

/** Why a remote document could not be had: a sentence for the log, which never quotes the body. */
export class RemoteDocumentError extends Error {
  override readonly name = 'RemoteDocumentError';

  constructor(
    message: string,
    /** The HTTP status of an answer that was not 2xx. */
    readonly status?: number,
    /** Whether no (whole) answer came within the time limit. */
    readonly timedOut = false,
  ) {
    super(message);
  }
}

/**
 * GETs a JSON document from a server we do not control (or POSTs a form to it), within a time and a size: a
 * slow, huge or garbled answer becomes a RemoteDocumentError, never a hung request or a heap full of bytes.
 * Redirects are refused: the configured or discovered URL is the one trusted.
 */
export async function fetchJson(
  url: string,
  { timeoutMs, maxBytes }: FetchLimits,
  fetchFn: FetchFunction = fetch,
  post?: FormPost,
): Promise<FetchedJson> {
  const signal = AbortSignal.timeout(timeoutMs);
  const failure = (error: unknown, otherwise: string): RemoteDocumentError =>
    error instanceof RemoteDocumentError
      ? error
      : signal.aborted
        ? new RemoteDocumentError(`no answer within ${timeoutMs} ms`, undefined, true)
        : new RemoteDocumentError(otherwise);
  let response: Response;
  try {
    response = await fetchFn(url, {
      signal,
      redirect: 'error',
      ...(post === undefined
        ? { headers: { accept: 'application/json' } }
        : {
            method: 'POST',
            headers: {
              accept: 'application/json',
              'content-type': 'application/x-www-form-urlencoded',
              ...(post.authorization === undefined ? {} : { authorization: post.authorization }),
            },
            body: new URLSearchParams(post.form).toString(),
          }),
    });
  } catch (error) {
    throw failure(error, `unreachable (${causeOf(error)})`);
  }
  let text: string;
  try {
    if (!response.ok) {
      throw new RemoteDocumentError(`answered HTTP ${response.status}`, response.status);
    }
    text = await readText(response, maxBytes);
  } catch (error) {
    await response.body?.cancel().catch(() => undefined);
    throw failure(error, `answered with an unreadable body (${causeOf(error)})`);
  }
  try {
    return { body: JSON.parse(text), maxAge: maxAgeOf(response.headers.get('cache-control')) };
  } catch {
    throw new RemoteDocumentError('answered with a body that is not JSON');
  }
}

/** The body as UTF-8 text, read chunk by chunk and abandoned past `maxBytes`. */
async function readText(response: Response, maxBytes: number): Promise<string> {
  const tooLarge = () => new RemoteDocumentError(`answered with more than ${maxBytes} bytes`);
  if (Number(response.headers.get('content-length')) > maxBytes) throw tooLarge();
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new RemoteDocumentError('answered with a body that is not UTF-8');
  }
}

/**
 * RFC 9111 §5.2.2: `no-store` or `no-cache` → 0; `max-age=N` → N; anything else → undefined. Quoted values
 * and unknown directives are passed over.
 */
export function maxAgeOf(cacheControl: string | null): number | undefined {
  if (cacheControl === null) return undefined;
  let maxAge: number | undefined;
  for (const directive of cacheControl.split(',')) {
    const [name, value] = directive.trim().toLowerCase().split('=', 2);
    if (name === 'no-store' || name === 'no-cache') return 0;
    if (name === 'max-age' && value !== undefined && /^\d+$/.test(value)) {
      maxAge = Math.min(Number(value), Number.MAX_SAFE_INTEGER);
    }
  }
  return maxAge;
}

/** A network error's code (ECONNREFUSED, …) or message, without anything the server sent. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
