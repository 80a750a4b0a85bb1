import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { EventStream, parseEventId, StreamTable } from './streams.ts';

/** Just enough of a ServerResponse to record what a stream writes. */
class FakeResponse extends EventEmitter {
  text = '';
  status = 0;
  writableEnded = false;
  writeHead(status: number): this {
    this.status = status;
    return this;
  }
  flushHeaders(): void {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  end(): void {
    this.writableEnded = true;
    this.emit('close');
  }
  drop(): void {
    this.emit('close');
  }
}

const res = () => new FakeResponse();
const asRes = (f: FakeResponse) => f as unknown as ServerResponse;
const ids = (text: string) => [...text.matchAll(/^id: (\S+)$/gm)].map((m) => m[1]);

test('every event carries a resumable id; a priming event comes first when asked for', () => {
  const s = new EventStream(7);
  const r = res();
  s.attach(asRes(r), {}, { priming: true });
  s.send({ n: 1 });
  s.send({ n: 2 });
  assert.deepEqual(ids(r.text), ['7-0', '7-1', '7-2']);
  assert.match(r.text, /^id: 7-0\nretry: \d+\ndata: \n\n/);
});

test('a client that lost the connection resumes after its last event and then gets the rest live', () => {
  const s = new EventStream(3);
  const first = res();
  s.attach(asRes(first), {});
  s.send({ n: 1 });
  first.drop();
  s.send({ n: 2 });
  s.send({ n: 3 });
  assert.equal(s.attached, false);
  const second = res();
  s.attach(asRes(second), {}, { afterSeq: 1 });
  s.send({ n: 4 });
  assert.deepEqual(ids(second.text), ['3-2', '3-3', '3-4']);
  s.finish();
  assert.equal(second.writableEnded, true);
});

test('resuming a finished stream replays what was missed and ends', () => {
  const s = new EventStream(1);
  s.attach(asRes(res()), {});
  s.send({ n: 1 });
  s.send({ result: true });
  s.finish();
  const late = res();
  s.attach(asRes(late), {}, { afterSeq: 1 });
  assert.deepEqual(ids(late.text), ['1-2']);
  assert.equal(late.writableEnded, true);
});

test('the replay buffer is bounded', () => {
  const s = new EventStream(1);
  for (let i = 0; i < 1000; i++) s.send({ i });
  const r = res();
  s.attach(asRes(r), {}, { afterSeq: 0 });
  assert.ok(ids(r.text).length <= 256);
  assert.equal(ids(r.text).at(-1), '1-1000');
});

test('a session keeps a bounded number of streams and forgets finished ones after the grace period', () => {
  const t = new StreamTable();
  const opened = Array.from({ length: 40 }, () => t.open());
  assert.equal(t.get(opened[0]?.no ?? -1), undefined, 'the oldest was dropped');
  assert.ok(t.get(opened[39]?.no ?? -1));
  opened[39]?.finish();
  t.prune(Date.now() + 61_000);
  assert.equal(t.get(opened[39]?.no ?? -1), undefined);
});

test('only our own event ids parse', () => {
  assert.deepEqual(parseEventId('12-34'), { stream: 12, seq: 34 });
  for (const bad of [undefined, '', 'abc', '1-', '-1', '1-2-3', '99999999999-1']) assert.equal(parseEventId(bad), undefined);
});
