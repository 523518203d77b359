// The real third-party scenarios and EDIV files of ../shared/third-party (beside the checkout),
// read in place, never copied. A clone elsewhere has no ../shared: a test that needs those files
// is then skipped, saying why in its title (or, for a decision taken at run time, on the console),
// instead of failing. Nothing here reads a file at module load: tests read them in their own
// before()/it(), so a missing folder never crashes the whole run.
//
//   describeWithThirdParty('suite', () => { ... });          // the suite, or its skip with the reason
//   describeWithThirdParty('ovf corpus', () => { ... }, 'ovf-more');   // needs that subfolder
//   itWithThirdParty('test', async () => { ... }, 'vnx');    // one test likewise
//   before(function () { requireThirdParty(this, 'vnx'); }); // at run time: prints the reason, skips
//   thirdPartyPath('vnx', '02-tutorial_lxc_ubuntu.xml')      // a path (never checked or read)
import { existsSync } from 'node:fs';
import path from 'node:path';
import { edivRoot } from '../../src/common/paths.ts';

/** How the folder is named in skip reasons (relative to the checkout, as the project rule says it). */
export const THIRD_PARTY_LABEL = '../shared/third-party';

/** The folder of real third-party files, beside the checkout. */
export const THIRD_PARTY_DIR = path.resolve(edivRoot, THIRD_PARTY_LABEL);

/** What a test needs under THIRD_PARTY_DIR: nothing (the folder itself), a relative path, or several. */
export type ThirdPartyNeeds = string | readonly string[] | undefined;

const needsList = (needs: ThirdPartyNeeds): string[] => (needs === undefined ? [] : typeof needs === 'string' ? [needs] : [...needs]);

/** A path under ../shared/third-party (not checked, not read). */
export function thirdPartyPath(...parts: string[]): string {
  return path.resolve(THIRD_PARTY_DIR, ...parts);
}

/** Whether ../shared/third-party (and each of `needs` under it) is there. Checked on every call. */
export function haveThirdParty(needs?: ThirdPartyNeeds): boolean {
  return existsSync(THIRD_PARTY_DIR) && needsList(needs).every((p) => existsSync(thirdPartyPath(p)));
}

/** Why a test needing `needs` is skipped ("skipped: ../shared/third-party/vnx is absent"), or undefined when it can run. */
export function thirdPartyAbsence(needs?: ThirdPartyNeeds): string | undefined {
  if (!existsSync(THIRD_PARTY_DIR)) return `skipped: ${THIRD_PARTY_LABEL} is absent`;
  const missing = needsList(needs).filter((p) => !existsSync(thirdPartyPath(p)));
  if (missing.length === 0) return undefined;
  return `skipped: ${missing.map((p) => path.posix.join(THIRD_PARTY_LABEL, p)).join(', ')} ${missing.length === 1 ? 'is' : 'are'} absent`;
}

/** `title`, with the skip reason appended when `needs` is absent. */
export function thirdPartyTitle(title: string, needs?: ThirdPartyNeeds): string {
  const why = thirdPartyAbsence(needs);
  return why === undefined ? title : `${title} (${why})`;
}

/**
 * describe(title, fn) when ../shared/third-party (and `needs`) is there, else
 * describe.skip(`${title} (skipped: … is absent)`, fn). Mocha still calls `fn` of a skipped suite
 * to list its tests: `fn` must not read third-party files itself (read them in before()/it()).
 */
export function describeWithThirdParty(title: string, fn: (this: Mocha.Suite) => void, needs?: ThirdPartyNeeds): void {
  if (haveThirdParty(needs)) describe(title, fn);
  else describe.skip(thirdPartyTitle(title, needs), fn);
}

/** it(title, fn) when ../shared/third-party (and `needs`) is there, else it.skip(`${title} (skipped: … is absent)`, fn). */
export function itWithThirdParty(title: string, fn: Mocha.AsyncFunc, needs?: ThirdPartyNeeds): Mocha.Test;
export function itWithThirdParty(title: string, fn: Mocha.Func, needs?: ThirdPartyNeeds): Mocha.Test;
export function itWithThirdParty(title: string, fn: Mocha.Func | Mocha.AsyncFunc, needs?: ThirdPartyNeeds): Mocha.Test {
  return haveThirdParty(needs) ? it(title, fn) : it.skip(thirdPartyTitle(title, needs), fn);
}

const printed = new Set<string>();

/**
 * For a hook or test that decides at run time: returns when ../shared/third-party (and `needs`)
 * is there; else prints the reason (once per suite and reason) and calls ctx.skip() — in a
 * before() hook that skips the whole suite, in a test that test.
 */
export function requireThirdParty(ctx: Mocha.Context, needs?: ThirdPartyNeeds): void {
  const why = thirdPartyAbsence(needs);
  if (why === undefined) return;
  const suite = ctx.test?.parent?.fullTitle() ?? '';
  const key = `${suite}\n${why}`;
  if (!printed.has(key)) {
    printed.add(key);
    console.log(`    (${why}${suite ? `: ${suite}` : ''})`);
  }
  ctx.skip();
}
