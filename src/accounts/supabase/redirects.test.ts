import { redirectOriginsOf } from '../settings';
import { allowedRedirect } from './redirects';

describe('where an OAuth sign-in may return to', () => {
  const settings = { redirectOrigins: redirectOriginsOf(['http://localhost:5173'], 'https://app.example.com/api') };

  test('the origins of CORS_ORIGINS and PUBLIC_BASE_URL; * names none', () => {
    expect(settings.redirectOrigins).toEqual(['http://localhost:5173', 'https://app.example.com']);
    expect(redirectOriginsOf('*', undefined)).toEqual([]);
    expect(redirectOriginsOf('*', 'https://app.example.com')).toEqual(['https://app.example.com']);
  });

  test('a URL on an allowed origin, any path and query', () => {
    expect(allowedRedirect(settings, 'http://localhost:5173/auth/callback?next=/projects')).toBe('http://localhost:5173/auth/callback?next=/projects');
    expect(allowedRedirect(settings, 'https://app.example.com/')).toBe('https://app.example.com/');
  });

  test.each([
    'https://evil.example/cb',
    'http://localhost:5173.evil.example/cb',
    'http://app.example.com/cb',
    'https://user:pw@app.example.com/cb',
    'javascript:alert(1)',
    '//evil.example/cb',
    '/auth/callback',
    'not a url',
  ])('refuses %s', (redirectTo) => {
    expect(allowedRedirect(settings, redirectTo)).toBeNull();
  });
});
