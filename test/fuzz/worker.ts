// The fuzzer's worker thread (benchmarks/fuzz.ts): runs the cases it is sent, one at a time, and says
// when each starts and how it ended, so the parent can stop a case that hangs (by ending the thread).
import { parentPort } from 'node:worker_threads';
import { makeCase, runCase, type TargetName } from './targets.ts';

export interface WorkerRequest { seed: number; from: number; to: number; mix: Partial<Record<TargetName, number>> }
export type WorkerMessage =
  | { type: 'start'; index: number; bytes: number }
  | { type: 'done'; index: number; kind: 'ok' | 'refused' | 'crash'; ms: number; error?: string };

parentPort!.on('message', (req: WorkerRequest) => {
  for (let index = req.from; index < req.to; index++) {
    const c = makeCase(req.seed, index, req.mix);
    parentPort!.postMessage({ type: 'start', index, bytes: c.bytes.length } satisfies WorkerMessage);
    const o = runCase(c);
    parentPort!.postMessage({ type: 'done', index, kind: o.kind, ms: o.ms, error: o.kind === 'crash' ? o.error : undefined } satisfies WorkerMessage);
  }
});
