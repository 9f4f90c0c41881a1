//! `config`: `Config::from_toml_str` (and `Config::load`) on mutated TOML with mutated `--set`
//! overrides, then `check()`, everything a `CheckedConfig` computes, and the TOML round trip of
//! the resolved config.
//!
//! Input: the TOML text, then optionally `\0SET\0` and the overrides separated by `\0`.

use std::path::PathBuf;

use sparq_config::{CheckedConfig, Config};

use crate::engine::{Outcome, Target, fnv};
use crate::mutate::Mutator;
use crate::structured::{Schema, deep_toml};

const SET: &[u8] = b"\0SET\0";

pub struct ConfigTarget {
    configs_dir: PathBuf,
    schema: Schema,
    scratch: tempfile::TempDir,
}

impl ConfigTarget {
    pub fn new(configs_dir: PathBuf) -> std::io::Result<Self> {
        let defaults = Config::default()
            .to_toml_string()
            .map_err(std::io::Error::other)?;
        let table: toml::Table = defaults.parse().map_err(std::io::Error::other)?;
        Ok(ConfigTarget {
            configs_dir,
            schema: Schema::new(&table),
            scratch: crate::engine::scratch_dir()?,
        })
    }
}

/// Splits an input into TOML text and override specs.
pub fn split(input: &[u8]) -> (&[u8], Vec<String>) {
    match input.windows(SET.len()).position(|w| w == SET) {
        None => (input, Vec::new()),
        Some(i) => {
            let specs = input[i + SET.len()..]
                .split(|&b| b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            (&input[..i], specs)
        }
    }
}

pub fn join(text: &[u8], overrides: &[String]) -> Vec<u8> {
    let mut out = text.to_vec();
    if !overrides.is_empty() {
        out.extend_from_slice(SET);
        out.extend_from_slice(overrides.join("\0").as_bytes());
    }
    out
}

fn toml_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            toml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}

/// Calls everything a checked config offers; none of it may panic.
fn exercise(c: &CheckedConfig) {
    let last = c.final_env_step();
    let steps = c.total_gradient_steps();
    for t in [
        0,
        1,
        last / 2,
        last.saturating_sub(1),
        last,
        last.saturating_add(1),
        u64::MAX,
    ] {
        std::hint::black_box((c.epsilon_at(t), c.lr_at(t)));
    }
    std::hint::black_box((
        c.train_rounds(0, last),
        c.train_rounds(last / 2, last),
        c.train_rounds(last, last),
        steps,
    ));
    std::hint::black_box(c.prune().describe());
    let n = &c.config().network;
    std::hint::black_box((n.scaled_hidden(), n.scaled_conv_channels()));
}

impl Target for ConfigTarget {
    fn name(&self) -> &'static str {
        "config"
    }

    fn seeds(&mut self) -> Vec<Vec<u8>> {
        let mut files = Vec::new();
        toml_files(&self.configs_dir, &mut files);
        let mut seeds: Vec<Vec<u8>> = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
        if let Ok(text) = Config::default().to_toml_string() {
            seeds.push(text.into_bytes());
        }
        seeds.push(Vec::new());
        seeds.push(join(
            b"[run]\ntotal_steps = 5000\n",
            &[
                "agent.learning_starts=100".into(),
                "env.id=Acrobot-v1".into(),
            ],
        ));
        seeds
    }

    fn dictionary(&self) -> Vec<Vec<u8>> {
        let mut d: Vec<Vec<u8>> = [
            "[",
            "]",
            "[[",
            "]]",
            "=",
            "\"",
            "'",
            "'''",
            "\"\"\"",
            "\n",
            "#",
            ".",
            ",",
            "{",
            "}",
            "nan",
            "inf",
            "-inf",
            "+inf",
            "1e999",
            "-0.0",
            "0x7fffffffffffffff",
            "9223372036854775808",
            "-9223372036854775809",
            "1_000",
            "true",
            "false",
            "1979-05-27T07:32:00Z",
            "\\u0000",
            "\\U0010FFFF",
            "\r\n",
            "\t",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        for (section, key, _) in &self.schema.keys {
            d.push(format!("[{section}]\n").into_bytes());
            d.push(format!("{key} = ").into_bytes());
            d.push(format!("{section}.{key}").into_bytes());
        }
        d
    }

    fn mutate(&mut self, m: &mut Mutator, input: &[u8], other: &[u8]) -> Vec<u8> {
        let (text, mut overrides) = split(input);
        let roll = m.below(100);
        if roll < 2 {
            return join(deep_toml(m).as_bytes(), &overrides);
        }
        if roll < 40 {
            let parsed = std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<toml::Table>().ok());
            if let Some(mut table) = parsed {
                self.schema.mutate_table(m, &mut table);
                if let Ok(out) = toml::to_string(&table) {
                    return join(out.as_bytes(), &overrides);
                }
            }
        }
        if roll < 55 {
            match m.below(3) {
                0 if !overrides.is_empty() => {
                    let i = m.below(overrides.len());
                    overrides.remove(i);
                }
                1 if !overrides.is_empty() => {
                    let i = m.below(overrides.len());
                    let mut bytes = overrides[i].clone().into_bytes();
                    m.mutate_bytes(&mut bytes, &[]);
                    overrides[i] = String::from_utf8_lossy(&bytes).replace('\0', "");
                }
                _ => overrides.push(self.schema.override_spec(m)),
            }
            return join(text, &overrides);
        }
        let mut bytes = text.to_vec();
        m.mutate_bytes(&mut bytes, split(other).0);
        join(&bytes, &overrides)
    }

    fn exec(&mut self, input: &[u8]) -> Outcome {
        let (text, overrides) = split(input);
        // Config::load itself now and then (file I/O, UTF-8 check), chosen by content so a
        // saved input replays the same way.
        let loaded = if fnv(input).is_multiple_of(16) {
            let path = self.scratch.path().join("fuzz.toml");
            if let Err(e) = std::fs::write(&path, text) {
                return Outcome::Rejected(format!("harness: {e}"));
            }
            Config::load(&path, &overrides)
        } else {
            Config::from_toml_str(&String::from_utf8_lossy(text), "fuzz.toml", &overrides)
        };
        let config = match loaded {
            Ok(c) => c,
            Err(e) => return one_line(&e),
        };
        let checked = config.check();
        if let Ok(c) = &checked {
            exercise(c);
            if c.config() != &config {
                return violation(
                    "check changed the config",
                    "CheckedConfig::config() differs from the input",
                );
            }
        }
        let first = match config.to_toml_string() {
            Ok(s) => s,
            Err(e) => return violation("resolved config cannot be written", &e.to_string()),
        };
        let again = match Config::from_toml_str(&first, "resolved.toml", &[]) {
            Ok(c) => c,
            Err(e) => {
                return violation(
                    "resolved config does not load back",
                    &format!("{e}\n--- resolved:\n{first}"),
                );
            }
        };
        match again.to_toml_string() {
            Ok(second) if second == first => {}
            Ok(second) => {
                return violation(
                    "round trip changes the config",
                    &format!("first:\n{first}\nsecond:\n{second}"),
                );
            }
            Err(e) => return violation("resolved config cannot be written", &e.to_string()),
        }
        match (&checked, again.check()) {
            (Ok(_), Ok(_)) => {}
            // The same error; where the value came from (file or --set) differs by design.
            (Err(a), Err(b)) if a.unlocated().to_string() == b.unlocated().to_string() => {}
            (a, b) => {
                return violation(
                    "check disagrees after the round trip",
                    &format!(
                        "before: {:?}\nafter: {:?}",
                        a.as_ref().err().map(|e| e.to_string()),
                        b.err().map(|e| e.to_string())
                    ),
                );
            }
        }
        match checked {
            Ok(_) => Outcome::Accepted("checked".into()),
            Err(e) => one_line(&e),
        }
    }
}

fn violation(key: &str, detail: &str) -> Outcome {
    Outcome::Violation {
        key: key.into(),
        detail: detail.into(),
    }
}

/// Errors are one line (a project rule): a newline in one is reported, keyed by its variant.
fn one_line(e: &sparq_config::ConfigError) -> Outcome {
    let message = e.to_string();
    if message.contains('\n') {
        let debug = format!("{e:?}");
        let variant = debug.split([' ', '(', '{']).next().unwrap_or("");
        return violation(
            &format!("multi-line error message (ConfigError::{variant})"),
            &message,
        );
    }
    Outcome::Rejected(message)
}
