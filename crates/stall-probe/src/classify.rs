//! The trend classifier, pure: a window of samples in, a class and the
//! numbers that led there out.
//!
//! - `saturated`: the window wanted at least `--saturated-at` of the CPU
//!   limit on average, and no third of it fell more than 10 points below
//!   (time on a CPU plus time waiting for one, so a spinning process on a
//!   busy machine still counts as pinned);
//! - `leaking`: memory that only grows, fits a rising line (R² at least
//!   `--r2`) and is still growing in the window's second half;
//! - `growing`: the same sustained rise in CPU use, or in memory that
//!   also dips now and then;
//! - `stable`: anything else, including a rise that levelled off.

use serde::Serialize;

/// One sample, counters cumulative; `t` in seconds from the first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: f64,
    pub cpu_seconds: f64,
    pub demand_seconds: Option<f64>,
    pub memory: f64,
    pub pressure_us: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    pub saturated_at: f64,
    pub r2: f64,
    pub min_samples: usize,
    /// Less total growth than this is noise, not a trend.
    pub min_growth_bytes: f64,
    /// Less rise in CPU use (share of the limit) than this is noise.
    pub min_cpu_rise: f64,
}

/// How far a third of a saturated window may fall below `saturated_at`.
pub const SATURATED_SLACK: f64 = 0.1;

pub const DEFAULT_RULES: Rules = Rules {
    saturated_at: 0.9,
    r2: 0.8,
    min_samples: 4,
    min_growth_bytes: 1_048_576.0,
    min_cpu_rise: 0.1,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Collecting,
    Stable,
    Growing,
    Saturated,
    Leaking,
}

impl Class {
    pub const ALL: [Class; 5] = [
        Class::Collecting,
        Class::Stable,
        Class::Growing,
        Class::Saturated,
        Class::Leaking,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Collecting => "collecting",
            Class::Stable => "stable",
            Class::Growing => "growing",
            Class::Saturated => "saturated",
            Class::Leaking => "leaking",
        }
    }
}

/// The numbers behind a verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Numbers {
    pub samples: usize,
    pub span_seconds: f64,
    pub cpu_limit: f64,
    pub cpu_mean_ratio: f64,
    pub cpu_min_ratio: f64,
    pub cpu_slope: f64,
    pub cpu_r2: f64,
    pub memory_first: f64,
    pub memory_last: f64,
    pub memory_slope: f64,
    pub memory_r2: f64,
    /// Share of the memory rise that happened in the window's second half.
    pub memory_late_share: f64,
    pub memory_only_grew: bool,
    pub pressure: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub class: Class,
    pub reason: String,
    pub numbers: Numbers,
}

/// Least squares: (slope, R²). A flat or too-short series has slope 0, R² 0.
#[must_use]
pub fn fit(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let n = xs.len().min(ys.len());
    if n < 2 {
        return (0.0, 0.0);
    }
    let mean = |v: &[f64]| v[..n].iter().sum::<f64>() / n as f64;
    let (mx, my) = (mean(xs), mean(ys));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys).take(n) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        return (0.0, 0.0);
    }
    (sxy / sxx, (sxy * sxy) / (sxx * syy))
}

/// CPU wanted as a share of `limit` from point `a` to point `b`.
fn share(a: &Point, b: &Point, limit: f64) -> f64 {
    let wanted = match (a.demand_seconds, b.demand_seconds) {
        (Some(x), Some(y)) => y - x,
        _ => b.cpu_seconds - a.cpu_seconds,
    };
    (wanted / (b.t - a.t) / limit).max(0.0)
}

/// The lowest CPU share in any third of the window. Thirds rather than
/// single intervals: the kernel books waiting time when a wait ends and
/// the probe itself may be scheduled late, so one short interval of a
/// pinned process can read well under the limit and the next over it.
fn lowest_third(points: &[Point], limit: f64) -> f64 {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return 0.0;
    };
    let span = last.t - first.t;
    let nearest = |t: f64| {
        (0..points.len())
            .min_by(|&a, &b| (points[a].t - t).abs().total_cmp(&(points[b].t - t).abs()))
            .unwrap_or(0)
    };
    let mut cuts: Vec<usize> = (0..=3)
        .map(|k| nearest(first.t + span * f64::from(k) / 3.0))
        .collect();
    cuts.dedup();
    cuts.windows(2)
        .filter(|w| points[w[1]].t > points[w[0]].t)
        .map(|w| share(&points[w[0]], &points[w[1]], limit))
        .fold(None, |low: Option<f64>, r| {
            Some(low.map_or(r, |l| l.min(r)))
        })
        .unwrap_or(0.0)
}

/// Per interval: (midpoint, CPU wanted as a share of `limit`).
fn cpu_ratios(points: &[Point], limit: f64) -> Vec<(f64, f64)> {
    points
        .windows(2)
        .filter(|w| w[1].t > w[0].t)
        .map(|w| (f64::midpoint(w[0].t, w[1].t), share(&w[0], &w[1], limit)))
        .collect()
}

#[must_use]
pub fn numbers(points: &[Point], cpu_limit: f64) -> Numbers {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Numbers::default();
    };
    let ratios = cpu_ratios(points, cpu_limit);
    let (rx, ry): (Vec<f64>, Vec<f64>) = ratios.iter().copied().unzip();
    let ts: Vec<f64> = points.iter().map(|p| p.t).collect();
    let mem: Vec<f64> = points.iter().map(|p| p.memory).collect();
    let (cpu_slope, cpu_r2) = fit(&rx, &ry);
    let (memory_slope, memory_r2) = fit(&ts, &mem);
    let span = last.t - first.t;
    let middle = points
        .iter()
        .min_by(|a, b| {
            (a.t - span / 2.0 - first.t)
                .abs()
                .total_cmp(&(b.t - span / 2.0 - first.t).abs())
        })
        .map_or(first.memory, |p| p.memory);
    let rise = last.memory - first.memory;
    let pressure = match (first.pressure_us, last.pressure_us) {
        (Some(a), Some(b)) if span > 0.0 => {
            Some(((b.0 - a.0) / 1e6 / span, (b.1 - a.1) / 1e6 / span))
        }
        _ => None,
    };
    Numbers {
        samples: points.len(),
        span_seconds: span,
        cpu_limit,
        // Over the whole span, so uneven gaps between runs weigh right.
        cpu_mean_ratio: if span > 0.0 {
            share(first, last, cpu_limit)
        } else {
            0.0
        },
        cpu_min_ratio: lowest_third(points, cpu_limit),
        cpu_slope,
        cpu_r2,
        memory_first: first.memory,
        memory_last: last.memory,
        memory_slope,
        memory_r2,
        memory_late_share: if rise > 0.0 {
            (last.memory - middle) / rise
        } else {
            0.0
        },
        memory_only_grew: mem.windows(2).all(|w| w[1] >= w[0] * 0.99),
        pressure,
    }
}

/// Classifies a window; see the module documentation for the rules.
#[must_use]
pub fn classify(points: &[Point], cpu_limit: f64, rules: &Rules) -> Verdict {
    let n = numbers(points, cpu_limit);
    let verdict = |class, reason: String| Verdict {
        class,
        reason,
        numbers: n,
    };
    if points.len() < rules.min_samples.max(2) {
        return verdict(
            Class::Collecting,
            format!(
                "collecting: {} of {} samples",
                points.len(),
                rules.min_samples
            ),
        );
    }
    let pct = |r: f64| format!("{:.0}%", r * 100.0);
    if n.cpu_mean_ratio >= rules.saturated_at
        && n.cpu_min_ratio >= rules.saturated_at - SATURATED_SLACK
    {
        return verdict(
            Class::Saturated,
            format!(
                "saturated: wanted {} of its {:.2}-core limit over {:.1}s, never below {} in a third of it (threshold {})",
                pct(n.cpu_mean_ratio),
                n.cpu_limit,
                n.span_seconds,
                pct(n.cpu_min_ratio),
                pct(rules.saturated_at)
            ),
        );
    }
    let rise = n.memory_last - n.memory_first;
    let memory_rising = rise >= rules.min_growth_bytes
        && n.memory_slope > 0.0
        && n.memory_r2 >= rules.r2
        && n.memory_late_share >= 0.25;
    let memory = format!(
        "memory {} -> {} ({}/s, R² {:.2}, {} of the rise in the second half)",
        mib(n.memory_first),
        mib(n.memory_last),
        mib(n.memory_slope),
        n.memory_r2,
        pct(n.memory_late_share)
    );
    if memory_rising && n.memory_only_grew {
        return verdict(
            Class::Leaking,
            format!("leaking: memory only grew, {memory}"),
        );
    }
    if memory_rising {
        return verdict(Class::Growing, format!("growing: {memory}"));
    }
    if cpu_rising(points, cpu_limit, &n, rules) {
        return verdict(
            Class::Growing,
            format!(
                "growing: CPU use rising {} of the limit per minute (R² {:.2}), mean {}",
                pct(n.cpu_slope * 60.0),
                n.cpu_r2,
                pct(n.cpu_mean_ratio)
            ),
        );
    }
    verdict(
        Class::Stable,
        format!(
            "stable: CPU {} of the limit (min {}), {memory}",
            pct(n.cpu_mean_ratio),
            pct(n.cpu_min_ratio)
        ),
    )
}

/// A sustained rise in CPU use: a good upward fit over the window, enough
/// of it, and still rising in the second half.
fn cpu_rising(points: &[Point], limit: f64, n: &Numbers, rules: &Rules) -> bool {
    if n.cpu_slope <= 0.0
        || n.cpu_r2 < rules.r2
        || n.cpu_slope * n.span_seconds < rules.min_cpu_rise
    {
        return false;
    }
    let half = points.len() / 2;
    let (late_x, late_y): (Vec<f64>, Vec<f64>) =
        cpu_ratios(&points[half..], limit).into_iter().unzip();
    late_x.len() < 2 || fit(&late_x, &late_y).0 >= 0.25 * n.cpu_slope
}

/// Bytes as MiB with one decimal, e.g. `41.3MiB`, sign kept.
#[must_use]
pub fn mib(bytes: f64) -> String {
    format!("{:.1}MiB", bytes / 1_048_576.0)
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
