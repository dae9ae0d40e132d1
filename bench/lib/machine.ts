/** The machine a run was made on, for the report. */
import { spawnSync } from 'node:child_process';
import os from 'node:os';

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly openFilesLimit: string;
  /** 1-minute load average when the run started: above the core count, others shared the CPU. */
  readonly loadAverage: number;
}

export function machineInfo(): MachineInfo {
  const limit = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    openFilesLimit: limit.stdout.trim() || 'unknown',
    loadAverage: Number(os.loadavg()[0]?.toFixed(2)),
  };
}

export function describeMachine(machine: MachineInfo): string {
  return `${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, ulimit -n ${machine.openFilesLimit}, load average ${machine.loadAverage} at start`;
}
