import type { BrokerDescription, PromotionStepSeen } from './model.js';

const maxStepsKept = 50;

/**
 * Remembers the promotion steps the console has seen per broker, since DescribeBroker only
 * shows the step running now. Fed by every DescribeBroker the console makes (pages and SSE).
 */
export class PromotionTracker {
  readonly #steps = new Map<string, PromotionStepSeen[]>();
  readonly #running = new Set<string>();

  observe(broker: BrokerDescription, now: Date): void {
    const id = broker.brokerId;
    const promotion = broker.dataReplicationMetadata?.promotion;
    const steps = this.#steps.get(id) ?? [];
    if (promotion && promotion.step !== '') {
      if (!this.#running.has(id)) {
        // A new saga: forget the steps of an earlier one.
        steps.length = 0;
        this.#running.add(id);
      }
      const last = steps[steps.length - 1];
      if (!last || last.step !== promotion.step || last.mode !== promotion.mode) {
        steps.push({ mode: promotion.mode, step: promotion.step, seenAt: now.toISOString() });
        if (steps.length > maxStepsKept) steps.splice(0, steps.length - maxStepsKept);
      }
      this.#steps.set(id, steps);
    } else if (this.#running.has(id)) {
      this.#running.delete(id);
      const status = broker.dataReplicationMetadata?.replicationStatus || 'unknown';
      steps.push({
        mode: steps[steps.length - 1]?.mode ?? '',
        step: `ENDED (replication status ${status})`,
        seenAt: now.toISOString(),
      });
      this.#steps.set(id, steps);
    }
  }

  stepsOf(brokerId: string): readonly PromotionStepSeen[] {
    return this.#steps.get(brokerId) ?? [];
  }

  isRunning(brokerId: string): boolean {
    return this.#running.has(brokerId);
  }
}
