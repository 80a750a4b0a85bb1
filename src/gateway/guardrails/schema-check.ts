import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { canonicalJson } from '../catalog/pinning.ts';
import { createHash } from 'node:crypto';

/**
 * JSON Schema validation of what goes to a tool and what comes back, against the tool's own schemas. The dialect is
 * chosen by `$schema`: draft-07 (and older drafts that draft-07 reads) with Ajv's default class, 2020-12 or none
 * with the 2020 class (MCP's default dialect). Each schema is compiled once per definition, cached by the SHA-256 of
 * its canonical JSON, so a catalog rebuild that hands out new objects for the same definition compiles nothing.
 * A schema that cannot be compiled throws: the caller refuses (fail closed).
 */
export type Check = (value: unknown) => readonly string[] | undefined;

const MAX_MESSAGES = 10;
const MAX_CACHED = 2000;

function instances(): { draft07: Ajv; v2020: Ajv2020 } {
  // strict: false - upstream schemas carry keywords of their own (titles, examples, vendor keys) and still mean the same.
  // logger: false - Ajv's warnings (an unknown format, ignored) would go to the console, outside the gateway's log.
  const options = { strict: false, allErrors: true, validateFormats: true, logger: false } as const;
  const draft07 = new Ajv(options);
  const v2020 = new Ajv2020(options);
  const withFormats = addFormats as unknown as (ajv: Ajv | Ajv2020) => void;
  withFormats(draft07);
  withFormats(v2020);
  return { draft07, v2020 };
}

function messages(errors: readonly ErrorObject[] | null | undefined): string[] {
  const list = (errors ?? []).slice(0, MAX_MESSAGES).map((e) => `${e.instancePath === '' ? '/' : e.instancePath} ${e.message ?? 'is invalid'}`);
  return list.length === 0 ? ['/ is invalid'] : list;
}

function isDraft07(schema: Record<string, unknown>): boolean {
  const s = schema.$schema;
  return typeof s === 'string' && /json-schema\.org\/draft-0[4-7]\/schema/.test(s);
}

export class SchemaChecks {
  readonly #ajv = instances();
  readonly #byFingerprint = new Map<string, Check>();
  readonly #byObject = new WeakMap<object, Check>();

  /** The check of a schema (compiled on first use); throws when the schema cannot be compiled. */
  check(schema: unknown): Check {
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new Error('a schema must be an object');
    const known = this.#byObject.get(schema);
    if (known !== undefined) return known;
    const fp = createHash('sha256').update(canonicalJson(schema)).digest('hex');
    let check = this.#byFingerprint.get(fp);
    if (check === undefined) {
      check = this.#compile(schema as Record<string, unknown>);
      if (this.#byFingerprint.size >= MAX_CACHED) this.#byFingerprint.clear();
      this.#byFingerprint.set(fp, check);
    }
    this.#byObject.set(schema, check);
    return check;
  }

  #compile(schema: Record<string, unknown>): Check {
    // Compiled without $id (two upstreams may reuse one id for different schemas, and Ajv would refuse the second)
    // and without $schema (the class chosen by it is the dialect; an unknown meta-schema URI is not a reason to fail).
    const { $id: _id, $schema: _dialect, ...rest } = schema;
    const validate: ValidateFunction = isDraft07(schema) ? this.#ajv.draft07.compile(rest) : this.#ajv.v2020.compile(rest);
    return (value) => (validate(value) ? undefined : messages(validate.errors));
  }
}
