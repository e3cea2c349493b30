import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DsSnapshotKeeper, DsSnapshotKeeperProps, KeeperConstants, NotifyLevel, Retention } from '../lib';

// Everything the tests write (the stub bootstrap, each app's cdk.out) lives in one scratch
// folder that is removed afterwards: nothing is left in the temp folder.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'keeper-cdk-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function stubCode(): lambda.Code {
  const dir = path.join(scratch, 'stub');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'bootstrap'), '#!/bin/sh\n');
  return lambda.Code.fromAsset(dir);
}

function synth(props: Partial<DsSnapshotKeeperProps> = {}): Template {
  const app = new App({ outdir: fs.mkdtempSync(path.join(scratch, 'cdk.out-')) });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  new DsSnapshotKeeper(stack, 'Keeper', { code: stubCode(), ...props });
  return Template.fromStack(stack);
}

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string };

function keeperStatements(t: Template): Statement[] {
  const roles = t.findResources('AWS::IAM::Role', {
    Properties: { AssumeRolePolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })]) } },
  });
  const out: Statement[] = [];
  for (const role of Object.values(roles)) {
    for (const p of role.Properties.Policies ?? []) out.push(...p.PolicyDocument.Statement);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  }
  for (const policy of Object.values(t.findResources('AWS::IAM::Policy'))) {
    out.push(...policy.Properties.PolicyDocument.Statement);
  }
  return out;
}

const asList = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

describe('IAM scoping', () => {
  test('snapshot writes are scoped to each configured directory; * only for the Describe calls', () => {
    const t = synth({ directoryIds: ['d-0123456789', 'd-abcdef0123'] });
    const statements = keeperStatements(t);
    for (const s of statements) {
      for (const action of asList(s.Action)) {
        if (s.Resource === '*') expect(['ds:DescribeSnapshots', 'ds:DescribeDirectories']).toContain(action);
        expect(action).not.toMatch(/^ds:\*$|^\*$/);
      }
    }
    const writes = statements.find((s) => asList(s.Action).includes('ds:DeleteSnapshot'))!;
    const text = JSON.stringify(writes.Resource);
    expect(text).toContain(':directory/d-0123456789');
    expect(text).toContain(':directory/d-abcdef0123');
    expect(text).not.toContain('directory/*');
  });

  test('with discovery, writes need the opt-in tag', () => {
    const t = synth({ discoveryTag: { key: 'backup', value: 'ds-keeper' } });
    const writes = keeperStatements(t).find((s) => asList(s.Action).includes('ds:CreateSnapshot'))!;
    expect(writes.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/backup': 'ds-keeper' } });
  });

  test('restore is off by default; allowRestore grants ds:RestoreFromSnapshot on the managed directories only', () => {
    const restores = (t: Template) => keeperStatements(t).filter((s) => asList(s.Action).includes('ds:RestoreFromSnapshot'));
    const off = synth({ directoryIds: ['d-0123456789'] });
    expect(restores(off)).toHaveLength(0);
    off.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ALLOW_RESTORE: 'false' }) },
    });
    const listed = synth({ directoryIds: ['d-0123456789'], allowRestore: true });
    const [one] = restores(listed);
    expect(asList(one.Action)).toEqual(['ds:RestoreFromSnapshot']);
    expect(JSON.stringify(one.Resource)).toContain(':directory/d-0123456789');
    expect(JSON.stringify(one.Resource)).not.toContain('directory/*');
    listed.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ALLOW_RESTORE: 'true' }) },
    });
    const tagged = synth({ discoveryTag: { key: 'backup', value: 'ds-keeper' }, allowRestore: true });
    expect(restores(tagged)[0].Condition).toEqual({ StringEquals: { 'aws:ResourceTag/backup': 'ds-keeper' } });
  });

  test('every run may read directory tags; only allowRestore may write one, the restore mark', () => {
    const tagWrites = (t: Template) => keeperStatements(t).filter((s) => asList(s.Action).includes('ds:AddTagsToResource'));
    for (const props of [{ directoryIds: ['d-0123456789'] }, {}]) {
      const reads = keeperStatements(synth(props)).filter((s) => asList(s.Action).includes('ds:ListTagsForResource'));
      expect(reads).toHaveLength(1);
      expect(reads[0].Condition).toBeUndefined();
      expect(tagWrites(synth(props))).toHaveLength(0);
      const [write] = tagWrites(synth({ ...props, allowRestore: true }));
      expect(asList(write.Action)).toEqual(['ds:AddTagsToResource']);
      expect(write.Condition).toMatchObject({
        'ForAllValues:StringEquals': { 'aws:TagKeys': [KeeperConstants.RESTORE_MARK_TAG_KEY] },
        'Null': { [`aws:RequestTag/${KeeperConstants.RESTORE_MARK_TAG_KEY}`]: 'false' },
      });
    }
    expect(KeeperConstants.RESTORE_MARK_TAG_KEY).toBe('ds-snapshot-keeper:restore');
  });

  test('sns:Publish only on the topic', () => {
    const t = synth();
    const publish = keeperStatements(t).filter((s) => asList(s.Action).includes('sns:Publish'));
    expect(publish).toHaveLength(1);
    expect((publish[0].Resource as { Ref: string }).Ref).toMatch(/^KeeperAlertTopic/);
  });
});

describe('schedule', () => {
  test('EventBridge Scheduler with time zone, retries and a dead-letter queue', () => {
    const t = synth({ scheduleExpression: 'cron(0 3 * * ? *)', scheduleTimezone: 'Europe/Paris' });
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      Target: Match.objectLike({
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      }),
    });
  });

  test('the function runs one at a time on arm64, with every setting wired', () => {
    const t = synth({ directoryIds: ['d-0123456789'], retainCount: 2, notifyLevel: NotifyLevel.FAILURES });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Runtime: 'provided.al2023',
      Handler: 'bootstrap',
      ReservedConcurrentExecutions: 1,
      Environment: {
        Variables: Match.objectLike({ DIRECTORY_IDS: 'd-0123456789', RETAIN_COUNT: '2', NOTIFY_LEVEL: 'failures', DISCOVERY_TAG: '' }),
      },
    });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
  });
});

describe('alarms', () => {
  test('unreported failures, freshness and dead letters; OK actions only where OK means resolved', () => {
    const t = synth();
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(5);
    expect(Object.values(synth({ unmanagedDirectoriesAlarm: false }).findResources('AWS::CloudWatch::Alarm'))).toHaveLength(4);
    expect(Object.values(synth({ lowFreeSlotsAlarm: false }).findResources('AWS::CloudWatch::Alarm'))).toHaveLength(4);
    for (const a of alarms) {
      expect(a.Properties.AlarmDescription.length).toBeGreaterThan(60);
      expect(a.Properties.AlarmActions).toHaveLength(1);
      const unreported = JSON.stringify(a.Properties).includes('FailedRunsReported');
      expect(a.Properties.OKActions ?? []).toHaveLength(unreported ? 0 : 1);
    }
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MaxNewestCompletedSnapshotAgeDays',
      Namespace: 'DsSnapshotKeeper',
      Dimensions: [{ Name: 'FunctionName', Value: Match.anyValue() }],
      TreatMissingData: 'breaching',
    });
    // Free slots below reservedSlots at every run for two days running.
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MinFreeManualSnapshotSlots',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      Statistic: 'Maximum',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
    });
  });

  test('a dashboard by default, none when turned off', () => {
    expect(Object.keys(synth().findResources('AWS::CloudWatch::Dashboard'))).toHaveLength(1);
    expect(Object.keys(synth({ dashboard: false }).findResources('AWS::CloudWatch::Dashboard'))).toHaveLength(0);
  });
});

describe('tamper alert', () => {
  test("a rule hands others' deletions and restores to the function by default; none when turned off", () => {
    const t = synth({ directoryIds: ['d-0123456789'] });
    const rules = Object.values(t.findResources('AWS::Events::Rule'));
    expect(rules).toHaveLength(1);
    const pattern = rules[0].Properties.EventPattern;
    expect(pattern).toMatchObject({
      'source': ['aws.ds'],
      'detail-type': ['AWS API Call via CloudTrail'],
      'detail': { eventSource: ['ds.amazonaws.com'], eventName: ['DeleteSnapshot', 'RestoreFromSnapshot', 'DeleteDirectory'] },
    });
    // Everyone but the keeper's role: the role's ARN, by reference, in the anything-but branch.
    const [role] = Object.keys(t.findResources('AWS::IAM::Role', {
      Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] } },
    }));
    expect(pattern.detail.$or).toEqual([
      { userIdentity: { sessionContext: { sessionIssuer: { arn: [{ 'anything-but': { 'Fn::GetAtt': [role, 'Arn'] } }] } } } },
      { userIdentity: { sessionContext: { sessionIssuer: { arn: [{ exists: false }] } } } },
    ]);
    const [fn] = Object.keys(t.findResources('AWS::Lambda::Function'));
    expect(rules[0].Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': [fn, 'Arn'] } })]);
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^KeeperTamperAlertRule'), 'Arn'] },
    });
    const off = synth({ directoryIds: ['d-0123456789'], tamperAlert: false });
    expect(Object.keys(off.findResources('AWS::Events::Rule'))).toHaveLength(0);
    expect(Object.keys(off.findResources('AWS::Lambda::Permission'))).toHaveLength(0);
  });
});

describe('encryption', () => {
  test('topic, logs and environment use a rotating customer managed key; the queue is encrypted', () => {
    const t = synth();
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue(), RetentionInDays: 365 });
    t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    t.hasResourceProperties('AWS::Lambda::Function', { KmsKeyArn: Match.anyValue() });
  });
});

describe('retention', () => {
  test('newest by default, tiered with its tiers when asked', () => {
    const env = (t: Template) => Object.values(t.findResources('AWS::Lambda::Function'))[0].Properties.Environment.Variables;
    expect(env(synth())).toMatchObject({ RETENTION: 'newest', TIERS: '35' });
    expect(env(synth({ retention: Retention.TIERED, tiers: [30] }))).toMatchObject({ RETENTION: 'tiered', TIERS: '30' });
  });
});

describe('props are validated', () => {
  test.each([
    [{ retainCount: 4, reservedSlots: 1 }, /exceeds the quota/],
    [{ retainCount: 0 }, /retainCount=0 is invalid/],
    [{ directoryIds: ['d-XYZ'] }, /directory id "d-XYZ" is invalid/],
    [{ warnAgeDays: 180 }, /warnAgeDays=180/],
    [{ snapshotPrefix: '-bad' }, /snapshotPrefix/],
    [{ directoryIds: ['d-0123456789'], excludedDirectoryIds: ['d-0123456789'] }, /both in directoryIds and excludedDirectoryIds/],
    [{ discoveryTag: { key: Token.asString({ Ref: 'TagKey' }), value: 'x' } }, /must be a literal string/],
    [{ discoveryTag: { key: 'backup', value: 'excluded' } }, /opts a directory out/],
    [{ discoveryTag: { key: 'ds-snapshot-keeper:restore', value: 'enabled' } }, /marks a restore under way/],
    [{ retention: Retention.TIERED, tiers: [7, 35] }, /of a directory's 5 manual slots/],
    [{ retention: Retention.TIERED, retainCount: 2 }, /retainCount of at least 3/],
    [{ retention: Retention.TIERED, tiers: [80] }, /at or past warnAgeDays=150/],
    [{ retention: Retention.TIERED, warnAgeDays: 60 }, /use periods under 30/],
    [{ tiers: [35, 7] }, /must increase/],
    [{ tiers: [0] }, /tiers=0 is invalid/],
  ])('%j is refused', (props, message) => {
    expect(() => synth(props as Partial<DsSnapshotKeeperProps>)).toThrow(message);
  });
});

describe('the example app', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { exampleSettings } = require('../example/settings');
  const code = path.join(scratch, 'example-code');
  fs.mkdirSync(code, { recursive: true });
  fs.writeFileSync(path.join(code, 'bootstrap'), '#!/bin/sh\n');
  const from = (values: Record<string, string>) => (context: string, env: string) => values[context] ?? values[env];

  test('takes its values from context or the environment', () => {
    const s = exampleSettings(from({ region: 'eu-west-1', KEEPER_DIRECTORY_IDS: 'd-0123456789, d-abcdef0123' }), code);
    expect(s.region).toBe('eu-west-1');
    expect(s.directoryIds).toEqual(['d-0123456789', 'd-abcdef0123']);
    expect(s.scheduleTimezone).toBe('UTC');
    const d = exampleSettings(from({ KEEPER_REGION: 'us-east-1', discoveryTag: 'team=identity' }), code);
    expect(d.discoveryTag).toEqual({ key: 'team', value: 'identity' });
  });

  test('names every missing or malformed value, and how to give it', () => {
    const saved = process.env.CDK_DEFAULT_REGION;
    delete process.env.CDK_DEFAULT_REGION;
    try {
      expect(() => exampleSettings(from({}), path.join(scratch, 'nothing-built'))).toThrow(
        /region is missing.*-c region=\.\.\..*KEEPER_REGION[\s\S]*which directories\?/,
      );
      // Nothing built at the default: the construct's own code (none from source: it says so).
      expect(exampleSettings(from({ region: 'eu-west-1', directoryIds: 'd-0123456789' }), path.join(scratch, 'nothing-built')).codeDir)
        .toBeUndefined();
      expect(() => exampleSettings(from({ region: 'eu-west-1', directoryIds: 'd-0123456789', codeDir: path.join(scratch, 'nothing-built') }), code))
        .toThrow(/no bootstrap in .*nothing-built: build the function first/);
      expect(() => exampleSettings(from({ region: 'eu-west-1', directoryIds: 'd-123' }), code)).toThrow(/"d-123" not a directory id/);
      expect(() => exampleSettings(from({ region: 'Ireland', discoveryTag: 'x' }), code)).toThrow(
        /"Ireland" is not a Region name[\s\S]*"x" is not key=value/,
      );
      expect(() => exampleSettings(from({ region: 'eu-west-1', directoryIds: 'd-0123456789', alertEmail: 'nobody' }), code)).toThrow(
        /"nobody" is not an e-mail address/,
      );
    } finally {
      if (saved !== undefined) process.env.CDK_DEFAULT_REGION = saved;
    }
  });

  test('exits 2 with the error, not a stack trace, when run without values', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { spawnSync } = require('child_process');
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    const done = spawnSync(process.execPath, [path.join(__dirname, '..', 'example', 'app.js')], { env, encoding: 'utf8' });
    expect(done.status).toBe(2);
    expect(done.stderr).toMatch(/^error: the example app cannot synthesise:/);
    expect(done.stderr).not.toMatch(/at Object\./);
  });
});

test('the dashboard URL output names the dashboard in the console', () => {
  const app = new App({ outdir: fs.mkdtempSync(path.join(scratch, 'cdk.out-')) });
  const stack = new Stack(app, 'Url', { env: { account: '123456789012', region: 'eu-west-1' } });
  const keeper = new DsSnapshotKeeper(stack, 'Keeper', { code: stubCode() });
  expect(stack.resolve(keeper.dashboardUrl)).toEqual({
    'Fn::Join': ['', ['https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/', { Ref: expect.stringMatching(/^KeeperDashboard/) }]],
  });
  const without = new DsSnapshotKeeper(new Stack(app, 'NoDash'), 'Keeper', { code: stubCode(), dashboard: false });
  expect(without.dashboardUrl).toBeUndefined();
});

test('without code, a construct built from source says it carries none and what to pass', () => {
  // The released package carries assets/bootstrap.zip (tests/packaging synthesises with it);
  // this build, from the source tree, has none.
  const stack = new Stack(new App({ outdir: fs.mkdtempSync(path.join(scratch, 'cdk.out-')) }), 'NoCode');
  expect(() => new DsSnapshotKeeper(stack, 'Keeper', {})).toThrow(
    /no `code` given, and this build of the construct carries no function code[\s\S]*lambda\.Code\.fromAsset/,
  );
});
