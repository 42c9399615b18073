import { isPlainText } from './text';

/**
 * The address shape and length the profiles table accepts (its check
 * constraint), without control characters or broken UTF-16: the check lets
 * those through (or the column refuses NUL with a data error), and no mail
 * system delivers to them.
 */
export function isAccountEmail(email: string): boolean {
  return email.length <= 320 && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email) && isPlainText(email);
}
