//! Which directory a tool keeps its state in when `--state-dir` is not
//! given, and the refusal for a user who has none.

use std::io;
use std::path::{Path, PathBuf};

/// Where root's state lives when nothing else is given.
pub const SYSTEM_DIR: &str = "/var/lib/selfheal";

/// Where state lives when `--state-dir` is not given: systemd's
/// `$STATE_DIRECTORY`, else [`SYSTEM_DIR`] as root, else the XDG state
/// home; a non-root user with neither `$XDG_STATE_HOME` nor `$HOME` has none.
pub fn default_dir(system: &Path) -> Result<PathBuf, NoStateDir> {
    default_dir_from(
        std::env::var_os("STATE_DIRECTORY").as_deref(),
        rustix::process::geteuid().is_root().then_some(system),
        std::env::var_os("XDG_STATE_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    )
}

fn default_dir_from(
    systemd: Option<&std::ffi::OsStr>,
    root: Option<&Path>,
    xdg_state: Option<&std::ffi::OsStr>,
    home: Option<&std::ffi::OsStr>,
) -> Result<PathBuf, NoStateDir> {
    // systemd passes a colon-separated list when several StateDirectory= are set.
    if let Some(first) = systemd
        .and_then(|s| s.to_str())
        .and_then(|s| s.split(':').next())
        .filter(|s| !s.is_empty())
    {
        return Ok(PathBuf::from(first));
    }
    if let Some(system) = root {
        return Ok(system.to_path_buf());
    }
    let set = |v: &&std::ffi::OsStr| !v.is_empty();
    match (xdg_state.filter(set), home.filter(set)) {
        (Some(x), _) => Ok(Path::new(x).join("selfheal")),
        (_, Some(h)) => Ok(Path::new(h).join(".local/state/selfheal")),
        // Not root's directory: a user cannot write it, and reading it
        // would pass root's state off as this user's.
        _ => Err(NoStateDir),
    }
}

/// A non-root run with no state directory to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoStateDir;

impl std::fmt::Display for NoStateDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "no state directory: not running as root, and none of --state-dir, \
             SELFHEAL_STATE_DIR, STATE_DIRECTORY, XDG_STATE_HOME or HOME is set; \
             give --state-dir DIR (a directory this user can write)",
        )
    }
}

impl std::error::Error for NoStateDir {}

impl From<NoStateDir> for io::Error {
    fn from(err: NoStateDir) -> Self {
        io::Error::other(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn default_dir_prefers_systemd_then_root_then_xdg_then_home() {
        let system = Path::new("/var/lib/selfheal");
        let d = |s: Option<&str>, root: bool, x: Option<&str>, h: Option<&str>| {
            default_dir_from(
                s.map(OsStr::new),
                root.then_some(system),
                x.map(OsStr::new),
                h.map(OsStr::new),
            )
        };
        assert_eq!(
            d(Some("/run/a:/run/b"), false, None, None),
            Ok(PathBuf::from("/run/a"))
        );
        assert_eq!(d(None, true, Some("/x"), None), Ok(system.to_path_buf()));
        assert_eq!(
            d(None, false, Some("/x"), Some("/h")),
            Ok(PathBuf::from("/x/selfheal"))
        );
        assert_eq!(
            d(None, false, Some(""), Some("/h")),
            Ok(PathBuf::from("/h/.local/state/selfheal"))
        );
        // Never root's directory for a user without a home.
        assert_eq!(d(None, false, None, None), Err(NoStateDir));
        assert_eq!(d(None, false, Some(""), Some("")), Err(NoStateDir));
    }
}
