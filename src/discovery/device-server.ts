// HTTP side of a UPnP device (UDA 1.1 §2-4): serves the description and SCPDs, runs SOAP
// control requests against the device model, and handles GENA subscriptions. It listens on
// one (management) address only.
//
// Whoever is on the management network can connect, so the server bounds what a client can
// hold: connections overall and per address, header size (431 beyond), time to send the
// headers and the whole request, request bodies (only SOAP POSTs have one: 64 KiB, 413
// beyond, refused from Content-Length before anything is read). Actions marked `signed` need a
// valid signature when the server has a control key (control-auth.ts).
import http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ActionSpec, DeviceModel, ServiceModel, StateVariableSpec } from './types.ts';
import { UpnpError, UPNP_ERRORS } from './types.ts';
import { DESCRIPTION_PATH, allDevices, deviceDescription, scpd, serviceUrls } from './description.ts';
import { MAX_SOAP_BYTES, parseSoapRequest, soapFault, soapResponse } from './soap.ts';
import { Subscriptions, type Notifier } from './gena.ts';
import { SERVER_HEADER } from './ssdp-messages.ts';
import type { InterfaceAddress } from './netif.ts';
import { subnetPolicy } from './url-policy.ts';
import { SIGNATURE_HEADER, type ControlVerifier } from './control-auth.ts';

type Route =
  | { kind: 'scpd'; service: ServiceModel }
  | { kind: 'control'; device: DeviceModel; service: ServiceModel }
  | { kind: 'event'; device: DeviceModel; service: ServiceModel };

const XML = 'text/xml; charset="utf-8"';

export const HTTP_LIMITS = {
  maxConnections: 256,
  maxConnectionsPerAddress: 32,
  maxHeaderBytes: 8 * 1024,
  headersTimeoutMs: 5_000,
  /** Receiving a whole request (the action itself may then take longer). */
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  /** How often Node looks for requests past those timeouts (its default is 30 s). */
  checkIntervalMs: 1_000,
  maxRequestsPerSocket: 1000,
};

/** After a 413, this much more of the body is read and dropped (so the client sees the answer), then the connection is cut. */
const DRAIN_BYTES = 1024 * 1024;

export interface DeviceServerOptions {
  address: string;
  port?: number;
  log?: (msg: string) => void;
  /** The management network (GENA callbacks must point into it); default: the address alone. */
  network?: InterfaceAddress;
  /** Checks signatures of `signed` actions (none: every action is open). */
  verifier?: ControlVerifier;
  /** Sends GENA events (tests stub it). */
  notify?: Notifier;
  /** Tighter (or looser) HTTP limits than HTTP_LIMITS, e.g. short timeouts in tests. */
  limits?: Partial<typeof HTTP_LIMITS>;
}

export class DeviceServer {
  private readonly server: http.Server;
  private readonly opts: DeviceServerOptions;
  private routes = new Map<string, Route>();
  private description = '';
  private configId = 0;
  private readonly perAddress = new Map<string, number>();
  private readonly limits: typeof HTTP_LIMITS;
  readonly subscriptions: Subscriptions;

  constructor(opts: DeviceServerOptions) {
    this.opts = opts;
    const limits = (this.limits = { ...HTTP_LIMITS, ...opts.limits });
    const network = opts.network ?? { name: '', address: opts.address, netmask: '255.255.255.255' };
    this.subscriptions = new Subscriptions({ policy: subnetPolicy(network), log: opts.log, notify: opts.notify });
    this.server = http.createServer({ maxHeaderSize: limits.maxHeaderBytes, connectionsCheckingInterval: limits.checkIntervalMs }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        opts.log?.(`request failed: ${(err as Error).message}`);
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    this.server.maxConnections = limits.maxConnections;
    this.server.headersTimeout = limits.headersTimeoutMs;
    this.server.requestTimeout = limits.requestTimeoutMs;
    this.server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    this.server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
    this.server.on('connection', (socket) => this.admit(socket));
  }

  /** One address may not hold all the connections: those beyond its share are closed at once. */
  private admit(socket: net.Socket): void {
    const who = socket.remoteAddress ?? '';
    const n = (this.perAddress.get(who) ?? 0) + 1;
    if (n > this.limits.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    this.perAddress.set(who, n);
    socket.once('close', () => {
      const left = (this.perAddress.get(who) ?? 1) - 1;
      if (left > 0) this.perAddress.set(who, left);
      else this.perAddress.delete(who);
    });
  }

  /** Listens on the management address; returns the description URL (the SSDP LOCATION). */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.opts.address, port: this.opts.port ?? 0 }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.locationUrl();
  }

  locationUrl(): string {
    const a = this.server.address() as AddressInfo;
    return `http://${this.opts.address}:${a.port}${DESCRIPTION_PATH}`;
  }

  /** Replaces the served device tree. */
  setDevice(root: DeviceModel, configId: number): void {
    const routes = new Map<string, Route>();
    for (const d of allDevices(root)) {
      for (const s of d.services) {
        const u = serviceUrls(d, s);
        routes.set(u.scpd, { kind: 'scpd', service: s });
        routes.set(u.control, { kind: 'control', device: d, service: s });
        routes.set(u.event, { kind: 'event', device: d, service: s });
      }
    }
    this.routes = routes;
    this.description = deviceDescription(root, configId);
    this.configId = configId;
    this.subscriptions.retain((p) => routes.has(p));
  }

  /** Sends the service's evented variables to its subscribers (after a state change). */
  publish(device: DeviceModel, service: ServiceModel): void {
    this.subscriptions.publish(serviceUrls(device, service).event, service.evented());
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    res.setHeader('SERVER', SERVER_HEADER);
    // Only SOAP control (POST) carries a body; elsewhere an empty one (chunked, say) is read, a real one refused.
    if (req.method !== 'POST' && (await boundedBody(req, 0)) === undefined) return refuseBody(req, res);
    if (path === DESCRIPTION_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      return send(res, 200, this.description, XML);
    }
    const route = this.routes.get(path);
    if (!route) return send(res, 404, 'not found\n', 'text/plain');
    if (route.kind === 'scpd') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, '', 'text/plain');
      return send(res, 200, scpd(route.service, this.configId), XML);
    }
    if (route.kind === 'control') {
      if (req.method !== 'POST') return send(res, 405, '', 'text/plain');
      return this.control(req, res, route.device, route.service);
    }
    // event URL
    const remote = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
    const eventPath = path;
    let reply;
    if (req.method === 'SUBSCRIBE') {
      reply = this.subscriptions.subscribe(eventPath, req.headers, remote, () => route.service.evented());
    } else if (req.method === 'UNSUBSCRIBE') {
      reply = this.subscriptions.unsubscribe(eventPath, req.headers);
    } else {
      return send(res, 405, '', 'text/plain');
    }
    res.writeHead(reply.status, { ...(reply.headers ?? {}), 'CONTENT-LENGTH': '0' }).end();
  }

  private async control(req: http.IncomingMessage, res: http.ServerResponse, device: DeviceModel, service: ServiceModel): Promise<void> {
    const body = await boundedBody(req, MAX_SOAP_BYTES);
    if (body === undefined) return refuseBody(req, res);
    let out: Record<string, string>;
    let action: string;
    try {
      const call = parseSoapRequest(body, req.headers['soapaction'] as string | undefined);
      if (call.serviceType !== service.serviceType) {
        throw new UpnpError(UPNP_ERRORS.invalidAction, `Invalid Action: this control URL serves ${service.serviceType}`);
      }
      const spec = service.actions.find((a) => a.name === call.action);
      if (!spec) throw new UpnpError(UPNP_ERRORS.invalidAction, `Invalid Action: no action ${call.action}`);
      if (spec.signed && this.opts.verifier) {
        const url = new URL(req.url ?? '/', new URL(this.locationUrl()).origin).toString();
        this.opts.verifier.verify(req.headers[SIGNATURE_HEADER] as string | undefined, { url, serviceType: call.serviceType, action: call.action, udn: device.udn, body });
      }
      checkArgs(spec, service.stateVariables, call.args);
      action = call.action;
      try {
        out = await service.invoke(call.action, call.args);
      } catch (err) {
        if (err instanceof UpnpError) throw err;
        throw new UpnpError(UPNP_ERRORS.actionFailed, `Action Failed: ${(err as Error).message}`);
      }
    } catch (err) {
      const u = err instanceof UpnpError ? err : new UpnpError(UPNP_ERRORS.actionFailed, 'Action Failed');
      return send(res, 500, soapFault(u.code, u.message), XML, true);
    }
    return send(res, 200, soapResponse(service.serviceType, action, out), XML, true);
  }
}

/** In-arguments must be exactly the SCPD's, with values their state variables allow. */
export function checkArgs(spec: ActionSpec, vars: StateVariableSpec[], args: Record<string, string>): void {
  const ins = spec.arguments.filter((a) => a.direction === 'in');
  const given = Object.keys(args);
  // Own properties only: `constructor` or `toString` must not count as given.
  const missing = ins.filter((a) => !Object.hasOwn(args, a.name)).map((a) => a.name);
  const extra = given.filter((g) => !ins.some((a) => a.name === g));
  if (missing.length || extra.length) {
    const parts = [];
    if (missing.length) parts.push(`missing ${missing.join(', ')}`);
    if (extra.length) parts.push(`unexpected ${extra.join(', ')}`);
    throw new UpnpError(UPNP_ERRORS.invalidArgs, `Invalid Args: ${parts.join('; ')}`);
  }
  for (const a of ins) {
    const v = vars.find((x) => x.name === a.relatedStateVariable);
    const value = args[a.name]!;
    if (v && !valueFits(v, value)) {
      throw new UpnpError(UPNP_ERRORS.argumentValueInvalid, `Argument Value Invalid: ${a.name}=${JSON.stringify(value)} is not a valid ${v.dataType}${v.allowedValues ? ` (one of ${v.allowedValues.join(', ')})` : ''}`);
    }
  }
}

const INT_RANGES: Record<string, [number, number]> = {
  ui1: [0, 255], ui2: [0, 65535], ui4: [0, 4294967295],
  i1: [-128, 127], i2: [-32768, 32767], i4: [-2147483648, 2147483647], int: [-2147483648, 2147483647],
};

export function valueFits(v: StateVariableSpec, value: string): boolean {
  if (v.allowedValues?.length && !v.allowedValues.includes(value)) return false;
  const range = INT_RANGES[v.dataType];
  if (range) return /^[-+]?\d+$/.test(value) && Number(value) >= range[0] && Number(value) <= range[1];
  if (v.dataType === 'boolean') return /^(0|1|true|false|yes|no)$/i.test(value);
  if (['r4', 'r8', 'number', 'float', 'fixed.14.4'].includes(v.dataType)) return value.trim() !== '' && Number.isFinite(Number(value));
  return true;
}

function send(res: http.ServerResponse, status: number, body: string, type: string, ext = false): void {
  const headers: Record<string, string> = { 'CONTENT-TYPE': type, 'CONTENT-LENGTH': String(Buffer.byteLength(body)) };
  if (ext) headers['EXT'] = '';
  res.writeHead(status, headers);
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

/** The body when it has at most `max` bytes; undefined (nothing kept) when Content-Length or the data say more. */
function boundedBody(req: http.IncomingMessage, max: number): Promise<string | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > max) return Promise.resolve(undefined);
  return readBody(req, max);
}

/**
 * 413, and the connection closed: the rest of the body is read and dropped up to
 * DRAIN_BYTES (so the client can read the answer instead of a reset), then cut.
 */
function refuseBody(req: http.IncomingMessage, res: http.ServerResponse): void {
  let drained = 0;
  req.on('data', (c: Buffer) => {
    drained += c.length;
    if (drained > DRAIN_BYTES) req.socket.destroy();
  });
  req.on('error', () => {});
  res.setHeader('Connection', 'close');
  send(res, 413, 'request body too large or not allowed here\n', 'text/plain', true);
}

/** The request body as text, or undefined as soon as it exceeds `max` bytes (nothing more is kept). */
function readBody(req: http.IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= max) return void chunks.push(c);
      req.off('data', onData);
      resolve(undefined);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
