import { expect } from '@jest/globals';

type Class<T> = abstract new (...args: never[]) => T;

/** What `fn` threw, failing the test when it returned instead. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw, but the call returned');
}

/** What the promise rejected with, failing the test when it resolved instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** What `fn` threw, which must be a `type`. */
export function thrownAs<T>(type: Class<T>, fn: () => unknown): T {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(type);
  return error as T;
}

/** What the promise rejected with, which must be a `type`. */
export async function rejectedAs<T>(type: Class<T>, promise: Promise<unknown>): Promise<T> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(type);
  return error as T;
}
