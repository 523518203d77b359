// SOAP 1.1 as UPnP 1.1 uses it (UDA §3): request parsing on the device side, response and
// fault (UPnPError) documents, and the request a control point sends.
import { UpnpError, UPNP_ERRORS } from './types.ts';
import { XmlRefused, child, parseUpnpXml, textOf, xmlEscape as e } from './xml.ts';

export const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP_ENCODING = 'http://schemas.xmlsoap.org/soap/encoding/';
/** Control requests are small; anything larger is refused before parsing. */
export const MAX_SOAP_BYTES = 64 * 1024;

export interface SoapRequest {
  serviceType: string;
  action: string;
  args: Record<string, string>;
  /** Argument names in the order they came. */
  order: string[];
}

/** `"urn:…:service:S:1#Action"` → service type and action. */
export function parseSoapAction(header: string | undefined): { serviceType: string; action: string } | undefined {
  if (!header) return undefined;
  const m = /^"?([^"#]+)#([^"#]+)"?$/.exec(header.trim());
  return m ? { serviceType: m[1]!, action: m[2]! } : undefined;
}

/**
 * Parses a control request. Throws UpnpError: 401 when the SOAPACTION header is missing or
 * does not name the body's action, 402 when the body is not a well-formed SOAP envelope.
 */
export function parseSoapRequest(body: string, soapActionHeader: string | undefined): SoapRequest {
  const sa = parseSoapAction(soapActionHeader);
  if (!sa) throw new UpnpError(UPNP_ERRORS.invalidAction, 'missing or malformed SOAPACTION header');
  let doc;
  try {
    doc = parseUpnpXml(body, MAX_SOAP_BYTES);
  } catch (err) {
    const why = err instanceof XmlRefused ? err.message : 'unreadable body';
    throw new UpnpError(UPNP_ERRORS.invalidArgs, `Invalid Args: ${why}`);
  }
  const bodyEl = child(child(doc, 'Envelope'), 'Body');
  if (!bodyEl) throw new UpnpError(UPNP_ERRORS.invalidArgs, 'Invalid Args: no SOAP Envelope/Body');
  const names = Object.keys(bodyEl).filter((k) => !k.startsWith('@') && k !== '#text');
  if (names.length !== 1) throw new UpnpError(UPNP_ERRORS.invalidArgs, 'Invalid Args: the Body must hold exactly one action');
  if (names[0] !== sa.action) {
    throw new UpnpError(UPNP_ERRORS.invalidAction, `Invalid Action: SOAPACTION names ${sa.action}, the body ${names[0]}`);
  }
  const actionEl = bodyEl[sa.action];
  const args: Record<string, string> = {};
  const order: string[] = [];
  if (actionEl && typeof actionEl === 'object' && !Array.isArray(actionEl)) {
    for (const [k, v] of Object.entries(actionEl as Record<string, unknown>)) {
      if (k.startsWith('@') || k === '#text') continue;
      if (Array.isArray(v) || (v && typeof v === 'object' && Object.keys(v).some((x) => !x.startsWith('@') && x !== '#text'))) {
        throw new UpnpError(UPNP_ERRORS.invalidArgs, `Invalid Args: argument ${k} must be a simple value`);
      }
      args[k] = textOf(v) ?? '';
      order.push(k);
    }
  } else if (Array.isArray(actionEl)) {
    throw new UpnpError(UPNP_ERRORS.invalidArgs, 'Invalid Args: the Body must hold exactly one action');
  }
  return { serviceType: sa.serviceType, action: sa.action, args, order };
}

function envelope(inner: string): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?>\n` +
    `<s:Envelope xmlns:s="${SOAP_ENV}" s:encodingStyle="${SOAP_ENCODING}"><s:Body>${inner}</s:Body></s:Envelope>\n`
  );
}

export function soapRequestBody(serviceType: string, action: string, args: [string, string][]): string {
  const inner = args.map(([k, v]) => `<${k}>${e(v)}</${k}>`).join('');
  return envelope(`<u:${action} xmlns:u="${e(serviceType)}">${inner}</u:${action}>`);
}

export function soapResponse(serviceType: string, action: string, out: Record<string, string>): string {
  const inner = Object.entries(out).map(([k, v]) => `<${k}>${e(v)}</${k}>`).join('');
  return envelope(`<u:${action}Response xmlns:u="${e(serviceType)}">${inner}</u:${action}Response>`);
}

export function soapFault(code: number, description: string): string {
  return envelope(
    `<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>` +
      `<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${code}</errorCode>` +
      `<errorDescription>${e(description)}</errorDescription></UPnPError></detail></s:Fault>`,
  );
}

/**
 * Reads a control response on the control-point side: the out-arguments, or a UpnpError
 * for a fault.
 */
export function parseSoapResponse(body: string, action: string): Record<string, string> {
  const doc = parseUpnpXml(body, 4 * 1024 * 1024);
  const bodyEl = child(child(doc, 'Envelope'), 'Body');
  if (!bodyEl) throw new UpnpError(UPNP_ERRORS.actionFailed, 'response is not a SOAP envelope');
  const fault = child(bodyEl, 'Fault');
  if (fault) {
    const err = child(child(fault, 'detail'), 'UPnPError');
    const code = Number(textOf(err?.['errorCode']) ?? NaN);
    const desc = textOf(err?.['errorDescription']) ?? textOf(fault['faultstring']) ?? 'fault';
    throw new UpnpError(Number.isFinite(code) ? code : UPNP_ERRORS.actionFailed, desc);
  }
  if (!(`${action}Response` in bodyEl)) throw new UpnpError(UPNP_ERRORS.actionFailed, `response lacks ${action}Response`);
  const resp = child(bodyEl, `${action}Response`) ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(resp)) {
    if (!k.startsWith('@') && k !== '#text') out[k] = textOf(v) ?? '';
  }
  return out;
}
