//! The `--output` path, checked before any input is read or a producer is
//! run: a path that can never be written is a usage error (exit 3), not a
//! failed write (exit 2) that a timer would retry forever.

use crate::outcome::Failure;
use selfheal_core::atomic;
use selfheal_core::textfile::{self, TargetProblem};
use std::path::Path;

pub(crate) fn check(output: Option<&Path>) -> Result<(), Failure> {
    let Some(path) = output else {
        return Ok(());
    };
    match textfile::check_target(path) {
        // An unwritable directory is left to the write itself, which reports
        // its exact error and keeps the old file.
        Ok(()) | Err(TargetProblem::NotWritable { .. }) => Ok(()),
        Err(
            problem @ (TargetProblem::IsDirectory
            | TargetProblem::NotRegular { .. }
            | TargetProblem::TooLong { .. }),
        ) => Err(Failure::Usage(problem.explain("--output", path))),
        // Not a usage error: the directory may be created later (a mount).
        Err(TargetProblem::NoDirectory { dir, .. }) => Err(Failure::NotWritten(format!(
            "directory {} does not exist (or is not a directory): create it, or fix --output",
            dir.display()
        ))),
    }
}

/// Removes the temp files a killed run left beside `path` (a live
/// writer's are locked and kept); a note for stderr if there were any.
pub(crate) fn clean(path: &Path) -> String {
    match atomic::remove_stale_temps(path) {
        Ok(0) | Err(_) => String::new(),
        Ok(n) => format!(
            "note: removed {n} temp file(s) of {} left by a run that was killed before its rename\n",
            path.display()
        ),
    }
}

/// A note for stderr when the collector would never read the file.
pub(crate) fn note(path: &Path) -> Option<String> {
    textfile::name_note(path).map(|note| format!("note: {note}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_usage_errors_and_missing_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(check(Some(dir.path())), Err(Failure::Usage(_))));
        let slash = format!("{}/x/", dir.path().display());
        assert!(matches!(
            check(Some(Path::new(&slash))),
            Err(Failure::Usage(_))
        ));
        let missing = dir.path().join("missing/x.prom");
        let Err(Failure::NotWritten(why)) = check(Some(&missing)) else {
            panic!("a missing directory must be a failed write");
        };
        assert!(why.contains("missing"), "{why}");
        assert!(check(Some(&dir.path().join("x.prom"))).is_ok());
        assert!(check(Some(Path::new("x.prom"))).is_ok());
        let long = dir.path().join(format!("{}.prom", "n".repeat(300)));
        let Err(Failure::Usage(why)) = check(Some(&long)) else {
            panic!("a name with no room for the temp name must be a usage error");
        };
        assert!(why.contains("NAME_MAX"), "{why}");
    }

    #[test]
    fn a_name_the_collector_ignores_gets_a_note() {
        assert!(note(Path::new("/d/x.prom")).is_none());
        assert!(note(Path::new("/d/x.txt")).unwrap().contains("*.prom"));
    }
}
