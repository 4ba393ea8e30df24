//! `--tree`: the descendants of the holders, from every
//! `<proc>/<pid>/stat` (a parent link per process).

use selfheal_core::procstat::{self, ProcStat};
use std::collections::HashMap;
use std::path::Path;

/// Every descendant of `roots` (children first, then theirs), with its
/// stat, excluding the roots themselves.
pub fn descendants(proc_root: &Path, roots: &[i32]) -> std::io::Result<Vec<ProcStat>> {
    let mut children: HashMap<i32, Vec<ProcStat>> = HashMap::new();
    for entry in std::fs::read_dir(proc_root)? {
        let Some(pid) = entry?
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        // A process that exited meanwhile has no children left to find.
        if let Ok(stat) = procstat::read(proc_root, pid) {
            children.entry(stat.ppid).or_default().push(stat);
        }
    }
    Ok(walk_down(&mut children, roots))
}

fn walk_down(children: &mut HashMap<i32, Vec<ProcStat>>, roots: &[i32]) -> Vec<ProcStat> {
    let mut found = Vec::new();
    let mut queue: Vec<i32> = roots.to_vec();
    while let Some(pid) = queue.pop() {
        for child in children.remove(&pid).unwrap_or_default() {
            if !roots.contains(&child.pid) {
                queue.push(child.pid);
                found.push(child);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_grandchildren_of_a_real_process() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 60 & sleep 60 & wait"])
            .spawn()
            .unwrap();
        let pid = child.id().cast_signed();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let found = loop {
            let found = descendants(Path::new(procstat::PROC_ROOT), &[pid]).unwrap();
            if found.len() >= 2 || std::time::Instant::now() > deadline {
                break found;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let _ = child.kill();
        let _ = child.wait();
        let comms: Vec<&str> = found.iter().map(|s| s.comm.as_str()).collect();
        assert_eq!(comms, ["sleep", "sleep"]);
        for stat in &found {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(stat.pid).unwrap(),
                rustix::process::Signal::KILL,
            );
        }
    }
}
