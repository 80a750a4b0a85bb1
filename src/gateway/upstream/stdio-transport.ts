import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { SpawnPlan } from '../../sandbox/sandbox.ts';

const GRACE_MS = 2000;

/**
 * The client side of a stdio connector. Unlike the SDK's transport, the child is spawned without a shell as the
 * leader of its own process group (`detached`), and closing it ends the whole group: a server's own children go
 * with it. Under bwrap the group leader is bwrap, whose PID namespace takes every process inside down with it.
 */
export class SupervisedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly stderr = new PassThrough();
  readonly plan: SpawnPlan;
  #child: ChildProcessWithoutNullStreams | undefined;
  #exited: Promise<void> | undefined;
  readonly #buffer = new ReadBuffer();

  constructor(plan: SpawnPlan) {
    this.plan = plan;
  }

  /** The process id of the group leader (bwrap when sandboxed), while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): Promise<void> {
    if (this.#child !== undefined) throw new Error('stdio transport already started');
    return new Promise((resolve, reject) => {
      const child = spawn(this.plan.file, this.plan.args, {
        env: this.plan.env,
        cwd: this.plan.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        detached: true,
        windowsHide: true,
      });
      this.#child = child;
      this.#exited = new Promise((done) => {
        child.once('close', () => {
          done();
        });
      });
      child.once('error', (err) => {
        reject(err);
        this.onerror?.(err);
      });
      child.once('spawn', () => {
        resolve();
      });
      child.once('close', () => {
        // Whatever the leader left behind in its group goes too (a server's background children).
        killGroup(child, 'SIGKILL');
        if (this.#child === child) this.#child = undefined;
        this.onclose?.();
      });
      child.stdin.on('error', (err) => this.onerror?.(err));
      child.stdout.on('error', (err) => this.onerror?.(err));
      child.stdout.on('data', (chunk: Buffer) => {
        try {
          this.#buffer.append(chunk);
        } catch (err) {
          this.onerror?.(err as Error);
          void this.close();
          return;
        }
        this.#drain();
      });
      child.stderr.pipe(this.stderr);
    });
  }

  #drain(): void {
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.#buffer.readMessage();
      } catch (err) {
        this.onerror?.(err as Error);
        continue;
      }
      if (message === null) return;
      this.onmessage?.(message);
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.#child?.stdin;
    if (stdin === undefined) return Promise.reject(new Error('Not connected'));
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  /** Ends stdin, then SIGTERM to the group, then SIGKILL; resolves when the leader is gone. */
  async close(): Promise<void> {
    const child = this.#child;
    const exited = this.#exited;
    this.#buffer.clear();
    if (child === undefined || exited === undefined) return;
    const gone = () => child.exitCode !== null || child.signalCode !== null;
    const wait = (ms: number) => Promise.race([exited, new Promise<void>((r) => setTimeout(r, ms).unref())]);
    child.stdin.end();
    await wait(GRACE_MS);
    if (!gone()) {
      killGroup(child, 'SIGTERM');
      await wait(GRACE_MS);
    }
    if (!gone()) killGroup(child, 'SIGKILL');
    await exited;
  }
}

function killGroup(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already empty.
  }
}
