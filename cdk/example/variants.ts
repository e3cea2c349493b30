/**
 * Synthesise the construct for several sets of props at once, for the deployment tests:
 * `node dist/example/variants.js '{"name": {props...}}'` prints {"name": template, ...}.
 *
 * Region and account come from KEEPER_REGION and KEEPER_ACCOUNT; the code is a stub
 * directory (KEEPER_CODE_DIR), since only the template is looked at.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DsSnapshotKeeper, DsSnapshotKeeperProps } from '../lib';

const variants: Record<string, Omit<DsSnapshotKeeperProps, 'code'>> = JSON.parse(process.argv[2] ?? '{}');
// Everything written here goes in one scratch folder, removed on exit: nothing is left behind.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'keeper-cdk-variants-'));
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));
const codeDir = process.env.KEEPER_CODE_DIR ?? path.join(scratch, 'code');
fs.mkdirSync(codeDir, { recursive: true });
if (!fs.existsSync(path.join(codeDir, 'bootstrap'))) fs.writeFileSync(path.join(codeDir, 'bootstrap'), '#!/bin/sh\n');
const app = new App({ outdir: path.join(scratch, 'cdk.out') });
for (const [name, props] of Object.entries(variants)) {
  const stack = new Stack(app, name, {
    env: { account: process.env.KEEPER_ACCOUNT ?? '123456789012', region: process.env.KEEPER_REGION ?? 'eu-west-1' },
  });
  new DsSnapshotKeeper(stack, 'Keeper', { code: lambda.Code.fromAsset(codeDir), ...props });
}
const assembly = app.synth();
const out: Record<string, unknown> = {};
for (const name of Object.keys(variants)) out[name] = assembly.getStackByName(name).template;
process.stdout.write(JSON.stringify(out));
