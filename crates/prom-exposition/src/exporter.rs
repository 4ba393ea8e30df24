//! Names node_exporter 1.5 exports itself, whatever collectors are on
//! (`--collector.disable-defaults --collector.textfile`, default flags).
//! A textfile family of the same name is dropped from the scrape with only
//! a log line, or replaces the exporter's own: `node_textfile_scrape_error`
//! in a textfile hides the collector's report of broken files.

const NAMES: [&str; 44] = [
    "go_gc_duration_seconds",
    "go_gc_duration_seconds_count",
    "go_gc_duration_seconds_sum",
    "go_goroutines",
    "go_info",
    "go_memstats_alloc_bytes",
    "go_memstats_alloc_bytes_total",
    "go_memstats_buck_hash_sys_bytes",
    "go_memstats_frees_total",
    "go_memstats_gc_sys_bytes",
    "go_memstats_heap_alloc_bytes",
    "go_memstats_heap_idle_bytes",
    "go_memstats_heap_inuse_bytes",
    "go_memstats_heap_objects",
    "go_memstats_heap_released_bytes",
    "go_memstats_heap_sys_bytes",
    "go_memstats_last_gc_time_seconds",
    "go_memstats_lookups_total",
    "go_memstats_mallocs_total",
    "go_memstats_mcache_inuse_bytes",
    "go_memstats_mcache_sys_bytes",
    "go_memstats_mspan_inuse_bytes",
    "go_memstats_mspan_sys_bytes",
    "go_memstats_next_gc_bytes",
    "go_memstats_other_sys_bytes",
    "go_memstats_stack_inuse_bytes",
    "go_memstats_stack_sys_bytes",
    "go_memstats_sys_bytes",
    "go_threads",
    "node_exporter_build_info",
    "node_scrape_collector_duration_seconds",
    "node_scrape_collector_success",
    "node_textfile_mtime_seconds",
    "node_textfile_scrape_error",
    "process_cpu_seconds_total",
    "process_max_fds",
    "process_open_fds",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "process_virtual_memory_bytes",
    "process_virtual_memory_max_bytes",
    "promhttp_metric_handler_errors_total",
    "promhttp_metric_handler_requests_in_flight",
    "promhttp_metric_handler_requests_total",
];

/// Whether node_exporter exports a family of this name itself.
pub(super) fn owns(name: &str) -> bool {
    NAMES.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_sorted_for_the_binary_search() {
        assert!(super::NAMES.is_sorted());
        assert!(super::owns("node_textfile_scrape_error"));
        assert!(!super::owns("selfheal_gpu_up"));
    }
}
