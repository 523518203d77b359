// The `discovery` field of apply and destroy requests: taken off the request before the host
// agent's op sees it, refused up front (exit 2, nothing touched) when malformed.
import { expect } from 'chai';
import { takeFollowUp } from '../../../src/cli/discovery-follow-up.ts';
import { InputError } from '../../../src/common/errors.ts';

const KEY = 'ab'.repeat(32);
const apply = (discovery?: unknown) => ({ deployment: 'lab', host: 'host1', fragmentXml: '<x/>', backplane: [], ...(discovery === undefined ? {} : { discovery }) });

async function refusal(op: string, request: unknown): Promise<InputError> {
  try {
    await takeFollowUp(op, request);
  } catch (err) {
    expect(err).to.be.instanceOf(InputError);
    return err as InputError;
  }
  throw new Error('accepted');
}

describe('agent: the discovery follow-up of apply and destroy', () => {
  it('takes the field off the request and returns it', async () => {
    const t = await takeFollowUp('apply', apply({ start: { address: '198.18.7.11', controlKey: KEY } }));
    expect(t.request).to.deep.equal(apply());
    expect(t.followUp).to.deep.equal({ start: { address: '198.18.7.11', controlKey: KEY } });
    const d = await takeFollowUp('destroy', { deployment: 'lab', host: 'host1', discovery: { sync: true } });
    expect(d).to.deep.equal({ request: { deployment: 'lab', host: 'host1' }, followUp: { sync: true } });
  });

  it('leaves requests without one, and other ops, as they are', async () => {
    expect(await takeFollowUp('apply', apply())).to.deep.equal({ request: apply() });
    // Another op keeps the field: its own validation refuses it as an unknown field.
    const exec = { deployment: 'lab', host: 'host1', seq: 'x', discovery: { sync: true } };
    expect(await takeFollowUp('exec', exec)).to.deep.equal({ request: exec });
  });

  it('refuses a malformed follow-up, naming what is wrong, and never echoes a key', async () => {
    const cases: [unknown, RegExp][] = [
      ['yes', /expected \{"start"/],
      [{ sync: true, start: {} }, /exactly one of "start" or "sync"/],
      [{ sync: 1 }, /"sync" must be true/],
      [{ stop: true }, /unknown field "stop"/],
      [{ start: [] }, /"start" must be an object/],
      [{ start: { address: '198.18.7.11' } }, /needs the controller's "controlKey"/],
      [{ start: { address: '198.18.7.11', controlKey: KEY, port: 1 } }, /unknown field "port"/],
      [{ start: { network: '10.0.0.0/33', controlKey: KEY } }, /"network" must be an IPv4 network/],
      [{ start: { address: '198.18.7.11', controlKey: 'secret-but-short' } }, /"controlKey" must be 64 lower-case hex digits/],
    ];
    for (const [discovery, message] of cases) {
      const err = await refusal('apply', apply(discovery));
      expect(err.message, JSON.stringify(discovery)).to.match(message);
      expect(err.message).to.not.include('secret-but-short');
      expect(err.problems[0]!.loc.file).to.match(/discovery|serve request/);
    }
  });
});
