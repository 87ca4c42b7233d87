#!/usr/bin/env node
// A gRPC health probe (grpc.health.v1.Health/Check) for container health checks, where no
// grpc_health_probe binary exists: `node scripts/grpc-health.mjs [HOST:PORT] [--service NAME]
// [--any-status]`. Exit 0 when the server answers SERVING (or, with --any-status, answers at
// all: a standby or replica broker answers NOT_SERVING but is alive), 1 otherwise.
//
// Without HOST:PORT the port comes from GRPC_HEALTH_PORT, else from the service's own gRPC port
// variable (CONTROL_PLANE_GRPC_PORT, METRICS_GRPC_PORT, REPLICATOR_GRPC_PORT, BROKER_GRPC_PORT),
// so one Dockerfile HEALTHCHECK serves every service of the image.
import * as grpc from '@grpc/grpc-js';

const portVariables = [
  'GRPC_HEALTH_PORT',
  'CONTROL_PLANE_GRPC_PORT',
  'METRICS_GRPC_PORT',
  'REPLICATOR_GRPC_PORT',
  'BROKER_GRPC_PORT',
];
const statusNames = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function fail(message) {
  process.stderr.write(`grpc-health: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const options = { address: undefined, service: '', anyStatus: false, timeoutMs: 3000 };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--service') options.service = argv[++i] ?? fail('--service needs a NAME');
    else if (arg === '--any-status') options.anyStatus = true;
    else if (arg === '--timeout-ms') options.timeoutMs = Number(argv[++i]);
    else if (arg.startsWith('-')) fail(`unknown option ${arg}`);
    else options.address = arg;
  }
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) {
    fail('--timeout-ms must be a positive integer');
  }
  if (options.address === undefined) {
    const variable = portVariables.find((name) => (process.env[name] ?? '') !== '');
    if (variable === undefined) {
      fail(`no HOST:PORT given and none of ${portVariables.join(', ')} is set`);
    }
    const port = process.env[variable];
    if (!/^[1-9][0-9]{0,4}$/.test(port)) fail(`${variable}=${port} is not a port`);
    options.address = `127.0.0.1:${port}`;
  }
  return options;
}

// HealthCheckRequest { string service = 1; } and HealthCheckResponse { ServingStatus status = 1; }
// are one field each: encoded by hand rather than loading health.proto at every probe.
function encodeRequest(service) {
  const name = Buffer.from(service, 'utf8');
  if (name.length > 127) fail('--service name too long');
  return name.length === 0
    ? Buffer.alloc(0)
    : Buffer.concat([Buffer.from([0x0a, name.length]), name]);
}

function decodeStatus(bytes) {
  // An absent field is the default value, UNKNOWN (0).
  if (bytes.length === 0) return 0;
  if (bytes[0] !== 0x08 || bytes.length < 2) throw new Error('unexpected HealthCheckResponse');
  return bytes[1];
}

const options = parseArgs(process.argv.slice(2));
const client = new grpc.Client(options.address, grpc.credentials.createInsecure());
client.makeUnaryRequest(
  '/grpc.health.v1.Health/Check',
  (service) => encodeRequest(service),
  (bytes) => decodeStatus(bytes),
  options.service,
  { deadline: Date.now() + options.timeoutMs },
  (error, status) => {
    client.close();
    if (error) fail(`${options.address}: ${error.message}`);
    const name = statusNames[status] ?? `status ${status}`;
    if (status === 1 || options.anyStatus) {
      process.stdout.write(`${options.address}: ${name}\n`);
      process.exit(0);
    }
    fail(`${options.address}: ${name}`);
  },
);
