// Names that become host-side identifiers (namespace names, directory names, SSH arguments)
// must be safe. Scenario, VM, net and host names are validated against this pattern.
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name) && name !== '.' && name !== '..' && !name.includes('..');
}

export function safeNameProblem(kind: string, name: string): string | undefined {
  if (isSafeName(name)) return undefined;
  return (
    `${kind} name ${JSON.stringify(name)} is not allowed: use 1-63 letters, digits, '_', '-' or '.', ` +
    `starting with a letter or digit`
  );
}
