import { hasErrorCode } from '@crdr/errors';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RecordingSession } from './registries.test-helper.js';
import { TransactionRegistry } from './transaction-registry.js';

describe('TransactionRegistry', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('begins on the session it is given, with an unguessable id', async () => {
    const registry = new TransactionRegistry();
    const session = new RecordingSession();
    const seen: string[] = [];
    const id = await registry.begin((txId) => {
      seen.push(txId);
      return session;
    });
    expect(id).toMatch(/^tx-[A-Za-z0-9_-]{22}$/);
    expect(seen).toEqual([id]);
    expect(session.calls).toEqual([`begin ${id}`]);
    expect(await registry.begin(() => new RecordingSession())).not.toBe(id);
  });

  it("routes its owner's calls to its session, and hides it from others", async () => {
    const registry = new TransactionRegistry();
    const session = new RecordingSession('alice');
    const id = await registry.begin(() => session);
    await registry.use(id, 'alice', (s) => s.ack('a1', id));
    expect(session.calls).toContain(`ack a1 ${id}`);

    const other = registry.use(id, 'mallory', async () => 'never');
    await expect(other).rejects.toSatisfy((e) => hasErrorCode(e, 'NotFound'));
    await expect(registry.use('tx-unknown', 'alice', async () => 1)).rejects.toSatisfy((e) =>
      hasErrorCode(e, 'NotFound'),
    );
  });

  it('ends with commit or abort and closes the session, even when that fails', async () => {
    const registry = new TransactionRegistry();
    const session = new RecordingSession();
    const id = await registry.begin(() => session);
    await registry.end(id, 'alice', (s) => s.commit(id));
    expect(session.calls).toContain(`commit ${id}`);
    expect(session.closed).toBe(true);
    expect(registry.size).toBe(0);
    await expect(registry.end(id, 'alice', (s) => s.commit(id))).rejects.toSatisfy((e) =>
      hasErrorCode(e, 'NotFound'),
    );

    const failing = new RecordingSession();
    const id2 = await registry.begin(() => failing);
    await expect(
      registry.end(id2, 'alice', async () => {
        throw new Error('commit failed');
      }),
    ).rejects.toThrow('commit failed');
    expect(failing.closed).toBe(true);
    expect(registry.size).toBe(0);
  });

  it('aborts a transaction idle for the timeout, counted from its last use', async () => {
    const registry = new TransactionRegistry({ idleTimeoutMs: 1_000 });
    const session = new RecordingSession();
    const id = await registry.begin(() => session);
    await vi.advanceTimersByTimeAsync(800);
    await registry.use(id, 'alice', (s) =>
      s.send({
        destination: '/queue/q',
        headers: {},
        body: Buffer.alloc(0),
        persistent: false,
        priority: 4,
      }),
    );
    await vi.advanceTimersByTimeAsync(800);
    expect(registry.size).toBe(1);
    await vi.advanceTimersByTimeAsync(300);
    expect(session.calls).toContain(`abort ${id}`);
    expect(session.closed).toBe(true);
    expect(registry.size).toBe(0);
  });

  it('does not abort a transaction while a call runs in it', async () => {
    const registry = new TransactionRegistry({ idleTimeoutMs: 100 });
    const session = new RecordingSession();
    const id = await registry.begin(() => session);
    let release = (): void => {};
    const running = registry.use(id, 'alice', () => new Promise<void>((r) => (release = r)));
    await vi.advanceTimersByTimeAsync(500);
    expect(session.calls).not.toContain(`abort ${id}`);
    release();
    await running;
    await vi.advanceTimersByTimeAsync(150);
    expect(session.calls).toContain(`abort ${id}`);
  });

  it('reports a failed abort and closes the session anyway', async () => {
    const errors: unknown[] = [];
    const registry = new TransactionRegistry({ onError: (e) => errors.push(e) });
    const session = new RecordingSession();
    session.failAbort = true;
    const id = await registry.begin(() => session);
    await registry.discard(id);
    expect(errors).toHaveLength(1);
    expect(session.closed).toBe(true);
  });

  it('closeAll aborts every open transaction', async () => {
    const registry = new TransactionRegistry();
    const sessions = [new RecordingSession(), new RecordingSession()];
    for (const s of sessions) await registry.begin(() => s);
    await registry.closeAll();
    expect(sessions.every((s) => s.closed)).toBe(true);
    expect(registry.size).toBe(0);
  });
});
