/** Thrown when the KDF queue is full: the caller answers 503 with Retry-After instead of waiting. */
export class KdfBusyError extends Error {
  override readonly name = 'KdfBusyError';
}

/**
 * Bounds concurrent key-derivation work. scrypt runs on libuv's thread pool (4 threads by default); without a
 * bound, a flood of wrong secrets queues unbounded work there and every request, legitimate or not, waits
 * behind it. Past `maxConcurrent` running and `maxQueued` waiting, work is refused at once.
 */
export class KdfLimiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly maxConcurrent: number,
    private readonly maxQueued: number,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) {
      if (this.waiting.length >= this.maxQueued)
        throw new KdfBusyError('key derivation queue is full');
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
