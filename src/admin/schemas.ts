import * as z from 'zod';
import { ORG_ROLES } from '../gateway/access/permissions.ts';

/** Schemas shared by several resources. */
export const roleSchema = z.enum(ORG_ROLES);

/** An id in a path. Its shape is not checked: a malformed id is answered like an unknown one, 404. */
export function idParam<N extends string>(name: N) {
  return z.strictObject({ [name]: z.string().min(1).max(128) } as Record<N, z.ZodString>);
}

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});

/** A non-negative integer given as query text. */
export const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,10}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const isoTime = z.iso.datetime({ offset: true });
