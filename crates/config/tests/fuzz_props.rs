//! Fuzz-style properties of the config loader (the long-running fuzzer is `scripts/dev/fuzz`):
//! arbitrary bytes and TOML-like text built from the real schema never panic, and whatever loads
//! survives its own TOML round trip.

use proptest::prelude::*;
use sparq_config::Config;

/// `(section, key)` of every key of the real schema.
fn schema() -> Vec<(String, String)> {
    let text = Config::default()
        .to_toml_string()
        .expect("defaults serialise");
    let table: toml::Table = text.parse().expect("defaults parse");
    let mut keys = Vec::new();
    for (section, v) in table {
        if let toml::Value::Table(t) = v {
            keys.extend(t.keys().map(|k| (section.clone(), k.clone())));
        }
    }
    keys
}

/// TOML value literals around every type's edges, plus junk.
fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        prop::sample::select(vec![
            "0",
            "1",
            "-1",
            "4096",
            "4097",
            "9007199254740992",
            "9007199254740993",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "nan",
            "inf",
            "-inf",
            "-0.0",
            "1e-320",
            "1e308",
            "1e999",
            "0.5",
            "1.0",
            "true",
            "false",
            "\"\"",
            "\"relu\"",
            "\"polynomial\"",
            "\"CartPole-v1\"",
            "[]",
            "[0]",
            "[64, 64]",
            "[[1]]",
            "[1, \"a\"]",
            "{}",
            "{ a = 1 }",
            "1979-05-27",
            "07:32:00",
            "0x10",
            "1_000",
            "'",
            "\"",
            "[",
            "{",
        ])
        .prop_map(str::to_string),
        any::<f64>().prop_map(|v| format!("{v:?}")),
        "[ -~]{0,12}",
    ]
}

/// One line: a section header, `key = value` with a real or random key, or noise.
fn line(keys: Vec<(String, String)>) -> impl Strategy<Value = String> {
    let sections: Vec<String> = keys.iter().map(|(s, _)| s.clone()).collect();
    let names: Vec<String> = keys.iter().map(|(_, k)| k.clone()).collect();
    prop_oneof![
        prop::sample::select(sections.clone()).prop_map(|s| format!("[{s}]")),
        (prop::sample::select(names), literal()).prop_map(|(k, v)| format!("{k} = {v}")),
        (prop::sample::select(keys), literal()).prop_map(|((s, k), v)| format!("{s}.{k} = {v}")),
        ("[a-z_]{1,8}", literal()).prop_map(|(k, v)| format!("{k} = {v}")),
        "[ -~]{0,20}",
    ]
}

fn override_spec(keys: Vec<(String, String)>) -> impl Strategy<Value = String> {
    prop_oneof![
        (prop::sample::select(keys), literal()).prop_map(|((s, k), v)| format!("{s}.{k}={v}")),
        "[ -~]{0,24}",
    ]
}

/// Whatever loads must check without panicking and write TOML that loads back unchanged.
fn round_trip(config: &Config) -> Result<(), TestCaseError> {
    if let Ok(c) = config.check() {
        let _ = (
            c.total_gradient_steps(),
            c.epsilon_at(1),
            c.lr_at(1),
            c.prune().describe(),
        );
    }
    let first = config
        .to_toml_string()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let again = Config::from_toml_str(&first, "resolved.toml", &[])
        .map_err(|e| TestCaseError::fail(format!("{e}\n{first}")))?;
    // Compared as text: NaN != NaN would make `==` on configs fail spuriously.
    prop_assert_eq!(
        again
            .to_toml_string()
            .map_err(|e| TestCaseError::fail(e.to_string()))?,
        first
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(c) = Config::from_toml_str(&String::from_utf8_lossy(&bytes), "fuzz.toml", &[]) {
            round_trip(&c)?;
        }
    }

    #[test]
    fn toml_like_text_loads_or_errs(lines in prop::collection::vec(line(schema()), 0..24)) {
        if let Ok(c) = Config::from_toml_str(&lines.join("\n"), "fuzz.toml", &[]) {
            round_trip(&c)?;
        }
    }

    #[test]
    fn overrides_load_or_err(
        lines in prop::collection::vec(line(schema()), 0..8),
        overrides in prop::collection::vec(override_spec(schema()), 0..6),
    ) {
        if let Ok(c) = Config::from_toml_str(&lines.join("\n"), "fuzz.toml", &overrides) {
            round_trip(&c)?;
        }
    }
}

#[test]
fn invalid_utf8_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, b"[run]\nseed = 1\n\xff\xfe\n").unwrap();
    let e = Config::load(&path, &[]).unwrap_err().to_string();
    assert!(e.contains("bad.toml") && !e.contains('\n'), "{e}");
}
