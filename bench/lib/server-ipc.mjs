// The side of the IPC protocol every server under test speaks with bench/run.mjs: it reports its port once
// listening, answers memory queries (after a full GC when the process runs with --expose-gc), and exits when
// told to or when the parent goes away, so no server outlives the bench.

/** Reads the run's configuration passed by the orchestrator. */
export function benchConfig() {
  return JSON.parse(process.env.BENCH_SERVER_CONFIG ?? '{}');
}

export function reportReady(port, extra = {}) {
  process.send?.({ type: 'ready', port, ...extra });
}

export function serveIpc(close = async () => {}) {
  const stop = async () => {
    try {
      await close();
    } finally {
      process.exit(0);
    }
  };
  process.on('message', (message) => {
    if (message?.cmd === 'mem') {
      if (message.gc && typeof globalThis.gc === 'function') globalThis.gc();
      const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
      process.send?.({ type: 'mem', rss, heapUsed, heapTotal, external, arrayBuffers });
    } else if (message?.cmd === 'stop') {
      void stop();
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** Fails the child loudly: the orchestrator shows stderr when a server never becomes ready. */
export function dieOn(promise) {
  promise.catch((error) => {
    console.error(error?.stack ?? String(error));
    process.exit(1);
  });
}
