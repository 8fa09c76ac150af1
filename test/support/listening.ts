/** The test's app on a real loopback port, for clients that speak HTTP themselves (the SDK, the axv binary). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ctx } from './context.js';

export interface Listening {
  url: string;
  close: () => Promise<void>;
}

export async function listenApp(): Promise<Listening> {
  const server: Server = createServer(ctx().app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
