/**
 * DsSnapshotKeeper: the CDK construct for ds-snapshot-keeper.
 *
 * It builds the same resources as the SAM template (template.yaml): the arm64 function with
 * reserved concurrency 1, an EventBridge Scheduler schedule with retries and a dead-letter
 * queue, a KMS-encrypted alert topic, a log group with retention, least-privilege IAM scoped
 * to the configured directories (or to directories carrying an opt-in tag), its alarms and a
 * CloudWatch dashboard.
 *
 * The package is built with jsii, so the same construct is published for TypeScript, Python,
 * Java, .NET and Go: props are named interfaces and enums, never inline types or unions.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * Facts of Directory Service and names of the keeper, for apps that build on the construct
 * (a jsii library exports constants as static members: module constants do not cross to
 * other languages).
 */
export class KeeperConstants {
  /** The manual snapshot quota of a directory. */
  public static readonly MANUAL_SNAPSHOT_LIMIT = 5;
  /** A snapshot can be restored only while it is younger than this many days. */
  public static readonly RESTORE_LIMIT_DAYS = 180;
  /** The CloudWatch namespace of the keeper's metrics. */
  public static readonly METRIC_NAMESPACE = 'DsSnapshotKeeper';
  /** The discovery tag key of the SAM template, and this construct's default. */
  public static readonly DEFAULT_DISCOVERY_TAG_KEY = 'ds-snapshot-keeper';
  /** The discovery tag value that opts a directory out; never a valid `discoveryTag.value`. */
  public static readonly EXCLUDED_TAG_VALUE = 'excluded';
  /**
   * The tag that marks a directory while a restore is under way (set by the restore, read by
   * every run); the only tag key the keeper ever writes.
   */
  public static readonly RESTORE_MARK_TAG_KEY = 'ds-snapshot-keeper:restore';

  private constructor() {}
}

const MANUAL_SNAPSHOT_LIMIT = KeeperConstants.MANUAL_SNAPSHOT_LIMIT;

/**
 * The function code the released package carries: `assets/bootstrap.zip` beside `jsii-lib/`
 * (`make dist` puts the arm64 release build there). A construct built from the source tree
 * carries none, and says so.
 */
function bundledCode(): lambda.Code {
  const zip = path.join(__dirname, '..', 'assets', 'bootstrap.zip');
  if (!fs.existsSync(zip)) {
    throw new Error(
      'DsSnapshotKeeper: no `code` given, and this build of the construct carries no function code ' +
        `(${zip} is missing: only the released package has it). Install the released package, or pass ` +
        "code: lambda.Code.fromAsset('target/lambda/ds-snapshot-keeper') after `cargo lambda build --release --arm64`.",
    );
  }
  return lambda.Code.fromAsset(zip);
}
const RESTORE_LIMIT_DAYS = KeeperConstants.RESTORE_LIMIT_DAYS;
const METRIC_NAMESPACE = KeeperConstants.METRIC_NAMESPACE;

/** Which restore points the keeper keeps inside a directory's 5 manual slots. */
export enum Retention {
  /** The newest `retainCount` snapshots (about 3 days back with daily runs). */
  NEWEST = 'newest',
  /**
   * The newest, and per tier the first snapshot of this period and of the previous one: a
   * restore point between the period and twice it old (see `tiers`).
   */
  TIERED = 'tiered',
}

/** What a run publishes to the alert topic. */
export enum NotifyLevel {
  /** Only runs with failures (and critical flags). */
  FAILURES = 'failures',
  /** Failures and warnings: snapshots near the 180-day limit, skipped directories... */
  WARNINGS = 'warnings',
  /** Every run. */
  ALL = 'all',
}

/**
 * The function's application log level (Lambda advanced logging controls). WARN and ERROR
 * are not offered: the metrics and the run report are INFO lines, and filtering them out
 * would silence the metrics (the freshness alarm would then fire for ever).
 */
export enum LogLevel {
  /** Logs what DEBUG logs: the release build compiles trace events out. */
  TRACE = 'TRACE',
  DEBUG = 'DEBUG',
  INFO = 'INFO',
}

/** The tag that opts a directory in, with discovery. */
export interface DiscoveryTag {
  /**
   * The tag key. It must be a literal string: CloudFormation does not substitute inside an
   * IAM condition key, so a token or parameter here would never match.
   */
  readonly key: string;
  /** The tag value that opts a directory in (the value `excluded` opts it out on purpose). */
  readonly value: string;
}

export interface DsSnapshotKeeperProps {
  /**
   * The function code, to deploy a build of your own: the directory
   * `cargo lambda build --release --arm64` writes,
   * `lambda.Code.fromAsset('target/lambda/ds-snapshot-keeper')`, or the zip of
   * `--output-format zip`.
   * @default - the arm64 `bootstrap.zip` this package carries: the release build of the
   * keeper of the same version as the package
   */
  readonly code?: lambda.Code;
  /** Directories to manage. Omit to discover the directories carrying `discoveryTag`. */
  readonly directoryIds?: string[];
  /**
   * With discovery, the opt-in tag.
   * @default - key `ds-snapshot-keeper`, value `enabled`
   */
  readonly discoveryTag?: DiscoveryTag;
  /** EventBridge Scheduler expression. @default 'cron(0 5 * * ? *)' */
  readonly scheduleExpression?: string;
  /** IANA time zone of the schedule. @default 'UTC' */
  readonly scheduleTimezone?: string;
  /** Owned Completed snapshots to keep per directory. @default 3 */
  readonly retainCount?: number;
  /** Which restore points to keep. @default Retention.NEWEST */
  readonly retention?: Retention;
  /**
   * With `Retention.TIERED`, the tiers' periods in days, increasing, each 1..89. Each tier
   * keeps the first snapshot of this period and of the previous one, so `retainCount` must be
   * at least 1 + 2 per tier, and `warnAgeDays` over twice the longest period. One tier is what
   * fits a directory's 5 manual slots.
   * @default [35]
   */
  readonly tiers?: number[];
  /** Slots kept free for the snapshot AWS takes before schema extensions. @default 1 */
  readonly reservedSlots?: number;
  /** Flag snapshots older than this many days (the restore limit is 180). @default 150 */
  readonly warnAgeDays?: number;
  /** The prefix of the snapshot names the keeper writes (and owns). @default 'keeper-' */
  readonly snapshotPrefix?: string;
  /** No new snapshot when the newest is younger than this (0: always). @default 60 */
  readonly minIntervalMinutes?: number;
  /** Allow pruning manual snapshots the keeper did not take. @default false */
  readonly pruneUnowned?: boolean;
  /**
   * Allow the function's `restore` action (`{"action": "restore", ...}`): sets ALLOW_RESTORE
   * and grants `ds:RestoreFromSnapshot` on the managed directories only, like the other
   * writes, with `ds:AddTagsToResource` for the one tag that marks a restore under way
   * (`KeeperConstants.RESTORE_MARK_TAG_KEY`). A restore overwrites a whole directory; leave it off unless operators restore
   * through the function. @default false
   */
  readonly allowRestore?: boolean;
  /** What a run publishes to the alert topic. @default NotifyLevel.WARNINGS */
  readonly notifyLevel?: NotifyLevel;
  /** An e-mail address to subscribe to the alert topic. @default - no subscription */
  readonly alertEmail?: string;
  /**
   * Publish to this topic instead of creating one (grant its key to the function yourself).
   * @default - a KMS-encrypted topic is created
   */
  readonly existingTopic?: sns.ITopic;
  /** Alarm when a directory's newest Completed snapshot is older than this. @default 2 */
  readonly freshnessAlarmDays?: number;
  /**
   * Directories deliberately left unmanaged: never snapshotted, reported as excluded, not
   * counted as unprotected. (With discovery, the tag `<key>=excluded` does the same.)
   */
  readonly excludedDirectoryIds?: string[];
  /** Alarm when a directory of the Region is neither managed nor excluded for a day. @default true */
  readonly unmanagedDirectoriesAlarm?: boolean;
  /**
   * Alarm when a managed directory has had fewer free manual snapshot slots than
   * `reservedSlots` for a day: the next schema extension or OS update would find no slot.
   * @default true
   */
  readonly lowFreeSlotsAlarm?: boolean;
  /**
   * Create a CloudWatch dashboard: snapshot age and free slots per directory, snapshots and
   * failures per day, and the latest failed runs.
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * Alert when anyone but the keeper deletes a snapshot, restores a directory or deletes one:
   * an EventBridge rule hands these Directory Service calls, as CloudTrail reports them, to
   * the function, which publishes them to the alert topic. Needs a CloudTrail trail logging
   * management events in the stack's Region (docs/tamper-alert.md).
   * @default true
   */
  readonly tamperAlert?: boolean;
  /** The function's application log level. @default LogLevel.INFO */
  readonly logLevel?: LogLevel;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** Plan and report only. @default false */
  readonly dryRun?: boolean;
  /** Directories processed at once. @default 4 */
  readonly concurrency?: number;
}

const DIRECTORY_ID = /^d-[0-9a-f]{10}$/;
const PREFIX = /^[A-Za-z0-9_][A-Za-z0-9_.:@#%+=-]{0,63}$/;

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`DsSnapshotKeeper: ${name}=${value} is invalid; accepted: integer ${min}..${max}`);
  }
  return value;
}

export class DsSnapshotKeeper extends Construct {
  public readonly function: lambda.Function;
  public readonly topic: sns.ITopic;
  public readonly key: kms.Key;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly schedule: scheduler.CfnSchedule;
  public readonly alarms: cloudwatch.Alarm[];
  /** The dashboard, unless `dashboard: false`. */
  public readonly dashboard?: cloudwatch.CfnDashboard;
  /** The rule that hands others' deletions and restores to the function, unless `tamperAlert: false`. */
  public readonly tamperAlertRule?: events.Rule;
  /** The dashboard's page in the CloudWatch console (the commercial partition's console),
   * unless `dashboard: false`. */
  public readonly dashboardUrl?: string;

  constructor(scope: Construct, id: string, props: DsSnapshotKeeperProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const retain = checkRange('retainCount', props.retainCount ?? 3, 1, 50);
    const reserved = checkRange('reservedSlots', props.reservedSlots ?? 1, 0, 10);
    if (retain + 1 + reserved > MANUAL_SNAPSHOT_LIMIT) {
      throw new Error(
        `DsSnapshotKeeper: retainCount=${retain} + 1 new + reservedSlots=${reserved} exceeds the quota of ` +
          `${MANUAL_SNAPSHOT_LIMIT} manual snapshots; their sum must be at most ${MANUAL_SNAPSHOT_LIMIT - 1}`,
      );
    }
    const warnAge = checkRange('warnAgeDays', props.warnAgeDays ?? 150, 1, 179);
    const retention = props.retention ?? Retention.NEWEST;
    const tiers = props.tiers ?? [35];
    tiers.forEach((d, i) => {
      checkRange('tiers', d, 1, 89);
      if (i > 0 && d <= tiers[i - 1]) {
        throw new Error(`DsSnapshotKeeper: tiers=${tiers.join(',')} is invalid; the periods must increase`);
      }
    });
    if (tiers.length === 0) {
      throw new Error('DsSnapshotKeeper: tiers=[] is invalid; accepted: one or more periods in days');
    }
    if (retention === Retention.TIERED) {
      const needed = 1 + 2 * tiers.length;
      if (needed + 1 + reserved > MANUAL_SNAPSHOT_LIMIT) {
        throw new Error(
          `DsSnapshotKeeper: tiers=${tiers.join(',')} need ${needed} kept snapshots (the newest and two per tier); ` +
            `with the new snapshot and reservedSlots=${reserved} that is ${needed + 1 + reserved} of a directory's ` +
            `${MANUAL_SNAPSHOT_LIMIT} manual slots`,
        );
      }
      if (retain < needed) {
        throw new Error(`DsSnapshotKeeper: tiers=${tiers.join(',')} need retainCount of at least ${needed}, and retainCount=${retain}`);
      }
      const longest = Math.max(...tiers);
      if (2 * longest >= warnAge) {
        throw new Error(
          `DsSnapshotKeeper: a tier of ${longest} days keeps snapshots up to ${2 * longest} days old, at or past ` +
            `warnAgeDays=${warnAge}; use periods under ${Math.ceil(warnAge / 2)}`,
        );
      }
    }
    const minInterval = checkRange('minIntervalMinutes', props.minIntervalMinutes ?? 60, 0, 43200);
    const concurrency = checkRange('concurrency', props.concurrency ?? 4, 1, 32);
    const freshness = checkRange('freshnessAlarmDays', props.freshnessAlarmDays ?? 2, 1, 170);
    const ids = props.directoryIds ?? [];
    for (const d of ids) {
      if (!DIRECTORY_ID.test(d)) {
        throw new Error(`DsSnapshotKeeper: directory id ${JSON.stringify(d)} is invalid; accepted: ^d-[0-9a-f]{10}$`);
      }
    }
    const excluded = props.excludedDirectoryIds ?? [];
    for (const d of excluded) {
      if (!DIRECTORY_ID.test(d)) {
        throw new Error(`DsSnapshotKeeper: excluded directory id ${JSON.stringify(d)} is invalid; accepted: ^d-[0-9a-f]{10}$`);
      }
      if (ids.includes(d)) {
        throw new Error(`DsSnapshotKeeper: ${d} is both in directoryIds and excludedDirectoryIds`);
      }
    }
    const prefix = props.snapshotPrefix ?? 'keeper-';
    if (!PREFIX.test(prefix)) {
      throw new Error(`DsSnapshotKeeper: snapshotPrefix ${JSON.stringify(prefix)} is invalid; accepted: ${PREFIX}`);
    }
    const tag = props.discoveryTag ?? { key: KeeperConstants.DEFAULT_DISCOVERY_TAG_KEY, value: 'enabled' };
    // The key goes into an IAM condition *key*, which CloudFormation never resolves: it must
    // be known at synth time.
    if (Token.isUnresolved(tag.key)) {
      throw new Error('DsSnapshotKeeper: discoveryTag.key must be a literal string, not a token or parameter: ' +
        'CloudFormation does not substitute inside an IAM condition key');
    }

    if (tag.key === KeeperConstants.RESTORE_MARK_TAG_KEY) {
      throw new Error(`DsSnapshotKeeper: discoveryTag.key cannot be "${tag.key}": that tag marks a restore under way, ` +
        'and the keeper writes it; choose another key, such as ds-snapshot-keeper');
    }
    if (!Token.isUnresolved(tag.value) && tag.value.trim() === KeeperConstants.EXCLUDED_TAG_VALUE) {
      throw new Error(`DsSnapshotKeeper: discoveryTag.value cannot be "${KeeperConstants.EXCLUDED_TAG_VALUE}": ` +
        `${tag.key}=${KeeperConstants.EXCLUDED_TAG_VALUE} opts a directory out, so the keeper would manage nothing`);
    }

    this.key = new kms.Key(this, 'Key', {
      description: 'ds-snapshot-keeper alerts and logs',
      enableKeyRotation: true,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogs',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
          },
        },
      }),
    );

    let topic: sns.ITopic;
    if (props.existingTopic) {
      topic = props.existingTopic;
    } else {
      const created = new sns.Topic(this, 'AlertTopic', {
        displayName: 'DS snapshot keeper',
        masterKey: this.key,
        enforceSSL: true,
      });
      created.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudWatchAlarms',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [created.topicArn],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
      topic = created;
    }
    this.topic = topic;
    if (props.alertEmail) {
      topic.addSubscription(new subscriptions.EmailSubscription(props.alertEmail));
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: this.key,
    });

    const directoryArn = (idOrWildcard: string) =>
      `arn:${stack.partition}:ds:${stack.region}:${stack.account}:directory/${idOrWildcard}`;
    const statements: iam.PolicyStatement[] = [
      new iam.PolicyStatement({
        sid: 'DescribeHasNoResourceLevelPermissions',
        actions: ['ds:DescribeSnapshots', 'ds:DescribeDirectories'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'PublishAlerts',
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
      }),
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${logGroup.logGroupArn}:*`],
      }),
    ];
    if (!props.existingTopic) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'EncryptAlerts',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [this.key.keyArn],
        }),
      );
    }
    const snapshotActions = ['ds:CreateSnapshot', 'ds:DeleteSnapshot', 'ds:GetSnapshotLimits'];
    const allowRestore = props.allowRestore ?? false;
    // The restore action marks the directory while its restore is under way: one tag, and no
    // other key (aws:TagKeys lists every key the request writes; aws:RequestTag/<key> is
    // absent unless it writes that key).
    const onlyTheRestoreMark = {
      'ForAllValues:StringEquals': { 'aws:TagKeys': [KeeperConstants.RESTORE_MARK_TAG_KEY] },
      'Null': { [`aws:RequestTag/${KeeperConstants.RESTORE_MARK_TAG_KEY}`]: 'false' },
    };
    // The restore action removes its mark when it ends; a removal names keys only.
    const onlyRemovingTheRestoreMark = {
      'ForAllValues:StringEquals': { 'aws:TagKeys': [KeeperConstants.RESTORE_MARK_TAG_KEY] },
      'Null': { 'aws:TagKeys': 'false' },
    };
    // Every run reads each directory's tags: discovery finds the opted-in ones by them, and a
    // restore under way is marked by one. Tags are not secret and reading them changes nothing.
    statements.push(
      new iam.PolicyStatement({
        sid: 'ReadDirectoryTags',
        actions: ['ds:ListTagsForResource'],
        resources: [directoryArn('*')],
      }),
    );
    if (ids.length > 0) {
      // The same shape as template.yaml: partition and account '*' (one account, no resource
      // policies in Directory Service), the Region pinned by the condition.
      statements.push(
        new iam.PolicyStatement({
          sid: 'SnapshotConfiguredDirectories',
          actions: snapshotActions,
          resources: ids.map((id) => `arn:*:ds:*:*:directory/${id}`),
          conditions: { StringEquals: { 'aws:RequestedRegion': stack.region } },
        }),
      );
      if (allowRestore) {
        statements.push(
          new iam.PolicyStatement({
            sid: 'RestoreConfiguredDirectories',
            actions: ['ds:RestoreFromSnapshot'],
            resources: ids.map((id) => `arn:*:ds:*:*:directory/${id}`),
            conditions: { StringEquals: { 'aws:RequestedRegion': stack.region } },
          }),
          new iam.PolicyStatement({
            sid: 'MarkRestoreOnConfiguredDirectories',
            actions: ['ds:AddTagsToResource'],
            resources: ids.map((id) => `arn:*:ds:*:*:directory/${id}`),
            conditions: { StringEquals: { 'aws:RequestedRegion': stack.region }, ...onlyTheRestoreMark },
          }),
          new iam.PolicyStatement({
            sid: 'ClearRestoreMarkOnConfiguredDirectories',
            actions: ['ds:RemoveTagsFromResource'],
            resources: ids.map((id) => `arn:*:ds:*:*:directory/${id}`),
            conditions: { StringEquals: { 'aws:RequestedRegion': stack.region }, ...onlyRemovingTheRestoreMark },
          }),
        );
      }
    } else {
      statements.push(
        new iam.PolicyStatement({
          sid: 'SnapshotOptedInDirectories',
          actions: snapshotActions,
          resources: [directoryArn('*')],
          conditions: { StringEquals: { [`aws:ResourceTag/${tag.key}`]: tag.value } },
        }),
      );
      if (allowRestore) {
        statements.push(
          new iam.PolicyStatement({
            sid: 'RestoreOptedInDirectories',
            actions: ['ds:RestoreFromSnapshot'],
            resources: [directoryArn('*')],
            conditions: { StringEquals: { [`aws:ResourceTag/${tag.key}`]: tag.value } },
          }),
          new iam.PolicyStatement({
            sid: 'MarkRestoreOnOptedInDirectories',
            actions: ['ds:AddTagsToResource'],
            resources: [directoryArn('*')],
            conditions: { StringEquals: { [`aws:ResourceTag/${tag.key}`]: tag.value }, ...onlyTheRestoreMark },
          }),
          new iam.PolicyStatement({
            sid: 'ClearRestoreMarkOnOptedInDirectories',
            actions: ['ds:RemoveTagsFromResource'],
            resources: [directoryArn('*')],
            conditions: {
              StringEquals: { [`aws:ResourceTag/${tag.key}`]: tag.value },
              ...onlyRemovingTheRestoreMark,
            },
          }),
        );
      }
    }
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: { keeper: new iam.PolicyDocument({ statements }) },
    });

    this.function = new lambda.Function(this, 'Function', {
      code: props.code ?? bundledCode(),
      handler: 'bootstrap',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      // 128 MB is enough for hundreds of directories (docs/benchmarks.md).
      memorySize: 128,
      // The Lambda ceiling: the run waits for snapshots and stops 30 s before the deadline.
      timeout: Duration.minutes(15),
      // One run at a time: two runs would race on the same 5-snapshot quota.
      reservedConcurrentExecutions: 1,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel[props.logLevel ?? LogLevel.INFO],
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      environmentEncryption: this.key,
      // No retry of a failed run: it has published its own alert, and what fails a run fails
      // the retry too. The dead-letter queue is for schedule deliveries only.
      retryAttempts: 0,
      maxEventAge: Duration.hours(1),
      environment: {
        DIRECTORY_IDS: ids.join(','),
        DISCOVERY_TAG: ids.length > 0 ? '' : `${tag.key}=${tag.value}`,
        RETAIN_COUNT: String(retain),
        RETENTION: retention,
        TIERS: tiers.join(','),
        RESERVED_SLOTS: String(reserved),
        WARN_AGE_DAYS: String(warnAge),
        SNAPSHOT_PREFIX: prefix,
        MIN_INTERVAL_MINUTES: String(minInterval),
        SNS_TOPIC_ARN: topic.topicArn,
        NOTIFY_LEVEL: props.notifyLevel ?? NotifyLevel.WARNINGS,
        DRY_RUN: String(props.dryRun ?? false),
        CONCURRENCY: String(concurrency),
        WAIT_BUDGET_SECONDS: '600',
        DEADLINE_MARGIN_SECONDS: '30',
        POLL_INITIAL_SECONDS: '15',
        POLL_MAX_SECONDS: '120',
        CREATING_TIMEOUT_HOURS: '6',
        PRUNE_UNOWNED: String(props.pruneUnowned ?? false),
        ALLOW_RESTORE: String(allowRestore),
        EXCLUDED_DIRECTORY_IDS: excluded.join(','),
      },
    });

    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      inlinePolicies: {
        invoke: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] }),
            new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
          ],
        }),
      },
    });
    this.schedule = new scheduler.CfnSchedule(this, 'Schedule', {
      description: 'ds-snapshot-keeper scheduled run',
      scheduleExpression: props.scheduleExpression ?? 'cron(0 5 * * ? *)',
      scheduleExpressionTimezone: props.scheduleTimezone ?? 'UTC',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: this.function.functionArn,
        roleArn: schedulerRole.roleArn,
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 },
        deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      },
    });

    if (props.tamperAlert ?? true) {
      this.tamperAlertRule = new events.Rule(this, 'TamperAlertRule', {
        description: 'ds-snapshot-keeper tamper alert: Directory Service DeleteSnapshot, RestoreFromSnapshot and ' +
          "DeleteDirectory calls by anyone but the keeper's role, to the keeper function",
        eventPattern: tamperAlertPattern(role.roleArn),
        // The target's permission: events.amazonaws.com may invoke the function, for this rule.
        targets: [new targets.LambdaFunction(this.function)],
      });
    }

    const action = new cwActions.SnsAction(topic);
    const byFunction = { FunctionName: this.function.functionName };
    // One alert per bad day: a failed run publishes its own message and counts it in
    // FailedRunsReported; this alarm fires only for failures nobody was told about.
    const unreported = new cloudwatch.Alarm(this, 'UnreportedFailureAlarm', {
      alarmDescription:
        'A ds-snapshot-keeper invocation failed and its own alert did not go out (the function crashed, timed out, ' +
        'or could not publish). Read the function\'s log group: the run report (message "run report") or the error Lambda logged.',
      metric: new cloudwatch.MathExpression({
        label: 'Failed invocations without an alert',
        expression: 'FILL(errors, 0) - FILL(reported, 0)',
        usingMetrics: {
          errors: this.function.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
          reported: new cloudwatch.Metric({
            namespace: METRIC_NAMESPACE,
            metricName: 'FailedRunsReported',
            dimensionsMap: byFunction,
            statistic: 'Sum',
            period: Duration.hours(1),
          }),
        },
        period: Duration.hours(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const fresh = new cloudwatch.Alarm(this, 'FreshnessAlarm', {
      alarmDescription:
        'No fresh snapshot: a managed directory\'s newest Completed snapshot is older than the threshold, or the ' +
        'keeper has not reported at all (missing data breaches). Check the schedule, the function and the run reports.',
      metric: new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName: 'MaxNewestCompletedSnapshotAgeDays',
        dimensionsMap: byFunction,
        statistic: 'Maximum',
        period: Duration.days(1),
      }),
      threshold: freshness,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    const dlq = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription:
        'EventBridge Scheduler could not deliver a scheduled run; the event is in the dead-letter queue and the ' +
        'keeper did not run. Read it, fix the cause (often the schedule\'s role or the function\'s reserved concurrency), and invoke by hand.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const alarms = [unreported, fresh, dlq];
    if (props.unmanagedDirectoriesAlarm ?? true) {
      alarms.push(
        new cloudwatch.Alarm(this, 'UnmanagedDirectoriesAlarm', {
          alarmDescription:
            'A directory of this Region has been neither managed by ds-snapshot-keeper nor excluded for a day: nobody ' +
            'takes its snapshots. Find it in the latest run report (coverage, reason not-tagged or not-listed), then tag ' +
            'it, add it to directoryIds, or exclude it on purpose (excludedDirectoryIds, or the tag value "excluded").',
          metric: new cloudwatch.Metric({
            namespace: METRIC_NAMESPACE,
            metricName: 'UnmanagedDirectories',
            dimensionsMap: byFunction,
            statistic: 'Minimum',
            period: Duration.days(1),
          }),
          threshold: 0,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    if (props.lowFreeSlotsAlarm ?? true) {
      alarms.push(
        new cloudwatch.Alarm(this, 'LowFreeSlotsAlarm', {
          alarmDescription:
            'A managed directory has had fewer free manual snapshot slots than reservedSlots for a day: a schema ' +
            'extension or an OS update would fail for want of a slot. See the dashboard\'s free-slots widget or the run ' +
            'report (quota per directory); snapshots the keeper does not own (or that are Failed or stuck Creating) usually fill it.',
          metric: new cloudwatch.Metric({
            namespace: METRIC_NAMESPACE,
            metricName: 'MinFreeManualSnapshotSlots',
            dimensionsMap: byFunction,
            statistic: 'Maximum',
            period: Duration.days(1),
          }),
          threshold: reserved,
          evaluationPeriods: 2,
          datapointsToAlarm: 2,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    if (props.dashboard ?? true) {
      this.dashboard = new cloudwatch.CfnDashboard(this, 'Dashboard', {
        dashboardBody: stack.toJsonString(
          dashboardBody(stack.region, this.function.functionName, logGroup.logGroupName, warnAge, reserved,
            retention === Retention.TIERED ? Math.max(...tiers) : undefined),
        ),
      });
      this.dashboardUrl =
        `https://${stack.region}.console.aws.amazon.com/cloudwatch/home?region=${stack.region}` +
        `#dashboards/dashboard/${this.dashboard.ref}`;
    }
    unreported.addAlarmAction(action);
    for (const alarm of alarms.slice(1)) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    this.alarms = alarms;
    // Waivers for checkov, each with its reason, where a reviewer will see them.
    (this.deadLetterQueue.node.defaultChild as sqs.CfnQueue).addMetadata('checkov', {
      skip: [{ id: 'CKV_AWS_27', comment: 'Encrypted at rest with SQS-managed SSE (SqsManagedSseEnabled), which checkov does not recognise.' }],
    });
    (this.function.node.defaultChild as lambda.CfnFunction).addMetadata('checkov', {
      skip: [
        { id: 'CKV_AWS_117', comment: 'The function calls only AWS APIs; a VPC would add NAT or endpoints and their cost without protecting anything.' },
        { id: 'CKV_AWS_116', comment: 'No dead-letter queue on purpose: a failed run has already published its own alert, and a retry would only send a second one.' },
      ],
    });
  }
}

/**
 * Deletions and restores by anyone but the keeper, as CloudTrail reports them to EventBridge
 * (docs/tamper-alert.md), the pattern of template.yaml's TamperAlertRule. The keeper's own calls
 * carry its role as the session issuer. A caller with no session issuer (an IAM user, the root
 * user) lacks that field, and a pattern only matches events that have every field it names,
 * hence the second branch of $or.
 */
function tamperAlertPattern(keeperRoleArn: string): events.EventPattern {
  const issuer = (arn: unknown[]) => ({ userIdentity: { sessionContext: { sessionIssuer: { arn } } } });
  return {
    source: ['aws.ds'],
    detailType: ['AWS API Call via CloudTrail'],
    detail: {
      eventSource: ['ds.amazonaws.com'],
      eventName: ['DeleteSnapshot', 'RestoreFromSnapshot', 'DeleteDirectory'],
      $or: [issuer([{ 'anything-but': keeperRoleArn }]), issuer([{ exists: false }])],
    },
  };
}

/** A per-directory series: every DirectoryId that emitted the metric, found by SEARCH. */
function search(metric: string, stat: string, id: string): Record<string, unknown> {
  return {
    expression: `SEARCH('{${METRIC_NAMESPACE},DirectoryId} MetricName="${metric}"', '${stat}', 86400)`,
    id,
    label: '',
  };
}

/**
 * The dashboard, widget for widget the one of the SAM template (a deployment test compares
 * the two after CloudFormation's substitutions).
 */
function dashboardBody(region: string, functionName: string, logGroupName: string, warnAge: number, reserved: number,
  tierReach?: number) {
  const daily = (name: string, label: string, extra: Record<string, string> = {}) =>
    [METRIC_NAMESPACE, name, 'FunctionName', functionName, { label, ...extra }];
  const limit = { label: `restore limit (${RESTORE_LIMIT_DAYS} days)`, value: RESTORE_LIMIT_DAYS, color: '#d62728' };
  return {
    widgets: [
      { type: 'metric', x: 0, y: 0, width: 12, height: 6, properties: {
        title: 'Newest restorable snapshot age per directory (days)', region,
        view: 'timeSeries', stat: 'Maximum', period: 86400,
        metrics: [[search('NewestCompletedSnapshotAgeDays', 'Maximum', 'newest')]],
        annotations: { horizontal: [limit, { label: 'warning age (WarnAgeDays)', value: warnAge, color: '#ff7f0e' }] },
        yAxis: { left: { min: 0, max: 190 } } } },
      { type: 'metric', x: 12, y: 0, width: 12, height: 6, properties: {
        title: 'Free manual snapshot slots per directory', region,
        view: 'timeSeries', stat: 'Minimum', period: 86400,
        metrics: [[search('FreeManualSnapshotSlots', 'Minimum', 'free')]],
        annotations: { horizontal: [{ label: 'reserved (ReservedSlots)', value: reserved, color: '#ff7f0e' }] },
        yAxis: { left: { min: 0, max: MANUAL_SNAPSHOT_LIMIT } } } },
      { type: 'metric', x: 0, y: 6, width: 12, height: 6, properties: {
        title: 'Snapshots and failures per day', region,
        view: 'bar', stat: 'Sum', period: 86400,
        metrics: [
          daily('RunSnapshotsCreated', 'created'),
          daily('RunSnapshotsCompleted', 'completed'),
          daily('RunSnapshotsDeleted', 'deleted'),
          daily('RunFailures', 'failures', { color: '#d62728' }),
        ] } },
      { type: 'metric', x: 12, y: 6, width: 12, height: 6, properties: {
        title: 'Oldest restorable snapshot age per directory (days): how far back a restore reaches',
        region, view: 'timeSeries', stat: 'Maximum', period: 86400,
        metrics: [[search('OldestRestorableSnapshotAgeDays', 'Maximum', 'oldest')]],
        // Tiered retention promises a point at least its longest period old: the line shows it.
        annotations: { horizontal: tierReach === undefined ? [limit]
          : [{ label: `tier reach (${tierReach} days)`, value: tierReach, color: '#2ca02c' }, limit] } } },
      { type: 'log', x: 0, y: 12, width: 24, height: 6, properties: {
        title: 'Latest failed runs', region, view: 'table',
        query: `SOURCE '${logGroupName}' | filter message = "run report" and report.severity = "failure" | ` +
          'fields @timestamp, requestId, report.summary.failures as failures, failing ' +
          '| sort @timestamp desc | limit 20' } },
    ],
  };
}
