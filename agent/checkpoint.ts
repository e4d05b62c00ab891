// What the agent set up for each attachment (container ID + interface), kept in a file so DEL and GC
// still know the address and links after the agent restarts or the runtime forgot the ADD result.
// Writes are atomic (temp file + rename).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface CheckpointEntry {
  containerID: string;
  ifname: string;
  namespace: string;
  name: string;
  uid?: string;
  netns: string;
  ip: string;
  hostVeth: string;
  vlanLink?: string;
}

export const attachmentKey = (containerID: string, ifname: string) => `${containerID}/${ifname}`;

export class Checkpoint {
  private readonly entries = new Map<string, CheckpointEntry>();

  constructor(private readonly file: string | undefined) {
    if (!file) return;
    try {
      const data = JSON.parse(readFileSync(file, 'utf8')) as { attachments?: CheckpointEntry[] };
      for (const e of data.attachments ?? []) this.entries.set(attachmentKey(e.containerID, e.ifname), e);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`checkpoint ${file} is unreadable: ${(err as Error).message}`);
    }
  }

  get(containerID: string, ifname: string): CheckpointEntry | undefined { return this.entries.get(attachmentKey(containerID, ifname)); }
  all(): CheckpointEntry[] { return [...this.entries.values()]; }

  put(e: CheckpointEntry): void { this.entries.set(attachmentKey(e.containerID, e.ifname), e); this.flush(); }
  remove(containerID: string, ifname: string): void { if (this.entries.delete(attachmentKey(containerID, ifname))) this.flush(); }

  private flush(): void {
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ attachments: this.all() }));
    renameSync(tmp, this.file);
  }
}
