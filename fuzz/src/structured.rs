//! Structure-aware mutations: random TOML/JSON values of every type and edge, applied to parsed
//! documents (so the input stays syntactically valid and reaches the typed layers behind the
//! parser), including JSON documents nested as byte arrays inside JSON (env snapshots).

use rand::RngExt;
use toml::Value as Toml;

use crate::json::{self, J};
use crate::mutate::Mutator;

/// Enum spellings, ids and names the typed layers match against: random strings rarely hit them.
pub const WORDS: &[&str] = &[
    "auto",
    "cpu",
    "cuda",
    "adam",
    "rmsprop_centered",
    "constant",
    "linear",
    "huber",
    "mse",
    "relu",
    "tanh",
    "elu",
    "gelu",
    "leaky_relu",
    "none",
    "polynomial",
    "one_shot",
    "iterative",
    "static",
    "global",
    "layerwise",
    "erk",
    "magnitude",
    "random",
    "saliency",
    "weight",
    "neuron",
    "fc0",
    "fc1",
    "out",
    "conv0",
    "CartPole-v1",
    "Acrobot-v1",
    "MountainCar-v0",
    "MinAtar/Breakout-v1",
    "MinAtar/Asterix-v1",
    "MinAtar/Freeway-v1",
    "MinAtar/Seaquest-v1",
    "MinAtar/SpaceInvaders-v1",
    "Noop",
    "Left",
    "Up",
    "Right",
    "Down",
    "Fire",
    "F32",
    "Bits",
    "",
    " ",
    "\u{0}",
    "é\u{1F600}",
];

const INT_EDGES: [i64; 16] = [
    0,
    1,
    -1,
    2,
    3,
    4,
    100,
    101,
    4096,
    4097,
    1 << 32,
    (1 << 32) + 1,
    1 << 53,
    (1 << 53) + 1,
    i64::MAX,
    i64::MIN,
];
const FLOAT_EDGES: [f64; 16] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    0.0,
    -0.0,
    1.0,
    0.5,
    0.9999999999999999,
    1.0000000000000002,
    1e-300,
    5e-324,
    1e308,
    f64::MAX,
    -1.0,
    1e19,
    9007199254740993.0,
];

fn word(m: &mut Mutator) -> String {
    if m.chance(0.8) {
        WORDS[m.below(WORDS.len())].to_owned()
    } else {
        let most = if m.chance(0.9) { 12 } else { 5000 };
        let n = m.below(most);
        (0..n)
            .map(|_| char::from_u32(m.rng.random_range(1..0x11000)).unwrap_or('x'))
            .collect()
    }
}

fn int(m: &mut Mutator) -> i64 {
    match m.below(3) {
        0 => INT_EDGES[m.below(INT_EDGES.len())],
        1 => m.rng.random_range(-10..1000),
        _ => m.rng.random(),
    }
}

fn float(m: &mut Mutator) -> f64 {
    match m.below(3) {
        0 => FLOAT_EDGES[m.below(FLOAT_EDGES.len())],
        1 => m.rng.random_range(-2.0..2.0),
        _ => f64::from_bits(m.rng.random()),
    }
}

/// A random TOML value; `depth` bounds arrays and tables.
pub fn toml_value(m: &mut Mutator, depth: usize) -> Toml {
    let kinds = if depth == 0 { 5 } else { 7 };
    match m.below(kinds) {
        0 => Toml::Integer(int(m)),
        1 => Toml::Float(float(m)),
        2 => Toml::String(word(m)),
        3 => Toml::Boolean(m.chance(0.5)),
        4 => {
            let text = [
                "1979-05-27T07:32:00Z",
                "1979-05-27",
                "07:32:00",
                "1979-05-27T00:32:00.999999-07:00",
            ];
            text[m.below(text.len())]
                .parse()
                .map_or(Toml::Integer(0), Toml::Datetime)
        }
        5 => {
            let n = m.below(6);
            Toml::Array((0..n).map(|_| toml_value(m, depth - 1)).collect())
        }
        _ => {
            let mut t = toml::Table::new();
            for _ in 0..m.below(4) {
                t.insert(word(m), toml_value(m, depth - 1));
            }
            Toml::Table(t)
        }
    }
}

/// TOML text nested `depth` levels deep in one of several ways (parser recursion, drop recursion).
pub fn deep_toml(m: &mut Mutator) -> String {
    let depths = [8, 64, 200, 1000, 10_000, 100_000];
    let d = depths[m.below(depths.len())];
    match m.below(5) {
        0 => format!("[network]\nhidden = {}{}\n", "[".repeat(d), "]".repeat(d)),
        1 => format!("[agent]\nlr = {}1{}\n", "{a = ".repeat(d), "}".repeat(d)),
        2 => format!("[{}]\nx = 1\n", vec!["run"; d].join(".")),
        3 => format!("{} = 1\n", vec!["prune"; d].join(".")),
        _ => format!("[[{}]]\n", vec!["log"; d].join(".")),
    }
}

/// The sections and keys of the real schema, with their default values.
pub struct Schema {
    pub keys: Vec<(String, String, Toml)>,
}

impl Schema {
    pub fn new(defaults: &toml::Table) -> Schema {
        let mut keys = Vec::new();
        for (section, v) in defaults {
            if let Toml::Table(t) = v {
                for (k, d) in t {
                    keys.push((section.clone(), k.clone(), d.clone()));
                }
            }
        }
        Schema { keys }
    }

    /// A value for schema key `i`: usually of its own type near its edges, sometimes any type.
    pub fn value_for(&self, m: &mut Mutator, i: usize) -> Toml {
        let default = &self.keys[i].2;
        if m.chance(0.3) {
            return toml_value(m, 3);
        }
        match default {
            Toml::Integer(v) => Toml::Integer(match m.below(3) {
                0 => int(m),
                1 => v.saturating_add(m.rng.random_range(-3..4)),
                _ => v.saturating_mul(m.rng.random_range(-2..1000)),
            }),
            Toml::Float(v) => Toml::Float(if m.chance(0.5) {
                float(m)
            } else {
                v * m.rng.random_range(-2.0..2.0)
            }),
            Toml::String(_) => Toml::String(word(m)),
            Toml::Boolean(b) => Toml::Boolean(!b),
            Toml::Array(_) => {
                let most = if m.chance(0.9) { 5 } else { 300 };
                let n = m.below(most);
                Toml::Array(
                    (0..n)
                        .map(|_| {
                            if m.chance(0.8) {
                                Toml::Integer(int(m))
                            } else {
                                toml_value(m, 2)
                            }
                        })
                        .collect(),
                )
            }
            _ => toml_value(m, 3),
        }
    }

    /// A `--set section.key=value` override: mostly real keys with edge values, sometimes junk.
    pub fn override_spec(&self, m: &mut Mutator) -> String {
        let i = m.below(self.keys.len());
        let (section, key, _) = &self.keys[i];
        let value = self.value_for(m, i);
        let value_text = match &value {
            // Unquoted strings exercise the plain-string fallback.
            Toml::String(s) if m.chance(0.5) => s.clone(),
            v => v.to_string(),
        };
        match m.below(10) {
            0 => format!("{section}={value_text}"),
            1 => format!("{section}.{key}.{}={value_text}", word(m)),
            2 => format!("{}.{key}={value_text}", word(m)),
            3 => format!("{section}.{key}"),
            4 => format!(" {section} . {key} = {value_text} "),
            _ => format!("{section}.{key}={value_text}"),
        }
    }

    /// Applies 1-4 schema-aware edits to a parsed config table.
    pub fn mutate_table(&self, m: &mut Mutator, table: &mut toml::Table) {
        for _ in 0..1 + m.below(4) {
            let i = m.below(self.keys.len());
            let (section, key, _) = &self.keys[i];
            match m.below(10) {
                0 => {
                    // Replace a whole section (by a value of any type).
                    table.insert(section.clone(), toml_value(m, 2));
                }
                1 => {
                    table.remove(section);
                }
                2 => {
                    let name = word(m);
                    table.insert(name, toml_value(m, 2));
                }
                3 => {
                    if let Some(Toml::Table(t)) = table.get_mut(section) {
                        t.remove(key);
                    }
                }
                4 => {
                    if let Some(Toml::Table(t)) = table.get_mut(section) {
                        t.insert(word(m), toml_value(m, 2));
                    }
                }
                _ => {
                    let v = self.value_for(m, i);
                    let entry = table
                        .entry(section.clone())
                        .or_insert_with(|| Toml::Table(toml::Table::new()));
                    if let Toml::Table(t) = entry {
                        t.insert(key.clone(), v);
                    }
                }
            }
        }
    }
}

/// A number near `old` (as text, so u128 generator states keep their precision) or at an edge.
fn json_number(m: &mut Mutator, old: Option<&str>) -> J {
    let base = old.and_then(|t| t.parse::<u128>().ok());
    let text = match (m.below(8), base) {
        (0, Some(v)) => v.wrapping_add(1).to_string(),
        (1, Some(v)) => v.wrapping_sub(1).to_string(),
        (2, Some(v)) => {
            (v ^ (1 << m.below(if v > u128::from(u64::MAX) { 128 } else { 64 }))).to_string()
        }
        (3, Some(v)) => v.wrapping_mul(2).to_string(),
        (4, _) => int(m).to_string(),
        (5, _) => {
            let f = float(m);
            if f.is_finite() {
                format!("{f:?}")
            } else {
                "1e999".into()
            }
        }
        (6, _) => [
            "0",
            "1",
            "2",
            "9",
            "10",
            "99",
            "100",
            "255",
            "256",
            "4294967295",
            "4294967296",
            "18446744073709551615",
            "18446744073709551616",
            "340282366920938463463374607431768211455",
            "-1",
            "-0",
            "0.0",
            "1e-400",
        ][m.below(18)]
        .to_string(),
        _ => (m.rng.random::<u64>() >> m.below(64)).to_string(),
    };
    J::Num(text)
}

/// A random JSON value; `depth` bounds arrays and objects.
pub fn json_value(m: &mut Mutator, depth: usize) -> J {
    let kinds = if depth == 0 { 4 } else { 6 };
    match m.below(kinds) {
        0 => J::Null,
        1 => J::Bool(m.chance(0.5)),
        2 => json_number(m, None),
        3 => J::Str(word(m)),
        4 => J::Arr((0..m.below(5)).map(|_| json_value(m, depth - 1)).collect()),
        _ => J::Obj(
            (0..m.below(4))
                .map(|_| (word(m), json_value(m, depth - 1)))
                .collect(),
        ),
    }
}

/// A byte array holding a document: mutate the nested JSON, or its bytes.
fn mutate_blob(m: &mut Mutator, mut bytes: Vec<u8>) -> J {
    if m.chance(0.8)
        && let Some(out) = mutate_json(m, &bytes)
    {
        return J::from_bytes(&out);
    }
    m.mutate_bytes(&mut bytes, &[]);
    J::from_bytes(&bytes)
}

/// One to four structural edits of a JSON document; `None` if `bytes` is not JSON.
pub fn mutate_json(m: &mut Mutator, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut doc = json::parse(bytes)?;
    let edits = if m.chance(0.8) { 1 } else { 1 + m.below(4) };
    for _ in 0..edits {
        let mut paths = Vec::new();
        doc.paths(&mut Vec::new(), &mut paths);
        let path = paths[m.below(paths.len())].clone();
        let node = doc.at_mut(&path)?;
        let op = m.below(10);
        let new = match (&*node, op) {
            (J::Arr(_), _) if node.as_bytes().is_some() => {
                mutate_blob(m, node.as_bytes().unwrap_or_default())
            }
            (J::Num(n), 0..=6) => json_number(m, Some(n)),
            (J::Arr(a), 0..=3) if !a.is_empty() => {
                let mut a = a.clone();
                let i = m.below(a.len());
                match m.below(3) {
                    0 => {
                        a.remove(i);
                    }
                    1 => {
                        let x = a[i].clone();
                        a.insert(i, x);
                    }
                    _ => a.push(json_value(m, 2)),
                }
                J::Arr(a)
            }
            (J::Obj(o), 0..=3) if !o.is_empty() => {
                let mut o = o.clone();
                let i = m.below(o.len());
                match m.below(3) {
                    0 => {
                        o.remove(i);
                    }
                    1 => {
                        let dup = o[i].clone();
                        o.push(dup);
                    }
                    _ => o.push((word(m), json_value(m, 2))),
                }
                J::Obj(o)
            }
            (J::Str(_), 0..=5) => J::Str(word(m)),
            (J::Bool(b), 0..=5) => J::Bool(!b),
            (J::Null, 0..=5) => json_number(m, None),
            _ => json_value(m, 3),
        };
        *node = new;
    }
    Some(json::to_bytes(&doc))
}
