// Rows measured in rounds. The rows of a group (a ratio's two sides, and the rows compared with the same one)
// have their servers up side by side and are measured in turn, A B C then C B A and so on, so that a machine
// whose speed drifts within a run (this one did, by up to 2×) touches each side of a ratio alike. A row reports
// the median of its rounds; a ratio between two rows of one group is the median of the per-round ratios, with
// their range, which says how far the drift moved it.

export function median(values) {
  const sorted = values.filter((v) => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const sum = (values) => values.reduce((total, v) => total + (v ?? 0), 0);

/**
 * One row out of its rounds (each a row of one measurement): throughput, CPU per request and latencies are the
 * medians of the rounds; counts are summed; the CPU shares are the median round's (by throughput).
 */
export function combineRounds(perRound) {
  const byRate = [...perRound].sort((a, b) => a.okPerSecond - b.okPerSecond);
  const typical = byRate[Math.floor((byRate.length - 1) / 2)];
  const statuses = {};
  for (const r of perRound) {
    for (const [code, n] of Object.entries(r.statuses ?? {}))
      statuses[code] = (statuses[code] ?? 0) + n;
  }
  return {
    ...typical,
    okPerSecond: median(perRound.map((r) => r.okPerSecond)),
    costMicros: median(perRound.map((r) => r.costMicros)),
    p50: median(perRound.map((r) => r.p50)),
    p99: median(perRound.map((r) => r.p99)),
    responses: sum(perRound.map((r) => r.responses)),
    non2xx: sum(perRound.map((r) => r.non2xx)),
    errors: sum(perRound.map((r) => r.errors)),
    statuses,
    attempt: Math.max(...perRound.map((r) => r.attempt ?? 1)),
    rounds: perRound.map(({ okPerSecond, costMicros, p50, p99, cpu }) => ({
      okPerSecond,
      costMicros,
      p50,
      p99,
      cpu,
    })),
  };
}

/**
 * Row `a` against row `b`: by throughput (a's 2xx/s over b's) and by CPU (b's µs/req over a's). Rows of one
 * group with as many rounds are paired round by round: the medians of the per-round ratios, and the range of
 * the throughput ones. Other pairs compare their medians (`paired: false`).
 */
export function compareRows(a, b) {
  const paired =
    a.group !== undefined &&
    a.group === b.group &&
    a.rounds?.length > 0 &&
    a.rounds.length === b.rounds?.length;
  if (!paired) {
    return {
      paired: false,
      ratio: a.okPerSecond / b.okPerSecond,
      costRatio: a.costMicros && b.costMicros ? b.costMicros / a.costMicros : undefined,
    };
  }
  const ratios = a.rounds.map((r, i) => r.okPerSecond / b.rounds[i].okPerSecond);
  const costRatios = a.rounds.map((r, i) =>
    r.costMicros && b.rounds[i].costMicros ? b.rounds[i].costMicros / r.costMicros : undefined,
  );
  return {
    paired: true,
    ratio: median(ratios),
    range: [Math.min(...ratios), Math.max(...ratios)],
    costRatio: median(costRatios),
  };
}
