const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Hour of the day, UTC, without allocating a Date (this runs per destructive event). */
export function utcHour(t: number): number {
  return Math.floor((((t % DAY) + DAY) % DAY) / HOUR);
}

/** Day of the week, UTC, 0 = Sunday (1970-01-01 was a Thursday). */
export function utcWeekday(t: number): number {
  return (((Math.floor(t / DAY) + 4) % 7) + 7) % 7;
}
