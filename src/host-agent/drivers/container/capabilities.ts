// What a container VM may not do. Its processes run as root with the capabilities a lab machine
// needs (routing daemons: NET_ADMIN, NET_RAW, NET_BIND_SERVICE, SETUID/SETGID; mounts inside the
// VM: SYS_ADMIN, as in LXC's privileged containers), and without these, dropped from the
// capability bounding set of the VM's PID 1 and of every command run in the VM (so no process of
// the VM can regain them): no kernel modules, no raw I/O, no clock, no reboot of the host, no
// MAC policy, no kernel log, no audit control, no process accounting, no BPF or perf, no device
// nodes. Devices are also limited by the devices cgroup where the host has it (cgroups.ts).
export const DROPPED_CAPABILITIES = [
  'sys_module',
  'sys_rawio',
  'sys_time',
  'sys_boot',
  'sys_pacct',
  'mac_admin',
  'mac_override',
  'syslog',
  'wake_alarm',
  'block_suspend',
  'audit_control',
  'bpf',
  'perfmon',
  'mknod',
] as const;

/** Capability numbers (linux/capability.h) of DROPPED_CAPABILITIES: what the machine launcher drops with prctl(2). */
const CAPABILITY_NUMBERS: Record<(typeof DROPPED_CAPABILITIES)[number], number> = {
  sys_module: 16,
  sys_rawio: 17,
  sys_pacct: 20,
  sys_boot: 22,
  sys_time: 25,
  mknod: 27,
  audit_control: 30,
  mac_override: 32,
  mac_admin: 33,
  syslog: 34,
  wake_alarm: 35,
  block_suspend: 36,
  perfmon: 38,
  bpf: 39,
};

export function droppedCapabilityNumbers(): number[] {
  return DROPPED_CAPABILITIES.map((c) => CAPABILITY_NUMBERS[c]);
}

/** setpriv(1) arguments that drop DROPPED_CAPABILITIES from the bounding set. */
export function boundingSetArgs(): string[] {
  return ['--bounding-set', DROPPED_CAPABILITIES.map((c) => `-${c}`).join(',')];
}
