/** Thrown when KDF work is shed: the caller answers 503 with Retry-After instead of waiting. */
export class KdfBusyError extends Error {
  override readonly name = 'KdfBusyError';
}

interface Waiter {
  start(): void;
  refuse(error: KdfBusyError): void;
}

/**
 * Bounds concurrent key-derivation work, and shares it fairly. scrypt runs on libuv's thread pool (4 threads
 * by default); without a bound, a flood of wrong secrets queues unbounded work there and every request,
 * legitimate or not, waits behind it.
 *
 * Work waits in one queue per requester (a client id and remote address), and a free slot goes to the queues
 * in turn: a requester with one derivation waiting is served after at most one derivation of each other
 * requester, however many a flooding one has queued. When `maxQueued` are waiting, a newcomer takes the place
 * of the newest waiter of the longest queue, which is refused; only a newcomer whose own queue is already the
 * longest is refused itself. So a flood sheds its own work, not its victim's.
 */
export class KdfLimiter {
  private running = 0;
  private waiting = 0;
  /** Queues by requester, in turn order: the first key is served next. */
  private readonly queues = new Map<string, Waiter[]>();

  /** `onWait`: told how many milliseconds each derivation waited for its turn (0 when it ran at once). */
  constructor(
    private readonly maxConcurrent: number,
    private readonly maxQueued: number,
    private readonly onWait: (ms: number) => void = () => {},
  ) {}

  async run<T>(requester: string, work: () => Promise<T>): Promise<T> {
    if (this.running < this.maxConcurrent) {
      this.running++;
      this.onWait(0);
    } else {
      const queued = performance.now();
      await this.enqueue(requester);
      this.onWait(performance.now() - queued);
    }
    try {
      return await work();
    } finally {
      this.next(requester);
    }
  }

  /** Derivations running and waiting now. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting };
  }

  private enqueue(requester: string): Promise<void> {
    const own = this.queues.get(requester)?.length ?? 0;
    if (this.waiting >= this.maxQueued) {
      const longest = this.longestQueue();
      if (!longest || longest.length <= own + 1) {
        throw new KdfBusyError('key derivation queue is full');
      }
      this.waiting--;
      longest.pop()!.refuse(new KdfBusyError('key derivation shed for a fairer share'));
    }
    return new Promise<void>((start, refuse) => {
      const queue = this.queues.get(requester) ?? [];
      queue.push({ start, refuse });
      this.queues.set(requester, queue);
      this.waiting++;
    });
  }

  /**
   * Hands the finished derivation's slot to the next requester in turn, or frees it. The requester whose work
   * just finished goes last: its next derivation waits for one of every other requester's.
   */
  private next(finished: string): void {
    const turn = [...this.queues.keys()].find((requester) => requester !== finished) ?? finished;
    const queue = this.queues.get(turn);
    const waiter = queue?.shift();
    if (!queue || !waiter) {
      this.running--;
      return;
    }
    // Its turn is used: to the back of the order (Map order), or out when it has nothing left.
    this.queues.delete(turn);
    if (queue.length > 0) this.queues.set(turn, queue);
    this.waiting--;
    waiter.start();
  }

  private longestQueue(): Waiter[] | undefined {
    let longest: Waiter[] | undefined;
    for (const queue of this.queues.values()) {
      if (!longest || queue.length > longest.length) longest = queue;
    }
    return longest;
  }
}
