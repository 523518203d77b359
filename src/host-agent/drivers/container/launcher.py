"""Starts the machines of container VMs: one process for a batch, no program run per VM but its init.

Why Python and not a shell script: a VM's start-up is a few dozen system calls (join its network
namespace, make mount/UTS/IPC/PID namespaces, mount its root and file systems, pivot_root), and
running setpriv, nsenter, unshare, sh, mount, pivot_root and umount for each VM cost ~17 ms of CPU
per VM, four times the kernel's work. Here this process makes each VM's namespaces and mounts
itself, one VM after the other, and forks once per VM: the child becomes the VM's PID 1 and execs
its init. See docs/host-agent.md, "The container driver".

Input (stdin, JSON): {"mountTemplate": path of the mount namespace to copy, "dropCaps":
[capability numbers], "vms": [{"name", "netns", "dir", "lower", "hostname", "init", "initArgs",
"hide" (optional), "cgroupProcs": [...]}]}. Every name and path is data; nothing reaches a shell.

Output (stdout, one JSON object a line, each under PIPE_BUF so lines never interleave):
{"vm", "pid"} once a VM's PID 1 exists (its host pid), {"vm", "ready": true} just before it
execs the VM's init, {"vm", "error"} when its start failed. Stdout ends once every VM is ready or
failed and this process is done: the VMs' copies of it close when they exec their init.
"""

import ctypes
import gc
import json
import os
import platform
import socket
import stat
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x4000000, 0x8000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP = 1, 24
SIGKILL = 9
# pivot_root has no libc wrapper: its system call number, by architecture.
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "armv7l": 218, "ppc64le": 203, "s390x": 217}

# A machine's /dev (a tmpfs of its own): these character devices, the usual links, its ptys.
DEV_NODES = [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)]
DEV_LINKS = [("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")]
# A machine's first directories: what its root needs as mount points.
MOUNT_POINTS = ["proc", "sys", "dev", "tmp", "run"]
# Where the VM's init is bind-mounted (read-only) in its /run.
INIT_PATH = "/run/.ediv-init"
VM_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "TERM": "xterm", "LANG": "C.UTF-8"}


class StartError(Exception):
    pass


def check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise StartError(f"{what}: {os.strerror(err)}")


def mount(source, target, fstype, flags=0, data=None):
    enc = lambda s: None if s is None else s.encode()
    check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mounting {fstype or source} on {target}")


def setns(path_or_fd, nstype, what=None):
    try:
        fd = os.open(path_or_fd, os.O_RDONLY) if isinstance(path_or_fd, str) else path_or_fd
    except OSError as e:
        raise StartError(f"joining {what or path_or_fd}: {e.strerror}") from e
    try:
        check(libc.setns(fd, nstype), f"joining {what or path_or_fd}")
    finally:
        if fd is not path_or_fd:
            os.close(fd)


def why(e):
    """An error as one line: what failed, on which file."""
    if isinstance(e, OSError) and e.strerror:
        return f"{e.strerror}: {e.filename}" if e.filename else e.strerror
    return str(e)


def report(out, **msg):
    os.write(out, (json.dumps(msg) + "\n").encode())


def make_dev(dev):
    """The VM's /dev: device nodes (made while this process still may), links, pts and shm."""
    mount("ediv-dev", dev, "tmpfs", MS_NOSUID, "mode=755,size=64k")
    for name, major, minor in DEV_NODES:
        os.mknod(os.path.join(dev, name), stat.S_IFCHR | 0o666, os.makedev(major, minor))
        os.chmod(os.path.join(dev, name), 0o666)
    for name, target in DEV_LINKS:
        os.symlink(target, os.path.join(dev, name))
    for d in ("pts", "shm"):
        os.mkdir(os.path.join(dev, d))
    mount("devpts", os.path.join(dev, "pts"), "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
    mount("ediv-shm", os.path.join(dev, "shm"), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")


def build_root(vm):
    """In the VM's new mount namespace: its copy-on-write root and everything mounted on it but /proc."""
    d = vm["dir"]
    root, upper, work = (os.path.join(d, x) for x in ("root", "upper", "work"))
    mount("ediv-root", root, "overlay", 0, f"lowerdir={vm['lower']},upperdir={upper},workdir={work}")
    for m in MOUNT_POINTS:
        os.makedirs(os.path.join(root, m), exist_ok=True)
    mount("sysfs", os.path.join(root, "sys"), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    make_dev(os.path.join(root, "dev"))
    mount("ediv-tmp", os.path.join(root, "tmp"), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    run = os.path.join(root, "run")
    mount("ediv-run", run, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
    os.mkdir(os.path.join(run, "lock"))
    os.chmod(os.path.join(run, "lock"), 0o1777)
    # PID 1's binary, read-only, inside the root (the host's is out of reach after pivot_root).
    init = root + INIT_PATH
    os.close(os.open(init, os.O_CREAT | os.O_WRONLY, 0o755))
    mount(vm["init"], init, None, MS_BIND)
    mount(None, init, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    # The agent's state directory (every VM's layers) where the VM's root would show it.
    if vm.get("hide"):
        mount("ediv-hidden", root + vm["hide"], "tmpfs", MS_RDONLY, "mode=000,size=4k")
    return root


def become_init(vm, root, drop_caps, out, pivot):
    """In the VM's PID namespace, as its PID 1: /proc, pivot_root, the bounding set, then its init."""
    mount("proc", os.path.join(root, "proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(root)
    check(libc.syscall(pivot, b".", b"."), "pivot_root")
    check(libc.umount2(b".", MNT_DETACH), "detaching the host's root")
    os.chdir("/")
    for cap in drop_caps:
        check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"dropping capability {cap}")
    os.setsid()
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    report(out, vm=vm["name"], ready=True)
    # `out` is not inheritable (PEP 446): it closes with this exec.
    os.execve(INIT_PATH, [INIT_PATH, *vm["initArgs"]], VM_ENV)


def start_vm(vm, host, template, drop_caps, out, pivot):
    """Makes one VM's namespaces and mounts in this process, then forks its PID 1."""
    # /run/netns/<ns> is a namespace only in the host's mount namespace (the template has none).
    setns(host["mnt"], CLONE_NEWNS, "the host's mount namespace")
    # A new PID namespace can only be made from the one this process runs in (the previous
    # VM's is still where its children would go).
    setns(host["pid"], CLONE_NEWPID, "the host's PID namespace")
    setns(f"/run/netns/{vm['netns']}", CLONE_NEWNET)
    setns(template, CLONE_NEWNS, "the VMs' template mount namespace")
    check(libc.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID), "making the VM's namespaces")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    for procs in vm["cgroupProcs"]:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    root = build_root(vm)
    socket.sethostname(vm["hostname"])
    pid = os.fork()  # the first process of the new PID namespace: the VM's PID 1
    if pid == 0:
        try:
            become_init(vm, root, drop_caps, out, pivot)
        except BaseException as e:  # noqa: BLE001 - whatever it is, the VM did not start
            report(out, vm=vm["name"], error=why(e))
        os._exit(1)
    report(out, vm=vm["name"], pid=pid)


def main():
    # Ends with the agent that runs it (the VMs it has started live on; destroy finds them).
    libc.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    req = json.load(sys.stdin)
    pivot = SYS_PIVOT_ROOT.get(platform.machine())
    out = os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 1)
    # Nothing is freed while VMs are forked: no collector pass dirties pages that the
    # children would then copy.
    gc.disable()
    gc.freeze()
    host = {ns: os.open(f"/proc/self/ns/{ns}", os.O_RDONLY) for ns in ("mnt", "pid")}
    template = os.open(req["mountTemplate"], os.O_RDONLY)
    for vm in req["vms"]:
        try:
            if pivot is None:
                raise StartError(f"unsupported architecture {platform.machine()}")
            start_vm(vm, host, template, req["dropCaps"], out, pivot)
        except Exception as e:  # noqa: BLE001 - reported per VM; the others still start
            report(out, vm=vm["name"], error=why(e))
        # The VMs' PID 1s are reaped by the host's init once this process exits.
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG) == (0, 0):
                    break
            except ChildProcessError:
                break


main()
