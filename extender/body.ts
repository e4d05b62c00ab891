// Request bodies for the extender's verbs, read under two bounds: a per-request cap (413 before a
// byte is buffered when Content-Length says so) and a process-wide byte budget that concurrent
// requests share. A request waits — its socket unread, so TCP pushes back on the sender — until the
// budget has room, which keeps memory bounded however many maximum-size requests arrive at once.
import type { IncomingMessage } from 'node:http';

export class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/** FIFO byte semaphore. A single request larger than the budget still runs, alone. */
export class ByteBudget {
  private inUse = 0;
  private readonly waiting: { n: number; go: () => void }[] = [];
  constructor(readonly capacity: number) {}

  async acquire(n: number): Promise<() => void> {
    if (this.waiting.length > 0 || (this.inUse > 0 && this.inUse + n > this.capacity)) {
      await new Promise<void>((go) => this.waiting.push({ n, go }));
    } else this.inUse += n;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse -= n;
      this.pump();
    };
  }

  private pump(): void {
    while (this.waiting.length > 0) {
      const next = this.waiting[0]!;
      if (this.inUse > 0 && this.inUse + next.n > this.capacity) return;
      this.waiting.shift();
      this.inUse += next.n;
      next.go();
    }
  }

  get used(): number { return this.inUse; }
}

/**
 * Reads the body into one Buffer (pre-sized from Content-Length, so no concatenation copies).
 * Rejects with HttpError 413 past `limit` and 400 when the body is shorter than announced.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  const length = declared !== undefined ? Number(declared) : undefined;
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) return Promise.reject(new HttpError(400, `bad Content-Length "${declared}"`));
  if (length !== undefined && length > limit) {
    req.resume(); // drain without keeping it
    return Promise.reject(new HttpError(413, `request body too large: ${length} bytes, limit is ${limit} bytes`));
  }
  return new Promise<Buffer>((resolve, reject) => {
    let buf = length !== undefined ? Buffer.allocUnsafe(length) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (e: HttpError) => { if (!done) { done = true; req.resume(); reject(e); } };
    req.on('data', (c: Buffer) => {
      if (done) return;
      if (size + c.length > (length ?? limit)) {
        fail(length !== undefined ? new HttpError(400, `request body longer than its Content-Length (${length})`) : new HttpError(413, `request body too large: limit is ${limit} bytes`));
        return;
      }
      if (buf) c.copy(buf, size); else chunks.push(c);
      size += c.length;
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      if (length !== undefined && size !== length) { reject(new HttpError(400, `request body shorter than its Content-Length (${size} of ${length})`)); return; }
      resolve(buf ?? Buffer.concat(chunks, size));
      buf = undefined;
    });
    req.on('error', () => fail(new HttpError(400, 'request aborted')));
  });
}
