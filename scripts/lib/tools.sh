# shellcheck shell=bash
# Sourced by scripts/test and scripts/install. The installed tools are the
# crates whose Cargo.toml says `installed = true` under
# [package.metadata.selfheal] (tests/tool_list.rs checks the other lists).
#
#   installed_tools REPO_DIR   # prints one crate (= binary) name a line
installed_tools() {
    grep -l '^installed = true' "$1"/crates/*/Cargo.toml |
        sed 's|.*/crates/\([^/]*\)/Cargo.toml$|\1|'
}
