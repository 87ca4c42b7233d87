import { badRequest } from '@crdr/errors';

/** ActiveMQ's dead letter queue, where messages go after too many redeliveries or on expiry. */
export const deadLetterQueueName = 'ActiveMQ.DLQ';

export type DestinationKind = 'queue' | 'topic';

export interface DestinationName {
  readonly kind: DestinationKind;
  readonly name: string;
  /** Temporary destinations live in memory only and are never replicated. */
  readonly temporary: boolean;
}

const prefixes: ReadonlyArray<readonly [string, DestinationKind, boolean]> = [
  ['/queue/', 'queue', false],
  ['/topic/', 'topic', false],
  ['/temp-queue/', 'queue', true],
  ['/temp-topic/', 'topic', true],
];

const namePattern = /^[A-Za-z0-9._\-:$]+$/;
const maxNameLength = 200;

/** Parses `/queue/NAME`, `/topic/NAME` (and the temporary forms) with a clear error otherwise. */
export function parseDestination(destination: string): DestinationName {
  for (const [prefix, kind, temporary] of prefixes) {
    if (destination.startsWith(prefix)) {
      const name = destination.slice(prefix.length);
      validateDestinationName(name, destination);
      return { kind, name, temporary };
    }
  }
  throw badRequest(
    `invalid destination "${destination}": it must start with /queue/, /topic/, /temp-queue/ or /temp-topic/`,
    { details: { field: 'destination' } },
  );
}

export function validateDestinationName(name: string, shown = name): void {
  if (name.length === 0 || name.length > maxNameLength || !namePattern.test(name)) {
    throw badRequest(
      `invalid destination "${shown}": the name must be 1-${maxNameLength} characters of letters, digits and . _ - : $`,
      { details: { field: 'destination' } },
    );
  }
}

export function formatDestination(destination: DestinationName): string {
  const prefix = destination.temporary ? `/temp-${destination.kind}/` : `/${destination.kind}/`;
  return prefix + destination.name;
}

export function destinationKey(kind: DestinationKind, name: string): string {
  return `${kind}:${name}`;
}
