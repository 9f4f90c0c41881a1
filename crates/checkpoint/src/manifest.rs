//! The MANIFEST: one line per file (`sha256 size name`), sealed by a last line holding the CRC32C
//! of everything above it, so that any changed byte — in a file or in the manifest — is caught.
//! Files are hashed with SHA-256, not a CRC: CRCs are linear, so a file that ends in its own
//! CRC32C (as the replay snapshot does) has a CRC that depends on its length alone (found by
//! fuzzing).

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Manifest {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub size: u64,
    pub sha256: [u8; 32],
}

const SEAL: &str = "seal ";

impl Entry {
    pub fn verify(&self, bytes: &[u8]) -> Result<(), String> {
        if bytes.len() as u64 != self.size {
            return Err(format!(
                "size {} bytes, MANIFEST says {} (truncated?)",
                bytes.len(),
                self.size
            ));
        }
        if sha256(bytes) != self.sha256 {
            return Err(format!(
                "SHA-256 {}, MANIFEST says {}",
                hex(&sha256(bytes)),
                hex(&self.sha256)
            ));
        }
        Ok(())
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Exactly 64 lower-case hex digits.
fn hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Exactly eight lower-case hex digits, as `render` writes them (so no byte can change unseen).
fn hex8(s: &str) -> Option<u32> {
    let canonical = s.len() == 8
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if canonical {
        u32::from_str_radix(s, 16).ok()
    } else {
        None
    }
}

impl Manifest {
    pub fn add(&mut self, name: &str, bytes: &[u8]) {
        self.entries.push(Entry {
            name: name.to_string(),
            size: bytes.len() as u64,
            sha256: sha256(bytes),
        });
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn render(&self) -> String {
        let mut body = header();
        for e in &self.entries {
            body.push_str(&format!("{} {} {}\n", hex(&e.sha256), e.size, e.name));
        }
        let seal = crc32c::crc32c(body.as_bytes());
        body.push_str(&format!("{SEAL}{seal:08x}\n"));
        body
    }

    /// The format version a MANIFEST names when its seal holds but the version is not this
    /// build's: another sparq wrote it, which is not corruption.
    pub fn foreign_format(bytes: &[u8]) -> Option<String> {
        let body = unseal(bytes).ok()?;
        let version = body.lines().next()?.strip_prefix("sparq-checkpoint ")?;
        let plausible = !version.is_empty()
            && version.len() <= 8
            && version.bytes().all(|b| b.is_ascii_digit());
        (plausible && version != crate::FORMAT.to_string()).then(|| version.to_string())
    }

    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let body = unseal(bytes)?;
        let rest = body.strip_prefix(header().as_str()).ok_or_else(|| {
            format!(
                "MANIFEST header is not 'sparq-checkpoint {}'",
                crate::FORMAT
            )
        })?;
        let mut entries = Vec::new();
        for line in rest.lines() {
            let mut parts = line.splitn(3, ' ');
            let (digest, size, name) = (parts.next(), parts.next(), parts.next());
            let parsed = match (digest, size, name) {
                (Some(c), Some(s), Some(n)) if !n.is_empty() && !n.contains('/') => hex32(c)
                    .zip(s.parse().ok().filter(|_: &u64| {
                        s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
                    }))
                    .map(|(sha256, size)| Entry {
                        name: n.to_string(),
                        size,
                        sha256,
                    }),
                _ => None,
            };
            entries.push(parsed.ok_or_else(|| format!("MANIFEST line '{line}' is malformed"))?);
        }
        Ok(Manifest { entries })
    }
}

/// The MANIFEST's first line: the format this build writes and reads.
fn header() -> String {
    format!("sparq-checkpoint {}\n", crate::FORMAT)
}

/// The MANIFEST's body once its CRC32C seal line checks out.
fn unseal(bytes: &[u8]) -> Result<&str, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "MANIFEST is not UTF-8".to_string())?;
    let body_end = text
        .trim_end_matches('\n')
        .rfind('\n')
        .map(|i| i + 1)
        .ok_or("MANIFEST has no seal")?;
    let (body, seal_line) = text.split_at(body_end);
    let seal = seal_line
        .strip_prefix(SEAL)
        .and_then(|s| s.strip_suffix('\n'))
        .and_then(hex8)
        .ok_or("MANIFEST seal line is malformed")?;
    if crc32c::crc32c(body.as_bytes()) != seal || seal_line.len() != SEAL.len() + 9 {
        return Err("MANIFEST does not match its seal".into());
    }
    Ok(body)
}
