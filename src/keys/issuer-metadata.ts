import { fetchJson, limitsOf, RemoteDocumentError, type FetchFunction } from './bounded-fetch.js';

/** Whose metadata, where, and the bounds of the fetch. */
export interface IssuerMetadataSettings {
  issuer: string;
  /** RFC 8414 §3.1: the metadata URL of the issuer. */
  metadataUrl: string | undefined;
  fetchTimeoutMs: number;
  maxJwksBytes: number;
}

/**
 * RFC 8414 §3: an authorization server's metadata, fetched within the limits; §3.3: its `issuer` must be
 * the one configured, exactly, or the document is refused.
 */
export async function fetchIssuerMetadata(
  { issuer, metadataUrl, ...limits }: IssuerMetadataSettings,
  fetchFn: FetchFunction,
): Promise<Record<string, unknown>> {
  const { body } = await fetchJson(metadataUrl as string, limitsOf(limits), fetchFn);
  const metadata = (typeof body === 'object' && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  if (metadata.issuer !== issuer) {
    throw new RemoteDocumentError(
      `names the issuer ${JSON.stringify(metadata.issuer)?.slice(0, 200)}, not the configured ` +
        `${JSON.stringify(issuer)} (RFC 8414 §3.3)`,
    );
  }
  return metadata;
}

/** An http(s) URL member of the metadata (`jwks_uri`, `introspection_endpoint`, …), or a RemoteDocumentError. */
export function metadataUrl(metadata: Record<string, unknown>, member: string): string {
  const value = metadata[member];
  let url: URL | undefined;
  try {
    url = new URL(value as string);
  } catch {
    url = undefined;
  }
  if (typeof value !== 'string' || url === undefined || !/^https?:$/.test(url.protocol)) {
    throw new RemoteDocumentError(`has no http(s) ${member}`);
  }
  // Normalised by the URL parser: no white space of the document reaches a log line.
  return url.href;
}
