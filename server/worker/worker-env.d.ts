/**
 * Types for the workerd-only module `cloudflare:workers`, declared here instead of loading
 * @cloudflare/workers-types globally (its globals would clash with the DOM lib the client
 * code is checked against). Only what server/worker.ts uses; the shapes come from
 * @cloudflare/workers-types' own module-style entry (index.ts).
 */
declare module "cloudflare:workers" {
  import type { DurableObjectState, Rpc } from "@cloudflare/workers-types/index.ts";
  export abstract class DurableObject<Env = unknown> implements Rpc.DurableObjectBranded {
    [Rpc.__DURABLE_OBJECT_BRAND]: never;
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
  }
}
