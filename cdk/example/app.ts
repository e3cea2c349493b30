/**
 * Example app: `npm run synth` turns it into cdk.out/DsSnapshotKeeperExample.template.json.
 *
 * KEEPER_CODE_DIR points at the function code. For a real deployment build it with
 * `cargo lambda build --release --arm64` and use target/lambda/ds-snapshot-keeper
 * (the default below); tests and CI synthesise with a stub directory instead.
 */
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DsSnapshotKeeper } from '../lib';

const app = new App();
// The cdk CLI overwrites CDK_DEFAULT_REGION with its own guess (us-east-1 without a
// profile), so the Region to deploy to is read from KEEPER_REGION first.
const stack = new Stack(app, 'DsSnapshotKeeperExample', {
  env: {
    account: process.env.KEEPER_ACCOUNT ?? process.env.CDK_DEFAULT_ACCOUNT,
    region: process.env.KEEPER_REGION ?? process.env.CDK_DEFAULT_REGION,
  },
});
const codeDir = process.env.KEEPER_CODE_DIR ?? path.join(__dirname, '..', '..', '..', 'target', 'lambda', 'ds-snapshot-keeper');
new DsSnapshotKeeper(stack, 'Keeper', {
  code: lambda.Code.fromAsset(codeDir),
  directoryIds: ['d-0123456789'],
  scheduleExpression: 'cron(0 5 * * ? *)',
  scheduleTimezone: 'Europe/Paris',
  alertEmail: 'identity-team@example.com',
});
app.synth();
