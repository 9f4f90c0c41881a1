//! A small JSON tree that keeps numbers as their source text. `serde_json::Value` turns integers
//! above u64 into lossy floats, which would break every `Pcg64` state (u128) in a snapshot and
//! make structure-aware mutations useless.

/// A JSON value; numbers and strings keep their exact meaning.
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

const MAX_DEPTH: usize = 256;

pub fn parse(bytes: &[u8]) -> Option<J> {
    let mut p = Parser { s: bytes, i: 0 };
    let v = p.value(0)?;
    p.ws();
    (p.i == bytes.len()).then_some(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b" \t\r\n".contains(b)) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Option<J> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.s.get(self.i)? {
            b'n' => self.eat(b"null").then_some(J::Null),
            b't' => self.eat(b"true").then_some(J::Bool(true)),
            b'f' => self.eat(b"false").then_some(J::Bool(false)),
            b'"' => self.string().map(J::Str),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Some(J::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b"]") {
                        return Some(J::Arr(items));
                    }
                    if !self.eat(b",") {
                        return None;
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.eat(b"}") {
                    return Some(J::Obj(entries));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return None;
                    }
                    entries.push((k, self.value(depth + 1)?));
                    self.ws();
                    if self.eat(b"}") {
                        return Some(J::Obj(entries));
                    }
                    if !self.eat(b",") {
                        return None;
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|b| b"+-.eE0123456789".contains(b))
                {
                    self.i += 1;
                }
                std::str::from_utf8(&self.s[start..self.i])
                    .ok()
                    .map(|t| J::Num(t.to_string()))
            }
            _ => None,
        }
    }

    fn string(&mut self) -> Option<String> {
        if !self.eat(b"\"") {
            return None;
        }
        let start = self.i;
        // Find the closing quote, skipping escapes; serde_json decodes the escapes.
        while *self.s.get(self.i)? != b'"' {
            self.i += if self.s[self.i] == b'\\' { 2 } else { 1 };
        }
        self.i += 1;
        serde_json::from_slice(&self.s[start - 1..self.i]).ok()
    }
}

pub fn write(v: &J, out: &mut Vec<u8>) {
    match v {
        J::Null => out.extend(b"null"),
        J::Bool(b) => out.extend(if *b { &b"true"[..] } else { b"false" }),
        J::Num(n) => out.extend(n.as_bytes()),
        J::Str(s) => out.extend(
            serde_json::to_string(s)
                .unwrap_or_else(|_| "\"\"".into())
                .as_bytes(),
        ),
        J::Arr(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(x, out);
            }
            out.push(b']');
        }
        J::Obj(o) => {
            out.push(b'{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(&J::Str(k.clone()), out);
                out.push(b':');
                write(x, out);
            }
            out.push(b'}');
        }
    }
}

pub fn to_bytes(v: &J) -> Vec<u8> {
    let mut out = Vec::new();
    write(v, &mut out);
    out
}

impl J {
    /// `Some(bytes)` for an array of at least 8 integers in 0..=255 (a nested document or blob).
    pub fn as_bytes(&self) -> Option<Vec<u8>> {
        let J::Arr(a) = self else { return None };
        if a.len() < 8 {
            return None;
        }
        a.iter()
            .map(|x| {
                if let J::Num(n) = x {
                    n.parse::<u8>().ok()
                } else {
                    None
                }
            })
            .collect()
    }

    pub fn from_bytes(bytes: &[u8]) -> J {
        J::Arr(bytes.iter().map(|b| J::Num(b.to_string())).collect())
    }

    /// Paths (child indices) of every node, byte arrays counting as one node.
    pub fn paths(&self, at: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        out.push(at.clone());
        let children: Vec<&J> = match self {
            J::Arr(a) if self.as_bytes().is_none() => a.iter().collect(),
            J::Obj(o) => o.iter().map(|(_, v)| v).collect(),
            _ => return,
        };
        for (i, c) in children.into_iter().enumerate() {
            at.push(i);
            c.paths(at, out);
            at.pop();
        }
    }

    pub fn at_mut(&mut self, path: &[usize]) -> Option<&mut J> {
        let Some((&first, rest)) = path.split_first() else {
            return Some(self);
        };
        match self {
            J::Arr(a) => a.get_mut(first)?.at_mut(rest),
            J::Obj(o) => o.get_mut(first)?.1.at_mut(rest),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_big_integers_and_escapes() {
        let text = r#"{"rng":{"state":164199326177481337684877986404079306907},"s":"a\"b\u00e9","x":[1,-2.5e3,true,null]}"#;
        let v = parse(text.as_bytes()).unwrap();
        // serde_json writes `é` itself rather than `\u00e9`.
        assert_eq!(
            String::from_utf8(to_bytes(&v)).unwrap(),
            text.replace("\\u00e9", "é")
        );
    }

    #[test]
    fn rejects_trailing_garbage_and_deep_nesting() {
        assert!(parse(b"[1] x").is_none());
        assert!(parse(&[b'['; 1000]).is_none());
    }
}
