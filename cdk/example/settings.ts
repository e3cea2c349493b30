/**
 * What the example app needs to know, from CDK context (`cdk deploy -c key=value`) or the
 * environment, with an error that names what is missing and how to give it.
 *
 * | context         | environment              | meaning |
 * |-----------------|--------------------------|---------|
 * | account         | KEEPER_ACCOUNT           | the account to deploy to (default: your credentials') |
 * | region          | KEEPER_REGION            | the directories' primary Region (required) |
 * | directoryIds    | KEEPER_DIRECTORY_IDS     | d-... ids, comma-separated; or: |
 * | discoveryTag    | KEEPER_DISCOVERY_TAG     | key=value: manage the directories carrying this tag |
 * | alertEmail      | KEEPER_ALERT_EMAIL       | an address to subscribe to the alerts (optional) |
 * | scheduleTimezone| KEEPER_SCHEDULE_TIMEZONE | IANA time zone of the daily 05:00 run (default UTC) |
 * | codeDir         | KEEPER_CODE_DIR          | a build of your own (cargo lambda's output); default: target/lambda/ds-snapshot-keeper when built, else the code the package carries |
 */
import * as fs from 'fs';
import * as path from 'path';

export interface ExampleSettings {
  readonly account?: string;
  readonly region: string;
  readonly directoryIds?: string[];
  readonly discoveryTag?: { key: string; value: string };
  readonly alertEmail?: string;
  readonly scheduleTimezone: string;
  /** Undefined: the construct's own code (the released package carries the function). */
  readonly codeDir?: string;
}

/** Where the values come from: context first, then the environment. */
export type Lookup = (context: string, env: string) => string | undefined;

/** How to give a value: "give it as `cdk deploy -c region=...` or KEEPER_REGION=...". */
function how(context: string, env: string): string {
  return `give it as \`cdk deploy -c ${context}=...\` or in the environment, ${env}=...`;
}

export function exampleSettings(get: Lookup, defaultCodeDir: string): ExampleSettings {
  const problems: string[] = [];
  const region = get('region', 'KEEPER_REGION') ?? process.env.CDK_DEFAULT_REGION;
  if (!region) {
    problems.push(`region is missing: the directories' primary Region, such as eu-west-1; ${how('region', 'KEEPER_REGION')}`);
  } else if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    problems.push(`region ${JSON.stringify(region)} is not a Region name such as eu-west-1`);
  }
  const account = get('account', 'KEEPER_ACCOUNT');
  if (account !== undefined && !/^\d{12}$/.test(account)) {
    problems.push(`account ${JSON.stringify(account)} is not a 12-digit account id`);
  }
  const ids = get('directoryIds', 'KEEPER_DIRECTORY_IDS');
  const tag = get('discoveryTag', 'KEEPER_DISCOVERY_TAG');
  let directoryIds: string[] | undefined;
  let discoveryTag: { key: string; value: string } | undefined;
  if (ids && tag) {
    problems.push('give directoryIds or discoveryTag, not both');
  } else if (ids) {
    directoryIds = ids.split(/[\s,]+/).filter((id) => id !== '');
    const bad = directoryIds.filter((id) => !/^d-[0-9a-f]{10}$/.test(id));
    if (bad.length > 0) {
      problems.push(`directoryIds: ${bad.map((b) => JSON.stringify(b)).join(', ')} not a directory id (d- and 10 lowercase hex digits)`);
    }
  } else if (tag) {
    const eq = tag.indexOf('=');
    if (eq < 1) {
      problems.push(`discoveryTag ${JSON.stringify(tag)} is not key=value (such as ds-snapshot-keeper=enabled)`);
    } else {
      discoveryTag = { key: tag.slice(0, eq), value: tag.slice(eq + 1) };
    }
  } else {
    problems.push(
      'which directories? directoryIds=d-0123456789[,d-...] or discoveryTag=ds-snapshot-keeper=enabled ' +
        '(then tag each directory); ' + how('directoryIds', 'KEEPER_DIRECTORY_IDS'),
    );
  }
  const alertEmail = get('alertEmail', 'KEEPER_ALERT_EMAIL');
  if (alertEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alertEmail)) {
    problems.push(`alertEmail ${JSON.stringify(alertEmail)} is not an e-mail address`);
  }
  // A codeDir given must hold a build; the default is used when a build is there, and
  // otherwise the construct's own code is (the released package carries it; a construct
  // built from source says it has none and how to build it).
  const givenCodeDir = get('codeDir', 'KEEPER_CODE_DIR');
  const built = (dir: string) => fs.existsSync(path.join(dir, 'bootstrap'));
  const codeDir = givenCodeDir ?? (built(defaultCodeDir) ? defaultCodeDir : undefined);
  if (givenCodeDir !== undefined && !built(givenCodeDir)) {
    problems.push(
      `no bootstrap in ${givenCodeDir}: build the function first (cargo lambda build --release --arm64), ` +
        `or point codeDir (KEEPER_CODE_DIR) at its output`,
    );
  }
  if (problems.length > 0) {
    throw new Error(`the example app cannot synthesise:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    account,
    region: region!,
    directoryIds,
    discoveryTag,
    alertEmail,
    scheduleTimezone: get('scheduleTimezone', 'KEEPER_SCHEDULE_TIMEZONE') ?? 'UTC',
    codeDir,
  };
}
