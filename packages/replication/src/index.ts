/**
 * The replication log's shared vocabulary: the event codec (`replication.proto`) and the NATS
 * names of a broker's log, and how a pair's health and lag are judged.
 */
export {
  decodeEvent,
  encodeEvent,
  envelopeVersion,
  newestEnvelopeVersion,
  type ChangeKind,
  type DecodedEvent,
  type ReplicationEvent,
} from './event-codec.js';
export {
  chunkCount,
  chunkEnvelopeVersion,
  isEventChunk,
  joinEventChunks,
  maxWholeEventBytes,
  splitEvent,
  type DecodedEventChunk,
  type EventChunkEnvelope,
} from './event-chunks.js';
export {
  replicationConsumerName,
  replicationMessageId,
  replicationStreamName,
  replicationSubject,
} from './naming.js';
export {
  ensureReplicationConsumer,
  isConsumerNotFound,
  replicationConsumerConfig,
  type ReplicationConsumerOptions,
} from './consumer.js';
export {
  replicationHealth,
  replicationHealthStatuses,
  replicationLagMs,
  stallDetectionMs,
  worseHealth,
  type PairProgress,
  type ReplicationHealth,
  type ReplicationHealthStatus,
  type ReplicatorReport,
  type ReplicatorSupervision,
} from './replication-health.js';
