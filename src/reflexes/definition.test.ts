import { validateReflexDefinition } from './definition';

describe('validateReflexDefinition', () => {
  test('schedule is refused as a reflex, with a pointer to habits', () => {
    const checked = validateReflexDefinition({ triggerType: 'schedule', triggerConfig: { cron: '* * * * *' } });
    expect(checked.errors).toEqual([{ path: '/body/triggerType', message: expect.stringMatching(/habit/) }]);
  });

  test('each trigger type checks its own config', () => {
    const bad: Array<[string, unknown, string]> = [
      ['webhook', { method: 'PUT' }, '/body/triggerConfig/method'],
      ['webhook', { secret: 'mine' }, '/body/triggerConfig/secret'],
      ['webhook', { url: 'ftp://x' }, '/body/triggerConfig/url'],
      ['email', { subjectPattern: 'x' }, '/body/triggerConfig/fromAddress'],
      ['email', { fromAddress: 'a@b.co', bodyPattern: '(' }, '/body/triggerConfig/bodyPattern'],
      ['file_change', { paths: [] }, '/body/triggerConfig/paths'],
      ['file_change', { paths: ['*.md'], events: ['rename'] }, '/body/triggerConfig/events'],
      ['api_call', { endpoint: 'no-slash', method: 'GET' }, '/body/triggerConfig/endpoint'],
      ['event', { source: 'ci' }, '/body/triggerConfig/eventName'],
      ['event', 'deploy', '/body/triggerConfig'],
    ];
    for (const [triggerType, triggerConfig, path] of bad) {
      const checked = validateReflexDefinition({ triggerType, triggerConfig });
      expect(checked.errors.map((e) => e.path)).toEqual([path]);
    }
    expect(validateReflexDefinition({ triggerType: 'file_change', triggerConfig: { paths: ['docs/**'] } }).definition).toEqual({
      triggerType: 'file_change',
      triggerConfig: { paths: ['docs/**'], events: ['create', 'modify', 'delete'] },
      conditions: { matchAll: true, filters: [] },
      isActive: true,
    });
  });
});
