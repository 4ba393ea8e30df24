//! Time as the tools record it: wall-clock UTC for humans and metrics, plus
//! the boot id and `CLOCK_BOOTTIME` so that elapsed time survives a wall
//! clock that jumps (NTP step, VM resume, a wrong RTC at boot).
//!
//! Within one boot, elapsed time is the difference of `CLOCK_BOOTTIME`
//! readings, which never go backwards and include suspend. Across a reboot
//! the boot-time readings are unrelated, so the wall-clock difference is
//! used, but never less than the current uptime: the earlier stamp is from a
//! previous boot, so at least that much time has passed. A clock set back by
//! years therefore delays nothing forever, and a jump back within a boot
//! neither resets a budget nor fires a threshold.
//!
//! Tests drive time through `SELFHEAL_FAKE_CLOCK`
//! (`unix=SECS[,uptime=SECS][,boot=ID]`), honoured only when the crate is
//! built with the `fake-clock` feature, which only test builds enable.

use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where Linux publishes the id of the current boot.
pub const BOOT_ID_PATH: &str = "/proc/sys/kernel/random/boot_id";

/// One reading of the clocks, as stored in state files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamp {
    /// Wall clock, seconds since the Unix epoch (UTC).
    pub unix: f64,
    /// `/proc/sys/kernel/random/boot_id`; empty when unknown.
    pub boot_id: String,
    /// `CLOCK_BOOTTIME` in seconds: time since boot, suspend included.
    pub uptime: f64,
}

impl Stamp {
    /// Reads the clocks now (or the fake clock in test builds).
    #[must_use]
    pub fn now() -> Stamp {
        #[cfg(feature = "fake-clock")]
        if let Some(stamp) = fake_now() {
            return stamp;
        }
        Stamp {
            unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            boot_id: std::fs::read_to_string(BOOT_ID_PATH)
                .map(|id| id.trim().to_owned())
                .unwrap_or_default(),
            uptime: boot_time_secs(),
        }
    }

    /// Time from `earlier` to `self`, robust to wall-clock jumps (see module docs).
    #[must_use]
    pub fn elapsed_since(&self, earlier: &Stamp) -> Duration {
        let secs = if self.same_boot(earlier) {
            self.uptime - earlier.uptime
        } else {
            (self.unix - earlier.unix).max(self.uptime)
        };
        Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX)
    }

    /// Same boot by id; with no id on either side (boot_id unreadable), by
    /// the clocks: a stamp from before this boot lies at least our uptime
    /// back. Without this, every interval would be at least the uptime and
    /// a budget would never hold once the box had been up a window's length.
    fn same_boot(&self, earlier: &Stamp) -> bool {
        if self.boot_id.is_empty() && earlier.boot_id.is_empty() {
            return earlier.uptime <= self.uptime && self.unix - earlier.unix < self.uptime;
        }
        !self.boot_id.is_empty() && self.boot_id == earlier.boot_id
    }

    /// The wall time `after` from this stamp, for display ("next allowed at").
    #[must_use]
    pub fn unix_after(&self, after: Duration) -> f64 {
        self.unix + after.as_secs_f64()
    }

    /// RFC 3339 UTC with seconds, e.g. `2026-11-23T15:48:47Z`.
    #[must_use]
    pub fn rfc3339(&self) -> String {
        rfc3339(self.unix)
    }
}

/// The last second RFC 3339 can write (9999-12-31T23:59:59Z).
pub const MAX_RFC3339_UNIX: f64 = 253_402_300_799.0;

/// Formats Unix seconds as RFC 3339 UTC (`2026-11-23T15:48:47Z`). Times past
/// year 9999 (`--cooldown 1000000w` from now) are written as its last
/// second: humantime cannot format them and would panic mid-decision.
#[must_use]
pub fn rfc3339(unix: f64) -> String {
    let clamped = unix.clamp(0.0, MAX_RFC3339_UNIX);
    let time = UNIX_EPOCH + Duration::try_from_secs_f64(clamped).unwrap_or_default();
    humantime::format_rfc3339_seconds(time).to_string()
}

/// Parses RFC 3339 (`2026-11-23T15:48:47Z`) into Unix seconds.
pub fn parse_rfc3339(text: &str) -> Result<f64, String> {
    humantime::parse_rfc3339_weak(text)
        .map_err(|e| format!("invalid time '{text}': {e} (write e.g. 2026-11-23T15:48:47Z)"))?
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .map_err(|_| format!("invalid time '{text}': before 1970"))
}

fn boot_time_secs() -> f64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

#[cfg(feature = "fake-clock")]
fn fake_now() -> Option<Stamp> {
    let spec = std::env::var("SELFHEAL_FAKE_CLOCK").ok()?;
    Some(parse_fake(&spec).unwrap_or_else(|e| panic!("SELFHEAL_FAKE_CLOCK={spec:?}: {e}")))
}

#[cfg(any(feature = "fake-clock", test))]
fn parse_fake(spec: &str) -> Result<Stamp, String> {
    let mut stamp = Stamp {
        unix: f64::NAN,
        boot_id: "fake-boot".into(),
        uptime: f64::NAN,
    };
    for part in spec.split(',') {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, got {part:?}"))?;
        let number = || value.parse::<f64>().map_err(|e| format!("{key}: {e}"));
        match key {
            "unix" => stamp.unix = number()?,
            "uptime" => stamp.uptime = number()?,
            "boot" => value.clone_into(&mut stamp.boot_id),
            _ => return Err(format!("unknown key {key:?} (use unix, uptime, boot)")),
        }
    }
    if stamp.unix.is_nan() {
        return Err("unix= is required".into());
    }
    if stamp.uptime.is_nan() {
        // Without an explicit uptime, boot time advances with the fake wall clock.
        stamp.uptime = stamp.unix - 1.0e9;
    }
    Ok(stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(unix: f64, boot: &str, uptime: f64) -> Stamp {
        Stamp {
            unix,
            boot_id: boot.into(),
            uptime,
        }
    }

    #[test]
    fn same_boot_uses_boot_time_not_wall_time() {
        let earlier = stamp(2_000_000_000.0, "a", 100.0);
        // Wall clock jumped back a day, 30 s really passed.
        let later = stamp(2_000_000_000.0 - 86_400.0, "a", 130.0);
        assert_eq!(later.elapsed_since(&earlier), Duration::from_secs(30));
        // Wall clock jumped forward a day, 30 s really passed.
        let later = stamp(2_000_000_000.0 + 86_400.0, "a", 130.0);
        assert_eq!(later.elapsed_since(&earlier), Duration::from_secs(30));
    }

    #[test]
    fn across_reboot_at_least_uptime_has_passed() {
        let earlier = stamp(2_000_000_000.0, "a", 5_000.0);
        // After reboot the RTC is a year behind: still, 600 s of uptime passed.
        let later = stamp(2_000_000_000.0 - 31_536_000.0, "b", 600.0);
        assert_eq!(later.elapsed_since(&earlier), Duration::from_secs(600));
        // A sane clock after reboot: the wall difference counts.
        let later = stamp(2_000_003_600.0, "b", 60.0);
        assert_eq!(later.elapsed_since(&earlier), Duration::from_secs(3600));
    }

    #[test]
    fn without_boot_ids_the_clocks_tell_the_boot() {
        let earlier = stamp(2_000_000_000.0, "", 5_000.0);
        // Up for days, 30 s since the last stamp, wall clock set back a day.
        let later = stamp(2_000_000_000.0 - 86_400.0, "", 5_030.0);
        assert_eq!(later.elapsed_since(&earlier), Duration::from_secs(30));
        // Rebooted 600 s ago (uptime below the earlier stamp's).
        let later = stamp(2_000_000_000.0 + 3_600.0, "", 600.0);
        assert_eq!(later.elapsed_since(&earlier), Duration::from_secs(3600));
    }

    #[test]
    fn real_clock_reads_boot_id_and_moves_forward() {
        let first = Stamp::now();
        let second = Stamp::now();
        assert!(second.elapsed_since(&first) < Duration::from_secs(5));
        assert!(first.unix > 1.7e9);
    }

    #[test]
    fn rfc3339_round_trips_seconds() {
        assert_eq!(rfc3339(1_795_448_927.0), "2026-11-23T15:48:47Z");
        assert_eq!(parse_rfc3339("2026-11-23T15:48:47Z"), Ok(1_795_448_927.0));
        // Far-future and odd inputs are clamped, never a panic.
        assert_eq!(rfc3339(1.0e15), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(f64::INFINITY), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(-5.0), "1970-01-01T00:00:00Z");
        assert!(
            parse_rfc3339("yesterday")
                .unwrap_err()
                .contains("yesterday")
        );
    }

    #[test]
    fn fake_spec_parses_and_defaults() {
        let s = parse_fake("unix=1000,boot=x").unwrap();
        assert_eq!((s.unix, s.boot_id.as_str()), (1000.0, "x"));
        let a = parse_fake("unix=1000").unwrap();
        let b = parse_fake("unix=1060").unwrap();
        assert_eq!(b.elapsed_since(&a), Duration::from_secs(60));
        assert!(parse_fake("uptime=1").is_err());
        assert!(parse_fake("unix=1,zone=2").is_err());
    }
}
