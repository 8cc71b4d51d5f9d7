import { createServer } from 'node:net';

/** A loopback port that was free a moment ago (for the local broker, test servers and benchmarks). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A server listening on `host:port` (port 0: any free one), with its port and a stop that ends keep-alive connections. */
export async function listening<S extends import('node:net').Server>(server: S, host: string, port: number): Promise<{ server: S; port: number; stop: () => Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as { port: number }).port,
    stop: () => new Promise<void>((r) => {
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      server.close(() => r());
    }),
  };
}
