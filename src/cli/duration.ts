import { CliError } from './cli-error.js';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
/** Ten years: a longer duration is a typo, and Date arithmetic stays far from its limits. */
const MAX_DURATION_SECONDS = 3650 * 86400;

/**
 * The one rule of a duration option: `<n>s|m|h|d` (`30s`, `15m`, `24h`, `90d`), whole numbers only; a bare
 * number of seconds only where `bareSeconds` says so (an option documented in seconds). A malformed duration is
 * a usage error.
 *
 * @returns whole seconds
 */
export function parseDuration(
  text: string,
  option: string,
  { min = 1, bareSeconds = false }: { min?: number; bareSeconds?: boolean } = {},
): number {
  const match = /^(\d{1,10})([smhd])?$/.exec(text);
  if (!match || (match[2] === undefined && !bareSeconds)) {
    const form = bareSeconds ? 'whole seconds or <n>s|m|h|d' : '<n>s|m|h|d';
    throw CliError.usage(
      `${option} must be a duration as ${form} (30s, 15m, 24h, 90d), not '${text}'`,
    );
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[(match[2] ?? 's') as keyof typeof UNIT_SECONDS];
  if (seconds < min || seconds > MAX_DURATION_SECONDS) {
    throw CliError.usage(`${option} must be from ${min}s to ${MAX_DURATION_SECONDS / 86400}d`);
  }
  return seconds;
}
