import { parseArgs } from 'node:util';
import { createOrganisation, deleteOrganisation, listOrganisations, renameOrganisation } from '../services/organisations.ts';
import { clientConfig, mcpUrlOf } from './client-config.ts';
import type { CliContext } from './context.ts';
import { out, table, UsageError } from './output.ts';

export const ORGS_USAGE = `gatehouse orgs create SLUG --name NAME [--json]   (prints the new organisation's owner key once)
gatehouse orgs list [--json]
gatehouse orgs rename SLUG --name NAME
gatehouse orgs delete SLUG --yes   (keys stop working, connectors, virtual servers and members go; the audit chain stays)`;

/** Organisations are created by the operator at the machine; an organisation's own owner cannot create others. */
export async function orgsCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { name: { type: 'string' }, json: { type: 'boolean' }, yes: { type: 'boolean' } },
  });
  const slug = positionals[0];
  switch (sub) {
    case 'create': {
      if (slug === undefined || values.name === undefined) throw new UsageError('orgs create needs a SLUG and --name');
      const { org, ownerKey } = await createOrganisation(ctx, ctx.actor, { slug, name: values.name });
      if (values.json === true) {
        out(JSON.stringify({ ...org, ownerKey }));
        return;
      }
      out(`Created organisation ${org.slug} (${org.id}). Its owner API key, shown this once:`);
      out('');
      out(`  ${ownerKey}`);
      out('');
      out(clientConfig(mcpUrlOf(ctx.config), ownerKey));
      return;
    }
    case 'list': {
      const orgs = await listOrganisations(ctx, ctx.actor);
      if (values.json === true) out(JSON.stringify(orgs));
      else table(orgs.map((o) => ({ id: o.id, slug: o.slug, name: o.name, created: o.createdAt })), ['id', 'slug', 'name', 'created']);
      return;
    }
    case 'rename': {
      if (slug === undefined || values.name === undefined) throw new UsageError('orgs rename needs a SLUG and --name');
      await renameOrganisation(ctx, ctx.actor, (await ctx.org(slug)).id, values.name);
      out(`Renamed ${slug}`);
      return;
    }
    case 'delete': {
      if (slug === undefined) throw new UsageError('orgs delete needs a SLUG');
      if (values.yes !== true) throw new UsageError(`orgs delete ${slug} cannot be undone; add --yes`);
      await deleteOrganisation(ctx, ctx.actor, (await ctx.org(slug)).id);
      out(`Deleted organisation ${slug}`);
      return;
    }
    default:
      throw new UsageError(ORGS_USAGE);
  }
}
