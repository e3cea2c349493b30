/**
 * Example app: one stack with the keeper, its values from CDK context or the environment
 * (example/settings.ts lists them), for example:
 *
 *   cargo lambda build --release --arm64
 *   cd cdk && npx cdk deploy -c region=eu-west-1 -c directoryIds=d-0123456789 \
 *       -c alertEmail=identity-team@example.com
 *
 * With the released package (npm install ds-snapshot-keeper-cdk), the function code is the
 * arm64 zip the package carries, and nothing is built; codeDir deploys a build of your own.
 *
 * A missing or malformed value stops it with an error that names the value and how to give
 * it. The stack's outputs name the topic and the dashboard's console URL.
 */
import * as path from 'path';
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DsSnapshotKeeper } from '../lib';
import { exampleSettings } from './settings';

const app = new App();
const get = (context: string, env: string): string | undefined => {
  const value = app.node.tryGetContext(context) ?? process.env[env];
  return value === undefined || value === '' ? undefined : String(value);
};
let settings;
try {
  settings = exampleSettings(get, path.join(__dirname, '..', '..', '..', 'target', 'lambda', 'ds-snapshot-keeper'));
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  process.exit(2);
}
// The cdk CLI overwrites CDK_DEFAULT_REGION with its own guess (us-east-1 without a
// profile), so the Region is the one given (region / KEEPER_REGION) first.
const stack = new Stack(app, 'DsSnapshotKeeperExample', {
  env: { account: settings.account ?? process.env.CDK_DEFAULT_ACCOUNT, region: settings.region },
});
const keeper = new DsSnapshotKeeper(stack, 'Keeper', {
  code: settings.codeDir === undefined ? undefined : lambda.Code.fromAsset(settings.codeDir),
  directoryIds: settings.directoryIds,
  discoveryTag: settings.discoveryTag,
  scheduleExpression: 'cron(0 5 * * ? *)',
  scheduleTimezone: settings.scheduleTimezone,
  alertEmail: settings.alertEmail,
});
new CfnOutput(stack, 'FunctionName', { value: keeper.function.functionName, description: 'Invoke by hand' });
new CfnOutput(stack, 'TopicArn', { value: keeper.topic.topicArn, description: 'Where alerts and alarms are published' });
if (keeper.dashboardUrl) {
  new CfnOutput(stack, 'DashboardUrl', { value: keeper.dashboardUrl, description: 'The CloudWatch dashboard in the console' });
}
app.synth();
