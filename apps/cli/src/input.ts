import { readFile } from 'node:fs/promises';
import { CliError, EXIT } from './exit-codes';

/** A file's text, or stdin's for "-"; a file that cannot be read is a usage error naming the flag. */
export async function readInput(file: string, flag = 'file', stdin: AsyncIterable<string | Buffer> = process.stdin): Promise<string> {
  try {
    if (file !== '-') return await readFile(file, 'utf8');
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    throw new CliError(EXIT.usage, `${flag} ${file}: ${(err as Error).message}`);
  }
}
