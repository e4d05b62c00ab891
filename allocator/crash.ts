// Crash injection, in one place. Every EC2 mutation and ENIPool write of the allocator first runs a
// step hook (`runStep`). Whatever the hook throws is marked as a crash, and every layer between the
// hook and the top of the reconcile re-throws marked errors untouched — no compensation, no
// "operation failed" accounting — so a test sees exactly what a process dying at that step leaves.
// The same hook fences a replica that lost its lease: nothing after that point runs.

export type StepHook = (step: string, detail: Record<string, string | number>) => void | Promise<void>;

/** Thrown when this replica may no longer act (lease lost, stopped): nothing after it runs. */
export class FencedError extends Error {
  constructor(step: string) { super(`allocator is not the leader any more; stopped before ${step}`); this.name = 'FencedError'; }
}

const CRASH = Symbol('eni-ipam.crash');

/** Runs the hook for one step; an error it throws is marked as a crash and re-thrown. */
export async function runStep(hook: StepHook | undefined, name: string, detail: Record<string, string | number>): Promise<void> {
  if (!hook) return;
  try {
    await hook(name, detail);
  } catch (e) {
    if (e !== null && typeof e === 'object' && !Object.isFrozen(e)) Object.defineProperty(e, CRASH, { value: true });
    throw e;
  }
}

/** Whether an error came out of a step hook (a simulated crash). */
export function isCrash(e: unknown): boolean {
  return e !== null && typeof e === 'object' && (e as Record<symbol, unknown>)[CRASH] === true;
}

/** Errors that must end the reconcile as they are: fencing and crashes. */
export function mustStop(e: unknown): boolean {
  return e instanceof FencedError || isCrash(e);
}

/** The allocator's step hook: fenced when no longer alive, then the test hook. */
export function guardedStep(alive: () => boolean, hook: StepHook | undefined): StepHook {
  return async (name, detail) => {
    if (!alive()) throw new FencedError(name);
    await runStep(hook, name, detail);
  };
}
