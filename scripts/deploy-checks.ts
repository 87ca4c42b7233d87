/**
 * Checks of the deployment files (docker-compose.yml, the Dockerfile, deploy/k8s), as pure
 * functions over parsed objects and texts: scripts/validate-deploy.ts does the I/O (rendering the
 * overlays with kustomize, `docker-compose config`) and test/deploy proves each check fails on a
 * broken input.
 *
 * Every Kubernetes object is validated against the Kubernetes JSON schemas (kubernetes-models:
 * ajv validators generated from the Kubernetes OpenAPI spec: types, required fields, enums);
 * on top of that come the rules this project holds its manifests to.
 */
import { Namespace, ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { parseAllDocuments } from 'yaml';

export interface Problem {
  /** The object or file at fault, e.g. `crdr-region-a/Deployment/broker-orders`. */
  readonly where: string;
  readonly message: string;
}

/** The services of the image: root package.json scripts of the form `tsx services/<name>/src/main.ts`. */
export const imageServices = ['broker', 'replicator', 'control-plane', 'metrics'] as const;
export type ImageService = (typeof imageServices)[number];

/** Secrets the manifests reference and an operator creates (deploy/k8s/README.md); never committed. */
export const externalSecrets = [
  'crdr-postgres',
  'crdr-nats',
  'crdr-peer-nats',
  'crdr-nats-tls',
  'crdr-nats-client-tls',
  'crdr-broker-orders',
  'crdr-control-plane',
] as const;

/** The base's stand-in for the peer Region's namespace, which every overlay must replace. */
export const peerNamespacePlaceholder = 'peer-region-namespace';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function asObject(value: unknown): Json {
  return isObject(value) ? value : {};
}
function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}
function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
function asLabels(value: unknown): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, v] of Object.entries(asObject(value))) {
    if (typeof v === 'string') labels[key] = v;
  }
  return labels;
}
function labelsMatch(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((key) => labels[key] === selector[key]);
}

// --- parsing --------------------------------------------------------------------------------------

/** Every YAML document of a multi-document text, empty ones left out; a syntax error throws. */
export function parseYamlDocuments(text: string, source: string): unknown[] {
  const documents = parseAllDocuments(text);
  const result: unknown[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      throw new Error(`${source}: ${document.errors.map((e) => e.message).join('; ')}`);
    }
    const value: unknown = document.toJS();
    if (value !== null && value !== undefined) result.push(value);
  }
  return result;
}

/**
 * The entry file of each image service, from the root package.json scripts. A service whose
 * script is missing or is not `tsx <entry>` is a problem: the image runs exactly these.
 */
export function serviceEntries(scripts: Readonly<Record<string, string>>): {
  readonly entries: ReadonlyMap<ImageService, string>;
  readonly problems: Problem[];
} {
  const entries = new Map<ImageService, string>();
  const problems: Problem[] = [];
  for (const service of imageServices) {
    const script = scripts[service];
    const match =
      script === undefined ? null : /^tsx (services\/[a-z-]+\/src\/main\.ts)$/.exec(script);
    if (match === null) {
      problems.push({
        where: 'package.json',
        message: `script "${service}" must be "tsx services/<name>/src/main.ts" (is ${JSON.stringify(script)})`,
      });
    } else {
      entries.set(service, match[1]!);
    }
  }
  return { entries, problems };
}

// --- Kubernetes ----------------------------------------------------------------------------------

interface SchemaModel {
  validate(): void;
}
type ModelConstructor = new (data: never) => SchemaModel;

/** The kinds the manifests may use, each with its schema. Any other kind is an error. */
const models: ReadonlyMap<string, ModelConstructor> = new Map<string, ModelConstructor>([
  ['v1/Namespace', Namespace],
  ['v1/ConfigMap', ConfigMap],
  ['v1/Secret', Secret],
  ['v1/Service', Service],
  ['v1/ServiceAccount', ServiceAccount],
  ['apps/v1/Deployment', Deployment],
  ['apps/v1/StatefulSet', StatefulSet],
  ['networking.k8s.io/v1/NetworkPolicy', NetworkPolicy],
  ['policy/v1/PodDisruptionBudget', PodDisruptionBudget],
]);

interface SchemaError {
  readonly instancePath?: string;
  readonly message?: string;
  readonly params?: unknown;
}

function describeSchemaError(error: unknown): string[] {
  const errors =
    isObject(error) && Array.isArray(error['errors']) ? (error['errors'] as SchemaError[]) : [];
  if (errors.length === 0) return [error instanceof Error ? error.message : String(error)];
  return errors.map((e) => {
    const params = isObject(e.params) ? ` ${JSON.stringify(e.params)}` : '';
    return `schema: ${e.instancePath === '' || e.instancePath === undefined ? '/' : e.instancePath} ${e.message ?? 'is invalid'}${params}`;
  });
}

/** `namespace/Kind/name`: how problems name an object. */
export function objectRef(object: unknown): string {
  const o = asObject(object);
  const metadata = asObject(o['metadata']);
  const namespace = asString(metadata['namespace']);
  return `${namespace === undefined ? '' : `${namespace}/`}${asString(o['kind']) ?? '?'}/${asString(metadata['name']) ?? '?'}`;
}

/** Validates one object against the Kubernetes schema of its apiVersion and kind. */
export function validateAgainstSchema(object: unknown): string[] {
  if (!isObject(object)) return ['is not an object'];
  const apiVersion = asString(object['apiVersion']);
  const kind = asString(object['kind']);
  if (apiVersion === undefined || kind === undefined) return ['has no apiVersion or kind'];
  const Model = models.get(`${apiVersion}/${kind}`);
  if (Model === undefined) {
    return [
      `no Kubernetes schema for apiVersion ${apiVersion} kind ${kind} (known: ${[...models.keys()].join(', ')})`,
    ];
  }
  try {
    new Model(object as never).validate();
    return [];
  } catch (error) {
    return describeSchemaError(error);
  }
}

interface Workload {
  readonly ref: string;
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
  readonly replicas: number;
  readonly podLabels: Record<string, string>;
  readonly podSpec: Json;
  readonly containers: Json[];
}

function workloadsOf(objects: readonly unknown[]): Workload[] {
  const workloads: Workload[] = [];
  for (const object of objects) {
    const o = asObject(object);
    if (o['kind'] !== 'Deployment' && o['kind'] !== 'StatefulSet') continue;
    const metadata = asObject(o['metadata']);
    const spec = asObject(o['spec']);
    const template = asObject(spec['template']);
    const podSpec = asObject(template['spec']);
    workloads.push({
      ref: objectRef(o),
      namespace: asString(metadata['namespace']) ?? '',
      kind: asString(o['kind']) ?? '',
      name: asString(metadata['name']) ?? '',
      replicas: typeof spec['replicas'] === 'number' ? spec['replicas'] : 1,
      podLabels: asLabels(asObject(template['metadata'])['labels']),
      podSpec,
      containers: asArray(podSpec['containers']).map(asObject),
    });
  }
  return workloads;
}

function isCrdrImage(image: string | undefined): boolean {
  return image !== undefined && /^([^/]+\/)*crdr(:[^/]+)?(@.+)?$/.test(image);
}

function checkContainers(workload: Workload, serviceNames: ReadonlySet<string>): Problem[] {
  const problems: Problem[] = [];
  const where = workload.ref;
  const podSecurity = asObject(workload.podSpec['securityContext']);
  if (podSecurity['runAsNonRoot'] !== true) {
    problems.push({ where, message: 'pod securityContext.runAsNonRoot must be true' });
  }
  // Static provisioning's supervision is the orchestrator's: a process that dies is restarted by
  // the kubelet (docs/architecture.md, "Supervision"). Said explicitly, so it is never lost.
  if (workload.podSpec['restartPolicy'] !== 'Always') {
    problems.push({ where, message: 'pod restartPolicy must be Always (the supervision)' });
  }
  for (const container of workload.containers) {
    const name = asString(container['name']) ?? '?';
    const at = `${where} container ${name}`;
    const resources = asObject(container['resources']);
    for (const bound of ['requests', 'limits'] as const) {
      const values = asObject(resources[bound]);
      for (const resource of ['cpu', 'memory']) {
        if (values[resource] === undefined) {
          problems.push({ where: at, message: `resources.${bound}.${resource} is missing` });
        }
      }
    }
    for (const probe of ['readinessProbe', 'livenessProbe'] as const) {
      if (!isObject(container[probe])) problems.push({ where: at, message: `${probe} is missing` });
    }
    if (asObject(container['securityContext'])['allowPrivilegeEscalation'] !== false) {
      problems.push({
        where: at,
        message: 'securityContext.allowPrivilegeEscalation must be false',
      });
    }
    if (!isCrdrImage(asString(container['image']))) continue;
    // A CRDR container runs one service of the image, named by the same script as locally.
    const args = asArray(container['args']);
    const service = asString(args[0]);
    if (container['command'] !== undefined) {
      problems.push({ where: at, message: 'must not override the image entry point (command)' });
    }
    if (service === undefined || !serviceNames.has(service)) {
      problems.push({
        where: at,
        message: `args[0] must name a service script of package.json (${[...serviceNames].join(', ')}), is ${JSON.stringify(service)}`,
      });
    }
    const readiness = asObject(container['readinessProbe']);
    if (!isObject(readiness['grpc'])) {
      problems.push({ where: at, message: 'readinessProbe must be a gRPC health probe (grpc:)' });
    } else {
      const port = asObject(readiness['grpc'])['port'];
      const ports = asArray(container['ports']).map((p) => asObject(p)['containerPort']);
      if (!ports.includes(port)) {
        problems.push({
          where: at,
          message: `readinessProbe.grpc.port ${String(port)} is not a containerPort`,
        });
      }
    }
  }
  return problems;
}

function namesOfKind(objects: readonly unknown[], kind: string): Set<string> {
  const names = new Set<string>();
  for (const object of objects) {
    const o = asObject(object);
    if (o['kind'] !== kind) continue;
    const metadata = asObject(o['metadata']);
    names.add(`${asString(metadata['namespace']) ?? ''}/${asString(metadata['name']) ?? ''}`);
  }
  return names;
}

/** Every ConfigMap and Secret a pod reads: env, envFrom and volumes. */
function referencesOf(workload: Workload): { configMaps: string[]; secrets: string[] } {
  const configMaps: string[] = [];
  const secrets: string[] = [];
  for (const container of workload.containers) {
    for (const source of asArray(container['envFrom']).map(asObject)) {
      const cm = asString(asObject(source['configMapRef'])['name']);
      const secret = asString(asObject(source['secretRef'])['name']);
      if (cm !== undefined) configMaps.push(cm);
      if (secret !== undefined) secrets.push(secret);
    }
    for (const variable of asArray(container['env']).map(asObject)) {
      const from = asObject(variable['valueFrom']);
      const cm = asString(asObject(from['configMapKeyRef'])['name']);
      const secret = asString(asObject(from['secretKeyRef'])['name']);
      if (cm !== undefined) configMaps.push(cm);
      if (secret !== undefined) secrets.push(secret);
    }
  }
  for (const volume of asArray(workload.podSpec['volumes']).map(asObject)) {
    const cm = asString(asObject(volume['configMap'])['name']);
    const secret = asString(asObject(volume['secret'])['secretName']);
    if (cm !== undefined) configMaps.push(cm);
    if (secret !== undefined) secrets.push(secret);
  }
  return { configMaps, secrets };
}

function checkServices(objects: readonly unknown[], workloads: readonly Workload[]): Problem[] {
  const problems: Problem[] = [];
  for (const object of objects) {
    const o = asObject(object);
    if (o['kind'] !== 'Service') continue;
    const where = objectRef(o);
    const namespace = asString(asObject(o['metadata'])['namespace']) ?? '';
    const spec = asObject(o['spec']);
    const selector = asLabels(spec['selector']);
    const selected = workloads.filter(
      (w) => w.namespace === namespace && labelsMatch(selector, w.podLabels),
    );
    if (selected.length === 0) {
      problems.push({
        where,
        message: `selector ${JSON.stringify(selector)} matches no pod template`,
      });
      continue;
    }
    const portNames = new Set(
      selected.flatMap((w) =>
        w.containers.flatMap((c) => asArray(c['ports']).map((p) => asObject(p)['name'])),
      ),
    );
    for (const port of asArray(spec['ports']).map(asObject)) {
      const target = port['targetPort'];
      if (typeof target === 'string' && !portNames.has(target)) {
        problems.push({
          where,
          message: `targetPort "${target}" is not a named port of the selected pods`,
        });
      }
    }
  }
  return problems;
}

function checkDisruptionBudgets(
  objects: readonly unknown[],
  workloads: readonly Workload[],
): Problem[] {
  const problems: Problem[] = [];
  const covered = new Set<string>();
  for (const object of objects) {
    const o = asObject(object);
    if (o['kind'] !== 'PodDisruptionBudget') continue;
    const namespace = asString(asObject(o['metadata'])['namespace']) ?? '';
    const selector = asLabels(asObject(asObject(o['spec'])['selector'])['matchLabels']);
    const selected = workloads.filter(
      (w) => w.namespace === namespace && labelsMatch(selector, w.podLabels),
    );
    if (selected.length === 0) {
      problems.push({ where: objectRef(o), message: 'selector matches no workload' });
    }
    for (const w of selected) covered.add(w.ref);
  }
  for (const w of workloads) {
    if (w.replicas > 1 && !covered.has(w.ref)) {
      problems.push({ where: w.ref, message: `${w.replicas} replicas but no PodDisruptionBudget` });
    }
  }
  return problems;
}

interface PolicyPeer {
  readonly namespace?: string;
  readonly component?: string;
}

function peerOf(peer: Json): PolicyPeer {
  const namespaceSelector = peer['namespaceSelector'];
  const podLabels = asLabels(asObject(peer['podSelector'])['matchLabels']);
  return {
    ...(isObject(namespaceSelector)
      ? {
          namespace:
            asLabels(namespaceSelector['matchLabels'])['kubernetes.io/metadata.name'] ?? '*',
        }
      : {}),
    ...(podLabels['app.kubernetes.io/component'] === undefined
      ? {}
      : { component: podLabels['app.kubernetes.io/component'] }),
  };
}

function portsOf(rule: Json): string {
  return asArray(rule['ports'])
    .map((p) => String(asObject(p)['port']))
    .sort()
    .join(',');
}

/**
 * The NetworkPolicies of one namespace: default deny, and traffic from or to another namespace
 * only on the paths the design allows: DNS, Prometheus to metrics, the replication link
 * (replicator -> the peer Region's NATS, 4222) and the control planes' channel (50051).
 */
function checkNetworkPolicies(objects: readonly unknown[]): Problem[] {
  const problems: Problem[] = [];
  const namespaces = new Set<string>();
  const defaultDeny = new Set<string>();
  const linkIngress = new Set<string>();
  const linkEgress = new Set<string>();
  for (const object of objects) {
    const o = asObject(object);
    const namespace = asString(asObject(o['metadata'])['namespace']) ?? '';
    if (o['kind'] === 'Deployment' || o['kind'] === 'StatefulSet') namespaces.add(namespace);
    if (o['kind'] !== 'NetworkPolicy') continue;
    const where = objectRef(o);
    const spec = asObject(o['spec']);
    const podSelector = asObject(spec['podSelector']);
    const target = asLabels(podSelector['matchLabels'])['app.kubernetes.io/component'];
    const types = asArray(spec['policyTypes']);
    if (
      Object.keys(podSelector).length === 0 &&
      types.includes('Ingress') &&
      types.includes('Egress') &&
      spec['ingress'] === undefined &&
      spec['egress'] === undefined
    ) {
      defaultDeny.add(namespace);
    }
    for (const direction of ['ingress', 'egress'] as const) {
      for (const rule of asArray(spec[direction]).map(asObject)) {
        const peers = asArray(rule[direction === 'ingress' ? 'from' : 'to']).map(asObject);
        const ports = portsOf(rule);
        for (const peer of peers.map(peerOf)) {
          if (peer.namespace === undefined || peer.namespace === namespace) continue;
          const ok =
            (direction === 'egress' && peer.namespace === 'kube-system' && ports === '53,53') ||
            (direction === 'ingress' &&
              peer.namespace === 'monitoring' &&
              target === 'metrics' &&
              ports === '9090') ||
            (direction === 'ingress' &&
              target === 'nats' &&
              peer.component === 'replicator' &&
              ports === '4222') ||
            (direction === 'egress' &&
              target === 'replicator' &&
              peer.component === 'nats' &&
              ports === '4222') ||
            (target === 'control-plane' && peer.component === 'control-plane' && ports === '50051');
          if (!ok) {
            problems.push({
              where,
              message: `${direction} ${direction === 'ingress' ? 'from' : 'to'} namespace ${peer.namespace}${peer.component === undefined ? '' : ` (${peer.component})`} on ports [${ports}] is not an allowed cross-Region path`,
            });
          } else if (target === 'nats' && peer.component === 'replicator') {
            linkIngress.add(namespace);
          } else if (target === 'replicator' && peer.component === 'nats') {
            linkEgress.add(namespace);
          }
        }
      }
    }
  }
  for (const namespace of namespaces) {
    const where = `${namespace}/NetworkPolicy`;
    if (!defaultDeny.has(namespace)) {
      problems.push({
        where,
        message: 'no default-deny policy (podSelector {}, Ingress and Egress, no rules)',
      });
    }
    if (!linkIngress.has(namespace)) {
      problems.push({
        where,
        message: "no replication link into NATS from the peer Region's replicators",
      });
    }
    if (!linkEgress.has(namespace)) {
      problems.push({
        where,
        message: "no replication link from the replicator to the peer Region's NATS",
      });
    }
  }
  return problems;
}

/** Validates rendered manifests: schemas, then the project's rules. */
export function checkKubernetesObjects(
  objects: readonly unknown[],
  serviceNames: ReadonlySet<string>,
): Problem[] {
  const problems: Problem[] = [];
  for (const object of objects) {
    for (const message of validateAgainstSchema(object))
      problems.push({ where: objectRef(object), message });
    if (asObject(object)['kind'] === 'Secret') {
      problems.push({
        where: objectRef(object),
        message: 'Secrets are not committed: reference one an operator creates',
      });
    }
    if (JSON.stringify(object).includes(peerNamespacePlaceholder)) {
      problems.push({
        where: objectRef(object),
        message: `still names ${peerNamespacePlaceholder}: the overlay must set the peer Region's namespace`,
      });
    }
  }
  const workloads = workloadsOf(objects);
  const configMaps = namesOfKind(objects, 'ConfigMap');
  for (const workload of workloads) {
    problems.push(...checkContainers(workload, serviceNames));
    const refs = referencesOf(workload);
    for (const name of refs.configMaps) {
      if (!configMaps.has(`${workload.namespace}/${name}`)) {
        problems.push({
          where: workload.ref,
          message: `ConfigMap ${name} is not in the manifests`,
        });
      }
    }
    for (const name of refs.secrets) {
      if (!(externalSecrets as readonly string[]).includes(name)) {
        problems.push({
          where: workload.ref,
          message: `Secret ${name} is not one of the documented secrets (${externalSecrets.join(', ')})`,
        });
      }
    }
  }
  problems.push(...checkServices(objects, workloads));
  problems.push(...checkDisruptionBudgets(objects, workloads));
  problems.push(...checkNetworkPolicies(objects));
  return problems;
}

/** The data of the ConfigMap whose name starts with `prefix-` (generated names carry a hash). */
export function configMapData(objects: readonly unknown[], prefix: string): Record<string, string> {
  for (const object of objects) {
    const o = asObject(object);
    const name = asString(asObject(o['metadata'])['name']) ?? '';
    if (o['kind'] === 'ConfigMap' && (name === prefix || name.startsWith(`${prefix}-`))) {
      return asLabels(o['data']);
    }
  }
  return {};
}

/** The two Regions point at each other: peers, the replicators' NATS and the pair's broker ids. */
export function checkRegionPair(
  a: { readonly region: string; readonly namespace: string; readonly objects: readonly unknown[] },
  b: { readonly region: string; readonly namespace: string; readonly objects: readonly unknown[] },
): Problem[] {
  const problems: Problem[] = [];
  for (const [self, peer] of [
    [a, b],
    [b, a],
  ] as const) {
    const where = `overlay ${self.region}`;
    const cp = configMapData(self.objects, 'control-plane-config');
    const replicator = configMapData(self.objects, 'replicator-config');
    const broker = configMapData(self.objects, 'broker-orders-config');
    const peerBroker = configMapData(peer.objects, 'broker-orders-config');
    const expect = (actual: string | undefined, wanted: string, what: string): void => {
      if (actual !== wanted)
        problems.push({
          where,
          message: `${what} is ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`,
        });
    };
    expect(cp['CONTROL_PLANE_REGION'], self.region, 'CONTROL_PLANE_REGION');
    expect(
      cp['CONTROL_PLANE_REPLICATION_NATS_URL'],
      `tls://nats.${self.namespace}.svc.cluster.local:4222`,
      'CONTROL_PLANE_REPLICATION_NATS_URL',
    );
    expect(
      cp['CONTROL_PLANE_PEERS'],
      `${peer.region}=control-plane.${peer.namespace}.svc.cluster.local:50051`,
      'CONTROL_PLANE_PEERS',
    );
    expect(
      replicator['REPLICATOR_NATS_URL'],
      `tls://nats.${peer.namespace}.svc.cluster.local:4222`,
      'REPLICATOR_NATS_URL',
    );
    expect(
      replicator['REPLICATOR_REPLICA_BROKER_ID'],
      broker['BROKER_ID'] ?? '(BROKER_ID)',
      'REPLICATOR_REPLICA_BROKER_ID',
    );
    expect(
      replicator['REPLICATOR_PRIMARY_BROKER_ID'],
      peerBroker['BROKER_ID'] ?? '(peer BROKER_ID)',
      'REPLICATOR_PRIMARY_BROKER_ID',
    );
  }
  const roles = [a, b]
    .map((r) => configMapData(r.objects, 'broker-orders-config')['BROKER_INITIAL_ROLE'])
    .sort();
  if (roles.join(',') !== 'PRIMARY,REPLICA') {
    problems.push({
      where: 'overlays',
      message: `the pair needs one PRIMARY and one REPLICA, has ${roles.join(', ')}`,
    });
  }
  return problems;
}

/** The prefix of each service's settings. */
export const settingPrefixes: Readonly<Record<ImageService, string>> = {
  broker: 'BROKER_',
  replicator: 'REPLICATOR_',
  'control-plane': 'CONTROL_PLANE_',
  metrics: 'METRICS_',
};

/** The setting names a service's config.ts declares: the keys of its schema (`NAME: z...`). */
export function declaredSettings(configSource: string): Set<string> {
  return new Set([...configSource.matchAll(/^\s*([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!));
}

/**
 * Settings given to a service under its own prefix that its config does not declare: the config
 * ignores them, so a misspelt or renamed variable would silently fall back to its default.
 */
export function unknownSettings(
  where: string,
  service: ImageService,
  env: Readonly<Record<string, string>>,
  declared: ReadonlySet<string>,
): Problem[] {
  const prefix = settingPrefixes[service];
  return Object.keys(env)
    .filter((key) => key.startsWith(prefix) && !declared.has(key))
    .map((key) => ({
      where,
      message: `${key} is not a setting of ${service} (services/${service}/src/config.ts)`,
    }));
}

/** What stands in for a secret's value: its shape where the service checks one. */
export function secretStandIn(_secret: string, key: string): string {
  return key === 'users' ? 'admin:secret' : 'secret';
}

/**
 * The environment a container of a workload gets: its ConfigMaps (envFrom) and env, secret
 * values replaced by a stand-in and `$(VAR)` expanded as the kubelet does.
 */
export function containerEnvironment(
  objects: readonly unknown[],
  workloadName: string,
  containerName: string,
): Record<string, string> | undefined {
  const workload = workloadsOf(objects).find((w) => w.name === workloadName);
  const container = workload?.containers.find((c) => c['name'] === containerName);
  if (workload === undefined || container === undefined) return undefined;
  const env: Record<string, string> = {};
  for (const source of asArray(container['envFrom']).map(asObject)) {
    const name = asString(asObject(source['configMapRef'])['name']);
    if (name !== undefined) Object.assign(env, configMapData(objects, name));
  }
  for (const variable of asArray(container['env']).map(asObject)) {
    const name = asString(variable['name']);
    if (name === undefined) continue;
    const value = asString(variable['value']);
    if (value !== undefined) {
      env[name] = value.replace(
        /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
        (all, ref: string) => env[ref] ?? all,
      );
    } else if (isObject(asObject(variable['valueFrom'])['secretKeyRef'])) {
      const ref = asObject(asObject(variable['valueFrom'])['secretKeyRef']);
      env[name] = secretStandIn(asString(ref['name']) ?? '', asString(ref['key']) ?? '');
    } else if (isObject(asObject(variable['valueFrom'])['fieldRef'])) {
      env[name] = `${workloadName}-0`;
    }
  }
  return env;
}

// --- docker-compose ------------------------------------------------------------------------------

/** Services allowed on the `link` network: what crosses Regions. */
const linkMembers = /^(nats|control-plane|replicator)-[ab]$/;

/** Checks the output of `docker-compose config` (a resolved compose file). */
export function checkCompose(config: unknown, serviceNames: ReadonlySet<string>): Problem[] {
  const problems: Problem[] = [];
  const services = asObject(asObject(config)['services']);
  if (Object.keys(services).length === 0)
    problems.push({ where: 'docker-compose.yml', message: 'no services' });
  for (const [name, value] of Object.entries(services)) {
    const service = asObject(value);
    const where = `docker-compose.yml service ${name}`;
    const test = asArray(asObject(service['healthcheck'])['test']);
    if (test.length === 0) problems.push({ where, message: 'has no healthcheck' });
    // The restart policy is what supervises the processes with static provisioning.
    if (service['restart'] !== 'unless-stopped' && service['restart'] !== 'always') {
      problems.push({
        where,
        message: `restart must be unless-stopped or always (the supervision), is ${JSON.stringify(service['restart'])}`,
      });
    }
    const networks = Object.keys(asObject(service['networks']));
    const regions = networks.filter((n) => n.startsWith('region-'));
    if (regions.length !== 1)
      problems.push({
        where,
        message: `must be on exactly one Region network, is on [${regions.join(', ')}]`,
      });
    if (networks.includes('link') && !linkMembers.test(name)) {
      problems.push({
        where,
        message: 'only NATS, control planes and replicators join the link network',
      });
    }
    if (/^(postgres|nats)-/.test(name) && service['ports'] !== undefined) {
      problems.push({ where, message: 'Postgres and NATS publish no port on the host' });
    }
    if (!isCrdrImage(asString(service['image']))) continue;
    const command = asArray(service['command']);
    const script = asString(command[0]);
    if (service['entrypoint'] !== undefined) {
      problems.push({ where, message: 'must not override the image entry point' });
    }
    if (script === undefined || !serviceNames.has(script)) {
      problems.push({
        where,
        message: `command must name a service script of package.json (${[...serviceNames].join(', ')}), is ${JSON.stringify(command)}`,
      });
    }
    if (service['user'] === 'root' || service['user'] === '0') {
      problems.push({ where, message: 'runs as root' });
    }
  }
  return problems;
}

/** The environment of a compose service as `docker-compose config` resolved it. */
export function composeEnvironment(
  config: unknown,
  service: string,
): Record<string, string> | undefined {
  const entry = asObject(asObject(config)['services'])[service];
  if (!isObject(entry)) return undefined;
  const environment = entry['environment'];
  if (Array.isArray(environment)) {
    const env: Record<string, string> = {};
    for (const item of environment) {
      const text = String(item);
      const at = text.indexOf('=');
      if (at > 0) env[text.slice(0, at)] = text.slice(at + 1);
    }
    return env;
  }
  const env: Record<string, string> = {};
  for (const [key, v] of Object.entries(asObject(environment))) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      env[key] = String(v);
    }
  }
  return env;
}

// --- Dockerfile ----------------------------------------------------------------------------------

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
export function dockerInstructions(
  text: string,
): { readonly keyword: string; readonly args: string }[] {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const space = line.search(/\s/);
      return space < 0
        ? { keyword: line.toUpperCase(), args: '' }
        : { keyword: line.slice(0, space).toUpperCase(), args: line.slice(space).trim() };
    });
}

/** Multi-stage, pinned pnpm and frozen lockfile, the runtime base image, non-root, health check. */
export function checkDockerfile(text: string, pnpmVersion: string): Problem[] {
  const where = 'Dockerfile';
  const problems: Problem[] = [];
  const instructions = dockerInstructions(text);
  const args = new Map<string, string>();
  for (const i of instructions.filter((i) => i.keyword === 'ARG')) {
    const [name, value] = i.args.split('=', 2);
    if (name !== undefined && value !== undefined) args.set(name, value);
  }
  const expand = (s: string): string =>
    s.replace(
      /\$\{(\w+)\}|\$(\w+)/g,
      (all, a?: string, b?: string) => args.get(a ?? b ?? '') ?? all,
    );
  const froms = instructions.filter((i) => i.keyword === 'FROM').map((i) => expand(i.args));
  if (froms.length < 2)
    problems.push({ where, message: 'must be multi-stage (a deps stage and a runtime stage)' });
  const runtimeFrom = froms.at(-1) ?? '';
  if (!runtimeFrom.startsWith('node:20-bookworm-slim')) {
    problems.push({
      where,
      message: `the runtime stage must be FROM node:20-bookworm-slim, is ${runtimeFrom}`,
    });
  }
  const runs = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  if (!runs.some((r) => r.includes(`npm install -g pnpm@${pnpmVersion}`))) {
    problems.push({
      where,
      message: `must install the pinned pnpm@${pnpmVersion} (package.json packageManager) with npm`,
    });
  }
  if (!runs.some((r) => /pnpm install\b.*--frozen-lockfile/.test(r))) {
    problems.push({
      where,
      message: 'must install dependencies with pnpm install --frozen-lockfile',
    });
  }
  const lastStage = instructions.slice(instructions.map((i) => i.keyword).lastIndexOf('FROM'));
  const user = lastStage.filter((i) => i.keyword === 'USER').at(-1)?.args;
  if (user === undefined || user === 'root' || user === '0' || user.startsWith('0:')) {
    problems.push({ where, message: 'the runtime stage must switch to a non-root USER' });
  }
  const healthcheck = lastStage.find((i) => i.keyword === 'HEALTHCHECK');
  if (healthcheck === undefined || !healthcheck.args.includes('grpc-health.mjs')) {
    problems.push({
      where,
      message: 'the runtime stage needs a HEALTHCHECK running scripts/grpc-health.mjs',
    });
  }
  const entrypoint = lastStage.find((i) => i.keyword === 'ENTRYPOINT');
  if (entrypoint === undefined || !entrypoint.args.includes('crdr-entrypoint')) {
    problems.push({
      where,
      message: 'the ENTRYPOINT must be crdr-entrypoint (deploy/docker/entrypoint.sh)',
    });
  }
  return problems;
}

/** `scripts.<service>` is `tsx <entry>`; the image runs `node --import tsx <entry>`, as the stack does. */
export function checkEntrypointCommand(service: string, entry: string, printed: string): Problem[] {
  const expected = `node --import tsx ${entry}`;
  return printed.trim() === expected
    ? []
    : [
        {
          where: 'deploy/docker/entrypoint.sh',
          message: `for ${service} runs "${printed.trim()}", expected "${expected}"`,
        },
      ];
}

export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `  ${p.where}: ${p.message}`).join('\n');
}
