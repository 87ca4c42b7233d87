import { isCrdrError, toCrdrError, unavailable } from '@crdr/errors';
import { createClient, loadProto, type brokerV1 } from '@crdr/proto';
import type { BrokerAdminClient } from '../adapters/broker/broker-admin.client.js';
import {
  adminAddress,
  type BrokerAggregate,
  type BrokerInstanceEndpoints,
} from '../domain/broker.types.js';

/**
 * Broker calls of the promotion sagas. Unlike the lifecycle's admin helper, these do not wait
 * for a serving instance: a demoting, held or fenced broker serves nobody and must still take
 * its SetRole. Each call has a short deadline so that a dead broker fails the step fast.
 */

export const promotionCallDeadlineMs = 5_000;

function adminClient(
  instance: BrokerInstanceEndpoints,
  broker: BrokerAggregate,
  deadlineMs: number,
): BrokerAdminClient {
  return createClient(loadProto().crdr.broker.v1.BrokerAdminService, adminAddress(instance), {
    credentials: broker.adminUser,
    deadlineMs,
  });
}

/** `fn` on every instance that answers (in parallel); their results, or the first error. */
export async function onAnsweringInstances<T>(
  broker: BrokerAggregate,
  fn: (admin: BrokerAdminClient) => Promise<T>,
  deadlineMs = promotionCallDeadlineMs,
): Promise<T[]> {
  if (broker.instances.length === 0) {
    throw unavailable(`broker ${broker.brokerId} has no running instance`);
  }
  const outcomes = await Promise.all(
    broker.instances.map(async (instance) => {
      const admin = adminClient(instance, broker, deadlineMs);
      try {
        return { ok: true as const, value: await fn(admin) };
      } catch (error) {
        return { ok: false as const, error };
      } finally {
        admin.close();
      }
    }),
  );
  const values = outcomes.flatMap((o) => (o.ok ? [o.value] : []));
  if (values.length > 0) return values;
  // A refusal (Conflict, FailedPrecondition...) says more than an unreachable standby.
  const errors = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
  const refusal = errors.find(
    (e) => isCrdrError(e) && e.code !== 'Unavailable' && e.code !== 'DeadlineExceeded',
  );
  throw toCrdrError(refusal ?? errors[0]);
}

/** The first answer of any instance (a read: the store is shared). */
export async function onAnyInstance<T>(
  broker: BrokerAggregate,
  fn: (admin: BrokerAdminClient) => Promise<T>,
  deadlineMs = promotionCallDeadlineMs,
): Promise<T> {
  let lastError: unknown;
  for (const instance of broker.instances) {
    const admin = adminClient(instance, broker, deadlineMs);
    try {
      return await fn(admin);
    } catch (error) {
      lastError = error;
    } finally {
      admin.close();
    }
  }
  throw toCrdrError(lastError ?? unavailable(`broker ${broker.brokerId} has no running instance`));
}

/** The instance that serves clients (a primary's lease holder). */
async function servingInstance(broker: BrokerAggregate): Promise<BrokerInstanceEndpoints> {
  const serving = await Promise.all(
    broker.instances.map(async (instance) => {
      const admin = adminClient(instance, broker, 2_000);
      try {
        return (await admin.getStats({})).serving ? instance : undefined;
      } catch {
        return undefined;
      } finally {
        admin.close();
      }
    }),
  );
  const instance = serving.find((i) => i !== undefined);
  if (instance === undefined) {
    throw unavailable(`no instance of broker ${broker.brokerId} serves clients`);
  }
  return instance;
}

export async function onServingInstance<T>(
  broker: BrokerAggregate,
  fn: (admin: BrokerAdminClient) => Promise<T>,
  deadlineMs = promotionCallDeadlineMs,
): Promise<T> {
  const admin = adminClient(await servingInstance(broker), broker, deadlineMs);
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}

/** SetRole on every answering instance; the role as the broker reports it afterwards. */
export async function setRoleEverywhere(
  broker: BrokerAggregate,
  request: brokerV1.SetRoleRequest,
  deadlineMs = promotionCallDeadlineMs,
): Promise<brokerV1.GetRoleResponse__Output> {
  const states = await onAnsweringInstances(
    broker,
    async (admin) => (await admin.setRole(request)).state,
    deadlineMs,
  );
  const state = states.find((s) => s !== null && s !== undefined);
  if (state === undefined || state === null) throw unavailable('SetRole returned no role');
  return state;
}

/** A client of the broker's client API (BrokerService) on its serving instance. */
export async function brokerServiceClient(broker: BrokerAggregate) {
  const instance = await servingInstance(broker);
  return createClient(loadProto().crdr.broker.v1.BrokerService, instance.grpc, {
    credentials: broker.adminUser,
    deadlineMs: 15_000,
  });
}

/** Whether an error is worth the same call again (a timeout, an unreachable peer or broker). */
export function isRetryable(error: unknown): boolean {
  if (!isCrdrError(error)) return true;
  return ['Unavailable', 'DeadlineExceeded', 'Aborted', 'Internal', 'ResourceExhausted'].includes(
    error.code,
  );
}
