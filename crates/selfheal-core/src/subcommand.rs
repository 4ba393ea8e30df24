//! Subcommands the way git and cargo users expect them: options the
//! subcommand takes may come before it (`tool --state-dir D status`), and
//! a mistyped subcommand gets a did-you-mean instead of a bare "unexpected
//! argument". Pure functions over clap's description of the command.

use std::ffi::OsString;

/// `args` with the long options that precede a subcommand moved after it,
/// when the subcommand takes every one of them; otherwise unchanged.
#[must_use]
pub fn hoist_options(command: &clap::Command, args: Vec<OsString>) -> Vec<OsString> {
    let mut at = 1;
    while let Some(word) = args.get(at).and_then(|a| a.to_str()) {
        if let Some(sub) = command.find_subcommand(word) {
            let before = &args[1..at];
            if at == 1 || !takes_all(sub, before) {
                return args;
            }
            let mut moved = vec![args[0].clone(), args[at].clone()];
            moved.extend_from_slice(before);
            moved.extend_from_slice(&args[at + 1..]);
            return moved;
        }
        match option(command, word) {
            Some(arg) if word.contains('=') || !takes_value(arg) => at += 1,
            Some(_) => at += 2,
            None => return args,
        }
    }
    args
}

/// A did-you-mean for a word where a subcommand was expected: the
/// subcommand closest to it, if close enough to be a typo.
#[must_use]
pub fn suggest<'a>(command: &'a clap::Command, word: &str) -> Option<&'a str> {
    command
        .get_subcommands()
        .map(clap::Command::get_name)
        .filter(|name| *name != "help")
        .map(|name| (edit_distance(word, name), name))
        .filter(|(distance, name)| *distance <= 2.max(name.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// The first word of `args` that is not an option, when the command has
/// subcommands and that word names none of them.
#[must_use]
pub fn stray_word<'a>(command: &clap::Command, args: &'a [OsString]) -> Option<&'a str> {
    if !command.has_subcommands() {
        return None;
    }
    let word = args.get(1)?.to_str()?;
    (!word.starts_with('-') && command.find_subcommand(word).is_none()).then_some(word)
}

fn option<'a>(command: &'a clap::Command, word: &str) -> Option<&'a clap::Arg> {
    let name = word.strip_prefix("--")?.split('=').next()?;
    command.get_arguments().find(|a| a.get_long() == Some(name))
}

fn takes_all(sub: &clap::Command, before: &[OsString]) -> bool {
    before
        .iter()
        .filter_map(|a| a.to_str())
        .filter(|a| a.starts_with("--"))
        .all(|word| option(sub, word).is_some())
        && before.iter().all(|a| a.to_str().is_some())
}

fn takes_value(arg: &clap::Arg) -> bool {
    arg.get_action().takes_values()
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let replaced = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = replaced.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction, Command};

    fn tool() -> Command {
        let state = || Arg::new("state-dir").long("state-dir");
        let quiet = || Arg::new("quiet").long("quiet").action(ArgAction::SetTrue);
        Command::new("tool")
            .arg(state())
            .arg(quiet())
            .arg(Arg::new("name").long("name"))
            .subcommand(Command::new("status").arg(state()).arg(quiet()))
            .subcommand(Command::new("reset"))
    }

    fn words(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn options_the_subcommand_takes_move_after_it() {
        let hoist = |args: &[&str]| hoist_options(&tool(), words(args));
        assert_eq!(
            hoist(&["tool", "--state-dir", "D", "--quiet", "status", "x"]),
            words(&["tool", "status", "--state-dir", "D", "--quiet", "x"])
        );
        assert_eq!(
            hoist(&["tool", "--state-dir=D", "status"]),
            words(&["tool", "status", "--state-dir=D"])
        );
        // Not taken by the subcommand, an unknown option, a value that
        // looks like a subcommand, or no subcommand: left for clap to judge.
        for args in [
            &["tool", "--name", "n", "status"][..],
            &["tool", "--bogus", "status"],
            &["tool", "--state-dir", "status"],
            &["tool", "--state-dir", "D", "--", "status"],
        ] {
            assert_eq!(hoist(args), words(args), "{args:?}");
        }
    }

    #[test]
    fn typos_of_subcommands_get_a_suggestion() {
        assert_eq!(suggest(&tool(), "stauts"), Some("status"));
        assert_eq!(suggest(&tool(), "rest"), Some("reset"));
        assert_eq!(suggest(&tool(), "frobnicate"), None);
        assert_eq!(
            stray_word(&tool(), &words(&["tool", "stauts"])),
            Some("stauts")
        );
        assert_eq!(stray_word(&tool(), &words(&["tool", "status"])), None);
        assert_eq!(stray_word(&tool(), &words(&["tool", "--name"])), None);
    }
}
