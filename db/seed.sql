-- Demo data for the embedded sandbox, applied once by `npm start` (SEED_DEMO_DATA).
-- User ids are the version-5 UUIDs that `npm run token -- <email>` puts in `sub`.
--   alice@acme.test    owner of Acme
--   bob@acme.test      member of Acme (viewer on "Docs Portal")
--   carol@globex.test  owner of Globex
-- Runs as the database owner, outside row level security; a second run changes nothing.
do $$
declare
  alice constant uuid := 'deb22b91-cab1-5728-8dae-e6c44f965a66';
  bob constant uuid := '14991504-7ecf-574c-a0d4-8598fed7401d';
  carol constant uuid := '44a4baf6-9dee-544e-ac6a-e709057ae608';
  acme constant uuid := 'a0000000-0000-4000-8000-000000000001';
  globex constant uuid := 'b0000000-0000-4000-8000-000000000001';
begin
  if exists (select 1 from public.organizations where id = acme) then
    return;
  end if;

  insert into auth.users (id, email) values
    (alice, 'alice@acme.test'), (bob, 'bob@acme.test'), (carol, 'carol@globex.test')
  on conflict (id) do nothing;

  insert into public.organizations (id, name, plan_tier, created_by) values
    (acme, 'Acme', 'pro', alice),
    (globex, 'Globex', 'free', carol);

  insert into public.profiles (id, email, full_name, default_organization_id) values
    (alice, 'alice@acme.test', 'Alice Anderson', acme),
    (bob, 'bob@acme.test', 'Bob Brown', acme),
    (carol, 'carol@globex.test', 'Carol Chen', globex)
  on conflict (id) do nothing;

  insert into public.organization_members (organization_id, user_id, role) values
    (acme, alice, 'owner'), (acme, bob, 'member'), (globex, carol, 'owner');

  -- Creators become project admins through the projects trigger.
  insert into public.projects (id, organization_id, user_id, name, description, type, status, privacy) values
    ('a0000000-0000-4000-8000-000000000101', acme, alice, 'Payments API', 'The payments service and its runbooks.', 'repository', 'active', 'shared'),
    ('a0000000-0000-4000-8000-000000000102', acme, alice, 'Docs Portal', 'Product documentation, ingested from files.', 'files', 'draft', 'private'),
    ('a0000000-0000-4000-8000-000000000103', acme, bob, 'Mobile App', 'Notes on the mobile client.', 'manual', 'draft', 'shared'),
    ('b0000000-0000-4000-8000-000000000101', globex, carol, 'Data Pipeline', 'ETL jobs and their configuration.', 'repository', 'draft', 'shared'),
    ('b0000000-0000-4000-8000-000000000102', globex, carol, 'Support Bot', 'Answers drawn from the help centre.', 'manual', 'draft', 'private');

  insert into public.project_members (project_id, user_id, email, name, role, accepted_at) values
    ('a0000000-0000-4000-8000-000000000102', bob, 'bob@acme.test', 'Bob Brown', 'viewer', now());
end
$$;
