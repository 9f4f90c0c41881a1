//! README's program is examples/own_env.rs verbatim, so the copy users paste compiles and runs
//! (cargo builds the example; scripts/test runs it).

#[test]
fn readme_shows_examples_own_env_rs_as_it_is() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let example = std::fs::read_to_string(root.join("examples/own_env.rs")).unwrap();
    let start = readme
        .find("```rust\n// examples/own_env.rs")
        .expect("README has the examples/own_env.rs block")
        + "```rust\n".len();
    let len = readme[start..].find("\n```").expect("the block ends");
    assert!(
        readme[start..start + len] == *example.trim_end(),
        "README's program differs from examples/own_env.rs: copy the file into README.md"
    );
}
