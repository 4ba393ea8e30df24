//! AMD GPUs through the amdgpu driver's sysfs files, no library needed:
//! `<sysfs>/class/drm/card<N>/device/` `gpu_busy_percent`,
//! `mem_busy_percent`, `mem_info_vram_total`, `mem_info_vram_used`,
//! `product_name`, `unique_id`, `uevent`, and `hwmon/hwmon*/`
//! `temp1_input` (millidegrees), `power1_average` or `power1_input` and
//! `power1_cap` (microwatts).

use crate::model::{Gpu, Vendor};
use std::fs;
use std::path::Path;

/// PCI vendor id of AMD/ATI in `device/vendor`.
const AMD_VENDOR: &str = "0x1002";

/// The raw text of one card's files; `None` where a file is absent.
#[derive(Debug, Default, Clone)]
pub struct CardFiles {
    pub vendor: Option<String>,
    pub uevent: Option<String>,
    pub product_name: Option<String>,
    pub unique_id: Option<String>,
    pub gpu_busy_percent: Option<String>,
    pub mem_busy_percent: Option<String>,
    pub vram_total: Option<String>,
    pub vram_used: Option<String>,
    pub temp1_input: Option<String>,
    pub power: Option<String>,
    pub power_cap: Option<String>,
}

/// `card0` → 0; connectors (`card0-DP-1`) and render nodes → `None`.
#[must_use]
pub fn card_number(entry: &str) -> Option<u32> {
    let digits = entry.strip_prefix("card")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A value from a `KEY=VALUE` uevent file.
#[must_use]
pub fn uevent_value<'a>(uevent: &'a str, key: &str) -> Option<&'a str> {
    uevent
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
}

fn number(text: Option<&String>) -> Option<u64> {
    text?.trim().parse().ok()
}

fn text(value: Option<&String>) -> Option<String> {
    let value = value?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The GPU these files describe, or `None` when they are not an AMD GPU
/// the amdgpu driver reports on.
#[must_use]
pub fn parse_card(index: u32, files: &CardFiles) -> Option<Gpu> {
    if files.vendor.as_deref().map(str::trim) != Some(AMD_VENDOR) {
        return None;
    }
    if files.gpu_busy_percent.is_none() && files.vram_total.is_none() {
        return None;
    }
    let uevent = files.uevent.as_deref().unwrap_or("");
    let pci = uevent_value(uevent, "PCI_SLOT_NAME").map(str::to_owned);
    let name = text(files.product_name.as_ref())
        .or_else(|| uevent_value(uevent, "PCI_ID").map(|id| format!("AMD GPU {id}")));
    let total = number(files.vram_total.as_ref());
    let used = number(files.vram_used.as_ref());
    Some(Gpu {
        vendor: Vendor::Amd,
        index,
        uuid: text(files.unique_id.as_ref()).or_else(|| pci.clone()),
        name,
        pci_bus_id: pci,
        utilization_gpu_percent: number(files.gpu_busy_percent.as_ref()).map(|v| v as u32),
        utilization_memory_percent: number(files.mem_busy_percent.as_ref()).map(|v| v as u32),
        memory_total_bytes: total,
        memory_used_bytes: used,
        memory_free_bytes: total.zip(used).map(|(t, u)| t.saturating_sub(u)),
        temperature_celsius: number(files.temp1_input.as_ref()).map(|m| m as f64 / 1000.0),
        power_watts: number(files.power.as_ref()).map(|uw| uw as f64 / 1e6),
        power_limit_watts: number(files.power_cap.as_ref()).map(|uw| uw as f64 / 1e6),
        ..Gpu::default()
    })
}

/// Every AMD GPU under `<sysfs_root>/class/drm`, by card number. A missing
/// directory (no DRM at all) is no GPU, not an error.
#[must_use]
pub fn read_cards(sysfs_root: &Path) -> Vec<Gpu> {
    let drm = sysfs_root.join("class/drm");
    let Ok(entries) = fs::read_dir(&drm) else {
        return Vec::new();
    };
    let mut gpus: Vec<Gpu> = entries
        .flatten()
        .filter_map(|entry| {
            let index = card_number(entry.file_name().to_str()?)?;
            parse_card(index, &read_files(&entry.path().join("device")))
        })
        .collect();
    gpus.sort_by_key(|gpu| gpu.index);
    gpus
}

fn read_files(device: &Path) -> CardFiles {
    let read = |name: &str| fs::read_to_string(device.join(name)).ok();
    let hwmon = first_hwmon(device);
    let read_hwmon = |name: &str| {
        hwmon
            .as_deref()
            .and_then(|dir| fs::read_to_string(dir.join(name)).ok())
    };
    CardFiles {
        vendor: read("vendor"),
        uevent: read("uevent"),
        product_name: read("product_name"),
        unique_id: read("unique_id"),
        gpu_busy_percent: read("gpu_busy_percent"),
        mem_busy_percent: read("mem_busy_percent"),
        vram_total: read("mem_info_vram_total"),
        vram_used: read("mem_info_vram_used"),
        temp1_input: read_hwmon("temp1_input"),
        // Older kernels report the average, RDNA3 on newer ones only the input.
        power: read_hwmon("power1_average").or_else(|| read_hwmon("power1_input")),
        power_cap: read_hwmon("power1_cap"),
    }
}

fn first_hwmon(device: &Path) -> Option<std::path::PathBuf> {
    let mut dirs: Vec<_> = fs::read_dir(device.join("hwmon"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files as an RX 7900 XTX (Navi 31) on Linux 6.8 shows them.
    fn navi31() -> CardFiles {
        let s = |v: &str| Some(v.to_owned());
        CardFiles {
            vendor: s("0x1002\n"),
            uevent: s("DRIVER=amdgpu\nPCI_CLASS=30000\nPCI_ID=1002:744C\n\
                       PCI_SUBSYS_ID=1DA2:471E\nPCI_SLOT_NAME=0000:03:00.0\n\
                       MODALIAS=pci:v00001002d0000744Csv00001DA2sd0000471Ebc03sc00i00\n"),
            product_name: s("\n"),
            unique_id: None,
            gpu_busy_percent: s("0\n"),
            mem_busy_percent: s("3\n"),
            vram_total: s("25753026560\n"),
            vram_used: s("7946412032\n"),
            temp1_input: s("46000\n"),
            power: s("21000000\n"),
            power_cap: s("327000000\n"),
        }
    }

    #[test]
    fn navi31_sample_parses_in_base_units() {
        let gpu = parse_card(1, &navi31()).expect("an AMD GPU");
        assert_eq!(gpu.index, 1);
        assert_eq!(gpu.name.as_deref(), Some("AMD GPU 1002:744C"));
        assert_eq!(gpu.uuid.as_deref(), Some("0000:03:00.0"));
        assert_eq!(gpu.pci_bus_id.as_deref(), Some("0000:03:00.0"));
        assert_eq!(gpu.utilization_gpu_percent, Some(0));
        assert_eq!(gpu.utilization_memory_percent, Some(3));
        assert_eq!(gpu.memory_total_bytes, Some(25_753_026_560));
        assert_eq!(gpu.memory_free_bytes, Some(25_753_026_560 - 7_946_412_032));
        assert_eq!(gpu.temperature_celsius, Some(46.0));
        assert_eq!(gpu.power_watts, Some(21.0));
        assert_eq!(gpu.power_limit_watts, Some(327.0));
    }

    #[test]
    fn unique_id_and_product_name_win_when_present() {
        let mut files = navi31();
        files.unique_id = Some("3ac1c2e1e3a4b5c6\n".into());
        files.product_name = Some("Radeon RX 7900 XTX\n".into());
        let gpu = parse_card(0, &files).unwrap();
        assert_eq!(gpu.uuid.as_deref(), Some("3ac1c2e1e3a4b5c6"));
        assert_eq!(gpu.name.as_deref(), Some("Radeon RX 7900 XTX"));
    }

    #[test]
    fn other_vendors_and_cards_without_amdgpu_files_are_not_amd_gpus() {
        let mut intel = navi31();
        intel.vendor = Some("0x8086\n".into());
        assert!(parse_card(0, &intel).is_none());
        let mut bare = navi31();
        bare.gpu_busy_percent = None;
        bare.vram_total = None;
        assert!(parse_card(0, &bare).is_none());
    }

    #[test]
    fn missing_files_leave_fields_out() {
        let mut files = navi31();
        files.temp1_input = None;
        files.power = Some("garbage".into());
        let gpu = parse_card(0, &files).unwrap();
        assert_eq!(gpu.temperature_celsius, None);
        assert_eq!(gpu.power_watts, None);
    }

    #[test]
    fn only_card_directories_count() {
        assert_eq!(card_number("card0"), Some(0));
        assert_eq!(card_number("card12"), Some(12));
        assert_eq!(card_number("card0-DP-1"), None);
        assert_eq!(card_number("renderD128"), None);
        assert_eq!(card_number("card"), None);
    }
}
