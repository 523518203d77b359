// Small HTTP client for the control point: bounded GETs of descriptions and SOAP POSTs.
import http from 'node:http';
import { parseSoapResponse, soapRequestBody } from './soap.ts';
import { SERVER_HEADER } from './ssdp-messages.ts';
import { UpnpError, UPNP_ERRORS } from './types.ts';

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

export interface HttpReply {
  status: number;
  body: string;
}

export function httpRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; maxBytes?: number; timeoutMs?: number } = {},
): Promise<HttpReply> {
  const max = opts.maxBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (u.protocol !== 'http:') return reject(new Error(`not an http URL: ${url}`));
    const req = http.request(u, { method: opts.method ?? 'GET', headers: opts.headers, agent, timeout: opts.timeoutMs ?? 5000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) {
          req.destroy(new Error(`${url}: response larger than ${max} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${opts.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

export async function httpGetText(url: string, maxBytes?: number): Promise<string> {
  const r = await httpRequest(url, { maxBytes });
  if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}`);
  return r.body;
}

/** Invokes a UPnP action; returns the out-arguments or throws UpnpError. */
export async function soapCall(
  controlUrl: string,
  serviceType: string,
  action: string,
  args: [string, string][],
  timeoutMs = 30_000,
): Promise<Record<string, string>> {
  const body = soapRequestBody(serviceType, action, args);
  let r: HttpReply;
  try {
    r = await httpRequest(controlUrl, {
      method: 'POST',
      body,
      timeoutMs,
      headers: {
        'CONTENT-TYPE': 'text/xml; charset="utf-8"',
        SOAPACTION: `"${serviceType}#${action}"`,
        'USER-AGENT': SERVER_HEADER,
        'CONTENT-LENGTH': String(Buffer.byteLength(body)),
      },
    });
  } catch (err) {
    throw new UpnpError(UPNP_ERRORS.actionFailed, `${controlUrl}: ${(err as Error).message}`);
  }
  if (r.status !== 200 && r.status !== 500) throw new UpnpError(UPNP_ERRORS.actionFailed, `${controlUrl}: HTTP ${r.status}`);
  return parseSoapResponse(r.body, action);
}

export function closeHttpClient(): void {
  agent.destroy();
}
