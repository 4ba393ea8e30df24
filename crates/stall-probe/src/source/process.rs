//! `--pid`, `--process`, `--unit` for `age`: progress is CPU time
//! (`utime + stime` in `/proc/<pid>/stat`) going up. It is compared with
//! the reading of the previous run (kept per `--name`) and, with
//! `--sample-for`, across a wait within this run. A process stopped by a
//! signal (state T) or gone is CRITICAL at once, whatever its age.

use super::target::{Missing, Target, TargetArgs};
use crate::history::{CpuMark, History};
use crate::procfs::{self, Process};
use crate::progress::Progress;
use selfheal_core::clock::Stamp;
use selfheal_core::duration::human;
use selfheal_core::{Report, Status};
use std::time::Duration;

pub fn read(
    args: &TargetArgs,
    sample_for: Option<Duration>,
    history: &mut History,
    report: &mut Report,
) -> anyhow::Result<Vec<Progress>> {
    let targets = match args.find(report)? {
        Ok(targets) => targets,
        Err(Missing { key, why }) => {
            return Ok(vec![
                Progress::never(&key, "not running").with_floor(Status::Critical, why),
            ]);
        }
    };
    // Marks of processes no longer watched (exited, no longer matching) go.
    history
        .cpu
        .retain(|key, _| targets.iter().any(|t| &t.key == key));
    let started = Stamp::now();
    let first = read_all(args, &targets)?;
    let last = match sample_for {
        Some(wait) => {
            std::thread::sleep(wait);
            read_all(args, &targets)?
        }
        None => first.clone(),
    };
    let now = Stamp::now();
    let mut readings = Vec::new();
    for ((target, before), after) in targets.iter().zip(&first).zip(&last) {
        let progress = if let (Some(before), Some(after)) = (before, after) {
            let sample = sample_for.map(|_| (before, &started));
            let (progress, mark) = assess(
                &target.key,
                after,
                sample,
                history.cpu.get(&target.key),
                &now,
            );
            history.cpu.insert(target.key.clone(), mark);
            crate::metrics::cpu_seconds(report, &target.key, after.stat.cpu_seconds());
            progress
        } else {
            history.cpu.remove(&target.key);
            Progress::never(&target.key, "process gone")
                .with_floor(Status::Critical, format!("process {} is gone", target.pid))
        };
        readings.push(progress);
    }
    Ok(readings)
}

fn read_all(args: &TargetArgs, targets: &[Target]) -> anyhow::Result<Vec<Option<Process>>> {
    targets
        .iter()
        .map(|t| procfs::read_process(&args.proc_root, t.pid))
        .collect()
}

/// The age of a process's last CPU progress. `sample` is the reading at
/// the start of this run's wait, `prior` the last run's mark.
#[must_use]
pub fn assess(
    key: &str,
    now_reading: &Process,
    sample: Option<(&Process, &Stamp)>,
    prior: Option<&CpuMark>,
    now: &Stamp,
) -> (Progress, CpuMark) {
    let identity = format!("{}:{}", now_reading.pid, now_reading.stat.start_ticks);
    let prior = prior.filter(|m| m.identity == identity);
    let ticks = now_reading.stat.cpu_ticks;
    let moved_in_sample = sample.is_some_and(|(before, _)| ticks > before.stat.cpu_ticks);
    let moved_since_prior = prior.is_some_and(|m| ticks > m.cpu_ticks);
    let cpu = format!("cpu time {:.2}s", now_reading.stat.cpu_seconds());
    let (progressed_at, how) = match (moved_in_sample || moved_since_prior, sample, prior) {
        (true, _, _) => (now.clone(), format!("{cpu}, rising")),
        (false, _, Some(mark)) => (
            mark.progressed_at.clone(),
            format!("{cpu}, unchanged since the last run"),
        ),
        (false, Some((_, started)), None) => {
            (started.clone(), format!("{cpu}, unchanged while sampled"))
        }
        (false, None, None) => (
            now.clone(),
            format!("{cpu}, first reading: progress is judged from the next run"),
        ),
    };
    let age = now.elapsed_since(&progressed_at).as_secs_f64();
    let mut progress = Progress::aged(key, age, how);
    progress.floor = floor(
        now_reading,
        sample.map(|(before, started)| (before, now.elapsed_since(started))),
    );
    let mark = CpuMark {
        identity,
        cpu_ticks: ticks,
        progressed_at,
    };
    (progress, mark)
}

/// The state letter's verdict: stopped, zombie or dead at once; D is
/// WARNING, CRITICAL when it held through a sample without CPU progress.
fn floor(reading: &Process, sample: Option<(&Process, Duration)>) -> Option<(Status, String)> {
    let state = reading.stat.state;
    let what = format!("process {} is {}", reading.pid, procfs::state_name(state));
    match state {
        'T' | 't' | 'Z' | 'X' => Some((Status::Critical, what)),
        'D' => match sample {
            Some((before, waited))
                if before.stat.state == 'D' && before.stat.cpu_ticks == reading.stat.cpu_ticks =>
            {
                Some((
                    Status::Critical,
                    format!("{what} with no CPU progress for {}", human(waited)),
                ))
            }
            _ => Some((Status::Warning, what)),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procfs::Stat;

    fn process(state: char, ticks: u64) -> Process {
        Process {
            pid: 42,
            stat: Stat {
                comm: "w".into(),
                state,
                ppid: 1,
                cpu_ticks: ticks,
                start_ticks: 7,
            },
            rss_bytes: 0,
            threads: 1,
            sched_ns: None,
        }
    }

    fn at(uptime: f64) -> Stamp {
        Stamp {
            unix: 1_000.0 + uptime,
            boot_id: "b".into(),
            uptime,
        }
    }

    #[test]
    fn cpu_time_going_up_is_progress() {
        let (progress, mark) = assess(
            "42",
            &process('R', 150),
            Some((&process('R', 100), &at(0.0))),
            None,
            &at(1.0),
        );
        assert_eq!(progress.age, Some(0.0));
        assert_eq!(mark.progressed_at, at(1.0));
    }

    #[test]
    fn unchanged_cpu_time_ages_from_the_last_progress() {
        let (progress, _) = assess(
            "42",
            &process('S', 100),
            Some((&process('S', 100), &at(0.0))),
            None,
            &at(2.0),
        );
        assert_eq!(progress.age, Some(2.0));
        assert_eq!(progress.floor, None);
        let prior = CpuMark {
            identity: "42:7".into(),
            cpu_ticks: 100,
            progressed_at: at(-60.0),
        };
        let (progress, mark) = assess("42", &process('S', 100), None, Some(&prior), &at(0.0));
        assert_eq!(progress.age, Some(60.0));
        assert_eq!(mark.progressed_at, at(-60.0));
    }

    #[test]
    fn a_restarted_process_starts_afresh() {
        let prior = CpuMark {
            identity: "42:6".into(),
            cpu_ticks: 100,
            progressed_at: at(-600.0),
        };
        let (progress, _) = assess("42", &process('S', 100), None, Some(&prior), &at(0.0));
        assert_eq!(progress.age, Some(0.0));
        assert!(progress.how.contains("first reading"), "{}", progress.how);
    }

    #[test]
    fn stopped_is_critical_and_d_is_a_warning_until_it_persists() {
        let (progress, _) = assess("42", &process('T', 100), None, None, &at(0.0));
        assert_eq!(progress.floor.unwrap().0, Status::Critical);
        let (progress, _) = assess("42", &process('D', 100), None, None, &at(0.0));
        assert_eq!(progress.floor.unwrap().0, Status::Warning);
        let (progress, _) = assess(
            "42",
            &process('D', 100),
            Some((&process('D', 100), &at(0.0))),
            None,
            &at(3.0),
        );
        let (status, why) = progress.floor.unwrap();
        assert_eq!(status, Status::Critical);
        assert!(why.contains("no CPU progress for 3s"), "{why}");
    }
}
