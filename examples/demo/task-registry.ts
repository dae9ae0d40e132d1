/**
 * The demo's list of tasks it started (id, title, shape), kept in a small JSON file next to
 * the database so a restarted demo shows the same tasks and finishes the unfinished ones.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { VideoTaskSpec } from './simulator.js';

/** Tasks kept; older ones drop off the list (their history stays in the database). */
const MAX_TASKS = 50;

export interface TaskRegistry {
  list(): readonly VideoTaskSpec[];
  get(taskId: string): VideoTaskSpec | undefined;
  add(spec: VideoTaskSpec): void;
}

export function openTaskRegistry(file: string): TaskRegistry {
  let tasks: VideoTaskSpec[] = [];
  try {
    tasks = JSON.parse(readFileSync(file, 'utf8')) as VideoTaskSpec[];
  } catch {
    // First run, or an unreadable file: start empty.
  }
  return {
    list: () => tasks,
    get: (taskId) => tasks.find((task) => task.taskId === taskId),
    add(spec) {
      tasks = [spec, ...tasks].slice(0, MAX_TASKS);
      writeFileSync(file, JSON.stringify(tasks, null, 2));
    },
  };
}
