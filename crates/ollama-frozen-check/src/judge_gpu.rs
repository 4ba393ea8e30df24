//! What the GPU evidence (NVML through gpu-probe) changes in a verdict:
//! a CPU fallback confirmed or ruled out by the VRAM the runners hold, and
//! the GPU facts added to findings where they tell frozen from slow.

use crate::api::Loaded;
use crate::finding::{Context, Finding};
use crate::verdict::{Remedy, RemedyKind, Verdict};
use gpu_probe::text::bytes;

fn on_cpu(m: &Loaded) -> bool {
    m.size > 0 && m.size_vram == 0
}

fn fallback(summary: String) -> Finding {
    Finding::new(
        Verdict::CpuFallback,
        summary,
        Remedy::new(
            RemedyKind::ReloadGpuDriverOrReboot,
            "reload the driver (rmmod nvidia_uvm; modprobe nvidia_uvm), restart the server, and reboot if size_vram stays 0",
        ),
    )
}

/// VRAM the server's runners hold, when NVML can tell.
fn runners_vram(cx: &Context) -> Option<u64> {
    let gpu = cx.ev.gpu.as_ref()?;
    cx.ev.runners.iter().map(|r| gpu.vram_of(r.pid)).sum()
}

/// S8. `/api/ps` says a model is on CPU (`size_vram` 0): a fallback when a
/// GPU was seen in use (or is expected), when NVML lists a GPU and no
/// runner holds VRAM on it, or when NVML shows the driver broken (library
/// and module mismatched, a GPU lost, NVML hung); not one when the runners
/// do hold VRAM. Or the
/// other way round: `/api/ps` counts VRAM that no runner holds and the
/// GPUs do not have in use.
#[must_use]
pub fn cpu_fallback(cx: &Context) -> Option<Finding> {
    let models = cx.ev.models();
    let held = runners_vram(cx).filter(|_| !cx.ev.runners.is_empty());
    if let Some(m) = models.iter().find(|m| on_cpu(m)) {
        // Only when every model is on CPU is all the runners' VRAM its own.
        let all_on_cpu = models.iter().all(on_cpu);
        return match held.filter(|_| all_on_cpu) {
            Some(0) => Some(fallback(format!(
                "{} runs 100% on CPU (size_vram 0) and no runner holds VRAM on the GPU NVML lists: the GPU is lost to Ollama",
                m.name
            ))),
            Some(_) => None,
            None => match cx.ev.gpu.as_ref().and_then(crate::gpu::GpuView::broken) {
                Some(why) => Some(fallback(format!(
                    "{} runs 100% on CPU (size_vram 0) and the NVIDIA GPU cannot be used: {why}",
                    m.name
                ))),
                None => (cx.gpu_seen || cx.limits.expect_gpu).then(|| fallback(format!(
                    "{} runs 100% on CPU (size_vram 0) although a GPU was in use: the GPU is lost to Ollama",
                    m.name
                ))),
            },
        };
    }
    let claimed: u64 = models.iter().map(|m| m.size_vram).sum();
    let used = cx.ev.gpu.as_ref().map(crate::gpu::GpuView::used_bytes)?;
    (held == Some(0) && claimed > 0 && used < claimed / 2).then(|| {
        fallback(format!(
            "/api/ps counts {} of VRAM but no runner holds any and the GPUs have {} in use: the models run on CPU",
            bytes(claimed),
            bytes(used)
        ))
    })
}

/// Adds what NVML shows of the runners concerned to a finding where it
/// tells a freeze from slow work: 0% with VRAM held is the frozen picture.
pub fn annotate(finding: &mut Finding, cx: &Context) {
    let Some(gpu) = cx.ev.gpu.as_ref().filter(|g| g.available()) else {
        return;
    };
    let concerned = finding.stuck || finding.verdict == Verdict::Slow;
    if !concerned {
        return;
    }
    let pids: Vec<u32> = match (finding.remedy.kind, finding.remedy.pid) {
        (RemedyKind::KillRunner, Some(pid)) => vec![pid],
        _ => cx.ev.runners.iter().map(|r| r.pid).collect(),
    };
    if let Some(text) = gpu.describe(&pids) {
        finding.summary = format!("{}; {text}", finding.summary);
    }
}
