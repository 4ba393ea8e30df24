//! Increments a counter in a selfheal state file, the way every tool updates
//! its state: lock, load, modify, save. Used by the state-store tests to race
//! processes and to kill writers mid-update; also a minimal usage example.
//!
//! Usage: `state_counter DIR NAME COUNT` — prints each value it saved.

use selfheal_core::state::{LockWait, StateStore};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

#[derive(Serialize, Deserialize, Default)]
struct Counter {
    value: u64,
    // Padding makes each write span several pages, so a kill can land mid-write.
    history: Vec<u64>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, name, count] = args.as_slice() else {
        eprintln!("usage: state_counter DIR NAME COUNT");
        std::process::exit(3);
    };
    let count: u64 = count.parse().expect("COUNT is a whole number");
    let store = StateStore::open(Path::new(dir)).expect("state dir");
    let mut stdout = std::io::stdout().lock();
    for _ in 0..count {
        let lock = store.lock(name, LockWait::Forever).expect("lock");
        let mut counter: Counter = lock.load().expect("load").into_option().unwrap_or_default();
        counter.value += 1;
        counter.history.push(counter.value);
        if counter.history.len() > 2000 {
            counter.history.drain(..1000);
        }
        lock.save(&counter).expect("save");
        drop(lock);
        writeln!(stdout, "{}", counter.value).expect("stdout");
        stdout.flush().expect("stdout");
    }
}
