//! Credentials in a URL (`http://user:pass@proxy:8080`): kept apart from
//! the address, sent as an HTTP Basic `Authorization` header, and never
//! shown: `Debug` hides them and [`redact`] masks them in any text that
//! repeats what the user typed.

/// `user:password` from a URL; its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials(String);

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(redacted)")
    }
}

impl Credentials {
    /// A URL's user info (`user:pass`, `%XX` escapes decoded).
    #[must_use]
    pub fn from_userinfo(text: &str) -> Credentials {
        Credentials(percent_decode(text))
    }

    /// The `Authorization` header value.
    #[must_use]
    pub fn header(&self) -> String {
        format!("Basic {}", base64(self.0.as_bytes()))
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            let sextet = (n >> (18 - 6 * i)) & 63;
            out.push(if i <= chunk.len() {
                char::from(ALPHABET[sextet as usize])
            } else {
                '='
            });
        }
    }
    out
}

/// `text` as it may be shown: credentials replaced by `***`, clipped.
#[must_use]
pub fn redact(text: &str) -> String {
    // The user info ends at the last '@' before the path.
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, text),
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let shown = match (authority.rfind('@'), scheme) {
        (Some(at), Some(scheme)) => format!("{scheme}://***{}", &rest[at..]),
        (Some(at), None) => format!("***{}", &rest[at..]),
        (None, _) => text.to_owned(),
    };
    crate::api::clip(&shown, 120)
}

/// `%XX` escapes of a URL's user info, decoded.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = text
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_basic_auth_and_text_is_masked() {
        let escaped = Credentials::from_userinfo("u%40x:p%3Aw");
        assert_eq!(escaped.header(), "Basic dUB4OnA6dw==");
        assert!(!format!("{escaped:?}").contains("p:w"));
        assert_eq!(redact("http://u:p@h:1/x"), "http://***@h:1/x");
        assert_eq!(redact("u:p@h"), "***@h");
        assert_eq!(redact("http://h:1/a@b"), "http://h:1/a@b");
        let b64: Vec<String> = ["", "f", "fo", "foo"]
            .iter()
            .map(|t| base64(t.as_bytes()))
            .collect();
        assert_eq!(b64, ["", "Zg==", "Zm8=", "Zm9v"]);
    }
}
