// An in-process ssh2 server on 127.0.0.1 for transport tests, with the misbehaviours the tests
// need: refusing authentication, closing after the key exchange, presenting a key it cannot
// sign with (a man in the middle), changing its key at a re-key, leaving channel requests or
// channel closes unanswered.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey, ServerChannel } from 'ssh2';
import type { ClusterHost } from '../../../src/protocol/cluster.ts';

const { Server, utils } = ssh2;

export interface ServerBehaviour {
  /** Answer to authentication (default: accept every method). */
  auth?: 'accept' | 'reject';
  /** End each connection right after the key exchange, before authentication. */
  closeAfterKex?: boolean;
  /** Present this public key (OpenSSH format) while signing with the real one. */
  presentKey?: string;
  /** 'hang': leave session requests unanswered. Default: run `onExec`. */
  sessions?: 'hang';
  /** Never answer a channel close from the client (the channel stays open on our side). */
  ignoreChannelClose?: boolean;
  /** Send bytes that break the protocol right behind the authentication success (same read). */
  garbageAfterAuth?: boolean;
  /** Runs an exec request; default: write the command back and exit 0. */
  onExec?: (command: string, channel: ServerChannel) => void;
  /** Answer to TCP forwarding (direct-tcpip) requests, as a jump host: default 'reject'. */
  forwarding?: 'allow' | 'reject';
}

export interface TestServer {
  port: number;
  /** The host key's public blob (what the client is shown). */
  hostKeyBlob: Buffer;
  /** The connections accepted so far. */
  connections: Connection[];
  /** Connections closed so far. */
  closed: Connection[];
  /** TCP forwardings asked for (as a jump host), as host:port. */
  forwards: string[];
  /** Changes the host key (public part and signatures) for every later key exchange. */
  switchHostKey(): Buffer;
  close(): Promise<void>;
}

/** A fresh ed25519 key pair: the private key in OpenSSH format, the public one as "type base64". */
export function newKeyPair(): { private: string; public: string } {
  // ssh2 1.17's generator drops a leading zero byte of the public key (1 key in 256), writing a
  // key its own parser refuses: draw again then.
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519');
    const k = utils.parseKey(pair.private);
    if (!(k instanceof Error) && (Array.isArray(k) ? k[0]! : k).getPublicSSH().length === 4 + 11 + 4 + 32) return pair;
  }
}

function parsed(text: string): ParsedKey {
  const k = utils.parseKey(text);
  if (k instanceof Error) throw k;
  return Array.isArray(k) ? k[0]! : k;
}

function runSessions(conn: Connection, b: ServerBehaviour): void {
  conn.on('session', (accept) => {
    if (b.sessions === 'hang') return;
    const session = accept();
    session.on('exec', (acceptExec, _reject, info) => {
      const ch = acceptExec();
      if (b.ignoreChannelClose) {
        // The client's close is handled by ssh2 answering with ours; drop that answer.
        const proto = (conn as unknown as { _protocol: { channelClose(id: number): void } })._protocol;
        proto.channelClose = () => {};
      }
      if (b.onExec) b.onExec(info.command, ch);
      else {
        ch.write(info.command);
        ch.exit(0);
        ch.end();
      }
    });
  });
}

export async function startTestServer(b: ServerBehaviour = {}): Promise<TestServer> {
  const hostKey = parsed(newKeyPair().private);
  if (b.presentKey) {
    const other = parsed(b.presentKey);
    hostKey.getPublicSSH = () => other.getPublicSSH();
  }
  const connections: Connection[] = [];
  const closed: Connection[] = [];
  const forwards: string[] = [];
  const server = new Server({ hostKeys: [{ key: hostKey }] }, (conn) => {
    connections.push(conn);
    conn.on('error', () => {});
    conn.on('close', () => closed.push(conn));
    conn.on('tcpip', (accept, reject, info) => {
      forwards.push(`${info.destIP}:${info.destPort}`);
      if (b.forwarding !== 'allow') return reject();
      const sock = net.connect(info.destPort, info.destIP);
      sock.once('error', () => reject());
      sock.once('connect', () => {
        const ch = accept();
        sock.removeAllListeners('error');
        sock.on('error', () => ch.destroy());
        ch.on('error', () => sock.destroy());
        sock.pipe(ch).pipe(sock);
      });
    });
    if (b.closeAfterKex) conn.once('handshake', () => conn.end());
    conn.on('authentication', (ctx) => {
      if (b.auth === 'reject') return ctx.reject(['publickey']);
      ctx.accept();
      if (b.garbageAfterAuth) (conn as unknown as { _sock: { write(b: Buffer): void } })._sock.write(Buffer.alloc(64, 0xff));
    });
    conn.on('ready', () => runSessions(conn, b));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hostKeyBlob: hostKey.getPublicSSH(),
    connections,
    closed,
    forwards,
    switchHostKey: () => {
      const next = parsed(newKeyPair().private);
      hostKey.getPublicSSH = () => next.getPublicSSH();
      hostKey.sign = next.sign.bind(next);
      return next.getPublicSSH();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.end();
        server.close(() => resolve());
      }),
  };
}

/** A scratch directory with a client key (mode 0600) and a path for known_hosts. */
export function clientFiles(): { dir: string; identity: string; knownHosts: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-ssh-test-'));
  const identity = path.join(dir, 'id_ed25519');
  writeFileSync(identity, newKeyPair().private, { mode: 0o600 });
  chmodSync(identity, 0o600);
  return { dir, identity, knownHosts: path.join(dir, 'known_hosts'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A cluster host reached at 127.0.0.1:`port` with the given ssh settings. */
export function testHost(port: number, ssh: Partial<ClusterHost['ssh']> = {}, address = '127.0.0.1'): ClusterHost {
  return {
    name: 'h1',
    address,
    ssh: { user: 'root', port, ...ssh },
    trunk: 'lo',
    cpu: 100,
    labels: {},
    agentCommand: ['ediv'],
    transport: 'ssh',
    driver: 'netns',
  };
}
