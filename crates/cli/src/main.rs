//! `sparq`: train DQN agents with pruning built in, evaluate and prune their policies.

fn main() -> std::process::ExitCode {
    sparq_cli::main()
}
