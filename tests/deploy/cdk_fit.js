// The construct's deploy-time copy of the keeper's fit rules, asked directly: reads a JSON list
// of props ({retainCount, reservedSlots, retention, tiers, warnAgeDays}) on stdin, builds a
// DsSnapshotKeeper with each in a fresh stack, and prints [{refused, message}] on stdout.
// test_aws_semantics.py holds the answers to the keeper binary's own refusals at start.
const path = require('path');
const ROOT = path.resolve(__dirname, '..', '..');
const cdk = require(path.join(ROOT, 'cdk', 'node_modules', 'aws-cdk-lib'));
const lambda = require(path.join(ROOT, 'cdk', 'node_modules', 'aws-cdk-lib', 'aws-lambda'));
const { DsSnapshotKeeper } = require(path.join(ROOT, 'cdk', 'dist', 'lib'));

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const answers = input.map((props) => {
  const app = new cdk.App();
  const stack = new cdk.Stack(app, 'Fit', { env: { account: '123456789012', region: 'eu-west-1' } });
  try {
    new DsSnapshotKeeper(stack, 'Keeper', {
      code: lambda.Code.fromAsset(path.join(ROOT, 'cdk', '.stub')),
      directoryIds: ['d-0123456789'],
      ...props,
    });
    return { refused: false, message: '' };
  } catch (e) {
    return { refused: true, message: String(e.message) };
  }
});
process.stdout.write(JSON.stringify(answers));
