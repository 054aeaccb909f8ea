import { HttpException, Injectable } from '@nestjs/common';
import { isDateTime } from '../../common/validation/date-time';
import { DomainError } from '../../common/errors/domain-error';
import { FieldValidationError } from '../../common/errors/problem';
import { AppConfig } from '../../config/app-config';
import { TransactionRunner } from '../../database/transactions';
import { CreateSocialAssociationDto } from '../dto/create-social-association.dto';
import { assertFieldRules, assertProviderAllowed } from '../social-association.service';
import { AssociationImportRepository, ImportRow, RowOutcome, StoredAssociation } from './association-import.repository';
import { ImportRecord, LineProblem } from './import-records';
import { validateCreateLine } from './line-validation';

/** The most errors a summary lists (the lowest line numbers); `rejected` counts them all. */
export const MAX_LISTED_ERRORS = 100;
export const DEFAULT_IMPORT_BATCH_SIZE = 5000;
/**
 * Batches written side by side: PostgreSQL works one batch per connection, on
 * one core; with two, the server's cores share the writing. On the 2-core
 * machine of bench/RESULTS.md the batch statement alone wrote 25,000-30,000
 * rows/s on two connections against 11,000-12,000 on one (100,000 rows).
 */
export const IMPORT_LANES = 2;

export interface ImportError extends LineProblem {
  line: number;
}

/** The command's output: what became of every line read. `read` = created + unchanged + rejected. */
export interface ImportSummary {
  read: number;
  created: number;
  unchanged: number;
  rejected: number;
  errors: ImportError[];
  /** Present on a dry run: the counts say what would have happened; nothing was written. */
  dry_run?: true;
  /** Present when the import was stopped (SIGINT) before the end of the file: the lines after were not read. */
  interrupted?: true;
}

export interface ImportProgress {
  /** Lines read from the file so far (including those still waiting for their batch). */
  scanned: number;
  created: number;
  unchanged: number;
  rejected: number;
}

export interface ImportOptions {
  dryRun: boolean;
  /** Lines per batch (per transaction); default DEFAULT_IMPORT_BATCH_SIZE. */
  batchSize?: number;
  /** Called after each batch. */
  onProgress?: (progress: ImportProgress) => void;
  /** Aborted: no more lines are read; the batch being written finishes (in or out as a whole). */
  signal?: AbortSignal;
}

/**
 * Keeps the planner's statistics of social_associations in step with an
 * import, which grows the table far faster than autovacuum analyzes it. On
 * statistics that still say "a few rows", the planner may serve a line's
 * identity lookup from the (provider, created_at, id) index instead of the
 * unique (provider, ext_id) one: a walk over every row of the provider for each
 * line, seconds per batch (past the statement timeout). So the table is
 * analyzed after the first batch (which is written alone, see process()), then
 * each time it has grown by half (5,000 rows at least): about 15 times for 1M
 * lines into an empty table, each a sample of bounded size (tens of ms). The
 * search routes get fresh statistics too.
 */
class TableStatistics {
  static readonly MIN_GROWTH = 5000;
  private rowsAtAnalyze = 0;
  private createdAtAnalyze = 0;
  private analyzed = false;

  constructor(private readonly repository: AssociationImportRepository) {}

  async start(): Promise<void> {
    this.rowsAtAnalyze = await this.repository.estimatedRows();
  }

  /** After a batch: analyzes the table after the first one, and then whenever it grew enough. */
  async afterBatch(created: number): Promise<void> {
    const grown = created - this.createdAtAnalyze;
    if (this.analyzed && grown < Math.max(TableStatistics.MIN_GROWTH, this.rowsAtAnalyze / 2)) return;
    this.analyzed = true;
    this.createdAtAnalyze = created;
    this.rowsAtAnalyze += grown;
    await this.repository.analyze();
  }
}

/** Thrown inside a dry run's transaction to roll it back once everything was checked. */
class DryRunRollback extends Error {}

/** What the lines of an import came to, with the first errors by line number. */
class Tally {
  created = 0;
  unchanged = 0;
  rejected = 0;
  scanned = 0;
  private errors: ImportError[] = [];

  reject(line: number, problem: LineProblem): void {
    this.rejected++;
    this.errors.push({ line, ...problem });
    // Errors arrive nearly in line order (a batch's database outcomes come after the next batch's
    // field errors): keep the lowest line numbers, pruning now and then.
    if (this.errors.length >= 2 * MAX_LISTED_ERRORS) this.prune();
  }

  progress(): ImportProgress {
    return { scanned: this.scanned, created: this.created, unchanged: this.unchanged, rejected: this.rejected };
  }

  summary(flags: { dryRun: boolean; interrupted: boolean }): ImportSummary {
    this.prune();
    return {
      read: this.created + this.unchanged + this.rejected,
      created: this.created,
      unchanged: this.unchanged,
      rejected: this.rejected,
      errors: this.errors,
      ...(flags.dryRun ? { dry_run: true as const } : {}),
      ...(flags.interrupted ? { interrupted: true as const } : {}),
    };
  }

  private prune(): void {
    this.errors.sort((a, b) => a.line - b.line);
    this.errors.length = Math.min(this.errors.length, MAX_LISTED_ERRORS);
  }
}

type StoreBatch = (rows: ImportRow[]) => Promise<RowOutcome[]>;

/** A valid line, with the key of its identity (`provider\next_id`), by which lines are grouped. */
type Line = ImportRow & { identity: string };

/** The batches of a lane: the one being read, the lines it carries over, the one being written. */
interface Lane {
  index: number;
  batch: Line[];
  carry: Line[];
  inFlight?: Promise<Line[]>;
}

/**
 * The identities of the lines read but not yet decided, with their lane. A
 * line's user decides its lane, so a user's lines (and the per-user cap) stay
 * in one lane, in file order. Two lines of one identity in different lanes
 * would race: the later one waits until the earlier one is decided, as it
 * would in one stream of batches.
 */
class PendingIdentities {
  /** Per identity, its pending lines (most identities have one: a list only for repeats). */
  private readonly lines = new Map<string, PendingLine>();

  add(row: Line, lane: number): void {
    const first = this.lines.get(row.identity);
    const entry: PendingLine = { line: row.line, lane };
    if (!first) this.lines.set(row.identity, entry);
    else {
      let last = first;
      while (last.next) last = last.next;
      last.next = entry;
    }
  }

  delete(row: Line): void {
    let entry = this.lines.get(row.identity);
    let previous: PendingLine | undefined;
    while (entry && entry.line !== row.line) {
      previous = entry;
      entry = entry.next;
    }
    if (!entry) return;
    if (previous) previous.next = entry.next;
    else if (entry.next) this.lines.set(row.identity, entry.next);
    else this.lines.delete(row.identity);
  }

  /** Whether an earlier line of the row's identity is pending in another lane. */
  waitsInAnotherLane(row: Line, lane: number): boolean {
    for (let entry = this.lines.get(row.identity); entry; entry = entry.next) {
      if (entry.lane !== lane && entry.line < row.line) return true;
    }
    return false;
  }
}

interface PendingLine {
  line: number;
  lane: number;
  next?: PendingLine;
}

/**
 * The bulk import of associations (`associations:import`): each line is checked
 * by the API's rules (the request DTO and its validators, the provider
 * allow-list, the cross-field rules; then, in the database, the user exists,
 * the identity is not linked elsewhere, the per-user cap) and the valid new
 * ones are written in batches, one transaction each (rows, users'
 * association_count, audit events), while the next batch is being read.
 * A line identical to what is stored is `unchanged`, so a re-run changes nothing.
 */
@Injectable()
export class AssociationImportService {
  constructor(
    private readonly repository: AssociationImportRepository,
    private readonly transactions: TransactionRunner,
    private readonly config: AppConfig,
  ) {}

  async import(records: AsyncIterable<ImportRecord>, options: ImportOptions): Promise<ImportSummary> {
    const tally = new Tally();
    const maxPerUser = this.config.maxAssociationsPerUser;
    let interrupted: boolean;
    if (options.dryRun) {
      // One transaction for the whole run, rolled back at its end: later batches see what earlier ones would have created.
      try {
        await this.transactions.run(async (manager) => {
          await this.repository.startDryRun(manager);
          interrupted = await this.process(
            records,
            tally,
            options,
            (rows) => this.repository.dryRunBatch(manager, rows, maxPerUser),
            1,
          );
          throw new DryRunRollback();
        });
      } catch (error) {
        if (!(error instanceof DryRunRollback)) throw error;
      }
    } else {
      const audit = { actorUserId: null, action: 'social_association.created', requestId: null } as const;
      const statistics = new TableStatistics(this.repository);
      await statistics.start();
      interrupted = await this.process(
        records,
        tally,
        options,
        (rows) => this.transactions.run((manager) => this.repository.importBatch(manager, rows, maxPerUser, audit)),
        this.laneCount(),
        (created) => statistics.afterBatch(created),
      );
    }
    return tally.summary({ dryRun: options.dryRun, interrupted: interrupted! });
  }

  /**
   * Lanes of a real import: on a server, IMPORT_LANES connections (at most the
   * pool). The embedded engine serves one transaction at a time: one lane.
   */
  private laneCount(): number {
    const { db } = this.config;
    return db.engine === 'server' ? Math.min(IMPORT_LANES, db.poolSize) : 1;
  }

  /**
   * Reads and checks lines into batches, one stream of batches per lane: a
   * lane's batch is stored while the next one is read, and the lanes' batches
   * are stored side by side. Returns whether the signal stopped it before the
   * end of the file.
   */
  private async process(
    records: AsyncIterable<ImportRecord>,
    tally: Tally,
    options: ImportOptions,
    store: StoreBatch,
    laneCount: number,
    afterBatch?: (created: number) => Promise<void>,
  ): Promise<boolean> {
    const batchSize = options.batchSize ?? DEFAULT_IMPORT_BATCH_SIZE;
    const pending = new PendingIdentities();
    const lanes = Array.from({ length: laneCount }, (_, index): Lane => ({ index, batch: [], carry: [] }));

    let settled = 0;
    const settle = async (lane: Lane): Promise<void> => {
      if (!lane.inFlight) return;
      const sent = lane.inFlight;
      lane.inFlight = undefined;
      lane.carry = lane.carry.concat(await sent);
      settled++;
      options.onProgress?.(tally.progress());
      await afterBatch?.(tally.created);
    };
    /** Sends the lane's carried and new lines, but those that must wait for an earlier line in another lane. */
    const send = (lane: Lane): void => {
      const rows = lane.carry.length > 0 ? lane.carry.concat(lane.batch) : lane.batch;
      lane.batch = [];
      lane.carry = [];
      const ready: Line[] = [];
      for (const row of rows) (pending.waitsInAnotherLane(row, lane.index) ? lane.carry : ready).push(row);
      if (ready.length === 0) return;
      lane.inFlight = this.storeBatch(ready, tally, store, pending);
      // Handled when settled; until then a failure must not count as unhandled.
      lane.inFlight.catch(() => {});
    };

    let interrupted = false;
    try {
      for await (const record of records) {
        if (options.signal?.aborted) {
          interrupted = true;
          break;
        }
        tally.scanned++;
        const row = await this.check(record);
        if ('code' in row) {
          tally.reject(record.line, row);
          continue;
        }
        const lane = lanes[row.userId % laneCount];
        pending.add(row, lane.index);
        lane.batch.push(row);
        if (lane.batch.length >= batchSize) {
          // The first batch is written alone: a batch planned before it ends would be planned on the
          // statistics of before the import, against a table that batch is filling (see TableStatistics).
          if (settled === 0) for (const other of lanes) await settle(other);
          else await settle(lane);
          // Stopped while that batch was written: the batch just read is not started.
          if (options.signal?.aborted) {
            interrupted = true;
            break;
          }
          send(lane);
        }
      }
      if (interrupted) {
        // The batches being written finish; a failure among them is the import's failure.
        for (const lane of lanes) await settle(lane);
        return true;
      }
      // The last batches, then what they carried, until every line has its outcome. Each round
      // settles something: the earliest pending line of an identity never waits.
      for (const lane of lanes) {
        await settle(lane);
        send(lane);
      }
      while (lanes.some((lane) => lane.inFlight !== undefined || lane.carry.length > 0)) {
        for (const lane of lanes) await settle(lane);
        for (const lane of lanes) send(lane);
      }
      return false;
    } finally {
      // On a failure: the other batches being written finish (in or out as a whole) first.
      await Promise.allSettled(lanes.flatMap((lane) => (lane.inFlight ? [lane.inFlight] : [])));
    }
  }

  /** A line by the API's rules (everything but what needs the database): the row to store, or its problem. */
  private async check(record: ImportRecord): Promise<Line | LineProblem> {
    if (record.problem) return record.problem;
    const { created_at: createdAt, ...fields } = record.fields;
    let input: CreateSocialAssociationDto;
    try {
      input = await validateCreateLine(fields);
      assertProviderAllowed(this.config.allowedProviders, input.provider);
      assertFieldRules(input);
    } catch (error) {
      return problemOf(error);
    }
    if (input.user_id === undefined) return { field: 'user_id', code: 'required', message: 'user_id is required' };
    if (createdAt != null && !isDateTime(createdAt)) {
      return {
        field: 'created_at',
        code: 'invalid',
        message: 'created_at must be an ISO-8601 date-time with a time zone, e.g. 2025-01-31T12:00:00Z',
      };
    }
    return {
      line: record.line,
      userId: input.user_id,
      provider: input.provider,
      extId: input.ext_id,
      profileUrl: input.profile_url ?? null,
      metadata: input.metadata == null ? null : JSON.stringify(input.metadata),
      showInProfile: input.show_in_profile ?? false,
      createdAt: createdAt ?? null,
      identity: `${input.provider}\n${input.ext_id}`,
    };
  }

  /**
   * Stores the first line of each identity in the batch, then decides the later
   * ones from the first one's outcome. Returns the lines that must wait for the next batch.
   */
  private async storeBatch(rows: Line[], tally: Tally, store: StoreBatch, pending: PendingIdentities): Promise<Line[]> {
    const firsts: Line[] = [];
    const repeats: { row: Line; first: Line }[] = [];
    const byIdentity = new Map<string, Line>();
    for (const row of rows) {
      const first = byIdentity.get(row.identity);
      if (first) repeats.push({ row, first });
      else {
        byIdentity.set(row.identity, row);
        firsts.push(row);
      }
    }

    const outcomes = new Map((await store(firsts)).map((outcome) => [outcome.line, outcome]));
    for (const row of firsts) {
      const outcome = outcomes.get(row.line);
      if (!outcome) tally.created++;
      else if (outcome.outcome === 'unchanged') tally.unchanged++;
      else tally.reject(row.line, this.problemOfOutcome(row, outcome));
    }

    const carry: Line[] = [];
    for (const { row, first } of repeats) {
      const outcome = outcomes.get(first.line);
      const sameUser = row.userId === first.userId;
      if (outcome?.outcome === 'not_found' || outcome?.outcome === 'too_many_associations') {
        // Nothing was stored for the identity; the user's state is what it was for the first line.
        if (sameUser) tally.reject(row.line, this.problemOfOutcome(row, outcome));
        else carry.push(row);
        continue;
      }
      if (outcome?.outcome === 'raced') {
        carry.push(row);
        continue;
      }
      // What is stored for the identity once the first line is through.
      const stored: StoredAssociation = outcome && 'stored' in outcome ? outcome.stored : first;
      // The line's user exists if it is the stored one's or the first line's: else the database must say.
      if (row.userId !== stored.userId && !sameUser) {
        carry.push(row);
        continue;
      }
      const differing = compareWithStored(row, stored);
      if (differing === null) tally.unchanged++;
      else tally.reject(row.line, differing);
    }
    const carried = new Set(carry);
    for (const row of rows) if (!carried.has(row)) pending.delete(row);
    return carry;
  }

  private problemOfOutcome(row: ImportRow, outcome: RowOutcome): LineProblem {
    switch (outcome.outcome) {
      case 'not_found':
        return { field: 'user_id', code: 'not_found', message: `User ${row.userId} does not exist` };
      case 'too_many_associations':
        return {
          field: 'user_id',
          code: 'too_many_associations',
          message: `User ${row.userId} would hold more than ${this.config.maxAssociationsPerUser} associations, the most allowed`,
        };
      case 'raced':
        return {
          field: 'ext_id',
          code: 'already_linked',
          message: `This ${row.provider} identity was linked by another writer during the import`,
        };
      case 'already_linked':
      case 'differs':
        return compareWithStored(row, outcome.stored)!;
      case 'unchanged':
        throw new Error('an unchanged line is no problem');
    }
  }
}

/** Null when the line is what is stored; else why it is rejected (the same rules as the batch statement). */
function compareWithStored(row: ImportRow, stored: StoredAssociation): LineProblem | null {
  if (row.userId !== stored.userId) {
    return {
      field: 'ext_id',
      code: 'already_linked',
      message: `This ${row.provider} identity is already linked to user ${stored.userId}`,
    };
  }
  const field =
    row.profileUrl !== stored.profileUrl
      ? 'profile_url'
      : row.showInProfile !== stored.showInProfile
        ? 'show_in_profile'
        : row.metadata !== stored.metadata
          ? 'metadata'
          : null;
  if (field === null) return null;
  return {
    field,
    code: 'linked_with_other_fields',
    message: `This ${row.provider} identity is linked to user ${stored.userId} with another ${field}`,
  };
}

function problemOf(error: unknown): LineProblem {
  if (error instanceof FieldValidationError) {
    const [first] = error.fieldErrors;
    return { field: first.field, code: first.code, message: first.message };
  }
  if (error instanceof DomainError) return { field: error.field ?? null, code: error.code, message: error.message };
  if (error instanceof HttpException) return { field: null, code: 'invalid', message: error.message };
  throw error;
}
