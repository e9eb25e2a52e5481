/** A count of work done shown as it goes: on a terminal, one line redrawn in place; elsewhere nothing. */
export interface Progress {
  /** `done` of about `total` so far. */
  update(done: number, total: number): void;
  /** Clears the line, so what follows starts on a clean one. */
  finish(): void;
}

/** Shows nothing: stderr is not a terminal, or the output is JSON. */
export const NO_PROGRESS: Progress = { update() {}, finish() {} };

/** Redraws at most this often (a terminal need not repaint for every row). */
const REDRAW_MS = 100;

/**
 * Progress on a terminal (`write` is its stderr): `<label> 120/300 (40%), 85/s, about 2 s left`, redrawn in
 * place with a carriage return and an erase to the end of the line.
 */
export function terminalProgress(
  write: (text: string) => void,
  label: string,
  now: () => number = Date.now,
): Progress {
  const started = now();
  let drawn = -Infinity;
  let shown = false;
  return {
    update(done, total) {
      const at = now();
      if (at - drawn < REDRAW_MS && done < total) return;
      drawn = at;
      shown = true;
      write(`\r${label} ${progressText(done, total, at - started)}\x1b[K`);
    },
    finish() {
      if (shown) write('\r\x1b[K');
      shown = false;
    },
  };
}

/** `120/300 (40%), 85/s, about 2 s left`; the rate and time once something is done. */
export function progressText(done: number, total: number, elapsedMs: number): string {
  const whole = Math.max(total, done);
  const percent = whole === 0 ? 100 : Math.floor((done / whole) * 100);
  const counts = `${done}/${whole} (${percent}%)`;
  if (done === 0 || elapsedMs <= 0) return counts;
  const rate = done / (elapsedMs / 1000);
  const left = (whole - done) / rate;
  return `${counts}, ${rate < 10 ? rate.toFixed(1) : Math.round(rate)}/s, about ${duration(left)} left`;
}

function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
