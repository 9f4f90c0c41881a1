//! Bad input gives an error with one line, never a panic: truncated, corrupted and
//! wrong-version files, and observations or buffers of the wrong length.

mod common;

use common::network;
use sparq_runtime::{Activation, ErrorKind, Format, Policy};

fn file_bytes() -> Vec<u8> {
    network(
        &[4],
        &[32, 32],
        2,
        Activation::Relu,
        true,
        0.8,
        Format::SparseI8,
        1,
    )
    .to_bytes()
}

fn one_line(e: &sparq_runtime::Error) {
    assert!(
        !e.message.is_empty() && !e.message.contains('\n'),
        "{:?}",
        e.message
    );
}

#[test]
fn round_trip_is_exact() {
    let f = network(
        &[4, 10, 10],
        &[128],
        3,
        Activation::Gelu,
        false,
        0.9,
        Format::SparseF32,
        2,
    );
    let back = sparq_runtime::PolicyFile::from_bytes(&f.to_bytes()).unwrap();
    assert_eq!(back, f);
}

#[test]
fn every_truncation_is_an_error() {
    let b = file_bytes();
    for n in 0..b.len() {
        let e = Policy::from_bytes(&b[..n]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Format, "{n}: {e}");
        one_line(&e);
    }
}

#[test]
fn every_flipped_byte_is_an_error() {
    let b = file_bytes();
    for i in 0..b.len() {
        let mut c = b.clone();
        c[i] ^= 0x5a;
        let e = Policy::from_bytes(&c).unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::Format | ErrorKind::Version),
            "byte {i}: {e}"
        );
        one_line(&e);
    }
}

#[test]
fn another_version_is_named() {
    let mut b = file_bytes();
    b[8..12].copy_from_slice(&2u32.to_le_bytes());
    let e = Policy::from_bytes(&b).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Version);
    assert!(e.message.contains("version 2"), "{e}");
}

#[test]
fn wrong_lengths_are_errors() {
    let mut p = Policy::from_bytes(&file_bytes()).unwrap();
    for n in [0, 3, 5, 9] {
        let e = p.act(&vec![0.0; n]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ObsLength);
        one_line(&e);
    }
    let e = p.q_values(&[0.0; 7], &mut [0.0; 2]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ObsLength);
    let e = p.q_values(&[0.0; 8], &mut [0.0; 2]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutputLength);
    let e = p.act_batch(&[0.0; 8], &mut [0; 3]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutputLength);
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let e = Policy::load("/nonexistent/policy.sparq").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(e.message.contains("/nonexistent/policy.sparq"));
}
