import { afterEach, beforeEach, jest } from '@jest/globals';

/** The `performance` object modules saw when they loaded, before any fake timers. */
const loadedPerformance = performance;

/**
 * jest's modern fake timers, reaching lru-cache too. They fake Date, setTimeout and the global `performance`,
 * but lru-cache took a reference to the real `performance` object when it loaded and reads `now()` from it, so
 * `advanceTimersByTime` alone never ages its entries. Its `now()` is routed to the fake clock here; undo both
 * with `jest.useRealTimers()` and `jest.restoreAllMocks()`.
 */
export function useFakeClock(): void {
  jest.useFakeTimers();
  // The global is the fake clock's now, so this cannot call itself.
  const fakePerformance = performance;
  jest.spyOn(loadedPerformance, 'now').mockImplementation(() => fakePerformance.now());
  // The fake performance clock starts at 0, which lru-cache reads as "this entry has no start, so no TTL".
  jest.advanceTimersByTime(1000);
}

/**
 * Shifts `Date.now()`, the clock of the key and introspection caches, forward in each test: max-age, TTLs and
 * cooldowns pass without waiting. jose keeps the real time (`new Date()`), so no token expires on the way.
 */
export function useShiftedClock(): (seconds: number) => void {
  let offset = 0;
  beforeEach(() => {
    offset = 0;
    const realNow = Date.now.bind(Date);
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });
  return (seconds) => {
    offset += seconds * 1000;
  };
}
