import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from './broker.test-helper.js';
import { stompjsLogin as login } from './stompjs.test-helper.js';

const lockoutFailures = 6;

describe('STOMP login throttling', () => {
  let broker: TestBroker;

  beforeAll(async () => {
    broker = await startTestBroker('stomp_login_throttle', {
      BROKER_USERS: 'admin:admin,app:app-password-1',
      BROKER_LOGIN_FREE_FAILURES: '2',
      BROKER_LOGIN_LOCKOUT_FAILURES: String(lockoutFailures),
      // Far longer than the test: the refusal below cannot have lapsed by itself.
      BROKER_LOGIN_WINDOW_MS: String(30 * 60_000),
    });
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('refuses a user to an address that guessed at it, even with the right password, and only that user', async () => {
    // Before any failure, the right password works.
    expect(await login(broker.wsPort, 'app', 'app-password-1')).toBe('connected');
    const answers: string[] = [];
    for (let i = 0; i < lockoutFailures; i++) {
      answers.push(await login(broker.wsPort, 'app', `guess-${i}`));
    }
    // Every guess was told the same thing: which part was wrong is never said.
    expect(new Set(answers)).toEqual(new Set(['invalid username or password']));

    expect(await login(broker.wsPort, 'app', 'app-password-1')).toMatch(
      /^too many failed logins from 127\.0\.0\.1; try again in \d+ s$/,
    );
    // Another user on the same address (the control plane, the metrics service) is not refused.
    expect(await login(broker.wsPort, 'admin', 'admin')).toBe('connected');
  });
});
