// The CLI's client is typed from openapi/openapi.json: its generated types must match the
// committed document, or the CLI would compile against an API that no longer exists.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';

// A dev dependency of the CLI package (with the TypeScript version it supports), resolved from there.
const fromCli = createRequire(new URL('../../packages/cli/package.json', import.meta.url));

/** The two functions used, typed here: the package is not resolvable from the root for tsc. */
interface OpenapiTypescript {
  default(schema: URL): Promise<unknown>;
  astToString(ast: unknown): string;
}

it('packages/cli/src/api.d.ts is generated from the current openapi/openapi.json (npm run generate -w @brevet/cli)', { timeout: 60_000 }, async () => {
  const { default: openapiTS, astToString } = (await import(pathToFileURL(fromCli.resolve('openapi-typescript')).href)) as OpenapiTypescript;
  const document = new URL('../../openapi/openapi.json', import.meta.url);
  const generated = astToString(await openapiTS(document));
  const committed = readFileSync(new URL('../../packages/cli/src/api.d.ts', import.meta.url), 'utf8');
  expect(committed.replace(/^\/\*\*[\s\S]*?\*\/\n\n/, '')).toBe(generated.replace(/^\/\*\*[\s\S]*?\*\/\n\n/, ''));
});
