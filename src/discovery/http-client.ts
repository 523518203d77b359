// Small HTTP client for the control point: bounded GETs of descriptions and SOAP POSTs. What it
// talks to is untrusted: the URL is checked against the management network (url-policy.ts)
// right before the request, redirects are never followed, and both the size of an answer and
// the whole time it may take (not only silence on the socket) are bounded.
import http from 'node:http';
import { parseSoapResponse, soapRequestBody } from './soap.ts';
import { SERVER_HEADER } from './ssdp-messages.ts';
import { UpnpError, UPNP_ERRORS } from './types.ts';
import { checkUrl, type UrlPolicy } from './url-policy.ts';

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/** Default bound on an answer's size, and on the whole time of a GET. */
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 5000;
/** SOAP answers are small (an advertiser's Output is 8 KiB at most). */
const MAX_SOAP_RESPONSE_BYTES = 1024 * 1024;
/** Response headers of any size beyond this are refused by Node's parser. */
const MAX_HEADER_BYTES = 16 * 1024;

export interface HttpReply {
  status: number;
  body: string;
  /** The Location header of a 3xx answer (never followed). */
  location?: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  maxBytes?: number;
  /** The whole request: connecting, sending and reading the complete answer. */
  timeoutMs?: number;
  /** When given, the URL must point into this network (else UrlRefused, nothing sent). */
  policy?: UrlPolicy;
}

export function httpRequest(url: string, opts: RequestOptions = {}): Promise<HttpReply> {
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = opts.policy ? checkUrl(url, { policy: opts.policy }) : new URL(url);
    } catch (err) {
      return reject(err);
    }
    if (u.protocol !== 'http:') return reject(new Error(`not an http URL: ${url}`));
    const req = http.request(u, { method: opts.method ?? 'GET', headers: opts.headers, agent, timeout: timeoutMs, maxHeaderSize: MAX_HEADER_BYTES }, (res) => {
      const tooBig = () => req.destroy(new Error(`${url}: response larger than ${max} bytes`));
      if (Number(res.headers['content-length'] ?? 0) > max) return tooBig();
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) return tooBig();
        chunks.push(c);
      });
      res.on('end', () => {
        const location = res.statusCode && res.statusCode >= 300 && res.statusCode < 400 ? res.headers.location : undefined;
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ...(location ? { location } : {}) });
      });
      res.on('error', reject);
    });
    // A peer trickling a byte now and then never trips the idle timeout: bound the whole request.
    const deadline = setTimeout(() => req.destroy(new Error(`${url}: no complete answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** What a non-200 answer means, in words (a redirect is named: it is never followed). */
function statusProblem(url: string, r: HttpReply): string {
  if (r.location !== undefined) return `${url}: HTTP ${r.status} redirect to ${JSON.stringify(r.location.slice(0, 200))} refused (redirects are not followed)`;
  return `${url}: HTTP ${r.status}`;
}

export async function httpGetText(url: string, opts: { maxBytes?: number; timeoutMs?: number; policy?: UrlPolicy } = {}): Promise<string> {
  const r = await httpRequest(url, opts);
  if (r.status !== 200) throw new Error(statusProblem(url, r));
  return r.body;
}

export interface SoapCallOptions {
  timeoutMs?: number;
  policy?: UrlPolicy;
  /** Extra headers for the request body about to be sent (the signature of a state-changing action). */
  sign?: (body: string) => Record<string, string>;
}

/** Invokes a UPnP action; returns the out-arguments or throws UpnpError. */
export async function soapCall(
  controlUrl: string,
  serviceType: string,
  action: string,
  args: [string, string][],
  opts: SoapCallOptions = {},
): Promise<Record<string, string>> {
  const body = soapRequestBody(serviceType, action, args);
  let r: HttpReply;
  try {
    r = await httpRequest(controlUrl, {
      method: 'POST',
      body,
      timeoutMs: opts.timeoutMs ?? 30_000,
      maxBytes: MAX_SOAP_RESPONSE_BYTES,
      policy: opts.policy,
      headers: {
        'CONTENT-TYPE': 'text/xml; charset="utf-8"',
        SOAPACTION: `"${serviceType}#${action}"`,
        'USER-AGENT': SERVER_HEADER,
        'CONTENT-LENGTH': String(Buffer.byteLength(body)),
        ...(opts.sign?.(body) ?? {}),
      },
    });
  } catch (err) {
    throw new UpnpError(UPNP_ERRORS.actionFailed, `${controlUrl}: ${(err as Error).message}`);
  }
  if (r.status !== 200 && r.status !== 500) throw new UpnpError(UPNP_ERRORS.actionFailed, statusProblem(controlUrl, r));
  return parseSoapResponse(r.body, action);
}

export function closeHttpClient(): void {
  agent.destroy();
}
