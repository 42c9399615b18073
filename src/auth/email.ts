/** The address shape and length the profiles table accepts (its check constraint). */
export function isAccountEmail(email: string): boolean {
  return email.length <= 320 && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email);
}
