// Device description (DDD) and service description (SCPD) documents, UDA 1.1 §2, written
// from the generic device model, plus the URL layout the HTTP server routes by.
import { createHash } from 'node:crypto';
import type { DeviceModel, ServiceModel } from './types.ts';
import { EDIV_XMLNS } from './types.ts';
import { xmlEscape as e } from './xml.ts';

export const DESCRIPTION_PATH = '/description.xml';

export interface ServiceUrls {
  scpd: string;
  control: string;
  event: string;
}

export function serviceUrls(device: DeviceModel, service: ServiceModel): ServiceUrls {
  const base = `/upnp/${device.udn.replace(/^uuid:/, '')}/${service.key}`;
  return {
    scpd: service.sharedScpdKey ? `/scpd/${service.sharedScpdKey}.xml` : `${base}/scpd.xml`,
    control: `${base}/control`,
    event: `${base}/event`,
  };
}

/** Every device of the tree, root first, depth first. */
export function allDevices(root: DeviceModel): DeviceModel[] {
  const out: DeviceModel[] = [];
  const walk = (d: DeviceModel) => {
    out.push(d);
    d.devices.forEach(walk);
  };
  walk(root);
  return out;
}

function deviceXml(d: DeviceModel, indent: string): string {
  const i = indent;
  const lines = [
    `${i}<device>`,
    `${i} <deviceType>${e(d.deviceType)}</deviceType>`,
    `${i} <friendlyName>${e(d.friendlyName)}</friendlyName>`,
    `${i} <manufacturer>ediv</manufacturer>`,
    `${i} <manufacturerURL>https://github.com/ediv-org/ediv</manufacturerURL>`,
  ];
  if (d.modelDescription) lines.push(`${i} <modelDescription>${e(d.modelDescription)}</modelDescription>`);
  lines.push(`${i} <modelName>${e(d.modelName)}</modelName>`, `${i} <UDN>${e(d.udn)}</UDN>`);
  for (const [k, v] of Object.entries(d.vendor)) lines.push(`${i} <ediv:${k}>${e(v)}</ediv:${k}>`);
  if (d.services.length) {
    lines.push(`${i} <serviceList>`);
    for (const s of d.services) {
      const u = serviceUrls(d, s);
      lines.push(
        `${i}  <service>`,
        `${i}   <serviceType>${e(s.serviceType)}</serviceType>`,
        `${i}   <serviceId>${e(s.serviceId)}</serviceId>`,
        `${i}   <SCPDURL>${e(u.scpd)}</SCPDURL>`,
        `${i}   <controlURL>${e(u.control)}</controlURL>`,
        `${i}   <eventSubURL>${e(u.event)}</eventSubURL>`,
        `${i}  </service>`,
      );
    }
    lines.push(`${i} </serviceList>`);
  }
  if (d.devices.length) {
    lines.push(`${i} <deviceList>`);
    for (const c of d.devices) lines.push(deviceXml(c, i + '  '));
    lines.push(`${i} </deviceList>`);
  }
  lines.push(`${i}</device>`);
  return lines.join('\n');
}

/** The root device description; configId is the CONFIGID.UPNP.ORG value it belongs to. */
export function deviceDescription(root: DeviceModel, configId: number): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?>\n` +
    `<root xmlns="urn:schemas-upnp-org:device-1-0" xmlns:ediv="${EDIV_XMLNS}" configId="${configId}">\n` +
    ` <specVersion><major>1</major><minor>1</minor></specVersion>\n` +
    deviceXml(root, ' ') +
    `\n</root>\n`
  );
}

export function scpd(service: ServiceModel, configId: number): string {
  const lines = [
    `<?xml version="1.0" encoding="utf-8"?>`,
    `<scpd xmlns="urn:schemas-upnp-org:service-1-0" configId="${configId}">`,
    ` <specVersion><major>1</major><minor>1</minor></specVersion>`,
    ` <actionList>`,
  ];
  for (const a of service.actions) {
    lines.push(`  <action>`, `   <name>${e(a.name)}</name>`);
    if (a.arguments.length) {
      lines.push(`   <argumentList>`);
      for (const arg of a.arguments) {
        lines.push(
          `    <argument><name>${e(arg.name)}</name><direction>${arg.direction}</direction>` +
            `<relatedStateVariable>${e(arg.relatedStateVariable)}</relatedStateVariable></argument>`,
        );
      }
      lines.push(`   </argumentList>`);
    }
    lines.push(`  </action>`);
  }
  lines.push(` </actionList>`, ` <serviceStateTable>`);
  for (const v of service.stateVariables) {
    lines.push(`  <stateVariable sendEvents="${v.sendEvents ? 'yes' : 'no'}">`);
    lines.push(`   <name>${e(v.name)}</name>`, `   <dataType>${e(v.dataType)}</dataType>`);
    if (v.allowedValues?.length) {
      lines.push(`   <allowedValueList>`);
      for (const av of v.allowedValues) lines.push(`    <allowedValue>${e(av)}</allowedValue>`);
      lines.push(`   </allowedValueList>`);
    }
    lines.push(`  </stateVariable>`);
  }
  lines.push(` </serviceStateTable>`, `</scpd>`, ``);
  return lines.join('\n');
}

/**
 * CONFIGID.UPNP.ORG (UDA 1.1: 0..16777215) derived from the description and SCPD content, so
 * it changes whenever any of them changes (a VM added or removed) and is stable across restarts.
 */
export function configIdOf(root: DeviceModel): number {
  const h = createHash('sha256');
  h.update(deviceDescription(root, 0));
  const seen = new Set<string>();
  for (const d of allDevices(root)) {
    for (const s of d.services) {
      const url = serviceUrls(d, s).scpd;
      if (seen.has(url)) continue;
      seen.add(url);
      h.update(scpd(s, 0));
    }
  }
  return h.digest().readUInt32BE(0) & 0xffffff;
}
