// The real scenario corpus of ../shared/third-party (vnx/, vnx-more/, ovf/, ovf-more/; read in
// place, never copied; skipped, saying so, when absent). For every scenario file (a file whose
// root element is not a scenario's — e.g. an EDIV restriction file — is only checked to be
// refused as such), planned on an emulated cluster of 3 hosts with round-robin and with mincut:
//   1. it parses and validates, plans, and every VM is in exactly one fragment;
//   2. every fragment's XML parses and validates again;
//   3. when the source is XSD-valid VNX 2.x (or is OVF), every fragment is XSD-valid VNX 2.0
//      (xmllint against vnx/vnx-2.00.xsd; skipped, saying so, without xmllint);
//   4. nothing is lost: models compared element by element (locations and file path aside):
//      VMs exactly, nets up to the backplane `external` of spanning nets, the <host> section in
//      exactly one fragment, global sections up to the per-fragment private vm_mgmt offset,
//      cmd-seqs as split.ts's rule keeps them, and whatever else the model holds.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseScenarioFile } from '../../../src/scenario/index.ts';
import { InputError } from '../../../src/common/errors.ts';
import {
  CORPUS_FOLDERS,
  HOSTS,
  SEGMENTATORS,
  THIRD_PARTY,
  analyse,
  corpusFiles,
  folderPresent,
  haveXmllint,
  isScenarioRoot,
  isVnx2,
  lossProblems,
  messageOf,
  placementProblems,
  xsdErrors,
} from './corpus-helpers.ts';
import { describeWithThirdParty } from '../../helpers/third-party.ts';

// The tests are made per file of each folder while mocha collects them (corpusFiles lists and
// reads the folder then), so a folder is only listed when it is there; else its suite is skipped,
// saying so in its title.
describeWithThirdParty(`real scenario corpus: parse, plan on ${HOSTS} emulated hosts (round-robin, mincut), split, nothing lost`, () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ediv-corpus-'));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  for (const folder of CORPUS_FOLDERS) {
    describeWithThirdParty(`${folder}/`, () => {
      if (!folderPresent(folder)) {
        // A pending test, so that the skipped suite and its reason show in the report.
        it(`${folder}/: every scenario file (its tests are made from the folder's listing)`);
        return;
      }
      const files = corpusFiles(folder);
      const scenarios = files.filter((f) => isScenarioRoot(f.root));
      const others = files.filter((f) => !isScenarioRoot(f.root));

      it(`${folder}/: holds scenario files, each named in its PROVENANCE.md`, () => {
        expect(scenarios.length, 'scenario files').to.be.greaterThan(0);
        const provenance = readFileSync(path.join(THIRD_PARTY, folder, 'PROVENANCE.md'), 'utf8');
        expect(files.map((f) => path.basename(f.path)).filter((n) => !provenance.includes(n))).to.deep.equal([]);
      });

      for (const f of others) {
        it(`${f.rel}: not a scenario (root <${f.root}>): ediv refuses it as such`, async () => {
          const err = await parseScenarioFile(f.path).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).to.be.instanceOf(InputError);
          expect((err as InputError).message).to.include('is not a scenario');
        });
      }

      // XSD verdicts of the VNX 2.x sources, in one xmllint run (the titles say which are checked).
      const vnx2 = scenarios.filter(isVnx2);
      let sourceXsd = new Map<string, string[]>();
      try {
        if (haveXmllint) sourceXsd = xsdErrors(vnx2.map((f) => f.path));
      } catch {
        // xmllint failed while tests were being collected: each test runs it again on its source (below).
      }

      for (const f of scenarios) {
        it(`${f.rel}: validates, plans on ${HOSTS} hosts (round-robin, mincut), one fragment per VM`, async () => {
          if (f.xmlError) throw new Error(`not well-formed XML: ${f.xmlError}`);
          const a = await analyse(f);
          expect(a.source.vms.length, 'VMs').to.be.greaterThan(0);
          const problems = SEGMENTATORS.flatMap((seg) => placementProblems(a.source, seg, a.planned[seg]));
          expect(problems).to.deep.equal([]);
        });

        it(`${f.rel}: every fragment's XML parses and validates again`, async () => {
          const a = await analyse(f);
          const problems = SEGMENTATORS.flatMap((seg) =>
            [...a.planned[seg].fragments].filter(([, x]) => x instanceof Error).map(([h, e]) => `[${seg}] ${h}: ${messageOf(e as Error)}`),
          );
          expect(problems).to.deep.equal([]);
        });

        const isOvf = f.root === 'Envelope';
        const srcErrors = sourceXsd.get(f.path);
        let xsdSkip: string | undefined;
        if (!haveXmllint) xsdSkip = 'SKIPPED: xmllint is not installed';
        else if (!isOvf && !isVnx2(f)) xsdSkip = `not checked: the source is ${f.root === 'vnx' ? `VNX ${f.version}` : `<${f.root}> ${f.version ?? ''}`.trim()}, the XSD is VNX 2.0's`;
        else if (!isOvf && srcErrors?.length) xsdSkip = `not checked: the source itself is not XSD-valid (${srcErrors[0]})`;
        if (xsdSkip) {
          it.skip(`${f.rel}: fragments against vnx-2.00.xsd — ${xsdSkip}`, () => {});
        } else {
          it(`${f.rel}: every fragment is XSD-valid VNX 2.0 (${isOvf ? 'OVF source' : 'as the source is'})`, async () => {
            const a = await analyse(f);
            // The source too, when its verdict is not known yet.
            const files: [string, string][] = !isOvf && srcErrors === undefined ? [['source', f.path]] : [];
            for (const seg of SEGMENTATORS) {
              const dir = path.join(tmp, f.folder, path.basename(f.path), seg);
              mkdirSync(dir, { recursive: true });
              for (const hp of Object.values(a.planned[seg].plan.hosts)) {
                const file = path.join(dir, `${hp.host}.xml`);
                writeFileSync(file, hp.fragmentXml);
                files.push([`[${seg}] ${hp.host}`, file]);
              }
            }
            const errs = xsdErrors(files.map(([, file]) => file));
            const problems = files.flatMap(([label, file]) => errs.get(file)!.map((e) => `${label}: ${e}`));
            expect(problems).to.deep.equal([]);
          });
        }

        it(`${f.rel}: nothing lost (VMs, nets, <host>, global, cmd-seqs, extras) in the union of the fragments`, async () => {
          const a = await analyse(f);
          const problems = SEGMENTATORS.flatMap((seg) => lossProblems(a.source, seg, a.planned[seg]));
          expect(problems).to.deep.equal([]);
        });
      }
    }, folder);
  }
});
