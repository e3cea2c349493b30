//! The integration tests, one crate (the SDKs are linked once, `support` compiled once), a
//! module per concern:
//!
//! | module | what it tests |
//! |---|---|
//! | `end_to_end` | the handler over the emulator: runs, reports, SNS, logs, the binary's `invoke` and `restore` |
//! | `faults` | the fault matrix: each failure, what was created, deleted, reported and published |
//! | `restore_points` | the corner cases that used to cost a restore point |
//! | `slow_and_shared` | slow snapshots, other people's snapshots, lost answers, schedules, over days |
//! | `coverage` | the directories the keeper does not manage |
//! | `audit` | the audit controls through the binary, over two Regions |
//! | `calls` | API calls against the minimum, and the release profile |
//! | `contract` | the Directory Service port: the same cases on the memory adapter and the emulator |
//! | `emulator_sdk` | the real SDK client against the emulator |
//! | `properties` | generated inventories and schedules: nothing is lost |
//! | `retention_simulation` | restore reach over simulated years |
//! | `hostile_input` | bad events and settings |
//! | `command_line` | usage and wrong arguments |
//! | `operator_errors` | credentials, Region, endpoint and permission failures as the binary says them |
//! | `real_aws` | opt-in checks against a real account |
//!
//! The emulator servers come from a small pool (`support::Emulator`), reset between tests.

mod support;

mod audit;
mod calls;
mod command_line;
mod contract;
mod coverage;
mod emulator_sdk;
mod end_to_end;
mod faults;
mod hostile_input;
mod operator_errors;
mod properties;
mod real_aws;
mod restore_points;
mod retention_simulation;
mod slow_and_shared;
