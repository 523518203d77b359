// Quoting for the remote side of SSH. An SSH "exec" request carries ONE string that the
// remote user's login shell parses, so every argument is wrapped in POSIX single quotes: inside
// them nothing is special except the quote itself, which is written as '\'' (close, escaped
// quote, reopen). Valid for sh, dash, bash, ksh and zsh login shells.

/** Quotes one argument for a POSIX shell. Every argument is quoted, even harmless ones. */
export function shQuote(arg: string): string {
  if (arg.includes('\0')) throw new TypeError('an argument for a remote command cannot contain a NUL byte');
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Quotes an argument vector into one command line for the remote shell. */
export function shQuoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError('empty command');
  return argv.map(shQuote).join(' ');
}
