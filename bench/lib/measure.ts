import { cpus, loadavg, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

/** The p-th percentile of an ascending list (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarise(samples: number[]): { p50: number; p99: number; max: number; count: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN, count: sorted.length };
}

export const loadAverage = () => loadavg().map((l) => l.toFixed(2)).join(' ');
export const MiB = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
export const ms = (value: number) => `${value.toFixed(1)} ms`;

/** Resident memory of a process (Linux /proc), 0 when it is gone. */
export function rssOf(pid: number): number {
  try {
    const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? 0 : Number(kib) * 1024;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS every 50 ms until stopped; the peak is what a memory limit must allow. */
export function sampleRss(pid: number): { stop(): { peak: number; last: number } } {
  let peak = rssOf(pid);
  let last = peak;
  const timer = setInterval(() => {
    last = rssOf(pid);
    peak = Math.max(peak, last);
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return { peak, last };
    },
  };
}

export function machine(): string {
  const cores = cpus();
  return `${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, ${MiB(totalmem())} RAM, Node ${process.version}, ${process.platform}`;
}

/** Runs `tasks` with at most `concurrency` in flight; resolves with their results in order. */
export async function inParallel<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await task(index);
      }
    }),
  );
  return results;
}
