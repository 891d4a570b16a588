/**
 * The entry of the job thread (see job-thread.ts): takes one task at a time, with the port its
 * image is served on for an image task, runs it and answers with the outcome, its buffers
 * transferred.
 */
import { parentPort } from 'node:worker_threads';
import { portContentSource } from '../image/index.js';
import { runTask, transferList, type TaskState } from './image-tasks.js';
import type { ThreadReply, ThreadRequest } from './job-thread.js';
import { AdvisoryDbFile } from './scan-db-file.js';

if (parentPort === null) throw new Error('job-thread-main runs in a worker thread');
const parent = parentPort;

// The advisory DB stays open between tasks (and is reopened when its file is replaced).
const dbFiles = new Map<string, AdvisoryDbFile>();
const state: TaskState = {
  advisoryDb(path) {
    let f = dbFiles.get(path);
    if (f === undefined) dbFiles.set(path, (f = new AdvisoryDbFile(path)));
    return f;
  },
};

parent.on('message', (message: ThreadRequest) => {
  const source = message.port === undefined ? undefined : portContentSource(message.port);
  runTask(message.task, source, state)
    .then(
      (outcome) => parent.postMessage({ ok: true, outcome } satisfies ThreadReply, transferList(outcome)),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        parent.postMessage({ ok: false, error: { message: e.message, name: e.name } } satisfies ThreadReply);
      },
    )
    .finally(() => void source?.close());
});
