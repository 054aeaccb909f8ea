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
          interrupted = await this.process(records, tally, options, (rows) =>
            this.repository.dryRunBatch(manager, rows, maxPerUser),
          );
          throw new DryRunRollback();
        });
      } catch (error) {
        if (!(error instanceof DryRunRollback)) throw error;
      }
    } else {
      const audit = { actorUserId: null, action: 'social_association.created', requestId: null } as const;
      interrupted = await this.process(records, tally, options, (rows) =>
        this.transactions.run((manager) => this.repository.importBatch(manager, rows, maxPerUser, audit)),
      );
    }
    return tally.summary({ dryRun: options.dryRun, interrupted: interrupted! });
  }

  /**
   * Reads and checks lines into batches; a batch is stored while the next one
   * is read. Returns whether the signal stopped it before the end of the file.
   */
  private async process(
    records: AsyncIterable<ImportRecord>,
    tally: Tally,
    options: ImportOptions,
    store: StoreBatch,
  ): Promise<boolean> {
    const batchSize = options.batchSize ?? DEFAULT_IMPORT_BATCH_SIZE;
    let batch: ImportRow[] = [];
    // Lines whose outcome depends on an earlier line of the same batch that was not written: next batch.
    let carry: ImportRow[] = [];
    let inFlight: Promise<ImportRow[]> | undefined;

    const settle = async (): Promise<void> => {
      if (!inFlight) return;
      const sent = inFlight;
      inFlight = undefined;
      carry = carry.concat(await sent);
      options.onProgress?.(tally.progress());
    };
    const send = (rows: ImportRow[]): void => {
      inFlight = this.storeBatch(rows, tally, store);
      // Handled when settled; until then a failure must not count as unhandled.
      inFlight.catch(() => {});
    };
    const flush = async (): Promise<void> => {
      await settle();
      const rows = carry.length > 0 ? carry.concat(batch) : batch;
      carry = [];
      batch = [];
      if (rows.length > 0) send(rows);
    };

    let interrupted = false;
    for await (const record of records) {
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      tally.scanned++;
      const row = await this.check(record);
      if ('code' in row) tally.reject(record.line, row);
      else batch.push(row);
      if (batch.length >= batchSize) await flush();
    }
    if (interrupted) {
      await settle();
      return true;
    }
    await flush();
    while (inFlight) {
      await settle();
      if (carry.length > 0) {
        const rows = carry;
        carry = [];
        send(rows);
      }
    }
    return false;
  }

  /** A line by the API's rules (everything but what needs the database): the row to store, or its problem. */
  private async check(record: ImportRecord): Promise<ImportRow | LineProblem> {
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
    };
  }

  /**
   * Stores the first line of each identity in the batch, then decides the later
   * ones from the first one's outcome. Returns the lines that must wait for the next batch.
   */
  private async storeBatch(rows: ImportRow[], tally: Tally, store: StoreBatch): Promise<ImportRow[]> {
    const firsts: ImportRow[] = [];
    const repeats: { row: ImportRow; first: ImportRow }[] = [];
    const byIdentity = new Map<string, ImportRow>();
    for (const row of rows) {
      const key = `${row.provider}\n${row.extId}`;
      const first = byIdentity.get(key);
      if (first) repeats.push({ row, first });
      else {
        byIdentity.set(key, row);
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

    const carry: ImportRow[] = [];
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
