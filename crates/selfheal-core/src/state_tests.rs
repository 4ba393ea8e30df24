use super::*;

#[test]
fn names_are_restricted_to_safe_file_names() {
    assert!(validate_name("trader@BTC.service").is_ok());
    assert!(validate_name(r"foo\x2dbar.service").is_ok());
    assert!(validate_name(r"a\x2d\x2Fb").is_ok());
    for bad in [r"a\b", r"a\x2", r"a\xzz", "a\\"] {
        assert!(validate_name(bad).is_err(), "{bad}");
    }
    let long = format!("x\n{}", "y".repeat(5000));
    let err = validate_name(&long).unwrap_err();
    assert!(err.starts_with(r"invalid name 'x\nyyy"), "{err}");
    assert!(err.contains("… (5002 characters)"), "{err}");
    assert!(err.len() < 300, "{err}");
    assert!(validate_name("../etc/passwd").is_err());
    assert!(validate_name(".hidden").is_err());
    assert!(validate_name("a b").is_err());
    assert!(validate_name("").is_err());
}

#[test]
fn save_then_load_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let lock = store.lock("svc", LockWait::No).unwrap();
    assert!(matches!(lock.load::<u32>().unwrap(), Loaded::Missing));
    lock.save(&41u32).unwrap();
    assert!(matches!(lock.load::<u32>().unwrap(), Loaded::Found(41)));
    assert_eq!(store.peek::<u32>("svc").unwrap(), Some(41));
    assert_eq!(store.names().unwrap(), vec!["svc".to_string()]);
}

#[test]
fn corrupt_file_is_set_aside_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    fs::write(store.state_path("svc"), b"{\"torn").unwrap();
    let lock = store.lock("svc", LockWait::No).unwrap();
    let Loaded::SetAside { note } = lock.load::<u32>().unwrap() else {
        panic!("corrupt state was not set aside");
    };
    assert!(note.contains("corrupt"), "{note}");
    assert!(!store.state_path("svc").exists());
    let aside: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("svc.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(fs::read(dir.path().join(&aside[0])).unwrap(), b"{\"torn");
}

#[test]
fn corruptions_in_one_second_each_keep_their_copy() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let lock = store.lock("svc", LockWait::No).unwrap();
    for torn in ["{1", "{2", "{3"] {
        fs::write(store.state_path("svc"), torn).unwrap();
        assert!(matches!(
            lock.load::<u32>().unwrap(),
            Loaded::SetAside { .. }
        ));
    }
    let mut kept: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".corrupt-"))
        .map(|n| fs::read_to_string(dir.path().join(n)).unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept, ["{1", "{2", "{3"]);
}

#[test]
fn temp_files_of_a_longer_name_survive_the_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let theirs = dir.path().join(".a.json.json.Ab12xZ.tmp");
    let ours = dir.path().join(".a.json.Cd34yW.tmp");
    fs::write(&theirs, "in flight").unwrap();
    fs::write(&ours, "stale").unwrap();
    drop(store.lock("a", LockWait::No).unwrap());
    assert!(
        theirs.exists(),
        "the cleanup of `a` removed a temp file of `a.json`"
    );
    assert!(!ours.exists());
}

#[test]
fn planted_symlinks_and_fifos_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::os::unix::fs::symlink(&elsewhere, dir.path().join("svc.lock")).unwrap();
    let Err(LockError::Io(err)) = store.lock("svc", LockWait::No) else {
        panic!("a symlinked lock file was followed");
    };
    assert!(err.to_string().contains("symlink"), "{err}");
    assert!(!elsewhere.exists());
    std::os::unix::fs::symlink("/etc/hostname", store.state_path("other")).unwrap();
    let err = store.peek::<serde_json::Value>("other").unwrap_err();
    assert!(err.to_string().contains("symlink"), "{err}");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        store.state_path("fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let lock = store.lock("fifo", LockWait::No).unwrap();
    let err = lock.load::<u32>().unwrap_err();
    drop(lock);
    fs::write(store.state_path("torn"), "{").unwrap();
    let mut report = crate::Report::new("t", "T", "0");
    let lock = store.lock("torn", LockWait::No).unwrap();
    assert_eq!(
        lock.load::<u32>().unwrap().or_default_warning(&mut report),
        0
    );
    assert!(
        report.warnings[0].contains("was corrupt"),
        "{:?}",
        report.warnings
    );
    assert!(err.to_string().contains("a FIFO"), "{err}");
}

#[test]
fn second_lock_is_busy_until_first_drops() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let first = store.lock("svc", LockWait::No).unwrap();
    assert!(matches!(
        store.lock("svc", LockWait::No),
        Err(LockError::Busy)
    ));
    let started = Instant::now();
    assert!(matches!(
        store.lock("svc", LockWait::Upto(Duration::from_millis(50))),
        Err(LockError::Busy)
    ));
    assert!(started.elapsed() >= Duration::from_millis(50));
    drop(first);
    assert!(store.lock("svc", LockWait::No).is_ok());
}
