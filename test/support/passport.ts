import { jest } from '@jest/globals';

/** The actions passport gives a strategy for one request, as mocks. */
export interface PassportActions {
  success: jest.Mock<(user: unknown, info?: unknown) => void>;
  fail: jest.Mock<(challenge?: unknown) => void>;
  error: jest.Mock<(error: unknown) => void>;
}

/** Runs a strategy on a request as passport does, resolving once it called one of its actions. */
export function runStrategy(strategy: object, request: object): Promise<PassportActions> {
  return new Promise((resolve) => {
    const actions: PassportActions = {
      success: jest.fn(() => resolve(actions)),
      fail: jest.fn(() => resolve(actions)),
      error: jest.fn(() => resolve(actions)),
    };
    Object.assign(strategy, actions);
    (strategy as { authenticate(request: object): void }).authenticate(request);
  });
}
