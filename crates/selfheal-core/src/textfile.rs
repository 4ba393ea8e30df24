//! Writing Prometheus text for node_exporter's textfile collector: the one
//! writer behind `metrics-textfile` and every probe's `--textfile`.

use std::io;
use std::path::Path;

/// Mode of written textfiles: node_exporter usually runs as another user.
pub const DEFAULT_MODE: u32 = 0o644;

/// Atomically replaces `path` with `text`.
pub fn write(path: &Path, text: &str) -> io::Result<()> {
    crate::atomic::write_atomic(path, text.as_bytes(), DEFAULT_MODE)
}
