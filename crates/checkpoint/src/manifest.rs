//! The MANIFEST: one line per file (`crc32c size name`), sealed by a last line holding the CRC32C
//! of everything above it, so that any changed byte — in a file or in the manifest — is caught.
//! Each file's CRC starts from the CRC of its name: a file that ends in its own CRC32C (as the
//! replay snapshot does) would otherwise always have the same CRC, whatever its content.

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Manifest {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub size: u64,
    pub crc: u32,
}

const HEADER: &str = "sparq-checkpoint 2\n";
const SEAL: &str = "seal ";

impl Entry {
    pub fn verify(&self, bytes: &[u8]) -> Result<(), String> {
        if bytes.len() as u64 != self.size {
            return Err(format!("size {} bytes, MANIFEST says {} (truncated?)", bytes.len(), self.size));
        }
        let crc = file_crc(&self.name, bytes);
        if crc != self.crc {
            return Err(format!("CRC32C {crc:08x}, MANIFEST says {:08x}", self.crc));
        }
        Ok(())
    }
}

fn file_crc(name: &str, bytes: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(name.as_bytes()), bytes)
}

/// Exactly eight lower-case hex digits, as `render` writes them (so no byte can change unseen).
fn hex8(s: &str) -> Option<u32> {
    let canonical = s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if canonical { u32::from_str_radix(s, 16).ok() } else { None }
}

impl Manifest {
    pub fn add(&mut self, name: &str, bytes: &[u8]) {
        self.entries.push(Entry { name: name.to_string(), size: bytes.len() as u64, crc: file_crc(name, bytes) });
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn render(&self) -> String {
        let mut body = String::from(HEADER);
        for e in &self.entries {
            body.push_str(&format!("{:08x} {} {}\n", e.crc, e.size, e.name));
        }
        let seal = crc32c::crc32c(body.as_bytes());
        body.push_str(&format!("{SEAL}{seal:08x}\n"));
        body
    }

    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "MANIFEST is not UTF-8".to_string())?;
        let body_end = text.trim_end_matches('\n').rfind('\n').map(|i| i + 1).ok_or("MANIFEST has no seal")?;
        let (body, seal_line) = text.split_at(body_end);
        let seal = seal_line
            .strip_prefix(SEAL)
            .and_then(|s| s.strip_suffix('\n'))
            .and_then(hex8)
            .ok_or("MANIFEST seal line is malformed")?;
        if crc32c::crc32c(body.as_bytes()) != seal || seal_line.len() != SEAL.len() + 9 {
            return Err("MANIFEST does not match its seal".into());
        }
        let rest = body.strip_prefix(HEADER).ok_or("MANIFEST header is not 'sparq-checkpoint 2'")?;
        let mut entries = Vec::new();
        for line in rest.lines() {
            let mut parts = line.splitn(3, ' ');
            let (crc, size, name) = (parts.next(), parts.next(), parts.next());
            let parsed = match (crc, size, name) {
                (Some(c), Some(s), Some(n)) if !n.is_empty() && !n.contains('/') => {
                    hex8(c).zip(s.parse().ok().filter(|_: &u64| s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0')))).map(|(crc, size)| Entry { name: n.to_string(), size, crc })
                }
                _ => None,
            };
            entries.push(parsed.ok_or_else(|| format!("MANIFEST line '{line}' is malformed"))?);
        }
        Ok(Manifest { entries })
    }
}
