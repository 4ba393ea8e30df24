//! The classifier on labelled series: each shape a user would name.

use super::*;

const MIB: f64 = 1_048_576.0;

/// Samples every second: CPU wanted per interval (cores) and memory.
fn series(cpu_per_interval: &[f64], memory_mib: &[f64]) -> Vec<Point> {
    let mut cpu = 0.0;
    memory_mib
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if i > 0 {
                cpu += cpu_per_interval[i - 1];
            }
            Point {
                t: i as f64,
                cpu_seconds: cpu,
                demand_seconds: None,
                memory: m * MIB,
                pressure_us: None,
            }
        })
        .collect()
}

fn class_of(cpu: &[f64], memory: &[f64]) -> Verdict {
    classify(&series(cpu, memory), 1.0, &DEFAULT_RULES)
}

#[test]
fn a_busy_loop_is_saturated() {
    let v = class_of(&[0.97, 0.99, 1.0, 0.98, 0.99], &[9.0; 6]);
    assert_eq!(v.class, Class::Saturated, "{}", v.reason);
    assert!(v.reason.contains("never below 98%"), "{}", v.reason);
    // Waiting time is booked late: short intervals read under and over.
    let jitter = class_of(&[0.79, 1.2, 0.95, 1.05, 0.99, 1.0], &[9.0; 7]);
    assert_eq!(jitter.class, Class::Saturated, "{}", jitter.reason);
}

#[test]
fn one_dip_below_the_line_is_not_saturated() {
    let v = class_of(&[0.97, 0.99, 0.5, 0.98, 0.99], &[9.0; 6]);
    assert_eq!(v.class, Class::Stable, "{}", v.reason);
    let below = class_of(&[0.85, 0.86, 0.84, 0.85, 0.86], &[9.0; 6]);
    assert_eq!(below.class, Class::Stable, "{}", below.reason);
}

#[test]
fn memory_that_only_grows_is_a_leak() {
    let memory: Vec<f64> = (0..12).map(|i| 10.0 + 2.5 * f64::from(i)).collect();
    let v = class_of(&[0.02; 11], &memory);
    assert_eq!(v.class, Class::Leaking, "{}", v.reason);
    assert!((v.numbers.memory_slope / MIB - 2.5).abs() < 1e-9);
    assert!(v.numbers.memory_r2 > 0.99);
}

#[test]
fn a_rise_that_levels_off_is_stable() {
    let v = class_of(
        &[0.9, 0.6, 0.01, 0.01, 0.01, 0.01, 0.01],
        &[10.0, 60.0, 110.0, 110.0, 110.0, 110.0, 110.0, 110.0],
    );
    assert_eq!(v.class, Class::Stable, "{}", v.reason);
    assert!(v.numbers.memory_late_share < 0.25);
}

#[test]
fn sawtooth_memory_rising_overall_is_growing_not_leaking() {
    let memory = [10.0, 14.0, 12.0, 17.0, 15.0, 20.0, 18.0, 23.0, 21.0, 26.0];
    let v = class_of(&[0.05; 9], &memory);
    assert_eq!(v.class, Class::Growing, "{}", v.reason);
}

#[test]
fn cpu_climbing_steadily_is_growing() {
    let cpu: Vec<f64> = (0..10).map(|i| 0.1 + 0.07 * f64::from(i)).collect();
    let v = class_of(&cpu, &[50.0; 11]);
    assert_eq!(v.class, Class::Growing, "{}", v.reason);
    assert!(v.reason.contains("CPU use rising"), "{}", v.reason);
}

#[test]
fn noise_is_stable() {
    let v = class_of(
        &[0.3, 0.1, 0.35, 0.2, 0.3, 0.15, 0.3],
        &[50.0, 50.2, 49.9, 50.1, 50.0, 50.3, 50.1, 50.0],
    );
    assert_eq!(v.class, Class::Stable, "{}", v.reason);
    let idle = class_of(&[0.0; 5], &[20.0; 6]);
    assert_eq!(idle.class, Class::Stable, "{}", idle.reason);
}

#[test]
fn too_few_samples_are_still_collecting() {
    let v = class_of(&[1.0, 1.0], &[1.0, 2.0, 3.0]);
    assert_eq!(v.class, Class::Collecting);
    assert_eq!(v.reason, "collecting: 3 of 4 samples");
}

#[test]
fn demand_counts_time_waiting_for_a_cpu() {
    // Got half a core but was runnable the whole time: pinned on a busy box.
    let points: Vec<Point> = (0..5)
        .map(|i| {
            let t = f64::from(i);
            Point {
                t,
                cpu_seconds: t * 0.5,
                demand_seconds: Some(t * 0.99),
                memory: MIB,
                pressure_us: None,
            }
        })
        .collect();
    assert_eq!(
        classify(&points, 1.0, &DEFAULT_RULES).class,
        Class::Saturated
    );
}

#[test]
fn mib_rounds_to_a_tenth() {
    assert_eq!(mib(43_306_189.0), "41.3MiB");
    assert_eq!(mib(-524_288.0), "-0.5MiB");
}

#[test]
fn fit_of_a_line_and_of_a_flat_series() {
    let (slope, r2) = fit(&[0.0, 1.0, 2.0], &[1.0, 3.0, 5.0]);
    assert!((slope - 2.0).abs() < 1e-12 && (r2 - 1.0).abs() < 1e-12);
    assert_eq!(fit(&[0.0, 1.0], &[4.0, 4.0]), (0.0, 0.0));
    assert_eq!(fit(&[0.0], &[4.0]), (0.0, 0.0));
}

#[test]
fn pressure_is_a_share_of_the_window() {
    let mut points = series(&[0.1; 4], &[5.0; 5]);
    points[0].pressure_us = Some((0.0, 1_000.0));
    points[4].pressure_us = Some((400_000.0, 1_000.0));
    assert_eq!(numbers(&points, 1.0).pressure, Some((0.1, 0.0)));
}
