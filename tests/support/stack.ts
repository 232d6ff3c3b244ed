// Where the integration tests find the running local stack (started by `npm test`, or by hand
// with `npm start`): the stack.json it wrote, named by NEXUS_STACK_FILE.

export interface StackInfo {
  apiUrl: string;
  webUrl: string;
  dbUrl: string;
  anonKey: string;
  serviceRoleKey: string;
}

let cached: StackInfo | undefined;

export function stack(): StackInfo {
  if (cached) return cached;
  const file = Deno.env.get("NEXUS_STACK_FILE") ?? ".local/test/stack.json";
  try {
    cached = JSON.parse(Deno.readTextFileSync(file)) as StackInfo;
  } catch (e) {
    throw new Error(`No running stack: cannot read ${file} (run the tests with npm test). ${e}`);
  }
  return cached;
}
