import { Command, CommanderError } from 'commander';
import { buildProgram } from './program';
import { CliError, EXIT } from './exit-codes';

/** Runs the CLI with these arguments; resolves with the exit code (never exits the process itself). */
export async function run(argv: readonly string[]): Promise<number> {
  const program: Command = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end "with an error" of code 0; commander printed the message already.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliError) {
      process.stderr.write(`virtfleet: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`);
      return err.exitCode;
    }
    process.stderr.write(`virtfleet: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.apiError;
  }
}

if (require.main === module) {
  void run(process.argv.slice(2)).then((code) => process.exit(code));
}
