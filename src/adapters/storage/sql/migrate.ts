/**
 * The idempotent migration: `CREATE TABLE IF NOT EXISTS` for the four tables and their
 * indexes, safe to run twice and from several processes at once.
 */
import { type Kysely, sql } from 'kysely';
import { StorageError } from '../../../shared/errors.js';
import {
  type DialectTypes,
  detectDialect,
  dialectTypes,
  isAlreadyExistsError,
  type SqlDialectName,
} from './dialect.js';
import { DEFAULT_SQL_OPTIONS } from './options.js';
import { sqlTableNames } from './schema.js';

interface IndexSpec {
  readonly name: string;
  readonly columns: string;
}

interface TableSpec {
  readonly name: string;
  /** Column and constraint definitions, already rendered for the dialect. */
  readonly body: readonly string[];
  readonly indexes: readonly IndexSpec[];
}

const quote = (dialect: SqlDialectName, name: string): string =>
  dialect === 'mysql' ? `\`${name}\`` : `"${name}"`;

/** The table layout; `docs/storage-adapters.md` shows the same DDL. */
function tableSpecs(prefix: string, dialect: SqlDialectName, t: DialectTypes): TableSpec[] {
  const names = sqlTableNames(prefix);
  const q = (name: string) => quote(dialect, name);
  return [
    {
      name: names.progress_history,
      body: [
        `id ${t.id}`,
        'task_id varchar(100) NOT NULL',
        `seq ${t.bigint} NOT NULL`,
        'type varchar(10) NOT NULL',
        'progress integer NOT NULL',
        'current_step varchar(200) NOT NULL',
        `total_steps ${t.bigint} NOT NULL`,
        `completed_steps ${t.bigint} NOT NULL`,
        'message varchar(500) NOT NULL',
        'status varchar(20) NOT NULL',
        `metadata ${t.longText} NULL`,
        `payload ${t.longText} NULL`,
        `created_at ${t.bigint} NOT NULL`,
        // Also serves the seed's task_id index (leftmost column) and history range reads.
        `CONSTRAINT ${q(`${prefix}history_task_seq_key`)} UNIQUE (task_id, seq)`,
      ],
      indexes: [
        { name: `${prefix}history_status_idx`, columns: 'status' },
        { name: `${prefix}history_created_at_idx`, columns: 'created_at' },
      ],
    },
    {
      name: names.tasks,
      body: [
        'task_id varchar(100) NOT NULL PRIMARY KEY',
        `seq ${t.bigint} NOT NULL`,
        'status varchar(20) NOT NULL',
        `state ${t.longText} NOT NULL`,
        `error ${t.longText} NOT NULL`,
        `result ${t.longText} NOT NULL`,
        `created_at ${t.bigint} NOT NULL`,
        `updated_at ${t.bigint} NOT NULL`,
      ],
      indexes: [{ name: `${prefix}tasks_status_idx`, columns: 'status' }],
    },
    {
      name: names.websocket_sessions,
      body: [
        `id ${t.id}`,
        'client_id varchar(100) NOT NULL',
        'user_id varchar(100) NOT NULL',
        'project_id varchar(100) NOT NULL',
        `connected_at ${t.bigint} NOT NULL`,
        `disconnected_at ${t.bigint} NULL`,
        `last_active_at ${t.bigint} NOT NULL`,
        `message_count ${t.bigint} NOT NULL`,
        'ip_address varchar(50) NOT NULL',
        'user_agent varchar(500) NOT NULL',
        `created_at ${t.bigint} NOT NULL`,
        `updated_at ${t.bigint} NOT NULL`,
        `CONSTRAINT ${q(`${prefix}ws_sessions_client_id_key`)} UNIQUE (client_id)`,
      ],
      indexes: [
        { name: `${prefix}ws_sessions_user_id_idx`, columns: 'user_id' },
        { name: `${prefix}ws_sessions_project_id_idx`, columns: 'project_id' },
      ],
    },
    {
      name: names.resume_sessions,
      body: [
        'client_id varchar(100) NOT NULL PRIMARY KEY',
        'user_id varchar(100) NOT NULL',
        'project_id varchar(100) NOT NULL',
        `subscriptions ${t.longText} NOT NULL`,
        `last_active_at ${t.bigint} NOT NULL`,
        `expires_at ${t.bigint} NOT NULL`,
      ],
      indexes: [{ name: `${prefix}resume_sessions_expires_at_idx`, columns: 'expires_at' }],
    },
  ];
}

/**
 * The DDL statements for a dialect, in order. MySQL has no `CREATE INDEX IF NOT EXISTS`
 * (MariaDB has), so there the indexes go inside `CREATE TABLE IF NOT EXISTS` and are created
 * atomically with their table.
 */
export function migrationStatements(
  prefix: string,
  dialect: SqlDialectName,
  mysqlCollation?: string,
): string[] {
  const types = dialectTypes(dialect, mysqlCollation);
  const q = (name: string) => quote(dialect, name);
  return tableSpecs(prefix, dialect, types).flatMap((table) => {
    const inline =
      dialect === 'mysql' ? table.indexes.map((index) => `INDEX ${q(index.name)} (${index.columns})`) : [];
    const create = `CREATE TABLE IF NOT EXISTS ${q(table.name)} (\n  ${[...table.body, ...inline].join(',\n  ')}\n)${types.tableOptions}`;
    const indexes =
      dialect === 'mysql'
        ? []
        : table.indexes.map(
            (index) => `CREATE INDEX IF NOT EXISTS ${q(index.name)} ON ${q(table.name)} (${index.columns})`,
          );
    return [create, ...indexes];
  });
}

/** Options of {@link migrateSqlStorage}. */
export interface MigrateSqlStorageOptions {
  /** The host's Kysely instance. */
  // biome-ignore lint/suspicious/noExplicitAny: the host's table types are none of our business.
  db: Kysely<any>;
  /**
   * Table name prefix; must match the adapter's.
   * @default 'rp_'
   */
  tablePrefix?: string;
  /**
   * The SQL flavour.
   * @default detected from the Kysely adapter
   */
  dialect?: SqlDialectName;
}

/**
 * Creates the adapter's tables and indexes if they are missing. Idempotent, and safe to run
 * from several processes at once: PostgreSQL serialises it with a transaction-scoped advisory
 * lock (concurrent `CREATE TABLE IF NOT EXISTS` can otherwise fail on a catalog unique index),
 * MySQL with `GET_LOCK`, SQLite with its write lock.
 * @throws {StorageError} when the database refuses the DDL.
 */
export async function migrateSqlStorage(options: MigrateSqlStorageOptions): Promise<void> {
  const db = options.db.withoutPlugins();
  const dialect = options.dialect ?? detectDialect(db);
  const prefix = options.tablePrefix ?? DEFAULT_SQL_OPTIONS.tablePrefix;
  const lockName = `realtime-progress:migrate:${prefix}`;
  try {
    switch (dialect) {
      case 'postgres':
        await db.transaction().execute(async (trx) => {
          await sql`SELECT pg_advisory_xact_lock(hashtext(${lockName}))`.execute(trx);
          for (const statement of migrationStatements(prefix, dialect)) await sql.raw(statement).execute(trx);
        });
        return;
      case 'sqlite':
        await db.transaction().execute(async (trx) => {
          for (const statement of migrationStatements(prefix, dialect)) await sql.raw(statement).execute(trx);
        });
        return;
      case 'mysql':
        // GET_LOCK is held by a session, so the DDL must run on that same connection.
        await db.connection().execute(async (conn) => {
          await sql`SELECT GET_LOCK(${lockName.slice(0, 64)}, 60)`.execute(conn);
          try {
            const collation = await mysqlIdCollation(conn);
            for (const statement of migrationStatements(prefix, dialect, collation)) {
              await sql
                .raw(statement)
                .execute(conn)
                .catch((error: unknown) => {
                  if (!isAlreadyExistsError(dialect, error)) throw error;
                });
            }
          } finally {
            await sql`SELECT RELEASE_LOCK(${lockName.slice(0, 64)})`.execute(conn);
          }
        });
        return;
    }
  } catch (error) {
    throw new StorageError(
      `Could not create the realtime-progress tables (prefix "${prefix}") on ${dialect}: ${(error as Error).message}. Check the database user may CREATE TABLE, or run the DDL from docs/storage-adapters.md yourself and pass { migrate: false }.`,
      { cause: error },
    );
  }
}

/** The best binary, no-pad collation the server has (MySQL 8: 0900_bin; MariaDB: nopad_bin). */
async function mysqlIdCollation<DB>(db: Kysely<DB>): Promise<string> {
  const { rows } = await sql<{ name: string }>`
    SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS
    WHERE COLLATION_NAME IN ('utf8mb4_0900_bin', 'utf8mb4_nopad_bin')`.execute(db);
  const names = rows.map((row) => row.name);
  return names.find((name) => name === 'utf8mb4_0900_bin') ?? names[0] ?? 'utf8mb4_bin';
}
