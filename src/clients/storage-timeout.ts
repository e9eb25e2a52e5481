/** A storage call that took longer than the module's `storageTimeoutMs`. */
export class StorageTimeout extends Error {
  override readonly name = 'StorageTimeout';
}

/** `call`'s result, or a StorageTimeout after `ms`: a hung database must not hold a request open. */
export async function withinTime<T>(call: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      call,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StorageTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
