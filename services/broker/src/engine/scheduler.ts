import type { Database, Kysely } from '@crdr/store';
import { formatDestination, parseDestinations } from '../domain/destination.js';
import type { ScheduledRow } from '../adapters/pg/store-writer.js';
import type { SendRequest } from './engine.types.js';
import type { EngineCore } from './engine-core.js';
import type { PreparedPublish } from './message-flow.js';

export interface SchedulerOptions {
  readonly db: Kysely<Database>;
  readonly core: () => EngineCore;
  readonly now: () => number;
  /** How often the table is checked even when no timer is due. */
  readonly pollMs: number;
  readonly batchSize: number;
}

/**
 * Scheduled (delayed) delivery. Such messages are held apart in `scheduled_messages` until due,
 * because they are not replicated before then; when due they are published like a new send,
 * moved out of the table in the same transaction.
 */
export class Scheduler {
  readonly #options: SchedulerOptions;
  #timer: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #nextDueMs = Number.POSITIVE_INFINITY;
  #running = false;
  #again = false;
  #stopped = true;

  constructor(options: SchedulerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#stopped = false;
    this.#poll = setInterval(() => this.#fire(), this.#options.pollMs);
    this.#poll.unref();
    this.#fire();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#poll !== undefined) clearInterval(this.#poll);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextDueMs = Number.POSITIVE_INFINITY;
  }

  async schedule(request: SendRequest, messageId: string): Promise<void> {
    const now = this.#options.now();
    const deliverAtMs = now + (request.scheduledDelayMs ?? 0);
    const row: ScheduledRow = {
      messageId,
      destination: request.destination,
      priority: request.priority,
      persistent: request.persistent,
      headers: request.headers,
      body: request.body,
      expiresAtMs: request.expiresAtMs ?? 0,
      deliverAtMs,
      createdAtMs: now,
    };
    // Not replicated until it falls due; then it is published like a new send.
    await this.#options.core().writer!.write({
      scheduledInserts: [row],
      onCommitted: () => this.#arm(deliverAtMs),
      kind: 'none',
    });
  }

  #arm(dueMs: number): void {
    if (this.#stopped || dueMs >= this.#nextDueMs) return;
    this.#nextDueMs = dueMs;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#nextDueMs = Number.POSITIVE_INFINITY;
        this.#fire();
      },
      Math.max(0, dueMs - this.#options.now()),
    );
    this.#timer.unref();
  }

  #fire(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    this.#deliverDue()
      .catch((error: unknown) => this.#options.core().onError(error, 'scheduled delivery'))
      .finally(() => {
        this.#running = false;
        if (this.#again) {
          this.#again = false;
          this.#fire();
        }
      });
  }

  async #deliverDue(): Promise<void> {
    const { db, batchSize } = this.#options;
    for (;;) {
      if (this.#stopped) return;
      const core = this.#options.core();
      if (!core.serving) return;
      const now = this.#options.now();
      const due = await db
        .selectFrom('scheduled_messages')
        .selectAll()
        .where('deliver_at_ms', '<=', BigInt(now))
        .orderBy('deliver_at_ms')
        .orderBy('id')
        .limit(batchSize)
        .execute();
      if (due.length > 0) {
        const prepared: PreparedPublish[] = [];
        for (const row of due) {
          const names = parseDestinations(row.destination);
          for (const name of names) {
            const destination = await core.registry.ensure(name.kind, name.name, name.temporary);
            prepared.push(
              core.flow.prepare(destination, {
                messageId: row.message_id,
                destination: names.length === 1 ? row.destination : formatDestination(name),
                headers: row.headers,
                body: row.body,
                priority: row.priority,
                persistent: row.persistent,
                expiresAtMs: row.expires_at_ms === null ? 0 : Number(row.expires_at_ms),
                timestampMs: now,
              }),
            );
          }
        }
        await core.writer!.write({
          inserts: prepared.flatMap((p) => p.rows),
          scheduledDeletes: due.map((r) => r.id),
          onCommitted: () => {
            for (const p of prepared) p.apply();
          },
        });
      }
      if (due.length < batchSize) break;
    }
    const next = await db
      .selectFrom('scheduled_messages')
      .select((eb) => eb.fn.min('deliver_at_ms').as('due'))
      .executeTakeFirst();
    if (next?.due !== null && next?.due !== undefined) this.#arm(Number(next.due));
  }
}
