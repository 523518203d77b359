// JSON Schema of the cluster file (YAML or JSON; EDIV's cluster.conf is translated into the
// same document shape before validation). `default` values are documentation: the defaults
// are applied in cluster.ts, after validation. docs/cluster-file.md describes every field.
import { Ajv, type ErrorObject } from 'ajv';
import { AUTO_DRIVER, BACKPLANE_KINDS, MTU_BOUNDS, VXLAN_DEFAULT_PORT } from '../protocol/cluster.ts';
import { DEFAULT_BACKPLANE } from '../protocol/backplane.ts';

/**
 * Bounds of the numbers and lists a cluster file may hold: finite, sane ranges, so segmentators
 * never meet weights whose sums overflow (cpu 1.79e308) or whose shares vanish (cpu 5e-324).
 * cpu is relative, so its range is a ratio of 10^9 between the slowest and fastest host.
 */
export const CLUSTER_BOUNDS = {
  cpu: { min: 0.001, max: 1_000_000 },
  /** 1 PiB, in MB. */
  memMB: { max: 1024 ** 3 },
  maxVMs: { max: 1_000_000 },
  hosts: 1024,
  /** Entries of labels and drivers, words of agentCommand, id ranges. */
  listItems: 64,
} as const;

const idRange = {
  type: 'object',
  description: 'Inclusive range of backplane ids (VLAN ids 1..4094, VNIs 1..16777215).',
  required: ['first', 'last'],
  additionalProperties: false,
  properties: {
    first: { type: 'integer', minimum: 1 },
    last: { type: 'integer', minimum: 1 },
  },
};

const host = {
  type: 'object',
  required: ['name', 'trunk'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', description: 'Host name used by ediv (a safe name).' },
    address: { type: 'string', description: 'IP address or DNS name to reach the host over SSH. Default: name.' },
    ssh: {
      type: 'object',
      additionalProperties: false,
      properties: {
        user: { type: 'string', minLength: 1, default: 'root' },
        port: { type: 'integer', minimum: 1, maximum: 65535, default: 22 },
        identity: { type: 'string', minLength: 1, description: 'Private key file (relative to the cluster file).' },
        knownHosts: { type: 'string', minLength: 1, description: 'known_hosts file (relative to the cluster file).' },
        client: {
          enum: ['ssh2', 'openssh'],
          default: 'ssh2',
          description: "The SSH client: ediv's own (ssh2), or openssh: the system's ssh program, with its own configuration, host certificates (@cert-authority) and ProxyJump.",
        },
        sudo: {
          type: 'boolean',
          default: false,
          description: 'Run the agent through `sudo -n --` (a non-root user with a NOPASSWD sudoers rule for the agent command).',
        },
      },
    },
    trunk: { type: 'string', description: 'Interface carrying the backplane.' },
    trunkAddress: { type: 'string', description: 'Underlay IP address for vxlan peers. Default: address.' },
    cpu: { type: 'number', minimum: CLUSTER_BOUNDS.cpu.min, maximum: CLUSTER_BOUNDS.cpu.max, default: 100 },
    memMB: { type: 'integer', minimum: 0, maximum: CLUSTER_BOUNDS.memMB.max },
    maxVMs: { type: 'integer', minimum: 0, maximum: CLUSTER_BOUNDS.maxVMs.max, description: '0 = unlimited.' },
    labels: {
      type: 'object',
      maxProperties: CLUSTER_BOUNDS.listItems,
      additionalProperties: { type: ['string', 'number', 'boolean'] },
      description: 'Values are kept as strings.',
    },
    agentCommand: {
      type: 'array',
      minItems: 1,
      maxItems: CLUSTER_BOUNDS.listItems,
      items: { type: 'string', minLength: 1 },
      description: 'An ediv installed on the host: the command before `agent <op>`. Default: none (the controller brings its agent, see agentNode).',
    },
    agentNode: {
      type: 'string',
      minLength: 1,
      description: 'The Node.js (>= 20) that runs the agent the controller brings to the host (a single-file bundle cached by content hash). Default: node.',
    },
    agentStateDir: { type: 'string', minLength: 1 },
    transport: { enum: ['ssh', 'local'], default: 'ssh' },
    driver: { type: 'string', minLength: 1, description: `A driver name, or ${AUTO_DRIVER} (from each VM's type). Default: the top-level driver.` },
  },
};

export const clusterSchema = {
  $id: 'https://ediv.invalid/schemas/cluster.json',
  type: 'object',
  required: ['hosts'],
  additionalProperties: false,
  properties: {
    hosts: { type: 'array', minItems: 1, maxItems: CLUSTER_BOUNDS.hosts, items: host },
    ids: {
      description: 'an id range {first, last}, or a list of such ranges',
      anyOf: [idRange, { type: 'array', minItems: 1, maxItems: CLUSTER_BOUNDS.listItems, items: idRange }],
      default: { first: 1000, last: 1999 },
    },
    backplane: { enum: BACKPLANE_KINDS, default: DEFAULT_BACKPLANE },
    trunkMTU: {
      type: 'integer',
      minimum: MTU_BOUNDS.min,
      maximum: MTU_BOUNDS.max,
      description: "MTU of the trunk path between hosts; a spanning net's MTU is this minus the encapsulation (vxlan: 50 over IPv4, 70 over IPv6). Default: each trunk interface's own MTU.",
    },
    vxlan: {
      type: 'object',
      additionalProperties: false,
      description: 'Settings of the vxlan backplane (only with backplane: vxlan).',
      properties: {
        port: { type: 'integer', minimum: 1, maximum: 65535, default: VXLAN_DEFAULT_PORT, description: 'UDP port of every VXLAN link.' },
      },
    },
    management: {
      type: 'object',
      additionalProperties: false,
      properties: {
        network: { type: 'string', description: 'Management network, CIDR.' },
        interface: { type: 'string', description: "Controller's interface on the management network." },
      },
    },
    segmentator: {
      type: 'string',
      minLength: 1,
      default: 'round-robin',
      description: 'A built-in segmentator or its EDIV alias; plugins are code and load only from --segmentator.',
    },
    state: {
      type: 'string',
      minLength: 1,
      maxLength: 2048,
      description: 'The state store shared by every controller of this cluster: postgresql://USER@HOST[:PORT]/DB (password from PGPASSWORD or ~/.pgpass, never here).',
    },
    admins: {
      type: 'array',
      maxItems: CLUSTER_BOUNDS.listItems,
      items: { type: 'string', minLength: 1, maxLength: 64 },
      description: 'Users who may see and act on every lab (others: only their own).',
    },
    driver: {
      type: 'string',
      minLength: 1,
      default: AUTO_DRIVER,
      description: `Default driver of every host: a driver name, or ${AUTO_DRIVER} (from each VM's type, docs/drivers.md).`,
    },
    drivers: {
      type: 'object',
      maxProperties: CLUSTER_BOUNDS.listItems,
      additionalProperties: { type: 'string', minLength: 1 },
      description: `VM type (lxc, libvirt, libvirt/kvm, uml, dynamips, ovf, ...) → driver, used where the driver is ${AUTO_DRIVER}.`,
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, verbose: true });
const validate = ajv.compile(clusterSchema);

/** Validates a cluster document; returns ajv's errors (empty when valid). */
export function schemaErrors(doc: unknown): ErrorObject[] {
  return validate(doc) ? [] : [...(validate.errors ?? [])];
}
