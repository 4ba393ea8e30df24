//! Numbers as the summary line writes them.

/// Bytes as MiB with one decimal, e.g. `41.3MiB`, sign kept.
#[must_use]
pub fn mib(bytes: f64) -> String {
    format!("{:.1}MiB", bytes / 1_048_576.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn mib_rounds_to_a_tenth() {
        assert_eq!(super::mib(43_306_189.0), "41.3MiB");
        assert_eq!(super::mib(-524_288.0), "-0.5MiB");
    }
}
