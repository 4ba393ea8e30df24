//! Can this caller run that program? Asked before anything is counted or
//! run, so a typo, a root-only 0700 script run as `nobody`, or a script
//! whose `#!` interpreter is missing is a usage error (exit 3) naming the
//! program and the fix, not a failed run (exit 2) blamed on the command.
//!
//! The answer is for the caller's effective ids (`faccessat` with
//! `AT_EACCESS`), as `execve` will judge them.

use rustix::fs::{Access, AtFlags, CWD, accessat};
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Searched when `PATH` is unset, as `execvp` does.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Bytes of a script read to find its `#!` line (Linux reads 256).
const SHEBANG_BYTES: u64 = 256;

/// The file `program` runs, checked: found (on `PATH` when it has no
/// `/`), a file, executable by us, and, for a script, with an interpreter
/// that exists and is executable. `what` names it in the message
/// (`CMD`, `producer`, `--verify program`).
pub fn check(what: &str, program: &OsStr) -> Result<PathBuf, String> {
    let shown = program.to_string_lossy();
    let path = if program.as_bytes().contains(&b'/') {
        runnable(Path::new(program)).map_err(|why| format!("{what} '{shown}' {why}"))?
    } else {
        search(program).map_err(|searched| {
            format!(
                "{what} '{shown}' not found in $PATH ({searched}): check the spelling or give its full path"
            )
        })?
    };
    interpreter(&path).map_err(|why| format!("{what} '{}' {why}", path.display()))?;
    Ok(path)
}

/// The first runnable `dir/program` on `PATH`, else the `PATH` searched.
fn search(program: &OsStr) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| runnable(candidate).is_ok())
        .ok_or_else(|| path.to_string_lossy().into_owned())
}

/// Ok when `path` is a file we may execute; else why not, for a message
/// that starts with the program's name.
fn runnable(path: &Path) -> Result<PathBuf, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot be run: {e}"))?;
    if meta.is_dir() {
        return Err("is a directory, not a program".into());
    }
    if !meta.is_file() {
        return Err("is not a regular file, not a program".into());
    }
    accessat(CWD, path, Access::EXEC_OK, AtFlags::EACCESS).map_err(|e| {
        format!(
            "is not executable for this user (uid {}): {e}; fix its permissions or run as a user who may run it",
            rustix::process::geteuid().as_raw()
        )
    })?;
    Ok(path.to_path_buf())
}

/// A script's `#!` interpreter must exist and be executable: otherwise
/// `execve` fails with ENOENT and the error blames the script itself.
fn interpreter(path: &Path) -> Result<(), String> {
    let Some(line) = shebang(path) else {
        return Ok(());
    };
    let Some(interpreter) = parse_shebang(&line) else {
        return Err("has a #! line that names no interpreter: fix its first line".into());
    };
    runnable(Path::new(interpreter)).map(|_| ()).map_err(|why| {
        format!(
            "names the interpreter {} in its #! line, which {why}: install it or fix the script's first line",
            Path::new(interpreter).display()
        )
    })
}

/// The first line of `path` if it starts with `#!`. A file we cannot read
/// (execute-only binaries are normal) has none we can check.
fn shebang(path: &Path) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let file = std::fs::File::open(path).ok()?;
    file.take(SHEBANG_BYTES).read_to_end(&mut head).ok()?;
    let line = head.strip_prefix(b"#!")?;
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    Some(line[..end].to_vec())
}

/// The interpreter of a `#!` line (after `#!`): its first word.
fn parse_shebang(line: &[u8]) -> Option<&OsStr> {
    line.split(|b| matches!(b, b' ' | b'\t' | b'\r'))
        .find(|word| !word.is_empty())
        .map(OsStr::from_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn programs_on_path_and_by_path_are_found() {
        assert!(check("CMD", OsStr::new("sh")).unwrap().ends_with("sh"));
        let dir = tempfile::tempdir().unwrap();
        let ok = script(dir.path(), "ok", "#!/bin/sh -e\nexit 0\n", 0o755);
        assert_eq!(check("CMD", ok.as_os_str()), Ok(ok));
    }

    #[test]
    fn each_reason_names_the_program_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let plain = script(dir.path(), "plain", "#!/bin/sh\n", 0o644);
        let orphan = script(dir.path(), "orphan", "#!/nonexistent/python9\n", 0o755);
        let blank = script(dir.path(), "blank", "#!  \nexit 0\n", 0o755);
        let missing = dir.path().join("missing");
        for (program, says) in [
            (OsStr::new("no-such-program-x1"), "not found in $PATH"),
            (missing.as_os_str(), "cannot be run: No such file"),
            (dir.path().as_os_str(), "is a directory"),
            (orphan.as_os_str(), "interpreter /nonexistent/python9"),
            (blank.as_os_str(), "names no interpreter"),
        ] {
            let err = check("producer", program).unwrap_err();
            assert!(err.starts_with("producer '"), "{err}");
            assert!(err.contains(says), "{err}");
        }
        // Root may run any file with an x bit, so 0644 is refused for all.
        let err = check("producer", plain.as_os_str()).unwrap_err();
        assert!(err.contains("is not executable for this user"), "{err}");
    }

    #[test]
    fn the_interpreter_is_the_first_word_of_the_line() {
        assert_eq!(
            parse_shebang(b" /usr/bin/env python3"),
            Some(OsStr::new("/usr/bin/env"))
        );
        assert_eq!(parse_shebang(b"/bin/sh\r"), Some(OsStr::new("/bin/sh")));
        assert_eq!(parse_shebang(b" \t"), None);
    }
}
