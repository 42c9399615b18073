import { redactedUrl } from './redaction';

test('a stream ticket in a logged URL is redacted, the rest kept', () => {
  expect(redactedUrl('/api/v1/events?ticket=st_abc-DEF_123&lastEventId=1%3A2%3A')).toBe('/api/v1/events?ticket=[redacted]&lastEventId=1%3A2%3A');
  expect(redactedUrl('/api/v1/events?lastEventId=5&ticket=st_x')).toBe('/api/v1/events?lastEventId=5&ticket=[redacted]');
  expect(redactedUrl('/api/v1/projects?pageSize=5')).toBe('/api/v1/projects?pageSize=5');
});
