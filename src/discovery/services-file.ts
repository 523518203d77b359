// The VM owner's services file for `ediv vm-advertise` (JSON, or YAML): which services the VM
// announces, their actions and arguments, and the command each action runs. Validated with
// ajv; every problem names the file, line and column.
import fs from 'node:fs';
import { Ajv } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { InputError } from '../common/errors.ts';
import type { InputProblem } from '../common/errors.ts';
import { UpnpError, UPNP_ERRORS } from './types.ts';

export interface ServiceArgumentDef {
  name: string;
  dataType?: string;
  allowedValues?: string[];
}

export interface ServiceActionDef {
  name: string;
  arguments?: ServiceArgumentDef[];
  /** argv run in the VM; `{Name}` inside an element is replaced by argument Name's value. */
  command: string[];
  timeoutSeconds?: number;
}

export interface ServiceDef {
  serviceType: string;
  serviceId?: string;
  actions: ServiceActionDef[];
}

export interface ServicesFile {
  friendlyName?: string;
  services: ServiceDef[];
}

/** `{Name}` in a command element. */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Out-arguments every advertised action has. */
export const IMPLICIT_OUT = ['Output', 'ExitCode'];

const NAME = '^[A-Za-z_][A-Za-z0-9_]{0,63}$';

export const servicesSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['services'],
  properties: {
    friendlyName: { type: 'string', minLength: 1, maxLength: 64 },
    services: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['serviceType', 'actions'],
        properties: {
          serviceType: { type: 'string', pattern: '^urn:[A-Za-z0-9.-]+:service:[A-Za-z0-9_-]{1,64}:[1-9][0-9]*$' },
          serviceId: { type: 'string', pattern: '^urn:[A-Za-z0-9.-]+:serviceId:[A-Za-z0-9_-]{1,64}$' },
          actions: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'command'],
              properties: {
                name: { type: 'string', pattern: NAME },
                arguments: {
                  type: 'array',
                  items: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['name'],
                    properties: {
                      name: { type: 'string', pattern: NAME, not: { enum: IMPLICIT_OUT } },
                      dataType: { enum: ['string', 'boolean', 'ui1', 'ui2', 'ui4', 'i1', 'i2', 'i4', 'int', 'r4', 'r8', 'number'] },
                      allowedValues: { type: 'array', minItems: 1, items: { type: 'string' } },
                    },
                  },
                },
                command: { type: 'array', minItems: 1, items: { type: 'string' } },
                timeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600 },
              },
            },
          },
        },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile<ServicesFile>(servicesSchema);

function pointerPath(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

export function parseServicesText(text: string, file: string): ServicesFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  const at = (path: (string | number)[], message: string): InputProblem => {
    let node: unknown = path.length ? doc.getIn(path, true) : doc.contents;
    // A missing key: point at the closest existing parent.
    for (let p = path; !node && p.length; p = p.slice(0, -1)) node = doc.getIn(p.slice(0, -1), true);
    const off = (node as { range?: [number, number, number] } | undefined)?.range?.[0] ?? 0;
    const pos = lc.linePos(off);
    return { loc: { file, line: pos.line, column: pos.col }, message };
  };
  if (doc.errors.length) {
    throw new InputError(
      doc.errors.map((e) => ({ loc: { file, line: e.linePos?.[0].line, column: e.linePos?.[0].col }, message: e.message.split('\n')[0]! })),
    );
  }
  const data: unknown = doc.toJS();
  if (!validate(data)) {
    throw new InputError(
      (validate.errors ?? []).map((e) => {
        const path = pointerPath(e.instancePath);
        const extra = e.keyword === 'additionalProperties' ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : '';
        const where = path.length ? path.join('.') : 'file';
        return at(path, `${where}: ${e.message ?? 'invalid'}${extra}`);
      }),
    );
  }
  const problems: InputProblem[] = [];
  const types = new Set<string>();
  data.services.forEach((s, si) => {
    if (types.has(s.serviceType)) problems.push(at(['services', si, 'serviceType'], `service type ${s.serviceType} is listed twice`));
    types.add(s.serviceType);
    const names = new Set<string>();
    s.actions.forEach((a, ai) => {
      if (names.has(a.name)) problems.push(at(['services', si, 'actions', ai, 'name'], `action ${a.name} is listed twice`));
      names.add(a.name);
      const args = new Set((a.arguments ?? []).map((x) => x.name));
      if (args.size !== (a.arguments ?? []).length) problems.push(at(['services', si, 'actions', ai, 'arguments'], `action ${a.name} names an argument twice`));
      a.command.forEach((el, ci) => {
        for (const m of el.matchAll(PLACEHOLDER)) {
          if (!args.has(m[1]!)) problems.push(at(['services', si, 'actions', ai, 'command', ci], `{${m[1]}} is not an argument of ${a.name}`));
        }
      });
      if (a.command[0] === '') problems.push(at(['services', si, 'actions', ai, 'command', 0], 'the command must name a program'));
      // The caller would choose the program run.
      else if (a.command[0]!.search(PLACEHOLDER) >= 0) problems.push(at(['services', si, 'actions', ai, 'command', 0], 'the program (first element) cannot hold an argument'));
    });
  });
  if (problems.length) throw new InputError(problems);
  return data;
}

export function loadServicesFile(file: string): ServicesFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw InputError.at(file, undefined, undefined, `cannot read the services file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseServicesText(text, file);
}

/**
 * The argv of an action: each template element with `{Name}` replaced; never a shell string.
 * Only the caller's own arguments count (`{constructor}` is not Object.prototype's), and a
 * value that would start an element with `-` is refused (fault 600): the program would read
 * it as an option (`--output=/etc/passwd`, `-rf`) — unless a `--` element came before.
 */
export function expandCommand(template: string[], args: Record<string, string>): string[] {
  const options = template.indexOf('--');
  return template.map((el, i) => {
    const out = el.replace(PLACEHOLDER, (all, n: string) => (Object.hasOwn(args, n) ? args[n]! : all));
    const first = el.matchAll(PLACEHOLDER).next().value;
    const lead = first?.index === 0 ? first[1] : undefined;
    if (lead !== undefined && Object.hasOwn(args, lead) && args[lead]!.startsWith('-') && (options < 0 || i < options)) {
      throw new UpnpError(UPNP_ERRORS.argumentValueInvalid, `Argument Value Invalid: ${lead} may not start with "-" (it would be read as an option)`);
    }
    return out;
  });
}
