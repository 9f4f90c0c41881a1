//! Bad config input an adversarial user tries (issues 17 and 18): each is one line naming its
//! file or `--set`, never a hang on a FIFO, an unbounded read of a device, or an abort later.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sparq_config::{Config, ConfigError};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn load_err(path: &Path, overrides: &[&str]) -> String {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let e = Config::load(path, &overrides)
        .and_then(|c| c.check().map(|_| ()))
        .unwrap_err()
        .to_string();
    assert!(!e.contains('\n'), "{e}");
    e
}

#[test]
fn range_errors_name_the_file_or_the_set_that_gave_the_value() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "x.toml", "[agent]\nlr = -0.0023\n");
    let file = p.display().to_string();
    assert_eq!(
        load_err(&p, &[]),
        format!("{file}: agent.lr = -0.0023 must be > 0 and finite")
    );
    let ok = write(tmp.path(), "ok.toml", "");
    assert_eq!(
        load_err(&ok, &["agent.lr=-0.0023"]),
        "--set agent.lr=-0.0023: must be > 0 and finite"
    );
    assert_eq!(
        load_err(&ok, &["agent.gamma=2"]),
        "--set agent.gamma=2: out of range: allowed [0, 1]"
    );
    // A value set in the file and then overridden: the override is named.
    assert_eq!(
        load_err(&p, &["agent.lr=-1"]),
        "--set agent.lr=-1: must be > 0 and finite"
    );
    // An element of a list given by --set.
    assert_eq!(
        load_err(&ok, &["network.hidden=[64,0]"]),
        "--set network.hidden=[64,0]: network.hidden[1] = 0 is out of range: allowed 1..=65536"
    );
    // [prune] range errors too.
    let pr = write(
        tmp.path(),
        "p.toml",
        "[prune]\nschedule = \"polynomial\"\ntarget_sparsity = 2.0\n",
    );
    assert_eq!(
        load_err(&pr, &[]),
        format!(
            "{}: prune.target_sparsity = 2 is out of range: allowed [0, 1)",
            pr.display()
        )
    );
    assert_eq!(
        load_err(&pr, &["prune.target_sparsity=3"]),
        "--set prune.target_sparsity=3: out of range: allowed [0, 1)"
    );
}

#[test]
fn the_full_u64_seed_range_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let ok = write(tmp.path(), "ok.toml", "");
    let c = Config::load(&ok, &["run.seed=18446744073709551615".into()]).unwrap();
    assert_eq!(c.run.seed, u64::MAX);
    let quoted = write(
        tmp.path(),
        "q.toml",
        "[run]\nseed = \"18446744073709551615\"\n",
    );
    assert_eq!(Config::load(&quoted, &[]).unwrap().run.seed, u64::MAX);
    // The resolved config a run directory stores loads back to the same seed.
    let text = c.to_toml_string().unwrap();
    assert_eq!(
        Config::from_toml_str(&text, "config.toml", &[])
            .unwrap()
            .run
            .seed,
        u64::MAX
    );
    // Bare, TOML cannot hold it (its integers are i64): say so, naming the key and the way out.
    let bare = write(tmp.path(), "b.toml", "[run]\nseed = 18446744073709551615\n");
    let e = load_err(&bare, &[]);
    assert!(
        e.contains("run.seed") && e.contains("9223372036854775807") && e.contains("quote"),
        "{e}"
    );
    let neg = write(tmp.path(), "n.toml", "[run]\nseed = -1\n");
    let e = load_err(&neg, &[]);
    assert!(e.contains("run.seed") && e.contains("-1"), "{e}");
}

#[test]
fn a_huge_total_steps_gets_its_range_message() {
    let tmp = tempfile::tempdir().unwrap();
    let ok = write(tmp.path(), "ok.toml", "");
    assert_eq!(
        load_err(&ok, &["run.total_steps=18446744073709551615"]),
        "--set run.total_steps=18446744073709551615: out of range: allowed 1..=2^53"
    );
    let bare = write(
        tmp.path(),
        "t.toml",
        "[run]\ntotal_steps = 18446744073709551615\n",
    );
    let e = load_err(&bare, &[]);
    assert!(
        e.contains("run.total_steps = 18446744073709551615 is out of range: allowed 1..=2^53"),
        "{e}"
    );
}

#[test]
fn an_unknown_huge_key_is_echoed_truncated() {
    let tmp = tempfile::tempdir().unwrap();
    let key = "k".repeat(10 << 20);
    let text = format!("[agent]\n{key} = 1\n");
    // From a file it is refused by size; as text (a checkpoint's config) by its truncated name.
    let p = write(tmp.path(), "big.toml", &text);
    assert!(load_err(&p, &[]).contains("larger than"));
    let e = Config::from_toml_str(&text, "big.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(e.len() < 1000, "{} bytes", e.len());
    assert!(
        e.contains(&format!("unknown key '{}…'", "k".repeat(64))),
        "{}",
        &e[..e.len().min(300)]
    );
    let e = load_err(
        &write(tmp.path(), "ok.toml", ""),
        &[&format!("agent.{key}=1")],
    );
    assert!(e.len() < 1000, "{} bytes", e.len());
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Loads on another thread so a hang fails the test instead of blocking it.
fn load_quickly(path: &Path) -> String {
    let path = path.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(Config::load(&path, &[]).map(|_| ()));
    });
    let start = Instant::now();
    let e = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the config loader hung")
        .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(matches!(e, ConfigError::Io { .. }), "{e:?}");
    e.to_string()
}

#[test]
fn only_regular_files_of_sane_size_are_read_as_configs() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("fifo.toml");
    mkfifo(&fifo);
    let e = load_quickly(&fifo);
    assert!(
        e.contains("fifo.toml") && e.contains("not a regular file"),
        "{e}"
    );
    let e = load_quickly(Path::new("/dev/zero"));
    assert!(
        e.contains("/dev/zero") && e.contains("not a regular file"),
        "{e}"
    );
    let big = write(tmp.path(), "big.toml", &"# comment\n".repeat(200_000));
    let e = load_quickly(&big);
    assert!(e.contains("big.toml") && e.contains("larger than"), "{e}");
    let e = load_quickly(tmp.path());
    assert!(
        e.contains("not a regular file") || e.contains("directory"),
        "{e}"
    );
    // A symlink loop is a loop, not "not found".
    let a = tmp.path().join("a.toml");
    let b = tmp.path().join("b.toml");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let e = load_quickly(&a).to_lowercase();
    assert!(
        e.contains("symbolic links") && !e.contains("no such file"),
        "{e}"
    );
}

#[test]
fn size_like_keys_have_sane_bounds() {
    let check = |edit: &dyn Fn(&mut Config)| {
        let mut c = Config::default();
        edit(&mut c);
        c.check().map(|_| ()).map_err(|e| e.to_string())
    };
    let e = check(&|c| c.network.width_multiplier = 1e30).unwrap_err();
    assert_eq!(
        e,
        "network.width_multiplier = 1e30 is out of range: allowed (0, 64]"
    );
    assert!(check(&|c| c.network.width_multiplier = 64.0).is_ok());
    let e = check(&|c| c.network.hidden = vec![64, 1 << 40]).unwrap_err();
    assert!(
        e.starts_with("network.hidden[1] = 1099511627776 is out of range: allowed 1..=65536"),
        "{e}"
    );
    let e = check(&|c| c.network.conv_channels = vec![1 << 20]).unwrap_err();
    assert!(
        e.starts_with("network.conv_channels[0] = 1048576 is out of range"),
        "{e}"
    );
    // Scaled widths are what count: 4096 × 64 is too wide.
    let e = check(&|c| {
        c.network.hidden = vec![4096];
        c.network.width_multiplier = 64.0;
    })
    .unwrap_err();
    assert!(
        e.contains("network.hidden[0]") && e.contains("width_multiplier"),
        "{e}"
    );
    let e = check(&|c| c.run.torch_threads = 100_000).unwrap_err();
    assert!(
        e.starts_with("run.torch_threads = 100000 is out of range: allowed 0..="),
        "{e}"
    );
    assert!(check(&|c| c.run.torch_threads = 0).is_ok());
    let e = check(&|c| c.agent.buffer_size = 1 << 40).unwrap_err();
    assert!(
        e.starts_with("agent.buffer_size = 1099511627776 is out of range: allowed 1..="),
        "{e}"
    );
}

#[test]
fn memory_beyond_what_the_machine_has_is_refused_with_the_estimate() {
    let mut c = Config::default();
    // 2^32 CartPole transitions: over 200 GB with the checkpoint's copy.
    c.agent.buffer_size = 1 << 32;
    let e = c.check().unwrap_err().to_string();
    assert!(
        e.contains("agent.buffer_size")
            && e.contains("GB")
            && e.contains("available")
            && e.contains("run.allow_large_memory"),
        "{e}"
    );
    c.run.allow_large_memory = true;
    assert!(c.check().is_ok());
}

#[test]
fn the_memory_estimate_adds_replay_networks_and_the_checkpoint_copy() {
    let c = Config::default(); // CartPole-v1: 4 floats, 2 actions; [64, 64]; 100k buffer
    let est = c.memory_estimate(&sparq_envs::spec("CartPole-v1").unwrap());
    // 100_000 slots × (16 B obs + 4 action + 4 reward + 1 flag).
    assert_eq!(est.replay, 100_000 * 25);
    assert_eq!(est.params, (4 * 64 + 64) + (64 * 64 + 64) + (64 * 2 + 2));
    assert!(est.network >= est.params * 24, "{est:?}");
    assert!(est.checkpoint_copy >= est.replay, "{est:?}");
    assert_eq!(est.total(), est.replay + est.network + est.checkpoint_copy);
    let mut no_replay = c.clone();
    no_replay.log.save_replay = false;
    let est2 = no_replay.memory_estimate(&sparq_envs::spec("CartPole-v1").unwrap());
    assert!(est2.checkpoint_copy < est.checkpoint_copy);
}
