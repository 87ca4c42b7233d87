import { describe, expect, it } from 'vitest';
import {
  checkCompose,
  checkDockerfile,
  checkEntrypointCommand,
  checkKubernetesObjects,
  checkRegionPair,
  composeEnvironment,
  containerEnvironment,
  declaredSettings,
  formatProblems,
  parseYamlDocuments,
  serviceEntries,
  unknownSettings,
  validateAgainstSchema,
} from '../../scripts/deploy-checks.js';

const services = new Set(['broker', 'replicator', 'control-plane', 'metrics']);
const ns = 'crdr-region-a';

// Fixtures are edited freely to break them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

function deployment(overrides: { replicas?: number } = {}): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'metrics', namespace: ns },
    spec: {
      replicas: overrides.replicas ?? 1,
      selector: { matchLabels: { 'app.kubernetes.io/component': 'metrics' } },
      template: {
        metadata: {
          labels: { 'app.kubernetes.io/component': 'metrics', 'crdr.io/postgres-client': 'true' },
        },
        spec: {
          securityContext: { runAsNonRoot: true },
          restartPolicy: 'Always',
          containers: [
            {
              name: 'metrics',
              image: 'crdr:staging',
              args: ['metrics'],
              ports: [
                { name: 'grpc', containerPort: 50052 },
                { name: 'http', containerPort: 9090 },
              ],
              envFrom: [{ configMapRef: { name: 'metrics-config-abc' } }],
              env: [
                {
                  name: 'PG_PASSWORD',
                  valueFrom: { secretKeyRef: { name: 'crdr-postgres', key: 'password' } },
                },
                {
                  name: 'METRICS_DB_URL',
                  value: 'postgres://crdr:$(PG_PASSWORD)@postgres:5432/crdr_metrics',
                },
              ],
              readinessProbe: { grpc: { port: 50052 } },
              livenessProbe: { grpc: { port: 50052 } },
              resources: {
                requests: { cpu: '250m', memory: '512Mi' },
                limits: { cpu: '1', memory: '1Gi' },
              },
              securityContext: { allowPrivilegeEscalation: false },
            },
          ],
        },
      },
    },
  };
}

function policy(name: string, spec: Json): Json {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: ns },
    spec,
  };
}

const peer = (component: string): Json => ({
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'crdr-region-b' } },
  podSelector: { matchLabels: { 'app.kubernetes.io/component': component } },
});

/** A small namespace that passes every check. */
function validObjects(): Json[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'metrics-config-abc', namespace: ns },
      data: { METRICS_HOST: '0.0.0.0' },
    },
    deployment(),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'metrics', namespace: ns },
      spec: {
        selector: { 'app.kubernetes.io/component': 'metrics' },
        ports: [{ name: 'grpc', port: 50052, targetPort: 'grpc' }],
      },
    },
    policy('default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    policy('replication-link-ingress', {
      podSelector: { matchLabels: { 'app.kubernetes.io/component': 'nats' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [peer('replicator')], ports: [{ protocol: 'TCP', port: 4222 }] }],
    }),
    policy('replication-link-egress', {
      podSelector: { matchLabels: { 'app.kubernetes.io/component': 'replicator' } },
      policyTypes: ['Egress'],
      egress: [{ to: [peer('nats')], ports: [{ protocol: 'TCP', port: 4222 }] }],
    }),
  ];
}

function problemsOf(objects: Json[]): string {
  return formatProblems(checkKubernetesObjects(objects, services));
}

describe('Kubernetes schema validation', () => {
  it('accepts a valid Deployment', () => {
    expect(validateAgainstSchema(deployment())).toEqual([]);
  });

  it('rejects a wrong type, a missing required field and a bad probe port', () => {
    const broken = deployment();
    broken['spec'].replicas = 'two';
    expect(validateAgainstSchema(broken).join('\n')).toMatch(/\/spec\/replicas must be integer/);

    const nameless = deployment();
    delete nameless['spec'].template.spec.containers[0].name;
    expect(validateAgainstSchema(nameless).join('\n')).toMatch(
      /containers\/0 must have required property name/,
    );

    const probe = deployment();
    probe['spec'].template.spec.containers[0].readinessProbe = { grpc: { port: 'grpc' } };
    expect(validateAgainstSchema(probe).join('\n')).toMatch(
      /readinessProbe\/grpc\/port must be integer/,
    );
  });

  it('rejects a kind or apiVersion it has no schema for', () => {
    expect(validateAgainstSchema({ ...deployment(), apiVersion: 'apps/v1beta1' }).join()).toMatch(
      /no Kubernetes schema/,
    );
    expect(
      validateAgainstSchema({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } }).join(),
    ).toMatch(/no Kubernetes schema/);
  });
});

describe('checkKubernetesObjects', () => {
  it('passes a valid namespace', () => {
    expect(problemsOf(validObjects())).toBe('');
  });

  it('fails a schema error in any object', () => {
    const objects = validObjects();
    objects[1]!['spec'].replicas = 'two';
    expect(problemsOf(objects)).toMatch(
      /crdr-region-a\/Deployment\/metrics: schema: \/spec\/replicas must be integer/,
    );
  });

  it('refuses a committed Secret and an undocumented secret reference', () => {
    const objects = validObjects();
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'crdr-postgres', namespace: ns },
      stringData: { password: 'x' },
    });
    objects[1]!['spec'].template.spec.containers[0].env[0].valueFrom.secretKeyRef.name =
      'my-secret';
    const text = problemsOf(objects);
    expect(text).toMatch(/Secrets are not committed/);
    expect(text).toMatch(/Secret my-secret is not one of the documented secrets/);
  });

  it('requires probes, resources, a gRPC readiness probe and a service script', () => {
    const objects = validObjects();
    const container = objects[1]!['spec'].template.spec.containers[0];
    delete container.livenessProbe;
    container.readinessProbe = { tcpSocket: { port: 50052 } };
    delete container.resources.limits.memory;
    container.args = ['lint'];
    delete objects[1]!['spec'].template.spec.restartPolicy;
    const text = problemsOf(objects);
    expect(text).toMatch(/restartPolicy must be Always/);
    expect(text).toMatch(/livenessProbe is missing/);
    expect(text).toMatch(/readinessProbe must be a gRPC health probe/);
    expect(text).toMatch(/resources.limits.memory is missing/);
    expect(text).toMatch(/args\[0\] must name a service script/);
  });

  it('finds a Service that selects nothing and a ConfigMap that is not there', () => {
    const objects = validObjects();
    objects[2]!['spec'].selector = { 'app.kubernetes.io/component': 'metric' };
    objects[0]!['metadata'].name = 'other-config';
    const text = problemsOf(objects);
    expect(text).toMatch(/matches no pod template/);
    expect(text).toMatch(/ConfigMap metrics-config-abc is not in the manifests/);
  });

  it('wants a PodDisruptionBudget for more than one replica', () => {
    const objects = validObjects();
    objects[1]!['spec'].replicas = 2;
    expect(problemsOf(objects)).toMatch(/2 replicas but no PodDisruptionBudget/);
    objects.push({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'metrics', namespace: ns },
      spec: {
        minAvailable: 1,
        selector: { matchLabels: { 'app.kubernetes.io/component': 'metrics' } },
      },
    });
    expect(problemsOf(objects)).toBe('');
  });

  it('opens nothing across Regions but the replication link and the control planes', () => {
    const objects = validObjects();
    objects.push(
      policy('postgres', {
        podSelector: { matchLabels: { 'app.kubernetes.io/component': 'postgres' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [peer('replicator')], ports: [{ protocol: 'TCP', port: 5432 }] }],
      }),
    );
    expect(problemsOf(objects)).toMatch(
      /ingress from namespace crdr-region-b \(replicator\) on ports \[5432\] is not an allowed cross-Region path/,
    );
  });

  it('wants a default deny and both ends of the replication link', () => {
    const objects = validObjects().filter(
      (o) =>
        o['metadata'].name !== 'default-deny' && o['metadata'].name !== 'replication-link-egress',
    );
    const text = problemsOf(objects);
    expect(text).toMatch(/no default-deny policy/);
    expect(text).toMatch(/no replication link from the replicator/);
  });

  it('finds the peer namespace placeholder left in place', () => {
    const objects = validObjects();
    objects[4]!['spec'].ingress[0].from[0].namespaceSelector.matchLabels[
      'kubernetes.io/metadata.name'
    ] = 'peer-region-namespace';
    expect(problemsOf(objects)).toMatch(/still names peer-region-namespace/);
  });
});

describe('environments', () => {
  it('expands $(VAR) and stands in for secrets as the services expect', () => {
    const env = containerEnvironment(validObjects(), 'metrics', 'metrics');
    expect(env).toEqual({
      METRICS_HOST: '0.0.0.0',
      PG_PASSWORD: 'secret',
      METRICS_DB_URL: 'postgres://crdr:secret@postgres:5432/crdr_metrics',
    });
  });

  it('names a setting a service does not declare', () => {
    const declared = declaredSettings(
      'const schema = z.object({\n  METRICS_HOST: z.string(),\n  METRICS_DB_URL: z.string(),\n});',
    );
    expect([...declared]).toEqual(['METRICS_HOST', 'METRICS_DB_URL']);
    const problems = unknownSettings(
      'x',
      'metrics',
      { METRICS_HOST: 'a', METRICS_DBURL: 'b', BROKER_ID: 'c' },
      declared,
    );
    expect(problems.map((p) => p.message)).toEqual([
      'METRICS_DBURL is not a setting of metrics (services/metrics/src/config.ts)',
    ]);
  });

  it('reads a compose environment in either form', () => {
    expect(composeEnvironment({ services: { a: { environment: ['X=1', 'Y=a=b'] } } }, 'a')).toEqual(
      { X: '1', Y: 'a=b' },
    );
    expect(composeEnvironment({ services: { a: { environment: { X: 1 } } } }, 'a')).toEqual({
      X: '1',
    });
    expect(composeEnvironment({ services: {} }, 'a')).toBeUndefined();
  });
});

describe('checkRegionPair', () => {
  const region = (
    r: 'a' | 'b',
    role: string,
  ): { region: string; namespace: string; objects: Json[] } => {
    const p = r === 'a' ? 'b' : 'a';
    const cm = (name: string, data: Record<string, string>): Json => ({
      kind: 'ConfigMap',
      metadata: { name: `${name}-h4sh` },
      data,
    });
    return {
      region: `region-${r}`,
      namespace: `crdr-region-${r}`,
      objects: [
        cm('control-plane-config', {
          CONTROL_PLANE_REGION: `region-${r}`,
          CONTROL_PLANE_PEERS: `region-${p}=control-plane.crdr-region-${p}.svc.cluster.local:50051`,
          CONTROL_PLANE_REPLICATION_NATS_URL: `tls://nats.crdr-region-${r}.svc.cluster.local:4222`,
        }),
        cm('broker-orders-config', { BROKER_ID: `orders-${r}`, BROKER_INITIAL_ROLE: role }),
        cm('replicator-config', {
          REPLICATOR_NATS_URL: `tls://nats.crdr-region-${p}.svc.cluster.local:4222`,
          REPLICATOR_PRIMARY_BROKER_ID: `orders-${p}`,
          REPLICATOR_REPLICA_BROKER_ID: `orders-${r}`,
        }),
      ],
    };
  };

  it('accepts two Regions that point at each other', () => {
    expect(checkRegionPair(region('a', 'PRIMARY'), region('b', 'REPLICA'))).toEqual([]);
  });

  it('finds a replicator reading its own Region and two primaries', () => {
    const b = region('b', 'PRIMARY');
    b.objects[2]!['data'].REPLICATOR_NATS_URL = 'tls://nats.crdr-region-b.svc.cluster.local:4222';
    const text = formatProblems(checkRegionPair(region('a', 'PRIMARY'), b));
    expect(text).toMatch(/overlay region-b: REPLICATOR_NATS_URL is "tls:\/\/nats.crdr-region-b/);
    expect(text).toMatch(/one PRIMARY and one REPLICA, has PRIMARY, PRIMARY/);
  });
});

describe('checkCompose', () => {
  const valid = (): Json => ({
    services: {
      'nats-a': {
        image: 'nats:2.11-alpine',
        restart: 'unless-stopped',
        healthcheck: { test: ['CMD', 'true'] },
        networks: { 'region-a': null, link: null },
      },
      'broker-orders-a': {
        image: 'crdr:local',
        command: ['broker'],
        restart: 'always',
        healthcheck: { test: ['CMD', 'node', '/app/scripts/grpc-health.mjs', '--any-status'] },
        networks: { 'region-a': null },
      },
    },
  });

  it('accepts a valid configuration', () => {
    expect(checkCompose(valid(), services)).toEqual([]);
  });

  it('finds a broker on the link, an unknown command, no healthcheck, a published NATS port and no restart policy', () => {
    const config = valid();
    config['services']['broker-orders-a'].networks.link = null;
    config['services']['broker-orders-a'].command = ['tsx', 'services/broker/src/main.ts'];
    delete config['services']['broker-orders-a'].healthcheck;
    config['services']['nats-a'].ports = ['4222:4222'];
    config['services']['nats-a'].restart = 'no';
    const text = formatProblems(checkCompose(config, services));
    expect(text).toMatch(/nats-a: restart must be unless-stopped or always/);
    expect(text).toMatch(/only NATS, control planes and replicators join the link network/);
    expect(text).toMatch(/command must name a service script/);
    expect(text).toMatch(/has no healthcheck/);
    expect(text).toMatch(/publish no port/);
  });
});

describe('checkDockerfile', () => {
  const dockerfile = [
    'ARG NODE_IMAGE=node:20-bookworm-slim',
    'FROM ${NODE_IMAGE} AS deps',
    'RUN npm install -g pnpm@10.34.8 && npm cache clean --force',
    'RUN pnpm install --offline \\',
    '  --frozen-lockfile --prod',
    'FROM ${NODE_IMAGE} AS runtime',
    'USER node',
    'HEALTHCHECK --interval=10s CMD ["node", "/app/scripts/grpc-health.mjs"]',
    'ENTRYPOINT ["/usr/local/bin/crdr-entrypoint"]',
  ].join('\n');

  it('accepts a multi-stage, pinned, non-root image with a health check', () => {
    expect(checkDockerfile(dockerfile, '10.34.8')).toEqual([]);
  });

  it('finds root, another pnpm, no health check and a single stage', () => {
    const text = formatProblems(
      checkDockerfile(
        dockerfile
          .replace('USER node', 'USER root')
          .replace(/HEALTHCHECK.*\n/, '')
          .replace('FROM ${NODE_IMAGE} AS deps\n', ''),
        '10.35.0',
      ),
    );
    expect(text).toMatch(/multi-stage/);
    expect(text).toMatch(/pnpm@10.35.0/);
    expect(text).toMatch(/non-root USER/);
    expect(text).toMatch(/HEALTHCHECK/);
  });
});

describe('service scripts and the entry point', () => {
  it('reads the entry of each service script', () => {
    const { entries, problems } = serviceEntries({
      broker: 'tsx services/broker/src/main.ts',
      replicator: 'tsx services/replicator/src/main.ts',
      'control-plane': 'tsx services/control-plane/src/main.ts',
      metrics: 'node services/metrics/dist/main.js',
    });
    expect(entries.get('broker')).toBe('services/broker/src/main.ts');
    expect(entries.has('metrics')).toBe(false);
    expect(formatProblems(problems)).toMatch(
      /script "metrics" must be "tsx services\/<name>\/src\/main.ts"/,
    );
  });

  it('compares the entry point command with the script', () => {
    expect(
      checkEntrypointCommand(
        'broker',
        'services/broker/src/main.ts',
        'node --import tsx services/broker/src/main.ts\n',
      ),
    ).toEqual([]);
    expect(
      checkEntrypointCommand(
        'broker',
        'services/broker/src/main.ts',
        'node services/broker/src/main.ts',
      ),
    ).toHaveLength(1);
  });

  it('parses multi-document YAML and names a syntax error', () => {
    expect(parseYamlDocuments('a: 1\n---\n---\nb: 2\n', 'x')).toEqual([{ a: 1 }, { b: 2 }]);
    expect(() => parseYamlDocuments('a: [1\n', 'broken.yaml')).toThrow(/broken.yaml/);
  });
});
