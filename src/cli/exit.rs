//! Every exit code of the command line, in one table: `ds-snapshot-keeper help exit-codes`
//! prints it and `docs/reference.md` carries it (a test holds the two together). Scripts
//! depend on these numbers: a new class gets a new number, an old one never changes meaning.

/// A clean run, a listing, a restore that ended restored (or was planned, or started).
pub const OK: i32 = 0;
/// Something failed: a run with failures, an AWS call that failed, a restore that failed.
pub const FAILED: i32 = 1;
/// Bad input (arguments, settings, an event) or a refusal: nothing was changed.
pub const BAD_INPUT: i32 = 2;
/// A critical finding: a directory left with no restorable snapshot, or its newest one past
/// `WARN_AGE_DAYS`, or a restore that failed (a run that otherwise went well).
pub const CRITICAL: i32 = 3;
/// The wait ended first: a restore still going on, or its safety snapshot still `Creating`.
pub const TIMED_OUT: i32 = 4;
/// A restore's answer was lost and it may have started.
pub const UNCONFIRMED: i32 = 5;
/// No AWS credentials: none found, a profile missing, an SSO token expired, an assume-role
/// refused. Nothing was sent.
pub const CREDENTIALS: i32 = 6;
/// AWS refused the caller: not allowed (`AccessDenied`). The call names the permission.
pub const NOT_ALLOWED: i32 = 7;
/// The service could not be reached: an unknown Region, no network, an endpoint that refused
/// the connection. Nothing was carried out.
pub const UNREACHABLE: i32 = 8;
/// Interrupted (Ctrl-C): the report says what was changed.
pub const INTERRUPTED: i32 = 130;
/// The reader of the output went away (`| head`), as SIGPIPE ends a Unix tool.
pub const CLOSED_PIPE: i32 = 141;

/// The table: code, meaning.
pub const TABLE: &[(i32, &str)] = &[
    (OK, "success: a clean run, a listing, a restore restored (or planned, or started)"),
    (FAILED, "a failure: a run with failures, a failed AWS call, a failed restore"),
    (BAD_INPUT, "bad arguments, settings or event, or a refusal (a restore's report says what, if anything, it changed first)"),
    (CRITICAL, "a critical finding: no restorable snapshot left, the newest one past WARN_AGE_DAYS, a failed restore found, an audit control not met"),
    (TIMED_OUT, "the wait ended first: the restore (or its safety snapshot) goes on"),
    (UNCONFIRMED, "a restore's answer was lost: it may have started (check with points)"),
    (CREDENTIALS, "no AWS credentials (none, a missing profile, an expired SSO token, a refused assume-role): nothing sent"),
    (NOT_ALLOWED, "AWS refused the caller (AccessDenied): the message names the action"),
    (UNREACHABLE, "the service could not be reached (unknown Region, no network, endpoint refused): that call was not carried out"),
    (INTERRUPTED, "interrupted (Ctrl-C): the report says what was changed"),
    (CLOSED_PIPE, "the output's reader went away (| head)"),
];

/// The table as `help exit-codes` prints it.
pub fn help() -> String {
    let mut out = String::from("Exit codes of every command:\n");
    for (code, what) in TABLE {
        out.push_str(&format!("  {code:>3}  {what}\n"));
    }
    out
}

/// The table as `docs/reference.md` carries it.
pub fn markdown() -> String {
    let mut out = String::from("| exit | meaning |\n|---|---|\n");
    for (code, what) in TABLE {
        out.push_str(&format!("| {code} | {} |\n", what.replace('|', "\\|")));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_reference_carries_the_exit_code_table() {
        let doc = include_str!("../../docs/reference.md");
        let table = super::markdown();
        assert!(
            doc.contains(&table),
            "docs/reference.md's exit code table differs from src/cli/exit.rs; replace it \
             with:\n{table}"
        );
    }

    #[test]
    fn the_restore_codes_are_the_tables() {
        use crate::runner::restore::exit as r;
        assert_eq!(
            (
                r::OK,
                r::FAILED,
                r::REFUSED,
                r::TIMED_OUT,
                r::UNCONFIRMED,
                r::INTERRUPTED
            ),
            (
                super::OK,
                super::FAILED,
                super::BAD_INPUT,
                super::TIMED_OUT,
                super::UNCONFIRMED,
                super::INTERRUPTED
            )
        );
    }
}
