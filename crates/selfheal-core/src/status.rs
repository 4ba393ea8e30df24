//! The four states of the monitoring-plugins convention and their exit codes.

use serde::{Deserialize, Serialize};

/// A probe's verdict. The exit code is the contract; the text is for humans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    #[must_use]
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// Upper-case word used in the text line (`OLLAMA CRITICAL - ...`).
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Unknown => "unknown",
        }
    }

    /// Combine two checks' states: critical beats warning beats unknown beats ok
    /// (monitoring-plugins' `max_state_alt`), so a check that could not run is
    /// never hidden behind one that passed.
    #[must_use]
    pub fn worst(self, other: Status) -> Status {
        fn rank(s: Status) -> u8 {
            match s {
                Status::Ok => 0,
                Status::Unknown => 1,
                Status::Warning => 2,
                Status::Critical => 3,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Status::{Critical, Ok, Unknown, Warning};

    #[test]
    fn exit_codes_follow_monitoring_plugins() {
        assert_eq!(
            [Ok, Warning, Critical, Unknown].map(super::Status::exit_code),
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn worst_ranks_critical_over_warning_over_unknown_over_ok() {
        assert_eq!(Ok.worst(Unknown), Unknown);
        assert_eq!(Unknown.worst(Warning), Warning);
        assert_eq!(Critical.worst(Warning), Critical);
        assert_eq!(Warning.worst(Ok), Warning);
    }
}
