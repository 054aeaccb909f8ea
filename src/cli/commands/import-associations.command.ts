import { createReadStream, ReadStream, statSync } from 'node:fs';
import { Command, CommandRunner, Option } from 'nest-commander';
import {
  AssociationImportService,
  DEFAULT_IMPORT_BATCH_SIZE,
  ImportProgress,
} from '../../social-associations/import/association-import.service';
import { IMPORT_FORMATS, ImportFormat, readRecords } from '../../social-associations/import/import-records';
import { printJson } from '../output';

interface ImportAssociationsOptions {
  file?: string;
  format?: string;
  dryRun?: boolean;
  batchSize?: string;
}

/** How often a long import says how far it is, on stderr. */
const PROGRESS_INTERVAL_MS = 2000;
const MAX_BATCH_SIZE = 50_000;

/** Exit codes besides 0 (every line created or unchanged) and 1 (the import failed: no summary). */
const EXIT_REJECTED_LINES = 2;
const EXIT_INTERRUPTED = 130;

@Command({
  name: 'associations:import',
  description:
    'Import associations from an NDJSON or CSV file (the export format); prints a JSON summary. ' +
    'Exit code 2 when lines were rejected, 130 when interrupted.',
})
export class ImportAssociationsCommand extends CommandRunner {
  constructor(private readonly imports: AssociationImportService) {
    super();
  }

  async run(_args: string[], options: ImportAssociationsOptions): Promise<void> {
    const file = options.file!;
    const format = importFormat(options.format, file);
    const batchSize = options.batchSize === undefined ? DEFAULT_IMPORT_BATCH_SIZE : Number(options.batchSize);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
      throw new Error(`--batch-size must be an integer from 1 to ${MAX_BATCH_SIZE}`);
    }
    const input = file === '-' ? process.stdin : openFile(file);
    const size = input instanceof ReadStream ? statSync(file).size : undefined;
    const progress = progressReporter(input, size);

    // Ctrl-C: stop reading, let the batch being written finish, print the summary. A second one quits at once
    // (the batch's transaction is then rolled back). One listener for both, in place until the end: between
    // two `once` listeners, a second Ctrl-C would meet the default action and kill the process (no exit code).
    const stop = new AbortController();
    const onInterrupt = () => {
      if (stop.signal.aborted) process.exit(EXIT_INTERRUPTED);
      stop.abort();
      process.stderr.write('\nstopping after the batch being written (Ctrl-C again to quit now)\n');
    };
    process.on('SIGINT', onInterrupt);
    try {
      const summary = await this.imports.import(readRecords(input, format), {
        dryRun: options.dryRun === true,
        batchSize,
        signal: stop.signal,
        onProgress: progress.update,
      });
      progress.done();
      printJson(summary);
      if (summary.interrupted) process.exitCode = EXIT_INTERRUPTED;
      else if (summary.rejected > 0) process.exitCode = EXIT_REJECTED_LINES;
    } catch (error) {
      progress.done();
      throw error;
    } finally {
      // The application still closes after this (an embedded database takes a moment): a Ctrl-C meanwhile
      // quits at once with the interrupted code, rather than meeting the default action (killed by the signal).
      process.removeListener('SIGINT', onInterrupt);
      process.on('SIGINT', () => process.exit(EXIT_INTERRUPTED));
      input.destroy();
    }
  }

  @Option({ flags: '--file <path>', description: 'the file to import (- for stdin)', required: true })
  parseFile(value: string): string {
    return value;
  }

  @Option({ flags: '--format <format>', description: 'ndjson or csv (default: csv for a .csv file, else ndjson)' })
  parseFormat(value: string): string {
    return value;
  }

  @Option({ flags: '--dry-run', description: 'check every line, against the database too, and write nothing' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({
    flags: '--batch-size <lines>',
    description: `lines per transaction (default ${DEFAULT_IMPORT_BATCH_SIZE})`,
  })
  parseBatchSize(value: string): string {
    return value;
  }
}

function importFormat(option: string | undefined, file: string): ImportFormat {
  if (option === undefined) return file.toLowerCase().endsWith('.csv') ? 'csv' : 'ndjson';
  if (!(IMPORT_FORMATS as readonly string[]).includes(option)) {
    throw new Error(`--format must be one of ${IMPORT_FORMATS.join(', ')}`);
  }
  return option as ImportFormat;
}

function openFile(file: string): ReadStream {
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  return createReadStream(file, { highWaterMark: 1 << 16 });
}

/**
 * Progress on stderr, from the first batch that ends PROGRESS_INTERVAL_MS after the start:
 * one line every interval, or one line redrawn in place when stderr is a terminal.
 */
function progressReporter(input: NodeJS.ReadableStream, size: number | undefined) {
  const started = Date.now();
  let last = started;
  let shown = false;
  const tty = process.stderr.isTTY;
  return {
    update: (progress: ImportProgress): void => {
      const now = Date.now();
      if (now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      shown = true;
      const rate = Math.round(progress.scanned / ((now - started) / 1000));
      const bytes = input instanceof ReadStream ? input.bytesRead : undefined;
      const percent = size && bytes !== undefined ? `${Math.min(100, Math.floor((bytes / size) * 100))}% ` : '';
      const line =
        `import: ${percent}${progress.scanned} lines read, ${progress.created} created, ` +
        `${progress.unchanged} unchanged, ${progress.rejected} rejected (${rate} lines/s)`;
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    },
    done: (): void => {
      if (shown && tty) process.stderr.write('\n');
    },
  };
}
