//! Sweep files: the plan a good one expands to, and one line naming the key for each bad one.

use std::path::{Path, PathBuf};

use sparq_sweep::{Index, JobKind, JobStatus, Plan};

/// The repository's configs directory, so sweep files here can name real configs.
fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// Writes `body` as a sweep file next to a base-config line and returns its plan or error.
fn plan(body: &str) -> Result<Plan, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    let text = format!(
        "config = \"{}\"\n{body}",
        configs().join("cartpole_dqn_gmp90.toml").display()
    );
    std::fs::write(&path, text).unwrap();
    Plan::from_file(&path).map_err(|e| e.to_string())
}

fn assert_one_line_naming(err: &str, key: &str) {
    assert!(!err.contains('\n'), "more than one line: {err}");
    assert!(err.contains(key), "'{key}' not named in: {err}");
}

#[test]
fn smoke_sweep_is_two_points_by_three_seeds_seed_major() {
    let plan = Plan::from_file(&configs().join("sweeps/smoke.toml")).unwrap();
    let ids: Vec<&str> = plan.jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "dense-s1", "gmp50-s1", "dense-s2", "gmp50-s2", "dense-s3", "gmp50-s3"
        ]
    );
    assert!(plan.jobs.iter().all(|j| j.env_id == "CartPole-v1"));
}

#[test]
fn headline_sweep_has_sixty_training_runs_and_twenty_prunings() {
    let plan = Plan::from_file(&configs().join("sweeps/cartpole_gmp.toml")).unwrap();
    let train = plan
        .jobs
        .iter()
        .filter(|j| matches!(j.kind, JobKind::Train { .. }))
        .count();
    assert_eq!((train, plan.jobs.len() - train), (60, 20));
    let prune = plan.job("posthoc-ft10k-s7").unwrap();
    assert_eq!(prune.after.as_deref(), Some("dense-s7"));
}

#[test]
fn grid_is_the_cartesian_product_with_groups_by_key() {
    let plan = plan(
        "seeds = [3, 4]\ngroup_by = [\"prune.target_sparsity\"]\n[grid]\nprune.target_sparsity = [0.5, 0.9]\nagent.lr = [1e-3, 2e-3]\n",
    )
    .unwrap();
    assert_eq!(plan.jobs.len(), 8);
    let j = &plan.jobs[0];
    assert_eq!(j.id, "lr=0.001,target_sparsity=0.5-s3");
    assert_eq!(j.group, "target_sparsity=0.5");
    match &j.kind {
        JobKind::Train { overrides, .. } => {
            assert_eq!(overrides, &["agent.lr=0.001", "prune.target_sparsity=0.5"])
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_key_is_named() {
    let err = plan("seeds = 2\nseed_count = 3\n[grid]\nagent.lr = [1e-3]\n").unwrap_err();
    assert_one_line_naming(&err, "unknown key 'seed_count'");
}

#[test]
fn empty_grid_is_named() {
    let err = plan("seeds = 2\n[grid]\nagent.lr = []\n").unwrap_err();
    assert_one_line_naming(&err, "grid.agent.lr");
    assert!(err.contains("empty grid"), "{err}");
    let err = plan("seeds = 2\n[grid]\n").unwrap_err();
    assert_one_line_naming(&err, "empty grid");
}

#[test]
fn key_no_config_has_is_named() {
    let err = plan("seeds = 2\n[grid]\nagent.learning_rate = [1e-3]\n").unwrap_err();
    assert_one_line_naming(&err, "learning_rate");
    assert!(err.contains("unknown key"), "{err}");
    // In a point's own overrides too, with the point named.
    let err = plan("seeds = 1\n[[points]]\nname = \"p\"\nset = { \"network.widths\" = [8] }\n")
        .unwrap_err();
    assert_one_line_naming(&err, "point 'p'");
    assert!(err.contains("widths"), "{err}");
}

#[test]
fn zero_seeds_is_named() {
    let err = plan("seeds = 0\n[grid]\nagent.lr = [1e-3]\n").unwrap_err();
    assert_one_line_naming(&err, "seeds");
    let err = plan("seeds = []\n[grid]\nagent.lr = [1e-3]\n").unwrap_err();
    assert_one_line_naming(&err, "seeds");
}

#[test]
fn out_of_range_value_fails_before_running_with_the_configs_message() {
    let err = plan("seeds = 1\n[grid]\nagent.gamma = [0.99, 1.5]\n").unwrap_err();
    assert_one_line_naming(&err, "agent.gamma");
}

#[test]
fn prune_point_must_name_a_training_point() {
    let err = plan(
        "seeds = 1\n[grid]\nagent.lr = [1e-3]\n[[points]]\nname = \"ph\"\nprune = { from = \"nope\", sparsities = [0.5] }\n",
    )
    .unwrap_err();
    assert_one_line_naming(&err, "prune.from = 'nope'");
}

#[test]
fn a_sweep_grows_by_seeds_and_points_and_refuses_changed_or_dropped_jobs() {
    let points = "[[points]]\nname = \"dense\"\nset = { \"prune.schedule\" = \"none\" }\n";
    let wider = format!(
        "{points}[[points]]\nname = \"gmp95\"\nset = {{ \"prune.target_sparsity\" = 0.95 }}\n"
    );
    let small = plan(&format!("seeds = 2\n{points}")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut index = Index::new("s.toml", "local", small.clone());
    index.records.get_mut("dense-s1").unwrap().status = JobStatus::Done;

    let grown = plan(&format!("seeds = 3\n{wider}")).unwrap();
    assert_eq!(index.grow_to(&grown, dir.path()).unwrap(), 4);
    assert_eq!(index.plan, grown);
    assert_eq!(index.records["dense-s1"].status, JobStatus::Done);
    assert_eq!(index.records["gmp95-s3"].status, JobStatus::Pending);
    assert_eq!(index.records.len(), 6);
    assert_eq!(index.grow_to(&grown, dir.path()).unwrap(), 0);

    let changed = plan(&format!(
        "seeds = 3\n[set]\n\"run.total_steps\" = 20000\n{wider}"
    ))
    .unwrap();
    let err = index.grow_to(&changed, dir.path()).unwrap_err().to_string();
    assert_one_line_naming(&err, "job 'dense-s1' differs");
    let fewer = plan(&format!("seeds = 1\n{wider}")).unwrap();
    let err = index.grow_to(&fewer, dir.path()).unwrap_err().to_string();
    assert_one_line_naming(&err, "job 'dense-s2' is missing");
    assert_eq!(
        index.plan, grown,
        "a refused plan leaves the index as it was"
    );
}
