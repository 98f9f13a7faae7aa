// Writes the TypeScript types of everything the lab calls (src/generated/hub.ts) from the
// OpenAPI document that `python -m zslab.jupyter.openapi` writes (openapi.json): the hub's API
// and the Jupyter server extension's own routes. `make types` runs both steps.
//
//   node scripts/generate-types.mjs [openapi.json] [src/generated/hub.ts]
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import openapiTS, { astToString } from 'openapi-typescript';

const [input = 'openapi.json', output = 'src/generated/hub.ts'] = process.argv.slice(2);

const HEADER = `/**
 * GENERATED FILE: do not edit. Types of the hub's API and of the Jupyter server extension's
 * routes, made by openapi-typescript from lab_ext/openapi.json (itself generated from
 * zslab/schemas.py, the hub's routers and zslab/jupyter/models.py).
 *
 * Regenerate with \`make types\` after changing any of them; tests/jupyter/test_lab_types.py
 * fails while this file is stale. Friendly names for these types live in src/types.ts.
 */

`;

const ast = await openapiTS(pathToFileURL(resolve(input)), {
  // The hub marks what it always sends as `required`; a default alone says nothing about
  // whether an answer carries the field, and a request body may leave it out.
  defaultNonNullable: false
});
await mkdir(dirname(resolve(output)), { recursive: true });
await writeFile(output, HEADER + astToString(ast));
