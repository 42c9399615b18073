import { AuthClient } from '@supabase/supabase-js';
import type { SupabaseSettings } from './client';

/**
 * Deletes a user from Supabase Auth with the project's service role key (its
 * admin API), after their data here was erased. Without the key the
 * auth.users row stays (Supabase owns it): the person's data is gone and
 * app.erased_accounts stops the account from being provisioned again, and
 * the operator deletes the user in Supabase's dashboard.
 */
export async function deleteSupabaseUser(settings: SupabaseSettings, userId: string): Promise<'deleted' | 'not_configured'> {
  if (!settings.serviceRoleKey) return 'not_configured';
  const admin = new AuthClient({
    url: `${settings.url}/auth/v1`,
    headers: { apikey: settings.serviceRoleKey, Authorization: `Bearer ${settings.serviceRoleKey}` },
    persistSession: false,
    autoRefreshToken: false,
    detectSessionInUrl: false,
  }).admin;
  const { error } = await admin.deleteUser(userId);
  if (error) throw new Error(`Supabase Auth did not delete the user: ${error.message}`);
  return 'deleted';
}
