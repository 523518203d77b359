// The cluster model, read from YAML/JSON cluster files or EDIV's cluster.conf.
// See DESIGN.md, "Cluster".

/** Every backplane ediv can make between hosts; each has a descriptor in backplane.ts. */
export const BACKPLANE_KINDS = ['vlan', 'vxlan'] as const;
export type BackplaneKind = (typeof BACKPLANE_KINDS)[number];

/**
 * The cluster file's `driver` value that picks each VM's driver from its type (the table in
 * src/controller/drivers.ts, docs/drivers.md); the default.
 */
export const AUTO_DRIVER = 'auto';

/** The UDP port VXLAN links use when the cluster file's `vxlan.port` is not set (IANA's). */
export const VXLAN_DEFAULT_PORT = 4789;

/**
 * Bytes VXLAN adds to every frame it carries over the trunk: the outer IP header (20 for an IPv4
 * underlay, 40 for IPv6), UDP (8), VXLAN (8) and the inner Ethernet header (14).
 */
export const VXLAN_OVERHEAD = { ipv4: 50, ipv6: 70 } as const;

/**
 * MTUs an interface can have: Linux's smallest for Ethernet-like links (ETH_MIN_MTU, also IPv4's
 * minimum) and the largest IP packet (IP_MAX_MTU). A backplane's overlay MTU (what the VMs'
 * interfaces get) must stay at least `min` once the encapsulation is taken off the trunk's.
 */
export const MTU_BOUNDS = { min: 68, max: 65535 } as const;

/** VXLAN's encapsulation overhead over an underlay address of this family (IPv6 when it holds ':'). */
export function vxlanOverhead(underlayAddress: string | undefined): number {
  return underlayAddress?.includes(':') ? VXLAN_OVERHEAD.ipv6 : VXLAN_OVERHEAD.ipv4;
}

export interface SshSettings {
  user: string;
  port: number;
  /** Private key file; when absent the SSH agent (SSH_AUTH_SOCK) is used. */
  identity?: string;
  /** known_hosts file used to verify the host key; default ~/.ssh/known_hosts. */
  knownHosts?: string;
  /**
   * The agent runs through `sudo -n --` (cluster file `ssh.sudo: true`), for a non-root `user`
   * allowed to run the agent command as root without a password. Absent or false: run directly.
   */
  sudo?: boolean;
  /**
   * The SSH client: ediv's own (ssh2, the default: absent) or `openssh`, the system's `ssh`
   * program, whose own configuration, host certificates (@cert-authority), ProxyJump and
   * authentication methods then apply (transport/openssh.ts).
   */
  client?: 'openssh';
}

export interface ClusterHost {
  name: string;
  /** Address (or DNS name) the controller reaches the host at over SSH. */
  address: string;
  ssh: SshSettings;
  /** Interface that carries the backplane (vlan parent or vxlan underlay). */
  trunk: string;
  /** Underlay address used by vxlan peers; defaults to `address`. */
  trunkAddress?: string;
  /** Relative CPU speed (EDIV: percentage relative to the fastest host). */
  cpu: number;
  memMB?: number;
  /** Maximum VMs on this host; undefined or 0 = unlimited. */
  maxVMs?: number;
  labels: Record<string, string>;
  /**
   * An ediv installed on the host: the command prefix before `agent <op>`, e.g. ["ediv"] or
   * ["/usr/bin/node", "/opt/ediv/bin/ediv"]. Ignored when `agentNode` is set.
   */
  agentCommand: string[];
  /**
   * Set (the default of a cluster file that names no agentCommand): the controller brings its
   * own agent, a single-file bundle cached on the host by content hash, and runs it with this
   * Node.js (a command name or path; docs/real-cluster.md). Records made before it existed
   * have only agentCommand.
   */
  agentNode?: string;
  /** Agent state directory on the host (journal); default chosen by the agent. */
  agentStateDir?: string;
  /** 'ssh' (default) or 'local' when the host is the controller itself. */
  transport: 'ssh' | 'local';
  /**
   * VM driver on this host: a driver name, or 'auto' (AUTO_DRIVER: from each VM's type). The
   * host's own `driver`, else the cluster file's top-level one, else 'auto'. Records made before
   * 'auto' existed say 'netns'.
   */
  driver: string;
}

export interface Cluster {
  hosts: ClusterHost[];
  /** Range of backplane ids (VLAN ids or VNIs) this cluster may allocate. Inclusive. */
  ids: {
    first: number;
    last: number;
    /**
     * Present only when the cluster file gives several disjoint ranges: the allowed ids are
     * exactly these (sorted, non-overlapping, within first..last); ids in the gaps are not usable.
     */
    ranges?: { first: number; last: number }[];
  };
  backplane: BackplaneKind;
  /**
   * The MTU of the trunk path between hosts (cluster file `trunkMTU`): the largest packet the
   * underlay carries from any host's trunk to any other's. A spanning net's MTU (its backplane
   * device, bridge and VM interfaces) is this minus the encapsulation (VXLAN: 50 bytes over
   * IPv4, 70 over IPv6; VLAN: none). Absent: each host uses its trunk interface's own MTU for
   * vxlan, and vlan nets keep the kernel's default.
   */
  trunkMTU?: number;
  /** The cluster file's `vxlan` section (only with backplane vxlan); absent: its defaults. */
  vxlan?: {
    /** UDP port of every VXLAN link (local and destination); VXLAN_DEFAULT_PORT when not given. */
    port: number;
  };
  management: {
    /** Management network in CIDR form, e.g. 10.250.0.0/16. */
    network?: string;
    /** Interface on the controller that faces the management network (SSDP). */
    interface?: string;
  };
  /** Default segmentator name. */
  segmentator: string;
  /**
   * The state store every controller using this cluster shares: a PostgreSQL URL without a
   * password (`postgresql://ediv@db.lab/ediv`). Absent: each controller's own SQLite file.
   */
  state?: string;
  /** Users who may see and act on every lab of the cluster (others: only their own). */
  admins?: string[];
  /** The cluster file's top-level `driver` ('auto' or a driver name); absent in older records. */
  driver?: string;
  /** The cluster file's `drivers` map: VM type (`lxc`, `libvirt/kvm`, `ovf`, …) → driver, used by 'auto'. */
  drivers?: Record<string, string>;
  source: { path: string; format: 'yaml' | 'json' | 'cluster.conf' | 'emulated' };
}
