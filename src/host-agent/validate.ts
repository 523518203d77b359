// Request validation for the agent ops: every field checked, each problem named, reported as
// an InputError (exit code 2) before anything is touched.
import net from 'node:net';
import { InputError, type InputProblem } from '../common/errors.ts';
import { isSafeName } from '../common/names.ts';
import { MAX_COMMAND_BYTES, MAX_COMMAND_WORDS, STATUS_SAMPLE_MAX_MS, VM_LIFE_ACTIONS, type CaptureRequest, type ConnectRequest, type VmActionRequest, type AgentExecRequest, type AgentOp, type ApplyRequest, type DestroyRequest, type StatusRequest } from '../protocol/agent.ts';
import type { BackplaneLink } from '../protocol/plan.ts';
import { BACKPLANE_KINDS, MTU_BOUNDS } from '../protocol/cluster.ts';
import { BACKPLANES, backplaneDescriptors, isBackplaneKind } from '../protocol/backplane.ts';
import { MAX_DEPLOYMENT_KEY } from '../protocol/deployment-key.ts';
import { backplaneFor } from './backplanes/registry.ts';
import { driverNames } from './drivers/registry.ts';
import { labFilesProblems } from './lab-files.ts';

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
/** A deployment key (`<lab>.<uid>`, src/protocol/deployment-key.ts): a safe name's characters, longer. */
const DEPLOYMENT_KEY = new RegExp(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,${MAX_DEPLOYMENT_KEY - 1}}$`);
/** An owner's user (a login name, maybe user@domain or a trailing '$') and store id (a UUID). */
const OWNER_USER = /^[A-Za-z0-9_][A-Za-z0-9_.@$-]{0,63}$/;
const OWNER_STORE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** The keys every request on one deployment may carry (OwnedRequest). */
const OWNED_KEYS = ['owner', 'force'];

function isDeploymentKey(v: string): boolean {
  return DEPLOYMENT_KEY.test(v) && !v.includes('..');
}

class Checker {
  readonly problems: InputProblem[] = [];
  readonly op: string;
  constructor(op: string) {
    this.op = op;
  }
  fail(field: string, message: string): void {
    this.problems.push({ loc: { file: `agent ${this.op} request` }, message: `${field}: ${message}` });
  }
  object(v: unknown, field: string): v is Record<string, unknown> {
    if (v && typeof v === 'object' && !Array.isArray(v)) return true;
    this.fail(field, 'must be a JSON object');
    return false;
  }
  name(v: unknown, field: string, optional = false): void {
    if (v === undefined && optional) return;
    if (typeof v !== 'string' || !isSafeName(v)) this.fail(field, `must be a name of 1-63 letters, digits, '_', '-' or '.' (got ${JSON.stringify(v)})`);
  }
  /** A deployment key: as a name, up to MAX_DEPLOYMENT_KEY characters. */
  deployment(v: unknown, field: string, optional = false): void {
    if (v === undefined && optional) return;
    if (typeof v !== 'string' || !isDeploymentKey(v)) {
      this.fail(field, `must be a name of 1-${MAX_DEPLOYMENT_KEY} letters, digits, '_', '-' or '.', starting with a letter or digit (got ${JSON.stringify(v)})`);
    }
  }
  /** OwnedRequest's fields: `owner` {user, store}, `force` a boolean. */
  owned(r: Record<string, unknown>): void {
    if (r.force !== undefined && typeof r.force !== 'boolean') this.fail('force', 'must be true or false');
    if (r.owner === undefined || !this.object(r.owner, 'owner')) return;
    const o = r.owner;
    this.unknownKeys(o, ['user', 'store'], 'owner');
    if (typeof o.user !== 'string' || !OWNER_USER.test(o.user)) this.fail('owner.user', `must be a user name of 1-64 letters, digits, '_', '.', '@', '$' or '-' (got ${JSON.stringify(o.user)})`);
    if (typeof o.store !== 'string' || !OWNER_STORE.test(o.store)) this.fail('owner.store', `must be a store id of 1-64 letters, digits, '_', '.' or '-' (got ${JSON.stringify(o.store)})`);
  }
  string(v: unknown, field: string, optional = false): void {
    if (v === undefined && optional) return;
    if (typeof v !== 'string' || v.length === 0) this.fail(field, 'must be a non-empty string');
  }
  /** A request about one deployment on one host: its keys (these, its owner's and `extra`), the deployment and host. */
  deploymentRequest(r: Record<string, unknown>, extra: string[]): void {
    this.unknownKeys(r, ['deployment', 'host', ...OWNED_KEYS, ...extra]);
    this.deployment(r.deployment, 'deployment');
    this.name(r.host, 'host');
    this.owned(r);
  }
  /** A one-off command: 1..MAX_COMMAND_WORDS strings (the first non-empty), MAX_COMMAND_BYTES in all. */
  command(v: unknown, field: string): void {
    if (v === undefined) return;
    if (!Array.isArray(v) || v.length === 0 || v.length > MAX_COMMAND_WORDS || !v.every((w) => typeof w === 'string')) {
      return this.fail(field, `must be an array of 1 to ${MAX_COMMAND_WORDS} strings`);
    }
    if (v[0] === '') this.fail(field, 'must not start with an empty word');
    if (Buffer.byteLength(v.join('\0')) > MAX_COMMAND_BYTES) this.fail(field, `must be at most ${MAX_COMMAND_BYTES} bytes`);
  }
  names(v: unknown, field: string): void {
    if (v === undefined) return;
    if (!Array.isArray(v)) return this.fail(field, 'must be an array of names');
    v.forEach((x, i) => this.name(x, `${field}[${i}]`));
  }
  unknownKeys(o: Record<string, unknown>, allowed: string[], field = 'request'): void {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.fail(`${field}.${k}`, 'unknown field');
  }
  done(): void {
    if (this.problems.length) throw new InputError(this.problems);
  }
}

function checkBackplane(c: Checker, v: unknown): void {
  if (!Array.isArray(v)) return c.fail('backplane', 'must be an array');
  v.forEach((b, i) => {
    const f = `backplane[${i}]`;
    if (!c.object(b, f)) return;
    c.unknownKeys(b, ['kind', 'net', 'id', 'trunk', 'localAddress', 'remotes', 'port', 'trunkMTU'], f);
    const link = b as Partial<BackplaneLink>;
    const kind = isBackplaneKind(link.kind) ? BACKPLANES[link.kind] : undefined;
    if (!kind) c.fail(`${f}.kind`, `must be ${BACKPLANE_KINDS.map((k) => JSON.stringify(k)).join(' or ')}`);
    c.name(link.net, `${f}.net`);
    const max = kind?.maxId ?? Math.max(...backplaneDescriptors().map((d) => d.maxId));
    if (!Number.isInteger(link.id) || link.id! < 1 || link.id! > max) c.fail(`${f}.id`, `must be an integer 1..${max}`);
    if (typeof link.trunk !== 'string' || !IFNAME.test(link.trunk)) c.fail(`${f}.trunk`, 'must be an interface name (1-15 characters)');
    if (link.localAddress !== undefined && !net.isIP(String(link.localAddress))) c.fail(`${f}.localAddress`, 'must be an IP address');
    if (kind?.needsLocalAddress && link.localAddress === undefined) c.fail(`${f}.localAddress`, `is required for ${kind.kind}`);
    if (!Array.isArray(link.remotes)) c.fail(`${f}.remotes`, 'must be an array of IP addresses');
    else link.remotes.forEach((r, j) => net.isIP(String(r)) || c.fail(`${f}.remotes[${j}]`, 'must be an IP address'));
    if (link.port !== undefined) {
      if (kind && backplaneFor(kind.kind).defaultPort === undefined) c.fail(`${f}.port`, `a ${kind.kind} link has no port`);
      else if (!Number.isInteger(link.port) || link.port < 1 || link.port > 65535) c.fail(`${f}.port`, 'must be a UDP port, an integer 1..65535');
    }
    if (link.trunkMTU !== undefined) {
      if (!Number.isInteger(link.trunkMTU) || link.trunkMTU < MTU_BOUNDS.min || link.trunkMTU > MTU_BOUNDS.max) {
        c.fail(`${f}.trunkMTU`, `must be an integer ${MTU_BOUNDS.min}..${MTU_BOUNDS.max}`);
      } else if (kind && (link.localAddress === undefined || typeof link.localAddress === 'string')) {
        // What is left for the VMs' frames once the encapsulation is taken off must be an MTU.
        const overhead = backplaneFor(kind.kind).mtuOverhead(link as BackplaneLink);
        if (link.trunkMTU - overhead < MTU_BOUNDS.min) {
          c.fail(`${f}.trunkMTU`, `${link.trunkMTU} leaves ${link.trunkMTU - overhead} bytes after the ${overhead}-byte ${kind.label} encapsulation; at least ${MTU_BOUNDS.min + overhead}`);
        }
      }
    }
  });
}

export function validateRequest(op: AgentOp, req: unknown): void {
  const c = new Checker(op);
  if (op === 'serve') return; // validated by the discovery module
  if (!c.object(req, 'request')) return c.done();
  const r = req as Record<string, unknown>;
  switch (op) {
    case 'facts':
      c.unknownKeys(r, []);
      break;
    case 'apply': {
      const a = r as Partial<ApplyRequest>;
      c.deploymentRequest(r, ['lab', 'fragmentXml', 'files', 'backplane', 'driver', 'vms']);
      c.name(a.lab, 'lab', true);
      c.string(a.fragmentXml, 'fragmentXml');
      for (const p of labFilesProblems(a.files)) c.fail(p.field, p.message);
      checkBackplane(c, a.backplane);
      if (a.driver !== undefined && !driverNames().includes(a.driver)) c.fail('driver', `unknown driver ${JSON.stringify(a.driver)} (available: ${driverNames().join(', ')})`);
      c.names(a.vms, 'vms');
      break;
    }
    case 'exec': {
      const e = r as Partial<AgentExecRequest>;
      c.deploymentRequest(r, ['seq', 'command', 'vms']);
      if ((e.seq === undefined) === (e.command === undefined)) c.fail('request', 'needs exactly one of seq and command');
      c.string(e.seq, 'seq', true);
      c.command(e.command, 'command');
      c.names(e.vms, 'vms');
      break;
    }
    case 'connect': {
      const q = r as Partial<ConnectRequest>;
      c.deploymentRequest(r, ['vm', 'command']);
      c.name(q.vm, 'vm');
      c.command(q.command, 'command');
      break;
    }
    case 'capture': {
      const q = r as Partial<CaptureRequest>;
      c.deploymentRequest(r, ['net', 'count']);
      c.name(q.net, 'net');
      if (q.count !== undefined && !(Number.isInteger(q.count) && q.count >= 1 && q.count <= 1e9)) c.fail('count', 'must be a whole number from 1');
      break;
    }
    case 'vm': {
      const v = r as Partial<VmActionRequest>;
      c.deploymentRequest(r, ['action', 'vms']);
      if (!(VM_LIFE_ACTIONS as readonly unknown[]).includes(v.action)) c.fail('action', `must be one of ${VM_LIFE_ACTIONS.join(', ')}`);
      if (!Array.isArray(v.vms) || v.vms.length === 0) c.fail('vms', 'must name at least one VM');
      else c.names(v.vms, 'vms');
      break;
    }
    case 'destroy': {
      const d = r as Partial<DestroyRequest>;
      c.deploymentRequest(r, ['vms']);
      c.names(d.vms, 'vms');
      break;
    }
    case 'status': {
      const s = r as Partial<StatusRequest>;
      c.unknownKeys(r, ['deployment', 'host', 'detail', 'sampleMs']);
      c.deployment(s.deployment, 'deployment', true);
      c.name(s.host, 'host');
      if (s.detail !== undefined && typeof s.detail !== 'boolean') c.fail('detail', 'must be true or false');
      if (s.sampleMs !== undefined && !(Number.isInteger(s.sampleMs) && s.sampleMs >= 1 && s.sampleMs <= STATUS_SAMPLE_MAX_MS)) {
        c.fail('sampleMs', `must be an integer of milliseconds, 1 to ${STATUS_SAMPLE_MAX_MS}`);
      }
      break;
    }
  }
  c.done();
}
