import { badRequest } from '@crdr/errors';
import {
  parseBasicAuth,
  unaryHandler,
  type controlPlaneV1,
  type HandlerOptions,
} from '@crdr/proto';
import type { ControlPlaneConfig } from '../../config.js';
import { adminAddress } from '../../domain/broker.types.js';
import { registerStaticInstance } from '../../operations/static-registration.js';
import type { BrokerRepository } from '../pg/broker.repository.js';
import type { StaticProvisioner } from '../provisioning/static-provisioner.js';

export interface InternalServiceOptions {
  readonly repository: BrokerRepository;
  readonly region: string;
  readonly config: Readonly<ControlPlaneConfig>;
  /** Set with CONTROL_PLANE_PROVISIONER=static. */
  readonly staticProvisioner: StaticProvisioner | undefined;
  /** How the counterpart's Region sees the pair of a broker of this Region (through the peer). */
  readonly counterpartHealth: (brokerId: string) => Promise<controlPlaneV1.PairHealth>;
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
          brokerGrpcEndpoints: b.instances.map(adminAddress),
          replicatorGrpcEndpoint: b.replicatorGrpc ?? '',
          adminUsername: b.adminUser.username,
          adminPassword: b.adminUser.password,
          brokerState: b.state,
          replicationStatus: b.replicationStatus ?? '',
        })),
      };
    }, h),
    GetCounterpartHealth: unaryHandler((request) => options.counterpartHealth(request.brokerId), h),
    RegisterBrokerInstance: unaryHandler(async (request, call) => {
      const staticProvisioner = options.staticProvisioner;
      if (staticProvisioner === undefined) {
        throw badRequest(
          'RegisterBrokerInstance needs CONTROL_PLANE_PROVISIONER=static (this control plane starts its brokers itself)',
          { details: { field: 'broker_id' } },
        );
      }
      await registerStaticInstance(
        { config: options.config, repository: options.repository, provisioner: staticProvisioner },
        parseBasicAuth(call.metadata),
        request,
      );
      return {};
    }, h),
  };
}
