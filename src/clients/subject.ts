import type { OAuthClient } from './oauth-client.entity.js';

/** How checkSubject looks at the other clients of a storage. */
export interface SubjectLookups {
  findById(clientId: string): Promise<OAuthClient | null>;
  /** The clients with this exact `userId`. */
  findByUserId(userId: string): Promise<OAuthClient[]>;
}

/** Thrown when a client's `userId` would make two clients' tokens carry the same `sub`. */
export class OAuthSubjectConflictError extends Error {
  override readonly name = 'OAuthSubjectConflictError';
}

/**
 * A token's `sub` is the client's `userId` when set, else its id (RFC 9068 §2.2). A resource server that trusts
 * `sub` must never take one client for another, so a `userId` is never empty and never another client's id,
 * and a client's id is never another client's `userId`. (Two clients acting for one user may share a `userId`.)
 */
export async function checkSubject(client: OAuthClient, others: SubjectLookups): Promise<void> {
  const { clientId, userId } = client;
  if (userId !== null && String(userId).trim() === '') {
    throw new OAuthSubjectConflictError(`client '${clientId}': user_id must not be empty`);
  }
  if (userId !== null && String(userId) !== clientId && (await others.findById(String(userId)))) {
    throw new OAuthSubjectConflictError(
      `client '${clientId}': user_id '${userId}' is another client's id, so both clients' tokens would have the same sub`,
    );
  }
  const claimed = (await others.findByUserId(clientId)).find(
    (other) => other.clientId !== clientId,
  );
  if (claimed) {
    throw new OAuthSubjectConflictError(
      `client '${clientId}': the id is the user_id of client '${claimed.clientId}', so both clients' tokens would have the same sub`,
    );
  }
}
