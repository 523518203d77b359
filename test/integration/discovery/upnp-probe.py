#!/usr/bin/python3
# Independent UPnP stack for the interoperability tests (GNOME GSSDP/GUPnP through python3-gi).
#   upnp-probe.py browse <iface> <seconds>            -> JSON list of USNs GSSDP saw (ssdp:all)
#   upnp-probe.py call <iface> <vm-udn> <action> <s>  -> JSON: hypervisor/VM info GUPnP read, action result
import json
import warnings
import sys

import gi

warnings.simplefilter('ignore', DeprecationWarning)

gi.require_version('GSSDP', '1.6')
gi.require_version('GUPnP', '1.6')
from gi.repository import GLib, GSSDP, GUPnP  # noqa: E402

mode, iface = sys.argv[1], sys.argv[2]
loop = GLib.MainLoop()
out = {}


def finish():
    loop.quit()
    return False


if mode == 'browse':
    seconds = float(sys.argv[3])
    client = GSSDP.Client.new(iface)
    browser = GSSDP.ResourceBrowser.new(client, 'ssdp:all')
    seen = {}

    def available(_b, usn, locations):
        seen[usn] = list(locations)

    browser.connect('resource-available', available)
    browser.set_active(True)
    GLib.timeout_add(int(seconds * 1000), finish)
    loop.run()
    out = {'usns': sorted(seen.keys()), 'locations': sorted({l for ls in seen.values() for l in ls})}
elif mode == 'call':
    vm_udn, action, seconds = sys.argv[3], sys.argv[4], float(sys.argv[5])
    ctx = GUPnP.Context.new(iface, 0)
    cp = GUPnP.ControlPoint.new(ctx, 'urn:ediv-org:device:Hypervisor:1')
    out = {'hypervisors': [], 'found': False}

    def available(_cp, proxy):
        vms = proxy.list_devices()
        out['hypervisors'].append({
            'udn': proxy.get_udn(),
            'type': proxy.get_device_type(),
            'friendlyName': proxy.get_friendly_name(),
            'vms': sorted(d.get_udn() for d in vms),
        })
        for d in vms:
            if d.get_udn() != vm_udn:
                continue
            out['found'] = True
            svc = d.get_service('urn:ediv-org:service:VMManagement:1')
            try:
                act = GUPnP.ServiceProxyAction.new_from_list(action, [], [])
                svc.call_action(act, None)
                ok, values = act.get_result_list(['State'] if action == 'GetStatus' else [],
                                                 [GObjectType] if action == 'GetStatus' else [])
                out['result'] = {'ok': ok, 'values': [str(v) for v in values]}
            except GLib.Error as err:  # a UPnP fault arrives as a GLib error with the UPnP code
                out['result'] = {'ok': False, 'code': err.code, 'message': err.message}
            loop.quit()

    from gi.repository import GObject
    GObjectType = GObject.TYPE_STRING
    cp.connect('device-proxy-available', available)
    cp.set_active(True)
    GLib.timeout_add(int(seconds * 1000), finish)
    loop.run()
print(json.dumps(out))
