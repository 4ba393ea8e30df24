//! Whether this caller can run a program an argv names, asked before a tool
//! acts: found the way `execvp` finds it (a name with a `/` as given, else
//! the first match in `$PATH`), executable for this user (`faccessat` with
//! `X_OK` and the effective ids, as `execve` checks, so a root-only 0700
//! script is refused when run as `nobody`, and a `noexec` mount too), and,
//! for a script, with a `#!` interpreter that exists and can run. A typo in
//! a unit is then a usage error (exit 3) before anything is counted, not a
//! failed restart (exit 2) that burns a budget and pages someone.

use rustix::fs::{Access, AtFlags, CWD, accessat};
use std::ffi::OsStr;
use std::io::Read as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where `execvp` looks when `$PATH` is unset (glibc's default).
pub const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// How much of a file the kernel reads for a `#!` line (`BINPRM_BUF_SIZE`).
const SHEBANG_MAX: u64 = 256;

/// How deep the kernel follows interpreters that are scripts themselves.
const MAX_NESTED_INTERPRETERS: usize = 4;

/// The path `program` resolves to, or why this caller cannot run it.
/// `what` names it for the message (`CMD`, `--verify program`).
pub fn resolve(what: &str, program: &OsStr) -> Result<PathBuf, String> {
    let shown = program.to_string_lossy();
    if program.as_bytes().contains(&b'/') {
        let path = Path::new(program);
        return runnable(path, 0)
            .map(|()| path.to_path_buf())
            .map_err(|why| format!("{what} '{shown}' {why}"));
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    let mut refused = None;
    for candidate in std::env::split_paths(&search).map(|dir| dir.join(program)) {
        if !candidate.is_file() {
            continue;
        }
        // Like execvp: a match we may not run is passed over, and named
        // only if no later one can run.
        match runnable(&candidate, 0) {
            Ok(()) => return Ok(candidate),
            Err(why) => {
                refused.get_or_insert_with(|| format!("{what} '{}' {why}", candidate.display()));
            }
        }
    }
    Err(refused.unwrap_or_else(|| {
        format!(
            "{what} '{shown}' not found in $PATH ({}): check the spelling or give its full path",
            search.to_string_lossy()
        )
    }))
}

/// Ok when this user can execute `path`; else why not, as a phrase that
/// follows the program's name.
fn runnable(path: &Path, depth: usize) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot be run: {e}"))?;
    if meta.is_dir() {
        return Err("is a directory, not a program".into());
    }
    if let Err(errno) = accessat(CWD, path, Access::EXEC_OK, AtFlags::EACCESS) {
        return Err(not_executable(&meta, errno));
    }
    match interpreter(path) {
        Some(interp) if depth < MAX_NESTED_INTERPRETERS => {
            runnable(&interp, depth + 1).map_err(|why| {
                format!(
                    "is a script whose '#!' line names {}, which {why}: install it or correct the script's first line",
                    interp.display()
                )
            })
        }
        _ => Ok(()),
    }
}

fn not_executable(meta: &std::fs::Metadata, errno: rustix::io::Errno) -> String {
    use std::os::unix::fs::MetadataExt;
    let who = rustix::process::geteuid().as_raw();
    format!(
        "is not executable by uid {who} (mode {:04o}, owner uid {}: {}): grant execute permission, or run as a user who has it",
        meta.mode() & 0o7777,
        meta.uid(),
        std::io::Error::from_raw_os_error(errno.raw_os_error())
    )
}

/// The interpreter a `#!` line names, when `path` is a script we can read
/// (one we cannot read is left for `execve` to judge).
fn interpreter(path: &Path) -> Option<PathBuf> {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(SHEBANG_MAX)
        .read_to_end(&mut head)
        .ok()?;
    parse_shebang(&head)
}

/// `#!/usr/bin/env python3 -u` -> `/usr/bin/env`: the word after `#!`,
/// blanks skipped, as the kernel reads it. `None` for a file that is not
/// a script.
#[must_use]
pub fn parse_shebang(head: &[u8]) -> Option<PathBuf> {
    let line = head.strip_prefix(b"#!")?;
    let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
    let word = line
        .split(|&b| b == b' ' || b == b'\t')
        .find(|w| !w.is_empty())?;
    Some(PathBuf::from(OsStr::from_bytes(word)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn shebang_lines_name_their_interpreter() {
        let cases: [(&[u8], Option<&str>); 6] = [
            (b"#!/bin/sh\necho hi\n", Some("/bin/sh")),
            (b"#! \t/usr/bin/env python3 -u\n", Some("/usr/bin/env")),
            (b"#!/nonexistent/interp", Some("/nonexistent/interp")),
            (b"#!\n", None),
            (b"\x7fELF\x02\x01", None),
            (b"", None),
        ];
        for (head, want) in cases {
            assert_eq!(parse_shebang(head), want.map(PathBuf::from), "{head:?}");
        }
    }

    fn script(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_missing_interpreter_is_named_and_the_script_not_blamed() {
        let dir = tempfile::tempdir().unwrap();
        let path = script(dir.path(), "s.sh", "#!/nonexistent/interp\n", 0o755);
        let err = resolve("CMD", path.as_os_str()).unwrap_err();
        assert!(
            err.contains("is a script whose '#!' line names /nonexistent/interp, which cannot be run: No such file"),
            "{err}"
        );
        let good = script(dir.path(), "ok.sh", "#!/bin/sh\n", 0o755);
        assert_eq!(resolve("CMD", good.as_os_str()), Ok(good));
    }

    #[test]
    fn an_interpreter_that_is_not_executable_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let interp = script(dir.path(), "interp", "#!/bin/sh\n", 0o644);
        let text = format!("#!{}\n", interp.display());
        let path = script(dir.path(), "s.sh", &text, 0o755);
        let err = resolve("CMD", path.as_os_str()).unwrap_err();
        assert!(err.contains("which is not executable by uid"), "{err}");
    }

    #[test]
    fn no_execute_bit_is_refused_with_mode_and_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = script(dir.path(), "s.sh", "#!/bin/sh\n", 0o644);
        let err = resolve("CMD", path.as_os_str()).unwrap_err();
        assert!(err.contains("is not executable by uid"), "{err}");
        assert!(err.contains("mode 0644"), "{err}");
    }
}
