/**
 * SQLite: the snapshots of the tasks this adapter wrote last, kept so that a batch need not
 * read its tasks back. With one event per task per batch, the usual shape of a busy server's
 * batches, reading the task rows and parsing their states was about a sixth of a batch's cost.
 *
 * They are used only while nothing else has written to the database since this adapter's last
 * batch, which a {@link DatabaseStamp} read under the write lock tells: `data_version` changes
 * when another connection commits, `total_changes()` when anything writes on this connection
 * (the host's own tables and this adapter's sessions included, so those cost a re-read).
 */
import type { TaskSnapshot } from '../types.js';

/** Tasks kept; the least recently written go first. */
const MAX_TASKS = 10_000;

/** `PRAGMA data_version` and `total_changes()`, joined. */
export type DatabaseStamp = string;

/** Reads the row {@link stampOf} takes. */
export const STAMP_QUERY =
  'SELECT data_version AS version, total_changes() AS changes FROM pragma_data_version()';

export interface StampRow {
  readonly version: number;
  readonly changes: number;
}

export const stampOf = (row: StampRow | undefined): DatabaseStamp => `${row?.version}:${row?.changes}`;

export class KnownSnapshots {
  readonly #snapshots = new Map<string, TaskSnapshot>();
  /** The stamp after this adapter's last committed batch. */
  #stamp: DatabaseStamp | undefined;
  /** The stamp after the writes of the batch in progress. */
  #pendingStamp: DatabaseStamp | undefined;

  /** Starts a batch: forgets every snapshot if the database changed since the last one. */
  begin(stamp: DatabaseStamp): void {
    if (stamp !== this.#stamp) this.#snapshots.clear();
    this.#pendingStamp = undefined;
  }

  /** The known snapshots of `taskIds`, and the ids the batch must read from the database. */
  lookup(taskIds: readonly string[]): { snapshots: Map<string, TaskSnapshot | null>; unknown: string[] } {
    const snapshots = new Map<string, TaskSnapshot | null>();
    const unknown: string[] = [];
    for (const taskId of taskIds) {
      const snapshot = this.#snapshots.get(taskId);
      if (snapshot === undefined) unknown.push(taskId);
      else snapshots.set(taskId, snapshot);
    }
    return { snapshots, unknown };
  }

  /** The batch in progress has done all its writes; the database now reads `stamp`. */
  written(stamp: DatabaseStamp): void {
    this.#pendingStamp = stamp;
  }

  /** The batch in progress committed `snapshots`. */
  committed(snapshots: readonly TaskSnapshot[]): void {
    for (const snapshot of snapshots) {
      // Re-inserted, so the map's order is the order of last write.
      this.#snapshots.delete(snapshot.taskId);
      this.#snapshots.set(snapshot.taskId, snapshot);
    }
    for (const taskId of this.#snapshots.keys()) {
      if (this.#snapshots.size <= MAX_TASKS) break;
      this.#snapshots.delete(taskId);
    }
    this.#stamp = this.#pendingStamp;
  }
}
