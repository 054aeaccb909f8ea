// Creates a benchmark database and fills it with set-based SQL (INSERT ... SELECT
// generate_series), fast even for a million rows.
//
// Layout, chosen so that every workload does the same work at every data volume:
// - users 1..admins are admins; everyone else has no role, a usable password, and is active;
// - "driven" users (the ones the load generator has tokens for) are spread evenly over
//   the id space and each holds exactly `perDrivenUser` associations;
// - the remaining associations are spread over the other users (filler), so growing the
//   table changes what the indexes hold, not what one request reads or writes.
import pg from 'pg';

export function withDatabase(serverUrl, database) {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function recreateDatabase(serverUrl, database) {
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`unsafe database name ${database}`);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${database}`);
    const { rows } = await client.query('SHOW server_version');
    return rows[0].server_version;
  } finally {
    await client.end();
  }
}

/** Which users get tokens: `count` ids spread evenly over the non-admin users. */
export function drivenUsers({ users, admins, tokenUsers }) {
  const count = Math.max(1, Math.min(tokenUsers, Math.floor((users - admins) / 2)));
  const step = Math.floor((users - admins) / count);
  const ids = Array.from({ length: count }, (_, k) => admins + 1 + k * step);
  return { ids, step, first: admins + 1, last: ids[ids.length - 1] };
}

async function timed(log, label, work) {
  const started = Date.now();
  const result = await work();
  log(`  ${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return result;
}

export async function seedUsers(databaseUrl, { users, admins }, log) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SET synchronous_commit = off');
    await timed(log, `${users} users`, () =>
      client.query(
        `INSERT INTO users (id, username, email, role, has_usable_password, is_active)
         SELECT g, 'bench_user_' || g, 'bench_user_' || g || '@bench.invalid',
                CASE WHEN g <= $2 THEN 'admin' END, true, true
         FROM generate_series(1, $1::int) AS g`,
        [users, admins],
      ),
    );
    await client.query(`SELECT setval(pg_get_serial_sequence('users', 'id'), $1)`, [users]);
    await client.query('VACUUM ANALYZE users');
  } finally {
    await client.end();
  }
}

/** (Re)fills social_associations (and empties audit_events) with `total` rows. */
export async function seedAssociations(databaseUrl, { users, total, perDrivenUser, driven }, log) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SET synchronous_commit = off');
    // The rows are consistent by construction: skip the per-row foreign-key trigger.
    await client.query('SET session_replication_role = replica');
    await client.query('TRUNCATE social_associations, audit_events RESTART IDENTITY');
    const d = driven.ids.length;
    const perUser = Math.max(0, Math.min(perDrivenUser, Math.floor(total / d)));
    const drivenRows = d * perUser;
    const columns = `(id, user_id, provider, ext_id, profile_url, metadata, show_in_profile)`;
    const values = (userExpr) => `
      SELECT g, ${userExpr},
             CASE WHEN g % 2 = 0 THEN 'google' ELSE 'github' END,
             'seed-' || g,
             CASE WHEN g % 2 = 1 THEN 'https://github.com/seed-' || g END,
             NULL, g % 3 = 0`;
    await timed(log, `${drivenRows} associations of ${d} driven users (${perUser} each)`, () =>
      client.query(
        `INSERT INTO social_associations ${columns}
         ${values(`$2::int + ((g - 1) % $3::int) * $4::int`)}
         FROM generate_series(1, $1::int) AS g`,
        [drivenRows, driven.first, d, driven.step],
      ),
    );
    if (total > drivenRows) {
      // Filler: a scattered user for each row, moved off driven users to their neighbour.
      await timed(log, `${total - drivenRows} filler associations`, () =>
        client.query(
          `INSERT INTO social_associations ${columns}
           ${values(`CASE WHEN u0 >= $3 AND u0 <= $4 AND (u0 - $3) % $5 = 0
                          THEN CASE WHEN u0 < $2 THEN u0 + 1 ELSE u0 - 1 END
                          ELSE u0 END`)}
           FROM (SELECT g, ((g::bigint * 7919) % $2::int)::int + 1 AS u0
                 FROM generate_series($1::int + 1, $6::int) AS g) AS s`,
          [drivenRows, users, driven.first, driven.last, driven.step, total],
        ),
      );
    }
    await client.query(`SELECT setval(pg_get_serial_sequence('social_associations', 'id'), $1)`, [Math.max(total, 1)]);
    await client.query('SET session_replication_role = DEFAULT');
    // What the service keeps for its per-user cap (users.association_count), as if it had made the rows.
    await timed(log, 'association counts', () =>
      client.query(`
        UPDATE users u SET association_count = coalesce(held.n, 0)
          FROM users v LEFT JOIN (SELECT user_id, count(*) AS n FROM social_associations GROUP BY user_id) held
            ON held.user_id = v.id
         WHERE u.id = v.id AND u.association_count IS DISTINCT FROM coalesce(held.n, 0)`),
    );
    await timed(log, 'VACUUM ANALYZE', async () => {
      await client.query('VACUUM ANALYZE users');
      await client.query('VACUUM ANALYZE social_associations');
      await client.query('VACUUM ANALYZE audit_events');
    });
    const { rows } = await client.query('SELECT count(*)::int AS n FROM social_associations');
    return { total: rows[0].n, perDrivenUser: perUser };
  } finally {
    await client.end();
  }
}

/** What a seeded database holds, to tell whether BENCH_REUSE_DB can keep it. Throws if it is missing. */
export async function countRows(databaseUrl, drivenIds) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT (SELECT count(*) FROM users)::int AS users,
              (SELECT count(*) FROM social_associations)::int AS associations,
              (SELECT count(*) FROM social_associations WHERE user_id = ANY($1::int[]))::int AS "drivenRows"`,
      [drivenIds],
    );
    return rows[0];
  } finally {
    await client.end();
  }
}

/**
 * One database ready for a phase: `name` on the server `options.serverUrl`, dropped, created,
 * migrated (`migrate(url)`, bench/processes.mjs runMigrations) and seeded with `associations` rows;
 * or, with BENCH_REUSE_DB=1, kept when it holds the expected rows. Resolves to its URL and how many
 * associations each driven user holds.
 */
export async function prepareDatabase(options, { name, associations, driven, migrate, log }) {
  const url = withDatabase(options.serverUrl, name);
  const perDrivenUser = Math.max(0, Math.min(options.perDrivenUser, Math.floor(associations / driven.ids.length)));
  if (options.reuseDb) {
    const expected = { users: options.users, associations, drivenRows: driven.ids.length * perDrivenUser };
    const found = await countRows(url, driven.ids).catch(() => undefined);
    const show = (c) => `${c.users} users, ${c.associations} associations, ${c.drivenRows} of the driven users`;
    if (found && Object.keys(expected).every((k) => found[k] === expected[k])) {
      log(`reusing database ${name} (BENCH_REUSE_DB=1): ${show(found)}`);
      return { url, perDrivenUser };
    }
    log(
      `database ${name} ${found ? `holds ${show(found)}, not ${show(expected)}` : 'is missing or not seeded'}: seeding it again`,
    );
  }
  log(`creating database ${name}`);
  await recreateDatabase(options.serverUrl, name);
  log('running the migrations');
  await migrate(url);
  log(`seeding ${name}`);
  await seedUsers(url, options, log);
  const seeded = await seedAssociations(url, { ...options, total: associations, driven }, log);
  return { url, perDrivenUser: seeded.perDrivenUser };
}
