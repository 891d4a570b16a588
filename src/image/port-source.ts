/**
 * A ContentSource across a MessagePort: a worker thread reads an image that only the main thread
 * may open. The main thread serves its source (`serveContentSource`); the worker gets a source
 * that asks for manifests, layer availability and blob chunks (`portContentSource`). Blobs are
 * pulled a chunk at a time, each copied into a buffer of its own that is transferred, not cloned:
 * memory stays flat however large the layer, and no chunk is shared between the threads.
 */
import type { MessagePort } from 'node:worker_threads';
import type { BlobDescriptor, ContentSource, FetchedManifest } from './image.js';

type Operation =
  | { readonly op: 'manifest'; readonly reference: string }
  | { readonly op: 'absent'; readonly descriptor: BlobDescriptor }
  | { readonly op: 'open'; readonly descriptor: BlobDescriptor }
  | { readonly op: 'read'; readonly stream: number }
  | { readonly op: 'close'; readonly stream: number };
type Request = Operation & { readonly id: number };

type Reply = { readonly id: number; readonly value: unknown } | { readonly id: number; readonly error: { readonly message: string; readonly code?: string } };

/** What `read` answers: a chunk, or null at the end of the blob. */
type Chunk = Uint8Array | null;

/**
 * Answers a worker's requests from `source` until the returned function is called (which also
 * ends the blob streams still open). The port is the main thread's end of a channel.
 */
export function serveContentSource(port: MessagePort, source: ContentSource): () => void {
  const streams = new Map<number, AsyncIterator<Uint8Array>>();
  let nextStream = 1;
  let stopped = false;
  const answer = async (r: Request): Promise<{ value: unknown; transfer?: ArrayBuffer[] }> => {
    switch (r.op) {
      case 'manifest':
        return { value: await source.manifest(r.reference) };
      case 'absent':
        return { value: (await source.absent?.(r.descriptor)) ?? null };
      case 'open': {
        const id = nextStream++;
        const it = (await source.blob(r.descriptor))[Symbol.asyncIterator]();
        // Opened while the task was being stopped: nobody will read or close it.
        if (stopped) {
          await it.return?.();
          throw new Error('the content source was closed');
        }
        streams.set(id, it);
        return { value: id };
      }
      case 'read': {
        const it = streams.get(r.stream);
        if (it === undefined) throw new Error(`blob stream ${r.stream} is not open`);
        const next = await it.next();
        if (next.done === true) {
          streams.delete(r.stream);
          return { value: null };
        }
        // A copy of its own: the source may reuse its buffer, and a transfer detaches what it moves.
        const copy = new Uint8Array(next.value.byteLength);
        copy.set(next.value);
        return { value: copy, transfer: [copy.buffer] };
      }
      case 'close': {
        const it = streams.get(r.stream);
        streams.delete(r.stream);
        await it?.return?.();
        return { value: null };
      }
    }
  };
  const onMessage = (r: Request): void => {
    answer(r).then(
      ({ value, transfer }) => port.postMessage({ id: r.id, value } satisfies Reply, transfer ?? []),
      (err: unknown) => port.postMessage({ id: r.id, error: errorOf(err) } satisfies Reply),
    );
  };
  port.on('message', onMessage);
  return () => {
    stopped = true;
    port.off('message', onMessage);
    for (const it of streams.values()) void it.return?.()?.catch(() => undefined);
    streams.clear();
  };
}

function errorOf(err: unknown): { message: string; code?: string } {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? { message, code } : { message };
}

/** The worker's end: a ContentSource whose every call is a request over `port`. Closing it closes the port. */
export function portContentSource(port: MessagePort): ContentSource {
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  port.on('message', (reply: Reply) => {
    const p = pending.get(reply.id);
    if (p === undefined) return;
    pending.delete(reply.id);
    if ('error' in reply) p.reject(Object.assign(new Error(reply.error.message), reply.error.code !== undefined ? { code: reply.error.code } : {}));
    else p.resolve(reply.value);
  });
  const request = <T>(r: Operation): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      port.postMessage({ ...r, id });
    });
  return {
    manifest: (reference) => request<FetchedManifest>({ op: 'manifest', reference }),
    absent: async (descriptor) => (await request<string | null>({ op: 'absent', descriptor: plain(descriptor) })) ?? undefined,
    blob: async (descriptor) => {
      const stream = await request<number>({ op: 'open', descriptor: plain(descriptor) });
      return {
        [Symbol.asyncIterator]: (): AsyncIterator<Uint8Array> => {
          let done = false;
          return {
            next: async () => {
              if (done) return { done: true, value: undefined };
              const chunk = await request<Chunk>({ op: 'read', stream });
              if (chunk === null) {
                done = true;
                return { done: true, value: undefined };
              }
              return { done: false, value: chunk };
            },
            return: async () => {
              if (!done) {
                done = true;
                await request({ op: 'close', stream });
              }
              return { done: true, value: undefined };
            },
          };
        },
      };
    },
    close: () => {
      port.close();
      for (const p of pending.values()) p.reject(new Error('the content source was closed'));
      pending.clear();
      return Promise.resolve();
    },
  };
}

/** The fields a source reads of a descriptor, as plain data (a descriptor may carry more). */
function plain(d: BlobDescriptor): BlobDescriptor {
  return { digest: d.digest, ...(d.size !== undefined ? { size: d.size } : {}), ...(d.mediaType !== undefined ? { mediaType: d.mediaType } : {}), ...(d.urls !== undefined ? { urls: [...d.urls] } : {}) };
}
