import { inspect } from 'node:util';

/**
 * A secret value that does not print. `String(secret)`, `JSON.stringify(secret)` and `util.inspect(secret)` all
 * give `[redacted]`; only `reveal()` returns the value, so every read of a secret is greppable.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}
