//! Per-process VRAM on AMD GPUs from the DRM client statistics the kernel
//! prints in `<proc>/<pid>/fdinfo/<fd>` for every open `/dev/dri/*` file
//! (`drm-driver`, `drm-pdev`, `drm-client-id`, `drm-memory-vram`).
//!
//! One DRM client can sit behind several descriptors (dup, fork, fd
//! passing): clients are counted once, by `(drm-pdev, drm-client-id)`, for
//! the lowest pid holding them.

use crate::model::{Gpu, GpuProcess};
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::Path;

/// One DRM client as its fdinfo describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrmClient {
    pub driver: String,
    pub pdev: String,
    pub client_id: u64,
    pub vram_bytes: u64,
}

/// `7340032 KiB` → bytes; units KiB, MiB, GiB, or none (bytes).
#[must_use]
pub fn parse_amount(text: &str) -> Option<u64> {
    let mut parts = text.split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    let scale: u64 = match parts.next() {
        None => 1,
        Some("KiB") => 1 << 10,
        Some("MiB") => 1 << 20,
        Some("GiB") => 1 << 30,
        Some(_) => return None,
    };
    value.checked_mul(scale)
}

/// The DRM client in one fdinfo file, `None` for other files or clients
/// that do not report VRAM. `drm-memory-vram` is read first; kernels that
/// print only the newer keys give `drm-resident-vram`.
#[must_use]
pub fn parse_fdinfo(text: &str) -> Option<DrmClient> {
    let mut driver = None;
    let mut pdev = None;
    let mut client_id = None;
    let mut legacy_vram = None;
    let mut resident_vram = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "drm-driver" => driver = Some(value.to_owned()),
            "drm-pdev" => pdev = Some(value.to_owned()),
            "drm-client-id" => client_id = value.parse().ok(),
            "drm-memory-vram" => legacy_vram = parse_amount(value),
            "drm-resident-vram" => resident_vram = parse_amount(value),
            _ => {}
        }
    }
    Some(DrmClient {
        driver: driver?,
        pdev: pdev?,
        client_id: client_id?,
        vram_bytes: legacy_vram.or(resident_vram)?,
    })
}

/// Adds to each GPU (matched by PCI address) the processes whose DRM
/// clients hold VRAM on it. Unreadable processes (gone, other users') are
/// skipped: they are normal while walking procfs.
pub fn attach_processes(proc_root: &Path, gpus: &mut [Gpu]) {
    let mut seen = HashSet::new();
    let mut held: BTreeMap<(String, u32), u64> = BTreeMap::new();
    for pid in pids(proc_root) {
        for client in clients(&proc_root.join(pid.to_string())) {
            if seen.insert((client.pdev.clone(), client.client_id)) {
                *held.entry((client.pdev, pid)).or_default() += client.vram_bytes;
            }
        }
    }
    for ((pdev, pid), bytes) in held {
        if let Some(gpu) = gpus
            .iter_mut()
            .find(|g| g.pci_bus_id.as_deref() == Some(pdev.as_str()))
        {
            gpu.processes.push(GpuProcess {
                pid,
                memory_bytes: Some(bytes),
                kind: "drm",
                ..GpuProcess::default()
            });
        }
    }
}

fn pids(proc_root: &Path) -> Vec<u32> {
    let mut pids: Vec<u32> = fs::read_dir(proc_root)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    pids
}

/// The DRM clients of one process: only descriptors that point into
/// `/dev/dri/` have their fdinfo read.
fn clients(process: &Path) -> Vec<DrmClient> {
    let Ok(fds) = fs::read_dir(process.join("fd")) else {
        return Vec::new();
    };
    fds.flatten()
        .filter(|fd| fs::read_link(fd.path()).is_ok_and(|t| t.starts_with("/dev/dri/")))
        .filter_map(|fd| fs::read_to_string(process.join("fdinfo").join(fd.file_name())).ok())
        .filter_map(|text| parse_fdinfo(&text))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fdinfo of a llama-server's /dev/dri/renderD128 on Linux 6.8 (amdgpu).
    const AMDGPU_6_8: &str = "pos:\t0\nflags:\t02100002\nmnt_id:\t26\nino:\t1047\n\
        drm-driver:\tamdgpu\ndrm-client-id:\t42\ndrm-pdev:\t0000:03:00.0\npasid:\t32781\n\
        drm-memory-vram:\t7340032 KiB\ndrm-memory-gtt: \t2048 KiB\ndrm-memory-cpu: \t0 KiB\n\
        amd-memory-visible-vram:\t0 KiB\namd-evicted-vram:\t0 KiB\n\
        amd-requested-vram:\t7340032 KiB\ndrm-engine-gfx:\t1234567 ns\n\
        drm-engine-compute:\t98765432 ns\n";

    /// A kernel that prints only the drm_print_memory_stats keys.
    const NEWER_KEYS: &str = "pos:\t0\nflags:\t02100002\ndrm-driver:\tamdgpu\n\
        drm-client-id:\t7\ndrm-pdev:\t0000:0c:00.0\ndrm-total-vram:\t1048576 KiB\n\
        drm-shared-vram:\t0\ndrm-resident-vram:\t524288 KiB\n";

    #[test]
    fn amdgpu_client_with_legacy_vram_line() {
        assert_eq!(
            parse_fdinfo(AMDGPU_6_8),
            Some(DrmClient {
                driver: "amdgpu".into(),
                pdev: "0000:03:00.0".into(),
                client_id: 42,
                vram_bytes: 7_340_032 * 1024,
            })
        );
    }

    #[test]
    fn newer_kernels_give_resident_vram() {
        let client = parse_fdinfo(NEWER_KEYS).unwrap();
        assert_eq!((client.client_id, client.vram_bytes), (7, 512 << 20));
    }

    #[test]
    fn plain_files_and_sockets_are_not_clients() {
        assert_eq!(
            parse_fdinfo("pos:\t0\nflags:\t0100002\nmnt_id:\t25\nino:\t7\n"),
            None
        );
        let without_vram = AMDGPU_6_8.replace("drm-memory-vram", "drm-memory-xyz");
        assert_eq!(parse_fdinfo(&without_vram), None);
    }

    #[test]
    fn amounts_in_each_unit() {
        assert_eq!(parse_amount("12"), Some(12));
        assert_eq!(parse_amount("3 KiB"), Some(3072));
        assert_eq!(parse_amount("2 MiB"), Some(2 << 20));
        assert_eq!(parse_amount("1 GiB"), Some(1 << 30));
        assert_eq!(parse_amount("1 kB"), None);
        assert_eq!(parse_amount("x KiB"), None);
    }
}
