//! The MANIFEST: one line per file (`crc32c size name`), sealed by a last line holding the CRC32C
//! of everything above it, so that any changed byte — in a file or in the manifest — is caught.

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

const HEADER: &str = "sparq-checkpoint 1\n";
const SEAL: &str = "seal ";

impl Entry {
    pub fn verify(&self, bytes: &[u8]) -> Result<(), String> {
        if bytes.len() as u64 != self.size {
            return Err(format!("size {} bytes, MANIFEST says {} (truncated?)", bytes.len(), self.size));
        }
        let crc = crc32c::crc32c(bytes);
        if crc != self.crc {
            return Err(format!("CRC32C {crc:08x}, MANIFEST says {:08x}", self.crc));
        }
        Ok(())
    }
}

impl Manifest {
    pub fn add(&mut self, name: &str, bytes: &[u8]) {
        self.entries.push(Entry { name: name.to_string(), size: bytes.len() as u64, crc: crc32c::crc32c(bytes) });
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
            .and_then(|s| u32::from_str_radix(s, 16).ok())
            .ok_or("MANIFEST seal line is malformed")?;
        if crc32c::crc32c(body.as_bytes()) != seal || seal_line.len() != SEAL.len() + 9 {
            return Err("MANIFEST does not match its seal".into());
        }
        let rest = body.strip_prefix(HEADER).ok_or("MANIFEST header is not 'sparq-checkpoint 1'")?;
        let mut entries = Vec::new();
        for line in rest.lines() {
            let mut parts = line.splitn(3, ' ');
            let (crc, size, name) = (parts.next(), parts.next(), parts.next());
            let parsed = match (crc, size, name) {
                (Some(c), Some(s), Some(n)) if !n.is_empty() && !n.contains('/') => {
                    u32::from_str_radix(c, 16).ok().zip(s.parse().ok()).map(|(crc, size)| Entry { name: n.to_string(), size, crc })
                }
                _ => None,
            };
            entries.push(parsed.ok_or_else(|| format!("MANIFEST line '{line}' is malformed"))?);
        }
        Ok(Manifest { entries })
    }
}
