import { matchReflex } from './triggers';

describe('matchReflex', () => {
  test('event reflexes compare name and, when they name one, source', () => {
    const reflex = { triggerType: 'event' as const, triggerConfig: { eventName: 'deploy', source: 'ci' }, conditions: { matchAll: true, filters: [] } };
    expect(matchReflex(reflex, { eventName: 'deploy', source: 'ci', payload: {} }).matched).toBe(true);
    expect(matchReflex(reflex, { eventName: 'deploy', source: 'cd', payload: {} }).matched).toBe(false);
    expect(matchReflex(reflex, { eventName: 'deploy', payload: {} }).matched).toBe(false);
    const anySource = { ...reflex, triggerConfig: { eventName: 'deploy' } };
    expect(matchReflex(anySource, { eventName: 'deploy', source: 'anything', payload: {} }).matched).toBe(true);
  });

  test('email reflexes compare the sender (any case) and their patterns', () => {
    const reflex = {
      triggerType: 'email' as const,
      triggerConfig: { fromAddress: 'alerts@example.com', subjectPattern: '^\\[ALERT\\]' },
      conditions: { matchAll: true, filters: [] },
    };
    expect(matchReflex(reflex, { payload: { fromAddress: 'Alerts@Example.com', subject: '[ALERT] disk' } }).matched).toBe(true);
    expect(matchReflex(reflex, { payload: { fromAddress: 'alerts@example.com', subject: 'disk' } }).matched).toBe(false);
  });
});
