//! The list of installed tools is stated once, as `installed = true` under
//! `[package.metadata.selfheal]` in each tool's Cargo.toml (scripts/test
//! reads it from there). Everything else that lists the tools must agree.

use selfheal_test_support::TOOLS;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn installed_crates() -> BTreeSet<String> {
    let mut tools = BTreeSet::new();
    for entry in fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        if manifest.contains("[package.metadata.selfheal]\ninstalled = true") {
            tools.insert(dir.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    tools
}

#[test]
fn test_support_lists_exactly_the_installed_tools() {
    let listed: BTreeSet<String> = TOOLS.iter().map(|&t| t.to_owned()).collect();
    assert_eq!(
        listed,
        installed_crates(),
        "update TOOLS in crates/test-support"
    );
}

#[test]
fn the_readme_table_lists_exactly_the_installed_tools() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let in_table: BTreeSet<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once("` |").map(|(name, _)| name.to_owned()))
        .collect();
    assert_eq!(
        in_table,
        installed_crates(),
        "update the table in README.md"
    );
}

#[test]
fn every_installed_tool_is_a_library_with_a_tiny_main() {
    for tool in installed_crates() {
        let dir = root().join("crates").join(&tool);
        assert!(dir.join("src/lib.rs").is_file(), "{tool} has no src/lib.rs");
        let main = fs::read_to_string(dir.join("src/main.rs")).unwrap();
        assert!(
            main.lines().count() <= 10,
            "{tool}'s main.rs is more than a few lines"
        );
    }
}
