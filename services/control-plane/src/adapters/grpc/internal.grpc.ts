import { badRequest } from '@crdr/errors';
import { unaryHandler, type controlPlaneV1, type HandlerOptions } from '@crdr/proto';
import type { BrokerRepository } from '../pg/broker.repository.js';
import type { StaticProvisioner } from '../provisioning/static-provisioner.js';

export interface InternalServiceOptions {
  readonly repository: BrokerRepository;
  readonly region: string;
  /** Set with CONTROL_PLANE_PROVISIONER=static. */
  readonly staticProvisioner: StaticProvisioner | undefined;
  readonly handlerOptions?: HandlerOptions;
}

/** ControlPlaneInternalService: scrape targets for metrics and the console; static registration. */
export function createInternalServiceHandlers(
  options: InternalServiceOptions,
): controlPlaneV1.ControlPlaneInternalServiceHandlers {
  const h = options.handlerOptions ?? {};
  return {
    ListTargets: unaryHandler(async () => {
      const brokers = (await options.repository.list()).filter(
        (b) => b.exists && b.state !== 'DELETED',
      );
      return {
        targets: brokers.map((b) => ({
          brokerId: b.brokerId,
          brokerName: b.spec.brokerName,
          region: options.region,
          dataReplicationRole: b.role ?? '',
          ...(b.counterpart === undefined ? {} : { counterpart: b.counterpart }),
          brokerGrpcEndpoints: b.instances.map((i) => i.grpc),
          replicatorGrpcEndpoint: b.replicatorGrpc ?? '',
          adminUsername: b.adminUser.username,
          adminPassword: b.adminUser.password,
          brokerState: b.state,
        })),
      };
    }, h),
    RegisterBrokerInstance: unaryHandler((request) => {
      if (options.staticProvisioner === undefined) {
        return Promise.reject(
          badRequest(
            'RegisterBrokerInstance needs CONTROL_PLANE_PROVISIONER=static (this control plane starts its brokers itself)',
            { details: { field: 'broker_id' } },
          ),
        );
      }
      for (const field of ['instanceId', 'stomp', 'ws', 'grpc'] as const) {
        if (request[field] === '') {
          return Promise.reject(
            badRequest(`invalid ${field}: it is required`, { details: { field } }),
          );
        }
      }
      options.staticProvisioner.register(request.brokerId, {
        instanceId: request.instanceId,
        stomp: request.stomp,
        ws: request.ws,
        grpc: request.grpc,
      });
      return Promise.resolve({});
    }, h),
  };
}
