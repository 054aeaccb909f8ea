import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/**
 * Runs work in one database transaction. PostgreSQL gives each transaction its
 * own pooled connection. SQLite (better-sqlite3) has a single connection that
 * TypeORM shares between requests, so two interleaved transactions would nest
 * into each other: there, transactions are queued and run one at a time.
 */
@Injectable()
export class TransactionRunner {
  private sqliteQueue: Promise<unknown> = Promise.resolve();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  get isPostgres(): boolean {
    return this.dataSource.options.type === 'postgres';
  }

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.isPostgres) return this.dataSource.transaction(work);
    const result = this.sqliteQueue.then(() => this.dataSource.transaction(work));
    // The queue only orders transactions; a failure belongs to its caller alone.
    this.sqliteQueue = result.catch(() => undefined);
    return result;
  }
}
