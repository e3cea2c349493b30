//! Hostile input: random and adversarial events and settings never panic, always get an
//! error naming what was wrong and what is accepted, and touch nothing.
//!
//! cargo fuzz needs a nightly toolchain, which these machines cannot install; these property
//! tests drive the same entry points (event parsing and settings parsing) with generated
//! input instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ds_snapshot_keeper::directory::memory::MemoryDirectoryService;
use ds_snapshot_keeper::handler::{handle, InvocationError};
use ds_snapshot_keeper::notify::NoNotifier;
use ds_snapshot_keeper::request;
use ds_snapshot_keeper::settings::{Settings, SETTINGS};
use ds_snapshot_keeper::Keeper;
use proptest::prelude::*;
use serde_json::{json, Value};

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("run"),
            Just("report"),
            Just("aws.events"),
            Just("aws.scheduler"),
            Just("Scheduled Event"),
            Just("d-0123456789"),
            Just("{}"),
            Just("\u{1b}[31m\n"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::hash_map(
                prop_oneof![
                    Just("action".to_owned()),
                    Just("directory_ids".to_owned()),
                    Just("dry_run".to_owned()),
                    Just("force".to_owned()),
                    Just("source".to_owned()),
                    Just("detail-type".to_owned()),
                    Just("detail".to_owned()),
                    Just("time".to_owned()),
                    Just("resources".to_owned()),
                    "[a-z_-]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn event_parsing_never_panics_and_refusals_are_clear(value in arbitrary_json()) {
        match request::parse(&value) {
            Ok(r) => {
                if let Some(ids) = &r.directory_ids {
                    prop_assert!(ids.iter().all(|id| ds_snapshot_keeper::naming::is_directory_id(id)));
                }
            }
            Err(e) => {
                let text = e.to_string();
                prop_assert!(text.contains("Expected an EventBridge scheduled event"), "{}", text);
                prop_assert!(!text.chars().any(char::is_control), "control characters in {:?}", text);
            }
        }
    }

    #[test]
    fn raw_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = request::parse_bytes(&bytes) {
            prop_assert!(!e.to_string().chars().any(char::is_control));
        }
    }

    #[test]
    fn settings_parsing_never_panics_and_names_the_variable(
        pairs in prop::collection::vec((0..SETTINGS.len(), ".{0,24}"), 0..6)
    ) {
        let map: HashMap<&str, String> = pairs.iter().map(|(i, v)| (SETTINGS[*i].variable, v.clone())).collect();
        match Settings::from_lookup(|k| map.get(k).cloned()) {
            Ok(s) => {
                prop_assert!(s.retain >= 1 && s.warn_age_days < 180 && s.concurrency >= 1);
                prop_assert!(s.poll_max >= s.poll_initial);
            }
            Err(e) => {
                prop_assert!(map.contains_key(e.variable), "{} not among {:?}", e.variable, map.keys());
                let text = e.to_string();
                prop_assert!(text.contains(e.variable) && text.contains("accepted: "), "{}", text);
                prop_assert!(!text.chars().any(|c| c.is_control()), "{:?}", text);
            }
        }
    }
}

fn keeper() -> Keeper<MemoryDirectoryService> {
    let ds = MemoryDirectoryService::with_directory("d-0123456789");
    Keeper::new(ds, Settings::default(), "us-east-1")
}

/// Each hostile event, through the real handler: refused with the field and what is
/// accepted, and not a single Directory Service call.
#[tokio::test]
async fn catalogue_of_hostile_events() {
    let huge = json!({"action": "run", "pad": "x".repeat(100_000)});
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), ""), // valid: a plain run (checked below to be the only accepted one)
        (Value::Null, "payload is null"),
        (json!([]), "an array"),
        (json!([{"action": "run"}]), "an array"),
        (json!(""), "a string"),
        (json!(42), "a number"),
        (huge, "bytes; at most 65536"),
        (
            json!({"action": ["run"]}),
            "field \"action\" must be a string",
        ),
        (
            json!({"action": "delete-everything"}),
            "unknown action \"delete-everything\" (accepted: run, snapshot, prune, report)",
        ),
        (json!({"action": "Run"}), "unknown action"),
        (
            json!({"dry_run": "true"}),
            "field \"dry_run\" must be true or false",
        ),
        (json!({"force": 1}), "field \"force\" must be true or false"),
        (json!({"directory_ids": "d-0123456789"}), "must be an array"),
        (
            json!({"directory_ids": ["d-012345678"]}),
            "expected ^d-[0-9a-f]{10}$",
        ),
        (
            json!({"directory_ids": ["D-0123456789"]}),
            "is not a directory id",
        ),
        (
            json!({"directory_ids": ["d-0123456789\n{\"level\":\"INFO\"}"]}),
            "is not a directory id",
        ),
        (
            json!({"directory_ids": vec!["d-0123456789"; 501]}),
            "at most 500",
        ),
        (json!({"action": "run\u{1b}[2J"}), "unknown action"),
        (json!({"actoin": "run"}), "unknown field \"actoin\""),
        (
            json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {"action": "prune"}}),
            "carries a detail",
        ),
        (
            json!({"source": "aws.events"}),
            "EventBridge event is malformed",
        ),
        (
            json!({"source": "aws.health", "detail-type": "Scheduled Event", "detail": {}}),
            "neither aws.events nor aws.scheduler",
        ),
    ];
    for (payload, needle) in cases {
        let k = keeper();
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let l2 = lines.clone();
        let sink = move |l: &str| l2.lock().unwrap().push(l.to_owned());
        let result = handle(&k, None::<&NoNotifier>, &payload, "hostile", None, &sink).await;
        if needle.is_empty() {
            assert!(result.is_ok());
            continue;
        }
        let err = result.expect_err(needle);
        assert!(matches!(err, InvocationError::BadEvent(_)));
        let text = err.to_string();
        assert!(text.contains(needle), "{needle}: {text}");
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(
            k.ds.calls().is_empty(),
            "{needle}: no Directory Service call"
        );
        let logged = lines.lock().unwrap().join("\n");
        assert_eq!(
            logged.lines().count(),
            1,
            "one log line, nothing forged: {logged}"
        );
        let line: Value = serde_json::from_str(&logged).expect("the log line is JSON");
        assert_eq!(line["message"], "event refused; nothing was changed");
    }
}

/// Each hostile setting: refused at start with the variable and what is accepted.
#[test]
fn catalogue_of_hostile_settings() {
    let cases: &[(&str, &str, &str)] = &[
        ("RETAIN_COUNT", "0", "out of range 1..=50"),
        ("RETAIN_COUNT", "51", "out of range 1..=50"),
        ("RETAIN_COUNT", "3.5", "not an integer"),
        ("RETAIN_COUNT", "99999999999999999999999", "not an integer"),
        ("RESERVED_SLOTS", "-1", "out of range 0..=10"),
        ("WARN_AGE_DAYS", "-30", "out of range 1..=179"),
        ("WARN_AGE_DAYS", "100000", "out of range 1..=179"),
        ("WARN_AGE_DAYS", "180", "out of range 1..=179"),
        ("MIN_INTERVAL_MINUTES", "1e9", "not an integer"),
        ("SNAPSHOT_PREFIX", "keeper\n-", "contains"),
        ("SNAPSHOT_PREFIX", "keeper\u{0}", "contains"),
        ("SNAPSHOT_PREFIX", "../../", "must start with"),
        (
            "DIRECTORY_IDS",
            "d-0123456789,d-zzzzzzzzzz",
            "is not a directory id",
        ),
        (
            "SNS_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123:t",
            "not an SNS topic ARN",
        ),
        ("NOTIFY_LEVEL", "verbose", "unknown level"),
        ("DRY_RUN", "perhaps", "not a boolean"),
        ("POLL_INITIAL_SECONDS", "inf", "out of range"),
        ("DISCOVERY_TAG", "no-equals-sign", "not key=value"),
    ];
    for (variable, value, problem) in cases {
        let err = Settings::from_lookup(|k| (k == *variable).then(|| value.to_string()))
            .expect_err(variable);
        let text = err.to_string();
        assert_eq!(err.variable, *variable);
        assert!(text.contains(problem), "{variable}={value:?}: {text}");
        assert!(text.contains("accepted: "), "{text}");
        assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
    }
    // A retain count above what the quota of 5 allows is refused at start too, with the way out.
    let err = Settings::from_lookup(|k| (k == "RETAIN_COUNT").then(|| "4".to_owned())).unwrap_err();
    assert_eq!(err.variable, "RETAIN_COUNT");
    assert!(
        err.to_string().contains("set RETAIN_COUNT to 3 or less"),
        "{err}"
    );
}
