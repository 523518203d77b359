"""Configures the inside of many VM network namespaces from one process: setns into each, then
netlink requests (links up, addresses, routes) and its net sysctls, one namespace after another.

Why not `ip -batch` per namespace: that is a fork and exec of nsenter and ip for every VM, about
4 ms of CPU each, where the kernel's own work is a few dozen microseconds. See docs/host-agent.md,
"The netns driver"; the agent runs it from src/host-agent/drivers/netns/ns-config.ts.

Input (stdin, JSON): {"namespaces": [{"netns": name under /run/netns, "ops": [...]}]}, each op one
of {"op": "up", "dev"}, {"op": "addr", "dev", "cidr", "nodad": bool}, {"op": "route", "dst"
(CIDR), "via"}, {"op": "sysctl", "key" (dotted, under net.), "value"}. Ops run in order; a
namespace stops at its first failing op. Every name is data; nothing reaches a shell.

Output (stdout, one JSON object a line): {"netns", "error"} for each namespace that failed (the
op and the kernel's error), then {"done": N, "failed": M}. Exit status 0 when none failed, 1 when
some did, 2 on bad input.
"""

import ctypes
import errno
import ipaddress
import json
import os
import socket
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE = 16, 20, 24
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE, NLM_F_REPLACE = 0x1, 0x4, 0x200, 0x400, 0x100
IFF_UP = 0x1
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
IFA_F_NODAD = 0x02
RTA_DST, RTA_GATEWAY = 1, 5
RT_TABLE_MAIN, RTPROT_BOOT, RTN_UNICAST = 254, 3, 1
RT_SCOPE_UNIVERSE, RT_SCOPE_HOST = 0, 254


class OpError(Exception):
    pass


def setns(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise OpError(f"no namespace {path}: {e.strerror}")
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OpError(f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def rtattr(kind, data):
    length = 4 + len(data)
    return struct.pack("HH", length, kind) + data + b"\0" * ((4 - length % 4) % 4)


class Netlink:
    """A NETLINK_ROUTE socket of the namespace the process is in when it is made."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self):
        self.sock.close()

    def request(self, kind, flags, body):
        """Sends one request and waits for its acknowledgement; raises OpError with the kernel's error."""
        self.seq += 1
        msg = struct.pack("IHHII", 16 + len(body), kind, flags | NLM_F_REQUEST | NLM_F_ACK, self.seq, 0) + body
        self.sock.send(msg)
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, mtype, _flags, seq, _pid = struct.unpack_from("IHHII", data, off)
                if mtype == NLMSG_ERROR and seq == self.seq:
                    (code,) = struct.unpack_from("i", data, off + 16)
                    if code == 0:
                        return
                    raise OpError(os.strerror(-code))
                off += (length + 3) & ~3


def ifindex(dev):
    try:
        return socket.if_nametoindex(dev)
    except OSError:
        raise OpError(f"no interface {dev}")


def link_up(nl, dev):
    body = struct.pack("BxHiII", socket.AF_UNSPEC, 0, ifindex(dev), IFF_UP, IFF_UP)
    nl.request(RTM_NEWLINK, 0, body)


def add_address(nl, dev, cidr, nodad):
    iface = ipaddress.ip_interface(cidr)
    ip = iface.ip
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    # As ip(8) does: loopback addresses get host scope.
    scope = RT_SCOPE_HOST if ip.is_loopback else RT_SCOPE_UNIVERSE
    flags = IFA_F_NODAD if nodad and ip.version == 6 else 0
    body = struct.pack("BBBBI", family, iface.network.prefixlen, flags & 0xFF, scope, ifindex(dev))
    body += rtattr(IFA_LOCAL, ip.packed) + rtattr(IFA_ADDRESS, ip.packed)
    if flags:
        body += rtattr(IFA_FLAGS, struct.pack("I", flags))
    nl.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)


def replace_route(nl, dst, via):
    net = ipaddress.ip_network(dst, strict=False)
    gw = ipaddress.ip_address(via)
    if net.version != gw.version:
        raise OpError(f"route {dst} via {via}: address families differ")
    family = socket.AF_INET if net.version == 4 else socket.AF_INET6
    body = struct.pack("BBBBBBBBI", family, net.prefixlen, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
    if net.prefixlen:
        body += rtattr(RTA_DST, net.network_address.packed)
    body += rtattr(RTA_GATEWAY, gw.packed)
    nl.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, body)


def write_sysctl(key, value):
    parts = key.split(".")
    if parts[0] != "net" or any(p in ("", ".", "..") or "/" in p for p in parts):
        raise OpError(f"not a net sysctl: {key}")
    # /proc/sys/net belongs to the network namespace of the process that opens it.
    with open("/proc/sys/" + "/".join(parts), "w") as f:
        f.write(str(value))


def run_op(nl, op):
    kind = op.get("op")
    try:
        if kind == "up":
            link_up(nl, op["dev"])
        elif kind == "addr":
            add_address(nl, op["dev"], op["cidr"], bool(op.get("nodad")))
        elif kind == "route":
            replace_route(nl, op["dst"], op["via"])
        elif kind == "sysctl":
            write_sysctl(op["key"], op["value"])
        else:
            raise OpError(f"unknown op {kind!r}")
    except OpError as e:
        raise OpError(f"{describe(op)}: {e}")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise OpError(f"{describe(op)}: {e}")


def describe(op):
    kind = op.get("op")
    if kind == "up":
        return f"link set dev {op.get('dev')} up"
    if kind == "addr":
        return f"addr add {op.get('cidr')} dev {op.get('dev')}"
    if kind == "route":
        return f"route replace {op.get('dst')} via {op.get('via')}"
    if kind == "sysctl":
        return f"sysctl {op.get('key')}={op.get('value')}"
    return f"op {kind!r}"


def configure(ns):
    name = ns.get("netns")
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise OpError(f"bad namespace name {name!r}")
    setns(os.path.join(NETNS_DIR, name))
    nl = Netlink()
    try:
        for op in ns.get("ops", []):
            run_op(nl, op)
    finally:
        nl.close()


def main():
    try:
        job = json.load(sys.stdin)
        namespaces = job["namespaces"]
        if not isinstance(namespaces, list):
            raise ValueError("namespaces must be a list")
    except (ValueError, KeyError, TypeError) as e:
        print(json.dumps({"error": f"bad input: {e}"}), flush=True)
        return 2
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    failed = 0
    for ns in namespaces:
        try:
            configure(ns)
        except OpError as e:
            failed += 1
            print(json.dumps({"netns": ns.get("netns"), "error": str(e)}), flush=True)
        finally:
            libc.setns(home, CLONE_NEWNET)
    print(json.dumps({"done": len(namespaces), "failed": failed}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
