-- Admission calls private.plan_allows once per candidate model (a routed request passes every
-- servable model as a possible default) and private.effective_plan twice. A SQL function with
-- its own SET clause is never inlined: each call paid a full function call with the setting
-- saved and restored, which made routed admission about twice as slow as explicit admission.
-- Both name every object with its schema and use only built-in operators (always resolved from
-- pg_catalog), and only security-definer functions that pin search_path = '' call them (the
-- private schema is closed to the API roles), so they can do without their own setting.
alter function private.plan_allows(public.plans, jsonb) reset search_path;
alter function private.effective_plan(uuid) reset search_path;
