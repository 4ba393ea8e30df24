//! Man pages and bash, zsh and fish completions for every installed tool,
//! generated from the clap definition each tool parses its flags with, so
//! the installed documentation cannot drift from `--help`. scripts/install
//! runs it; it is not installed itself.
//!
//! Layout written under the output directory:
//! `man1/<tool>.1` (and `man1/<tool>-<subcommand>.1`), `bash/<tool>`,
//! `zsh/_<tool>`, `fish/<tool>.fish`.

use clap::CommandFactory;
use clap_complete::Shell;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The clap command of every installed tool, named as its binary.
#[must_use]
pub fn commands() -> Vec<clap::Command> {
    vec![
        ollama_frozen_check::Cli::command(),
        gpu_probe::Cli::command(),
        stall_probe::Cli::command(),
        port_reaper::Cli::command(),
        restart_guard::Cli::command(),
        metrics_textfile::Cli::command(),
    ]
}

/// Where a shell looks for completions, relative to the output directory.
#[must_use]
pub fn completion_path(shell: Shell, tool: &str) -> PathBuf {
    match shell {
        Shell::Zsh => PathBuf::from("zsh").join(format!("_{tool}")),
        Shell::Fish => PathBuf::from("fish").join(format!("{tool}.fish")),
        _ => PathBuf::from(shell.to_string()).join(tool),
    }
}

/// The shells completions are written for.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// Writes every page and completion of `command` under `out`.
pub fn write_tool(command: &clap::Command, out: &Path) -> io::Result<()> {
    let name = command.get_name().to_owned();
    let man_dir = out.join("man1");
    fs::create_dir_all(&man_dir)?;
    clap_mangen::generate_to(command.clone(), &man_dir)?;
    for shell in SHELLS {
        let path = out.join(completion_path(shell, &name));
        fs::create_dir_all(path.parent().expect("completion paths have a directory"))?;
        let mut file = fs::File::create(&path)?;
        clap_complete::generate(shell, &mut command.clone(), &name, &mut file);
    }
    Ok(())
}

/// Writes the pages and completions of every installed tool under `out`.
pub fn write_all(out: &Path) -> io::Result<()> {
    commands()
        .into_iter()
        .try_for_each(|command| write_tool(&command, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_gets_pages_and_completions_for_every_shell() {
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path()).unwrap();
        for command in commands() {
            let tool = command.get_name();
            let page = fs::read_to_string(dir.path().join(format!("man1/{tool}.1"))).unwrap();
            assert!(page.starts_with(".ie"), "{tool}.1 is not roff: {page:.80}");
            let escaped = tool.replace('-', "\\-");
            assert!(
                page.contains(&format!(".SH NAME\n{escaped} \\-")),
                "{tool}.1: no NAME"
            );
            for shell in SHELLS {
                let completion =
                    fs::read_to_string(dir.path().join(completion_path(shell, tool))).unwrap();
                assert!(completion.contains("--format") || completion.contains("--help"));
            }
        }
    }

    #[test]
    fn subcommands_get_their_own_page() {
        let dir = tempfile::tempdir().unwrap();
        write_tool(&restart_guard::Cli::command(), dir.path()).unwrap();
        assert!(dir.path().join("man1/restart-guard-status.1").is_file());
    }
}
