use super::*;
use gpu_probe::{Gpu, GpuProcess};

fn process(pid: u32, bytes: Option<u64>) -> GpuProcess {
    GpuProcess {
        pid,
        memory_bytes: bytes,
        kind: "compute",
        ..GpuProcess::default()
    }
}

fn gpu(index: u32, util: u32, processes: Vec<GpuProcess>) -> Gpu {
    Gpu {
        index,
        utilization_gpu_percent: Some(util),
        performance_state: Some(8),
        memory_used_bytes: Some(processes.iter().filter_map(|p| p.memory_bytes).sum()),
        processes,
        ..Gpu::default()
    }
}

fn snapshot(gpus: Vec<Gpu>) -> Snapshot {
    Snapshot {
        gpus,
        nvidia: NvidiaState::Ok {
            driver_version: None,
        },
        amd_cards: 0,
        unmatched_gpus: None,
    }
}

#[test]
fn runner_vram_is_read_per_pid_and_absence_means_none_held() {
    let s = snapshot(vec![
        gpu(0, 0, vec![process(4242, Some(7_945_000_000))]),
        gpu(
            1,
            97,
            vec![process(5150, Some(19 << 30)), process(4243, None)],
        ),
    ]);
    let v = view(&s, &[4242, 4243, 77]);
    assert_eq!(v.vram_of(4242), Some(7_945_000_000));
    assert_eq!(v.vram_of(77), Some(0), "not listed: holds no VRAM");
    // GPU 1 is shared with a training job: its 97% is not the runners'.
    assert_eq!(v.runner_utilization(), BTreeMap::from([(0, 0)]));
    assert_eq!(
        v.describe(&[4242]).unwrap(),
        "GPU 0 at 0% (P8), runner 4242 holds 7.4GiB"
    );
}

#[test]
fn without_nvml_nothing_is_claimed() {
    let mut s = snapshot(Vec::new());
    s.nvidia = NvidiaState::LibraryMissing {
        message: "no library".into(),
    };
    let v = view(&s, &[4242]);
    assert!(!v.available());
    assert_eq!(v.vram_of(4242), None);
    assert_eq!(v.describe(&[4242]), None);
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["nvidia"]["status"], "library_missing");
}
