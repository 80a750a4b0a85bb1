import { GatehouseError } from './errors.ts';

/**
 * A handler built on its first request, for what only the control plane's rarer parts need (the admin API, /auth,
 * SCIM: scimmy, openid-client, Argon2id, their zod schemas), so none of it is resident at start. Concurrent first
 * requests share one build. A build that fails is not kept: that request and those waiting on it are refused with
 * an `internal` error (logged with the cause, never let through), and the next request tries again.
 */
export function builtOnFirstUse<Req, Res>(what: string, build: () => Promise<(req: Req) => Promise<Res>>): (req: Req) => Promise<Res> {
  let handler: Promise<(req: Req) => Promise<Res>> | undefined;
  return async (req) => {
    handler ??= build().catch((err: unknown) => {
      handler = undefined;
      throw new GatehouseError('internal', `${what} is unavailable`, { cause: err });
    });
    return (await handler)(req);
  };
}
