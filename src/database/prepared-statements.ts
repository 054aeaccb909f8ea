import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, QueryConfig, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { DatabaseConnection } from './database-connection';

/**
 * The hot queries, sent through the pg pool TypeORM holds, in one round trip.
 * On a PostgreSQL server they are named prepared statements: TypeORM sends every
 * query unnamed, so the server parses and plans it each time, while a named one
 * is planned once per connection (bench/RESULTS.md, performance notes). On the
 * embedded engine the same SQL goes unnamed (see DatabaseConnection.namedStatements).
 */
@Injectable()
export class PreparedStatements {
  private readonly named: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    connection: DatabaseConnection,
  ) {
    this.named = connection.namedStatements;
  }

  async query<R extends QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<{ rows: R[]; rowCount: number }> {
    const pool = (this.dataSource.driver as PostgresDriver).master as Pool;
    const statement: QueryConfig = this.named ? { name, text, values } : { text, values };
    const result = await pool.query<R>(statement);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  }
}
