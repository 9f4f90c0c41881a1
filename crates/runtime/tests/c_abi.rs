//! The C example (`examples/c/act.c`) compiled with `cc` against the static library: it acts as
//! the Rust API does, and a wrong observation length or a truncated file gives an error code
//! and one line.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::network;
use sparq_runtime::{Activation, Format, Policy};

/// The target directory holding libsparq_runtime.a (next to this test's deps/ directory).
fn static_lib() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    [deps.parent().unwrap(), deps]
        .iter()
        .map(|d| d.join("libsparq_runtime.a"))
        .find(|p| p.is_file())
        .expect("libsparq_runtime.a is built with the crate (crate-type staticlib)")
}

/// The README's C program compiles against the header (it cannot go stale).
#[test]
fn the_readme_c_program_compiles() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../../README.md")).unwrap();
    let start = readme.find("```c\n").expect("a C block in README.md") + 5;
    let code = &readme[start..start + readme[start..].find("```").unwrap()];
    let dir = std::env::temp_dir().join(format!("sparq-readme-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("readme.c"), code).unwrap();
    let status = Command::new(std::env::var("CC").unwrap_or("cc".into()))
        .args(["-Wall", "-Werror", "-I"])
        .arg(root.join("include"))
        .arg(dir.join("readme.c"))
        .arg(static_lib())
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(dir.join("readme"))
        .status()
        .unwrap();
    assert!(status.success(), "README.md's C program does not compile");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_c_program_acts_like_the_rust_api() {
    let dir = std::env::temp_dir().join(format!("sparq-c-abi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let exe = dir.join("act");
    let status = Command::new(std::env::var("CC").unwrap_or("cc".into()))
        .args(["-O2", "-Wall", "-Werror", "-I"])
        .arg(root.join("include"))
        .arg(root.join("examples/c/act.c"))
        .arg(static_lib())
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .status()
        .expect("a C compiler (cc) runs");
    assert!(status.success(), "compiling examples/c/act.c failed");

    let f = network(
        &[4],
        &[64, 64],
        2,
        Activation::Relu,
        false,
        0.9,
        Format::SparseF32,
        9,
    );
    let path = dir.join("p.sparq");
    std::fs::write(&path, f.to_bytes()).unwrap();
    let mut p = Policy::load(&path).unwrap();
    let mut rng = common::Rng(4);
    for _ in 0..20 {
        let obs: Vec<f32> = (0..4).map(|_| rng.next() * 3.0).collect();
        let out = Command::new(&exe)
            .arg(&path)
            .args(obs.iter().map(|v| format!("{v:e}")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: usize = String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(got, p.act(&obs).unwrap());
    }

    let out = Command::new(&exe)
        .arg(&path)
        .args(["1", "2", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "SPARQ_ERR_OBS_LENGTH");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("observation has 3 values"), "{err}");

    let bytes = f.to_bytes();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let out = Command::new(&exe)
        .arg(&path)
        .args(["1", "2", "3", "4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("truncated") && err.trim_end().lines().count() == 1,
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
