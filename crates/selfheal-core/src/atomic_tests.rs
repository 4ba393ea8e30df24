use super::*;

#[test]
fn replaces_content_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x.prom");
    write_atomic(&target, b"old\n", 0o644).unwrap();
    write_atomic(&target, b"new\n", 0o644).unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"new\n");
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("x.prom")]);
    let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
}

#[test]
fn failing_fill_keeps_old_file_and_removes_temp() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x.prom");
    write_atomic(&target, b"old\n", 0o644).unwrap();
    let err = write_atomic_with(&target, 0o644, |f| {
        f.write_all(b"partial")?;
        Err(io::Error::other("producer died"))
    })
    .unwrap_err();
    assert!(err.to_string().contains("producer died"), "{err}");
    assert_eq!(fs::read(&target).unwrap(), b"old\n");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn temp_names_match_only_their_own_target() {
    assert!(is_temp_of(".a.json.Ab12xZ.tmp", "a.json"));
    assert!(!is_temp_of(".a.json.json.Ab12xZ.tmp", "a.json"));
    assert!(!is_temp_of(".a.json.Ab12x.tmp", "a.json"));
    assert!(!is_temp_of("a.json.Ab12xZ.tmp", "a.json"));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.json");
    let err = write_atomic_with(&target, 0o644, |_| {
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 1);
        assert!(is_temp_of(&names[0], "a.json"), "{names:?}");
        Err(io::Error::other("stop"))
    });
    assert!(err.is_err());
}

#[test]
fn open_regular_refuses_symlinks_and_fifos_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let err = open_regular(&fifo, fs::OpenOptions::new().read(true)).unwrap_err();
    assert!(err.to_string().contains("a FIFO"), "{err}");
    let file = dir.path().join("file");
    fs::write(&file, "x").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let err = open_regular(&link, fs::OpenOptions::new().read(true)).unwrap_err();
    assert!(err.to_string().contains("is a symlink"), "{err}");
    assert!(open_regular(&file, fs::OpenOptions::new().read(true)).is_ok());
}

#[test]
fn every_durability_replaces_the_content_and_leaves_no_temp_file() {
    for durability in [Durability::Atomic, Durability::Deferred] {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("s.json");
        write_durably(&target, b"old\n", 0o600, durability).unwrap();
        write_durably(&target, b"new\n", 0o600, durability).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new\n", "{durability:?}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn missing_directory_names_the_path() {
    let err = write_atomic(Path::new("/nonexistent-selfheal/x.prom"), b"x", 0o644).unwrap_err();
    assert!(err.to_string().contains("/nonexistent-selfheal"), "{err}");
}

#[test]
fn a_fifo_opened_for_writing_is_named_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("x.lock");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success());
    let err = open_regular(&fifo, fs::OpenOptions::new().write(true)).unwrap_err();
    assert!(
        err.to_string().contains("is not a regular file (a FIFO)"),
        "{err}"
    );
}
