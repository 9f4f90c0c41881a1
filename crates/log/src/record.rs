//! TFRecord framing: `u64 LE length | masked crc32c(length bytes) | data | masked crc32c(data)`.

use std::io::{self, Read, Write};

const MASK_DELTA: u32 = 0xa282_ead8;

/// TFRecord's masked CRC32C: rotating and offsetting the checksum keeps a CRC of data that itself
/// contains CRCs from being degenerate.
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Writes one record around `data`.
pub(crate) fn write_record(out: &mut impl Write, data: &[u8]) -> io::Result<()> {
    let len = (data.len() as u64).to_le_bytes();
    out.write_all(&len)?;
    out.write_all(&masked_crc32c(&len).to_le_bytes())?;
    out.write_all(data)?;
    out.write_all(&masked_crc32c(data).to_le_bytes())
}

/// What reading one record found.
pub(crate) enum ReadRecord {
    /// A record whose two checksums match.
    Data(Vec<u8>),
    /// Clean end of file, on a record boundary.
    Eof,
    /// The file ends part-way through a record.
    Truncated,
    /// A checksum mismatch; the text names which one.
    Corrupt(&'static str),
}

/// Reads the next record, checking both checksums.
pub(crate) fn read_record(input: &mut impl Read) -> io::Result<ReadRecord> {
    let mut header = [0u8; 12];
    match read_full(input, &mut header)? {
        0 => return Ok(ReadRecord::Eof),
        12 => {}
        _ => return Ok(ReadRecord::Truncated),
    }
    let (len_bytes, len_crc) = header.split_at(8);
    if masked_crc32c(len_bytes).to_le_bytes() != len_crc {
        return Ok(ReadRecord::Corrupt("length checksum mismatch"));
    }
    let len = u64::from_le_bytes(len_bytes.try_into().expect("split_at(8) gives 8 bytes"));
    // Read through `take` rather than allocating `len` up front: the length is only as trustworthy
    // as a 32-bit checksum, and the file may simply be shorter.
    let mut data = Vec::new();
    input.take(len).read_to_end(&mut data)?;
    let mut data_crc = [0u8; 4];
    if (data.len() as u64) < len || read_full(input, &mut data_crc)? < 4 {
        return Ok(ReadRecord::Truncated);
    }
    if masked_crc32c(&data).to_le_bytes() != data_crc {
        return Ok(ReadRecord::Corrupt("data checksum mismatch"));
    }
    Ok(ReadRecord::Data(data))
}

/// Fills `buf` as far as the input allows; returns how many bytes were read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_known_vector() {
        // RFC 3720 B.4: CRC32C of "123456789" is 0xE3069283.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        // Masked by hand: rotr(0xE3069283, 15) = 0x2507C60D; + 0xA282EAD8 = 0xC78AB0E5.
        assert_eq!(masked_crc32c(b"123456789"), 0xC78A_B0E5);
    }

    #[test]
    fn empty_data_mask() {
        // CRC32C("") = 0, so the masked value is the delta itself.
        assert_eq!(masked_crc32c(b""), MASK_DELTA);
    }

    #[test]
    fn record_layout_and_round_trip() {
        let mut buf = Vec::new();
        write_record(&mut buf, b"abc").unwrap();
        assert_eq!(buf.len(), 8 + 4 + 3 + 4);
        assert_eq!(&buf[..8], &3u64.to_le_bytes());
        assert_eq!(&buf[12..15], b"abc");
        let mut r = &buf[..];
        assert!(matches!(read_record(&mut r).unwrap(), ReadRecord::Data(d) if d == b"abc"));
        assert!(matches!(read_record(&mut r).unwrap(), ReadRecord::Eof));
    }

    #[test]
    fn every_flipped_byte_and_every_cut_is_caught() {
        let mut buf = Vec::new();
        write_record(&mut buf, b"hello world").unwrap();
        for i in 0..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x01;
            let got = read_record(&mut &bad[..]).unwrap();
            // A flipped length bit is caught by the length CRC before the length is trusted.
            assert!(
                matches!(got, ReadRecord::Corrupt(_)),
                "flip at byte {i} went unnoticed"
            );
        }
        for cut in 1..buf.len() {
            let got = read_record(&mut &buf[..cut]).unwrap();
            assert!(
                matches!(got, ReadRecord::Truncated),
                "cut at {cut} went unnoticed"
            );
        }
    }
}
