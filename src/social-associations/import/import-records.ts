import type { Readable } from 'node:stream';

/**
 * Reading an import file, a line at a time: NDJSON (one JSON object a line) or
 * RFC 4180 CSV with a header row. Streams, so memory does not grow with the file;
 * knows nothing about what a record means (that is the import service's job).
 */
export type ImportFormat = 'ndjson' | 'csv';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['ndjson', 'csv'];

/** The columns an import line may have: the export's, `created_at` included. */
export const IMPORT_COLUMNS = [
  'user_id',
  'provider',
  'ext_id',
  'profile_url',
  'show_in_profile',
  'metadata',
  'created_at',
] as const;
const REQUIRED_COLUMNS = ['user_id', 'provider', 'ext_id'];

/** A problem with one line: `field` is null when it is about the line as a whole. */
export interface LineProblem {
  field: string | null;
  code: string;
  message: string;
}

/** One record of the file, by the (1-based) line it starts on: its fields, or why it has none. */
export type ImportRecord =
  | { line: number; fields: Record<string, unknown>; problem?: undefined }
  | { line: number; fields?: undefined; problem: LineProblem };

/** The file cannot be read as a whole (a CSV header that names unknown columns): nothing is imported. */
export class ImportFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportFileError';
  }
}

/**
 * The longest line read (a valid one is far shorter: metadata is at most 16 KiB).
 * Longer lines are reported and skipped, so one file without newlines cannot fill memory.
 */
export const MAX_LINE_CHARS = 1 << 20;

type Line = { number: number; text: string } | { number: number; tooLong: true };

/** The lines of a UTF-8 stream, without their `\n` or `\r\n` (and without a leading BOM). */
export async function* readLines(input: Readable): AsyncGenerator<Line> {
  input.setEncoding('utf8');
  let rest = '';
  let number = 0;
  let skipping = false;
  let first = true;
  for await (const chunk of input as AsyncIterable<string>) {
    let start = 0;
    let text = rest.length === 0 ? chunk : rest + chunk;
    if (first && text.length > 0) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      number++;
      if (skipping) {
        skipping = false;
        yield { number, tooLong: true };
      } else {
        yield { number, text: text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end) };
      }
      start = end + 1;
    }
    rest = text.slice(start);
    if (rest.length > MAX_LINE_CHARS) {
      skipping = true;
      rest = '';
    }
  }
  if (skipping) yield { number: number + 1, tooLong: true };
  else if (rest.length > 0) yield { number: number + 1, text: rest.endsWith('\r') ? rest.slice(0, -1) : rest };
}

const tooLong = (number: number): ImportRecord => ({
  line: number,
  problem: { field: null, code: 'line_too_long', message: `a line may be at most ${MAX_LINE_CHARS} characters` },
});

export function readRecords(input: Readable, format: ImportFormat): AsyncGenerator<ImportRecord> {
  return format === 'csv' ? readCsvRecords(input) : readNdjsonRecords(input);
}

/** NDJSON: each non-blank line is one JSON object. */
export async function* readNdjsonRecords(input: Readable): AsyncGenerator<ImportRecord> {
  for await (const line of readLines(input)) {
    if ('tooLong' in line) {
      yield tooLong(line.number);
      continue;
    }
    if (isBlank(line.text)) continue;
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (error) {
      yield {
        line: line.number,
        problem: { field: null, code: 'malformed_json', message: `not JSON: ${(error as Error).message}` },
      };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield {
        line: line.number,
        problem: { field: null, code: 'malformed_json', message: 'a line must be a JSON object' },
      };
      continue;
    }
    yield { line: line.number, fields: value as Record<string, unknown> };
  }
}

const isBlank = (text: string): boolean => text.length === 0 || /^\s*$/.test(text);

/**
 * RFC 4180 CSV: a header row naming the columns (IMPORT_COLUMNS, any order,
 * user_id, provider and ext_id required), then one record a row; fields may be
 * quoted ("a ""quoted"" value", commas and line breaks inside quotes). An empty
 * field is an absent value; `show_in_profile` is `true` or `false`; `metadata` is
 * a JSON object.
 */
export async function* readCsvRecords(input: Readable): AsyncGenerator<ImportRecord> {
  let header: string[] | undefined;
  let pending: { number: number; text: string } | undefined;
  for await (const line of readLines(input)) {
    if ('tooLong' in line) {
      if (!header) throw new ImportFileError('the CSV header row is too long');
      pending = undefined;
      yield tooLong(line.number);
      continue;
    }
    const start = pending ?? { number: line.number, text: line.text };
    if (pending) start.text += `\n${line.text}`;
    if (!pending && isBlank(line.text)) continue;
    const parsed = parseCsvRow(start.text);
    if (parsed === 'incomplete') {
      if (start.text.length > MAX_LINE_CHARS) {
        pending = undefined;
        yield tooLong(start.number);
      } else pending = start;
      continue;
    }
    pending = undefined;
    if (!header) {
      if (!Array.isArray(parsed)) throw new ImportFileError(`the CSV header row: ${parsed.malformed}`);
      header = checkHeader(parsed);
      continue;
    }
    yield toCsvRecord(start.number, header, parsed);
  }
  if (pending) {
    if (!header) throw new ImportFileError('the CSV header row: a quoted field is not closed');
    yield malformedCsv(pending.number, 'a quoted field is not closed before the end of the file');
  }
}

const malformedCsv = (line: number, message: string): ImportRecord => ({
  line,
  problem: { field: null, code: 'malformed_csv', message },
});

function checkHeader(columns: string[]): string[] {
  const known = new Set<string>(IMPORT_COLUMNS);
  const unknown = columns.filter((column) => !known.has(column));
  if (unknown.length > 0) {
    throw new ImportFileError(
      `the CSV header names unknown columns (${unknown.join(', ')}); the columns are ${IMPORT_COLUMNS.join(', ')}`,
    );
  }
  const repeated = columns.filter((column, i) => columns.indexOf(column) !== i);
  if (repeated.length > 0) throw new ImportFileError(`the CSV header names ${repeated.join(', ')} more than once`);
  const missing = REQUIRED_COLUMNS.filter((column) => !columns.includes(column));
  if (missing.length > 0) throw new ImportFileError(`the CSV header must name ${missing.join(', ')}`);
  return columns;
}

function toCsvRecord(line: number, header: string[], row: string[] | { malformed: string }): ImportRecord {
  if (!Array.isArray(row)) return malformedCsv(line, row.malformed);
  if (row.length !== header.length) {
    return malformedCsv(line, `${row.length} fields where the header has ${header.length}`);
  }
  const fields: Record<string, unknown> = {};
  for (let i = 0; i < header.length; i++) {
    const column = header[i];
    const value = row[i];
    if (value === '') continue;
    if (column === 'show_in_profile') {
      fields[column] = value === 'true' ? true : value === 'false' ? false : value;
    } else if (column === 'metadata') {
      try {
        fields[column] = JSON.parse(value);
      } catch {
        return { line, problem: { field: 'metadata', code: 'invalid', message: 'metadata must be a JSON object' } };
      }
    } else {
      fields[column] = value;
    }
  }
  return { line, fields };
}

/**
 * One CSV row: its fields, what is wrong when it breaks RFC 4180, or 'incomplete'
 * when a quoted field runs past the end of the text (it continues on the next line).
 */
export function parseCsvRow(text: string): string[] | { malformed: string } | 'incomplete' {
  if (!text.includes('"')) return text.split(',');
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text.charCodeAt(i) === 34) {
      // A quoted field: "" is a quote; it ends at a lone quote, followed by a comma or the end.
      let value = '';
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote === -1) return 'incomplete';
        value += text.slice(from, quote);
        if (text.charCodeAt(quote + 1) === 34) {
          value += '"';
          from = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      fields.push(value);
      if (i === text.length) return fields;
      if (text.charCodeAt(i) !== 44) {
        return { malformed: `a quoted field is followed by ${JSON.stringify(text[i])}, not a comma` };
      }
      i++;
    } else {
      const comma = text.indexOf(',', i);
      const value = comma === -1 ? text.slice(i) : text.slice(i, comma);
      if (value.includes('"')) {
        return { malformed: 'a quote inside an unquoted field (quote the whole field, and double the quote)' };
      }
      fields.push(value);
      if (comma === -1) return fields;
      i = comma + 1;
    }
  }
}
