import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * Named prepared statements on PostgreSQL, through the pg pool TypeORM holds.
 * TypeORM sends every query unnamed, so the server parses and plans it each
 * time; a named statement is planned once per connection. Used by repositories
 * for their hot queries only (see docs: bench/RESULTS.md, performance notes).
 */
@Injectable()
export class PreparedStatements {
  readonly enabled: boolean;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.enabled = dataSource.options.type === 'postgres';
  }

  async query<R extends QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<{ rows: R[]; rowCount: number }> {
    const pool = (this.dataSource.driver as PostgresDriver).master as Pool;
    const result = await pool.query<R>({ name, text, values });
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  }
}
