// Entry of the detached discovery daemon process (see daemon.ts): node daemon-main.ts <config>.
import { runDaemon } from './daemon.ts';

process.exitCode = await runDaemon(process.argv[2] ?? '');
process.exit();
