// A private PostgreSQL server for a test: initdb in a temporary directory, run as the
// `postgres` system user (PostgreSQL refuses to run as root), listening on 127.0.0.1 only at a
// free port and on a Unix socket inside that directory; role and database `ediv` with a random
// password (scram-sha-256 over TCP, trust on the socket). stop() stops exactly that server
// (pg_ctl, then its postmaster's pid if it is still there) and removes the directory. Needs
// root and Debian's postgresql package (./scripts/setup); without them tests skip, saying why.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface PgServer {
  /** postgresql://ediv@127.0.0.1:PORT/ediv: no password in it (see env, password). */
  url: string;
  /** For child processes: PGPASSWORD, and PGHOST/PGPORT/PGUSER/PGDATABASE for psql. */
  env: Record<string, string>;
  password: string;
  port: number;
  /** The directory of the server's Unix socket (local connections are trusted). */
  socketDir: string;
  /** postgresql://ediv@/ediv?host=SOCKETDIR&port=PORT */
  socketUrl: string;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Bound on initdb plus start-up; 60 s by default. */
  timeoutMs?: number;
}

const USER = 'ediv';

/** Why a private server cannot be started here, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the PostgreSQL tests need root (the server runs as the postgres user)';
  if (!pgBinDir()) return 'PostgreSQL is not installed (/usr/lib/postgresql/*/bin; ./scripts/setup installs it)';
  if (systemUser('postgres') === undefined) return 'there is no postgres system user (Debian\'s postgresql package creates it)';
  if (!fs.existsSync('/usr/sbin/runuser') && !fs.existsSync('/sbin/runuser')) return 'runuser (util-linux) is missing';
  return undefined;
}

/** The newest installed PostgreSQL's bin directory (with initdb, pg_ctl and postgres). */
export function pgBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = fs.readdirSync(root);
  } catch {
    return undefined;
  }
  const dirs = versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(root, v, 'bin'))
    .filter((d) => ['initdb', 'pg_ctl', 'postgres'].every((p) => fs.existsSync(path.join(d, p))));
  return dirs[0];
}

function systemUser(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL program as the postgres user, in `cwd` (which that user can enter). */
function asPostgres(bin: string, args: string[], cwd: string, timeoutMs: number) {
  return run('runuser', ['-u', 'postgres', '--', bin, ...args], { cwd, timeout: timeoutMs, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
}

/** Servers started and not yet stopped, stopped at process exit if a test forgot. */
const live = new Set<{ stopSync(): void }>();
let exitHook = false;

/**
 * Starts a private server, or returns undefined when that cannot be done here
 * (postgresUnavailable says why). Throws when it should work and does not.
 */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PgServer | undefined> {
  if (postgresUnavailable()) return undefined;
  const bin = pgBinDir()!;
  const owner = systemUser('postgres')!;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-pg-'));
  const dataDir = path.join(dir, 'data');
  const socketDir = path.join(dir, 'sock');
  const logFile = path.join(dir, 'server.log');
  const password = randomBytes(18).toString('base64url');
  let postmasterPid: number | undefined;

  const stopSync = () => {
    // At process exit: no waiting on promises, so pg_ctl synchronously, immediate mode.
    try {
      execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, 'pg_ctl'), 'stop', '-m', 'immediate', '-w', '-t', '10', '-D', dataDir], {
        cwd: dir,
        stdio: 'ignore',
        timeout: 15_000,
      });
    } catch {
      /* not running */
    }
    killPostmaster(dataDir, postmasterPid);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const entry = { stopSync };
  live.add(entry);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const s of live) s.stopSync();
    });
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    live.delete(entry);
    try {
      await asPostgres(path.join(bin, 'pg_ctl'), ['stop', '-m', 'fast', '-w', '-t', '30', '-D', dataDir], dir, 40_000);
    } catch {
      /* not running, or did not stop in time: killed below */
    }
    killPostmaster(dataDir, postmasterPid);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    fs.mkdirSync(socketDir);
    const pwFile = path.join(dir, 'pwfile');
    fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    for (const p of [dir, socketDir, pwFile]) fs.chownSync(p, owner.uid, owner.gid);
    fs.chmodSync(dir, 0o700);
    await asPostgres(
      path.join(bin, 'initdb'),
      ['-D', dataDir, '-U', USER, `--pwfile=${pwFile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      dir,
      timeoutMs,
    );
    fs.rmSync(pwFile);

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      fs.appendFileSync(
        path.join(dataDir, 'postgresql.conf'),
        [
          '',
          '# ediv test server (test/helpers/postgres.ts)',
          "listen_addresses = '127.0.0.1'",
          `port = ${port}`,
          `unix_socket_directories = '${socketDir}'`,
          'fsync = off',
          'synchronous_commit = off',
          'full_page_writes = off',
          'max_connections = 200', // a course: 2 per controller (src/state/postgres.ts), 30 controllers and more
          "shared_buffers = '16MB'",
          '',
        ].join('\n'),
      );
      try {
        await asPostgres(path.join(bin, 'pg_ctl'), ['start', '-w', '-t', String(Math.ceil(timeoutMs / 1000)), '-s', '-D', dataDir, '-l', logFile], dir, timeoutMs + 5000);
        break;
      } catch (err) {
        // The port may have been taken between freePort and the server's bind: try another.
        const log = readLog(logFile);
        if (attempt < 3 && /could not bind|address already in use/i.test(log)) continue;
        throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${log}`);
      }
    }
    postmasterPid = readPostmasterPid(dataDir);

    // Role ediv is the superuser initdb made; the database ediv is made here, over the socket.
    const admin = new pg.Client({ host: socketDir, port, user: USER, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${USER}`);
    } finally {
      await admin.end();
    }

    const url = `postgresql://${USER}@127.0.0.1:${port}/${USER}`;
    return {
      url,
      env: { PGPASSWORD: password, PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: USER, PGDATABASE: USER },
      password,
      port,
      socketDir,
      socketUrl: `postgresql://${USER}@/${USER}?host=${socketDir}&port=${port}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A suite's `before`: starts a server, or skips the suite (saying why) when PostgreSQL or root
 * is missing. Pair it with `after(() => server?.stop())`.
 */
export async function startPostgresOrSkip(ctx: Mocha.Context, opts?: StartPostgresOptions): Promise<PgServer> {
  const why = postgresUnavailable();
  if (why) {
    console.log(`    (skipped: ${why})`);
    ctx.skip();
  }
  const server = await startPostgres(opts);
  if (!server) throw new Error('PostgreSQL became unavailable');
  return server;
}

/** Creates an empty database `name` on `server`; resolves with its URL (no password in it). */
export async function createDatabase(server: PgServer, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const admin = new pg.Client({ host: server.socketDir, port: server.port, user: USER, database: USER });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return `postgresql://${USER}@127.0.0.1:${server.port}/${name}`;
}

function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '';
  }
}

function readPostmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Kills the postmaster of `dataDir` if it still runs: the pid from postmaster.pid (or the one
 * recorded at start), and only if that process is a postgres whose command line names dataDir.
 */
function killPostmaster(dataDir: string, recorded: number | undefined): void {
  for (const pid of new Set([readPostmasterPid(dataDir), recorded])) {
    if (pid === undefined) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue; // gone
    }
    if (!/postgres/.test(cmdline) || !cmdline.includes(dataDir)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
    // Its children (backends) exit when the postmaster dies; wait for it, bounded.
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      let stat: string;
      try {
        stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        break; // gone
      }
      if (/^\d+ \(.*\) Z/.test(stat)) break; // a zombie: dead, waiting for its parent
      execFileSync('sleep', ['0.05']);
    }
  }
}
