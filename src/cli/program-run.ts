// Running a built commander program with ediv's exit codes: --help and --version exit 0, a usage
// error is bad input (2). Shared by the CLI (main.ts) and the pushed agent bundle.
import { CommanderError, type Command } from 'commander';

export async function parseProgram(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    throw err;
  }
}
