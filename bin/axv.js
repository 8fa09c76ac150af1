#!/usr/bin/env node
// axv from a checkout: runs the TypeScript sources through tsx, so nothing needs building first.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../sdk/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
