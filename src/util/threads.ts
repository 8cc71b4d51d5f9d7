import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** tsx's `register` for ESM, found through its package's exports map (vitest has no import.meta.resolve). */
function tsxLoaderApi(): string {
  const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return new URL(pkg.exports['./esm/api']!.import.default, pathToFileURL(pkgPath)).href;
}

/**
 * A worker thread running `entry`. A built .js entry starts as it is. A .ts entry (tests, benches, run from source)
 * is loaded through tsx's loader: a worker does not take `--import` in its execArgv on Node 20, so a small bootstrap
 * registers the loader before importing the entry.
 */
export function startThread(entry: URL, workerData: unknown): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  const bootstrap = `import(${JSON.stringify(tsxLoaderApi())}).then((api) => api.register()).then(() => import(${JSON.stringify(entry.href)}))`;
  return new Worker(bootstrap, { eval: true, workerData });
}
