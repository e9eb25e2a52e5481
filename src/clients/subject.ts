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

/** A `userId` as the token's `sub` carries it: a legacy INTEGER column reads back as a number. */
const subjectOf = (userId: unknown): string | null => (userId === null ? null : String(userId));

/**
 * A token's `sub` is the client's `userId` when set, else its id (RFC 9068 §2.2). A resource server that trusts
 * `sub` must never take one client for another, so a `userId` is never empty and never another client's id,
 * and a client's id is never another client's `userId`. (Two clients acting for one user may share a `userId`,
 * and a client's `userId` may be its own id.)
 *
 * What a save changes is checked, given the stored client (null: a new one): a `userId` set or changed, and
 * the id of a new client. A conflict stored before the rule existed (a legacy table) does not keep its
 * clients from being disabled or their secrets rotated; it is refused again when someone changes `userId`.
 */
export async function checkSubject(
  client: OAuthClient,
  others: SubjectLookups,
  stored: OAuthClient | null,
): Promise<void> {
  const { clientId } = client;
  const userId = subjectOf(client.userId);
  if (userId !== null && (stored === null || subjectOf(stored.userId) !== userId)) {
    if (userId.trim() === '') {
      throw new OAuthSubjectConflictError(`client '${clientId}': user_id must not be empty`);
    }
    if (userId !== clientId && (await others.findById(userId))) {
      throw new OAuthSubjectConflictError(
        `client '${clientId}': user_id '${userId}' is another client's id, so both clients' tokens would have the same sub`,
      );
    }
  }
  if (stored !== null) return;
  const claimed = (await others.findByUserId(clientId)).find(
    (other) => other.clientId !== clientId && subjectOf(other.userId) === clientId,
  );
  if (claimed) {
    throw new OAuthSubjectConflictError(
      `client '${clientId}': the id is the user_id of client '${claimed.clientId}', so both clients' tokens would have the same sub`,
    );
  }
}
