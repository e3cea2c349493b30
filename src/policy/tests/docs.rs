//! The rule tables of docs/how-it-decides.md against the code.

#[test]
fn every_function_the_docs_rule_tables_name_exists() {
    // docs/how-it-decides.md's two tables name a policy function for every rule and decision:
    // a rename that leaves a row pointing nowhere fails here.
    let doc = include_str!("../../../docs/how-it-decides.md");
    let sources = [
        ("mod", include_str!("../mod.rs")),
        ("rules", include_str!("../rules.rs")),
        ("gate", include_str!("../gate.rs")),
        ("worth", include_str!("../worth.rs")),
        ("flags", include_str!("../flags.rs")),
        ("quota", include_str!("../quota.rs")),
        ("eligibility", include_str!("../eligibility.rs")),
        ("restore", include_str!("../restore.rs")),
        ("guard", include_str!("../guard.rs")),
    ];
    let mut named = 0;
    for line in doc.lines().filter(|l| l.starts_with("| ")) {
        for path in line.split('`').filter(|p| p.starts_with("policy::")) {
            let parts: Vec<&str> = path.split("::").collect();
            let (file, function) = match parts.as_slice() {
                ["policy", f] => ("mod", *f),
                ["policy", m, f] => (*m, *f),
                _ => panic!("{path}"),
            };
            let source = sources
                .iter()
                .find(|(m, _)| *m == file)
                .unwrap_or_else(|| panic!("{path}: no policy file {file}"))
                .1;
            assert!(
                source.contains(&format!("fn {function}("))
                    || source.contains(&format!("fn {function}<")),
                "docs/how-it-decides.md names {path}, which does not exist"
            );
            named += 1;
        }
    }
    assert!(named >= 20, "{named}");
}
