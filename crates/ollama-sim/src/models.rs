//! The models the simulator "has": names, sizes, digests and the `details`
//! object `/api/tags` and `/api/ps` show for each.

use serde::Serialize;

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Ollama's `api.ModelDetails`, fields in its order.
#[derive(Debug, Clone, Serialize)]
pub struct Details {
    pub parent_model: String,
    pub format: &'static str,
    pub family: &'static str,
    pub families: Vec<&'static str>,
    pub parameter_size: &'static str,
    pub quantization_level: &'static str,
    #[serde(skip_serializing_if = "is_zero")]
    pub context_length: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub embedding_length: u64,
}

/// One installed model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// Full name with tag, e.g. `llama3.2:1b`.
    pub name: String,
    /// Bytes on disk (`/api/tags` `size`).
    pub disk_size: u64,
    /// Bytes held when loaded (`/api/ps` `size`; `size_vram` unless on CPU).
    pub vram: u64,
    pub embedding: bool,
    pub digest: String,
}

const LLAMA_DIGEST: &str = "baf6a787fdffd633537aa2eb51cfd54cb93ff08e28040095462bb63daf552878";
const NOMIC_DIGEST: &str = "0a109f422b47e3a30ba2b10eca18548e944e8a23073ee3f3e947efcf3c45e59f";

/// The models a simulator has when no `--model` is given.
#[must_use]
pub fn defaults() -> Vec<ModelSpec> {
    vec![
        ModelSpec {
            name: "llama3.2:1b".into(),
            disk_size: 1_321_098_329,
            vram: 2_019_393_189,
            embedding: false,
            digest: LLAMA_DIGEST.into(),
        },
        ModelSpec {
            name: "nomic-embed-text:latest".into(),
            disk_size: 274_302_450,
            vram: 576_094_464,
            embedding: true,
            digest: NOMIC_DIGEST.into(),
        },
    ]
}

/// Adds `:latest` to a name without a tag, as Ollama does.
#[must_use]
pub fn full_name(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    if base.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// Parses `NAME[:SIZE_VRAM_BYTES][:embedding]`, e.g. `qwen2.5:7b:4700000000`.
pub fn parse_spec(text: &str) -> Result<ModelSpec, String> {
    let mut rest = text.trim();
    let embedding = if let Some(stripped) = rest.strip_suffix(":embedding") {
        rest = stripped;
        true
    } else {
        false
    };
    let mut vram = None;
    if let Some((head, last)) = rest.rsplit_once(':')
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
        && last.len() >= 4
    {
        vram = Some(
            last.parse::<u64>()
                .map_err(|e| format!("model '{text}': {e}"))?,
        );
        rest = head;
    }
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(format!(
            "invalid model '{text}': write NAME[:SIZE_VRAM_BYTES][:embedding], e.g. qwen2.5:7b:4700000000"
        ));
    }
    let name = full_name(rest);
    let vram = vram.unwrap_or(if embedding {
        600_000_000
    } else {
        2_000_000_000
    });
    Ok(ModelSpec {
        digest: fake_digest(&name),
        disk_size: vram / 3 * 2,
        name,
        vram,
        embedding,
    })
}

/// A stable 64-hex-digit digest derived from the name (FNV-1a, four lanes).
fn fake_digest(name: &str) -> String {
    use std::fmt::Write as _;
    let mut digest = String::with_capacity(64);
    for lane in 0u64..4 {
        let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ lane;
        for byte in name.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        let _ = write!(digest, "{hash:016x}");
    }
    digest
}

impl ModelSpec {
    /// `ModelDetails`; `/api/tags` of newer servers adds the trained
    /// context and embedding lengths, `/api/ps` never does.
    #[must_use]
    pub fn details(&self, with_lengths: bool) -> Details {
        let (family, params, quant, context, embedding) = if self.embedding {
            ("nomic-bert", "137M", "F16", 2048, 768)
        } else {
            ("llama", "1.2B", "Q8_0", 131_072, 2048)
        };
        Details {
            parent_model: String::new(),
            format: "gguf",
            family,
            families: vec![family],
            parameter_size: params,
            quantization_level: quant,
            context_length: if with_lengths { context } else { 0 },
            embedding_length: if with_lengths { embedding } else { 0 },
        }
    }

    #[must_use]
    pub fn capabilities(&self) -> Vec<&'static str> {
        vec![if self.embedding {
            "embedding"
        } else {
            "completion"
        }]
    }

    /// The short model name used for the blob file: `sha256-<digest>`.
    #[must_use]
    pub fn blob_name(&self) -> String {
        format!("sha256-{}", self.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_with_size_and_embedding() {
        let spec = parse_spec("qwen2.5:7b:4700000000").unwrap();
        assert_eq!(spec.name, "qwen2.5:7b");
        assert_eq!(spec.vram, 4_700_000_000);
        assert!(!spec.embedding);
        let spec = parse_spec("all-minilm:embedding").unwrap();
        assert_eq!(spec.name, "all-minilm:latest");
        assert!(spec.embedding);
        let spec = parse_spec("bge-m3:1200000000:embedding").unwrap();
        assert_eq!(
            (spec.name.as_str(), spec.vram),
            ("bge-m3:latest", 1_200_000_000)
        );
    }

    #[test]
    fn short_numeric_tag_stays_a_tag() {
        assert_eq!(parse_spec("qwen:7").unwrap().name, "qwen:7");
    }

    #[test]
    fn bad_spec_says_how_to_write_it() {
        let err = parse_spec("").unwrap_err();
        assert!(err.contains("NAME[:SIZE_VRAM_BYTES]"), "{err}");
    }

    #[test]
    fn digests_are_stable_hex() {
        let a = fake_digest("x:latest");
        assert_eq!(a.len(), 64);
        assert_eq!(a, fake_digest("x:latest"));
        assert_ne!(a, fake_digest("y:latest"));
    }

    #[test]
    fn names_get_latest() {
        assert_eq!(full_name("llama3.2"), "llama3.2:latest");
        assert_eq!(full_name("llama3.2:1b"), "llama3.2:1b");
        assert_eq!(full_name("host:5000/ns/m"), "host:5000/ns/m:latest");
    }
}
