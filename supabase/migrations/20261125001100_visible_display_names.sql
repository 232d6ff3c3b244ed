-- Display names are shown to the other members of a conversation (member list, presence, typing).
-- PATCH /account refuses control and invisible characters (bidi overrides, zero-width ones, with
-- which one member could pass for another), but a profile is also written at sign-up (from the
-- user's metadata) and by the user himself through the Data API (the column grants of
-- 20261124000100): the database takes them out of every name it stores, whoever writes it.

create function private.visible_display_name() returns trigger
language plpgsql set search_path = '' as $$
begin
  new.display_name := nullif(btrim(regexp_replace(new.display_name,
    '[\u0001-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]',
    '', 'g')), '');
  return new;
end
$$;
revoke execute on function private.visible_display_name() from public, anon, authenticated;

create trigger profiles_visible_display_name before insert or update of display_name on public.profiles
  for each row when (new.display_name is not null) execute function private.visible_display_name();
