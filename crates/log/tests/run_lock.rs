//! One owner per run directory (issue 18): of two concurrent creates exactly one wins, a live
//! run cannot be resumed by a second process (whose message names the holder's PID), and a
//! SIGKILLed holder leaves no stale lock.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use sparq_log::{LOCK_FILE, LogError, RunDir};

/// Serialises the tests of this file: while one spawns a child, the forked child briefly shares
/// every open file of this process, locks included, so another test's "dropped, so free again"
/// would flake.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the loser of a race sees: the lock, or (if the winner already finished) its config.
fn is_refusal(e: &LogError) -> bool {
    matches!(e, LogError::Locked { .. } | LogError::RunExists { .. })
}

#[test]
fn of_two_concurrent_creates_exactly_one_wins() {
    let _serial = serial();
    for _ in 0..20 {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("run");
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let run = RunDir::create(&path)?;
                    // As the trainer does: the config is written while the lock is held.
                    run.write_config("[run]\n")?;
                    std::thread::sleep(Duration::from_millis(5));
                    Ok::<_, LogError>(run.root().to_owned())
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{results:?}");
        let loss = results.into_iter().find_map(Result::err).unwrap();
        assert!(is_refusal(&loss), "{loss}");
    }
}

#[test]
fn a_live_run_refuses_a_resume_and_its_lock_dies_with_it() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let run = RunDir::create(tmp.path()).unwrap();
    run.write_config("[run]\n").unwrap();
    let err = RunDir::open_for_resume(tmp.path()).unwrap_err();
    assert!(matches!(err, LogError::Locked { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("process {}", std::process::id())),
        "{msg}"
    );
    // Reading a live run (eval, prune) takes no lock.
    assert!(RunDir::open(tmp.path()).is_ok());
    let clone = run.clone();
    drop(run);
    assert!(
        RunDir::open_for_resume(tmp.path()).is_err(),
        "a clone still holds it"
    );
    drop(clone);
    let resumed = RunDir::open_for_resume(tmp.path()).unwrap();
    assert!(resumed.lock().is_some());
}

/// Not a test of its own: the child process of the test below (it re-runs this test binary).
#[test]
fn lock_holder_child() {
    let Ok(dir) = std::env::var("SPARQ_TEST_LOCK_HOLDER") else {
        return;
    };
    let run = RunDir::create(Path::new(&dir)).unwrap();
    run.write_config("[run]\n").unwrap();
    println!("locked");
    std::thread::sleep(Duration::from_secs(60));
}

fn spawn_holder(dir: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "lock_holder_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SPARQ_TEST_LOCK_HOLDER", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn another_process_is_named_by_pid_and_a_sigkilled_one_leaves_no_stale_lock() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let mut child = spawn_holder(tmp.path());
    let pid = child.id();
    let start = Instant::now();
    let err = loop {
        let written = std::fs::read_to_string(tmp.path().join(LOCK_FILE)).unwrap_or_default();
        if written.trim() == pid.to_string() && tmp.path().join("config.toml").exists() {
            break RunDir::open_for_resume(tmp.path()).unwrap_err();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the child never locked"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        matches!(err, LogError::Locked { pid: Some(p), .. } if p == pid),
        "{err}"
    );
    assert!(
        err.to_string().contains(&format!("sparq process {pid}")),
        "{err}"
    );
    assert!(matches!(
        RunDir::create(tmp.path()).unwrap_err(),
        LogError::Locked { .. }
    ));

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let resumed = RunDir::open_for_resume(tmp.path()).expect("a killed holder's lock is gone");
    let written = std::fs::read_to_string(resumed.lock().unwrap().path()).unwrap();
    assert_eq!(written.trim(), std::process::id().to_string());
}
