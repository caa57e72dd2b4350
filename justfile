# calmctl's everyday commands. `.ci/run` is the source of truth; these mirror it.

default:
    @just --list

# The README's first command: calmctl's main job on the built-in sandbox.
demo:
    cargo run --release -p calmctl -- apply --sandbox -f examples/quickstart.yaml --auto-approve

# The README's second command: the whole test suite.
test:
    cargo test --workspace

# Everything CI runs.
ci:
    bash .ci/run

# Re-record insta snapshots after an intended change (review them with git diff).
snap:
    INSTA_UPDATE=always cargo test --workspace

# Regenerate schemas/calm.schema.json.
schema:
    cargo run -q -p calmctl -- schema > schemas/calm.schema.json

# Full-size benchmarks (see README, Performance).
bench:
    cargo build --release -p calmctl -p calm-bench
    target/release/calm-bench

fmt:
    cargo fmt --all

clippy:
    cargo clippy --workspace --all-targets -- -D warnings

# Longer fuzzing of the config parser and every API response decoder; prints executions and time.
fuzz cases="100000":
    CALM_FUZZ_CASES={{cases}} cargo test --release -p calm-config -p calm-btp --test fuzz -- --nocapture
