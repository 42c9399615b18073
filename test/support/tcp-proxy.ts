import net from 'node:net';

/**
 * A TCP proxy in front of the test database, for pretending the database went
 * away. While cut, the listening socket is closed, so new connections fail at
 * once with ECONNREFUSED instead of waiting for a connect timeout.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly upstreams = new Set<net.Socket>();
  private stalled = false;
  private listenPort = 0;

  /** How many client connections the proxy has accepted so far. */
  accepted = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** A proxy for the server of a postgres:// URL, and that URL rewritten to go through it. */
  static async forDatabaseUrl(databaseUrl: string): Promise<{ proxy: TcpProxy; url: string }> {
    const url = new URL(databaseUrl);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
    const proxy = new TcpProxy(host, Number(url.port || 5432));
    const port = await proxy.start();
    url.hostname = '127.0.0.1';
    url.port = String(port);
    return { proxy, url: url.toString() };
  }

  get port(): number {
    return this.listenPort;
  }

  get isUp(): boolean {
    return this.server !== undefined;
  }

  /** Starts listening (on a free port the first time, on the same port after a cut). */
  async start(): Promise<number> {
    if (this.server) return this.listenPort;
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.listenPort = (server.address() as net.AddressInfo).port;
    return this.listenPort;
  }

  /** The database "goes away": every open connection is dropped and new ones are refused. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const socket of [...this.sockets, ...this.upstreams]) socket.destroy();
    this.sockets.clear();
    this.upstreams.clear();
    this.stalled = false;
    await closed;
  }

  /** The database is back, on the same address. */
  async restore(): Promise<void> {
    await this.start();
  }

  /**
   * The database stops answering without closing anything: bytes from the
   * server are held back, so queries in flight hang until a cut.
   */
  stall(): void {
    this.stalled = true;
    for (const upstream of this.upstreams) upstream.pause();
  }

  async close(): Promise<void> {
    await this.cut();
  }

  private accept(client: net.Socket): void {
    this.accepted += 1;
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
    this.sockets.add(client);
    this.upstreams.add(upstream);
    if (this.stalled) upstream.pause();

    // Forwarded by hand rather than piped: a paused socket then stays paused.
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.write(chunk));

    const teardown = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.upstreams.delete(upstream);
    };
    client.on('close', teardown);
    upstream.on('close', teardown);
    // Errors (resets from either side) end the pair; they are expected here.
    client.on('error', teardown);
    upstream.on('error', teardown);
  }
}
