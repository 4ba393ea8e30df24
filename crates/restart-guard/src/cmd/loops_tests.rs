//! Restart-loop counting on labelled samples; time is simulated.

use super::*;

fn at(t: f64) -> Stamp {
    Stamp {
        unix: 2_000_000_000.0 + t,
        boot_id: "a".into(),
        uptime: t,
    }
}

fn samples(points: &[(f64, u64)]) -> Vec<Sample> {
    points
        .iter()
        .map(|&(t, n)| Sample {
            at: at(t),
            n_restarts: n,
        })
        .collect()
}

#[test]
fn parses_systemctl_show_output() {
    // `systemctl show -p NRestarts -p LoadState ollama.service`, systemd 252
    assert_eq!(
        parse_show("NRestarts=388\nLoadState=loaded\n", "u"),
        Ok(388)
    );
    let err = parse_show("NRestarts=0\nLoadState=not-found\n", "nope.service").unwrap_err();
    assert!(err.contains("not found"), "{err}");
    // A .timer has no NRestarts property: systemctl prints nothing for it.
    assert!(parse_show("LoadState=loaded\n", "x.timer").is_err());
    assert!(parse_show("NRestarts=[not set]\n", "x").is_err());
}

#[test]
fn counts_increases_inside_the_window() {
    let s = samples(&[(0.0, 10), (600.0, 40), (1200.0, 100), (4000.0, 130)]);
    // Window 1 h ending at 4000: the pairs ending at 600, 1200 and 4000.
    let c = count(&s, &at(4000.0), Duration::from_secs(3600));
    assert_eq!(c.restarts, 120);
    assert_eq!(c.observed, Duration::from_secs(3600));
    // Window 30 m: only the pair ending at 4000.
    let c = count(&s, &at(4000.0), Duration::from_secs(1800));
    assert_eq!(c.restarts, 30);
}

#[test]
fn a_decreasing_counter_is_a_reset_not_a_negative_rate() {
    // reset-failed at ~700 s: 40 -> 0, then 5 more restarts.
    let s = samples(&[(0.0, 10), (600.0, 40), (1200.0, 5)]);
    let c = count(&s, &at(1200.0), Duration::from_secs(3600));
    assert_eq!(c.restarts, 35);
}

#[test]
fn the_388_per_hour_gateway_is_a_loop() {
    // One sample a minute, 6-7 restarts between samples.
    let points: Vec<(f64, u64)> = (0..=60u32)
        .map(|m| (f64::from(m) * 60.0, u64::from(m) * 388 / 60))
        .collect();
    let c = count(&samples(&points), &at(3600.0), Duration::from_secs(3600));
    assert_eq!(c.restarts, 388);
    assert!((c.per_hour() - 388.0).abs() < 1e-9);
}

#[test]
fn prune_keeps_one_sample_older_than_the_window() {
    let mut s = samples(&[(0.0, 1), (100.0, 2), (200.0, 3), (4000.0, 4)]);
    prune(&mut s, &at(4000.0), Duration::from_secs(3600));
    assert_eq!(s.iter().map(|x| x.n_restarts).collect::<Vec<_>>(), [3, 4]);
}
